"""A stage an agent would see twice: the folders are chosen so that none does, but a stage
file sdd left alone (edited since it wrote it, or not its own) can still sit in a folder the
agent reads next to the one sdd writes now, e.g. an edited `.gemini/commands/sdd-spec.toml`
and the shared `.agents/skills/sdd-spec/`. Found from the files on disk, with the command
that resolves it."""

from __future__ import annotations

import os

from sdd.agents.install.render import PREFIX
from sdd.agents.registry import AGENTS, INSTALLS, LOCATIONS, Location
from sdd.core.errors import Refused

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from sdd.core.paths import ProjectPaths


def _stage_files(paths: ProjectPaths, location: Location) -> dict[str, str]:
    """Stage -> its file (a skill: its folder) in ``location``, as an agent finds them."""
    found: dict[str, str] = {}
    try:
        base = paths.inside(location.folder)
        names = sorted(os.listdir(base))
    except (OSError, Refused):  # none, or a link out of the project: no agent file of ours
        return found
    skill = location.form in ("skill", "claude-skill")
    suffix = ".toml" if location.form == "gemini-command" else ".md"
    for name in names:
        if not name.startswith(PREFIX):
            continue
        full = os.path.join(base, name)
        if skill and os.path.isfile(os.path.join(full, "SKILL.md")):
            found[name.removeprefix(PREFIX)] = f"{location.folder}/{name}"
        elif not skill and name.endswith(suffix) and os.path.isfile(full):
            found[name.removeprefix(PREFIX).removesuffix(suffix)] = f"{location.folder}/{name}"
    return found


def seen_twice(paths: ProjectPaths, agents: Iterable[str]) -> list[tuple[str, str, list[str]]]:
    """(agent, stage, the files it would see) for every stage an agent would see twice."""
    files = {key: _stage_files(paths, loc) for key, loc in LOCATIONS.items()}
    found = []
    for name in agents:
        seen: dict[str, list[str]] = {}
        for key in INSTALLS[name].reads:
            for stage, path in files[key].items():
                seen.setdefault(stage, []).append(path)
        found += [(name, stage, where) for stage, where in sorted(seen.items()) if len(where) > 1]
    return found


def fixes(paths: ProjectPaths, agents: Iterable[str], ours: set[str]) -> list[str]:
    """For each stage an agent would see twice: what it sees and the command that resolves
    it (remove the copy sdd no longer writes; ``ours`` holds the files sdd installed)."""
    shown = []
    for name, stage, where in seen_twice(paths, agents):
        extra = [p for p in where if not any(f == p or f.startswith(p + "/") for f in ours)]
        extra = extra or where[:-1]
        remove = " && ".join(
            f"rm {'-r ' if not p.endswith(('.md', '.toml')) else ''}{p}" for p in extra
        )
        shown.append(
            f"{AGENTS[name].title} would see the {stage} stage twice ({', '.join(where)}): "
            f"`{remove}` (carry an edit you keep into sessions/{stage}.md first)"
        )
    return shown

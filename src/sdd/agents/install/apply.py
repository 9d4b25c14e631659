"""`sdd agents install` and `uninstall`: the stages as each agent's own skills or commands,
the managed block in AGENTS.md (CLAUDE.md, GEMINI.md), and the MCP registration in agents'
project files; under the project's lock, the plan is applied file by file and what it no
longer holds is taken out, each only while it is still as sdd wrote it."""

from __future__ import annotations

import os

from sdd.agents.install import (
    blocks,
    launcher,
    manifest,
    mcp_settings,
    stage_files,
    toml_settings,
    twice,
)
from sdd.agents.install.plan import Planned, agent_names, found_on_path, plan
from sdd.agents.install.render import PREFIX
from sdd.agents.install.writer import Outcome, Writer
from sdd.agents.registry import AGENTS, INSTALLS, LAUNCHER, LOCATIONS
from sdd.core import files
from sdd.core.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    from sdd.core.paths import ProjectPaths


def _put(w: Writer, relative: str, item: Planned, *, create_only: bool) -> None:
    """One planned file into the project, never through a link nor over what is not a file."""
    if w.linked(relative):
        w.outcome.skipped.append(relative)
        note = (
            f"{os.path.dirname(relative) or relative}: a symbolic link (or outside the "
            "project) on the way; sdd does not write through links"
        )
        if note not in w.outcome.notes:
            w.outcome.notes.append(note)
        return
    target = w.paths.inside(relative)
    raw = manifest.read_bytes(target)
    if raw is None and os.path.lexists(target):
        w.outcome.skipped.append(relative)  # a folder or a broken link: not ours to touch
    elif item.kind == "file":
        stage_files.put(w, relative, raw, item.text, create_only)
    elif item.kind == "block":
        text = item.text
        if item.imports is not None and _holds_block(w, "AGENTS.md"):
            text = item.imports  # the agent imports AGENTS.md: its block is there once
        blocks.put(w, relative, raw, text, create_only)
    else:
        assert item.mcp is not None
        if item.mcp.format == "toml":
            toml_settings.put(w, relative, raw, item.mcp, create_only)
        else:
            mcp_settings.put(w, relative, raw, item.mcp, create_only)


def _holds_block(w: Writer, relative: str) -> bool:
    """Whether ``relative`` holds sdd's block (as sdd wrote it, or edited)."""
    from sdd.agents.install.render import find_block

    text = manifest.decode(manifest.read_bytes(w.paths.inside(relative)))
    return text is not None and find_block(text) is not None and relative in w.files


def _take_out(w: Writer, relative: str) -> None:
    """A file sdd wrote that the plan no longer holds: out of the project and the manifest."""
    entry = w.files.pop(relative)
    if w.linked(relative):
        w.outcome.kept.append(relative)
        return
    raw = manifest.read_bytes(w.paths.inside(relative))
    if raw is None:
        return
    kind = entry.get("kind")
    if kind == "file":
        stage_files.take_out(w, relative, entry, raw)
        return
    text = manifest.decode(raw)
    if text is None:
        w.outcome.kept.append(relative)
    elif kind == "block":
        blocks.take_out(w, relative, entry, text)
    elif kind == "toml":
        toml_settings.take_out(w, relative, entry, text)
    else:
        mcp_settings.take_out(w, relative, entry, raw, text)


def _update(
    project: Any,
    agents: list[str],
    *,
    mcp: bool,
    outcome: Outcome,
    create_only: bool = False,
    nothing_left: bool = False,
) -> Outcome:
    """Make the project hold what ``agents`` need, under the project's lock; with
    ``nothing_left`` (the last agent uninstalled), nothing at all."""
    from sdd.core import history

    paths: ProjectPaths = project.paths
    with history.locked(paths):
        before = files.read_text(paths.inside(manifest.MANIFEST))
        recorded = manifest.load(paths)
        planned, chosen = ({}, {}) if nothing_left else plan(project, agents, mcp=mcp)
        w = Writer(paths, recorded, outcome)
        for relative, item in planned.items():
            _put(w, relative, item, create_only=create_only)
        for relative in sorted(set(recorded["files"]) - set(planned)):
            _take_out(w, relative)
        w.prune_folders()
        if nothing_left:
            recorded["folders"] = []  # what is left in them is no longer sdd's
        recorded["agents"] = agents
        recorded["mcp"] = mcp and not nothing_left
        manifest.save(paths, recorded, before)
        if recorded["mcp"] and LAUNCHER in recorded["files"]:
            if launcher.record(paths) is None:
                outcome.notes.append(
                    f"this sdd is not run as an `sdd` command, so {launcher.PATH_FILE} was not "
                    "written: the MCP launcher looks for sdd on PATH"
                )
        else:
            launcher.remove(paths)
    outcome.twice = twice.fixes(paths, agents, set(recorded["files"]))
    outcome.steps = steps(agents, mcp=bool(recorded["mcp"]))
    outcome.agents = agents
    outcome.locations = {name: LOCATIONS[key].folder for name, key in chosen.items()}
    return outcome


def install(
    project: Any,
    requested: Iterable[str] = (),
    *,
    every: bool = False,
    mcp: bool = False,
    create_only: bool = False,
    env: Mapping[str, str] | None = None,
) -> Outcome:
    """Install for the named agents (or all, or those found on PATH), keeping earlier ones."""
    outcome = Outcome()
    names = list(requested)
    if every:
        new = list(INSTALLS)
    elif names:
        new = agent_names(names)
    else:
        new = found_on_path(env)
        if not new:
            outcome.notes.append(
                "no agent CLI found on PATH; name the agents: sdd agents install "
                + " ".join(INSTALLS)
            )
    recorded = manifest.load(project.paths)
    agents = agent_names([*recorded["agents"], *new])
    wants_mcp = bool(recorded.get("mcp")) or mcp
    if wants_mcp:
        for name in agents:  # pragma: no cover - every agent sdd installs for has one today
            if INSTALLS[name].mcp is None:
                outcome.notes.append(
                    f"{AGENTS[name].title} has no project file for MCP servers that sdd writes; "
                    f"register it there yourself: command `sdd`, arguments `mcp`"
                )
    return _update(project, agents, mcp=wants_mcp, outcome=outcome, create_only=create_only)


def uninstall(project: Any, requested: Iterable[str] = (), *, every: bool = False) -> Outcome:
    """Remove what was installed for the named agents (default: everything)."""
    outcome = Outcome()
    recorded = manifest.load(project.paths)
    names = list(requested)
    installed = agent_names(recorded["agents"])
    if every or not names:
        if not recorded["files"] and not recorded["folders"]:
            outcome.notes.append("nothing was installed by `sdd agents install` here")
            return outcome
        remaining: list[str] = []
    else:
        gone = agent_names(names)
        absent = [n for n in gone if n not in installed]
        if absent:
            raise UsageError(
                f"not installed here: {', '.join(absent)}",
                hint=f"installed: {', '.join(installed) or 'none'}",
            )
        remaining = [n for n in installed if n not in gone]
    mcp = bool(recorded.get("mcp"))
    return _update(project, remaining, mcp=mcp, outcome=outcome, nothing_left=not remaining)


def steps(agents: Iterable[str], *, mcp: bool) -> list[tuple[str, str]]:
    """(agent title, the one step the person takes) for each agent that needs one."""
    shown = []
    for name in agents:
        step = INSTALLS[name].step
        if step is not None and (mcp or not step.mcp_only):
            shown.append((AGENTS[name].title, step.text))
    return shown


def steps_table() -> str:
    """The README's table of the person's one step for each agent, from the registry (the
    text `sdd agents install` prints after installing)."""
    rows = ["| agent | when | your one step, which `sdd agents install` prints |", "|---|---|---|"]
    for name, install in INSTALLS.items():
        step = install.step
        when = "—" if step is None else "with `--mcp`" if step.mcp_only else "always"
        cell = "nothing" if step is None else step.text.replace("|", "\\|")
        rows.append(f"| {AGENTS[name].title} | {when} | {cell} |")
    return "\n".join(rows)


def invocations(outcome: Outcome) -> list[tuple[str, str, str | None, bool]]:
    """For each agent installed for: its title, how a person calls a stage, the folder, and
    whether that folder is the one several agents share."""
    shown = []
    for name in outcome.agents:
        folder = outcome.locations.get(name)
        stage = f"{PREFIX}<stage>"
        key = next((k for k, loc in LOCATIONS.items() if loc.folder == folder), "")
        skill = LOCATIONS[key].form.endswith("skill") if key else False
        call = INSTALLS[name].invoke.format(name=stage) if skill else f"/{stage}"
        shared = LOCATIONS[key].shared if key else False
        shown.append((AGENTS[name].title, call, folder, shared))
    return shown

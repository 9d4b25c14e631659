"""`sdd templates diff` and `sdd templates upgrade`: the project's stage templates against
the packaged ones, upgraded by a three-way merge that never discards a project's edits.

The base of the merge is the packaged template as it was when the project took it
(`.sdd/templates/base/`, written by `init` and by each upgrade).
"""

from __future__ import annotations

import json
import os
import tempfile

from sdd.core import files
from sdd.core.nesting import json_value
from sdd.core.structs import dataclass, field
from sdd.documents import snapshots, templates
from sdd.system.process import run_subprocess

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.core.paths import ProjectPaths


def base_path(paths: ProjectPaths, stage: str) -> str:
    return os.path.join(paths.state, "templates", "base", f"{stage}.md")


def record_base(paths: ProjectPaths, stages: list[str] | None = None) -> None:
    """Remember the packaged templates as the base of later upgrades."""
    for stage in stages or templates.packaged_names():
        text = templates.packaged_text(stage)
        if text is not None:
            files.write_atomic(
                base_path(paths, stage), text, display=paths.rel(base_path(paths, stage))
            )


@dataclass
class StageDiff:
    stage: str
    state: str  # same, edited (project differs), missing
    diff: str = ""


def diff(paths: ProjectPaths) -> list[StageDiff]:
    out = []
    for stage in templates.packaged_names():
        packaged = templates.packaged_text(stage) or ""
        own = files.read_text(paths.inside(f"sessions/{stage}.md"))
        if own is None:
            out.append(StageDiff(stage, "missing"))
        elif own.replace("\r\n", "\n") == packaged:
            out.append(StageDiff(stage, "same"))
        else:
            text = snapshots.unified_diff(packaged, own, f"sessions/{stage}.md")
            text = text.replace("(approved)", "(packaged)").replace("(now)", "(project)")
            out.append(StageDiff(stage, "edited", text))
    return out


@dataclass
class Upgrade:
    updated: list[str] = field(default_factory=list)  # took the new packaged text (no own edits)
    merged: list[str] = field(default_factory=list)  # own edits kept, packaged changes merged in
    conflicts: dict[str, str] = field(default_factory=dict)  # stage -> file holding the conflict
    unchanged: list[str] = field(default_factory=list)


def upgrade(paths: ProjectPaths) -> Upgrade:
    result = Upgrade()
    for stage in templates.packaged_names():
        theirs = (templates.packaged_text(stage) or "").replace("\r\n", "\n")
        own_path = paths.inside(f"sessions/{stage}.md")
        ours = files.read_text(own_path)
        base = files.read_text(base_path(paths, stage))
        if ours is None:
            files.write_atomic(own_path, theirs, display=f"sessions/{stage}.md")
            record_base(paths, [stage])
            result.updated.append(stage)
            continue
        ours = ours.replace("\r\n", "\n")
        if ours == theirs or (base is not None and base == theirs):
            result.unchanged.append(stage)
            if ours == theirs:
                record_base(paths, [stage])
            continue
        if base is None or ours == base:
            if base is None and ours != theirs:
                # No recorded base: the project's copy is all we know; keep it, show the conflict.
                base = ""
            else:
                files.write_atomic(own_path, theirs, display=f"sessions/{stage}.md")
                record_base(paths, [stage])
                result.updated.append(stage)
                continue
        conflict_file = os.path.join(paths.state, "templates", "conflicts", f"{stage}.md")
        marker = conflict_file[:-3] + ".json"
        if _resolved(marker, ours, theirs):
            # The person settled an earlier conflict by hand: their file stands, and the
            # packaged version it was merged with becomes the new base.
            record_base(paths, [stage])
            for leftover in (conflict_file, marker):
                if os.path.exists(leftover):
                    os.unlink(leftover)
            result.merged.append(stage)
            continue
        merged, conflicted = _merge(ours, base, theirs, stage)
        if conflicted:
            files.write_atomic(conflict_file, merged, display=paths.rel(conflict_file))
            state = json.dumps(
                {
                    "project": files.hash_bytes(ours.encode()),
                    "packaged": files.hash_bytes(theirs.encode()),
                }
            )
            files.write_atomic(marker, state, display=paths.rel(marker))
            result.conflicts[stage] = paths.rel(conflict_file)
        else:
            files.write_atomic(own_path, merged, display=f"sessions/{stage}.md")
            record_base(paths, [stage])
            result.merged.append(stage)
    return result


def _resolved(marker: str, ours: str, theirs: str) -> bool:
    """Whether the project's template changed since its conflict with this packaged version
    was reported, and holds no conflict markers any more."""
    text = files.read_text(marker)
    if text is None:
        return False
    try:
        state = json_value(text)
    except ValueError:
        return False
    if not isinstance(state, dict):
        return False
    if state.get("packaged") != files.hash_bytes(theirs.encode()):
        return False
    if state.get("project") == files.hash_bytes(ours.encode()):
        return False
    return not any(
        line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "=======" for line in ours.splitlines()
    )


def _merge(ours: str, base: str, theirs: str, stage: str) -> tuple[str, bool]:
    with tempfile.TemporaryDirectory(prefix="sdd-merge-") as folder:
        names = []
        for label, text in (("project", ours), ("base", base), ("packaged", theirs)):
            path = os.path.join(folder, label)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            names.append(path)
        done = run_subprocess(
            [
                "git",
                "merge-file",
                "-p",
                "-L",
                f"sessions/{stage}.md (project)",
                "-L",
                "base",
                "-L",
                "packaged",
                *names,
            ]
        )
    return done.stdout, done.returncode != 0

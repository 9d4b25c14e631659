"""Writing into a project on sdd's behalf: files written atomically and recorded in the
manifest, the folders sdd made remembered (and pruned once empty), never through a link.
What each write did is told in an :class:`Outcome`."""

from __future__ import annotations

import os

from sdd.agents.install.manifest import sha256
from sdd.core import files
from sdd.core.errors import Refused, StateError
from sdd.core.structs import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.paths import ProjectPaths


@dataclass
class Outcome:
    agents: list[str] = field(default_factory=list)
    locations: dict[str, str] = field(default_factory=dict)  # agent -> folder
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # deleted
    taken_out: list[str] = field(default_factory=list)  # sdd's entry removed; the file stays
    kept: list[str] = field(default_factory=list)  # edited since sdd wrote them: left alone
    skipped: list[str] = field(default_factory=list)  # there already, not sdd's: left alone
    mcp: list[str] = field(default_factory=list)  # project files that register `sdd mcp`
    notes: list[str] = field(default_factory=list)
    twice: list[str] = field(default_factory=list)  # an agent would see a stage twice: the fix
    steps: list[tuple[str, str]] = field(default_factory=list)  # (agent, the person's one step)


class Writer:
    """Writes and deletes in ``paths``'s project, keeping the manifest's records in step."""

    def __init__(self, paths: ProjectPaths, manifest: dict[str, Any], outcome: Outcome) -> None:
        self.paths = paths
        self.files: dict[str, dict[str, Any]] = manifest["files"]  # relative path -> its record
        self.folders: list[str] = manifest["folders"]  # the folders sdd made
        self.outcome = outcome

    def write(self, relative: str, text: str) -> str:
        """Write the file (and the folders it needs); its sha256."""
        target = self.paths.inside(relative)
        folder = os.path.dirname(relative)
        missing = []
        while folder and not os.path.isdir(self.paths.inside(folder)):
            missing.append(folder)
            folder = os.path.dirname(folder)
        files.write_atomic(target, text, display=relative)
        for made in missing:
            if made not in self.folders:
                self.folders.append(made)
        return sha256(text)

    def delete(self, relative: str) -> None:
        try:
            os.unlink(self.paths.inside(relative))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StateError(f"{relative}: cannot remove ({exc.strerror})") from None

    def undecodable(self, relative: str) -> None:
        self.outcome.skipped.append(relative)
        self.outcome.notes.append(f"{relative}: not UTF-8 text; left as it is")

    def linked(self, relative: str) -> bool:
        """Whether the file would be written through a symbolic link (or outside the project)."""
        try:
            target = self.paths.inside(relative)
        except Refused:
            return True
        probe = os.path.dirname(target)
        while not os.path.isdir(probe) and probe != self.paths.root:
            probe = os.path.dirname(probe)
        real_root = os.path.realpath(self.paths.root)
        expected = os.path.normpath(
            os.path.join(real_root, os.path.relpath(probe, self.paths.root))
        )
        return os.path.realpath(probe) != expected or os.path.islink(target)

    def prune_folders(self) -> None:
        """Remove the folders sdd made that are empty now, deepest first."""
        for folder in sorted(self.folders, key=lambda f: (-f.count("/"), f)):
            target = self.paths.inside(folder)
            try:
                if os.path.isdir(target) and not os.path.islink(target) and not os.listdir(target):
                    os.rmdir(target)
            except OSError:
                continue
            if not os.path.exists(target):
                self.folders.remove(folder)

"""The control panel of a cycle (`sdd status`, `sdd next`), answered from the cache when
nothing changed. On the start-up path: imports stay inside the functions that need them."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.paths import ProjectPaths
    from sdd.project.project import Project


class Panel:
    """The control panel of one cycle: ``data`` (the documented shape) and its JSON text."""

    def __init__(self, data: dict[str, Any], json_text: str | None, next_json: str | None) -> None:
        self.data = data
        self._json = json_text
        self._next_json = next_json

    def json(self) -> str:
        if self._json is None:
            import json

            self._json = json.dumps(self.data, ensure_ascii=False, sort_keys=True)
        return self._json

    def next_json(self) -> str:
        if self._next_json is None:
            import json

            self._next_json = json.dumps(self.data["next"], ensure_ascii=False, sort_keys=True)
        return self._next_json


def status(root: str, *, cycle: str | None = None) -> Panel:
    """The control panel; answered from the cache when nothing changed."""
    from sdd.core.paths import ProjectPaths
    from sdd.project import cache

    paths = ProjectPaths(root)
    if cycle is None:
        entry = cache.read(paths)
        if entry is not None:
            if cache.file_key(paths.tracker) != entry["tracker"]:
                _heal_tracker(paths, entry)
            return Panel(entry["panel"], entry["panel_json"], entry["next_json"])
    from sdd.core import history
    from sdd.project.project import DocHasher, Project

    project = Project(root)
    with history.shared(paths):
        state = project.load()
        if cycle is None:
            return Panel(project.refresh(state, reading=True), None, None)
        return Panel(
            project.panel(state, project.cycle(state, cycle), DocHasher(paths)), None, None
        )


def _heal_tracker(paths: ProjectPaths, entry: dict[str, Any]) -> None:
    """The tracker page was edited or hit by a merge conflict: write it again (where the
    project can be written: a read-only one is only read)."""
    from sdd.core import files
    from sdd.project import cache

    # Written only when its content differs (a checkout that only touched it stays as it is).
    if files.read_text(paths.tracker) != entry["tracker_text"]:
        if not files.can_write(paths.tracker):
            return
        files.write_atomic(paths.tracker, entry["tracker_text"])
    entry["tracker"] = cache.file_key(paths.tracker)
    cache.write(paths, entry)


def status_all(project: Project) -> list[dict[str, Any]]:
    """The panel of every cycle that is not archived, oldest first."""
    from sdd.core import history
    from sdd.project.project import DocHasher

    with history.shared(project.paths):
        state = project.load()
    hasher = DocHasher(project.paths)
    return [project.panel(state, c, hasher) for c in state.cycles.values() if not c.archived]

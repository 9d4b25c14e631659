"""The sessions `sdd run` is running now, visible to every other `sdd` process.

`.sdd/cache/running/<session>.json` is written before the agent starts and removed once
its whole process tree has ended. It names the `sdd run` process by its pid and its start
time (from /proc, so a reused pid is not mistaken for it). A file whose process is gone
(`sdd run` was killed before it could remove it) is stale: ignored, and removed.
"""

from __future__ import annotations

import contextlib
import json
import os

from sdd.core import files
from sdd.core.structs import dataclass
from sdd.system import proctree

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from sdd.core.paths import ProjectPaths


@dataclass(frozen=True)
class Running:
    """A session `sdd run` is running: its agent's process."""

    session: str
    pid: int
    start: int | None  # None where there is no /proc (macOS): the pid alone then


def _folder(paths: ProjectPaths) -> str:
    return os.path.join(paths.cache_dir, "running")


@contextlib.contextmanager
def registered(paths: ProjectPaths, session: str) -> Iterator[None]:
    """While the body runs, ``session`` is listed as running in this process."""
    path = os.path.join(_folder(paths), f"{session}.json")
    me = os.getpid()
    record = {"session": session, "pid": me, "start": proctree.start_time(me)}
    files.write_atomic(path, json.dumps(record) + "\n")
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)


def _read(path: str) -> Running | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        pid, start, session = data["pid"], data["start"], data["session"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not isinstance(pid, int) or not isinstance(session, str):
        return None
    if start is not None and not isinstance(start, int):
        return None
    return Running(session, pid, start)


def live(paths: ProjectPaths) -> list[Running]:
    """The sessions whose `sdd run` is still alive; stale and unreadable files are removed."""
    folder = _folder(paths)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found = []
    for name in names:
        if not name.endswith(".json"):
            continue
        path = os.path.join(folder, name)
        entry = _read(path)
        if entry is not None and proctree.alive(entry.pid, entry.start):
            found.append(entry)
        else:
            with contextlib.suppress(OSError):
                os.remove(path)
    return found

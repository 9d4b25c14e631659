"""One `sdd run` per cycle at a time: `.sdd/cache/runs/cycle-<n>.lock`.

The lock is ``flock`` on that file, held for as long as the `sdd run` (or the autopilot's
whole run of sessions) lasts: the kernel lets go of it when the process ends however it
ends, so a lock left by a dead process is simply taken over. The file says who holds it
(pid, start time from /proc, when): what a second `sdd run` on the same cycle is told. Other
cycles have files of their own, and run side by side.

The file is never removed: removing it while another process opens it would let two
processes each lock a file of their own.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import time
from typing import Concatenate, ParamSpec, TypeVar

from sdd.core import clock, files
from sdd.core.errors import Refused, StateError
from sdd.system import proctree

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sdd.core.paths import ProjectPaths
    from sdd.project.project import Project

P = ParamSpec("P")
R = TypeVar("R")

_HELD: set[str] = set()  # the locks this process holds: the autopilot's runs take them again


def path(paths: ProjectPaths, cycle: int) -> str:
    return os.path.join(paths.cache_dir, "runs", f"cycle-{cycle}.lock")


def _holder(fd: int) -> str:
    """Who holds the lock, in words, from what its holder wrote (it may be writing it yet)."""
    for _ in range(20):
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            data = json.loads(os.pread(fd, 4096, 0).decode())
            pid, start, since = data["pid"], data["start"], data["since"]
            if isinstance(pid, int) and proctree.alive(pid, start):
                return f"pid {pid}, `{data.get('command', 'sdd run')}` since {since}"
        time.sleep(0.05)
    return "another `sdd run`"


@contextlib.contextmanager
def hold(paths: ProjectPaths, cycle: int, command: str = "sdd run") -> Iterator[None]:
    """Hold cycle ``cycle``'s run lock, or refuse naming who holds it (``command``: what
    the holder is, in its words)."""
    where = path(paths, cycle)
    if where in _HELD:  # this process holds it already (the autopilot's sessions)
        yield
        return
    try:
        os.makedirs(os.path.dirname(where), exist_ok=True)
        fd = os.open(where, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StateError(
            f"{paths.rel(where)}: cannot open the run lock ({files.reason(exc)}); nothing was "
            "started",
            hint="sdd records into .sdd/: make the project folder writable",
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Refused(
                f"cycle {cycle} is being run already ({_holder(fd)}): one `sdd run` per cycle "
                "at a time",
                hint="wait for it to stop, or stop it (Ctrl-C in its terminal); another cycle "
                "may run meanwhile (`--cycle N`)",
            ) from None
        me = os.getpid()
        since = clock.iso(clock.now())
        record = {"pid": me, "start": proctree.start_time(me), "since": since, "command": command}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        _HELD.add(where)
        try:
            yield
        finally:
            _HELD.discard(where)
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def one_per_cycle(
    run: Callable[Concatenate[Project, P], R],
) -> Callable[Concatenate[Project, P], R]:
    """Wraps a use case ``run(project, …, cycle=SELECTOR, …)``: it runs holding its cycle's
    lock. Without a cycle to run, the use case itself says so."""

    @functools.wraps(run)
    def locked(project: Project, /, *args: P.args, **kwargs: P.kwargs) -> R:
        selector = kwargs.get("cycle")
        chosen = project.cycle(project.load(), selector if isinstance(selector, str) else None)
        if chosen is None:
            return run(project, *args, **kwargs)
        with hold(project.paths, chosen.number):
            return run(project, *args, **kwargs)

    return locked

"""The process tree as Linux's /proc shows it: a process's parent, group, state and start
time, its command line, the live descendants of a process; and making this process the
subreaper of its descendants (``PR_SET_CHILD_SUBREAPER``), so that whatever a child leaves
behind (``setsid``, a double fork, ``nohup … &``, a tmux server) is reparented to us instead
of init and stays our descendant.

Without /proc (macOS) the answers are "unknown": no start time, no descendants, no
subreaper; callers fall back to process groups.
"""

from __future__ import annotations

import os

from sdd.core.structs import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

_PR_SET_DUMPABLE = 4  # <linux/prctl.h>
_PR_SET_CHILD_SUBREAPER = 36


@dataclass(frozen=True)
class Proc:
    """One process as /proc tells it."""

    pid: int
    state: str  # R, S, D, T, Z (a zombie: ended, waiting for its parent to reap it) …
    ppid: int
    pgid: int
    start: int  # clock ticks after boot: with the pid, names one process for good

    @property
    def ended(self) -> bool:
        return self.state in ("Z", "X")


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def stat(pid: int) -> Proc | None:
    """What /proc/PID/stat says of ``pid``, or None (no such process, or no /proc)."""
    text = _read(f"/proc/{pid}/stat").decode(errors="replace")
    # The command name is in parentheses and may itself hold spaces or ')'.
    fields = text[text.rfind(")") + 2 :].split()
    if len(fields) < 20 or not fields[1].isdigit() or not fields[19].isdigit():
        return None
    return Proc(pid, fields[0], int(fields[1]), int(fields[2]), int(fields[19]))


def parent(pid: int) -> int:
    found = stat(pid)
    return found.ppid if found else 0


def start_time(pid: int) -> int | None:
    found = stat(pid)
    return found.start if found and not found.ended else None


def alive(pid: int, start: int | None) -> bool:
    """Whether ``pid`` runs and is the process that started at ``start`` (when known), so
    that a reused pid is not mistaken for it. An ended process (a zombie) is not alive."""
    found = stat(pid)
    if found is not None:
        return not found.ended and (start is None or found.start == start)
    if os.path.isdir("/proc/self"):
        return False
    try:  # no /proc: the pid alone
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def command_name(pid: int) -> str:
    return _read(f"/proc/{pid}/comm").decode(errors="replace").strip()


def command_line(pid: int) -> list[str]:
    raw = _read(f"/proc/{pid}/cmdline")
    return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]


def ancestors(limit: int = 64) -> Iterator[int]:
    """Our parent, its parent, and so on up to (not including) init."""
    pid = os.getppid()
    for _ in range(limit):
        if pid <= 1:
            return
        yield pid
        pid = parent(pid)


def processes() -> list[Proc]:
    """Every process /proc shows (none without /proc)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    found = (stat(int(entry)) for entry in entries if entry.isdigit())
    return [proc for proc in found if proc is not None]


def descendants(root: int, listing: list[Proc] | None = None) -> list[Proc]:
    """The processes below ``root`` (children, theirs, …), found by their parent chains in
    ``listing`` (by default, what /proc shows now)."""
    children: dict[int, list[Proc]] = {}
    for proc in processes() if listing is None else listing:
        children.setdefault(proc.ppid, []).append(proc)
    found: list[Proc] = []
    seen = {root}
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            if child.pid not in seen:
                seen.add(child.pid)
                found.append(child)
                pending.append(child.pid)
    return found


def become_subreaper() -> bool:
    """Make this process the subreaper of its descendants (Linux only), and not dumpable,
    so that a descendant running as the same user can neither trace it nor write its memory
    (its command line, which the person check reads, or its code). False elsewhere, or
    when the kernel refuses."""
    import sys

    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # here: only `sdd run` and `sdd verify` need it

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False

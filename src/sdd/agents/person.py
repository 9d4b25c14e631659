"""Who may do a person's act (approve, reject, answer, waive): a person at a terminal.

Refused inside a session that sdd launched (``SDD_SESSION_ID``), when standard input is
not an interactive terminal, and when any ancestor process is a known agent CLI (by the
process names and package markers of :mod:`sdd.agents.registry`). In an unsigned project
(today: every project) also when any ancestor is an `sdd` command such as `sdd run`, and
while any session `sdd run` launched in this project still runs
(:mod:`sdd.project.running`): on Linux `sdd run` is the subreaper of its agent's tree, so
whatever that agent left behind has `sdd run` among its ancestors until it is ended.
"""

from __future__ import annotations

import os

from sdd.core.errors import ProcessError, Refused
from sdd.project import running
from sdd.system import process, proctree

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from sdd.core.paths import ProjectPaths

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_OUTSIDE = "a person runs this command in their own terminal, outside any agent"


def _names(argv: list[str]) -> set[str]:
    names = set()
    for arg in argv[:2]:
        base = os.path.basename(arg)
        names.add(base)
        names.add(base.rsplit(".", 1)[0])
    return names


def _looks_like_agent(comm: str, argv: list[str]) -> str | None:
    # The registry is big: loaded when an ancestor is judged, not by every command that
    # imports this module.
    from sdd.agents.registry import PACKAGE_MARKERS, PROCESS_NAMES

    hit = (_names(argv) | {comm}) & PROCESS_NAMES
    if hit:
        return sorted(hit)[0]
    joined = " ".join(argv[:3])
    return next((p for p in PACKAGE_MARKERS if p in joined), None)


def _sdd_command(argv: list[str]) -> str | None:
    """``run`` for `sdd run …` (the script, run directly or by its interpreter, or
    `python -m sdd run …`), the command's name for any other `sdd` command, else None."""
    for index, arg in enumerate(argv[:4]):  # an interpreter and its options come first
        base = os.path.basename(arg)
        if base == "sdd" or base.rsplit(".", 1)[0] == "sdd":
            rest = argv[index + 1 :]
            return next((a for a in rest if not a.startswith("-")), "")
    return None


def _ancestry() -> Iterator[tuple[int, str, list[str]]]:
    """(pid, command name, arguments) of each ancestor, nearest first: from /proc, else
    (macOS) from one `ps`, whose arguments are split at spaces."""
    if os.path.isdir("/proc/self"):
        for pid in proctree.ancestors():
            yield pid, proctree.command_name(pid), proctree.command_line(pid)
        return
    try:
        listed = process.run_subprocess(["ps", "-A", "-o", "pid=,ppid=,command="], timeout=10)
    except ProcessError:
        return
    table: dict[int, tuple[int, list[str]]] = {}
    for line in listed.stdout.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            table[int(parts[0])] = (int(parts[1]), parts[2].split())
    pid = os.getppid()
    for _ in range(64):
        if pid <= 1 or pid not in table:
            return
        ppid, argv = table[pid]
        yield pid, os.path.basename(argv[0]) if argv else "", argv
        pid = ppid


def _launchers() -> tuple[str | None, str | None]:
    """The nearest ancestor that is a known agent CLI ("claude (pid 12)"), and the nearest
    that is an `sdd` command ("`sdd run` (pid 9)"), each if any."""
    agent = command = None
    for pid, comm, argv in _ancestry():
        name = _looks_like_agent(comm, argv)
        if name and agent is None:
            agent = f"{name} (pid {pid})"
        found = _sdd_command(argv)
        if found is not None and command is None:
            label = f"`sdd {found}`" if found else "`sdd`"
            command = f"{label} (pid {pid})"
    return agent, command


def require_person(
    act: str, *, stdin_is_tty: bool, paths: ProjectPaths, signed: bool = False
) -> None:
    """Raise :class:`Refused` unless a person at a terminal is doing ``act``: what was
    found, and the one thing to do instead. In a ``signed`` project the person's key is the
    proof, so an act is not refused for a session that runs elsewhere."""
    session = os.environ.get("SDD_SESSION_ID")
    why, hint = None, _OUTSIDE
    if session:
        why = f"this runs inside session {session} (SDD_SESSION_ID is set)"
    elif not stdin_is_tty:
        why = "there is no interactive terminal to confirm it on"
    else:
        agent, command = _launchers()
        if agent:
            why = f"it was started under the agent CLI {agent}"
        elif command and not signed:
            why = (
                f"it was started under {command}: what `sdd` launches (an agent and "
                "whatever it leaves behind, a project's check) could be typing this"
            )
            hint = f"{_OUTSIDE} and outside any `sdd` command"
        elif not signed:
            why, hint = _running(paths)
    if why:
        raise Refused(f"{act} is a person's act, and {why}", hint=hint)


def _running(paths: ProjectPaths) -> tuple[str | None, str]:
    sessions = running.live(paths)
    if not sessions:
        return None, _OUTSIDE
    listed = ", ".join(f"{s.session} (`sdd run`, pid {s.pid})" for s in sessions)
    one = len(sessions) == 1
    these, are, it = ("session", "is", "it") if one else ("sessions", "are", "them")
    return (
        f"{these} {listed} {are} running: in an unsigned project, while a session's "
        "processes live, one of them could be typing this",
        f"wait for {these} {', '.join(s.session for s in sessions)} to end (or end {it}: "
        "Ctrl-C where `sdd run` runs), then run this again",
    )


def confirmation_code() -> str:
    import secrets  # random, hmac, base64: only when a code is shown

    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(4))

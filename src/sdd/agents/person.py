"""Who may do a person's act (approve, reject, answer, waive): a person at a terminal.

Refused inside a session that sdd launched (``SDD_SESSION_ID``), when standard input
is not an interactive terminal, and when any ancestor process is a known agent CLI (by
the process names and package markers of :mod:`sdd.agents.registry`).
"""

from __future__ import annotations

import os
import secrets

from sdd.agents.registry import PACKAGE_MARKERS, PROCESS_NAMES
from sdd.core.errors import Refused

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _parent(pid: int) -> int:
    stat = _read(f"/proc/{pid}/stat").decode(errors="replace")
    # The command name is in parentheses and may itself hold spaces or ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0


def _looks_like_agent(pid: int) -> str | None:
    comm = _read(f"/proc/{pid}/comm").decode(errors="replace").strip()
    argv = [a.decode(errors="replace") for a in _read(f"/proc/{pid}/cmdline").split(b"\0") if a]
    names = {comm}
    for arg in argv[:2]:
        base = os.path.basename(arg)
        names.add(base)
        names.add(base.rsplit(".", 1)[0])
    hit = names & PROCESS_NAMES
    if hit:
        return sorted(hit)[0]
    joined = " ".join(argv[:3])
    return next((p for p in PACKAGE_MARKERS if p in joined), None)


def agent_ancestor() -> str | None:
    """The name of the first ancestor process that is a known agent CLI, if any."""
    pid = os.getppid()
    seen = 0
    while pid > 1 and seen < 64:
        found = _looks_like_agent(pid)
        if found:
            return f"{found} (pid {pid})"
        pid = _parent(pid)
        seen += 1
    return None


def require_person(act: str, *, stdin_is_tty: bool) -> None:
    """Raise :class:`Refused` unless a person at a terminal is doing ``act``."""
    session = os.environ.get("SDD_SESSION_ID")
    why = None
    if session:
        why = f"this runs inside session {session} (SDD_SESSION_ID is set)"
    elif not stdin_is_tty:
        why = "there is no interactive terminal to confirm it on"
    else:
        agent = agent_ancestor()
        if agent:
            why = f"it was started under the agent CLI {agent}"
    if why:
        raise Refused(
            f"{act} is a person's act, and {why}",
            hint="a person runs this command in their own terminal, outside any agent",
        )


def confirmation_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(4))

"""`sdd abandon` with no open session: the kept branches of the cycle's sessions that ended
without completing are deleted.

Its own small module: every `sdd abandon` asks it first, and the module of `sdd run
--parallel` (agents, worktrees, the process tree: a third of a small abandon's time) loads
only when a killed run left worktrees to clean up."""

from __future__ import annotations

import os

from sdd.core import history
from sdd.core.structs import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.project.project import Project


@dataclass
class Discarded:
    """The branches deleted, and what was done."""

    branches: list[str]
    message: str


def discard(project: Project, *, cycle: str | None = None) -> Discarded | None:
    """The kept branches of the cycle's sessions that ended without completing, deleted
    (None: there are none, or a session is open: `sdd abandon` ends that one)."""
    try:
        left = bool(os.listdir(project.paths.worktrees))
    except OSError:
        left = False
    if left:  # a `sdd run --parallel` that was killed: its sessions are settled first
        from sdd.usecases import parallel

        parallel.sweep(project)
    from sdd.system import worktrees

    if worktrees.any_kept(project.paths.root) is False:
        return None  # no session's branch at all: nothing to read the history for
    state = project.load()
    chosen = project.cycle(state, cycle)
    if chosen is None or project.open_session(chosen) is not None:
        return None
    ended = {s.id for s in chosen.sessions if s.outcome not in ("open", "complete")}
    root = project.paths.root
    doomed = [b for b in worktrees.kept(root) if b[len(worktrees.PREFIX) :] in ended]
    if not doomed:
        return None
    with history.locked(project.paths):
        for branch in doomed:
            worktrees.delete_branch(root, branch)
    return Discarded(doomed, f"deleted the kept branches of {len(doomed)} session(s)")

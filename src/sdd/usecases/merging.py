"""A parallel session's work joins the cycle's branch: its worktree's branch is merged into
the project's checkout under the project's lock, so merges happen one at a time.

Called by `sdd done` (`sessions.done`) in a session's worktree, once the session is judged
complete and before that is recorded: a conflict in the work leaves it not complete.
"""

from __future__ import annotations

import contextlib

from sdd.core import structs
from sdd.core.errors import MergeConflict, SddError
from sdd.system import gitrepo, worktrees

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from sdd.core.state import Session
    from sdd.project.project import Transaction


@contextlib.contextmanager
def steady() -> Iterator[None]:
    """While a session's branch is merged and its end recorded, Ctrl-C, SIGTERM and SIGHUP
    wait: a merge cut short would leave the project's checkout half merged, or merged with
    the session not recorded as complete. (A child git started meanwhile ignores them too.)"""
    import signal

    held = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    try:
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in held}
    except ValueError:  # not the main thread: signals are not ours to hold
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def generated(path: str) -> bool:
    """Files sdd writes itself whose conflicts never count: they are written again from the
    history (the tracker, the allowed signers, the cache; the history's segments never
    conflict, being one file per branch)."""
    return path in gitrepo.OWN_FILES or (path.startswith(".sdd/") and path not in gitrepo.NOT_OWN)


def forked(tx: Transaction, session: Session) -> Session:
    """The session as its worktree judges it: its work is what its branch committed since
    it left the cycle's branch (which other sessions' merges move on meanwhile)."""
    paths = tx.project.paths
    fork = worktrees.fork_point(paths.root, paths.home) if paths.linked else None
    return structs.replace(session, head_before=fork) if fork else session


def merge_back(tx: Transaction, session: Session) -> None:
    """Merge the session's branch into the project's checkout, or raise MergeConflict."""
    paths = tx.project.paths
    tree, home = paths.root, paths.home
    branch = worktrees.branch_of(session.id)
    # The session page's handoff, written in the worktree, goes with the branch; and the
    # project's own records are committed first, so git has nothing of sdd's in the way.
    with contextlib.suppress(SddError):
        worktrees.commit_files(tree, [session.page], f"sdd: {session.id} handoff")
    if gitrepo.commit_blocker(home) is None:
        with contextlib.suppress(SddError):
            gitrepo.commit_bookkeeping(home, f"sdd: records before merging {session.id}")
    what = f"task {session.task}" if session.task else session.stage
    conflicts = worktrees.merge(home, branch, f"sdd: merge {session.id} ({what})", generated)
    if conflicts:
        listed = ", ".join(conflicts[:10]) + (" …" if len(conflicts) > 10 else "")
        raise MergeConflict(
            f"session {session.id}'s work conflicts with the cycle's branch in {listed}; "
            f"its branch {branch} is kept",
            details=conflicts,
            hint=f"merge {branch} by hand (or let a fix session do it)",
        )

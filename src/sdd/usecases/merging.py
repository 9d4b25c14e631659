"""A parallel session's work joins the cycle's branch: its worktree's branch is merged into
the project's checkout under the project's lock, so merges happen one at a time.

Called by `sdd done` (`sessions.done`) in a session's worktree, once the session is judged
complete and before that is recorded: a conflict in the work leaves it not complete.
"""

from __future__ import annotations

import contextlib

from sdd.core.errors import MergeConflict, SddError
from sdd.core.state import Session
from sdd.project.project import Transaction
from sdd.system import gitrepo, worktrees


def generated(path: str) -> bool:
    """Files sdd writes itself whose conflicts never count: they are written again from the
    history (the tracker, the allowed signers, the cache; the history's segments never
    conflict, being one file per branch)."""
    return path in gitrepo.OWN_FILES or (path.startswith(".sdd/") and path not in gitrepo.NOT_OWN)


def merge_back(tx: Transaction, session: Session) -> None:
    """Merge the session's branch into the project's checkout, or raise MergeConflict."""
    paths = tx.project.paths
    tree, home = paths.root, paths.home
    branch = worktrees.branch_of(session.id)
    # The session page's handoff, written in the worktree, goes with the branch; and the
    # project's own records are committed first, so git has nothing of sdd's in the way.
    with contextlib.suppress(SddError):
        gitrepo.commit_bookkeeping(tree, f"sdd: {session.id} handoff")
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

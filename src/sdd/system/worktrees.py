"""Git worktrees for parallel sessions: one folder and one branch per session, merged back
one at a time.

A session's worktree is `.sdd/worktrees/<session>/` (git-ignored) on the branch
`sdd/<session>`, started from the cycle's branch as it was committed when the session began.
"""

from __future__ import annotations

import contextlib
import os

from sdd.core.errors import SddError
from sdd.system.process import run_subprocess

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

PREFIX = "sdd/"  # a session's branch: sdd/S-0007


def branch_of(session: str) -> str:
    return f"{PREFIX}{session}"


def _git(root: str, *args: str, timeout: float = 60.0) -> tuple[int, str]:
    env = dict(os.environ)
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    done = run_subprocess(["git", *args], cwd=root, env=env, timeout=timeout)
    return done.returncode, (done.stdout + done.stderr).strip()


def _must(root: str, *args: str) -> str:
    code, out = _git(root, *args)
    if code != 0:
        said = out.splitlines()
        raise SddError(f"git {args[0]} failed" + (f": {said[-1]}" if said else ""))
    return out


def commit_files(root: str, paths: list[str], message: str) -> None:
    """Commit ``paths`` (and nothing the person staged), when they changed."""
    _must(root, "add", "-A", "--", *paths)
    code, _ = _git(root, "diff", "--cached", "--quiet", "--", *paths)
    if code != 0:
        _must(root, "commit", "--only", "--no-verify", "-q", "-m", message, "--", *paths)


def fork_point(tree: str, home: str) -> str | None:
    """The commit a worktree's branch left the project's branch at (its merge base with
    the project's HEAD, however far either moved since)."""
    code, head = _git(home, "rev-parse", "-q", "--verify", "HEAD")
    if code != 0:
        return None
    code, out = _git(tree, "merge-base", "HEAD", head.strip())
    return out.strip() if code == 0 and out.strip() else None


def add(root: str, path: str, branch: str) -> None:
    """A new worktree at ``path`` on a new ``branch`` from HEAD."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _must(root, "worktree", "add", "-q", "-b", branch, path, "HEAD")


def remove(root: str, path: str) -> None:
    """Remove the worktree at ``path`` (its branch and commits stay). Best effort."""
    with contextlib.suppress(SddError, OSError):
        _git(root, "worktree", "remove", "--force", "--force", path)
    if os.path.isdir(path):
        import shutil  # bz2, lzma: only where a worktree's folder is left to remove

        shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(SddError, OSError):
        _git(root, "worktree", "prune")


def exists(root: str, branch: str) -> bool:
    try:
        code, _ = _git(root, "rev-parse", "-q", "--verify", f"refs/heads/{branch}")
    except SddError:
        return False
    return code == 0


def delete_branch(root: str, branch: str) -> bool:
    """Delete ``branch`` (merged or not): True when it was there."""
    if not exists(root, branch):
        return False
    _must(root, "branch", "-D", "-q", branch)
    return True


def kept(root: str) -> list[str]:
    """The sessions' branches still there."""
    try:
        code, out = _git(root, "for-each-ref", "--format=%(refname:short)", f"refs/heads/{PREFIX}")
    except SddError:
        return []
    return sorted(line for line in out.splitlines() if line.startswith(PREFIX)) if code == 0 else []


def any_kept(root: str) -> bool | None:
    """Whether any session's branch is there, read from .git's own files (every `sdd abandon`
    asks first, and most projects never had one): a loose ref under ``refs/heads/sdd/`` or
    a packed one. None when the files cannot tell (a linked worktree, reftable refs): ask
    ``kept`` then."""
    git_dir = os.path.join(root, ".git")
    if not os.path.isdir(git_dir) or os.path.exists(os.path.join(git_dir, "reftable")):
        return None
    for _folder, _dirs, names in os.walk(os.path.join(git_dir, "refs", "heads", PREFIX)):
        if names:
            return True
    try:
        with open(os.path.join(git_dir, "packed-refs"), "rb") as handle:
            packed = handle.read()
    except FileNotFoundError:
        return False
    except OSError:
        return None
    return b" refs/heads/" + PREFIX.encode() in packed


def merge(root: str, branch: str, message: str, generated: Callable[[str], bool]) -> list[str]:
    """Merge ``branch`` into the branch checked out at ``root``. Conflicts in files sdd
    generates (``generated``) do not count: ours is kept, and sdd regenerates them. A
    conflict in any other file aborts the merge; those files are returned (empty: merged).
    Raises SddError when git cannot merge at all (a change of the person's in the way)."""
    code, out = _git(root, "merge", "--no-ff", "--no-edit", "-q", "-m", message, branch)
    if code == 0:
        return []
    _, listed = _git(root, "diff", "--name-only", "--diff-filter=U")
    conflicted = [line for line in listed.splitlines() if line.strip()]
    if not conflicted:
        with contextlib.suppress(SddError):
            _git(root, "merge", "--abort")
        said = out.splitlines()
        raise SddError(
            f"git merge of {branch} failed" + (f": {said[-1]}" if said else ""),
            hint=f"its branch {branch} is kept: merge it by hand",
        )
    work = [path for path in conflicted if not generated(path)]
    if work:
        _git(root, "merge", "--abort")
        return work
    for path in conflicted:
        if _git(root, "checkout", "--ours", "--", path)[0] != 0:
            _git(root, "rm", "-q", "--cached", "--", path)
            continue
        _must(root, "add", "--", path)
    _must(root, "commit", "--no-verify", "-q", "--no-edit")
    return []

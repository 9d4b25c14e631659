"""What git says about the project: HEAD, uncommitted changes, who the person is."""

from __future__ import annotations

import os

from sdd.core import files
from sdd.core.errors import SddError
from sdd.core.gitfiles import head_key
from sdd.system.process import run_subprocess

# Files sdd writes itself: they never make the tree "dirty" for evidence.
OWN_PREFIXES = (".sdd/", "docs/sessions/")
OWN_FILES = ("docs/session-tracker.md",)


# The config decides the workflow, the gates and the checks: a change to it is a change
# like any other, never sdd's own.
NOT_OWN = (".sdd/config.toml",)


def is_own(path: str) -> bool:
    return (path.startswith(OWN_PREFIXES) or path in OWN_FILES) and path not in NOT_OWN


def _git(root: str, *args: str, timeout: float = 30.0) -> tuple[int, str]:
    env = dict(os.environ)
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    result = run_subprocess(["git", *args], cwd=root, env=env, timeout=timeout)
    return result.returncode, result.stdout


# What `git rev-parse HEAD`, `git ls-tree HEAD …` and `git log HEAD …` print is fixed by the
# commit HEAD names: a process that asks many times (each load checks the history against
# HEAD, each evidence check reads its code) asks git once per commit. Keyed on the commit as
# .git's own files name it; when they cannot tell it cheaply, git is asked every time.
_AT_HEAD: dict[tuple[str, str, tuple[str, ...]], tuple[int, str]] = {}


def _git_at_head(root: str, *args: str) -> tuple[int, str]:
    commit = head_key(root)
    if commit is None:
        return _git(root, *args)
    key = (root, commit, args)
    found = _AT_HEAD.get(key)
    if found is None:
        if len(_AT_HEAD) >= 64:
            _AT_HEAD.clear()
        found = _AT_HEAD[key] = _git(root, *args)
    return found


def is_repo(root: str) -> bool:
    try:
        code, out = _git(root, "rev-parse", "--is-inside-work-tree")
    except SddError:
        return False
    return code == 0 and out.strip() == "true"


def init_repo(root: str) -> None:
    run_subprocess(["git", "init", "-q", root], check=True)


def head(root: str) -> str | None:
    """The commit at HEAD, or None in a repository without commits (or no repository)."""
    try:
        code, out = _git_at_head(root, "rev-parse", "--verify", "-q", "HEAD")
    except SddError:
        return None
    return out.strip() if code == 0 and out.strip() else None


def dirty(root: str) -> dict[str, str]:
    """Uncommitted files (tracked changes and untracked files) with their content hashes.

    sdd's own files are left out. A deleted file maps to "deleted".
    """
    code, out = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    if code != 0:
        return {}
    entries = out.split("\0")
    result: dict[str, str] = {}
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        status, path = entry[:2], entry[3:]
        if "R" in status or "C" in status:
            index += 1  # the source path of a rename follows
        if is_own(path):
            continue
        digest = files.content_hash(os.path.join(root, path))
        result[path] = digest if digest is not None else "deleted"
    return result


def committed_changes(root: str, since: str | None) -> list[str]:
    """Files changed by commits after ``since`` up to HEAD (all tracked files when since is None)."""
    now = head(root)
    if now is None or now == since:
        return []
    args = ["diff", "--name-only", "-z", f"{since}..{now}"] if since else ["ls-files", "-z"]
    code, out = _git(root, *args)
    return [p for p in out.split("\0") if p] if code == 0 else []


def diff_stat(root: str, since: str) -> str | None:
    """`git diff --stat SINCE..HEAD` without sdd's own files: what the commits after
    ``since`` changed (None when git cannot say, e.g. ``since`` is not in this repository)."""
    own = [f":(exclude){p.rstrip('/')}" for p in (*OWN_PREFIXES, *OWN_FILES)]
    code, out = _git(
        root, "diff", "--stat", "--no-color", f"{since}..HEAD", "--", ".", *own, ":.sdd/config.toml"
    )
    return out.rstrip() if code == 0 else None


def blob_at(root: str, commit: str | None, relative: str) -> str | None:
    """The id of the blob ``relative`` held at ``commit`` (None: absent, or no commit)."""
    if commit is None:
        return None
    code, out = _git(root, "rev-parse", "-q", "--verify", f"{commit}:{relative}")
    return out.strip() if code == 0 and out.strip() else None


def blob_of(root: str, relative: str) -> str | None:
    """The blob id git would give ``relative`` as it is now (None when it is missing)."""
    if not os.path.isfile(os.path.join(root, relative)):
        return None
    code, out = _git(root, "hash-object", "--", relative)
    return out.strip() if code == 0 and out.strip() else None


def listed_files(root: str) -> list[str]:
    """The project's files as git sees them: tracked, and untracked ones not ignored."""
    try:
        code, out = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    except SddError:
        return []
    return sorted({p for p in out.split("\0") if p}) if code == 0 else []


def config_value(root: str, name: str, *, scope: str | None = None) -> str | None:
    """One setting of git's configuration as ``root`` sees it (only the ``scope`` one, e.g.
    "global", when given); None when it is not set."""
    try:
        code, out = _git(root, "config", *([f"--{scope}"] if scope else []), "--get", name)
    except SddError:
        return None
    value = out.rstrip("\n")
    return value if code == 0 and value else None


def identity(root: str) -> dict[str, str]:
    """Who the person is: git's user name and e-mail, else the login name."""
    name = email = ""
    try:
        name = _git(root, "config", "user.name")[1].strip()
        email = _git(root, "config", "user.email")[1].strip()
    except SddError:
        pass
    if not name:
        import getpass

        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "unknown"
    who = {"kind": "person", "name": name}
    if email:
        who["email"] = email
    return who


def is_tracked(root: str, relative: str) -> bool:
    """Whether git tracks ``relative`` (added or committed); False outside a repository."""
    index = _index_key(root)
    key = (root, relative, index) if index is not None else None
    if key is not None and key in _TRACKED:
        return _TRACKED[key]
    try:
        code, _ = _git(root, "ls-files", "--error-unmatch", "--", relative)
    except SddError:
        return False
    if key is not None:
        if len(_TRACKED) >= 256:
            _TRACKED.clear()
        _TRACKED[key] = code == 0
    return code == 0


# Whether a file is tracked changes only with git's index, which git replaces whole (a new
# file renamed over it) whenever it changes: a memo keyed on the index file as it stands.
_TRACKED: dict[tuple[str, str, tuple[int, int, int]], bool] = {}


def _index_key(root: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(os.path.join(root, ".git", "index"))
    except OSError:
        return None  # no index yet, or .git is not a folder (a worktree): ask git each time
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def segments_rewritten(root: str, relatives: list[str]) -> list[tuple[str, str]]:
    """History segments a commit deleted or changed (a revert, an edit committed): sdd never
    rewrites a segment once git tracks it, so each is records taken out — unless the file
    stands again as it was. (name, what happened) for each."""
    try:
        code, out = _git_at_head(
            root, "log", "--diff-filter=DM", "--raw", "--no-abbrev", "--no-renames", "--format=commit %h",
            "HEAD", "--", ".sdd/history",
        )  # fmt: skip
    except SddError:
        return []
    if code != 0:
        return []
    present = set(relatives)
    found: dict[str, str] = {}
    commit = ""
    for line in out.splitlines():
        if line.startswith("commit "):
            commit = line[7:]
            continue
        meta, _, name = line.partition("\t")
        fields = meta.split()
        if len(fields) < 5 or not name or name in found:
            continue
        old, status = fields[2].rstrip("."), fields[4]
        if name in present and _holds_blob(root, name, old):
            continue  # restored as it was
        how = "deleted" if status == "D" else "edited"
        found[name] = f"{how} by commit {commit} (a revert, or an edit committed): records removed"
    return sorted(found.items())


def _holds_blob(root: str, name: str, blob: str) -> bool:
    """Whether the file at ``name`` starts with exactly the content of ``blob``."""
    try:
        code, size_text = _git(root, "cat-file", "-s", blob)
    except SddError:
        return False
    if code != 0 or not size_text.strip().isdigit():
        return False
    return _file_has_blob(os.path.join(root, name), blob, int(size_text))


def _file_has_blob(path: str, blob: str, size: int) -> bool:
    import hashlib

    try:
        with open(path, "rb") as handle:
            data = handle.read(size)
    except OSError:
        return False
    header = f"blob {len(data)}\0".encode()
    digest = hashlib.sha256 if len(blob) == 64 else hashlib.sha1  # the repository's format
    return len(data) == size and digest(header + data).hexdigest() == blob


def changed_since_commit(root: str, relatives: list[str]) -> list[tuple[str, str]]:
    """Of the append-only files under ``.sdd/``, those whose committed content is no longer
    where it was: (name, "removed") or (name, "edited…"). A file that only grew is fine."""
    try:
        code, out = _git_at_head(
            root, "ls-tree", "-r", "-l", "-z", "HEAD", "--", ".sdd/history.jsonl", ".sdd/history"
        )
    except SddError:
        return []
    if code != 0:
        return []
    present = set(relatives)
    found: list[tuple[str, str]] = []
    for entry in filter(None, out.split("\0")):
        meta, _, name = entry.partition("\t")
        fields = meta.split()
        if len(fields) != 4 or fields[1] != "blob" or not fields[3].isdigit():
            continue
        blob, size = fields[2], int(fields[3])
        if name not in present:
            found.append((name, "removed"))
            continue
        if not os.path.exists(os.path.join(root, name)):
            found.append((name, "removed"))
        elif not _file_has_blob(os.path.join(root, name), blob, size):
            found.append((name, "edited, or records removed from it,"))
    return found


def protected_base(root: str) -> str | None:
    """The branch a project's work is trusted against: the remote's default branch
    (``origin/HEAD``), as it was last fetched; None when there is none."""
    try:
        code, out = _git(root, "rev-parse", "--verify", "-q", "refs/remotes/origin/HEAD")
    except SddError:
        return None
    return out.strip() if code == 0 and out.strip() else None


def history_names_at(root: str, commit: str) -> set[str]:
    """The history files a commit holds (project-relative names)."""
    try:
        code, out = _git(
            root,
            "ls-tree",
            "-r",
            "--name-only",
            "-z",
            commit,
            "--",
            ".sdd/history.jsonl",
            ".sdd/history",
        )
    except SddError:
        return set()
    return {name for name in out.split("\0") if name} if code == 0 else set()


# Not code: the documents and sdd's own state. Verify evidence holds for the rest.
NOT_CODE = ("docs", ".sdd")


def code_key(root: str, commit: str | None = "HEAD") -> str | None:
    """What the code of ``commit`` is, as evidence: a hash of its tree without ``docs/`` and
    ``.sdd/`` (each top-level entry names its subtree by content, so one `git ls-tree` tells
    it). The same for two commits that differ only in documents or sdd's records. None when
    git cannot tell (a commit that no longer exists)."""
    import hashlib

    entries: list[str] = []
    if commit is not None:
        try:
            ask = _git_at_head if commit == "HEAD" else _git
            code, out = ask(root, "ls-tree", "-z", commit)
        except SddError:
            return None
        if code != 0:
            if commit != "HEAD" or head(root) is not None:
                return None
            out = ""  # no commit yet: no code committed
        for entry in filter(None, out.split("\0")):
            name = entry.partition("\t")[2]
            if name not in NOT_CODE:
                entries.append(entry)
    text = "\0".join(sorted(entries, key=lambda e: e.partition("\t")[2]))
    return "code1:" + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


BOOKKEEPING = (".sdd", "docs/session-tracker.md")


def commit_blocker(root: str) -> str | None:
    """Why sdd could not commit its own records now (a merge in progress, no commit to build
    on, no identity), or None."""
    if head(root) is None:
        return "the repository has no commit yet"
    for marker, what in (("MERGE_HEAD", "merge"), ("CHERRY_PICK_HEAD", "cherry-pick"),
                         ("REVERT_HEAD", "revert")):  # fmt: skip
        try:
            code, _ = _git(root, "rev-parse", "-q", "--verify", marker)
        except SddError:
            return "git cannot be run"
        if code == 0:
            return f"a {what} is in progress"
    try:
        code, _ = _git(root, "var", "GIT_COMMITTER_IDENT")
    except SddError:
        return "git cannot be run"
    return None if code == 0 else "git does not know who you are (user.name, user.email)"


def commit_bookkeeping(root: str, message: str) -> str | None:
    """Commit sdd's own files (what git does not ignore under ``.sdd/``, but the config, and
    the tracker page) and nothing else, as `git commit --only` does: whatever the person
    staged stays staged and uncommitted. The new commit; None when there was nothing to
    commit. Raises SddError with git's words when git refuses."""
    code, out = _git(
        root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *BOOKKEEPING
    )
    if code != 0:
        raise SddError("git status failed: sdd's records were not committed")
    entries = out.split("\0")
    paths: list[str] = []
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        if "R" in entry[:2] or "C" in entry[:2]:
            paths.append(entries[index])  # the source of a rename goes with it
            index += 1
        paths.append(entry[3:])
    paths = sorted({p for p in paths if p not in NOT_OWN})
    if not paths:
        return None
    env = dict(os.environ)
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    # --no-verify: the project's commit hooks judge the person's work, not sdd's records.
    for args in (
        ["add", "-A", "--", *paths],
        ["commit", "--only", "--no-verify", "-q", "-m", message, "--", *paths],
    ):
        done = run_subprocess(["git", *args], cwd=root, env=env, timeout=60.0)
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            raise SddError(
                f"git {args[0]} failed: sdd's records were not committed"
                + (f" ({said[-1]})" if said else "")
            )
    return head(root)

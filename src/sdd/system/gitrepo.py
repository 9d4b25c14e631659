"""What git says about the project: HEAD, uncommitted changes, who the person is."""

from __future__ import annotations

import os

from sdd.core import files
from sdd.core.errors import SddError
from sdd.core.gitfiles import head_key
from sdd.core.structs import dataclass
from sdd.system.process import run_subprocess

# Files sdd writes itself: they never make the tree "dirty" for evidence.
OWN_PREFIXES = (".sdd/", "docs/sessions/")
OWN_FILES = ("docs/session-tracker.md",)


# The config decides the workflow, the gates and the checks: a change to it is a change
# like any other, never sdd's own.
NOT_OWN = (".sdd/config.toml",)


def is_own(path: str) -> bool:
    return (path.startswith(OWN_PREFIXES) or path in OWN_FILES) and path not in NOT_OWN


def _git_env() -> dict[str, str]:
    """The environment every git process gets: never a prompt, and messages in plain C."""
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


def _git(root: str, *args: str, timeout: float = 30.0) -> tuple[int, str]:
    env = _git_env()
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
    plain = _head_from_files(root)
    if plain is not None:
        return plain
    try:
        code, out = _git_at_head(root, "rev-parse", "--verify", "-q", "HEAD")
    except SddError:
        return None
    return out.strip() if code == 0 and out.strip() else None


_HEX = frozenset("0123456789abcdef")


def _head_from_files(root: str) -> str | None:
    """The commit at HEAD when .git's own files say it plainly, as git reads them: HEAD
    detached at a commit, or naming a branch whose loose ref holds one (a git process costs
    more than a small command's own work). None otherwise — git is asked then: a packed
    ref, an unborn branch, a linked worktree, a symbolic ref to a symbolic ref, a
    repository elsewhere ($GIT_DIR)."""
    if "GIT_DIR" in os.environ or "GIT_WORK_TREE" in os.environ:
        return None
    found = head_key(root)
    if found is None or len(found) not in (40, 64) or not set(found) <= _HEX:
        return None
    return found


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
    plain = _tracked_in_index(root, relative)
    if plain is not None:
        return plain
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


def _tracked_in_index(root: str, relative: str) -> bool | None:
    """``is_tracked`` read from git's index file (each write asks it of the newest history
    segment, and a git process costs more than the rest of a small write): an index of
    format 2 or 3 holds every entry's whole path, NUL-terminated after flags whose low 12
    bits are its length. None when the index cannot tell it plainly (format 4 compresses
    paths; a split or big index, a linked worktree, $GIT_DIR or $GIT_INDEX_FILE): git is
    asked then. Either answer is safe to get wrong once: a tracked segment is never
    appended to, and a segment that only grew is no edit."""
    if any(name in os.environ for name in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE")):
        return None
    git_dir = os.path.join(root, ".git")
    path = os.path.join(git_dir, "index")
    try:
        if not os.path.isdir(git_dir) or os.path.getsize(path) > 8 << 20:
            return None
        if any(n.startswith("sharedindex.") for n in os.listdir(git_dir)):
            return None
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if data[:4] != b"DIRC" or int.from_bytes(data[4:8], "big") not in (2, 3):
        return None
    name = relative.encode("utf-8", "surrogateescape")
    size = len(name)
    if not name or size >= 0xFFF or any(c in name for c in b"\0*?[\\"):
        return None  # a pathspec's wildcards are git's to match
    at = data.find(name, 12)
    while at != -1:
        ends = data[at + size : at + size + 1] == b"\0"
        # flags just before the path (format 2), or before the extended flags (format 3)
        flags = (int.from_bytes(data[at - k : at - k + 2], "big") & 0xFFF for k in (2, 4))
        if ends and size in flags:
            return True
        at = data.find(name, at + 1)
    return None if name + b"/" in data else False  # a folder: git matches what is in it


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
    """Whether the first ``size`` bytes of the file are the blob's content (read and hashed a
    piece at a time: a history's segment may be hundreds of megabytes)."""
    import hashlib  # only for a file that differs from HEAD: OpenSSL is worth its load then

    digest = hashlib.sha256 if len(blob) == 64 else hashlib.sha1  # the repository's format
    hasher = digest(f"blob {size}\0".encode())
    done = 0
    try:
        with open(path, "rb") as handle:
            while done < size:
                piece = handle.read(min(1 << 20, size - done))
                if not piece:
                    return False  # shorter than the blob
                hasher.update(piece)
                done += len(piece)
    except OSError:
        return False
    return hasher.hexdigest() == blob


def changed_since_commit(root: str, relatives: list[str]) -> list[tuple[str, str]]:
    """Of the append-only files under ``.sdd/``, those whose committed content is no longer
    where it was: (name, "removed") or (name, "edited…"). A file that only grew is fine.
    Git tells which files may differ from HEAD by the index's record of each file's status
    (`git diff-index`), so only those are read: the cost follows what changed, not the
    history's size."""
    try:
        code, out = _git(
            root, "diff-index", "--no-renames", "--name-status", "-z", "HEAD", "--",
            ".sdd/history.jsonl", ".sdd/history",
        )  # fmt: skip
    except SddError:
        return []
    if code != 0:
        return []
    words = out.split("\0")
    differing = {words[i + 1]: words[i] for i in range(0, len(words) - 1, 2)}
    present = set(relatives)
    found: list[tuple[str, str]] = []
    edited = sorted(n for n, how in differing.items() if how.startswith("M") and n in present)
    blobs = _committed_blobs(root, edited) if edited else {}
    for name, how in sorted(differing.items()):
        if how.startswith("D") or (how.startswith("M") and name not in present):
            found.append((name, "removed"))
        elif how.startswith("M"):
            blob, size = blobs.get(name, ("", -1))
            if not _file_has_blob(os.path.join(root, name), blob, size):
                found.append((name, "edited, or records removed from it,"))
    return found


def _committed_blobs(root: str, names: list[str]) -> dict[str, tuple[str, int]]:
    """name -> (blob, size) as HEAD holds them."""
    try:
        code, out = _git(root, "ls-tree", "-l", "-z", "HEAD", "--", *names)
    except SddError:
        return {}
    found: dict[str, tuple[str, int]] = {}
    for entry in filter(None, out.split("\0")) if code == 0 else ():
        meta, _, name = entry.partition("\t")
        fields = meta.split()
        if len(fields) == 4 and fields[1] == "blob" and fields[3].isdigit():
            found[name] = (fields[2], int(fields[3]))
    return found


def protected_base(root: str) -> str | None:
    """The branch a project's work is trusted against: the remote's default branch
    (``origin/HEAD``), as it was last fetched; None when there is none."""
    try:
        code, out = _git(root, "rev-parse", "--verify", "-q", "refs/remotes/origin/HEAD")
    except SddError:
        return None
    return out.strip() if code == 0 and out.strip() else None


def on_a_branch_apart(root: str) -> bool:
    """Whether HEAD is a branch other than the remote's default one (``origin/HEAD``, else
    ``origin/main``, else ``origin/master``: a repository pushed with `git remote add` has no
    ``origin/HEAD``): work there meets other branches' work in a merge. False without one."""
    plain = _apart_from_files(root)
    if plain is not None:
        return plain
    try:
        code, base = _git(root, "symbolic-ref", "-q", "refs/remotes/origin/HEAD")
        default = base.strip().removeprefix("refs/remotes/origin/") if code == 0 else ""
        for name in () if default else ("main", "master"):
            found, _ = _git(root, "rev-parse", "--verify", "-q", f"refs/remotes/origin/{name}")
            if found == 0:
                default = name
                break
        if not default:
            return False
        code, head = _git(root, "symbolic-ref", "-q", "HEAD")
    except SddError:
        return False
    return code != 0 or head.strip().removeprefix("refs/heads/") != default


def _apart_from_files(root: str) -> bool | None:
    """``on_a_branch_apart`` read from .git's own files, as git reads them (every session's
    start asks, and three git processes cost more than the rest of a small start); None
    when the files cannot tell it plainly (a linked worktree, reftable refs, an unreadable
    file): git is asked then."""
    git_dir = os.path.join(root, ".git")
    if not os.path.isdir(git_dir) or os.path.exists(os.path.join(git_dir, "reftable")):
        return None
    remotes = os.path.join(git_dir, "refs", "remotes", "origin")
    try:
        with open(os.path.join(git_dir, "HEAD"), encoding="utf-8") as handle:
            head = handle.read().strip()
        default = ""
        if os.path.isfile(os.path.join(remotes, "HEAD")):
            with open(os.path.join(remotes, "HEAD"), encoding="utf-8") as handle:
                target = handle.read().strip()
            if not target.startswith("ref: refs/remotes/origin/"):
                return None  # not the symbolic ref git writes: let git judge it
            default = target.removeprefix("ref: refs/remotes/origin/")
        else:
            packed = ""
            if os.path.isfile(os.path.join(git_dir, "packed-refs")):
                with open(os.path.join(git_dir, "packed-refs"), encoding="utf-8") as handle:
                    packed = handle.read()
            for name in ("main", "master"):
                if os.path.isfile(os.path.join(remotes, name)) or (
                    f" refs/remotes/origin/{name}\n" in packed + "\n"
                ):
                    default = name
                    break
    except (OSError, UnicodeDecodeError):
        return None
    if not default:
        return False
    if not head.startswith("ref: "):
        return True  # a detached HEAD is no branch: git's `symbolic-ref -q HEAD` fails
    return head.removeprefix("ref: ").removeprefix("refs/heads/") != default


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
    from sdd.core.digest import sha256_hex

    entries: list[str] = []
    if commit == "HEAD":
        commit = _head_from_files(root) or "HEAD"  # its id: one git process for both forms
    if commit is not None:
        try:
            code, out = _ls_tree(root, commit)
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
    return "code1:" + sha256_hex(text.encode("utf-8", "surrogateescape"))


# `git ls-tree` of a commit named by its full id never changes: asked once per process.
_TREES: dict[tuple[str, str], tuple[int, str]] = {}


def _ls_tree(root: str, commit: str) -> tuple[int, str]:
    if len(commit) not in (40, 64) or not _HEX.issuperset(commit):
        return (
            _git_at_head(root, "ls-tree", "-z", commit)
            if commit == "HEAD"
            else _git(root, "ls-tree", "-z", commit)
        )
    found = _TREES.get((root, commit))
    if found is None:
        found = _git(root, "ls-tree", "-z", commit)
        if found[0] == 0:
            if len(_TREES) >= 64:
                _TREES.clear()
            _TREES[(root, commit)] = found
    return found


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


def commit_bookkeeping(root: str, message: str, also: tuple[str, ...] = ()) -> str | None:
    """Commit sdd's own files (what git does not ignore under ``.sdd/``, but the config, and
    the tracker page) and nothing else, as `git commit --only` does: whatever the person
    staged stays staged and uncommitted. ``also``: more of sdd's files in the same commit (a
    parallel session's page). The new commit; None when there was nothing to commit. Raises
    SddError with git's words when git refuses."""
    code, out = _git(
        root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *BOOKKEEPING, *also
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
    env = _git_env()
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


# ------------------------------------------------------------------- reading commits (CI)
# What `sdd ci check` and the server's hook read: commits, trees and blobs, straight from
# git's objects (a bare repository, or a push still in quarantine: git hands the hook the
# environment that reaches its objects, and every child here inherits it). Nothing is
# checked out.


def resolve(root: str, ref: str) -> str | None:
    """The commit ``ref`` names, or None."""
    try:
        code, out = _git(root, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}")
    except SddError:
        return None
    return out.strip() if code == 0 and out.strip() else None


def merge_base(root: str, one: str, other: str) -> str | None:
    code, out = _git(root, "merge-base", one, other)
    return out.strip() if code == 0 and out.strip() else None


def is_ancestor(root: str, older: str, newer: str) -> bool:
    code, _ = _git(root, "merge-base", "--is-ancestor", older, newer)
    return code == 0


def default_branch(root: str) -> str | None:
    """The ref of the default branch: the remote's (``origin/HEAD``, as the branch it names),
    else main, else master."""
    code, out = _git(root, "symbolic-ref", "-q", "refs/remotes/origin/HEAD")
    if code == 0 and out.strip() and resolve(root, out.strip()) is not None:
        return out.strip()
    for ref in ("refs/remotes/origin/HEAD", "refs/heads/main", "refs/remotes/origin/main",
                "refs/heads/master", "refs/remotes/origin/master"):  # fmt: skip
        if resolve(root, ref) is not None:
            return ref
    return None


def tags_at(root: str, commit: str) -> list[str]:
    code, out = _git(root, "tag", "--points-at", commit)
    return sorted(line.strip() for line in out.splitlines() if line.strip()) if code == 0 else []


def is_code(path: str) -> bool:
    """Whether a changed path is code: anything outside docs/ and .sdd/, but the stage
    templates (``sessions/<stage>.md``: the process itself, each change to it recorded)."""
    top, _, rest = path.partition("/")
    if top == "sessions" and rest.endswith(".md") and "/" not in rest:
        return False
    return top not in NOT_CODE


# The same, as git's pathspecs: what a patch id covers.
CODE_PATHSPECS = (".", *(f":(exclude){p}" for p in NOT_CODE), ":(exclude,glob)sessions/*.md")


@dataclass(frozen=True)
class Commit:
    """A commit: its parents, subject and the paths it changed."""

    sha: str
    parents: tuple[str, ...]
    subject: str
    paths: tuple[str, ...]  # changed against its parent; a merge: what differs from every parent

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    @property
    def code(self) -> tuple[str, ...]:
        return tuple(p for p in self.paths if is_code(p))


def commits_between(root: str, base: str | None, tip: str) -> list[Commit]:
    """The commits reachable from ``tip`` and not from ``base``, oldest first, with the paths
    each changes (a merge: the paths its result differs in from every parent, i.e. what its
    author resolved or added by hand)."""
    spec = f"{base}..{tip}" if base else tip
    code, out = _git(
        root, "-c", "core.quotePath=false", "log", "--reverse", "--no-renames",
        "--diff-merges=dense-combined", "--name-only", "--format=%x00%H %P%x00%s", spec,
        timeout=120.0,
    )  # fmt: skip
    if code != 0:
        raise SddError(f"git log {spec} failed: is {base or tip} a commit of this repository?")
    found: list[Commit] = []
    chunks = out.split("\0")
    # chunks: "", "sha parents", "subject\n\npaths…", "sha parents", …
    for index in range(1, len(chunks) - 1, 2):
        ids = chunks[index].split()
        subject, _, rest = chunks[index + 1].partition("\n")
        paths = tuple(line for line in rest.splitlines() if line.strip())
        found.append(Commit(ids[0], tuple(ids[1:]), subject, paths))
    return found


def patch_ids(root: str, shas: list[str]) -> dict[str, str]:
    """`git patch-id --stable` of each commit's change to the code (outside docs/ and .sdd/):
    the same for a commit and its copy made by a rebase or a cherry-pick. Commits that change
    no code have none."""
    from sdd.system.process import run_bytes

    if not shas:
        return {}
    env = _git_env()
    diff = run_bytes(
        ["git", "diff-tree", "--stdin", "-p", "--root", "--no-renames", "--no-color",
         "--", *CODE_PATHSPECS],
        cwd=root, env=env, timeout=120.0, input_bytes=("\n".join(shas) + "\n").encode(),
    )  # fmt: skip
    if diff.returncode != 0:
        raise SddError("git diff-tree failed", details=diff.stderr.splitlines()[-3:])
    ids = run_bytes(
        ["git", "patch-id", "--stable"], cwd=root, env=env, timeout=120.0, input_bytes=diff.stdout
    )
    if ids.returncode != 0:
        raise SddError("git patch-id failed", details=ids.stderr.splitlines()[-3:])
    found: dict[str, str] = {}
    for line in ids.stdout.decode("ascii", "replace").splitlines():
        patch, _, commit = line.partition(" ")
        if patch and commit:
            found[commit.strip()] = patch
    return found


def objects(root: str, names: list[str]) -> dict[str, tuple[str, str]]:
    """What each of ``names`` (``COMMIT:PATH``, ``COMMIT^{commit}``…) is: (object id, type);
    those git cannot find are left out. One git process."""
    from sdd.system.process import run_bytes

    names = [n for n in names if "\n" not in n]
    if not names:
        return {}
    env = _git_env()
    done = run_bytes(
        ["git", "cat-file", "--batch-check=%(objectname) %(objecttype)"],
        cwd=root, env=env, timeout=120.0, input_bytes=("\n".join(names) + "\n").encode(),
    )  # fmt: skip
    found: dict[str, tuple[str, str]] = {}
    for name, line in zip(names, done.stdout.decode("utf-8", "replace").splitlines(), strict=False):
        fields = line.split()
        if len(fields) == 2 and fields[1] != "missing":
            found[name] = (fields[0], fields[1])
    return found


def blobs_at(root: str, wanted: list[str]) -> dict[str, str]:
    """The blob each ``COMMIT:PATH`` in ``wanted`` names (absent ones are left out)."""
    return {n: oid for n, (oid, kind) in objects(root, wanted).items() if kind == "blob"}


def read_blobs(root: str, blobs: list[str]) -> dict[str, bytes]:
    """The content of each blob: one `git cat-file --batch`."""
    from sdd.system.process import run_bytes

    unique = sorted(set(blobs))
    if not unique:
        return {}
    env = _git_env()
    done = run_bytes(
        ["git", "cat-file", "--batch"],
        cwd=root, env=env, timeout=300.0, input_bytes=("\n".join(unique) + "\n").encode(),
    )  # fmt: skip
    data, at, found = done.stdout, 0, {}
    for blob in unique:
        end = data.index(b"\n", at)
        header = data[at:end].split()
        at = end + 1
        if len(header) != 3:
            continue  # "<name> missing"
        size = int(header[2])
        found[blob] = data[at : at + size]
        at += size + 1
    return found


def tree_files(root: str, commit: str, pathspecs: list[str]) -> dict[str, str]:
    """The regular files under ``pathspecs`` at ``commit``: path -> blob."""
    code, out = _git(root, "ls-tree", "-r", "-z", "--full-tree", commit, "--", *pathspecs)
    if code != 0:
        raise SddError(f"git ls-tree {commit} failed: is it a commit of this repository?")
    found: dict[str, str] = {}
    for entry in filter(None, out.split("\0")):
        meta, _, name = entry.partition("\t")
        fields = meta.split()
        if len(fields) == 3 and fields[1] == "blob" and fields[0] in ("100644", "100755"):
            found[name] = fields[2]
    return found


def export(root: str, wanted: list[tuple[str, str]], pathspecs: list[str]) -> None:
    """Write the regular files under ``pathspecs`` at each commit into its folder (``wanted``:
    (commit, a fresh folder of the caller's)): files read as data, never run. One git
    process per commit to list them, one for all their contents."""
    listed = [(tree_files(root, commit, pathspecs), dest) for commit, dest in wanted]
    contents = read_blobs(root, [blob for files_, _ in listed for blob in files_.values()])
    for files_, dest in listed:
        real = os.path.realpath(dest)
        os.makedirs(real, exist_ok=True)
        for name, blob in files_.items():
            parts = name.split("/")
            if ".." in parts or name.startswith("/") or blob not in contents:
                continue
            target = os.path.join(real, *parts)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(contents[blob])


def code_patches(root: str, before: str | None, after: str) -> list[str]:
    """The patch ids of the commits after ``before`` up to ``after`` that change code, oldest
    first: what a session records at its end, so that its work is known again after a
    rebase, a squash or a cherry-pick has given the commits other ids."""
    commits = [c for c in commits_between(root, before, after) if not c.is_merge and c.code]
    ids = patch_ids(root, [c.sha for c in commits])
    return [ids[c.sha] for c in commits if c.sha in ids]


def git_path(root: str, name: str) -> str:
    """Where git keeps ``name`` (e.g. hooks/pre-push) for the repository at ``root``: it
    follows core.hooksPath and linked worktrees."""
    code, out = _git(root, "rev-parse", "--git-path", name)
    if code != 0 or not out.strip():
        raise SddError(f"git cannot say where {name} goes in {root}")
    found = out.strip()
    return found if os.path.isabs(found) else os.path.join(root, found)


def head_branch(root: str) -> str | None:
    """The branch a bare repository's HEAD names (its default branch), if it exists."""
    code, out = _git(root, "symbolic-ref", "-q", "HEAD")
    ref = out.strip()
    if code != 0 or not ref or resolve(root, ref) is None:
        return None
    return ref


def code_keys(root: str, commits: list[str]) -> dict[str, str]:
    """``code_key`` of many commits at once: their root trees read in one `git cat-file
    --batch`, each entry written as `git ls-tree -z` writes it (the key is the same)."""
    from sdd.core.digest import sha256_hex
    from sdd.system.process import run_bytes

    unique = sorted({c for c in commits if c and "\n" not in c})
    if not unique:
        return {}
    env = _git_env()
    done = run_bytes(
        ["git", "cat-file", "--batch"],
        cwd=root, env=env, timeout=300.0,
        input_bytes="".join(f"{c}^{{tree}}\n" for c in unique).encode(),
    )  # fmt: skip
    data, at, found = done.stdout, 0, {}
    for commit in unique:
        end = data.index(b"\n", at)
        header = data[at:end].split()
        at = end + 1
        if len(header) != 3 or header[1] != b"tree":
            continue
        size = int(header[2])
        tree, at = data[at : at + size], at + size + 1
        width = 32 if len(header[0]) == 64 else 20  # the repository's hash
        entries, pos = [], 0
        while pos < len(tree):
            space = tree.index(b" ", pos)
            nul = tree.index(b"\0", space)
            mode = tree[pos:space].decode().rjust(6, "0")
            name = tree[space + 1 : nul].decode("utf-8", "surrogateescape")
            oid = tree[nul + 1 : nul + 1 + width].hex()
            pos = nul + 1 + width
            if name in NOT_CODE:
                continue
            kind = "tree" if mode == "040000" else "commit" if mode == "160000" else "blob"
            entries.append(f"{mode} {kind} {oid}\t{name}")
        text = "\0".join(sorted(entries, key=lambda e: e.partition("\t")[2]))
        found[commit] = "code1:" + sha256_hex(text.encode("utf-8", "surrogateescape"))
    return found


def toplevel(root: str) -> str | None:
    """The top of the work tree ``root`` is in (None: a bare repository, or none)."""
    try:
        code, out = _git(root, "rev-parse", "--show-toplevel")
    except SddError:
        return None
    return out.strip() if code == 0 and out.strip() else None

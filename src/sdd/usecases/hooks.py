"""git hooks that run `sdd ci check`: ``pre-push`` in the person's repository, ``pre-receive``
in a bare repository on the server, which refuses a push to a protected branch the check
fails (its reasons go back in the push's output).

A hook is a small shell script that calls the installed `sdd` (the one that wrote it, by its
absolute path, else the first on PATH) as `sdd hooks run HOOK`; one that finds none says so
and refuses: it fails closed. The server's hook never runs the pushed project's code (no
``--verify``) and checks nothing out: it reads the pushed commits from git's objects, in the
quarantine git gives it. Protected branches: the default branch (the bare repository's
HEAD, or origin/HEAD, main, master) and the released branches its config names.
"""

from __future__ import annotations

import os
import shlex

from sdd.core import files
from sdd.core.errors import ConfigError, Refused, SddError, UsageError
from sdd.core.structs import dataclass, field
from sdd.system import gitrepo

MARK = "# sdd-hook: written by `sdd hooks install`"
ZERO = "0" * 40
SCRIPT = """#!/bin/sh
{mark} ({hook}). Remove it with `sdd hooks uninstall{server}`.
# It runs `sdd ci check` on what is pushed; without sdd it refuses (it fails closed).
SDD={command}
if ! command -v "$SDD" >/dev/null 2>&1; then
    SDD=$(command -v sdd 2>/dev/null) || SDD=
fi
if [ -z "$SDD" ]; then
    echo "sdd hook ({hook}): the sdd command is not found (not at {shown}, not on PATH): the push is refused." >&2
    echo "sdd hook: install sdd where this hook can find it, or remove the hook: sdd hooks uninstall{server}" >&2
    exit 1
fi
exec "$SDD" hooks run {hook} "$@"
"""


@dataclass
class HookResult:
    hook: str
    path: str
    command: str  # the sdd it calls
    action: str  # installed, unchanged, removed, absent


@dataclass
class Verdict:
    """What a hook decided: each ref checked, and the reasons a push is refused."""

    ok: bool = True
    lines: list[str] = field(default_factory=list)


def _hook_path(repo: str, hook: str, server: bool) -> str:
    if server:
        if not os.path.isdir(os.path.join(repo, "objects")) or not os.path.isdir(
            os.path.join(repo, "refs")
        ):
            raise UsageError(
                f"{repo}: not a bare git repository",
                hint="name the server's repository folder: sdd hooks install --server DIR",
            )
        return os.path.join(repo, "hooks", hook)
    if not gitrepo.is_repo(repo):
        raise UsageError(f"{repo}: not inside a git repository", hint="run it in your clone")
    return gitrepo.git_path(repo, f"hooks/{hook}")


def _ours(path: str) -> bool:
    text = files.read_text(path)
    return text is not None and MARK in text


def install(repo: str, command: str, *, server: bool = False) -> HookResult:
    """Write the hook (``pre-receive`` with ``server``, else ``pre-push``) calling ``command``."""
    hook = "pre-receive" if server else "pre-push"
    path = _hook_path(repo, hook, server)
    script = SCRIPT.format(
        mark=MARK,
        hook=hook,
        server=f" --server {shlex.quote(repo)}" if server else "",
        command=shlex.quote(command),
        shown=command.replace('"', "'"),
    )
    if os.path.lexists(path) and not _ours(path):
        raise Refused(
            f"{path}: a {hook} hook that sdd did not write is there; it is left as it is",
            hint=f"move it aside and run this again, or call `{command} hooks run {hook}` from it",
        )
    action = "unchanged" if files.read_text(path) == script else "installed"
    if action == "installed":
        os.makedirs(os.path.dirname(path), exist_ok=True)
        files.write_atomic(path, script, display=path)
    os.chmod(path, 0o755)
    return HookResult(hook, path, command, action)


def uninstall(repo: str, *, server: bool = False) -> HookResult:
    hook = "pre-receive" if server else "pre-push"
    path = _hook_path(repo, hook, server)
    if not os.path.lexists(path):
        return HookResult(hook, path, "", "absent")
    if not _ours(path):
        raise Refused(
            f"{path}: this {hook} hook was not written by sdd; it is left as it is",
            hint="remove it by hand if you mean to",
        )
    os.unlink(path)
    return HookResult(hook, path, "", "removed")


def _protected(repo: str, default: str | None, base: str | None) -> set[str]:
    """The protected branches: the default one and the released ones of the base's config."""
    names = (
        {default.removeprefix("refs/heads/").removeprefix("refs/remotes/origin/")}
        if default
        else set()
    )
    if base is None:
        return names
    from sdd.core.nesting import toml_table
    from sdd.project.config import ci_settings

    blob = gitrepo.blobs_at(repo, [f"{base}:.sdd/config.toml"]).get(f"{base}:.sdd/config.toml")
    data = gitrepo.read_blobs(repo, [blob]).get(blob) if blob else None
    if data is None:
        return names
    try:
        settings = ci_settings(toml_table(data.decode("utf-8", "replace")), ".sdd/config.toml")
    except (ConfigError, ValueError):
        return names
    return names | set(settings.released_branches)


def _judge(repo: str, verdict: Verdict, ref: str, old: str | None, new: str, default: str | None,
           *, worktree: str | None = None) -> None:  # fmt: skip
    """Check one ref update: a protected branch (or a tag) moved to ``new`` from ``old``."""
    from sdd.usecases import ci

    base = old
    tag = ref.removeprefix("refs/tags/") if ref.startswith("refs/tags/") else None
    if base is None:
        tip = gitrepo.resolve(repo, default) if default else None
        base = gitrepo.merge_base(repo, new, tip) if tip else None
    if base is None:
        verdict.lines.append(f"{ref}: nothing to judge it against yet (no base): accepted")
        return
    try:
        report = ci.check(repo, base=base, head=new, tag=tag,
                          into=None if tag else ref, worktree=worktree)  # fmt: skip
    except SddError as exc:
        verdict.ok = False
        verdict.lines.append(f"{ref}: the check could not run: {exc.message}")
        return
    if report.ok:
        verdict.lines.append(
            f"{ref}: holds ({report.code_commits} commit(s) of code, all from approved sessions)"
        )
        return
    verdict.ok = False
    verdict.lines.append(f"{ref}: refused, {len(report.failures)} problem(s):")
    for failure in report.failures:
        verdict.lines.append(f"  - {failure.what}")
        verdict.lines.append(f"    what to do: {failure.fix}")


def receive(repo: str, updates: list[tuple[str, ...]]) -> Verdict:
    """The server's pre-receive: ``updates`` are (old, new, ref) as git gives them."""
    verdict = Verdict()
    default = gitrepo.head_branch(repo) or gitrepo.default_branch(repo)
    tip = gitrepo.resolve(repo, default) if default else None
    protected = _protected(repo, default, tip)
    for old, new, ref in updates:
        if new == ZERO:
            if ref.removeprefix("refs/heads/") in protected:
                verdict.ok = False
                verdict.lines.append(f"{ref}: a protected branch is not deleted by a push")
            continue
        if ref.startswith("refs/heads/") and ref.removeprefix("refs/heads/") not in protected:
            continue
        if not ref.startswith(("refs/heads/", "refs/tags/")):
            continue
        _judge(repo, verdict, ref, None if old == ZERO else old, new, default)
    return verdict


def pre_push(repo: str, updates: list[tuple[str, ...]]) -> Verdict:
    """The person's pre-push: ``updates`` are (local ref, local sha, remote ref, remote sha)."""
    verdict = Verdict()
    default = gitrepo.default_branch(repo)
    if default is None:
        verdict.lines.append(
            "no default branch is known here, so no branch is protected: nothing checked "
            "(`git remote set-head origin --auto` names it)"
        )
    tip = gitrepo.resolve(repo, default) if default else None
    protected = _protected(repo, default, tip)
    for _local, new, ref, old in updates:
        if new == ZERO:
            continue
        if ref.startswith("refs/heads/") and ref.removeprefix("refs/heads/") not in protected:
            continue
        if not ref.startswith(("refs/heads/", "refs/tags/")):
            continue
        known = old != ZERO and gitrepo.resolve(repo, old) is not None
        _judge(repo, verdict, ref, old if known else None, new, default)
    return verdict


def parse_updates(text: str, width: int) -> list[tuple[str, ...]]:
    """The lines git feeds a hook on standard input, each split in ``width`` fields."""
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == width:
            found.append(tuple(fields))
    return found

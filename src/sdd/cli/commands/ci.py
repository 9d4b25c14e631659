"""`sdd ci` (the check for machines: `sdd ci check`) and `sdd hooks` (git hooks that run it).
Never a prompt: CI and git's hooks have no person at a terminal."""

from __future__ import annotations

import os
import sys

from sdd import api
from sdd.cli.output import Console, Reply
from sdd.cli.render import Style, safe
from sdd.core.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def ci(args: Any, console: Console) -> Reply:
    action = getattr(args, "ci_action", None)
    if action == "check":
        return check(args, console)
    if action == "init":
        from sdd.cli.commands import ci_init

        return ci_init.init(args, console)
    raise UsageError(
        "sdd ci: name what to do", hint="sdd ci check [--base REF], or sdd ci init github|gitlab"
    )


def check(args: Any, console: Console) -> Reply:
    repo = os.getcwd()
    into = (
        args.into
        or os.environ.get("GITHUB_BASE_REF")
        or os.environ.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
    )
    report = api.ci_check(
        repo,
        base=args.base,
        head=args.head,
        tag=args.tag,
        into=into or None,
        verify=args.verify,
        worktree=repo,
    )
    summary = markdown(report)
    if args.markdown:
        _write(args.markdown, summary, append=False)
    step = os.environ.get("GITHUB_STEP_SUMMARY")
    if step:
        try:
            _write(step, summary, append=True)
        except UsageError as exc:  # the job's summary is a courtesy: the verdict stands
            console.note(f"sdd: {exc.message}")
    return Reply(report, lambda style: text(report, style), code=0 if report.ok else 1)


def _write(path: str, summary: str, *, append: bool) -> None:
    try:
        with open(path, "a" if append else "w", encoding="utf-8") as handle:
            handle.write(summary)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the summary ({exc.strerror})") from None


def _headline(report: Any) -> str:
    base = (
        report.base
        if report.base == report.base_commit
        else f"{report.base} ({report.base_commit[:10]})"
    )
    return (
        f"{base[:40]} .. {report.head[:10]}: "
        f"{report.commits} commit(s), {report.code_commits} changing code, "
        f"{report.sessions} implement/fix session(s) that could write it"
    )


def _signers(report: Any) -> str:
    if not report.signed:
        return "unsigned (the base has no approvers)"
    return "approvers of the base: " + ", ".join(report.approvers)


def text(report: Any, style: Style) -> str:
    lines = [f"sdd ci check: {safe(_headline(report))}", f"  {safe(_signers(report))}"]
    if report.release:
        lines.append(f"  release: {safe(report.release)}")
    if report.verified is not None:
        lines.append(f"  checks at HEAD (the base's): {'passed' if report.verified else 'failed'}")
    for note in report.notes:
        lines.append(f"  note: {safe(note)}")
    if report.ok:
        lines.append(style("Holds: the branch keeps to the process.", "green"))
        return "\n".join(lines)
    lines.append(style(f"Falls short: {len(report.failures)} problem(s)", "red"))
    for failure in report.failures:
        lines.append(f"  ✗ {safe(failure.what)}")
        lines.append(f"    → {safe(failure.fix)}")
    return "\n".join(lines)


def markdown(report: Any) -> str:
    def cell(value: str) -> str:
        return value.replace("|", "\\|").replace("\n", " ")

    verdict = "✅ holds" if report.ok else f"❌ falls short ({len(report.failures)} problem(s))"
    lines = [
        f"## sdd ci check: {verdict}",
        "",
        cell(_headline(report)) + ".  ",
        cell(_signers(report)) + ".",
        "",
    ]
    if report.release:
        lines += [f"Release: {cell(report.release)}.", ""]
    lines += [f"- note: {cell(n)}" for n in report.notes] + ([""] if report.notes else [])
    if report.failures:
        lines += ["| problem | what to do |", "|---|---|"]
        lines += [f"| {cell(f.what)} | {cell(f.fix)} |" for f in report.failures]
        lines.append("")
    return "\n".join(lines) + "\n"


def hooks(args: Any, console: Console) -> Reply:
    action = args.action
    if action == "run":
        return _run_hook(args)
    repo = os.path.abspath(args.server) if args.server else os.getcwd()
    if action == "install":
        result = api.install_hook(repo, _command(), server=bool(args.server))
        said = "already installed" if result.action == "unchanged" else "installed"
        return Reply(
            result,
            f"{result.hook} hook {said}: {safe(result.path)}\n"
            f"It runs `{safe(result.command)} ci check` on every push to a protected branch "
            "and refuses one that falls short.",
        )
    result = api.uninstall_hook(repo, server=bool(args.server))
    if result.action == "absent":
        return Reply(result, f"no {result.hook} hook here ({safe(result.path)}): nothing to remove")
    return Reply(result, f"{result.hook} hook removed: {safe(result.path)}")


def _command() -> str:
    """The sdd that is running, by its absolute path: what the hook calls."""
    script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if os.path.basename(script) == "sdd" and os.access(script, os.X_OK):
        return script
    import shutil

    found = shutil.which("sdd")
    return os.path.abspath(found) if found else "sdd"


def _run_hook(args: Any) -> Reply:
    """What the hook script runs: git's lines on standard input, the verdict on stderr."""
    hook = args.hook
    data = sys.stdin.read()
    if hook == "pre-receive":
        verdict = api.hook_receive(os.getcwd(), api.hook_updates(data, 3))
    elif hook == "pre-push":
        verdict = api.hook_pre_push(os.getcwd(), api.hook_updates(data, 4))
    else:
        raise UsageError(f"sdd hooks run {hook}: not a hook sdd writes (pre-push, pre-receive)")
    for line in verdict.lines:
        sys.stderr.write(f"sdd: {safe(line)}\n")
    if not verdict.ok:
        sys.stderr.write("sdd: the push is refused (`sdd ci check` falls short)\n")
    sys.stderr.flush()
    return Reply(verdict, None, code=0 if verdict.ok else 1)

"""The command line's parser. Only the typed command's arguments are built: with argparse's
help formatters, building all of them costs ~30 ms. The same declarations are read by
``cli.plain_args``, which parses a plain command line without importing argparse."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any, NoReturn

SUPPRESS = "==SUPPRESS=="  # argparse.SUPPRESS: an argument left out of the help


def _type_error(message: str) -> Exception:
    """argparse's error for a value its type refuses (argparse is imported by then: a plain
    parse that meets a refused value leaves the line to argparse, which says why)."""
    import argparse

    return argparse.ArgumentTypeError(message)


def _seconds(text: str) -> float:
    from sdd.core import clock

    try:
        return clock.duration(float(text))
    except ValueError:
        raise _type_error(f"{text!r}: a timeout is {clock.SECONDS_RULE}") from None


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _type_error(f"{text!r} is not a whole number") from None
    if value < 1:
        raise _type_error(f"{text!r}: must be 1 or more")
    return value


def _width() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` tells it: $COLUMNS, else the
    terminal's, else 80."""
    import os

    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _Unused:
    """Stands in for the parser of a command that was not typed: its arguments are not
    built (with argparse's help formatters, building all of them costs ~30 ms)."""

    def add_argument(self, *args: object, **kwargs: object) -> None:
        pass


def _request_options(p: argparse.ArgumentParser | _Unused) -> None:
    """The person's request a cycle starts from (asked for at a terminal when neither is given)."""
    p.add_argument(
        "--request", metavar="TEXT", help="what you want built or changed, in your own words"
    )
    p.add_argument(
        "--request-file", metavar="F", help="the request, read from a file (- reads standard input)"
    )


def _duration(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``2h``: seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    try:
        value = float(number) * units[unit]
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise _type_error(f"{text!r}: a duration is a number with s, m or h (30m)")
    return value


def _dollars(text: str) -> float:
    try:
        value = float(text.removeprefix("$"))
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise _type_error(f"{text!r}: a budget is US dollars above 0 (5.00)")
    return value


def _autopilot_options(p: argparse.ArgumentParser | _Unused) -> None:
    """`sdd run --until-gate`: the sessions up to the next person's act, and their budget."""
    p.add_argument(
        "--until-gate",
        action="store_true",
        help="run session after session, headless, until a person's act is next (a gate, a "
        "question, a walkthrough), a session fails, or a budget is spent",
    )
    p.add_argument(
        "--max-sessions", type=_count, metavar="N", help="--until-gate: start at most N sessions"
    )
    p.add_argument(
        "--max-time",
        type=_duration,
        metavar="DURATION",
        help="--until-gate: stop after this long (30m, 2h); a session still running is ended",
    )
    p.add_argument(
        "--max-cost",
        type=_dollars,
        metavar="USD",
        help="--until-gate: stop once the sessions cost this much, as the agent reports it "
        "(checked after each session)",
    )


def ci_init_arguments(actions: Any) -> None:
    """`sdd ci init HOST`: its arguments, under `sdd ci`'s actions."""
    c = actions.add_parser(
        "init",
        help="write the CI job that runs `sdd ci check` (GitHub Actions or GitLab CI)",
        description="Write the CI job that installs this very sdd and runs `sdd ci check` on "
        "pull (merge) requests and release tags. Nothing that exists is overwritten.",
    )
    c.add_argument("--json", action="store_true", help="print a versioned JSON envelope")
    c.add_argument("host", choices=["github", "gitlab"], help="where the code merges")
    c.add_argument(
        "--from",
        dest="source",
        metavar="SPEC",
        help="where CI installs sdd from: git+https://…@COMMIT or a wheel's URL "
        "(default: [ci] install in the config, else the repository sdd was installed from)",
    )
    c.add_argument(
        "--file",
        metavar="PATH",
        help="write the job here (default: .github/workflows/sdd.yml; .gitlab-ci.yml, or "
        ".gitlab/sdd.yml beside one of yours)",
    )


_PARSER_CLASS: list[type[argparse.ArgumentParser]] = []


def _parser_class() -> type[argparse.ArgumentParser]:
    """The argparse class sdd uses, made on first use (argparse is imported only then)."""
    if _PARSER_CLASS:
        return _PARSER_CLASS[0]
    import argparse

    class _Parser(argparse.ArgumentParser):
        """argparse, with the arguments it quotes back in an error made safe to show: an
        unknown argument may hold escape sequences, and it must not drive the terminal."""

        def _get_formatter(self) -> argparse.HelpFormatter:
            # argparse's own asks shutil for the terminal's width (importing shutil, bz2 and
            # lzma) every time an argument is added; the same width, read here, costs nothing.
            make: Any = self.formatter_class  # typeshed's protocol names ``prog`` only
            formatter: argparse.HelpFormatter = make(prog=self.prog, width=_width() - 2)
            return formatter

        def error(self, message: str) -> NoReturn:
            from sdd.cli.render import safe

            self.print_usage(sys.stderr)
            self.exit(2, f"{self.prog}: error: {safe(message)}\n")

    _PARSER_CLASS.append(_Parser)
    return _Parser


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, only that command's arguments are built (all of them
    when there is no such command, so the usage error lists every command)."""
    from sdd import __version__

    parser = _parser_class()(
        prog="sdd",
        description="Session-Driven Development: agent sessions, documents and human gates, enforced by code.",
        epilog="Start with `sdd init`, then `sdd status`. Exit codes: 0 ok, 1 failed check, 2 usage, "
        "3 refused, 4 crash (a log is written), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"sdd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    built: list[str] = []
    declare(sub, only, built)
    return parser if built or only is None else build_parser()


def declare(sub: Any, only: str | None, built: list[str]) -> None:
    """Every command's arguments (with ``only``, that command's alone) on ``sub``: argparse's
    subparsers, or ``plain_args``'s stand-in for them. ``built`` gets the names declared."""

    def command(
        name: str, help_text: str, *, json: bool = True, cycle: bool = True
    ) -> argparse.ArgumentParser | _Unused:
        if only is not None and name != only:
            return _Unused()
        built.append(name)
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
        if json:
            p.add_argument("--json", action="store_true", help="print a versioned JSON envelope")
        if cycle:
            p.add_argument(
                "--cycle", metavar="C", help="the cycle (number or slug); default: the latest"
            )
        return p

    p = command(
        "init", "make a folder an sdd project (nothing existing is overwritten)", cycle=False
    )
    p.add_argument("directory", nargs="?", default=".", help="the project folder (default: here)")
    p.add_argument(
        "--title",
        help="the first cycle's title (default: the request's first line, else the folder name)",
    )
    _request_options(p)
    p.add_argument(
        "--unsigned",
        action="store_true",
        help="do not offer to sign the person's acts at a terminal (sign later: sdd approvers add)",
    )
    p = command("status", "the control panel: stages, gates, sessions, the next action")
    p.add_argument(
        "--all", action="store_true", help="every cycle that is not archived, side by side"
    )
    p = command("next", "only the next action, with the exact command to type")
    p.add_argument("--all", action="store_true", help="the next action of every open cycle")
    p = command("new", "open the next cycle once the current one is over", cycle=False)
    p.add_argument("title", help='what this cycle delivers, e.g. "Password reset"')
    p.add_argument(
        "--discovery",
        action="store_true",
        help="start with a discovery session of the existing code",
    )
    _request_options(p)
    p = command("prompt", "print the brief for a fresh session (default: the next one)")
    p.add_argument("stage", nargs="?", help="the stage (default: the next one)")
    p.add_argument("--task", help="for implement: the task (default: the next)")
    p = command("start", "start a session by hand: records it and writes its page")
    p.add_argument("stage", nargs="?", help="the stage (default: the next one)")
    p.add_argument("--task", help="the plan task an implement session works on (default: the next)")
    p.add_argument(
        "--finding", metavar="ID", help="a fix session for this finding (e.g. F-3), as `next` names"
    )
    p = command("done", "complete the open session, if its outputs and handoff hold")
    p.add_argument("--note", help="handoff notes, used when the page's notes were left empty")
    p = command("abandon", "drop the open session (or, with --whole-cycle, the cycle)")
    p.add_argument("--reason", help="why")
    p.add_argument(
        "--whole-cycle", action="store_true", help="abandon the whole cycle, not just the session"
    )
    for verb, text in (
        ("approve", "a person passes a gate"),
        ("reject", "a person rejects a gate"),
    ):
        p = command(verb, f"{text} (confirmed by typing back a code at a terminal)")
        p.add_argument(
            "gate",
            help="spec-approval, implementation-approval, user-approval or deployment-approval",
        )
        p.add_argument("--demo-approver", action="store_true", help=SUPPRESS)
        if verb == "reject":
            p.add_argument("--reason", required=True, help="why: it goes into the next brief")
            p.add_argument(
                "--to", metavar="STAGE", help="the stage to go back to (default: the gate's own)"
            )
    p = command(
        "approvers",
        "the people whose SSH keys sign the person's acts: list, add, revoke, recover",
        cycle=False,
    )
    p.add_argument(
        "action", nargs="?", choices=["list", "add", "revoke", "recover"], default="list"
    )
    p.add_argument(
        "fingerprint",
        nargs="?",
        help="revoke: the key's SHA256:… fingerprint (add: the key, as --key)",
    )
    p.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE",
        help="add: a role the approver holds, for the gates that ask for it (repeatable)",
    )
    p.add_argument(
        "--key", help="add/recover: the key (a key file, its .pub, or a public key line)"
    )
    p.add_argument("--name", help="add/recover: who (an e-mail or a name without spaces)")
    command(
        "walkthrough",
        "a person walks the prepared user verification: a verdict for every item, and "
        "problems no item covers (then decide user-approval on its own)",
    )
    p = command("run", "run the next (or the named) session in a fresh agent process")
    p.add_argument("stage", nargs="?", help="the stage (default: the next one)")
    p.add_argument("--agent", help="agent preset or one from the config (see `sdd agents list`)")
    p.add_argument(
        "--headless",
        action="store_true",
        help="run without a terminal; output goes to the session log",
    )
    p.add_argument("--task", help="the plan task an implement session works on (e.g. T3)")
    p.add_argument("--finding", metavar="ID", help="a fix session for this finding (e.g. F-3)")
    p.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS", help="end the agent after this long"
    )
    p.add_argument(
        "--parallel",
        type=int,
        metavar="N",
        help="up to N task sessions at once, each headless in its own git worktree",
    )
    _autopilot_options(p)
    p = command(
        "agents",
        "the agent presets (list); install or uninstall the stages as agents' skills and commands",
        cycle=False,
    )
    p.add_argument("action", nargs="?", choices=["list", "install", "uninstall"], default="list")
    p.add_argument(
        "names", nargs="*", metavar="AGENT", help="install/uninstall: the agents (default: on PATH)"
    )
    p.add_argument("--all", action="store_true", help="install/uninstall: every known agent")
    p.add_argument(
        "--mcp", action="store_true", help="install: also register `sdd mcp` in their project files"
    )
    p = command(
        "mcp",
        "serve the tracker to agents over the Model Context Protocol (stdio)",
        json=False,
        cycle=False,
    )
    p = command(
        "demo", "a whole cycle in a fresh demo project, offline, with a scripted agent", cycle=False
    )
    p.add_argument(
        "directory", nargs="?", default="sdd-demo", help="a new folder (default: ./sdd-demo)"
    )
    p = command("check", "check documents against their contracts and each other")
    p.add_argument(
        "documents",
        nargs="*",
        metavar="DOC",
        help="spec, architecture, plan, test-plan, conventions or a path "
        "(default: the documents due at the cycle's current stage)",
    )
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.add_argument(
        "--all",
        action="store_true",
        help="every document, those of later stages too (not yet due: still templates)",
    )
    p.add_argument(
        "--code",
        action="store_true",
        help="also trace the test plan into the code: every test case of a done task named by "
        "a test, no test naming an unknown id",
    )
    p = command(
        "tasks",
        "the plan's tasks with their status and what each waits on; `reopen ID` a done one (a person)",
    )
    p.add_argument("action", nargs="?", choices=["list", "reopen"], default="list")
    p.add_argument("task", nargs="?", help="reopen: the task, e.g. T3")
    p.add_argument("--reason", help="reopen: why (it goes into the task's next brief)")
    p.add_argument("--finding", metavar="ID", help="reopen: the finding it is reopened for")
    p = command(
        "questions",
        "the spec's open questions; `answer ID TEXT` records a person's answer",
    )
    p.add_argument("action", nargs="?", choices=["list", "answer"], default="list")
    p.add_argument("id", nargs="?", help="the question, e.g. Q2")
    p.add_argument("text", nargs="?", help="the answer")
    p = command(
        "rules",
        "the rules under the gates (workflow, threshold, checks) in force; "
        "`accept` a change that weakens them (a person)",
        cycle=False,
    )
    p.add_argument("action", nargs="?", choices=["show", "accept"], default="show")
    command(
        "verify",
        "run the project's checks (build, types, lint, tests) and record the evidence",
        cycle=False,
    )
    p = command(
        "findings",
        "findings of review, QA and user verification; add one; waive one (a person); "
        "from-release: the release checklist's UNCERTAIN items, as findings",
    )
    p.add_argument(
        "action", nargs="?", choices=["list", "add", "waive", "from-release"], default="list"
    )
    p.add_argument("text", nargs="*", help="add: what is wrong; waive: the finding id")
    p.add_argument("--severity", choices=["blocking", "major", "minor"])
    p.add_argument("--stage", help="the stage that found it (default: the open session's)")
    p.add_argument(
        "--escaped-from", metavar="STAGE", help="the earlier stage that could have caught it"
    )
    p.add_argument("--reason", help="waive: why")
    p = command("release", "record the release after deployment-approval (and tag it)")
    p.add_argument("--tag", help="create this annotated git tag at HEAD (also the version)")
    command("postmortem", "the cycle's figures from the history, written into its post-mortem")
    p = command(
        "templates", "the stage templates against the packaged ones: diff, or upgrade", cycle=False
    )
    p.add_argument("action", nargs="?", choices=["diff", "upgrade"], default="diff")
    p = command("change", "a change request: reopen a stage; the approvals after it turn stale")
    p.add_argument("--stage", required=True, help="the stage to reopen, e.g. architecture")
    p.add_argument("text", nargs="+", help="what should change")
    command("archive", "set a finished cycle aside (its history stays)")
    p = command(
        "layout",
        "switch the project to the per-cycle layout (moves the open cycle's documents)",
        cycle=False,
    )
    p.add_argument("layout", choices=["per-cycle"])
    p = command(
        "dashboard",
        "the control panel as one self-contained HTML page: a file, or served live on 127.0.0.1",
        cycle=False,
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        help="write the page here (default: .sdd/cache/dashboard.html; - for stdout)",
    )
    p.add_argument(
        "--serve", action="store_true", help="serve it read-only on 127.0.0.1, refreshing itself"
    )
    p.add_argument(
        "--port",
        type=int,
        metavar="N",
        help="with --serve: the port (default 8470; 0: any free one)",
    )
    p.add_argument("--open", action="store_true", help="open the page in the browser")
    command(
        "doctor",
        "check the project (state, config, templates, documents, agent files) and name fixes",
        cycle=False,
    )
    p = command(
        "ci", "for machines and CI: `sdd ci check` judges a branch against its base; "
        "`sdd ci init github|gitlab` writes the CI job that runs it", json=False,
        cycle=False,
    )  # fmt: skip
    if not isinstance(p, _Unused):
        actions = p.add_subparsers(dest="ci_action", metavar="ACTION")
        c = actions.add_parser(
            "check",
            help="whether the branch keeps to the process (exit 0 holds, 1 falls short)",
            description="Judge HEAD against its base, by the base's rules and approvers: the "
            "history intact and signed, every commit of code from an implement or fix session "
            "that started behind passed gates, a release with its deployment-approval. Never "
            "prompts.",
        )
        c.add_argument("--json", action="store_true", help="print a versioned JSON envelope")
        c.add_argument(
            "--base",
            metavar="REF",
            help="judge against this commit (default: the merge base with the default branch: "
            "origin/HEAD, else main, else master)",
        )
        c.add_argument("--head", default="HEAD", metavar="REV", help="the commit judged (HEAD)")
        c.add_argument(
            "--markdown", metavar="FILE", help="also write a Markdown summary (for a PR comment)"
        )
        c.add_argument(
            "--verify", action="store_true", help="run the base's checks afresh at HEAD (CI only)"
        )
        c.add_argument("--tag", help="judge it as this release tag (default: the tags at HEAD)")
        c.add_argument(
            "--into",
            metavar="BRANCH",
            help="the branch it merges into (default: $GITHUB_BASE_REF or "
            "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME); a released one needs deployment-approval",
        )
        ci_init_arguments(actions)
    p = command(
        "hooks",
        "git hooks that run `sdd ci check`: install (pre-push; with --server DIR, pre-receive "
        "in a bare repository), uninstall",
        cycle=False,
    )
    p.add_argument("action", choices=["install", "uninstall", "run"])
    p.add_argument("hook", nargs="?", help=SUPPRESS)
    p.add_argument("hook_args", nargs="*", help=SUPPRESS)
    p.add_argument("--server", metavar="DIR", help="a bare repository: its pre-receive hook")
    p = command("log", "the history, newest first")
    p.add_argument("--limit", type=_count, metavar="N", help="show at most N entries")

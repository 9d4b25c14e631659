"""A session's life: `prompt`, `start`, `done`, `abandon`, and `run` (a fresh agent process)."""

from __future__ import annotations

import sys

from sdd import api
from sdd.cli import dialogues
from sdd.cli.output import Console, Reply
from sdd.cli.render import Style, next_text
from sdd.core.errors import EXIT_FAILED, EXIT_INTERRUPTED

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def prompt(args: Any, console: Console) -> Reply:
    brief = api.prompt(api.open_project(), args.stage, cycle=args.cycle, task=args.task)
    data = {
        "stage": brief.stage,
        "brief": brief.text,
        "instructions_bytes": brief.instructions_bytes,
    }
    return Reply(data, brief.text)


def start(args: Any, console: Console) -> Reply:
    result = api.start(
        api.open_project(), args.stage, cycle=args.cycle, task=args.task, finding=args.finding
    )
    lines = [f"Session {result.session} ({result.stage}) started; its page is {result.page}"]
    if result.finding:
        lines.append(f"  a fix session for {result.finding}")
    if result.writes:
        lines.append(f"  outputs to write: {', '.join(result.writes)}")
    lines += [
        "",
        "Give the brief to a fresh agent conversation:",
        f"  sdd prompt {result.stage}        (also in {result.page})",
        "When the work and the handoff are written:",
        "  sdd done",
    ]
    return Reply(result, "\n".join(lines))


def _ended(result: Any, headline: str) -> Reply:
    return Reply(result, lambda style: headline + "\n\n" + next_text(result.next, style))


def done(args: Any, console: Console) -> Reply:
    result = api.done(
        api.open_project(),
        note=args.note,
        cycle=args.cycle,
        progress=dialogues.verify_progress(console.chatty),
    )
    outputs = ", ".join(result.outputs) or "committed work"
    headline = f"Session {result.session} ({result.stage}) complete: {outputs}"
    if result.findings:  # never silently: the report's own ids, where sdd gave others
        headline += f"\nFindings recorded: {', '.join(result.findings)}"
        if result.renamed:
            pairs = ", ".join(f"{old} → {new}" for old, new in result.renamed.items())
            headline += f" (renumbered in the report to match the tracker: {pairs})"
    return _ended(result, headline)


def abandon(args: Any, console: Console) -> Reply:
    project = api.open_project()
    if args.whole_cycle:
        if not args.reason:
            from sdd.core.errors import UsageError

            raise UsageError("abandoning a cycle needs --reason TEXT")
        number = api.abandon_cycle(
            project,
            reason=args.reason,
            cycle=args.cycle,
            stdin_is_tty=sys.stdin.isatty(),
            confirm=dialogues.ask_code,
        )
        return Reply(
            {"cycle": number, "outcome": "abandoned"},
            f'Cycle {number} abandoned.\n  → open the next one: sdd new "TITLE"',
        )
    discarded = api.discard_branches(project, cycle=args.cycle)
    if discarded is not None:  # interrupted parallel sessions: their kept work goes now
        listed = ", ".join(discarded.branches)
        return Reply(discarded, f"Deleted the kept branches of ended sessions: {listed}.")
    result = api.abandon_session(project, reason=args.reason, cycle=args.cycle)
    return _ended(
        result, f"Session {result.session} ({result.stage}) abandoned; the stage is open again"
    )


def run(args: Any, console: Console) -> Reply:
    if args.until_gate or args.max_sessions or args.max_time or args.max_cost:
        from sdd.cli.commands.autopilot import until_gate

        return until_gate(args, console)
    if getattr(args, "parallel", None) is not None:
        from sdd.cli.commands.parallel import run_parallel

        return run_parallel(args, console)
    project = api.open_project()
    mode = "headless" if args.headless else "interactive"

    def on_launch(command: list[str], note: str | None) -> None:
        console.note(f"sdd: a fresh session ({mode}): {' '.join(command)}")
        if note:
            console.note(f"sdd: {note}")

    result = api.run(
        project,
        args.stage,
        agent=args.agent,
        headless=args.headless,
        task=args.task,
        timeout=args.timeout,
        cycle=args.cycle,
        on_launch=on_launch,
        finding=args.finding,
    )

    def text(style: Style) -> str:
        lines = [f"{result.session} ({result.stage}, {result.agent}): {result.message}"]
        lines += [f"  - {item}" for item in result.missing]
        if result.log:
            lines.append(f"  agent output: {result.log}")
        lines += ["", next_text(result.next, style)]
        return "\n".join(lines)

    if result.outcome == "complete":
        code = 0
    elif result.outcome == "interrupted" and not result.timed_out:
        code = EXIT_INTERRUPTED
    else:
        code = EXIT_FAILED
    return Reply(result, text, code=code)

"""`sdd run --until-gate`: the autopilot between gates, and its report at the stop."""

from __future__ import annotations

import sys

from sdd import api
from sdd.cli.output import Console, Reply
from sdd.cli.render import Style, safe
from sdd.core.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _money(value: float | None) -> str:
    return "" if value is None else f"${value:.2f}"


def _what(row: Any) -> str:
    extra = row.task or row.finding
    return f"{row.session} ({row.stage}{' ' + extra if extra else ''})"


def until_gate(args: Any, console: Console) -> Reply:
    if not args.until_gate:
        raise UsageError(
            "--max-sessions, --max-time and --max-cost bound `sdd run --until-gate`",
            hint="add --until-gate",
        )
    for given, flag in (
        (args.stage, "STAGE"),
        (args.task, "--task"),
        (args.finding, "--finding"),
    ):
        if given:
            raise UsageError(
                f"--until-gate runs what `sdd next` names: {flag} does not go with it",
                hint="drop it (`sdd run --until-gate`), or run that one session: `sdd run"
                + (f" {args.stage}" if args.stage else "")
                + (f" --task {args.task}" if args.task else "")
                + (f" --finding {args.finding}" if args.finding else "")
                + "`",
            )

    if args.parallel is not None and args.parallel < 1:
        raise UsageError("--parallel needs at least 1", hint="sdd run --until-gate --parallel 4")
    watch = None
    if args.parallel:
        from sdd.cli.commands.parallel import _View

        watch = _View(console)

    def on_launch(command: list[str], note: str | None) -> None:
        console.note(f"sdd: a fresh session (headless): {' '.join(command)}")

    def on_session(row: Any) -> None:
        cost = f", {_money(row.cost_usd)}" if row.cost_usd is not None else ""
        console.note(f"sdd: {_what(row)}: {row.outcome} in {row.seconds:g} s{cost}")

    result = api.run_until_gate(
        api.open_project(),
        agent=args.agent,
        cycle=args.cycle,
        budget=api.AutopilotBudget(args.max_sessions, args.max_time, args.max_cost),
        timeout=args.timeout,
        on_launch=on_launch,
        on_session=on_session,
        parallel=args.parallel,
        watch=watch,
    )
    if result.sessions and not console.as_json and sys.stderr.isatty():
        sys.stderr.write("\a")  # the bell: the person who walked away comes back
        sys.stderr.flush()

    def text(style: Style) -> str:
        lines = [style("Autopilot stopped: ", "bold") + safe(result.reason)]
        for row in result.sessions:
            cost = f"  {_money(row.cost_usd)}" if row.cost_usd is not None else ""
            lines.append(f"  {_what(row)}: {row.outcome}, {row.seconds:g} s{cost}")
            lines += [f"    - {safe(item)}" for item in row.missing]
        count = len(result.sessions)
        total = f"{count} session(s) in {result.seconds:g} s"
        if result.cost_usd is not None:
            total += f", cost {_money(result.cost_usd)}"
        if result.cost_note:
            total += (
                f" ({result.cost_note})" if result.cost_usd is not None else f"; {result.cost_note}"
            )
        if result.stop == "refused":  # the way on is the refusal's hint
            lines += [total, "", style("Next: ", "bold") + safe(result.command)]
            return "\n".join(lines)
        lines += [total, "", style("Next: ", "bold") + safe(str(result.next.get("summary", "")))]
        lines.append("  " + style(safe(result.command), "blue"))
        alternative = result.next.get("alternative")
        if alternative and result.command == result.next.get("command"):
            lines.append("  or: " + safe(str(alternative)))
        return "\n".join(lines)

    return Reply(result, text, code=result.exit_code)

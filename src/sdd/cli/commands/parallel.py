"""`sdd run --parallel N`: the sessions' lines while they run, and the result."""

from __future__ import annotations

import sys

from sdd import api
from sdd.cli.output import Console, Reply
from sdd.cli.render import Style, next_text
from sdd.core.errors import EXIT_FAILED, EXIT_INTERRUPTED

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _line(row: dict[str, Any]) -> str:
    note = f"  {row['note']}" if row.get("note") else ""
    return (
        f"  {row['session']}  {row['task']:<8} {row['agent']:<10} {row['state']:<12} "
        f"{row['elapsed']:>7.1f} s{note}"
    )


class _View:
    """One line per session: redrawn in place on a terminal; on anything else, one line
    each time a session's state changes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.tty = console.chatty
        self.drawn = 0
        self.last: dict[str, str] = {}
        self.tick = 0.0

    def __call__(self, rows: list[dict[str, Any]], changed: bool) -> None:
        if self.console.as_json:
            return
        if not self.tty:
            for row in rows:
                if self.last.get(row["session"]) != row["state"]:
                    self.last[row["session"]] = row["state"]
                    self.console.note(f"sdd:{_line(row)}")
            return
        import time

        now = time.monotonic()
        if not changed and now - self.tick < 0.5:
            return
        self.tick = now
        out = sys.stderr
        if self.drawn:
            out.write(f"\x1b[{self.drawn}F")  # back to the first line drawn
        for row in rows:
            out.write("\x1b[2K" + _line(row) + "\n")
        self.drawn = len(rows)
        out.flush()


def run_parallel(args: Any, console: Console) -> Reply:
    named = [f"--{n} {getattr(args, n)}" for n in ("task", "finding") if getattr(args, n, None)]
    if args.stage:
        named.insert(0, args.stage)
    if named:
        from sdd.core.errors import UsageError

        raise UsageError(
            f"--parallel chooses the plan's tasks itself; {' '.join(named)} runs one session",
            hint="sdd run --parallel N, or sdd run " + " ".join(named),
        )
    project = api.open_project()
    result = api.run_parallel(
        project,
        args.parallel,
        agent=args.agent,
        timeout=args.timeout,
        cycle=args.cycle,
        watch=_View(console),
    )

    def text(style: Style) -> str:
        lines = [f"sdd run --parallel {result.width} ({result.stage}): {result.message}"]
        lines += [_line(row) for row in result.sessions]
        if result.kept:
            lines.append(f"  kept branches: {', '.join(result.kept)}")
        lines.append(f"  {result.seconds:.1f} s in all")
        lines += ["", next_text(result.next, style)]
        return "\n".join(lines)

    code = {"complete": 0, "interrupted": EXIT_INTERRUPTED}.get(result.outcome, EXIT_FAILED)
    return Reply(result, text, code=code)

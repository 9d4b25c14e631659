"""Where the work stands: `status`, `next`, `tasks`, `log`. `status` and `next` are on the
start-up path: this module imports nothing heavy at load time."""

from __future__ import annotations

from sdd import api
from sdd.cli.output import Reply
from sdd.cli.render import Style, next_text, safe, stage_strip, status_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.cli.output import Console


def status(args: Any, console: Console) -> Reply:
    if getattr(args, "all", False):
        return _all_cycles("status")
    panel = api.status(api.find_root(), cycle=args.cycle)
    return Reply(panel.data, lambda style: status_text(panel.data, style), json_text=panel.json())


def next_(args: Any, console: Console) -> Reply:
    if getattr(args, "all", False):
        return _all_cycles("next")
    panel = api.status(api.find_root(), cycle=args.cycle)
    action = panel.data["next"]
    return Reply(action, lambda style: next_text(action, style), json_text=panel.next_json())


def _all_cycles(command: str) -> Reply:
    """Every cycle that is not archived, side by side (`--all`)."""
    panels = api.status_all(api.open_project())
    if command == "status":
        payload: list[Any] = panels
    else:
        payload = [{"cycle": p["cycle"]["number"], **p["next"]} for p in panels]

    def text(style: Style) -> str:
        if not panels:
            return "No cycles."
        lines = []
        for data in panels:
            cycle = data["cycle"]
            if command == "next":
                lines.append(
                    f"Cycle {cycle['number']} ({cycle['title']}): {data['next']['summary']}\n  {data['next']['command']}"
                )
                continue
            strip = stage_strip(data, style)
            gates = ", ".join(f"{g['name']} {g['state']}" for g in data["gates"])
            heading = style(f"Cycle {cycle['number']}: {cycle['title']}", "bold")
            lines.append(
                f"{heading} · {cycle['state']}\n  {strip}\n  gates: {gates}\n  next: {data['next']['command']}"
            )
        return "\n\n".join(lines)

    return Reply(payload, text)


def tasks(args: Any, console: Console) -> Reply:
    if getattr(args, "action", "list") == "reopen":
        return _reopen_task(args)
    rows = api.tasks(api.open_project(), cycle=args.cycle)

    def text(style: Style) -> str:
        if not rows:
            return "No tasks yet: the plan session writes them in docs/implementation-plan.md."
        colour = {"done": "green", "in-progress": "blue", "pending": "dim"}
        lines = []
        for row in rows:
            waits = (
                f"  waits on {', '.join(row['waits_on'])}"
                if row["waits_on"] and row["status"] != "done"
                else ""
            )
            marker = style(" ← next", "blue") if row["next"] else ""
            lines.append(
                f"  {row['id']:<5} {style(str(row['status']).ljust(11), colour.get(str(row['status']), ''))} "
                f"risk {row['risk']!s:<6} {row['title']}{waits}{marker}"
            )
        return "\n".join(lines)

    return Reply(rows, text)


def _reopen_task(args: Any) -> Reply:
    """A person reopens a done task (confirmed with a code at their terminal)."""
    import sys

    from sdd.cli import dialogues
    from sdd.core.errors import UsageError

    if not args.task or not args.reason:
        raise UsageError('usage: sdd tasks reopen TASK --reason "WHY" [--finding ID]')
    reopened = api.reopen_task(
        api.open_project(),
        args.task,
        args.reason,
        finding=args.finding,
        stdin_is_tty=sys.stdin.isatty(),
        confirm=dialogues.reopen_code(args.reason, args.finding),
        cycle=args.cycle,
    )
    why = f" for {reopened.finding}" if reopened.finding else ""
    return Reply(
        reopened,
        lambda style: f"{reopened.task} reopened{why}.\n\n" + next_text(reopened.next, style),
    )


def log(args: Any, console: Console) -> Reply:
    entries = api.log(api.open_project(), cycle=args.cycle, limit=args.limit)

    def text(style: Style) -> str:
        return (
            "\n".join(f"{style(e['at'], 'dim')}  {safe(e['text'])}" for e in entries)
            or "The history is empty."
        )

    return Reply(entries, text)

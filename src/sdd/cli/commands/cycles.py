"""A project and its cycles: `init`, `new`, `change`, `archive`, `layout`, and the end of a
cycle: `release` and `postmortem`."""

from __future__ import annotations

import sys
from typing import Any

from sdd import api
from sdd.cli import dialogues
from sdd.cli.output import Console, Reply
from sdd.cli.render import Style, next_text


def init(args: Any, console: Console) -> Reply:
    result = api.init(args.directory, title=args.title)

    def text(style: Style) -> str:
        lines = [f"Initialised an sdd project in {result.root}"]
        if result.git_initialised:
            lines.append("  git: made it a git repository (the history is committed with the code)")
        if result.created:
            lines.append(f"  created: {', '.join(result.created)}")
        if result.skipped:
            lines.append(f"  kept as they were (already there): {', '.join(result.skipped)}")
        if result.cycle:
            lines.append(f"  cycle {result.cycle} opened")
        if result.agents:
            lines.append(
                f"  agents: the stages as commands and skills for {', '.join(result.agents)} "
                "(sdd agents install --help)"
            )
        panel = api.status(api.open_project(result.root).paths.root)
        lines += ["", next_text(panel.data["next"], style)]
        return "\n".join(lines)

    return Reply(result, text)


def new(args: Any, console: Console) -> Reply:
    project = api.open_project()
    number = api.new_cycle(project, args.title, discovery=args.discovery)
    panel = api.status(project.paths.root, cycle=str(number))
    following = panel.data["next"]
    return Reply(
        {"cycle": number, "next": following},
        lambda style: (
            f"Cycle {number} opened: {panel.data['cycle']['title']}\n\n"
            + next_text(following, style)
        ),
    )


def change(args: Any, console: Console) -> Reply:
    result = api.change(api.open_project(), args.stage, " ".join(args.text), cycle=args.cycle)
    flag = f" --cycle {args.cycle}" if args.cycle else ""
    lines = [
        f"Change request recorded: {result['stage']} is open again, with the request in its next brief.",
        f"  approvals turned stale: {', '.join(result['gates']) or 'none'}",
        f"  sessions affected: {', '.join(result['sessions']) or 'none'}",
        f"  tasks affected: {', '.join(result['tasks']) or 'none'}",
        f"  → next: sdd start {result['stage']}{flag}",
    ]
    return Reply(result, "\n".join(lines))


def archive(args: Any, console: Console) -> Reply:
    number = api.archive(
        api.open_project(),
        cycle=args.cycle,
        stdin_is_tty=sys.stdin.isatty(),
        confirm=dialogues.ask_code,
    )
    return Reply(
        {"cycle": number, "archived": True},
        f"Cycle {number} archived; its history stays (`sdd log --cycle {number}`).",
    )


def layout(args: Any, console: Console) -> Reply:
    result = api.switch_layout(api.open_project(), args.layout)
    lines = [
        "The project now uses the per-cycle layout: each cycle keeps its documents in docs/cycles/<cycle>/."
    ]
    for cycle, moved in result["moved"].items():
        for old, new in moved.items():
            lines.append(f"  cycle {cycle}: {old} → {new}")
    lines.append(
        '  → cycles can now run side by side: sdd new "TITLE"; see them all: sdd status --all'
    )
    return Reply(result, "\n".join(lines))


def release(args: Any, console: Console) -> Reply:
    result = api.release(api.open_project(), tag=args.tag, cycle=args.cycle)
    tagged = f", tagged {result.tag}" if result.tag else ""
    return Reply(
        result,
        f"Cycle {result.cycle} released as {result.version} at {str(result.head)[:12]}{tagged}.\n"
        f"  evidence: verify run {result.verify_run}, approval {result.approval}\n"
        "  → next: the post-mortem: sdd run postmortem",
    )


def postmortem(args: Any, console: Console) -> Reply:
    data = api.postmortem(api.open_project(), cycle=args.cycle)
    where = (
        f"\nWritten into {data['document']}."
        if data["document"]
        else "\nThe post-mortem session writes the analysis: sdd run postmortem"
    )
    return Reply(
        data, f"Cycle {data['cycle']}: {data['title']}\n\n" + api.postmortem_text(data) + where
    )

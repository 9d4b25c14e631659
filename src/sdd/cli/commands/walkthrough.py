"""`sdd walkthrough`: the person walks the user verification an agent prepared. The gate
after it is not decided here: `sdd next` names `sdd approve` as a step of its own."""

from __future__ import annotations

import sys

from sdd import api
from sdd.cli import dialogues
from sdd.cli.output import Console, Reply
from sdd.cli.render import Style, next_text, safe
from sdd.core.errors import EXIT_INTERRUPTED

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def walkthrough(args: Any, console: Console) -> Reply:
    project = api.open_project()
    walk = api.begin_walkthrough(project, stdin_is_tty=sys.stdin.isatty(), cycle=args.cycle)
    err = sys.stderr
    total = len(walk.items)
    err.write(
        console.style(f"User verification of cycle {walk.cycle}: {total} items", "bold")
        + safe(f" (prepared in {walk.session}, {walk.document})\n")
    )
    if walk.decided or walk.problems:
        err.write(
            f"Resuming: {walk.decided} of {total} already decided"
            + (f", {len(walk.problems)} problem(s) noted" if walk.problems else "")
            + ".\n"
        )
        for item in walk.items:  # what is already recorded: the person sees it before going on
            if item.id in walk.verdicts:
                given, note = walk.verdicts[item.id]
                err.write(
                    safe(f"  {item.id}: {given.upper()}" + (f" — {note}" if note else "")) + "\n"
                )
        for severity, said in walk.problems:
            err.write(safe(f"  problem ({severity}): {said}") + "\n")
    err.write("\n" + console.style("How to run it", "bold") + "\n" + safe(walk.how_to_run) + "\n")
    resume = "sdd walkthrough" + (f" --cycle {args.cycle}" if args.cycle else "")
    try:
        walk = api.walk_through(project, walk, dialogues.walk_item, dialogues.walk_more)
    except KeyboardInterrupt:
        err.write(f"\n{_stopped(walk, resume)}\n")
        return Reply(walk, None, code=EXIT_INTERRUPTED)
    if walk.stopped:
        return Reply(walk, _stopped(walk, resume))

    def text(style: Style) -> str:
        lines = [
            f"Walkthrough complete: {total} items: {walk.count('pass')} passed, "
            f"{walk.count('fail')} failed, {walk.count('skip')} skipped; "
            f"{len(walk.problems)} problem(s) no item covers.",
            f"The verdicts are in {walk.document}, after the agent's preparation (unchanged).",
        ]
        if walk.findings:
            lines.append(f"Recorded as findings: {', '.join(walk.findings)}.")
        lines.append(f"{walk.gate} is not decided yet: that is a step of its own.")
        return safe("\n".join(lines)) + "\n\n" + next_text(walk.next, style)

    return Reply(walk, text)


def _stopped(walk: Any, resume: str) -> str:
    return (
        f"Stopped: {walk.decided} of {len(walk.items)} items decided; every answer so far is "
        f"recorded.\nResume with: {resume}"
    )

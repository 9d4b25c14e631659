"""What sdd observes and checks: `check` (documents), `verify` (the project's checks),
`findings` (problems raised late; waiving one is a person's act)."""

from __future__ import annotations

import sys

from sdd import api
from sdd.cli import dialogues
from sdd.cli.output import Console, Reply
from sdd.cli.render import Style, next_text, safe

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def check(args: Any, console: Console) -> Reply:
    report = api.check(
        api.find_root(),
        args.documents or None,
        cycle=args.cycle,
        strict=args.strict,
        everything=args.all,
        code=args.code,
    )

    def text(style: Style) -> str:
        lines = [
            f"{style(str(m), 'red' if m.severity == 'error' else 'yellow')}"
            for m in report.messages
        ]
        checked = ", ".join(report.checked)
        if report.messages:
            lines.append(f"{report.errors} error(s), {report.warnings} warning(s) in {checked}")
        else:
            traced = (
                "; every test case of a done task is named by a test" if report.traced_code else ""
            )
            lines.append(f"All good: {checked} pass their contracts{traced}.")
        later = [f"{n.path} ({n.stage})" for n in report.not_due if n.stage]
        if later:
            at = f" at the {report.due_at} stage" if report.due_at else ""
            lines.append(f"Not yet due{at}: {', '.join(later)}; `sdd check --all` checks them too.")
        unwritten = [n.path for n in report.not_due if not n.stage]
        if unwritten:
            lines.append(
                f"Not checked: {', '.join(unwritten)} (no stage of the workflow writes it)."
            )
        return "\n".join(lines)

    return Reply(report, text, code=0 if report.ok else 1)


def verify(args: Any, console: Console) -> Reply:
    project = api.open_project()
    specs, detected = api.verify_checks(project)
    waiting = api.rules(project)
    if waiting.pending:
        console.note(
            "sdd: a change to the rules weakens them; the accepted checks run until a person "
            f"accepts the change: {waiting.command}"
        )
    elif detected and specs:
        console.note("sdd: no checks configured; detected: " + ", ".join(s.name for s in specs))
    result = api.verify(project, progress=dialogues.verify_progress(console.chatty))

    def text(style: Style) -> str:
        lines = ["", "| check | result | time | log |", "|---|---|---|---|"]
        for run in result.checks:
            outcome = (
                "passed"
                if run.passed
                else ("timed out" if run.timed_out else f"failed (exit {run.exit_code})")
            )
            lines.append(
                f"| {run.name} | {style(outcome, 'green' if run.passed else 'red')} | {run.seconds:.1f} s | {run.log} |"
            )
        head = (result.head or "no commit")[:12]
        dirty = ", ".join(result.dirty[:5]) + (" …" if len(result.dirty) > 5 else "")
        lines.append(
            f"\n{style('Green' if result.ok else 'Red', 'green' if result.ok else 'red')} at {head}"
            + ("" if result.clean else f" (uncommitted: {dirty})")
        )
        return "\n".join(lines)

    return Reply(result, text, code=0 if result.ok else 1)


def findings(args: Any, console: Console) -> Reply:
    from sdd.core.errors import UsageError

    project = api.open_project()
    if args.action == "add":
        if not args.severity or not args.text:
            raise UsageError(
                'usage: sdd findings add --severity blocking|major|minor --stage STAGE "TEXT"'
            )
        ident = api.record_finding(
            project,
            args.severity,
            " ".join(args.text),
            escaped_from=args.escaped_from,
            stage=args.stage,
            cycle=args.cycle,
        )
        extra = (
            "; the cycle goes back to implement for a fix" if args.severity == "blocking" else ""
        )
        return Reply({"id": ident}, f"{ident} recorded ({args.severity}){extra}.")
    if args.action == "waive":
        if not args.text or not args.reason:
            raise UsageError('usage: sdd findings waive ID --reason "TEXT"')
        waived = api.waive_finding(
            project,
            args.text[0],
            args.reason,
            stdin_is_tty=sys.stdin.isatty(),
            confirm=dialogues.waiver_code(args.reason),
            cycle=args.cycle,
        )
        return Reply({"id": waived.id, "status": "waived"}, f"{waived.id} waived.")
    if args.action == "from-release":
        idents = api.findings_from_release(project, cycle=args.cycle)
        following = api.status(project.paths.root).data["next"]
        return Reply(
            {"ids": idents, "next": following},
            lambda style: (
                f"{', '.join(idents)} recorded (blocking): each UNCERTAIN item of the release "
                "checklist is a finding now; the cycle goes back to implement to fix them.\n\n"
                + next_text(following, style)
            ),
        )
    rows = api.finding_rows(project, cycle=args.cycle)

    def text(style: Style) -> str:
        if not rows:
            return "No findings in this cycle."
        colour = {"open": "red", "fixed": "green", "waived": "dim"}
        lines = []
        for row in rows:
            escaped = f", escaped from {row['escaped_from']}" if row["escaped_from"] else ""
            fixed = f" (by {row['fixed_by']} at {str(row['commit'])[:12]})" if row["commit"] else ""
            lines.append(
                f"  {row['id']:<5} {style(str(row['status']).ljust(7), colour.get(str(row['status']), ''))} "
                f"{row['severity']:<9} {safe(str(row['stage']))}{escaped}: {safe(str(row['text']))}"
                + fixed
            )
        return "\n".join(lines)

    return Reply(rows, text)

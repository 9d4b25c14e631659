"""A person's acts at the terminal: `approve` and `reject` a gate, `questions answer`,
`rules accept`. Each is confirmed by typing back a code (``sdd.cli.dialogues``); the use case
decides who may."""

from __future__ import annotations

import sys

from sdd import api
from sdd.cli import dialogues
from sdd.cli.output import Console, Reply
from sdd.cli.render import Style, next_text, safe, safe_data

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

UNCONFIRMED = "unconfirmed (trust on first use)"


def _decide(args: Any, console: Console, *, approve: bool) -> Reply:
    verb = "approve" if approve else "reject"
    result = api.decide_gate(
        api.open_project(),
        args.gate,
        approve=approve,
        confirm=dialogues.gate_screen(verb),
        stdin_is_tty=sys.stdin.isatty(),
        reason=getattr(args, "reason", None),
        to=getattr(args, "to", None),
        cycle=args.cycle,
        demo=args.demo_approver,
        progress=dialogues.verify_progress(console.chatty),
    )
    head = f"{result.gate} {result.decision} by {result.by.get('name', '')}"
    if result.wanting:  # one approval of several: the gate waits for the others
        head = (
            f"Your approval of {result.gate} is recorded (approved so far by "
            f"{', '.join(result.approved_by)}); it is {result.wanting}"
        )
    elif len(result.approved_by) > 1:
        head = f"{result.gate} approved by {', '.join(result.approved_by)}"
    if result.reopened:
        head += f"; {result.reopened} is open again with the reason in its next brief"
    return Reply(result, lambda style: head + "\n\n" + next_text(result.next, style))


def approve(args: Any, console: Console) -> Reply:
    return _decide(args, console, approve=True)


def reject(args: Any, console: Console) -> Reply:
    return _decide(args, console, approve=False)


def questions(args: Any, console: Console) -> Reply:
    project = api.open_project()
    if args.action == "answer":
        from sdd.core.errors import UsageError

        if not args.id or not args.text:
            raise UsageError('usage: sdd questions answer ID "TEXT"')
        answered = api.answer_question(
            project,
            args.id,
            args.text,
            stdin_is_tty=sys.stdin.isatty(),
            confirm=dialogues.question_code(args.text),
        )
        return Reply(
            {"id": answered.id, "answer": answered.answer},
            f"{answered.id} answered in docs/product-spec.md.\n"
            "  → the spec session works it in and updates the confidence: an open one sees it in "
            "its brief (sdd prompt); else sdd start spec",
        )
    found = api.spec_questions(project, args.cycle)

    def text(style: Style) -> str:
        shown = "not stated" if found.confidence is None else f"{found.confidence:g} %"
        lines = [f"Confidence: {shown} (threshold {found.threshold} %)"]
        open_ones = [q for q in found.questions if q.answer is None]
        for q in found.questions:
            kind = style("blocking", "red") if q.blocking else "non-blocking"
            state = style("open", "yellow") if q.answer is None else f"answered: {q.answer}"
            lines.append(f"  {q.id} ({kind}) {q.text}\n      {state}")
        if not found.questions:
            lines.append("  No questions recorded.")
        if open_ones:
            lines.append(f'\nA person answers: sdd questions answer {open_ones[0].id} "…"')
        return "\n".join(lines)

    return Reply(found, text)


def approvers(args: Any, console: Console) -> Reply:
    project = api.open_project()
    tty = sys.stdin.isatty()
    if args.action == "list":
        rows = api.approvers(project)

        def text(style: Style) -> str:
            if not rows:
                return (
                    "No approvers: this project is unsigned (an agent with a shell can pass the "
                    "gates).\n  → sign the person's acts: sdd approvers add --key ~/.ssh/KEY"
                )
            lines = []
            for row in rows:
                state = "confirmed" if row.confirmed else style(UNCONFIRMED, "yellow")
                recovery = " (recovery key)" if row.recovery else ""
                roles = f"  roles: {', '.join(row.roles)}" if row.roles else ""
                lines.append(f"  {row.principal:<28} {row.fingerprint}  {state}{recovery}{roles}")
            return "\n".join(lines)

        return Reply(rows, text)
    if args.action == "revoke":
        from sdd.core.errors import UsageError

        if not args.fingerprint:
            raise UsageError("usage: sdd approvers revoke SHA256:…")
        changed = api.revoke_approver(
            project, args.fingerprint, stdin_is_tty=tty, confirm=dialogues.ask_code
        )
    elif args.action == "recover":
        changed = api.recover_approver(
            project, args.key, name=args.name, stdin_is_tty=tty, confirm=dialogues.ask_code
        )
    else:
        changed = api.add_approver(
            project,
            args.key or args.fingerprint,
            name=args.name,
            stdin_is_tty=tty,
            confirm=dialogues.ask_code,
            roles=args.role,
        )
    return Reply(
        changed,
        f"{changed.principal} ({changed.fingerprint}): {changed.action}"
        + (f", roles: {', '.join(changed.roles)}" if changed.roles else "")
        + ".\n"
        "  → commit .sdd/ and merge it to the protected branch: until it holds them, new "
        "approvers show as unconfirmed",
    )


def rules(args: Any, console: Console) -> Reply:
    project = api.open_project()
    if args.action == "accept":
        shown = api.accept_rules(
            project, stdin_is_tty=sys.stdin.isatty(), confirm=dialogues.rules_code()
        )
        if shown.pending:
            head = (
                f"Your acceptance is recorded (accepted so far by "
                f"{', '.join(shown.accepted_so_far)}); the change is not in force yet: it is "
                f"{shown.wanting}.\n  → another approver runs `sdd rules accept`"
            )
        else:
            head = f"The change to the rules is accepted and in force (fingerprint {shown.fingerprint[:12]})."
        return Reply(shown, head)
    shown = api.rules(project)
    return Reply(shown, lambda style: _rules_text(shown, style))


def _rules_text(shown: api.RulesView, style: Style) -> str:
    normal = safe_data(shown.rules)  # text from the config: shown, never obeyed
    workflow = normal["workflow"]
    if shown.accepted_by:
        whose = f"accepted by {safe(shown.accepted_by.get('name', '?'))}, {shown.accepted_at}"
    elif shown.source:
        whose = f"recorded by sdd ({shown.source}), {shown.accepted_at}"
    else:
        whose = "taking effect: the next command that records something records them"
    lines = [
        style(f"Rules in force (fingerprint {shown.fingerprint[:12]})", "bold") + f", {whose}",
        f"  confidence threshold: {normal['confidence_threshold']} %",
        "  stages: "
        + " → ".join(
            s["name"] + (" (optional)" if s["optional"] else "") for s in workflow["stages"]
        ),
    ]
    for stage in workflow["stages"]:
        writes = ", ".join(stage["writes"]) or "nothing"
        lines.append(
            f"    {stage['name']:<20} writes {writes}; done when {', '.join(stage['rules'])}"
        )
    lines.append("  gates:")
    for gate in workflow["gates"]:
        requires = f"; requires {', '.join(gate['requires'])}" if gate["requires"] else ""
        if gate.get("approvals", 1) > 1:
            requires += f"; {gate['approvals']} approvals by different people"
        if gate.get("roles"):
            requires += f"; approved by the role {' or '.join(gate['roles'])}"
        lines.append(
            f"    {gate['name']:<24} after {gate['after']}, judges {', '.join(gate['judges'])}{requires}"
        )
    source = "detected" if normal["checks_detected"] else "configured"
    lines.append(f"  verify checks ({source}):" if normal["checks"] else "  verify checks: none")
    for check in normal["checks"]:
        lines.append(f"    {check['name']:<12} {' '.join(check['command'])}")
    if shown.pending:
        lines += [
            "",
            style(
                "A change to the rules weakens them; not in force until a person accepts:", "red"
            ),
        ]
        lines += [
            f"  - {safe(c.what)}" + (style(" (weakens)", "red") if c.weakens else "")
            for c in shown.pending
        ]
        if shown.wanting:
            lines.append(
                f"Accepted so far by {safe(', '.join(shown.accepted_so_far))}: {shown.wanting}"
            )
        lines.append(f"A person accepts it: {style(str(shown.command), 'blue')}")
    return "\n".join(lines)

"""Findings: problems raised by review, QA or user verification.

An open blocking finding sends the cycle back to implement (a loop the post-mortem
counts); a fix session bound to it closes it when it completes with a green verify.
Waiving one is a person's act.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sdd.agents import person
from sdd.core.errors import Refused, SddError, UsageError
from sdd.core.state import Cycle, Finding
from sdd.documents.contracts import FINDING_LINE
from sdd.project.project import Project, Transaction
from sdd.usecases import acts

SEVERITIES = ("blocking", "major", "minor")


@dataclass
class Raised:
    severity: str
    text: str
    escaped_from: str | None = None


def record(
    tx: Transaction,
    cycle: Cycle,
    raised: Raised,
    *,
    stage: str,
    session: str | None,
    source: str | None = None,
) -> str:
    """Record a finding (and, for a blocking one, the loop back to implement)."""
    workflow = tx.project.rule_state(tx.state).in_force.workflow
    names = workflow.names(discovery=cycle.discovery)
    if raised.severity not in SEVERITIES:
        raise UsageError(f"severity is one of {', '.join(SEVERITIES)}, not {raised.severity!r}")
    if stage not in names:
        raise UsageError(f"--stage {stage}: not a stage of this cycle ({', '.join(names)})")
    if raised.escaped_from is not None:
        if raised.escaped_from not in names:
            raise UsageError(f"--escaped-from {raised.escaped_from}: not a stage of this cycle")
        if names.index(raised.escaped_from) >= names.index(stage):
            raise UsageError(
                f"--escaped-from {raised.escaped_from}: must be a stage before {stage}"
            )
    number = tx.state.finding_count + sum(1 for kind, _ in tx.pending if kind == "finding.add") + 1
    ident = f"F-{number}"
    tx.record(
        "finding.add",
        cycle=cycle.number,
        finding=ident,
        severity=raised.severity,
        stage=stage,
        escaped_from=raised.escaped_from,
        text=raised.text.strip(),
        session=session,
        source=source,
    )
    fix_stage = next(
        (s.name for s in workflow.stages if s.repeat == "per-task" and s.name in names), None
    )
    if raised.severity == "blocking" and fix_stage is not None:
        tx.record(
            "stage.reopen",
            cycle=cycle.number,
            stage=fix_stage,
            reason=f"{ident} ({raised.severity}, found in {stage}): {raised.text.strip()}",
            source=f"finding {ident} from {stage}",
            caused_by=stage,
        )
    return ident


def add(project: Project, raised: Raised, *, stage: str | None, cycle: str | None = None) -> str:
    with project.transaction() as tx:
        chosen = project.cycle(tx.state, cycle)
        if chosen is None:
            raise Refused("there is no cycle yet", hint='open one: sdd new "TITLE"')
        session = chosen.open_session()
        found_in = stage or (session.stage if session else None)
        if found_in is None:
            raise UsageError("--stage STAGE: which stage found it (no session is open to tell)")
        return record(tx, chosen, raised, stage=found_in, session=session.id if session else None)


def from_report(text: str) -> list[Raised]:
    """The findings listed under `## Findings` in a review or QA report."""
    from sdd.documents.markdown import parse

    root = parse(text)
    top = root.sections[0] if len(root.sections) == 1 else root
    section = top.find("Findings")
    if section is None:
        return []
    raised = []
    for item in section.items():
        match = FINDING_LINE.match(item.text.strip())
        if match:
            escaped = match.group(2).casefold() if match.group(2) else None
            raised.append(
                Raised(match.group(1).casefold(), " ".join(match.group(3).split()), escaped)
            )
    return raised


def waive(
    project: Project,
    ident: str,
    reason: str,
    *,
    stdin_is_tty: bool,
    confirm: Any,
    cycle: str | None = None,
) -> Finding:
    if not reason.strip():
        raise UsageError("waiving a finding needs --reason TEXT")
    with project.transaction() as tx:
        who = acts.begin(project, tx, f"waiving {ident}", stdin_is_tty=stdin_is_tty)
        chosen = project.cycle(tx.state, cycle)
        found = chosen.findings.get(ident.upper()) if chosen else None
        if chosen is None or found is None:
            raise UsageError(f"{ident}: no such finding in this cycle")
        if found.status != "open":
            raise SddError(f"{found.id} is already {found.status}")
        code = person.confirmation_code()
        typed = confirm(found, code) if callable(confirm) else None
        if typed is None or str(typed).strip().upper() != code:
            raise SddError("the confirmation code did not match; nothing was recorded")
        tx.record(
            "finding.waive",
            cycle=chosen.number,
            finding=found.id,
            finding_record=found.record,
            reason=reason.strip(),
            by=who,
        )
    return found


def rows(cycle: Cycle) -> list[dict[str, Any]]:
    return [
        {
            "id": f.id,
            "severity": f.severity,
            "stage": f.stage,
            "escaped_from": f.escaped_from,
            "text": f.text,
            "status": f.status,
            "session": f.session,
            "fixed_by": f.fixed_by,
            "waived_by": f.waived_by,
            "waive_reason": f.waive_reason,
        }
        for f in cycle.findings.values()
    ]


def raise_finding(
    project: Project,
    severity: str,
    text: str,
    *,
    stage: str | None = None,
    escaped_from: str | None = None,
    cycle: str | None = None,
) -> str:
    """Record a finding of the open session's stage (or ``stage``); returns its id."""
    return add(project, Raised(severity, text, escaped_from), stage=stage, cycle=cycle)


def rows_for(project: Project, *, cycle: str | None = None) -> list[dict[str, Any]]:
    """The findings of the cycle (default: the latest), as rows."""
    chosen = project.cycle(project.load(), cycle)
    return rows(chosen) if chosen else []

"""Findings: problems raised by review, QA, user verification or final verification.

One id everywhere: sdd numbers the findings (`F-4`), and writes its ids into the report
they came from when it records them. An open blocking finding sends the cycle back to
implement (a loop the post-mortem counts); an open major one must be fixed or waived
before final verification starts; a minor one goes into the release record. A fix session
bound to a finding closes it when it completes, with its commit and a green verify.
Waiving one is a person's act.
"""

from __future__ import annotations

import re

from sdd.core.errors import Refused, SddError, UsageError
from sdd.core.structs import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from sdd.core.state import Cycle, Finding
    from sdd.project.project import Project, Transaction

SEVERITIES = ("blocking", "major", "minor")


@dataclass
class Raised:
    """A finding as a report lists it."""

    severity: str
    text: str
    escaped_from: str | None = None
    label: str = ""  # the id the report gave it (`F1`, or sdd's `F-4`)
    line: int = 0  # where the report lists it (1-based)


# The id at the start of a finding's list item, as the report wrote it.
_LABEL = re.compile(r"^(\s*(?:[-*+]|[0-9]+[.)])\s+)(F-?[0-9]+)")


def free_ids(tx: Transaction, taken: set[str] | None = None) -> Iterator[str]:
    """The next finding ids, in order, that neither the state nor this transaction holds."""
    used = set(tx.state.finding_ids) | set(taken or ())
    used |= {str(fields.get("finding")) for kind, fields in tx.pending if kind == "finding.add"}
    number = tx.state.finding_count + sum(1 for kind, _ in tx.pending if kind == "finding.add")
    while True:
        number += 1
        ident = f"F-{number}"
        if ident not in used:
            used.add(ident)
            yield ident


def next_id(state: Any) -> str:
    """The id the next finding will get."""
    number = state.finding_count + 1
    while f"F-{number}" in state.finding_ids:
        number += 1
    return f"F-{number}"


def record(
    tx: Transaction,
    cycle: Cycle,
    raised: Raised,
    *,
    stage: str,
    session: str | None,
    source: str | None = None,
    ident: str | None = None,
) -> str:
    """Record a finding (and, for a blocking one, the loop back to implement); ``ident``:
    the id already chosen for it (`number_report`)."""
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
    ident = ident or next(free_ids(tx))
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
    from sdd.documents.contracts import FINDING_LINE
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
            label = item.text.strip().split("(", 1)[0].strip().upper()
            raised.append(
                Raised(
                    match.group(1).casefold(),
                    " ".join(match.group(3).split()),
                    escaped,
                    label,
                    item.line,
                )
            )
    return raised


@dataclass
class Numbered:
    """A report's findings with the ids sdd gives them, and the report as it then reads."""

    text: str
    findings: list[tuple[Raised, str]]  # to record, each with its id
    renamed: dict[str, str]  # the report's id -> sdd's, where they differed


def number_report(tx: Transaction, cycle: Cycle, text: str, taken: set[str]) -> Numbered:
    """Give each finding of a report its tracker id and write that id into the report, so the
    report and the tracker agree. A line naming an open finding of this cycle by its id, with
    its text, is that finding (listed again), not a new one. ``taken``: ids given already."""
    ids = free_ids(tx, taken)
    chosen: list[tuple[Raised, str]] = []
    renamed: dict[str, str] = {}
    lines = text.split("\n")
    for raised in from_report(text):
        known = cycle.findings.get(raised.label)
        if known is not None and known.status == "open" and known.text == raised.text:
            continue
        ident = next(ids)
        taken.add(ident)
        chosen.append((raised, ident))
        if raised.label == ident or not 0 < raised.line <= len(lines):
            continue
        renamed[raised.label] = ident
        line = lines[raised.line - 1]
        found = _LABEL.match(line)
        if found is not None:
            lines[raised.line - 1] = found.group(1) + ident + line[found.end() :]
    updated = "\n".join(lines)
    local = {old: new for old, new in renamed.items() if "-" not in old}
    if local:  # the report's own references to them (`see F1`) follow
        pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, local)) + r")(?![\w-])")
        updated = pattern.sub(lambda m: local[m.group(1)], updated)
    return Numbered(updated, chosen, renamed)


def from_release(project: Project, *, cycle: str | None = None) -> list[str]:
    """Deployment stopped on the release checklist's UNCERTAIN items: record each as a
    blocking finding of final verification, so the fix loop runs. Returns their ids."""
    from sdd.documents import check
    from sdd.workflow.gates import release_stage

    with project.transaction() as tx:
        chosen = project.cycle(tx.state, cycle)
        if chosen is None:
            raise Refused("there is no cycle yet", hint='open one: sdd new "TITLE"')
        position = project.position(tx.state, chosen)
        stage = release_stage(position)
        last = next(
            (s for s in reversed(chosen.sessions) if s.stage == stage and s.outcome == "complete"),
            None,
        )
        if stage is None or last is None:
            raise Refused(
                "there is no release checklist yet: final verification has not completed",
                hint=f"next: {project.next_for(tx.state, chosen)['command']}",
            )
        recorded = {f.text for f in chosen.findings.values() if f.session == last.id}
        items: list[tuple[str, str]] = []
        for relative in last.outputs:
            if check.kind_of(relative) != "release":
                continue
            parsed = check.parse_file(project.paths, relative, "release")
            for item in (parsed.uncertain or []) if parsed else []:
                text = " ".join(item.split())
                if text not in recorded and (relative, text) not in items:
                    items.append((relative, text))
        if not items:
            raise Refused(
                f"nothing uncertain to record: the release checklist of {last.id} lists no "
                "UNCERTAIN item that is not a finding already",
                hint=f"next: {project.next_for(tx.state, chosen)['command']}",
            )
        return [
            record(
                tx,
                chosen,
                Raised("blocking", text),
                stage=last.stage,
                session=last.id,
                source=relative,
            )
            for relative, text in items
        ]


def waive(
    project: Project,
    ident: str,
    reason: str,
    *,
    stdin_is_tty: bool,
    confirm: Any,
    cycle: str | None = None,
) -> Finding:
    # A person's act: its modules load only for it (every session's start and end records
    # findings through this module, and the person check is none of theirs).
    from sdd.agents import person
    from sdd.usecases import acts

    if not reason.strip():
        raise UsageError("waiving a finding needs --reason TEXT")
    with project.transaction(person=True) as tx:
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
            "commit": f.fixed_commit,
            "waived_by": f.waived_by,
            "waive_reason": f.waive_reason,
            "reopens": f.reopens,
        }
        for f in cycle.findings.values()
    ]


def reports_findings(stage: Any) -> bool:
    """Whether a stage's reports list findings that sdd records (review, QA)."""
    return stage.name in ("review", "qa") or stage.scaffold in ("review", "qa")


def brief_section(root: str, state: Any, cycle: Cycle, stage: str) -> str:
    """For a review or QA brief: the findings to confirm (open, and resolved since the last
    session of ``stage``), the commit that session saw and what changed since, and the ids
    new findings take."""
    from sdd.system import gitrepo

    last = next(
        (s for s in reversed(cycle.sessions) if s.stage == stage and s.outcome == "complete"),
        None,
    )
    since = last.end_record or "" if last else ""
    resolved = [
        f
        for f in cycle.findings.values()
        if f.status != "open" and last is not None and (f.closed_record or "") > since
    ]
    still = [f for f in cycle.findings.values() if f.status == "open"]
    lines = ["## Findings to confirm", ""]
    if last is not None and last.head_after:
        seen = last.head_after[:12]
        report = ", ".join(f"`{w}`" for w in last.writes) or "its report"
        stat = gitrepo.diff_stat(root, last.head_after)
        lines += [
            f"The last {stage} ({last.id}, {report}) saw commit {seen}. What changed since "
            f"(`git diff --stat {seen}..HEAD`, sdd's own files left out):",
            "",
            "```",
            stat or "(nothing)",
            "```",
            "",
        ]
    if resolved:
        lines.append("Resolved since then: confirm that each fix holds (read the diff).")
        for f in resolved:
            if f.status == "fixed":
                how = f"fixed by {f.fixed_by}" + (
                    f" at {f.fixed_commit[:12]}" if f.fixed_commit else ""
                )
            else:
                how = f"{f.status} by {(f.waived_by or {}).get('name', '?')}: {f.waive_reason}"
            lines.append(f"- {f.id} ({f.severity}, found in {f.stage}): {f.text} — {how}")
        lines.append("")
    if still:
        lines.append("Still open: say in your report whether each still holds.")
        lines += [f"- {f.id} ({f.severity}, found in {f.stage}): {f.text}" for f in still]
        lines.append("")
    first = next_id(state)
    lines.append(
        f"Number new findings from {first} on (`- {first} (blocking|major|minor) where: "
        "what`): sdd keeps these ids and writes its own into the report if they differ. A fix "
        "that does not hold is a new finding that names the old id."
    )
    return "\n".join(lines)


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

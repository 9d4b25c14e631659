"""The fold: the history's records, in id order, made into the state. One small handler
per record kind (``HANDLERS``); a kind without one is kept in the count and otherwise
ignored. Handlers read fields through the tolerant readers of ``core.records``: a record
written by hand may hold anything, and folding never fails on it (`sdd doctor` names it).
"""

from __future__ import annotations

from collections.abc import Callable

from sdd.core.records import (
    Kind,
    Record,
    flag,
    integer,
    mapping,
    optional_text,
    strings,
    text,
    text_map,
)
from sdd.core.state import (
    Answer,
    Cycle,
    Decision,
    Finding,
    ProjectState,
    Reopen,
    RulesAcceptance,
    Session,
    TaskReopen,
    session_number,
)

Handler = Callable[[ProjectState, Record], None]
CycleHandler = Callable[[ProjectState, Cycle, Record], None]


def fold(records: list[Record]) -> ProjectState:
    """Fold verified records, already in id order, into the state."""
    return fold_into(ProjectState(records=len(records)), records)


def fold_into(state: ProjectState, records: list[Record]) -> ProjectState:
    """Fold ``records`` (after those already folded into ``state``, in id order)."""
    for record in records:
        state.last_record = record["id"]
        handler = HANDLERS.get(record["type"])
        if handler is not None:
            handler(state, record)
    return state


def _in_cycle(handler: CycleHandler) -> Handler:
    """A handler for records about a cycle: a record naming a cycle the history never
    opened is ignored."""

    def handle(state: ProjectState, record: Record) -> None:
        number = record.get("cycle")
        if isinstance(number, int) and not isinstance(number, bool):
            cycle = state.cycles.get(number)
            if cycle is not None:
                handler(state, cycle, record)

    return handle


def _project_init(state: ProjectState, record: Record) -> None:
    state.name = text(record, "name")
    state.demo = flag(record, "demo")


def _template_hashes(state: ProjectState, record: Record) -> None:
    state.template_hashes.update(text_map(record, "hashes"))


def _cycle_open(state: ProjectState, record: Record) -> None:
    number = record.get("cycle")
    if isinstance(number, int) and number not in state.cycles:
        state.cycles[number] = Cycle(
            number,
            text(record, "slug"),
            text(record, "title"),
            text(record, "at"),
            record["id"],
            flag(record, "discovery"),
            text(record, "docs") or "docs",
        )


def _cycle_request(state: ProjectState, cycle: Cycle, record: Record) -> None:
    cycle.request = text(record, "text")
    cycle.request_doc = optional_text(record, "document")


def _cycle_move(state: ProjectState, cycle: Cycle, record: Record) -> None:
    """Documents moved to a new folder: the history's paths follow them."""
    moved = text_map(record, "moved")
    cycle.docs = text(record, "docs") or cycle.docs
    if cycle.request_doc:
        cycle.request_doc = moved.get(cycle.request_doc, cycle.request_doc)
    for decision in cycle.decisions:
        decision.docs = {moved.get(p, p): h for p, h in decision.docs.items()}
    for session in cycle.sessions:
        session.outputs = {moved.get(p, p): h for p, h in session.outputs.items()}
        session.writes = [moved.get(p, p) for p in session.writes]


def _cycle_archive(state: ProjectState, cycle: Cycle, record: Record) -> None:
    cycle.archived = True


def _cycle_abandon(state: ProjectState, cycle: Cycle, record: Record) -> None:
    cycle.closed = "abandoned"
    cycle.close_reason = text(record, "reason")


def _reopen(cycle: Cycle, reopen: Reopen) -> None:
    cycle.reopens[reopen.stage] = reopen
    cycle.loops.append(reopen)


def _stage_reopen(state: ProjectState, cycle: Cycle, record: Record) -> None:
    _reopen(
        cycle,
        Reopen(
            text(record, "stage"),
            record["id"],
            text(record, "reason"),
            text(record, "source") or "reopened",
            text(record, "caused_by"),
            text(record, "at"),
        ),
    )


def _session_start(state: ProjectState, cycle: Cycle, record: Record) -> None:
    session = Session(
        id=text(record, "session"),
        record=record["id"],
        cycle=cycle.number,
        stage=text(record, "stage"),
        task=optional_text(record, "task"),
        started=text(record, "at"),
        page=text(record, "page"),
        head_before=optional_text(record, "head"),
        dirty_before=text_map(record, "dirty"),
        agent=optional_text(record, "agent"),
        finding=optional_text(record, "finding"),
        writes=strings(record, "writes"),
    )
    cycle.sessions.append(session)
    state.sessions[session.id] = session
    number = session_number(session.id)
    if number is not None and number > state.session_high:
        state.session_high = number


def _session_launch(state: ProjectState, record: Record) -> None:
    launched = state.sessions.get(text(record, "session"))
    if launched is not None:
        launched.command = strings(record, "command")
        launched.log = optional_text(record, "log")


def _session_end(state: ProjectState, record: Record) -> None:
    session = state.sessions.get(text(record, "session"))
    if session is None or session.outcome != "open":
        return
    session.outcome = text(record, "outcome") or "abandoned"
    session.ended = text(record, "at")
    session.end_record = record["id"]
    session.head_after = optional_text(record, "head")
    session.outputs = text_map(record, "outputs")
    session.changed = strings(record, "changed")
    session.exit_code = integer(record, "exit_code")
    session.reason = optional_text(record, "reason")
    session.note = optional_text(record, "note")
    owner = state.cycles.get(session.cycle)
    if owner is not None and session.outcome == "complete":
        owner.completions.setdefault(session.stage, []).append(record["id"])


def _decision(kind: str) -> CycleHandler:
    def handle(state: ProjectState, cycle: Cycle, record: Record) -> None:
        decision = Decision(
            gate=text(record, "gate"),
            kind=kind,
            record=record["id"],
            at=text(record, "at"),
            by=text_map(record, "by"),
            docs=text_map(record, "docs"),
            reason=optional_text(record, "reason"),
            to=optional_text(record, "to"),
            confirmed=optional_text(record, "confirmed"),
            verdicts=optional_text(record, "verdicts"),
        )
        cycle.decisions.append(decision)
        if decision.kind == "reject" and decision.to:
            _reopen(
                cycle,
                Reopen(
                    decision.to,
                    record["id"],
                    decision.reason or "",
                    f"{decision.gate} rejected",
                    decision.gate,
                    decision.at,
                ),
            )

    return handle


def _finding_add(state: ProjectState, cycle: Cycle, record: Record) -> None:
    ident = text(record, "finding")
    if ident in state.finding_ids:
        # Two branches numbered their findings alike: the later one, in id order,
        # takes the next free number, so a merge loses none.
        ident = f"F-{state.finding_count + 1}"
        while ident in state.finding_ids:
            ident = f"F-{int(ident[2:]) + 1}"
    if not ident:
        return
    found = Finding(
        ident,
        cycle.number,
        text(record, "severity"),
        text(record, "stage"),
        optional_text(record, "escaped_from"),
        text(record, "text"),
        record["id"],
        optional_text(record, "session"),
    )
    cycle.findings[ident] = found
    state.finding_count += 1
    state.finding_ids.add(ident)
    state.findings_by_record[record["id"]] = found


def _open_finding(state: ProjectState, cycle: Cycle, record: Record) -> Finding | None:
    """The finding a fix or waiver names: by its record (stable across merges), else its id."""
    found = state.findings_by_record.get(text(record, "finding_record")) or cycle.findings.get(
        text(record, "finding")
    )
    return found if found is not None and found.status == "open" else None


def _finding_fix(state: ProjectState, cycle: Cycle, record: Record) -> None:
    found = _open_finding(state, cycle, record)
    if found is not None:
        found.status, found.fixed_by = "fixed", text(record, "session")
        found.fixed_commit = optional_text(record, "commit")
        found.closed_record = record["id"]


def _finding_waive(state: ProjectState, cycle: Cycle, record: Record) -> None:
    found = _open_finding(state, cycle, record)
    if found is not None:
        found.status = "waived"
        found.waived_by = text_map(record, "by")
        found.waive_reason = text(record, "reason")
        found.closed_record = record["id"]


def _task_reopen(state: ProjectState, cycle: Cycle, record: Record) -> None:
    task = text(record, "task")
    if not task:
        return
    found = state.findings_by_record.get(text(record, "finding_record")) or cycle.findings.get(
        text(record, "finding")
    )
    if found is not None:
        found.reopens = task
    cycle.task_reopens[task] = TaskReopen(
        task,
        record["id"],
        text(record, "reason"),
        found.id if found is not None else None,
        text_map(record, "by"),
    )


def _verdict(state: ProjectState, record: Record) -> None:
    if text(record, "session") in state.walks_ended:
        return  # the walk is over: a verdict after its end changes nothing
    given = state.verdicts.setdefault(text(record, "session"), {})
    given[text(record, "item")] = (text(record, "verdict"), text(record, "note"))


def _walk_problem(state: ProjectState, record: Record) -> None:
    session = text(record, "session")
    if session and session not in state.walks_ended:
        noted = state.walk_problems.setdefault(session, [])
        noted.append((text(record, "severity") or "blocking", text(record, "text")))


def _walk_end(state: ProjectState, record: Record) -> None:
    session = text(record, "session")
    if session:
        state.walks_ended.setdefault(session, record["id"])


def _verify_run(state: ProjectState, record: Record) -> None:
    state.last_run = record
    number = record.get("cycle")
    cycle = state.cycles.get(number) if isinstance(number, int) else None
    (cycle.verify_runs if cycle is not None else state.loose_runs).append(record)


def _rules_accept(state: ProjectState, record: Record) -> None:
    """Kept with the number of sessions started before it (whether it came at setup);
    ``Project`` reads the rules and decides which acceptances count."""
    state.rule_accepts.append(
        RulesAcceptance(
            record["id"],
            text(record, "at"),
            mapping(record, "rules"),
            text(record, "fingerprint"),
            text(record, "source"),
            text_map(record, "by"),
            optional_text(record, "confirmed"),
            len(state.sessions),
        )
    )


def _release(state: ProjectState, cycle: Cycle, record: Record) -> None:
    state.releases[cycle.number] = record


def _answer(state: ProjectState, record: Record) -> None:
    """The answer itself stands in the spec; its record tells who gave it: the approval
    screen tells a person's answer from one an agent wrote into the spec."""
    question = text(record, "question")
    if question:
        state.answers[question] = (text(record, "answer"), text_map(record, "by"))
        number = record.get("cycle")
        cycle = state.cycles.get(number) if isinstance(number, int) else None
        if cycle is not None:  # a brief carries the answers given since its stage last ran
            cycle.answers.append(
                Answer(
                    question,
                    text(record, "answer"),
                    text_map(record, "by"),
                    record["id"],
                    text(record, "at"),
                )
            )


def _nothing(state: ProjectState, record: Record) -> None:
    pass


HANDLERS: dict[Kind, Handler] = {
    "project.init": _project_init,
    "template.base": _template_hashes,
    "template.change": _template_hashes,
    "cycle.open": _cycle_open,
    "cycle.request": _in_cycle(_cycle_request),
    "cycle.move": _in_cycle(_cycle_move),
    "cycle.archive": _in_cycle(_cycle_archive),
    "cycle.abandon": _in_cycle(_cycle_abandon),
    "stage.reopen": _in_cycle(_stage_reopen),
    "session.start": _in_cycle(_session_start),
    "session.launch": _session_launch,
    "session.end": _session_end,
    "gate.approve": _in_cycle(_decision("approve")),
    "gate.reject": _in_cycle(_decision("reject")),
    "question.answer": _answer,
    "finding.add": _in_cycle(_finding_add),
    "finding.fix": _in_cycle(_finding_fix),
    "finding.waive": _in_cycle(_finding_waive),
    "task.reopen": _in_cycle(_task_reopen),
    "verification.verdict": _verdict,
    "verification.problem": _walk_problem,
    "verification.end": _walk_end,
    "verify.run": _verify_run,
    "rules.accept": _rules_accept,
    "release": _in_cycle(_release),
    # The history's own, and the approvers, which core.trust reads: nothing to fold.
    "history.migrate": _nothing,
    "session.exit": _nothing,  # core.trust reads it: the end of what a launch covers
    "approver.add": _nothing,
    "approver.revoke": _nothing,
}

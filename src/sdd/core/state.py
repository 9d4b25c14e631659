"""The derived state: the history folded in id order. Pure: no files, no workflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sdd.core.history import Problem, Record


@dataclass
class Session:
    id: str  # "S-0007"
    record: str  # id of its start record
    cycle: int
    stage: str
    task: str | None
    started: str
    page: str
    head_before: str | None
    dirty_before: dict[str, str]
    agent: str | None
    finding: str | None = None  # a fix session's finding
    writes: list[str] = field(default_factory=list)  # the outputs it must leave
    command: list[str] = field(default_factory=list)  # the agent's command line, brief elided
    log: str | None = None  # where a headless run's output went
    exit_code: int | None = None
    reason: str | None = None  # why it ended other than complete
    outcome: str = "open"  # open, complete, abandoned, interrupted
    ended: str | None = None
    end_record: str | None = None
    head_after: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    note: str | None = None


@dataclass
class Decision:
    gate: str
    kind: str  # "approve" or "reject"
    record: str
    at: str
    by: dict[str, str]
    docs: dict[str, str]
    reason: str | None
    to: str | None
    confirmed: str | None = None  # how the person confirmed it ("code" at a terminal, or "demo")


@dataclass
class Reopen:
    stage: str
    record: str
    reason: str
    source: str  # e.g. "spec-approval rejected"
    caused_by: str = ""  # the stage (or gate) whose finding or decision caused it
    at: str = ""


@dataclass
class Finding:
    id: str  # "F-3"
    cycle: int
    severity: str  # blocking, major, minor
    stage: str  # the stage that found it
    escaped_from: str | None  # the earlier stage that could have caught it
    text: str
    record: str
    session: str | None  # the session that raised it
    status: str = "open"  # open, fixed, waived
    fixed_by: str | None = None
    waived_by: dict[str, str] | None = None
    waive_reason: str | None = None

    @property
    def blocking_open(self) -> bool:
        return self.severity == "blocking" and self.status == "open"


@dataclass
class Cycle:
    number: int
    slug: str
    title: str
    opened: str
    record: str
    discovery: bool
    docs: str = "docs"  # where its documents live: docs/ (living) or docs/cycles/<slug>/
    archived: bool = False
    closed: str | None = None  # "abandoned" once a person drops it
    close_reason: str | None = None
    sessions: list[Session] = field(default_factory=list)
    completions: dict[str, list[str]] = field(default_factory=dict)  # stage -> end record ids
    reopens: dict[str, Reopen] = field(default_factory=dict)  # stage -> latest reopen
    decisions: list[Decision] = field(default_factory=list)
    findings: dict[str, Finding] = field(default_factory=dict)
    loops: list[Reopen] = field(default_factory=list)  # every reopening, in order (post-mortem)

    def open_blocking(self) -> list[Finding]:
        return [f for f in self.findings.values() if f.blocking_open]

    def open_session(self) -> Session | None:
        return next((s for s in reversed(self.sessions) if s.outcome == "open"), None)


@dataclass
class ProjectState:
    name: str = ""
    demo: bool = False
    cycles: dict[int, Cycle] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    records: int = 0
    last_record: str | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    verify_runs: list[Record] = field(default_factory=list)
    verdicts: dict[str, dict[str, tuple[str, str]]] = field(
        default_factory=dict
    )  # session -> item -> (verdict, note)
    releases: dict[int, Record] = field(default_factory=dict)  # cycle -> its release record
    template_hashes: dict[str, str] = field(default_factory=dict)  # sessions/<stage>.md -> hash
    finding_count: int = 0
    finding_ids: set[str] = field(default_factory=set)
    findings_by_record: dict[str, Finding] = field(default_factory=dict)

    def latest_cycle(self) -> Cycle | None:
        return self.cycles[max(self.cycles)] if self.cycles else None

    def next_session_id(self) -> str:
        numbers = [int(s.split("-")[1]) for s in self.sessions if s[2:].isdigit()]
        return f"S-{(max(numbers) + 1) if numbers else 1:04d}"


def _text(record: Record, key: str) -> str:
    value = record.get(key)
    return value if isinstance(value, str) else ""


def _dict(record: Record, key: str) -> dict[str, Any]:
    value = record.get(key)
    return value if isinstance(value, dict) else {}


def _strings(record: Record, key: str) -> list[str]:
    value = record.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _move(cycle: Cycle, docs: str, moved: dict[str, str]) -> None:
    """Documents moved to a new folder: the history's paths follow them."""
    cycle.docs = docs
    for decision in cycle.decisions:
        decision.docs = {moved.get(p, p): h for p, h in decision.docs.items()}
    for session in cycle.sessions:
        session.outputs = {moved.get(p, p): h for p, h in session.outputs.items()}
        session.writes = [moved.get(p, p) for p in session.writes]


def cycle_path(cycle: Cycle, relative: str) -> str:
    """A document path as this cycle sees it: its own folder in the per-cycle layout."""
    if (
        cycle.docs == "docs"
        or not relative.startswith("docs/")
        or relative.startswith("docs/sessions/")
    ):
        return relative
    return cycle.docs + relative[len("docs") :]


def fold(records: list[Record]) -> ProjectState:
    """Fold verified records, already in id order, into the state."""
    state = ProjectState(records=len(records))
    for record in records:
        state.last_record = record["id"]
        kind = record["type"]
        number = record.get("cycle")
        cycle = (
            state.cycles.get(number)
            if isinstance(number, int) and not isinstance(number, bool)
            else None
        )
        if kind == "project.init":
            state.name = _text(record, "name")
            state.demo = record.get("demo") is True
        elif kind == "cycle.open":
            number = record.get("cycle")
            if isinstance(number, int) and number not in state.cycles:
                state.cycles[number] = Cycle(
                    number,
                    _text(record, "slug"),
                    _text(record, "title"),
                    _text(record, "at"),
                    record["id"],
                    record.get("discovery") is True,
                    _text(record, "docs") or "docs",
                )
        elif kind == "cycle.move" and cycle is not None:
            _move(
                cycle,
                _text(record, "docs") or cycle.docs,
                {k: str(v) for k, v in _dict(record, "moved").items()},
            )
        elif kind == "cycle.archive" and cycle is not None:
            cycle.archived = True
        elif kind == "cycle.abandon" and cycle is not None:
            cycle.closed = "abandoned"
            cycle.close_reason = _text(record, "reason")
        elif kind == "session.start" and cycle is not None:
            session = Session(
                id=_text(record, "session"),
                record=record["id"],
                cycle=cycle.number,
                stage=_text(record, "stage"),
                task=record.get("task") if isinstance(record.get("task"), str) else None,
                started=_text(record, "at"),
                page=_text(record, "page"),
                head_before=record.get("head") if isinstance(record.get("head"), str) else None,
                dirty_before={k: str(v) for k, v in _dict(record, "dirty").items()},
                agent=record.get("agent") if isinstance(record.get("agent"), str) else None,
                finding=record.get("finding") if isinstance(record.get("finding"), str) else None,
                writes=_strings(record, "writes"),
            )
            cycle.sessions.append(session)
            state.sessions[session.id] = session
        elif kind == "session.launch":
            launched = state.sessions.get(_text(record, "session"))
            if launched is not None:
                launched.command = _strings(record, "command")
                launched.log = record.get("log") if isinstance(record.get("log"), str) else None
        elif kind == "session.end":
            ended = state.sessions.get(_text(record, "session"))
            if ended is None or ended.outcome != "open":
                continue
            session = ended
            session.outcome = _text(record, "outcome") or "abandoned"
            session.ended = _text(record, "at")
            session.end_record = record["id"]
            head = record.get("head")
            session.head_after = head if isinstance(head, str) else None
            session.outputs = {k: str(v) for k, v in _dict(record, "outputs").items()}
            changed = record.get("changed")
            session.changed = (
                [c for c in changed if isinstance(c, str)] if isinstance(changed, list) else []
            )
            code = record.get("exit_code")
            session.exit_code = code if isinstance(code, int) else None
            reason = record.get("reason")
            session.reason = reason if isinstance(reason, str) else None
            note = record.get("note")
            session.note = note if isinstance(note, str) else None
            owner = state.cycles.get(session.cycle)
            if owner is not None and session.outcome == "complete":
                owner.completions.setdefault(session.stage, []).append(record["id"])
        elif kind in ("gate.approve", "gate.reject") and cycle is not None:
            decision = Decision(
                gate=_text(record, "gate"),
                kind="approve" if kind == "gate.approve" else "reject",
                record=record["id"],
                at=_text(record, "at"),
                by={k: str(v) for k, v in _dict(record, "by").items()},
                docs={k: str(v) for k, v in _dict(record, "docs").items()},
                reason=record.get("reason") if isinstance(record.get("reason"), str) else None,
                to=record.get("to") if isinstance(record.get("to"), str) else None,
                confirmed=record.get("confirmed")
                if isinstance(record.get("confirmed"), str)
                else None,
            )
            cycle.decisions.append(decision)
            if decision.kind == "reject" and decision.to:
                reopen = Reopen(
                    decision.to,
                    record["id"],
                    decision.reason or "",
                    f"{decision.gate} rejected",
                    decision.gate,
                    decision.at,
                )
                cycle.reopens[decision.to] = reopen
                cycle.loops.append(reopen)
        elif kind == "finding.add" and cycle is not None:
            ident = _text(record, "finding")
            if ident in state.finding_ids:
                # Two branches numbered their findings alike: the later one, in id order,
                # takes the next free number, so a merge loses none.
                ident = f"F-{state.finding_count + 1}"
                while ident in state.finding_ids:
                    ident = f"F-{int(ident[2:]) + 1}"
            if ident:
                escaped = record.get("escaped_from")
                raised = record.get("session")
                cycle.findings[ident] = Finding(
                    ident,
                    cycle.number,
                    _text(record, "severity"),
                    _text(record, "stage"),
                    escaped if isinstance(escaped, str) else None,
                    _text(record, "text"),
                    record["id"],
                    raised if isinstance(raised, str) else None,
                )
                state.finding_count += 1
                state.finding_ids.add(ident)
                state.findings_by_record[record["id"]] = cycle.findings[ident]
        elif kind == "finding.fix" and cycle is not None:
            found = state.findings_by_record.get(
                _text(record, "finding_record")
            ) or cycle.findings.get(_text(record, "finding"))
            if found is not None and found.status == "open":
                found.status, found.fixed_by = "fixed", _text(record, "session")
        elif kind == "finding.waive" and cycle is not None:
            found = state.findings_by_record.get(
                _text(record, "finding_record")
            ) or cycle.findings.get(_text(record, "finding"))
            if found is not None and found.status == "open":
                found.status = "waived"
                found.waived_by = {k: str(v) for k, v in _dict(record, "by").items()}
                found.waive_reason = _text(record, "reason")
        elif kind == "verification.verdict":
            given = state.verdicts.setdefault(_text(record, "session"), {})
            given[_text(record, "item")] = (_text(record, "verdict"), _text(record, "note"))
        elif kind == "release" and cycle is not None:
            state.releases[cycle.number] = record
        elif kind in ("template.base", "template.change"):
            for path, digest in _dict(record, "hashes").items():
                state.template_hashes[path] = str(digest)
        elif kind == "verify.run":
            state.verify_runs.append(record)
        elif kind == "stage.reopen" and cycle is not None:
            stage = _text(record, "stage")
            reopen = Reopen(
                stage,
                record["id"],
                _text(record, "reason"),
                _text(record, "source") or "reopened",
                _text(record, "caused_by"),
                _text(record, "at"),
            )
            cycle.reopens[stage] = reopen
            cycle.loops.append(reopen)
    return state

"""The state folded and verified up to a point, kept so that a command folds and verifies only
the records appended since (issue 21).

A checkpoint holds what a walk over the history in id order had reached: the folded state
of the records that count (before ``Project``'s own checks), the trust walk that decided what
counts (``core.trust.Evaluator``), the heads, the last id, and what it covers of the history:
for each file read, its name, size, status (modification and change times, inode), number of
lines and the SHA-256 of those bytes (``history.load_since`` checks them). A command that
finds the files as covered, plus records after, folds and verifies only those records and
gets the state a full fold gives. It folds the whole history instead when anything it covers
changed (an edit, a truncation, a removed or renamed file, a file a merge brought in before
the last covered one), when a new record is not appended after the heads it knows (a merge:
the graph must be walked again), when a new record would change a verdict already given
(the first approver's record, or a `session.exit` that would have kept a launch running
while a person's act was judged), or when the checkpoint is damaged, foreign or of another
version.

**What the checkpoint may decide.** It lives in ``.sdd/cache/`` (git-ignored), which anything
running as the person can write — an agent included — and nothing in it can be authenticated:
there is no secret the agent cannot read. A checkpoint is therefore a claim, and a forged one
could say that an act counts whose signature does not hold, that a rejection never happened,
or that a project with approvers is unsigned. So:

- A command that only shows (``status`` after a change, ``next``, ``prompt``, ``check``,
  ``tasks``, ``log``, ``dashboard``, the MCP server's reads) may start from the checkpoint on
  disk. Its records after the checkpoint are verified as always; what it shows of the
  covered part is what the checkpoint says.
- A command that decides and records (a transaction) never starts from a checkpoint it read
  from disk: it folds and verifies the whole history, every signature checked against the
  approvers in force at its record. After it has appended its own records it continues from
  the checkpoint it made itself in this process — computed from bytes it verified a moment
  ago, under the lock — and folds only what it appended. That is where the second load of
  `start` went. Each signature that decision rests on was verified in this process, from the
  bytes the hashes cover, with the approvers the walk had in force at that record: the
  verdict is a function of (signature, record hash, approvers in force), and those are the
  walk's own, never read back.
- The checkpoint a transaction writes is what the next reads start from, and a checkpoint
  covering the last file only up to its old end makes the next command verify just what
  was appended.

Only ``marshal`` and plain values: a file an agent may have written is never unpickled.
"""

from __future__ import annotations

import marshal
from dataclasses import fields
from itertools import starmap
from operator import attrgetter
from typing import Any

from sdd.core.history import Loaded, Problem, ancestors
from sdd.core.records import Record
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
)
from sdd.core.trust import Approver, Evaluator, Trust

VERSION = 2
# Records whose place a problem may name after they are covered (`Project`'s checks).
_PLACED = frozenset({"gate.approve", "gate.reject", "rules.accept"})


class Checkpoint:
    """A fold and its trust walk up to a point of the history (see the module docstring)."""

    def __init__(
        self,
        *,
        coverage: list[list[Any]],
        written: int,
        state: ProjectState,
        evaluator: Evaluator,
        heads: list[str],
        last_id: str | None,
        count: int,
        problems: list[Problem],
        uncovered: dict[str, list[str]],
        places: dict[str, list[Any]],
        unconfirmed: bool,
    ) -> None:
        self.coverage = coverage
        self.written = written
        self.state = state  # the raw fold: `Project` applies its checks to a copy
        self.evaluator = evaluator
        self.heads = heads
        self.last_id = last_id
        self.count = count
        self.problems = problems  # what reading the covered files found
        self.uncovered = uncovered  # head -> counted ids no good signature covers
        self.places = places  # record id -> [file, line], for the records in _PLACED
        self.unconfirmed = unconfirmed  # a recovery key waits for the protected branch
        self.unchanged = False  # nothing new since the checkpoint it continues (not rewritten)

    def place(self, record_id: str) -> tuple[str, int]:
        file, line = self.places.get(record_id, ("", 0))
        return str(file), int(line)

    @property
    def unseen(self) -> int:
        return len({i for ids in self.uncovered.values() for i in ids})


def full(
    loaded: Loaded, evaluator: Evaluator, state: ProjectState, written: int
) -> Checkpoint | None:
    """The checkpoint of a whole history just folded (None when it cannot be one: records
    are missing, or a file changed while it was read or ends in a line cut short)."""
    if loaded.coverage is None or loaded.missing or loaded.warnings:
        return None
    trust = evaluator.trust
    counted = [r for r in loaded.records if trust.counts(r)]
    uncovered: dict[str, list[str]] = {}
    if trust.signed:
        waiting = {r["id"] for r in counted if r["id"] not in trust.covered}
        for head in loaded.heads:
            mine = ancestors(loaded, [head]) & waiting if len(loaded.heads) > 1 else waiting
            uncovered[head] = sorted(mine)
    unconfirmed = any(
        r["type"] == "approver.add" and r.get("recovery") is True and r["id"] not in trust.confirmed
        for r in loaded.records
    )
    return Checkpoint(
        coverage=loaded.coverage,
        written=written,
        state=state,
        evaluator=evaluator,
        heads=list(loaded.heads),
        last_id=loaded.records[-1]["id"] if loaded.records else None,
        count=len(loaded.records),
        problems=list(loaded.problems),
        uncovered=uncovered,
        places=_places(loaded, loaded.records),
        unconfirmed=unconfirmed,
    )


def _places(loaded: Loaded, records: list[Record]) -> dict[str, list[Any]]:
    return {
        r["id"]: [loaded.files.get(r["id"], ""), loaded.lines.get(r["id"], 0)]
        for r in records
        if r["type"] in _PLACED
    }


def advance(
    checkpoint: Checkpoint,
    tail: Loaded,
    fold_into: Any,
    confirmed: Any,
    written: int,
) -> Checkpoint | None:
    """The checkpoint after ``tail`` (the records appended since, read and verified by
    ``history.load_since``): the trust walk and the fold fed those records. None when they
    are not simply appended after what it covers: the caller folds the whole history.
    ``fold_into(state, records)`` folds; ``confirmed(tail)`` is the protected branch's ids.
    The checkpoint given is changed: use the one returned."""
    if checkpoint.unconfirmed or tail.coverage is None or tail.warnings:
        return None
    records = tail.records
    evaluator = checkpoint.evaluator
    if records and checkpoint.last_id is not None and records[0]["id"] <= checkpoint.last_id:
        return None  # a record dated inside what is covered: a merge, folded in id order
    heads = dict.fromkeys(checkpoint.heads)
    uncovered = checkpoint.uncovered
    for record in records:
        up = record.get("parents")
        if record.get("v") == 1 or not isinstance(up, list):
            return None
        if any(not isinstance(p, str) or p not in heads for p in up):
            return None  # appended after a record that is not a head: walk the graph again
        kind = record["type"]
        if kind == "approver.add" and evaluator.past is None:
            return None  # the first approver: the unsigned past it defines is judged anew
        if kind == "session.exit":
            session = record.get("session")
            popped = evaluator.popped.pop(str(session), None)
            if popped is not None:
                if evaluator.acts > popped[1]:
                    return None  # an act was judged while this launch, as now known, ran
                evaluator.running[str(session)] = popped[0]
            evaluator.exits.add(session if isinstance(session, str) else None)
        for parent in up:
            del heads[parent]
        heads[record["hash"]] = None
    if evaluator.first is None and records:
        evaluator.first = records[0]["id"]  # the checkpoint was of an empty history
    wanted = any(r["type"] == "approver.add" and r.get("recovery") is True for r in records)
    evaluator.trust.confirmed = confirmed(tail) if wanted else frozenset()
    evaluator.feed(tail, records)
    trust = evaluator.trust
    if trust.signed:
        for record in records:
            mine: set[str] = set()
            for parent in record["parents"]:
                mine.update(uncovered.pop(parent, ()))
            if record["id"] in trust.signed_by:
                mine = set()
            elif trust.counts(record):
                mine.add(record["id"])
            uncovered[record["hash"]] = sorted(mine)
    else:
        uncovered = {}
    unconfirmed = any(
        r["type"] == "approver.add" and r.get("recovery") is True and r["id"] not in trust.confirmed
        for r in records
    )
    trust.confirmed = frozenset()
    counted = [r for r in records if trust.counts(r)]
    state = checkpoint.state
    fold_into(state, counted)
    by_name = {entry[0]: entry for entry in tail.coverage}
    coverage = [by_name.get(entry[0], entry) for entry in checkpoint.coverage]
    coverage += [entry for entry in tail.coverage if entry[0] not in {c[0] for c in coverage}]
    places = dict(checkpoint.places)
    places.update(_places(tail, records))
    return Checkpoint(
        coverage=coverage,
        written=written,
        state=state,
        evaluator=evaluator,
        heads=sorted(heads),
        last_id=records[-1]["id"] if records else checkpoint.last_id,
        count=checkpoint.count + len(records),
        problems=[*checkpoint.problems, *tail.problems],
        uncovered=uncovered,
        places=places,
        unconfirmed=unconfirmed,
    )


# ------------------------------------------------------------------ encoding (marshal only)

_LEAVES: tuple[type, ...] = (
    Session,
    Decision,
    Reopen,
    Finding,
    TaskReopen,
    RulesAcceptance,
    Answer,
    Problem,
    Approver,
)
_NAMES = {cls: tuple(f.name for f in fields(cls)) for cls in _LEAVES}
_GETTERS = {cls: attrgetter(*names) for cls, names in _NAMES.items()}


def _leaf(obj: Any) -> tuple[Any, ...]:
    return _GETTERS[type(obj)](obj)  # every leaf has several fields: a tuple


def _cycle(cycle: Cycle, session_index: dict[int, int], finding_index: dict[int, int]) -> Any:
    return (
        cycle.number,
        cycle.slug,
        cycle.title,
        cycle.opened,
        cycle.record,
        cycle.discovery,
        cycle.docs,
        cycle.archived,
        cycle.closed,
        cycle.close_reason,
        [session_index[id(s)] for s in cycle.sessions],
        cycle.completions,
        {k: _leaf(v) for k, v in cycle.reopens.items()},
        [_leaf(d) for d in cycle.decisions],
        {k: finding_index[id(f)] for k, f in cycle.findings.items()},
        [_leaf(r) for r in cycle.loops],
        {k: _leaf(v) for k, v in cycle.task_reopens.items()},
        cycle.request,
        cycle.request_doc,
        [_leaf(a) for a in cycle.answers],
    )


def encode(checkpoint: Checkpoint) -> bytes:
    state = checkpoint.state
    sessions: list[Session] = []
    session_index: dict[int, int] = {}
    findings: list[Finding] = []
    finding_index: dict[int, int] = {}

    def add_session(session: Session) -> int:
        if id(session) not in session_index:
            session_index[id(session)] = len(sessions)
            sessions.append(session)
        return session_index[id(session)]

    def add_finding(finding: Finding) -> int:
        if id(finding) not in finding_index:
            finding_index[id(finding)] = len(findings)
            findings.append(finding)
        return finding_index[id(finding)]

    for cycle in state.cycles.values():
        for session in cycle.sessions:
            add_session(session)
        for finding in cycle.findings.values():
            add_finding(finding)
    state_sessions = {k: add_session(v) for k, v in state.sessions.items()}
    by_record = {k: add_finding(v) for k, v in state.findings_by_record.items()}
    evaluator = checkpoint.evaluator
    trust = evaluator.trust
    body = {
        "version": VERSION,
        "coverage": checkpoint.coverage,
        "written": checkpoint.written,
        "heads": checkpoint.heads,
        "last_id": checkpoint.last_id,
        "count": checkpoint.count,
        "problems": [_leaf(p) for p in checkpoint.problems],
        "uncovered": checkpoint.uncovered,
        "places": checkpoint.places,
        "unconfirmed": checkpoint.unconfirmed,
        "sessions": [_leaf(s) for s in sessions],
        "findings": [_leaf(f) for f in findings],
        "state": (
            state.name,
            state.demo,
            [_cycle(c, session_index, finding_index) for c in state.cycles.values()],
            state_sessions,
            state.records,
            state.last_record,
            state.verify_runs,
            [_leaf(r) for r in state.rule_accepts],
            state.verdicts,
            state.walk_problems,
            state.walks_ended,
            list(state.releases.items()),
            state.template_hashes,
            state.finding_count,
            state.finding_ids,
            by_record,
            state.answers,
        ),
        "trust": (
            trust.signed,
            {k: _leaf(a) for k, a in trust.approvers.items()},
            {k: _leaf(a) for k, a in trust.known.items()},
            trust.not_counted,
            trust.signed_by,
            [_leaf(p) for p in trust.problems],
        ),
        "walk": (
            evaluator.first,
            sorted(evaluator.detached),
            None if evaluator.past is None else sorted(evaluator.past),
            evaluator.exits,
            evaluator.running,
            evaluator.acts,
            evaluator.popped,
        ),
    }
    return marshal.dumps(body)


def decode(data: bytes) -> Checkpoint | None:
    """The checkpoint ``data`` holds; None for anything else (damaged, foreign, another
    version, written by hand): the caller folds the whole history."""
    try:
        body = marshal.loads(data)
        if not isinstance(body, dict) or body.get("version") != VERSION:
            return None
        return _decode(body)
    except Exception:  # a malformed checkpoint is only a missed shortcut
        return None


def _make(cls: type, values: Any) -> Any:
    if not isinstance(values, tuple) or len(values) != len(_NAMES[cls]):
        raise ValueError(cls.__name__)
    return cls(*values)


def _many(cls: type, rows: Any) -> list[Any]:
    """``cls(*row)`` for each row (a row of the wrong length is a TypeError: not a
    checkpoint sdd wrote)."""
    return list(starmap(cls, rows))


def _decode(body: dict[str, Any]) -> Checkpoint:
    sessions = _many(Session, body["sessions"])
    findings = _many(Finding, body["findings"])
    (
        name,
        demo,
        cycles,
        state_sessions,
        records,
        last_record,
        verify_runs,
        rule_accepts,
        verdicts,
        walk_problems,
        walks_ended,
        releases,
        template_hashes,
        finding_count,
        finding_ids,
        by_record,
        answers,
    ) = body["state"]
    state = ProjectState(
        name=name,
        demo=demo,
        records=records,
        last_record=last_record,
        verify_runs=verify_runs,
        rule_accepts=[_make(RulesAcceptance, v) for v in rule_accepts],
        verdicts=verdicts,
        walk_problems=walk_problems,
        walks_ended=walks_ended,
        releases=dict(releases),
        template_hashes=template_hashes,
        finding_count=finding_count,
        finding_ids=set(finding_ids),
        answers=answers,
    )
    for values in cycles:
        cycle = Cycle(*values[:10])
        cycle.sessions = [sessions[i] for i in values[10]]
        cycle.completions = values[11]
        cycle.reopens = {k: _make(Reopen, v) for k, v in values[12].items()}
        cycle.decisions = [_make(Decision, v) for v in values[13]]
        cycle.findings = {k: findings[i] for k, i in values[14].items()}
        cycle.loops = [_make(Reopen, v) for v in values[15]]
        cycle.task_reopens = {k: _make(TaskReopen, v) for k, v in values[16].items()}
        cycle.request, cycle.request_doc = values[17], values[18]
        cycle.answers = _many(Answer, values[19])
        state.cycles[cycle.number] = cycle
    state.sessions = {k: sessions[i] for k, i in state_sessions.items()}
    state.findings_by_record = {k: findings[i] for k, i in by_record.items()}
    signed, approvers, known, not_counted, signed_by, trust_problems = body["trust"]
    trust = Trust(
        signed=signed,
        approvers={k: _make(Approver, v) for k, v in approvers.items()},
        known={k: _make(Approver, v) for k, v in known.items()},
        not_counted=not_counted,
        signed_by=signed_by,
        problems=[_make(Problem, v) for v in trust_problems],
    )
    first, detached, past, exits, running, acts, popped = body["walk"]
    if detached:
        raise ValueError("a checkpoint is never made of a history with records missing")
    evaluator = Evaluator(
        trust, first, set(), None if past is None else set(past), set(exits), running, acts, popped
    )
    coverage = body["coverage"]
    if not isinstance(coverage, list) or not all(
        isinstance(c, list) and len(c) == 7 and isinstance(c[0], str) for c in coverage
    ):
        raise ValueError("coverage")
    return Checkpoint(
        coverage=coverage,
        written=int(body["written"]),
        state=state,
        evaluator=evaluator,
        heads=list(body["heads"]),
        last_id=body["last_id"],
        count=int(body["count"]),
        problems=[_make(Problem, v) for v in body["problems"]],
        uncovered=body["uncovered"],
        places=body["places"],
        unconfirmed=bool(body["unconfirmed"]),
    )

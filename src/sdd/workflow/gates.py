"""Where a cycle stands: which stages are done, and the state of every gate.

A stage is done when its latest complete session came after the latest reopening of
it or of any stage before it. A gate is approved when a valid approval came after the
stages it judges were last completed, and the documents it approved are unchanged;
otherwise it is waiting, rejected, stale or not yet reached.
"""

from __future__ import annotations

from collections.abc import Callable

from sdd.core.structs import dataclass, field
from sdd.workflow.model import RELEASE_GATE, WALK_DUE, Gate, Workflow

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.core.state import Cycle, Decision
    from sdd.core.trust import Tally

Hasher = Callable[[str], "str | None"]
VERDICTS_CHANGED = "the walkthrough's verdicts (`sdd walkthrough`)"
# What a gate still lacks before a person may pass it (e.g. the spec's confidence).
Conditions = Callable[[Gate, "dict[str, str | None]"], "list[str]"]
# Counts a gate's approvals ((record, who), oldest first) under its team rule (core.trust.tally).
Counter = Callable[[Gate, "list[tuple[str, dict[str, str]]]"], "Tally"]


@dataclass
class GateView:
    """A gate as it stands: its state, the decision it rests on, the documents it judges."""

    gate: Gate
    state: str  # not-yet, waiting, approved, rejected, stale
    decision: Decision | None = None  # the decision the state rests on
    documents: dict[str, str | None] = field(default_factory=dict)  # judged path -> current hash
    changed: list[str] = field(default_factory=list)  # judged documents changed since approval
    note: str = ""
    unmet: list[str] = field(default_factory=list)  # conditions the gate requires that do not hold
    reopened: bool = False  # stale because a change request reopened a stage it judged
    tally: Tally | None = None  # the approvals that count under the gate's team rule

    @property
    def passed(self) -> bool:
        return self.state == "approved"


class Position:
    """The progress of one cycle under one workflow."""

    def __init__(
        self,
        workflow: Workflow,
        cycle: Cycle,
        *,
        demo: bool,
        hasher: Hasher,
        tasks: list[str] | None = None,
        conditions: Conditions | None = None,
        released: bool = False,
        verdicts: Callable[[Gate], str | None] | None = None,
        counter: Counter | None = None,
    ) -> None:
        self.workflow = workflow
        self.cycle = cycle
        self.demo = demo
        self.names = workflow.names(discovery=cycle.discovery)
        self._hasher = hasher
        self._conditions = conditions
        self._verdicts = verdicts  # the digest of the walk a gate after a person's stage judges
        self._counter = counter
        self.released = released
        self.tasks = tasks or []  # the approved plan's task ids, in plan order
        self.tasks_done = self._tasks_done()
        self.done: dict[str, bool] = {}
        for name in self.names:  # in order: a stage is done only after the one before it
            self.done[name] = self._is_done(name)
        self.current = next((n for n in self.names if not self.done[n]), None)
        self.gates = [self._gate(g) for g in workflow.gates if g.after in self.names]

    def reopen_floor(self, stage: str) -> str:
        """The latest reopening that affects ``stage``: of it or of any stage before it."""
        index = self.names.index(stage)
        floor = ""
        for name in self.names[: index + 1]:
            reopen = self.cycle.reopens.get(name)
            if reopen and reopen.record > floor:
                floor = reopen.record
        return floor

    def per_task_stage(self) -> str | None:
        return next(
            (
                s.name
                for s in self.workflow.stages
                if s.repeat == "per-task" and s.name in self.names
            ),
            None,
        )

    def _tasks_done(self) -> set[str]:
        stage = self.per_task_stage()
        if stage is None:
            return set()
        # A fix loop reopens implement but leaves its tasks done; a new plan does not.
        index = self.names.index(stage)
        floor = self.reopen_floor(self.names[index - 1]) if index else ""
        reopened = self.cycle.task_reopens  # a person reopened it: done again by a later session
        return {
            s.task
            for s in self.cycle.sessions
            if s.stage == stage
            and s.outcome == "complete"
            and s.task
            and (s.end_record or "")
            > max(floor, reopened[s.task].record if s.task in reopened else "")
        }

    def _is_done(self, stage: str) -> bool:
        ends = self.cycle.completions.get(stage)
        if ends is None or ends[-1] <= self.reopen_floor(stage):
            return False
        index = self.names.index(stage)
        # A stage judges the work of the stages before it: it counts only when they are done
        # and it completed after the one before it last did (QA must see the fix).
        if index:
            before = self.names[index - 1]
            if not self.done.get(before, False) or ends[-1] < self.last_completion(before):
                return False
        if stage == self.per_task_stage():
            if self.cycle.open_blocking():
                return False
            if self.tasks:
                return all(t in self.tasks_done for t in self.tasks)
        return True

    def last_completion(self, stage: str) -> str:
        ends = self.cycle.completions.get(stage)
        return ends[-1] if ends else ""

    def judged_documents(self, gate: Gate) -> dict[str, str | None]:
        """The documents a gate judges: the outputs of the latest sessions of its stages."""
        docs: dict[str, str | None] = {}
        for stage in gate.judges:
            session = next(
                (
                    s
                    for s in reversed(self.cycle.sessions)
                    if s.stage == stage and s.outcome == "complete"
                ),
                None,
            )
            paths = list(session.outputs) if session else []
            for path in paths:
                docs[path] = self._hasher(path)
        return docs

    def _gate(self, gate: Gate) -> GateView:
        judged = [s for s in gate.judges if s in self.names]
        if not all(self.done.get(s) for s in [*judged, gate.after]):
            last_reject = self._latest(gate, kinds=("reject",))
            if last_reject and any(
                (r := self.cycle.reopens.get(s)) and r.record == last_reject.record
                for s in self.names
            ):
                return GateView(gate, "rejected", last_reject, note=last_reject.reason or "")
            request = self._changed_by_request(gate)
            if request is not None:
                approval, reason = request
                return GateView(
                    gate, "stale", approval, changed=[f"change request: {reason}"], reopened=True
                )
            return GateView(gate, "not-yet")
        documents = self.judged_documents(gate)
        floor = max(self.last_completion(s) for s in [*judged, gate.after])
        decision = self._latest(gate, kinds=("approve", "reject"), after=floor)
        if decision is None:
            wanted = gate.requires or self.walked(gate)
            unmet = self._conditions(gate, documents) if self._conditions and wanted else []
            return GateView(gate, "waiting", documents=documents, unmet=unmet)
        if decision.kind == "reject":  # a rejection reopens a stage, so this is rare
            return GateView(gate, "rejected", decision, documents, note=decision.reason or "")
        if decision.by.get("kind") == "demo" and not self.demo:
            return GateView(
                gate,
                "waiting",
                None,
                documents,
                note="an approval by the demo approver only counts in a demo project",
            )
        changed = self._changed(gate, decision, documents)
        if changed:
            return GateView(gate, "stale", decision, documents, changed)
        if self._counter is None:
            return GateView(gate, "approved", decision, documents)
        # The team rule: every fresh approval since the stages were last done, counted by
        # people (and their roles), not by records.
        fresh = [
            (d.record, d.by)
            for d in self.cycle.decisions
            if d.gate == gate.name
            and d.kind == "approve"
            and d.record > floor
            and not self._changed(gate, d, documents)
        ]
        tally = self._counter(gate, fresh)
        if tally.met:
            return GateView(gate, "approved", decision, documents, tally=tally)
        wanted = gate.requires or self.walked(gate)
        unmet = self._conditions(gate, documents) if self._conditions and wanted else []
        return GateView(
            gate, "waiting", decision, documents, note=tally.wanting, unmet=unmet, tally=tally
        )

    def _changed(
        self, gate: Gate, decision: Decision, documents: dict[str, str | None]
    ) -> list[str]:
        """What changed since ``decision`` approved the gate (nothing: it still holds)."""
        changed = [p for p, h in decision.docs.items() if documents.get(p, self._hasher(p)) != h]
        if decision.verdicts and self._verdicts and self._verdicts(gate) != decision.verdicts:
            changed.append(VERDICTS_CHANGED)  # a verdict recorded after the approval
        return changed

    def walked(self, gate: Gate) -> bool:
        """Whether the person walks what ``gate`` judges before deciding it: it follows a
        person's stage (user verification), which an agent prepares."""
        stage = self.workflow.by_name.get(gate.after)
        return stage is not None and stage.actor == "person"

    def _changed_by_request(self, gate: Gate) -> tuple[Decision, str] | None:
        """The approval a later change request turned stale, and the request."""
        approval = self._latest(gate, kinds=("approve",))
        if approval is None:
            return None
        index = self.names.index(gate.after)
        for name in self.names[: index + 1]:
            reopen = self.cycle.reopens.get(name)
            if reopen and reopen.source == "change request" and reopen.record > approval.record:
                return approval, reopen.reason
        return None

    def _latest(self, gate: Gate, *, kinds: tuple[str, ...], after: str = "") -> Decision | None:
        for decision in reversed(self.cycle.decisions):
            if decision.gate == gate.name and decision.kind in kinds and decision.record > after:
                return decision
        return None

    def gate_view(self, name: str) -> GateView | None:
        return next((v for v in self.gates if v.gate.name == name), None)

    def blocking_gate(self, stage: str) -> GateView | None:
        """The first gate before ``stage`` that is not passed, if any."""
        index = self.names.index(stage)
        for view in self.gates:
            if self.names.index(view.gate.after) < index and not view.passed:
                return view
        return None

    def affected_by(self, stage: str) -> dict[str, list[str]]:
        """The approvals, completed sessions and done tasks that reopening ``stage`` touches."""
        later = set(self.names[self.names.index(stage) :])
        gates = [
            v.gate.name for v in self.gates if v.gate.after in later and v.decision is not None
        ]
        sessions = [
            s.id for s in self.cycle.sessions if s.stage in later and s.outcome == "complete"
        ]
        tasks = sorted(self.tasks_done) if self.per_task_stage() in later else []
        return {"gates": gates, "sessions": sessions, "tasks": tasks}

    def pending_change(self) -> dict[str, object] | None:
        """The latest change request whose stage is not done again yet, with what it affects."""
        requests = [r for r in self.cycle.reopens.values() if r.source == "change request"]
        for reopen in sorted(requests, key=lambda r: r.record, reverse=True):
            if reopen.stage in self.names and not self.done[reopen.stage]:
                touched = [
                    s for s in self.cycle.sessions if s.end_record and s.end_record < reopen.record
                ]
                later = set(self.names[self.names.index(reopen.stage) :])
                return {
                    "stage": reopen.stage,
                    "reason": reopen.reason,
                    "at": reopen.at,
                    "gates": [v.gate.name for v in self.gates if v.reopened],
                    "sessions": [
                        s.id for s in touched if s.stage in later and s.outcome == "complete"
                    ],
                    "tasks": sorted({s.task for s in touched if s.task and s.stage in later}),
                }
        return None

    def release_due(self, stage: str) -> bool:
        """Whether `stage` waits for `sdd release`: it follows a passed release gate."""
        index = self.names.index(stage)
        if index == 0 or self.released:
            return False
        gate = self.workflow.gate_after(self.names[index - 1])
        view = self.gate_view(gate.name) if gate and gate.name == RELEASE_GATE else None
        return view is not None and view.passed

    @property
    def finished(self) -> bool:
        return self.current is None and all(v.passed for v in self.gates)


def release_stage(position: Position) -> str | None:
    """The stage the release gate follows (final verification): no major finding may be open
    when it starts."""
    gate = position.workflow.gate(RELEASE_GATE)
    return gate.after if gate is not None and gate.after in position.names else None


def admit(position: Position, stage: str, *, fixing: bool = False, alongside: bool = False) -> None:
    """Raise unless a session of ``stage`` may start now. The one place this is decided.
    ``fixing``: a fix session for a named finding, which may redo the per-task stage after
    the gates that followed it (the code changes, so the stages after it run again).
    ``alongside``: `sdd run --parallel` starts a task's session of the per-task stage while
    other sessions of that stage, and only those, are open (each in its own worktree)."""
    from sdd.core.errors import Refused, UsageError

    cycle = position.cycle
    if stage not in position.names:
        known = ", ".join(position.names)
        raise UsageError(f"{stage!r} is not a stage of this cycle (stages: {known})")
    if cycle.closed:
        raise Refused(
            f"cycle {cycle.number} was {cycle.closed}", hint='open the next one: sdd new "TITLE"'
        )
    if position.current is None:
        raise Refused(
            f"cycle {cycle.number} is finished: every stage is done",
            hint='open the next one: sdd new "TITLE"',
        )
    session = cycle.open_session()
    side_by_side = alongside and stage == position.per_task_stage()
    if session is not None and not (
        side_by_side and all(s.stage == stage for s in cycle.sessions if s.outcome == "open")
    ):
        raise Refused(
            f"session {session.id} ({session.stage}) is still open",
            hint="finish it with `sdd done` or drop it with `sdd abandon`",
        )
    index = position.names.index(stage)
    current = position.names.index(position.current)
    blocker = position.blocking_gate(stage)
    if blocker is not None:
        gate = blocker.gate.name
        if blocker.state == "stale":
            why = f"{gate} is stale: {', '.join(blocker.changed)} changed after it was approved"
            hint = f"a person runs `sdd approve {gate}` (it shows the diff) or `sdd reject {gate} --reason …`"
        elif blocker.state == "not-yet":
            why = f"{gate} cannot be decided yet: {blocker.gate.after} is not done"
            hint = f"run the {position.current} session first: sdd start {position.current}"
        elif any(u.startswith(WALK_DUE) for u in blocker.unmet):
            why = f"{gate} waits for the person's walkthrough of {blocker.gate.after}"
            hint = (
                f"a person runs `sdd walkthrough` in their own terminal, then `sdd approve {gate}`"
            )
        elif blocker.tally is not None and blocker.tally.by:
            why = f"{gate} is {blocker.tally.wanting}"
            hint = f"another approver runs `sdd approve {gate}` in their own terminal"
        else:
            why = f"{gate} is {blocker.state}: nothing passes it but a person's approval"
            hint = f"a person runs `sdd approve {gate}` in their own terminal"
        raise Refused(f"{stage} is behind the gate {gate}; {why}", hint=hint)
    if position.release_due(stage) and index == current:
        raise Refused(
            f"{stage} comes after the release, which is not recorded yet",
            hint="record it: sdd release [--tag TAG]",
        )
    if index > current:
        raise Refused(
            f"{stage} is not next: {position.current} comes first",
            hint=f"sdd start {position.current}",
        )
    majors = cycle.open_major()
    if majors and stage == release_stage(position) and not fixing:
        found, fixer = majors[0], position.per_task_stage()
        waive = f'a person waives it: sdd findings waive {found.id} --reason "WHY"'
        raise Refused(
            f"{stage} cannot start while a major finding is open: "
            + ", ".join(f"{f.id} ({f.text})" for f in majors),
            hint=f"fix it: sdd start {fixer} --finding {found.id} (or {waive})" if fixer else waive,
        )
    if index < current and not fixing:
        # Redoing an earlier stage is allowed only where no passed gate covers it.
        for view in position.gates:
            after = position.names.index(view.gate.after)
            if index <= after < current and view.passed:
                raise Refused(
                    f"{stage} is done and {view.gate.name} approved it",
                    hint="to change an approved stage, a person rejects or re-decides its gate",
                )

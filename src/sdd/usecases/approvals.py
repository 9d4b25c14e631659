"""A person's decision at a gate: what is judged, the confirmation, the record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sdd.agents import person
from sdd.core import files
from sdd.core.errors import Refused, SddError, UsageError
from sdd.core.jsonable import OMIT
from sdd.core.state import Cycle
from sdd.documents import snapshots
from sdd.project.project import Project, refuse_if_tampered
from sdd.usecases import acts
from sdd.workflow.gates import GateView, Position
from sdd.workflow.model import RELEASE_GATE, Gate


@dataclass
class Review:
    """What a person sees before deciding a gate."""

    gate: str
    cycle: int
    cycle_title: str = field(metadata=OMIT)
    state: str
    documents: dict[str, str | None]
    diffs: dict[str, str] = field(default_factory=dict)  # for a stale approval: path -> diff
    code: str = field(default="", metadata=OMIT)  # typed back at the terminal, never sent
    stages: tuple[str, ...] = field(default=(), metadata=OMIT)


@dataclass
class DecisionResult:
    gate: str
    cycle: int
    decision: str
    by: dict[str, str]
    documents: dict[str, str | None]
    reopened: str | None
    next: dict[str, object]


# Shows the review and returns what the person typed back (or None when they gave up).
Confirm = Callable[[Review], "str | None"]


def _view(project: Project, position: Position, gate: str) -> GateView:
    view = position.gate_view(gate)
    if view is None:
        known = ", ".join(v.gate.name for v in position.gates)
        raise UsageError(f"{gate!r} is not a gate of this cycle (gates: {known})")
    return view


def _review(project: Project, cycle: Cycle, view: GateView) -> Review:
    review = Review(
        view.gate.name,
        cycle.number,
        cycle.title,
        view.state,
        dict(view.documents),
        stages=view.gate.judges,
    )
    if view.state == "stale" and view.decision is not None:
        for path in view.changed:
            old = snapshots.snapshot_text(project.paths, view.decision.docs.get(path, "")) or ""
            new = files.read_text(project.paths.inside(path)) or ""
            review.diffs[path] = snapshots.unified_diff(old, new, path)
    return review


def _decidable(view: GateView, cycle: Cycle, *, approving: bool) -> None:
    name = view.gate.name
    if cycle.closed:
        raise Refused(f"cycle {cycle.number} was {cycle.closed}")
    if view.state in ("not-yet", "rejected") or view.reopened:
        blocking = cycle.open_blocking()
        if blocking:
            raise Refused(
                f"{name} cannot be decided: a blocking finding sends the cycle back to implement",
                details=[f"{f.id} (found in {f.stage}): {f.text}" for f in blocking],
                hint="fix it in a fresh implement session (`sdd start implement`), then review and QA again",
            )
        raise Refused(
            f"{name} cannot be decided yet: {view.gate.after} is not done",
            hint=f"complete the {view.gate.after} session first",
        )
    if view.state == "approved" and approving:
        raise SddError(f"{name} is already approved, and the documents are unchanged")
    if approving and view.unmet:
        if "confidence" in view.gate.requires:
            hint = (
                "answer the open questions (`sdd questions`), then run the "
                f"{view.gate.after} session again (`sdd start {view.gate.after}`)"
            )
        else:
            hint = (
                "settle what is listed: make `sdd verify` green at HEAD, fix open blocking findings, "
                f"and resolve uncertain checklist items in a new {view.gate.after} session "
                f"(`sdd start {view.gate.after}`)"
            )
        raise Refused(f"{name} cannot pass yet", details=view.unmet, hint=hint)
    missing = [p for p, digest in view.documents.items() if digest is None]
    if missing and approving:
        raise Refused(f"{name} judges documents that are missing now: {', '.join(missing)}")
    if cycle.open_session() is not None:
        session = cycle.open_session()
        assert session is not None
        raise Refused(
            f"session {session.id} ({session.stage}) is open; gates are decided between sessions",
            hint="finish it with `sdd done` or `sdd abandon` first",
        )


def decide(
    project: Project,
    gate: str,
    *,
    approve: bool,
    confirm: Confirm,
    stdin_is_tty: bool,
    reason: str | None = None,
    to: str | None = None,
    cycle: str | None = None,
    demo: bool = False,
    progress: Any = None,
) -> DecisionResult:
    """Approve or reject ``gate``: refused unless a person confirms it at a terminal."""
    act = f"{'approving' if approve else 'rejecting'} {gate}"
    if not approve and not (reason and reason.strip()):
        raise UsageError("a rejection needs a reason: --reason TEXT")
    if approve and not demo:
        reobserve(project, gate, cycle=cycle, progress=progress)
    with project.transaction() as tx:
        chosen = project.cycle(tx.state, cycle)
        if chosen is None:
            raise Refused("there is no cycle yet", hint='open one: sdd new "TITLE"')
        if demo:
            if not tx.state.demo:
                raise Refused("the demo approver is accepted only in a project made by `sdd demo`")
            who = {"kind": "demo", "name": "sdd demo approver"}
        else:
            who = acts.begin(project, tx, act, stdin_is_tty=stdin_is_tty)
        refuse_if_tampered(tx.state, act)
        position = project.position(tx.state, chosen)
        view = _view(project, position, gate)
        _decidable(view, chosen, approving=approve)
        target = None
        if not approve:
            target = to or view.gate.on_reject
            allowed = position.names[: position.names.index(view.gate.after) + 1]
            if target not in allowed:
                raise UsageError(f"--to {target}: must be one of {', '.join(allowed)}")
        review = _review(project, chosen, view)
        if not demo:
            review.code = person.confirmation_code()
            typed = confirm(review)
            if typed is None or typed.strip().upper() != review.code:
                raise SddError("the confirmation code did not match; nothing was recorded")
        docs: dict[str, str | None] = {}
        for path in view.documents:
            docs[path] = snapshots.snapshot(project.paths, path)
        fields: dict[str, object] = {
            "cycle": chosen.number,
            "gate": gate,
            "by": who,
            "docs": docs,
            "confirmed": "demo" if demo else "code",
            "rules": project.rule_state(tx.state).in_force.fingerprint,  # the rules it passed under
        }
        if approve:
            tx.record("gate.approve", **fields)
        else:
            tx.record("gate.reject", **fields, reason=reason.strip() if reason else "", to=target)
    following = project.next_for(tx.state, tx.state.cycles[chosen.number])
    return DecisionResult(
        gate, chosen.number, "approved" if approve else "rejected", who, docs, target, following
    )


def reobserves(project: Project, gate: Gate) -> bool:
    """Whether passing ``gate`` rests on the code working now: the gate after the person's
    own stage (user verification), and the gate that lets a release out."""
    workflow = project.rules.workflow
    after = workflow.by_name.get(gate.after)
    return gate.name == RELEASE_GATE or (after is not None and after.actor == "person")


def reobserve(
    project: Project, gate: str, *, cycle: str | None = None, progress: Any = None
) -> None:
    """Run the project's checks at HEAD before the person decides ``gate`` (when it rests on
    the code working): the evidence is observed now, not read from a record anything could
    have written. Refused when they fail."""
    found = project.rules.workflow.gate(gate)
    if found is None or not reobserves(project, found):
        return
    state = project.load()
    chosen = project.cycle(state, cycle)
    if chosen is None:
        return
    view = project.position(state, chosen).gate_view(gate)
    if view is None or view.state not in ("waiting", "stale") or view.unmet:
        return  # not decidable now: the decision says why
    from sdd.usecases import verify

    result = verify.run(project, progress=progress)
    if not result.ok:
        failed = [c for c in result.checks if not c.passed]
        raise Refused(
            f"{gate} rests on the code working, and the project's checks fail at HEAD now",
            details=[
                f"{c.name}: {'timed out' if c.timed_out else f'exit {c.exit_code}'} (log {c.log})"
                for c in failed
            ],
            hint="fix the code in a fresh implement session, then decide the gate again",
        )


def review(project: Project, gate: str, *, cycle: str | None = None) -> Review:
    """What deciding ``gate`` would judge, without deciding it."""
    state = project.load()
    chosen = project.cycle(state, cycle)
    if chosen is None:
        raise Refused("there is no cycle yet", hint='open one: sdd new "TITLE"')
    position = project.position(state, chosen)
    return _review(project, chosen, _view(project, position, gate))

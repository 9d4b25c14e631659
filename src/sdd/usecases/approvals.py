"""A person's decision at a gate: what is judged, the confirmation, the record."""

from __future__ import annotations

from collections.abc import Callable

from sdd.agents import person
from sdd.core import files
from sdd.core.errors import Refused, SddError, UsageError
from sdd.core.jsonable import OMIT
from sdd.core.structs import dataclass, field
from sdd.documents import snapshots
from sdd.project.project import Project, refuse_if_tampered
from sdd.usecases import acts
from sdd.workflow.model import CONDITIONS, RELEASE_GATE, WALK_DUE, Gate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.state import Cycle, ProjectState
    from sdd.workflow.gates import GateView, Position


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
    # What else the person decides with it, each shown on the screen:
    confidence: float | None = None  # the spec's, against ``threshold`` (a spec gate)
    threshold: int | None = None
    questions: list[dict[str, object]] = field(default_factory=list)  # with who answered
    tampered: list[str] = field(default_factory=list)  # approved snapshots rewritten since
    rule_changes: list[str] = field(default_factory=list)  # accepted with this approval
    unconfirmed: list[str] = field(default_factory=list)  # approvers the base does not hold
    unseen: list[str] = field(default_factory=list)  # records no person saw: this covers them
    # the person's walkthrough it decides on (user-approval): each verdict, each problem
    verdicts: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)  # what the gate requires, in words
    unmet: list[str] = field(default_factory=list)  # of those, what does not hold now
    # The gate's team rule: how many people must approve, which roles may, who did so far
    approvals_needed: int = 1
    roles: list[str] = field(default_factory=list)
    approved_by: list[str] = field(default_factory=list)
    wanting: str = ""  # what is still needed after the approvals so far, in words


@dataclass
class DecisionResult:
    gate: str
    cycle: int
    decision: str
    by: dict[str, str]
    documents: dict[str, str | None]
    reopened: str | None
    next: dict[str, object]
    # under the gate's team rule: who approved so far, and what is still needed ("": passed)
    approved_by: list[str] = field(default_factory=list)
    wanting: str = ""


# Shows the review and returns what the person typed back (or None when they gave up).
Confirm = Callable[[Review], "str | None"]


def _view(project: Project, position: Position, gate: str) -> GateView:
    view = position.gate_view(gate)
    if view is None:
        known = ", ".join(v.gate.name for v in position.gates)
        raise UsageError(f"{gate!r} is not a gate of this cycle (gates: {known})")
    return view


def _review(project: Project, state: ProjectState, cycle: Cycle, view: GateView) -> Review:
    review = Review(
        view.gate.name,
        cycle.number,
        cycle.title,
        view.state,
        dict(view.documents),
        stages=view.gate.judges,
        conditions=[CONDITIONS[r] for r in view.gate.requires if r in CONDITIONS],
        unmet=list(view.unmet),
        approvals_needed=view.gate.approvals,
        roles=list(view.gate.roles),
        approved_by=list(view.tally.by) if view.tally and view.state == "waiting" else [],
        wanting=view.tally.wanting if view.tally and view.state == "waiting" else "",
    )
    if _is_walked(project, state, view):
        review.verdicts = _walked(state, cycle, view)
    if view.state == "stale" and view.decision is not None:
        for path in view.changed:
            if path not in view.decision.docs:
                continue  # not a document (the verdicts, a change request): nothing to diff
            digest = view.decision.docs.get(path, "")
            if snapshots.snapshot_holds(project.paths, digest) is False:
                review.tampered.append(path)  # named, never diffed: it proves nothing now
                continue
            old = snapshots.snapshot_text(project.paths, digest) or ""
            new = files.read_text(project.paths.inside(path)) or ""
            review.diffs[path] = snapshots.unified_diff(old, new, path)
    if "confidence" in view.gate.requires:
        _spec_questions(project, state, view, review)
    standing = project.rule_state(state)
    if standing.pending:
        review.rule_changes = [c.what for c in standing.changes]
    trust = state.trust
    if trust is not None and trust.signed:
        review.unconfirmed = [
            f"{a.principal} {a.fingerprint}"
            for a in trust.approvers.values()
            if a.record not in trust.confirmed
        ]
        if state.unseen:
            review.unseen = _unseen(project)
    return review


def _is_walked(project: Project, state: ProjectState, view: GateView) -> bool:
    """Whether the gate follows a person's stage, which the person walks before deciding."""
    stage = project.rule_state(state).in_force.workflow.by_name.get(view.gate.after)
    return stage is not None and stage.actor == "person"


def _walked(state: ProjectState, cycle: Cycle, view: GateView) -> list[str]:
    """The walkthrough's verdicts and problems, as the approval screen shows them."""
    from sdd.workflow.conditions import prepared_session

    session = prepared_session(cycle, view.gate.after)
    if session is None:
        return []
    given = state.verdicts.get(session.id, {})
    lines = [
        f"{item}: {verdict.upper()}" + (f" — {note}" if note else "")
        for item, (verdict, note) in given.items()
    ]
    lines += [
        f"problem ({severity}): {text}"
        for severity, text in state.walk_problems.get(session.id, [])
    ]
    if session.id not in state.walks_ended:
        lines.append("(the walk is not over)")
    return lines


def _spec_questions(project: Project, state: ProjectState, view: GateView, review: Review) -> None:
    """The spec's confidence and questions, each answer with who gave it: a person (recorded
    by `sdd questions answer`), or "written in the spec" (by whoever wrote the spec)."""
    from sdd.documents import check

    path = next((p for p in view.documents if check.kind_of(p) == "spec"), None)
    parsed = check.parse_file(project.paths, path, "spec") if path else None
    spec = parsed.spec if parsed else None
    if spec is None:
        return
    review.confidence = spec.confidence
    review.threshold = project.rule_state(state).in_force.threshold
    for question in spec.questions:
        recorded = state.answers.get(question.id)
        if question.answer is None:
            by = None
        elif recorded is not None and recorded[0] == question.answer:
            by = f"{recorded[1].get('name', 'a person')} (recorded)"
        else:
            by = "written in the spec — confirm"
        review.questions.append(
            {
                "id": question.id,
                "blocking": question.blocking,
                "text": question.text,
                "answer": question.answer,
                "by": by,
            }
        )


def _unseen(project: Project) -> list[str]:
    """The records no person's signature covers yet, in words (the approval covers them)."""
    from sdd.core import history
    from sdd.usecases.log import describe

    loaded = history.load(project.paths)
    trust = project.state_of(loaded).trust
    if trust is None:
        return []
    return [f"{r['at']}  {describe(r)}" for r in trust.unseen(loaded)]


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
        if any(u.startswith(WALK_DUE) for u in view.unmet):
            hint = "walk it first, in your own terminal: sdd walkthrough (then decide the gate)"
        elif "confidence" in view.gate.requires:
            hint = (
                "answer the open questions (`sdd questions`), then run the "
                f"{view.gate.after} session again (`sdd start {view.gate.after}`)"
            )
        else:
            hint = (
                "settle what is listed: make `sdd verify` green at HEAD, fix open blocking and "
                "major findings, and resolve uncertain checklist items in a new "
                f"{view.gate.after} session (`sdd start {view.gate.after}`) or make them "
                "findings for the fix loop (`sdd findings from-release`)"
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


def _may_approve(state: ProjectState, view: GateView, who: dict[str, str]) -> None:
    """Refuse an approval that would not count under the gate's team rule: by a person who
    approved it already, or by an approver without one of the roles it asks for. (The count
    itself is ``core.trust.tally``'s; this only says so before anything is signed.)"""
    gate = view.gate
    trust = state.trust
    approver = trust.approvers.get(who.get("key", "")) if trust and trust.signed else None
    principal = approver.principal if approver else (who.get("email") or who.get("name") or "")
    if view.tally is not None and principal in view.tally.by:
        raise Refused(
            f"{principal} has approved {gate.name} already, and a person counts once: it is "
            + view.tally.wanting,
            hint=f"another approver runs `sdd approve {gate.name}` in their own terminal",
        )
    if gate.roles:
        held = approver.roles if approver else ()
        if not set(gate.roles) & set(held):
            who_may = " or ".join(gate.roles)
            raise Refused(
                f"{gate.name} is approved by an approver with the role {who_may}, and "
                f"{principal or 'you'} has "
                + (f"the role(s) {', '.join(held)}" if held else "no role"),
                hint=f"an approver with the role {who_may} runs `sdd approve {gate.name}`"
                if trust and trust.signed
                else f"roles need a signed project: sdd approvers add --role {gate.roles[0]}",
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
    with project.transaction(person=True) as tx:
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
        if approve and not demo:
            _may_approve(tx.state, view, who)
        review = _review(project, tx.state, chosen, view)
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
        if approve and position.walked(view.gate):
            from sdd.workflow.conditions import prepared_session, walk_digest

            walked = prepared_session(chosen, view.gate.after)
            if walked is not None:  # what the person walked: the signature covers it
                fields["verdicts"] = walk_digest(tx.state, walked.id)
        if approve:
            tx.record("gate.approve", **fields)
            if review.rule_changes:  # shown on the screen: the approval accepts them too
                from sdd.project import rules

                standing = project.rule_state(tx.state)
                accepted = rules.accept_fields(standing.proposed, "person", standing.changes)
                tx.record("rules.accept", **accepted, by=who, confirmed="code")
        else:
            tx.record("gate.reject", **fields, reason=reason.strip() if reason else "", to=target)
    after = tx.state.cycles[chosen.number]
    following = project.next_for(tx.state, after)
    result = DecisionResult(
        gate, chosen.number, "approved" if approve else "rejected", who, docs, target, following
    )
    now = project.position(tx.state, after).gate_view(gate) if approve else None
    if now is not None and now.tally is not None:
        result.approved_by = list(now.tally.by)
        result.wanting = now.tally.wanting if now.state == "waiting" else ""
    return result


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
    return _review(project, state, chosen, _view(project, position, gate))

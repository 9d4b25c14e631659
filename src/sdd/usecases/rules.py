"""`sdd rules`: the rules in force (workflow, threshold, verify checks) and a change to them
that waits for a person; `sdd rules accept`, the person's act that puts it in force."""

from __future__ import annotations

from collections.abc import Callable

from sdd.agents import person
from sdd.core.errors import SddError
from sdd.core.structs import dataclass, field
from sdd.project import rules
from sdd.project.project import Project, refuse_if_tampered
from sdd.project.rules import Change, Standing
from sdd.usecases import acts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.state import ProjectState


@dataclass
class RulesView:
    """The rules in force, who accepted them, and the change the config waits to make."""

    fingerprint: str
    rules: dict[str, Any]  # in their normal form
    accepted_by: dict[str, str]  # the person who accepted them (empty when sdd recorded them)
    accepted_at: str
    source: str  # init, setup, config, existing project, person ("" before it is recorded)
    pending: list[Change] = field(default_factory=list)  # not in force until a person accepts
    proposed: str = ""  # the fingerprint of the rules the config proposes
    command: str | None = None  # what accepts the pending change
    # Under team rules a weakening needs several people: who accepted it so far, what remains
    accepted_so_far: list[str] = field(default_factory=list)
    wanting: str = ""


# Shows the changes and returns what the person typed back (or None when they gave up).
ConfirmRules = Callable[[list[Change], str], "str | None"]


def _view(state: ProjectState, standing: Standing) -> RulesView:
    record = state.accepted_rules
    recorded = record is not None and standing.accepted is not None and standing.source is None
    view = RulesView(
        standing.in_force.fingerprint,
        standing.in_force.normal,
        dict(record.by) if record and recorded else {},
        record.at if record and recorded else "",
        record.source if record and recorded else "",
        list(standing.changes) if standing.pending else [],
        standing.proposed.fingerprint,
        rules.ACCEPT_COMMAND if standing.pending else None,
    )
    tally = state.rules_waiting.get(standing.proposed.fingerprint) if standing.pending else None
    if tally is not None:
        view.accepted_so_far, view.wanting = list(tally.by), tally.wanting
    return view


def show(project: Project) -> RulesView:
    """The rules in force and any change waiting for a person."""
    state = project.load()
    return _view(state, project.rule_state(state))


def accept(project: Project, *, stdin_is_tty: bool, confirm: ConfirmRules) -> RulesView:
    """A person accepts the change to the rules the config makes (one that weakens them):
    from now on it is in force. The one place `rules.accept` is recorded as a person's act."""
    with project.transaction(person=True) as tx:
        who = acts.begin(project, tx, "accepting a change to the rules", stdin_is_tty=stdin_is_tty)
        refuse_if_tampered(tx.state, "accepting a change to the rules")
        standing = project.rule_state(tx.state)
        if not standing.pending:
            raise SddError(
                "nothing to accept: the rules the config sets are in force",
                hint="`sdd rules` shows them",
            )
        _once(tx.state, standing, who)
        code = person.confirmation_code()
        typed = confirm(list(standing.changes), code)
        if typed is None or typed.strip().upper() != code:
            raise SddError("the confirmation code did not match; nothing was recorded")
        tx.record(
            "rules.accept",
            **rules.accept_fields(standing.proposed, "person", standing.changes),
            by=who,
            confirmed="code",
        )
    return _view(tx.state, project.rule_state(tx.state))


def _once(state: ProjectState, standing: Standing, who: dict[str, str]) -> None:
    """Refuse a second acceptance of the same weakening by the same person: under team rules
    it needs other people, and a person counts once (``core.trust.tally``)."""
    tally = state.rules_waiting.get(standing.proposed.fingerprint)
    trust = state.trust
    approver = trust.approvers.get(who.get("key", "")) if trust and trust.signed else None
    principal = approver.principal if approver else (who.get("email") or who.get("name") or "")
    if tally is not None and principal in tally.by:
        raise SddError(
            f"{principal} has accepted this change already, and a person counts once: it is "
            + tally.wanting,
            hint=f"another approver runs `{rules.ACCEPT_COMMAND}` in their own terminal",
        )

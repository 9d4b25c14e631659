"""The rules under the gates: the workflow (stages and gates), the confidence threshold and
the verify checks, in one normal form with a fingerprint; which rules are in force; and what
a change to them weakens.

The rules a person accepted are recorded (`rules.accept`). The config, and what detection
finds when it names no checks, *propose* rules. A proposal that weakens nothing takes effect
at once (and the next write records it as accepted); one that weakens waits for a person
(`sdd rules accept`): until then the accepted rules stay in force for everything sdd decides.
Before the project's first session the config is the person setting up, and whatever it says
takes effect: no agent has worked in the project through sdd, and no gate rests on the rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cached_property

from sdd.core.digest import sha256_hex
from sdd.core.errors import ConfigError
from sdd.core.jsonable import OMIT, to_json
from sdd.core.structs import dataclass, field
from sdd.project import checks as verify_checks
from sdd.project.checks import CheckSpec
from sdd.workflow.model import Gate, Stage, Workflow, from_config

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.state import RulesAcceptance
    from sdd.core.trust import Tally
    from sdd.project.config import Config

ACCEPT_COMMAND = "sdd rules accept"
_DOMAIN = b"sdd-rules-1\n"
_STAGE_KEYS = ("writes", "rules", "repeat", "actor", "optional", "scaffold")
_GATE_KEYS = ("after", "judges", "on_reject", "requires", "approvals", "roles")


@dataclass(frozen=True)
class Rules:
    """The rules under the gates: workflow, threshold and verify checks."""

    workflow: Workflow
    threshold: int
    checks: tuple[CheckSpec, ...]
    detected: bool  # the checks are what detection found (the config names none)

    @cached_property
    def normal(self) -> dict[str, Any]:
        """The rules as plain data: what `rules.accept` records and the fingerprint hashes."""
        return {
            "workflow": {
                "stages": [_stage_form(s) for s in self.workflow.stages],
                "gates": [_gate_form(g) for g in self.workflow.gates],
            },
            "confidence_threshold": self.threshold,
            "checks": [
                {"name": c.name, "command": list(c.command), "timeout": c.timeout}
                for c in self.checks
            ],
            "checks_detected": self.detected,
        }

    @cached_property
    def fingerprint(self) -> str:
        text = json.dumps(self.normal, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return sha256_hex(_DOMAIN + text.encode("utf-8", "surrogatepass"))

    @cached_property
    def checks_fingerprint(self) -> str:
        """What a verify run must have run for its evidence to count under these rules."""
        from sdd.workflow.evidence import checks_fingerprint

        return checks_fingerprint((c.name, c.command) for c in self.checks)


def _stage_form(stage: Stage) -> dict[str, Any]:
    return {
        "name": stage.name,
        "writes": list(stage.writes),
        "rules": list(stage.rules),
        "repeat": stage.repeat,
        "actor": stage.actor,
        "optional": stage.optional,
        "scaffold": stage.scaffold,
    }


def _gate_form(gate: Gate) -> dict[str, Any]:
    form: dict[str, Any] = {
        "name": gate.name,
        "after": gate.after,
        "judges": list(gate.judges),
        "on_reject": gate.on_reject,
        "requires": list(gate.requires),
    }
    # The team rules only when a team set them: the rules every project accepted before they
    # existed keep their normal form, and so their fingerprint.
    if gate.approvals != 1:
        form["approvals"] = gate.approvals
    if gate.roles:
        form["roles"] = list(gate.roles)
    return form


def proposed(config: Config, root: str, where: str) -> Rules:
    """The rules the config proposes: its workflow and threshold, and its checks (or, with
    no ``[verify]`` table, what detection finds in the project's files)."""
    configured = verify_checks.parse(config.raw.get("verify"), where)
    if configured is None:
        return Rules(
            config.workflow, config.confidence_threshold, tuple(verify_checks.detect(root)), True
        )
    return Rules(config.workflow, config.confidence_threshold, tuple(configured), False)


def from_normal(data: Any, where: str) -> Rules:
    """Rules read back from their normal form (a record: anything may be in it)."""
    if not isinstance(data, dict) or not isinstance(data.get("workflow"), dict):
        raise ConfigError(f"{where}: the rules are not in their normal form")
    stages, gates = data["workflow"].get("stages"), data["workflow"].get("gates")
    if not isinstance(stages, list) or not isinstance(gates, list):
        raise ConfigError(f"{where}: the workflow needs lists of stages and gates")
    if not all(isinstance(s, dict) and isinstance(s.get("name"), str) for s in [*stages, *gates]):
        raise ConfigError(f"{where}: every stage and gate needs a name")
    section = {
        "stages": [s["name"] for s in stages],
        "stage": {
            s["name"]: {k: s[k] for k in _STAGE_KEYS if s.get(k) is not None} for s in stages
        },
        "gates": {g["name"]: {k: g[k] for k in _GATE_KEYS if k in g} for g in gates},
    }
    workflow = from_config(section, where)
    threshold = data.get("confidence_threshold")
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not 0 <= threshold <= 100:
        raise ConfigError(f"{where}: confidence_threshold must be a whole number from 0 to 100")
    detected = data.get("checks_detected")
    if not isinstance(detected, bool):
        raise ConfigError(f"{where}: checks_detected must be true or false")
    specs = verify_checks.parse({"checks": data.get("checks")}, where) or []
    return Rules(
        workflow,
        threshold,
        tuple(CheckSpec(s.name, s.command, s.timeout, detected) for s in specs),
        detected,
    )


def from_record(accepted: RulesAcceptance) -> Rules:
    """The rules a `rules.accept` record accepted; its fingerprint must be theirs."""
    where = f"rules.accept {accepted.record}"
    rules = from_normal(accepted.rules, where)
    if accepted.fingerprint != rules.fingerprint:
        raise ConfigError(f"{where}: the fingerprint is not that of the rules it records")
    return rules


def key(accepted: RulesAcceptance) -> tuple[str, str]:
    return accepted.record, accepted.fingerprint


# Counts people's acceptances ((record, who), oldest first) under a team rule (need, roles):
# ``core.trust.tally`` with the project's approvers.
Count = Callable[[int, tuple[str, ...], "list[tuple[str, dict[str, str]]]"], "Tally"]


def quorum(old: Rules, changes: list[Change]) -> tuple[int, tuple[str, ...]]:
    """What accepting the weakening ``changes`` to ``old`` needs: the approvals and roles of
    the strictest gate it affects (a change that names no gate, such as a stage, the
    threshold or a check, affects every gate)."""
    named: set[str] = set()
    for change in changes:
        if not change.weakens:
            continue
        if not change.gates:
            named = {g.name for g in old.workflow.gates}
            break
        named.update(change.gates)
    affected = [g for g in old.workflow.gates if g.name in named]
    if not affected:
        return 1, ()
    strictest = max(affected, key=lambda g: (g.approvals, bool(g.roles)))
    return strictest.approvals, strictest.roles


def counted(
    acceptances: list[RulesAcceptance],
    known: dict[tuple[str, str], Rules],
    count: Count | None = None,
    waiting: dict[str, Tally] | None = None,
) -> tuple[RulesAcceptance | None, list[tuple[RulesAcceptance, str]]]:
    """The latest acceptance that counts, and each that does not with why: rules that cannot
    be read, or a weakening after the first session that no person confirmed (written by
    hand). ``known`` remembers the rules read, by ``key``. A weakening counts once as many
    people accepted it as the strictest gate it affects needs (``quorum``, counted by
    ``count``); until then ``waiting`` holds how far it got, by the rules' fingerprint."""
    latest: RulesAcceptance | None = None
    accepted: Rules | None = None
    refused: list[tuple[RulesAcceptance, str]] = []
    pending: dict[str, list[RulesAcceptance]] = {}  # since the last acceptance that counted
    waiting = {} if waiting is None else waiting
    for record in acceptances:
        try:
            found = known.get(key(record)) or from_record(record)
        except ConfigError as exc:
            refused.append((record, f"holds rules sdd cannot read ({exc.message})"))
            continue
        if accepted is not None and found.fingerprint == accepted.fingerprint:
            # sdd records an acceptance only when the rules change: a copy of one is not its
            refused.append((record, "accepts the rules already in force (sdd never writes that)"))
            continue
        changes = compare(accepted, found) if accepted is not None else []
        weakening = bool(record.sessions_before) and any(c.weakens for c in changes)
        if weakening and record.confirmed != "code":
            refused.append((record, "weakens the rules, and no person confirmed it"))
            continue
        if weakening and count is not None and accepted is not None:
            need, roles = quorum(accepted, changes)
            if need > 1 or roles:
                group = [*pending.get(found.fingerprint, []), record]
                pending[found.fingerprint] = group
                tally = count(need, roles, [(r.record, r.by) for r in group])
                if not tally.met:
                    waiting[found.fingerprint] = tally
                    continue
        known[key(record)] = found
        latest, accepted = record, found
        pending.clear()
        waiting.clear()
    return latest, refused


@dataclass(frozen=True)
class Change:
    """One change between two sets of rules, and whether it weakens them."""

    what: str
    weakens: bool
    # The gates it bears on (none named: every gate rests on it, as on the stages and checks):
    # accepting a weakening needs the approvals of the strictest of them (``quorum``).
    gates: tuple[str, ...] = field(default=(), metadata=OMIT)  # records keep what + weakens


def compare(old: Rules, new: Rules) -> list[Change]:
    """Every change from ``old`` to ``new``, each saying whether it weakens the rules."""
    changes: list[Change] = []
    if new.threshold != old.threshold:
        lower = new.threshold < old.threshold
        changes.append(
            Change(
                f"the confidence threshold is {'lowered' if lower else 'raised'} from "
                f"{old.threshold} % to {new.threshold} %",
                lower,
            )
        )
    changes += _stage_changes(old.workflow, new.workflow)
    changes += _gate_changes(old.workflow, new.workflow)
    changes += _check_changes(old, new)
    return changes


def _lost(old: tuple[str, ...], new: tuple[str, ...]) -> list[str]:
    return [item for item in old if item not in new]


def _stage_changes(old: Workflow, new: Workflow) -> list[Change]:
    changes = []
    for stage in old.stages:
        now = new.by_name.get(stage.name)
        if now is None:
            changes.append(Change(f"stage {stage.name} is removed", True))
            continue
        for label, before, after in (
            ("completion rules", stage.rules, now.rules),
            ("outputs", stage.writes, now.writes),
        ):
            if _lost(before, after):
                changes.append(
                    Change(
                        f"stage {stage.name} loses {label}: {', '.join(_lost(before, after))}",
                        True,
                    )
                )
            if _lost(after, before):
                changes.append(
                    Change(
                        f"stage {stage.name} gains {label}: {', '.join(_lost(after, before))}",
                        False,
                    )
                )
        # Each setting weakens in one direction: a stage no longer task by task, no longer
        # the person's, or made optional asks less of the cycle.
        for label, before_value, after_value, weaker in (
            ("repeat", stage.repeat, now.repeat, stage.repeat == "per-task"),
            ("actor", stage.actor, now.actor, stage.actor == "person"),
            ("optional", stage.optional, now.optional, not stage.optional),
            ("scaffold", stage.scaffold, now.scaffold, False),
        ):
            if before_value != after_value:
                changes.append(
                    Change(
                        f"stage {stage.name}: {label} {before_value!r} → {after_value!r}", weaker
                    )
                )
    for stage in new.stages:
        if stage.name not in old.by_name:
            changes.append(Change(f"stage {stage.name} is added", False))
    kept = [s.name for s in old.stages if s.name in new.by_name]
    if kept != [s.name for s in new.stages if s.name in old.by_name]:
        changes.append(Change("the stages are in another order", True))
    return changes


def _gate_changes(old: Workflow, new: Workflow) -> list[Change]:
    changes = []
    for gate in old.gates:
        now = new.gate(gate.name)
        if now is None:
            changes.append(Change(f"gate {gate.name} is removed", True, (gate.name,)))
            continue
        if now.after != gate.after:
            changes.append(
                Change(
                    f"gate {gate.name} moves from after {gate.after} to after {now.after}",
                    True,
                    (gate.name,),
                )
            )
        for label, before, after in (
            ("judges", gate.judges, now.judges),
            ("requires", gate.requires, now.requires),
        ):
            if _lost(before, after):
                changes.append(
                    Change(
                        f"gate {gate.name} no longer {label} {', '.join(_lost(before, after))}",
                        True,
                        (gate.name,),
                    )
                )
            if _lost(after, before):
                changes.append(
                    Change(
                        f"gate {gate.name} also {label} {', '.join(_lost(after, before))}", False
                    )
                )
        changes += _team_changes(gate, now)
        if now.on_reject != gate.on_reject:
            changes.append(
                Change(
                    f"gate {gate.name}: a rejection goes back to {now.on_reject} "
                    f"(was {gate.on_reject})",
                    False,
                )
            )
    for gate in new.gates:
        if old.gate(gate.name) is None:
            changes.append(Change(f"gate {gate.name} is added", False))
    return changes


def _team_changes(old: Gate, new: Gate) -> list[Change]:
    """Fewer approvals, or a role no longer asked (or none asked any more), weaken a gate."""
    changes = []
    if new.approvals != old.approvals:
        lower = new.approvals < old.approvals
        changes.append(
            Change(
                f"gate {old.name} needs {new.approvals} approval(s) instead of {old.approvals}",
                lower,
                (old.name,),
            )
        )
    if new.roles != old.roles:
        # Roles say who may approve: any role added, or a gate that now names none, lets
        # more people pass it.
        wider = (not new.roles and bool(old.roles)) or bool(set(new.roles) - set(old.roles))
        before = ", ".join(old.roles) or "any approver"
        after = ", ".join(new.roles) or "any approver"
        changes.append(
            Change(f"gate {old.name} may be approved by {after} (was {before})", wider, (old.name,))
        )
    return changes


def _keyed(checks: tuple[CheckSpec, ...]) -> dict[str, CheckSpec]:
    """Checks by name; a name used twice is told apart by its place ("tests #2")."""
    keyed: dict[str, CheckSpec] = {}
    for check in checks:
        key, n = check.name, 1
        while key in keyed:
            n += 1
            key = f"{check.name} #{n}"
        keyed[key] = check
    return keyed


def _check_changes(old: Rules, new: Rules) -> list[Change]:
    changes = []
    before, after = _keyed(old.checks), _keyed(new.checks)
    for key, check in before.items():
        now = after.get(key)
        if now is None:
            lost = (
                f"detection no longer finds check {key}"
                if new.detected
                else f"check {key} is removed"
            )
            changes.append(Change(f"{lost}: {' '.join(check.command)}", True))
        elif now.command != check.command:
            changes.append(
                Change(
                    f"check {key} runs `{' '.join(now.command)}` instead of "
                    f"`{' '.join(check.command)}`",
                    True,
                )
            )
        elif now.timeout != check.timeout:
            changes.append(
                Change(f"check {key}: timeout {check.timeout:g} s → {now.timeout:g} s", False)
            )
    for key, check in after.items():
        if key not in before:
            changes.append(Change(f"check {key} is added: {' '.join(check.command)}", False))
    if old.detected != new.detected:
        changes.append(
            Change(
                "the checks are now "
                + ("what detection finds" if new.detected else "the configured ones"),
                False,
            )
        )
    return changes


@dataclass
class Standing:
    """The rules in force, against what the config proposes and what a person accepted."""

    in_force: Rules
    proposed: Rules
    accepted: Rules | None
    changes: list[Change] = field(default_factory=list)  # from the accepted to the proposed
    setup: bool = False  # no session has started yet: the config is the person setting up

    @property
    def pending(self) -> bool:
        """A change that weakens the rules waits for a person."""
        return self.in_force is not self.proposed

    @property
    def source(self) -> str | None:
        """Why the next write records the proposed rules as accepted (None: nothing to record)."""
        if self.pending:
            return None
        if self.accepted is None:
            return "existing project"
        if self.accepted.fingerprint == self.proposed.fingerprint:
            return None
        return "setup" if self.setup else "config"


def standing(accepted: Rules | None, proposed: Rules, *, setup: bool) -> Standing:
    if accepted is None:
        return Standing(proposed, proposed, None, setup=setup)
    if accepted.fingerprint == proposed.fingerprint:
        return Standing(proposed, proposed, accepted, setup=setup)
    changes = compare(accepted, proposed)
    weakens = any(c.weakens for c in changes)
    in_force = accepted if weakens and not setup else proposed
    return Standing(in_force, proposed, accepted, changes, setup)


def accept_fields(rules: Rules, source: str, changes: list[Change]) -> dict[str, Any]:
    """The fields of the `rules.accept` record that accepts ``rules``."""
    return {
        "rules": rules.normal,
        "fingerprint": rules.fingerprint,
        "source": source,
        "changes": to_json(changes),
    }


def notice(standing: Standing, waiting: dict[str, Tally] | None = None) -> dict[str, Any] | None:
    """What the control panel says of the rules: a weakening change waiting for a person
    (or, under team rules, for more people: ``waiting``, by the rules' fingerprint)."""
    if not standing.pending:
        return None
    tally = (waiting or {}).get(standing.proposed.fingerprint)
    return {
        "pending": to_json(standing.changes),
        "fingerprint": standing.in_force.fingerprint,
        "command": ACCEPT_COMMAND,
        "accepted_by": list(tally.by) if tally else [],
        "wanting": tally.wanting if tally else "",
    }

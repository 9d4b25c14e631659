"""The workflow as data: stages in order, the gates between them, what each stage
writes and which rules decide that a session of it is complete.

Built in, and a project may override it in ``.sdd/config.toml`` under ``[workflow]``.
"""

from __future__ import annotations

import re

from sdd.core.errors import ConfigError
from sdd.core.structs import dataclass, field, replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")

# Completion rules a workflow may name. Each is checked by ``sdd.completion``.
RULES = {
    "outputs": "every output exists and holds no placeholder",
    "contract": "the documents pass their contract and trace to each other (`sdd check`)",
    "docs-only": "no file outside docs/ changed",
    "committed": "the work is committed and the tree is clean",
    "checklist": "the handoff answers every checklist item",
    "verify": "a green `sdd verify` at HEAD (`sdd done` runs it when there is none)",
    "no-blocking": "no blocking finding is open",
    "figures": "the post-mortem holds the figures sdd computed from the history",
    "verdicts": "the page holds how to run the feature and one item, with its steps and expected "
    "result, for every acceptance criterion and every test case (the person then walks it: "
    "`sdd walkthrough`)",
    "changed": "its documents changed in this session (leaving them as they were is no work)",
    "scope": "work committed within the task's scope (the plan's `Scope:`; without one, outside "
    "docs/ and .sdd/); each file changed outside it has a reason in the handoff",
    "traced": "every test case of a done task is named by a test, and no test names an unknown "
    "id (`sdd check --code`)",
}


@dataclass(frozen=True)
class Stage:
    """A stage of the workflow: what it writes and when it is done."""

    name: str
    writes: tuple[str, ...] = ()
    rules: tuple[str, ...] = ("outputs", "checklist")
    repeat: str = "once"  # "once" or "per-task"
    actor: str = "agent"  # "agent" or "person"
    optional: bool = False  # only in cycles that ask for it (discovery)
    scaffold: str | None = None  # skeleton `sdd start` lays down for a per-cycle output

    @property
    def thinking(self) -> bool:
        return "docs-only" in self.rules


# The gate after which `sdd release` records the release before the cycle goes on.
RELEASE_GATE = "deployment-approval"

# How a gate after a person's stage says that the person has not walked it yet (a condition
# every such gate has): `sdd next` then names `sdd walkthrough`.
WALK_DUE = "the person has not walked the prepared verification"

# Conditions a gate may require before a person can pass it. Checked by ``sdd.readiness``.
CONDITIONS = {
    "confidence": "the spec's confidence is at or above the threshold and no blocking question is open",
    "release-ready": "nothing in the release checklist is uncertain, verify is green at HEAD, no blocking or major finding is open",
}


@dataclass(frozen=True)
class Gate:
    """A gate of the workflow: after which stage, what it judges, where a rejection goes."""

    name: str
    after: str
    judges: tuple[str, ...]
    on_reject: str
    requires: tuple[str, ...] = ()
    # Team rules: how many people (principals, not keys) must approve, and which approvers'
    # roles may (any one of them; none named: every approver may).
    approvals: int = 1
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workflow:
    """The stages and gates of a project."""

    stages: tuple[Stage, ...]
    gates: tuple[Gate, ...]
    by_name: dict[str, Stage] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.by_name.update({s.name: s for s in self.stages})

    def stage(self, name: str) -> Stage:
        return self.by_name[name]

    def names(self, *, discovery: bool) -> list[str]:
        return [s.name for s in self.stages if discovery or not s.optional]

    def gate(self, name: str) -> Gate | None:
        return next((g for g in self.gates if g.name == name), None)

    def gate_after(self, stage: str) -> Gate | None:
        return next((g for g in self.gates if g.after == stage), None)


_THINKING = ("outputs", "contract", "docs-only", "changed", "checklist")
_CHECKING = ("outputs", "contract", "verify", "checklist")

DEFAULT = Workflow(
    stages=(
        Stage(
            "discovery", ("docs/architecture.md", "docs/conventions.md"), _THINKING, optional=True
        ),
        Stage("spec", ("docs/product-spec.md",), _THINKING),
        Stage("architecture", ("docs/architecture.md",), _THINKING),
        Stage("plan", ("docs/implementation-plan.md", "docs/test-plan.md"), _THINKING),
        Stage("implement", (), ("committed", "scope", "verify", "checklist"), repeat="per-task"),
        Stage("review", ("docs/reviews/{cycle}-R{n}.md",), _CHECKING, scaffold="review"),
        Stage("qa", ("docs/test-reports/{cycle}-Q{n}.md",), _CHECKING, scaffold="qa"),
        Stage(
            "user-verification",
            ("docs/verification/{cycle}-U{n}.md",),
            ("outputs", "verdicts", "checklist"),
            actor="person",
            scaffold="user-verification",
        ),
        Stage(
            "final-verification",
            ("docs/releases/{cycle}.md",),
            ("outputs", "contract", "verify", "no-blocking", "traced", "checklist"),
            scaffold="release",
        ),
        Stage(
            "postmortem",
            ("docs/post-mortems/{cycle}.md",),
            ("outputs", "figures", "checklist"),
            scaffold="postmortem",
        ),
    ),
    gates=(
        Gate("spec-approval", "spec", ("spec",), "spec", ("confidence",)),
        Gate("implementation-approval", "plan", ("architecture", "plan"), "plan"),
        Gate("user-approval", "user-verification", ("user-verification",), "implement"),
        Gate(
            "deployment-approval",
            "final-verification",
            ("final-verification",),
            "final-verification",
            ("release-ready",),
        ),
    ),
)


def from_config(section: dict[str, Any] | None, where: str) -> Workflow:
    """The project's workflow: the default, overridden by a ``[workflow]`` table."""
    if not section:
        return DEFAULT
    problems: list[str] = []
    base = DEFAULT.by_name
    stage_specs = section.get("stage", {})
    if not isinstance(stage_specs, dict):
        problems.append(f"{where}: workflow.stage: must be a table of stages")
        stage_specs = {}
    order = section.get("stages", [s.name for s in DEFAULT.stages])
    if not isinstance(order, list) or not all(isinstance(n, str) for n in order) or not order:
        problems.append(f"{where}: workflow.stages: must be a non-empty list of stage names")
        order = []
    stages: list[Stage] = []
    for name in order:
        if not NAME.match(name):
            problems.append(f"{where}: workflow.stages: {name!r} is not a valid name (a-z, 0-9, -)")
            continue
        spec = stage_specs.get(name, {})
        if name not in base and not spec:
            problems.append(
                f"{where}: workflow.stages: unknown stage {name!r} needs a [workflow.stage.{name}] table"
            )
            continue
        stages.append(
            _stage(name, base.get(name), spec, f"{where}: workflow.stage.{name}", problems)
        )
    if len({s.name for s in stages}) != len(stages):
        problems.append(f"{where}: workflow.stages: a stage is listed twice")
    names = [s.name for s in stages]
    gates: list[Gate] = []
    gate_specs = section.get("gates")
    if gate_specs is None:
        gates = [g for g in DEFAULT.gates if g.after in names and all(j in names for j in g.judges)]
    elif not isinstance(gate_specs, dict):
        problems.append(f"{where}: workflow.gates: must be a table of gates")
    else:
        for gate_name, spec in gate_specs.items():
            gates.append(
                _gate(gate_name, spec, names, f"{where}: workflow.gates.{gate_name}", problems)
            )
    if problems:
        raise ConfigError("the workflow in the config is not valid", details=problems)
    return Workflow(tuple(stages), tuple(gates))


def _stage(name: str, base: Stage | None, spec: Any, where: str, problems: list[str]) -> Stage:
    if not isinstance(spec, dict):
        problems.append(f"{where}: must be a table")
        spec = {}
    known = {"writes", "rules", "repeat", "actor", "optional", "scaffold"}
    for key in spec:
        if key not in known:
            problems.append(f"{where}.{key}: unknown setting (known: {', '.join(sorted(known))})")
    default = base or Stage(name)
    writes = spec.get("writes", list(default.writes))
    if not isinstance(writes, list) or not all(isinstance(w, str) and w for w in writes):
        problems.append(f"{where}.writes: must be a list of paths")
        writes = []
    for path in writes:
        if path.startswith("/") or ".." in path.split("/"):
            problems.append(f"{where}.writes: {path!r} must stay inside the project")
    rules = spec.get("rules", list(default.rules))
    if not isinstance(rules, list) or any(not isinstance(r, str) or r not in RULES for r in rules):
        problems.append(f"{where}.rules: must be a list drawn from {', '.join(RULES)}")
        rules = list(default.rules)
    repeat = spec.get("repeat", default.repeat)
    if repeat not in ("once", "per-task"):
        problems.append(f'{where}.repeat: must be "once" or "per-task"')
        repeat = "once"
    actor = spec.get("actor", default.actor)
    if actor not in ("agent", "person"):
        problems.append(f'{where}.actor: must be "agent" or "person"')
        actor = "agent"
    optional = spec.get("optional", default.optional)
    if not isinstance(optional, bool):
        problems.append(f"{where}.optional: must be true or false")
        optional = False
    scaffold = spec.get("scaffold", default.scaffold)
    if scaffold is not None and not isinstance(scaffold, str):
        problems.append(f"{where}.scaffold: must be a scaffold name")
        scaffold = None
    return Stage(name, tuple(writes), tuple(rules), repeat, actor, optional, scaffold)


def _gate(name: str, spec: Any, stages: list[str], where: str, problems: list[str]) -> Gate:
    if not NAME.match(name):
        problems.append(f"{where}: {name!r} is not a valid gate name")
    if not isinstance(spec, dict):
        problems.append(f"{where}: must be a table with `after` and `judges`")
        return Gate(name, "", (), "")
    after = spec.get("after")
    if after not in stages:
        problems.append(f"{where}.after: must name a stage of the workflow, not {after!r}")
    judges = spec.get("judges", [after])
    if not isinstance(judges, list) or any(
        not isinstance(j, str) or j not in stages for j in judges
    ):
        problems.append(f"{where}.judges: must list stages of the workflow")
        judges = []
    on_reject = spec.get("on_reject", judges[-1] if judges else after)
    if on_reject not in stages:
        problems.append(f"{where}.on_reject: must name a stage of the workflow")
    elif after in stages and stages.index(on_reject) > stages.index(after):
        problems.append(f"{where}.on_reject: must be {after!r} or a stage before it")
    requires = spec.get("requires", [])
    if not isinstance(requires, list) or any(
        not isinstance(r, str) or r not in CONDITIONS for r in requires
    ):
        problems.append(f"{where}.requires: must be a list drawn from {', '.join(CONDITIONS)}")
        requires = []
    approvals, roles = team_rule(spec, where, problems)
    return Gate(name, str(after), tuple(judges), str(on_reject), tuple(requires), approvals, roles)


MAX_APPROVALS = 20


def team_rule(spec: dict[str, Any], where: str, problems: list[str]) -> tuple[int, tuple[str, ...]]:
    """A gate's ``approvals`` (how many people) and ``roles`` (who may approve it)."""
    approvals = spec.get("approvals", 1)
    if (
        not isinstance(approvals, int)
        or isinstance(approvals, bool)
        or not 1 <= approvals <= MAX_APPROVALS
    ):
        problems.append(f"{where}.approvals: must be a whole number from 1 to {MAX_APPROVALS}")
        approvals = 1
    roles = spec.get("roles", [])
    if not isinstance(roles, list) or any(
        not isinstance(r, str) or not NAME.match(r) for r in roles
    ):
        problems.append(f"{where}.roles: must be a list of role names (a-z, 0-9, -)")
        roles = []
    return approvals, tuple(dict.fromkeys(roles))


def with_team_rules(workflow: Workflow, section: Any, where: str) -> Workflow:
    """The workflow with the config's ``[gates.NAME]`` tables (``approvals``, ``roles``) laid
    over its gates: the team rules, kept apart from the workflow so that a team sets them
    without restating the stages."""
    if section is None:
        return workflow
    problems: list[str] = []
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: gates: must be a table of gates")
    gates = {g.name: g for g in workflow.gates}
    for name, spec in section.items():
        at = f"{where}: gates.{name}"
        if name not in gates:
            problems.append(f"{at}: not a gate of the workflow ({', '.join(gates)})")
            continue
        if not isinstance(spec, dict):
            problems.append(f"{at}: must be a table (approvals = N, roles = [...])")
            continue
        unknown = sorted(set(spec) - {"approvals", "roles"})
        if unknown:
            problems.append(f"{at}: unknown setting {', '.join(unknown)} (known: approvals, roles)")
        merged = {"approvals": gates[name].approvals, "roles": list(gates[name].roles), **spec}
        approvals, roles = team_rule(merged, at, problems)
        gates[name] = replace(gates[name], approvals=approvals, roles=roles)
    if problems:
        raise ConfigError("the gates' team rules in the config are not valid", details=problems)
    return Workflow(workflow.stages, tuple(gates.values()))

"""The derived state that folding the history in id order gives (``core.fold``).
Pure: no files, no workflow."""

from __future__ import annotations

from sdd.core.structs import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from sdd.core.history import Problem
    from sdd.core.records import Record
    from sdd.core.trust import Tally, Trust


@dataclass
class Session:
    """A session: one stage (or one task of one) by one fresh agent, from start to end."""

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
    """A person's decision on a gate: an approval or a rejection, and what it judged."""

    gate: str
    kind: str  # "approve" or "reject"
    record: str
    at: str
    by: dict[str, str]
    docs: dict[str, str]
    reason: str | None
    to: str | None
    confirmed: str | None = None  # how the person confirmed it ("code" at a terminal, or "demo")
    verdicts: str | None = None  # the digest of the walkthrough's verdicts it decided on


@dataclass
class Reopen:
    """A stage opened again: by a rejection, a finding or a change request."""

    stage: str
    record: str
    reason: str
    source: str  # e.g. "spec-approval rejected"
    caused_by: str = ""  # the stage (or gate) whose finding or decision caused it
    at: str = ""


@dataclass
class Finding:
    """A finding a stage raised, and how it closed (fixed or waived)."""

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
    fixed_commit: str | None = None  # the commit its fix session ended at
    closed_record: str | None = None  # the record that fixed or waived it
    waived_by: dict[str, str] | None = None
    waive_reason: str | None = None
    reopens: str | None = None  # the task a person reopened for it

    @property
    def blocking_open(self) -> bool:
        return self.severity == "blocking" and self.status == "open"


@dataclass
class TaskReopen:
    """A person reopened a done task: it is pending again until a session of it completes."""

    task: str
    record: str
    reason: str
    finding: str | None  # the finding it was reopened for
    by: dict[str, str]


@dataclass
class RulesAcceptance:
    """A `rules.accept`: the rules in their normal form, and who or what accepted them."""

    record: str
    at: str
    rules: dict[str, Any]
    fingerprint: str
    source: str  # init, setup, config, existing project, person
    by: dict[str, str]
    confirmed: str | None  # "code": a person confirmed it at a terminal
    sessions_before: int  # sessions started before it (0: the person setting up)


@dataclass
class Answer:
    """A person's answer to a spec question (`sdd questions answer`), in history order."""

    question: str
    text: str
    by: dict[str, str]
    record: str  # its record's id: what it is compared with to tell what came after
    at: str


@dataclass
class Cycle:
    """A cycle: its sessions, decisions, findings and reopenings, in history order."""

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
    task_reopens: dict[str, TaskReopen] = field(default_factory=dict)  # task -> latest reopen
    request: str = ""  # the person's request, in their words ("": none was given)
    request_doc: str | None = None  # the document that keeps it
    answers: list[Answer] = field(default_factory=list)  # every answer given, in order
    verify_runs: list[Record] = field(default_factory=list)  # its `verify.run`s, in order
    # A cycle read from a checkpoint is decoded on first use (``core.checkpoint_codec``):
    # one on a shelf holds only its number until its shelf is read, then only its scalars
    # until its part is. Kept out of the type checker's view, which would otherwise accept
    # any attribute of a cycle.
    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            if name.startswith("__"):
                raise AttributeError(name)
            while True:
                load = self.__dict__.pop("_part", None)
                if load is None:
                    return object.__getattribute__(self, name)  # AttributeError
                load(self)
                own = self.__dict__
                if name in own:
                    return own[name]

    def open_blocking(self) -> list[Finding]:
        return [f for f in self.findings.values() if f.blocking_open]

    def open_major(self) -> list[Finding]:
        return [f for f in self.findings.values() if f.severity == "major" and f.status == "open"]

    def open_session(self) -> Session | None:
        return next((s for s in reversed(self.sessions) if s.outcome == "open"), None)


# A field's default on the class would answer for a cycle on a shelf before its shelf is
# read (``__getattr__`` runs only for what an instance lacks); ``__init__`` keeps its own.
for _scalar in ("docs", "archived", "closed", "close_reason", "request", "request_doc"):
    delattr(Cycle, _scalar)


@dataclass
class ProjectState:
    """What the history, folded in id order, says of the project."""

    name: str = ""
    demo: bool = False
    cycles: dict[int, Cycle] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    records: int = 0
    last_record: str | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    last_run: Record | None = None  # the latest `verify.run` (each cycle keeps its own)
    loose_runs: list[Record] = field(default_factory=list)  # runs that name no cycle
    rule_accepts: list[RulesAcceptance] = field(default_factory=list)  # every `rules.accept`
    accepted_rules: RulesAcceptance | None = None  # the latest that counts (``Project``)
    # A weakening of the rules some people accepted, short of the approvals it needs:
    # fingerprint of the rules -> the tally so far (``project.rules.counted``)
    rules_waiting: dict[str, Tally] = field(default_factory=dict)
    verdicts: dict[str, dict[str, tuple[str, str]]] = field(
        default_factory=dict
    )  # session -> item -> (verdict, note)
    # The walkthrough of a prepared session: the problems no item covers, as (severity, text),
    # and the record that ended the walk.
    walk_problems: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    walks_ended: dict[str, str] = field(default_factory=dict)
    releases: dict[int, Record] = field(default_factory=dict)  # cycle -> its release record
    template_hashes: dict[str, str] = field(default_factory=dict)  # sessions/<stage>.md -> hash
    finding_count: int = 0
    finding_ids: set[str] = field(default_factory=set)
    findings_by_record: dict[str, Finding] = field(default_factory=dict)
    trust: Trust | None = None  # which person's acts counted, and who the approvers are
    heads: list[str] = field(default_factory=list)  # the history's heads, by hash
    unseen: int = 0  # records that count and no person's signature covers yet
    # question id -> (the answer a person recorded, who): `sdd questions answer`
    answers: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    session_high: int = 0  # the highest session number started

    @property
    def signed(self) -> bool:
        return self.trust is not None and self.trust.signed

    def latest_cycle(self) -> Cycle | None:
        return self.cycles[max(self.cycles)] if self.cycles else None

    def next_session_id(self, apart: str = "") -> str:
        """``S-0007``; on a branch of a team's repository, ``S-0007-K3QX`` (``apart``): two
        pull requests from one base then never name two sessions, or their pages, alike."""
        number = f"S-{self.session_high + 1:04d}"
        return f"{number}-{apart}" if apart else number

    def each_cycle(self, apply: Callable[[Cycle], None]) -> None:
        """``apply`` to every cycle as it is read: now to those in memory, later to those
        a checkpoint decodes on first use."""
        for cycle in self.cycles.values():
            if "_part" not in cycle.__dict__:
                apply(cycle)
        hooks = self.on_cycle_read()
        if hooks is not None:
            hooks.append(apply)

    def on_cycle_read(self) -> list[Callable[[Cycle], None]] | None:
        """A state read from a checkpoint: what runs on each cycle as it is decoded
        (``Project``'s checks); None for a state folded whole. Kept out of the fields, so a
        state compares and converts as its fold does."""
        hooks: list[Callable[[Cycle], None]] | None = self.__dict__.get("_on_cycle_read")
        return hooks

    def latest_run(self, session: str | None = None) -> Record | None:
        """The latest `verify.run`; of one session's worktree when ``session`` is given."""
        if session is None:
            return self.last_run
        pools = [self.loose_runs]
        owner = self.sessions.get(session)
        if owner is not None and owner.cycle in self.cycles:
            pools.append(self.cycles[owner.cycle].verify_runs)
        found = [
            run
            for pool in pools
            for run in (next((r for r in reversed(pool) if r.get("session") == session), None),)
            if run is not None
        ]
        return max(found, key=lambda r: str(r["id"])) if found else None


def session_number(session_id: str) -> int | None:
    """The number in ``S-0007`` or ``S-0007-K3QX``."""
    parts = session_id.split("-")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def cycle_path(cycle: Cycle, relative: str) -> str:
    """A document path as this cycle sees it: its own folder in the per-cycle layout."""
    if (
        cycle.docs == "docs"
        or not relative.startswith("docs/")
        or relative.startswith("docs/sessions/")
    ):
        return relative
    return cycle.docs + relative[len("docs") :]

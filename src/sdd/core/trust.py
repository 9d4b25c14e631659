"""Which records count: the person's acts, their signatures, and what a signature covers.

A person's act (approving, rejecting, answering, waiving, reopening a task, ending a cycle,
ending a walkthrough, the approvers, the rules) counts only when the project's rules for it hold:

- In a **signed project** (one whose history holds an approver), the act's ``sig`` must be a
  good SSHSIG signature, under sdd's namespace, of the record's hash, by an approver in force
  at that point of the history. The first approver signs their own record (trust on first
  use); each later one is added, or revoked, by an approver in force.
- In an **unsigned project** an act counts unless it was recorded while a session that
  `sdd run` launched was still running: its agent could have written it.

A record whose parents are absent (copied from another branch, or whose past was removed)
does not count, nor does anything that descends from it; when a good signature covers the gap
— its signer saw the missing records — that is tampering. A kind that may appear once
(``project.init``) counts only as the history's first record.

Pure: records in, verdicts out. Signatures are checked in-process (``core.sshsig``), and
only where there are signed records, so an unsigned project never loads cryptography.
"""

from __future__ import annotations

from sdd.core.history import Loaded, Problem, ancestors, children, reach
from sdd.core.records import Record, mismatches
from sdd.core.structs import dataclass, field

PERSON_ACTS = frozenset(
    {
        "gate.approve",
        "gate.reject",
        "question.answer",
        "finding.waive",
        "task.reopen",
        "approver.add",
        "approver.revoke",
        "rules.accept",
        "cycle.abandon",
        "cycle.archive",
        "verification.end",  # the end of the person's walkthrough: it covers the verdicts
    }
)


def is_person_act(record: Record) -> bool:
    """Whether ``record`` is a person's act. Accepting the rules is one when a person
    confirmed it; sdd itself records a change that weakens nothing (``core.rules``)."""
    kind = record.get("type")
    if kind == "rules.accept":
        return record.get("confirmed") == "code"
    return kind in PERSON_ACTS


ONCE = frozenset({"project.init"})


@dataclass(frozen=True)
class Approver:
    """A key that signs a person's acts, and whose it is."""

    principal: str
    key: str  # the public key, one line
    fingerprint: str
    record: str  # the approver.add record
    recovery: bool = False
    roles: tuple[str, ...] = ()  # which gates this approver may pass (`[gates.NAME] roles`)


@dataclass
class Trust:
    """Which records count and who signed them."""

    signed: bool = False  # the history holds an approver's record (counted or not)
    approvers: dict[str, Approver] = field(default_factory=dict)  # in force now, by fingerprint
    known: dict[str, Approver] = field(default_factory=dict)  # every approver that counted, ever
    not_counted: dict[str, str] = field(default_factory=dict)  # record id -> why
    signed_by: dict[str, str] = field(default_factory=dict)  # record id -> signer's fingerprint
    covered: set[str] = field(default_factory=set)  # ids a good signature covers
    confirmed: frozenset[str] = frozenset()  # ids the protected branch already holds
    problems: list[Problem] = field(default_factory=list)

    def counts(self, record: Record) -> bool:
        return record["id"] not in self.not_counted

    def unseen(self, loaded: Loaded) -> list[Record]:
        """Records no person's signature covers yet (in a signed project)."""
        return [r for r in loaded.records if r["id"] not in self.covered and self.counts(r)]


def _session(record: Record) -> str | None:
    """The session a record names; None for a hand-written one that names none properly (the
    fold reports its shape)."""
    session = record.get("session")
    return session if isinstance(session, str) else None


def evaluate(
    loaded: Loaded, confirmed: frozenset[str] = frozenset(), *, fixed: bool = False
) -> Trust:
    """What counts in ``loaded``; ``confirmed``: the ids of records the protected branch
    already holds (a recovery key counts only once it is there). ``fixed``: the approvers are
    those the protected branch holds (`sdd ci check` judging a branch): an approver added
    anywhere else does not count, however it is signed, so a branch never judges itself
    with a key it added."""
    evaluator = Evaluator.start(loaded, confirmed)
    evaluator.fixed = fixed
    evaluator.feed(loaded, loaded.records)
    evaluator.finish(loaded)
    return evaluator.trust


@dataclass
class Evaluator:
    """The walk over the records in id order that decides what counts, as a value: a
    checkpoint (``core.checkpoint``) keeps it and feeds it the records appended since.

    What the walk needs to know of records it has not reached yet is kept apart, so that
    a checkpoint can tell when records appended later would change a verdict it already
    gave: ``exits`` (the sessions whose `sdd run` recorded that its tree ended) and
    ``popped`` (sessions whose end closed their launch because no exit was known, and
    whether a person's act was judged after that)."""

    trust: Trust
    first: str | None  # the history's first record
    detached: set[str]  # records that descend from missing ones
    past: set[str] | None  # the unsigned past of a signed project (None: no approver yet)
    exits: set[str | None]
    running: dict[str, str] = field(default_factory=dict)  # launched session -> launch record
    acts: int = 0  # the person's acts judged so far
    # session -> (its launch record, the acts judged when its end closed the launch)
    popped: dict[str, tuple[str, int]] = field(default_factory=dict)
    fixed: bool = False  # the approvers are the protected branch's (see ``evaluate``)

    @classmethod
    def start(cls, loaded: Loaded, confirmed: frozenset[str]) -> Evaluator:
        below = children(loaded) if loaded.missing else {}
        detached = reach(below, set(loaded.missing)) if loaded.missing else set()
        # A launch ends when `sdd run` records that the agent's whole tree has ended; a
        # history from before that record existed (or a run that was killed) ends it with
        # the session.
        # A signed project's unsigned past is what its first approver's record was appended
        # after: the person saw it. An unsigned act outside it was forked off that past
        # later, with an id that dates it back there.
        exits: set[str | None] = set()
        add = None
        for record in loaded.records:  # one pass for both
            kind = record["type"]
            if kind == "session.exit":
                exits.add(_session(record))
            elif kind == "approver.add" and add is None and record["id"] not in detached:
                add = record
        past = ancestors(loaded, [add["hash"]]) if add is not None else None
        first = loaded.records[0]["id"] if loaded.records else None
        evaluator = cls(Trust(confirmed=confirmed), first, detached, past, exits)
        evaluator._missing(loaded, below)
        return evaluator

    def _missing(self, loaded: Loaded, below: dict[str, list[str]]) -> None:
        trust = self.trust
        by_id = {r["id"]: r for r in loaded.records} if loaded.missing else {}
        for root in sorted(loaded.missing):  # where records are missing: one problem each
            record = by_id[root]
            after = len(reach(below, {root})) - 1
            rest = (f" and the {after} record(s) after it" if after else "") + " do not count"
            if loaded.lines.get(root) == 1:
                # A segment that starts after records this history lacks: copied from
                # another branch (a cherry-pick of a commit that added it), not edited here.
                copied = (
                    "the records it was appended after are missing from this history: its "
                    "segment was copied from another branch (a cherry-pick?), so it" + rest
                )
                trust.problems.append(_problem(loaded, record, copied, tamper=False))
            else:
                cut = "the record written before it is missing: deleted or edited (it" + rest + ")"
                trust.problems.append(_problem(loaded, record, cut, tamper=True))

    def feed(self, loaded: Loaded, records: list[Record]) -> None:
        """Judge ``records`` (after every record fed before, in id order); ``loaded`` names
        their places."""
        trust, running, past, confirmed = self.trust, self.running, self.past, self.trust.confirmed
        detached, not_counted, exits = self.detached, trust.not_counted, self.exits
        for record in records:
            kind, ident = record["type"], record["id"]
            why = None
            if ident in detached:
                not_counted[ident] = "the records it descends from are missing"
                continue
            elif kind in ONCE and (ident != self.first or _has_parents(record)):
                why = f"a second `{kind}`: only the history's first record may be one"
            elif kind in PERSON_ACTS and (kind != "rules.accept" or is_person_act(record)):
                self.acts += 1
                wrong = mismatches(record)  # a shape sdd never writes: written by hand
                why = f"sdd did not write it: {'; '.join(wrong)}" if wrong else None
                if why is None and self.fixed and kind == "approver.add" and ident not in confirmed:
                    why = "an approver added outside the base it is judged against: it counts once the base holds it"
                why = why or _act(trust, record, running, confirmed, past)
                if kind == "approver.add":
                    # Signed from the first approver's record on, whether it holds or not:
                    # one rewritten so that its signature fails must not make the project
                    # unsigned again, where the acts after it would count without their
                    # signatures.
                    trust.signed = True
            elif "sig" in record:
                why = "it carries a signature, and sdd signs only a person's acts"
            if why is not None:
                not_counted[ident] = why
                trust.problems.append(_problem(loaded, record, why, tamper=False))
                continue
            if not kind.startswith("session."):
                continue
            session = _session(record)
            if kind == "session.launch" and session is not None:
                running[session] = ident
                self.popped.pop(session, None)
            elif kind == "session.exit":
                running.pop(str(session), None)
                self.popped.pop(str(session), None)
            elif kind == "session.end" and session not in exits:
                launch = running.pop(str(session), None)
                if launch is not None:
                    self.popped[str(session)] = (launch, self.acts)

    def finish(self, loaded: Loaded) -> None:
        """What the signatures cover, once every record is judged (a full walk only)."""
        trust = self.trust
        signed = trust.signed_by
        good = [r["hash"] for r in loaded.records if r["id"] in signed] if signed else []
        trust.covered = ancestors(loaded, good)
        by_id = {r["id"]: r for r in loaded.records} if loaded.missing else {}
        for ident, absent in loaded.missing.items():
            if ident in trust.covered:
                record = by_id[ident]
                trust.problems.append(
                    _problem(
                        loaded,
                        record,
                        f"{len(absent)} record(s) before it are missing, and a person's "
                        "signature covers them: removed or edited after they were signed",
                        tamper=True,
                    )
                )


def judge_acts(
    records: list[Record], confirmed: frozenset[str] = frozenset()
) -> tuple[Trust, dict[str, str]]:
    """Judge a person's acts alone, in id order, as the walk judges them once the launches
    around them have ended: the approvers they leave in force, and why each act that does
    not count does not. For checking what a checkpoint says of them (``project.reverify``):
    ``records`` must hold every approver's record before each act."""
    trust = Trust(confirmed=confirmed)
    why: dict[str, str] = {}
    for record in sorted(records, key=lambda r: str(r.get("id"))):
        wrong = mismatches(record)
        reason = f"sdd did not write it: {'; '.join(wrong)}" if wrong else None
        reason = reason or _act(trust, record, {}, confirmed, None)
        if record.get("type") == "approver.add":
            trust.signed = True
        if reason is not None:
            why[str(record.get("id"))] = reason
    return trust, why


def _has_parents(record: Record) -> bool:
    if record.get("v") == 1:
        return record.get("prev") is not None
    return bool(record.get("parents"))


def _act(
    trust: Trust,
    record: Record,
    running: dict[str, str],
    confirmed: frozenset[str],
    past: set[str] | None,
) -> str | None:
    """Why a person's act does not count, or None when it does. ``past``: the unsigned past
    of a signed project (None: the project is unsigned)."""
    kind = record["type"]
    if not trust.signed:
        if "sig" in record and kind != "approver.add":
            # sdd signs acts only once there is an approver: the one before it was removed.
            return "it is signed, and no approver's record comes before it (removed?)"
        if past is not None and record["id"] not in past:
            return (
                "unsigned, and the first approver's record does not descend from it: added "
                "later and dated before the project was signed"
            )
        if running:
            sessions = ", ".join(sorted(running))
            return (
                f"recorded while session {sessions}, launched by `sdd run`, was running: "
                "its agent could have written it"
            )
        if kind == "approver.add":
            # The first approver: self-signed, trusted on first use (and shown as such).
            return _add_approver(trust, record, first=True)
        if kind == "approver.revoke":
            return "an approver change in a project with no approver"
        return None
    if kind == "approver.add" and record.get("recovery") is True:
        # A sole approver who lost their key: the new key signs its own record, and it
        # counts once the protected branch holds it (a reviewer merged it), not before.
        if record["id"] not in confirmed:
            return (
                f"a recovery key {_fingerprint(record)} for {record.get('principal')}, "
                "unconfirmed: it counts once the protected branch holds it"
            )
        return _add_approver(trust, record, first=True)
    why = _signature(trust, record)
    if why is not None:
        return why
    if kind == "approver.add":
        return _add_approver(trust, record, first=False)
    if kind == "approver.revoke":
        gone = record.get("fingerprint")
        if not isinstance(gone, str) or gone not in trust.approvers:
            return "revokes a key that is not an approver"
        if len(trust.approvers) == 1:
            return "would leave the project without an approver (add another first)"
        del trust.approvers[gone]
    return None


def _signature(trust: Trust, record: Record) -> str | None:
    sig = record.get("sig")
    if not isinstance(sig, dict) or not isinstance(sig.get("signature"), str):
        return "a person's act without a signature, in a signed project"
    from sdd.core import sshsig

    verdict = sshsig.check_signature(sig["signature"], record["hash"].encode())
    if not verdict.valid:
        return f"its signature does not hold ({verdict.reason})"
    if verdict.fingerprint not in trust.approvers:
        return f"signed by {verdict.fingerprint}, which is not an approver of this project"
    assert verdict.fingerprint is not None
    trust.signed_by[record["id"]] = verdict.fingerprint
    return None


def _add_approver(trust: Trust, record: Record, *, first: bool) -> str | None:
    from sdd.core.sshkeys import SshDataError, parse_public_key

    try:
        key = parse_public_key(str(record.get("key", "")))
    except SshDataError as exc:
        return f"names no usable key ({exc.message})"
    if first:
        # Signed by the key it adds: the person held it when it was added.
        before = dict(trust.approvers)
        trust.approvers[key.fingerprint] = _approver(record, key.openssh, key.fingerprint)
        why = _signature(trust, record)
        if why is not None:
            trust.approvers = before
            return why
        trust.signed = True
        trust.known[key.fingerprint] = trust.approvers[key.fingerprint]
        return None
    if key.fingerprint in trust.approvers:
        roles = record.get("roles")
        if not isinstance(roles, list):
            return f"{key.fingerprint} is already an approver"
        # An approver's roles set anew (`sdd approvers add KEY --role …`), signed by an
        # approver in force, as adding one is.
        from sdd.core.structs import replace

        held = tuple(r for r in roles if isinstance(r, str))
        trust.approvers[key.fingerprint] = replace(trust.approvers[key.fingerprint], roles=held)
        trust.known[key.fingerprint] = trust.approvers[key.fingerprint]
        return None
    trust.approvers[key.fingerprint] = _approver(record, key.openssh, key.fingerprint)
    trust.known[key.fingerprint] = trust.approvers[key.fingerprint]
    return None


def _fingerprint(record: Record) -> str:
    from sdd.core.sshkeys import SshDataError, parse_public_key

    try:
        return parse_public_key(str(record.get("key", ""))).fingerprint
    except SshDataError:
        return "(a key sdd cannot read)"


def _approver(record: Record, key: str, fingerprint: str) -> Approver:
    principal = record.get("principal")
    roles = record.get("roles")
    return Approver(
        principal if isinstance(principal, str) and principal else fingerprint,
        key,
        fingerprint,
        record["id"],
        record.get("recovery") is True,
        tuple(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else (),
    )


def _problem(loaded: Loaded, record: Record, why: str, *, tamper: bool) -> Problem:
    ident = record["id"]
    what = f"a `{record['type']}` record does not count: {why}" if not tamper else why
    return Problem(loaded.lines.get(ident, 0), ident, what, loaded.files.get(ident, ""), tamper)


@dataclass(frozen=True)
class Tally:
    """How far a gate's team rule is met: the people whose approvals count, and why the
    others do not. The one rule every face and `sdd ci check` count approvals by."""

    need: int
    roles: tuple[str, ...]
    by: tuple[str, ...]  # the principals whose approvals count, in the order they approved
    records: tuple[str, ...]  # the approval records that count, one per principal
    not_counted: tuple[tuple[str, str], ...] = ()  # (record id, why)

    @property
    def met(self) -> bool:
        return len(self.by) >= self.need

    @property
    def remaining(self) -> int:
        return max(0, self.need - len(self.by))

    @property
    def wanting(self) -> str:
        """What is still needed, in words ("" when met)."""
        if self.met:
            return ""
        who = f" by an approver with the role {' or '.join(self.roles)}" if self.roles else ""
        more = "more " if self.by else ""
        plural = "s" if self.remaining > 1 else ""
        other = " other than " + ", ".join(self.by) if self.by else ""
        return f"waiting for {self.remaining} {more}approval{plural}{who}{other}"


def tally(
    need: int,
    roles: tuple[str, ...],
    approvals: list[tuple[str, dict[str, str]]],
    trust: Trust | None,
) -> Tally:
    """Count ``approvals`` ((record id, who recorded it), oldest first) under a gate's team
    rule: ``need`` people, each an approver with one of ``roles`` (none: any approver).

    People are counted, not keys: two approvals by one key, or by two keys of one principal,
    count once. In a signed project who approved is the key that signed the record (the
    signature, checked by :func:`evaluate`), never the ``by`` it claims; an unsigned project
    has no keys and so no roles, and names people by their git identity."""
    signed = trust is not None and trust.signed
    by: list[str] = []
    records: list[str] = []
    refused: list[tuple[str, str]] = []
    for record, who in approvals:
        if who.get("kind") == "demo":
            principal, held = "sdd demo approver", roles  # the demo project's scripted person
        elif (
            trust is not None
            and signed
            and (trust.signed_by.get(record) or record in trust.not_counted)
        ):
            approver = trust.known.get(trust.signed_by.get(record) or "")
            if approver is None:
                refused.append((record, "not signed by an approver"))
                continue
            principal, held = approver.principal, approver.roles
        else:
            # An unsigned project, or the unsigned past of one signed later (evaluate let it
            # count: recorded before the first approver): people by their git identity.
            principal = who.get("email") or who.get("name") or record
            held = ()
        if roles and not set(roles) & set(held):
            having = ", ".join(held) or "no role"
            refused.append(
                (record, f"{principal} has {having}; this gate needs {' or '.join(roles)}")
            )
            continue
        if principal in by:
            refused.append((record, f"{principal} approved it already: a person counts once"))
            continue
        by.append(principal)
        records.append(record)
    return Tally(need, roles, tuple(by), tuple(records), tuple(refused))

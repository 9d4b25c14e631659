"""The history as a proof (format 2), property-tested with hypothesis.

One signed project is built per test, the way a person builds it (real `ssh-keygen` keys with
a passphrase typed by SSH_ASKPASS, every act at a real pty): the first approver, the spec's
approval, a finding the person waives — three signed acts, and nothing after the last one.
Each example copies it and rewrites its history files as an agent with a shell can:

- a record a signed act covers edited (any field; the hash left, recomputed, or recomputed
  with every hash after it), removed (at a line boundary, or cut out and the chain relinked),
  a hand-built record inserted between two covered ones (relinked), two covered records
  reordered: `sdd doctor` reports a history error and no act whose signature covered the
  rewritten record counts (its gate is not approved, its finding not waived, its approver not
  in force);
- records appended after the last signed act (by sdd, by hand at the heads, or forked off an
  older record): each shows as "not yet seen by a person", none is a problem;
- two git branches that both recorded work merge with a plain `git merge` (no union driver)
  without a conflict in `.sdd/`, and the merged history verifies;
- a format-1 history with approved gates migrates on the first write and no gate turns
  tampered or stale; its unsigned past shows as unsigned.

The rewritten copies carry no `.git`: what git would add (a committed segment that changed)
is left out, so that only the graph and the signatures prove what happened. The bulk of the
examples goes through the public API (`sdd.api.status`, `sdd.api.doctor`), a sample of them
through the installed command (`sdd status --json`, `sdd doctor --json`).
"""

from __future__ import annotations

import copy
import itertools
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fault_helpers import doctor
from helpers import (
    commit_all,
    complete_stage,
    gate_of,
    git,
    history_files,
    history_records,
    init_project,
    run,
    sdd_json,
    status,
)
from redteam.forge import (
    Entry,
    History,
    Record,
    fields_of,
    id_between,
    iso,
    line_of,
    new_id,
    record_hash,
    seconds_of,
)
from redteam.person import Person
from sdd import api
from sdd.core.errors import SddError

PROPERTY = settings(
    deadline=None,
    database=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Each example of these runs the command line several times, or git: fewer of them.
SLOW = settings(PROPERTY, max_examples=6)
UNSIGNED = "unsigned: an agent with a shell can pass the gates — `sdd approvers add`"
FINDING = "the reset link is written to the server log"


# ----------------------------------------------------------------------------- the project


@dataclass
class Base:
    root: Path
    person: Person
    finding: str  # the finding the person waived


def _build(folder: Path) -> Base:
    """The person adds their key before any agent ran, approves the spec and waives a
    finding of the architecture, committing after every step."""
    person = Person.make(folder / "ada")
    root = init_project(folder, name="signed")
    person.signs_commits_in(root)
    person.adds_approver(root, person.key, person.name)
    commit_all(root, "the first approver")
    complete_stage(root, "spec")
    commit_all(root, "spec")
    person.does(root, "approve", "spec-approval")
    commit_all(root, "spec approved")
    complete_stage(root, "architecture")
    added = run(
        "findings", "add", "--severity", "minor", "--stage", "architecture", FINDING, cwd=root
    )
    assert added.returncode == 0, added.stdout + added.stderr
    (finding,) = [f["id"] for f in sdd_json("findings", cwd=root)]
    person.does(root, "findings", "waive", finding, "--reason", "the log is private")
    commit_all(root, "the finding waived")
    return Base(root, person, finding)


@pytest.fixture
def signed(_stash: dict[str, object], work: Path) -> Base:
    """A copy of the signed project (built once per test session)."""
    folder, built = _stash["dir"], _stash["built"]
    assert isinstance(folder, Path) and isinstance(built, dict)
    if "history-properties:signed" not in built:
        place = folder / "history-properties"
        shutil.rmtree(place, ignore_errors=True)  # of an earlier attempt that failed
        place.mkdir()
        built["history-properties:signed"] = _build(place)
    made = built["history-properties:signed"]
    assert isinstance(made, Base)
    target = work / "signed"
    shutil.copytree(made.root, target, symlinks=True)
    return Base(target, made.person, made.finding)


class Copies:
    """A fresh copy of the project for each example (the one before it is removed)."""

    def __init__(self, source: Path, *, with_git: bool) -> None:
        self.source, self.with_git, self.count = source, with_git, 0
        self.last: Path | None = None

    def fresh(self) -> Path:
        if self.last is not None:
            shutil.rmtree(self.last, ignore_errors=True)
        self.count += 1
        target = self.source.parent / f"example-{self.count}"

        def skip(folder: str, names: list[str]) -> list[str]:
            return [".git"] if folder == str(self.source) and not self.with_git else []

        shutil.copytree(self.source, target, symlinks=True, ignore=skip)
        shutil.rmtree(target / ".sdd" / "cache", ignore_errors=True)
        self.last = target
        return target


# ----------------------------------------------------------------------------- the oracle


@dataclass
class Graph:
    """The history as the forger sees it (forge.py, nothing of sdd): the records, their
    parents, and what each signed act covers — everything reachable from it."""

    records: list[Record]
    by_id: dict[str, Record] = field(init=False)
    by_hash: dict[str, Record] = field(init=False)

    def __post_init__(self) -> None:
        self.records = sorted(self.records, key=lambda r: str(r["id"]))
        self.by_id = {r["id"]: r for r in self.records}
        self.by_hash = {r["hash"]: r for r in self.records}

    def closure(self, ident: str) -> set[str]:
        seen: set[str] = set()
        stack = [self.by_id[ident]]
        while stack:
            record = stack.pop()
            if record["id"] not in seen:
                seen.add(record["id"])
                stack += [self.by_hash[p] for p in record.get("parents", []) if p in self.by_hash]
        return seen

    @property
    def acts(self) -> list[str]:
        """The signed acts, oldest first."""
        return [r["id"] for r in self.records if "sig" in r]

    @property
    def covered(self) -> set[str]:
        return set().union(*(self.closure(a) for a in self.acts))

    def covering(self, *idents: str) -> set[str]:
        """The signed acts whose signature covers any of ``idents``."""
        return {a for a in self.acts if self.closure(a) & set(idents)}

    def after(self, ident: str) -> set[str]:
        return {a for a in self.acts if a >= ident}


def _holds(act: Record, data: dict[str, Any], base: Base) -> bool:
    """Whether the signed act's effect shows in `sdd status`'s data."""
    kind = act["type"]
    if kind == "approver.add":
        return any(a["principal"] == act["principal"] for a in data["signing"]["approvers"])
    if kind == "gate.approve":  # (no gates at all: the history holds no cycle any more)
        gates = [g for g in data.get("gates", []) if g["name"] == act["gate"]]
        return any(g["state"] == "approved" for g in gates)
    assert kind == "finding.waive", kind
    found = data.get("findings", [])
    return any(f["id"] == base.finding and f["status"] == "waived" for f in found)


@dataclass
class Verdict:
    data: dict[str, Any] | None  # status's data (None: it refused, naming the history)
    refusal: str
    errors: list[str]  # doctor's errors about the history
    findings: list[str]  # everything doctor says about the history


def _api_verdict(root: Path) -> Verdict:
    try:
        data, refusal = api.status(str(root)).data, ""
    except SddError as exc:
        data, refusal = None, exc.message
    report = api.doctor(api.Project(str(root)))
    mine = [f for f in report.findings if f.area == "history"]
    return Verdict(
        data, refusal, [f.what for f in mine if f.severity == "error"], [f.what for f in mine]
    )


def _cli_verdict(root: Path) -> Verdict:
    result = run("status", "--json", cwd=root)
    data = json.loads(result.stdout)["data"] if result.returncode == 0 else None
    if data is None:
        assert result.returncode in (1, 3), result.stdout + result.stderr
    said = run("doctor", "--json", cwd=root)
    report = json.loads(said.stdout)["data"]
    assert said.returncode == (0 if report["ok"] else 1), said.stdout + said.stderr
    mine = [f for f in report["findings"] if f["area"] == "history"]
    errors = [f["what"] for f in mine if f["severity"] == "error"]
    return Verdict(data, result.stderr, errors, [f["what"] for f in mine])


def _detected(verdict: Verdict, graph: Graph, affected: set[str], base: Base, what: str) -> None:
    """Doctor reports an error, and no act whose signature covered the rewrite counts."""
    assert verdict.errors, f"{what}: doctor reports no history error ({verdict.findings})"
    if verdict.data is None:
        assert verdict.refusal, what
        return  # status refuses over this history: nothing is decided by it
    for ident in sorted(affected):
        act = graph.by_id[ident]
        assert not _holds(act, verdict.data, base), (
            f"{what}: the `{act['type']}` {ident} still counts; problems: "
            f"{json.dumps(verdict.data['problems'], indent=1)}"
        )


# ----------------------------------------------------------------------------- the rewrites

DELETE = "<the field removed>"
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
HEX = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
KINDS = ("session.start", "session.end", "finding.add", "gate.approve", "gate.reject")
KINDS += ("finding.waive", "approver.add", "cycle.abandon", "question.answer", "note")


def _values(name: str, record: Record, graph: Graph) -> st.SearchStrategy[Any]:
    """What an agent may write into a field: anything, what another record holds there, or
    what is plausible for it."""
    others = [r for r in graph.records if r["id"] != record["id"]]
    choices: list[st.SearchStrategy[Any]] = [JSON, st.just(DELETE)]
    seen = [r[name] for r in others if name in r and r[name] != record.get(name)]
    if seen:
        choices.append(st.sampled_from(seen))
    if name == "id":
        ids = [r["id"] for r in graph.records]
        choices.append(st.sampled_from(list(itertools.pairwise(ids))).map(lambda p: id_between(*p)))
    elif name == "at":
        moment = seconds_of(str(record["id"]))
        choices.append(st.integers(-(10**6), 10**6).map(lambda d: iso(moment + d)))
    elif name == "parents":
        choices.append(st.lists(st.sampled_from([r["hash"] for r in others]), max_size=2))
    elif name == "v":
        choices.append(st.sampled_from([1, 3]))
    elif name == "type":
        choices.append(st.sampled_from(KINDS))
    elif name == "hash":
        return HEX | st.sampled_from([r["hash"] for r in others])
    return st.one_of(choices)


def _rehashed(history: History, entries: list[Entry], entry: Entry, how: str) -> None:
    """Save ``entries``: hashes as they stand, ``entry``'s recomputed, or every hash and
    parent link after it made consistent again (the best a forger can do)."""
    if how == "chain":
        history.rewritten(entries)
        return
    if how == "own":
        entry.record["hash"] = record_hash(entry.record)
    history._save(entries)


Mutation = Callable[[st.DataObject, History, Graph], tuple[str, set[str]]]


def _edit(data: st.DataObject, history: History, graph: Graph) -> tuple[str, set[str]]:
    """A covered record edited: any field (a signed act's signature too), or one added."""
    entries = history.entries()
    target = data.draw(st.sampled_from(sorted(graph.covered)), label="record")
    entry = next(e for e in entries if e.id == target)
    record = entry.record
    # The signature is outside the hash (a signature cannot cover itself): what it covers is
    # the rest, and it is a field to edit only where there is one.
    names = sorted({*record, "note"} - {"sig"}) + (["sig"] if "sig" in record else [])
    name = data.draw(st.sampled_from(names), label="field")
    before = copy.deepcopy(record)
    value = data.draw(_values(name, record, graph), label="value")
    if value == DELETE:
        record.pop(name, None)
    else:
        record[name] = value
    assume(record != before)
    how = (
        "none" if name in ("hash", "sig") else data.draw(st.sampled_from(("none", "own", "chain")))
    )
    _rehashed(history, entries, entry, how)
    what = f"{before['type']} {target}: {name} = {value!r} (hashes: {how})"
    if name != "sig":
        return what, graph.covering(target)
    # What its signature covers did not change; the act itself does not count (and without
    # its approver, nothing signed after it does).
    return what, graph.after(target) if before["type"] == "approver.add" else {target}


def _remove(data: st.DataObject, history: History, graph: Graph) -> tuple[str, set[str]]:
    """Covered records taken out: at a line boundary, or cut out with the chain relinked."""
    last = graph.acts[-1]  # it covers the rest (removing it alone is the git check's to see)
    chosen = sorted(graph.covered - {last})
    gone = data.draw(st.lists(st.sampled_from(chosen), min_size=1, max_size=3, unique=True))
    how = data.draw(st.sampled_from(("line", "relink")), label="how")
    if how == "line":
        history.remove(*[e for e in history.entries() if e.id in gone])
    else:
        for ident in gone:
            history.cut_out(next(e for e in history.entries() if e.id == ident))
    kinds = [graph.by_id[i]["type"] for i in gone]
    return f"removed ({how}) {list(zip(kinds, gone, strict=True))}", graph.covering(*gone)


def _insert(data: st.DataObject, history: History, graph: Graph) -> tuple[str, set[str]]:
    """A hand-built record slipped in between two covered ones, the chain relinked and
    rehashed: a copy of any record's fields (with a signature replayed onto it, or none)."""
    covered = graph.covered
    pairs = [
        (a, b)
        for a, b in itertools.pairwise(graph.records)
        if a["id"] in covered and b["id"] in covered and a["hash"] in b.get("parents", [])
    ]
    before, after = data.draw(st.sampled_from(pairs), label="between")
    model = data.draw(st.sampled_from(graph.records), label="copied from")
    fields = fields_of(model)
    sigs = [r["sig"] for r in graph.records if "sig" in r]
    sig = data.draw(st.none() | st.sampled_from(sigs), label="signature")
    if sig is not None:
        fields["sig"] = sig
    entry = next(e for e in history.entries() if e.id == before["id"])
    inserted = history.insert_after(entry, model["type"], fields)
    what = f"a `{model['type']}` inserted after {before['type']} {before['id']} ({inserted['id']})"
    return what, graph.covering(after["id"])


def _reorder(data: st.DataObject, history: History, graph: Graph) -> tuple[str, set[str]]:
    """Two covered records exchange their places in the fold (their ids and times)."""
    pair = data.draw(
        st.lists(st.sampled_from(sorted(graph.covered)), min_size=2, max_size=2, unique=True)
    )
    how = data.draw(st.sampled_from(("none", "chain")), label="hashes")
    entries = history.entries()
    first, second = (next(e for e in entries if e.id == i) for i in pair)
    for key in ("id", "at"):
        first.record[key], second.record[key] = second.record[key], first.record[key]
    _rehashed(history, entries, first, how)
    kinds = [graph.by_id[i]["type"] for i in pair]
    return f"reordered {list(zip(kinds, pair, strict=True))} (hashes: {how})", graph.covering(*pair)


MUTATIONS: dict[str, Mutation] = {
    "edited": _edit,
    "removed": _remove,
    "inserted": _insert,
    "reordered": _reorder,
}


def _baseline(signed: Base) -> Graph:
    """The project before any rewrite: what sdd says matches what the forger sees."""
    graph = Graph(History(signed.root).records())
    assert [graph.by_id[a]["type"] for a in graph.acts] == [
        "approver.add",
        "gate.approve",
        "finding.waive",
    ]
    assert graph.covered == set(graph.by_id), "the last act covers the whole history"
    data = status(signed.root)
    assert data["problems"] == [] and data["warnings"] == []
    assert data["signing"]["signed"] is True and data["signing"]["unseen"] == 0
    for act in graph.acts:
        assert _holds(graph.by_id[act], data, signed), act
    state = full_fold(signed.root)
    assert state.trust is not None and set(state.trust.signed_by) == set(graph.acts)
    assert state.trust.covered == graph.covered
    return graph


def full_fold(root: Path) -> Any:
    """The state of a full fold: what the signatures cover is the walk's (a command that
    starts from a checkpoint keeps only how many records no signature covers)."""
    from sdd.core import history as stored

    project = api.Project(str(root))
    return project.state_of(stored.load(project.paths))


class Scene:
    """The signed project, what its signatures cover, and its copies."""

    def __init__(self, base: Base, graph: Graph, copies: Copies) -> None:
        self.base, self.graph, self.copies = base, graph, copies

    def __repr__(self) -> str:  # what hypothesis prints of a failing example
        return f"Scene({self.base.root})"


@pytest.fixture
def rewritable(signed: Base) -> Scene:
    """The signed project, what its signatures cover, and a fresh copy (without git) for
    every example."""
    return Scene(signed, _baseline(signed), Copies(signed.root, with_git=False))


@pytest.mark.parametrize("rewrite", MUTATIONS)
@PROPERTY
@given(data=st.data())
def test_a_rewritten_record_a_signature_covers_is_detected_and_its_acts_do_not_count(
    rewritable: Scene, rewrite: str, data: st.DataObject
) -> None:
    root = rewritable.copies.fresh()
    what, affected = MUTATIONS[rewrite](data, History(root), rewritable.graph)
    assert affected, what
    _detected(_api_verdict(root), rewritable.graph, affected, rewritable.base, what)


@SLOW
@given(data=st.data())
def test_the_command_line_says_the_same_of_a_rewritten_history(
    rewritable: Scene, data: st.DataObject
) -> None:
    root = rewritable.copies.fresh()
    rewrite = data.draw(st.sampled_from(sorted(MUTATIONS)), label="rewrite")
    what, affected = MUTATIONS[rewrite](data, History(root), rewritable.graph)
    verdict = _cli_verdict(root)
    _detected(verdict, rewritable.graph, affected, rewritable.base, what)
    assert _api_verdict(root).errors == verdict.errors, what


def _act_by_hand(kind: str, graph: Graph, by: dict[str, Any]) -> Record:
    """The fields of a person's act as an agent writes it: its own, or a real act's copied."""
    if kind in ("gate.approve", "gate.reject", "finding.waive"):
        model = "finding.waive" if kind == "finding.waive" else "gate.approve"
        return {**fields_of(next(r for r in graph.records if r["type"] == model)), "by": by}
    if kind == "question.answer":
        return {"question": "Q1", "answer": "links never expire", "cycle": 1, "by": by}
    return {"cycle": 1, "reason": "the agent ends it", "by": by}


@PROPERTY
@given(data=st.data())
def test_a_persons_act_slipped_in_anywhere_off_the_chain_does_not_count(
    rewritable: Scene, data: st.DataObject
) -> None:
    """Not relinked: forked off any record, its id anywhere — after the last record, or
    between two (dated into the past, before the first approver too)."""
    root, graph = rewritable.copies.fresh(), rewritable.graph
    kind = data.draw(
        st.sampled_from(
            (
                "cycle.abandon",
                "cycle.archive",
                "question.answer",
                "gate.approve",
                "gate.reject",
                "finding.waive",
            )
        )
    )
    place = data.draw(st.integers(0, len(graph.records) - 1), label="after record")
    parent = data.draw(st.sampled_from(graph.records[: place + 1]), label="forked off")
    real = next(r for r in graph.records if r["type"] == "gate.approve")["by"]
    by = data.draw(st.sampled_from([real, {k: v for k, v in real.items() if k != "key"}]))
    sig = data.draw(st.none() | st.sampled_from([r["sig"] for r in graph.records if "sig" in r]))
    low = graph.records[place]["id"]
    ident = (
        id_between(low, graph.records[place + 1]["id"])
        if place + 1 < len(graph.records)
        else new_id(low)
    )
    record: Record = {"id": ident, "v": 2, "type": kind, "at": graph.records[place]["at"]}
    record["parents"] = [parent["hash"]]
    record.update(_act_by_hand(kind, graph, by))
    record["hash"] = record_hash(record)
    if sig is not None:
        record["sig"] = sig
    (root / ".sdd" / "history" / f"{ident}.jsonl").write_bytes(line_of(record))
    verdict = _api_verdict(root)
    assert verdict.data is not None, verdict.refusal
    said = [p for p in verdict.data["problems"] if p["record"] == ident]
    assert said and "does not count" in said[0]["what"], verdict.data["problems"]
    assert any(said[0]["place"] in error for error in verdict.errors), verdict.errors
    assert verdict.data["cycle"]["state"] not in ("abandoned", "archived"), verdict.data["cycle"]
    for act in graph.acts:
        assert _holds(graph.by_id[act], verdict.data, rewritable.base), act


# Found by the rewrite property: a rewrite of the first approver's record (every hash after it
# recomputed) made its signature fail, the project counted as unsigned again, and the acts
# after it counted without their signatures. Cut out, the acts after it counted just the same.
@pytest.mark.parametrize("rewrite", ["edited", "cut-out"])
def test_a_rewritten_first_approver_leaves_the_project_signed_and_its_acts_not_counted(
    rewritable: Scene, rewrite: str
) -> None:
    root = rewritable.copies.fresh()
    history = History(root)
    first = history.one("approver.add")
    if rewrite == "edited":
        history.edit(first, principal="Mallory")
    else:
        history.cut_out(first)
    data = status(root)
    assert data["signing"]["signed"] is (rewrite == "edited"), data["signing"]
    assert data["signing"]["approvers"] == []
    assert gate_of(data, "spec-approval")["state"] != "approved"
    assert [f["status"] for f in data["findings"]] == ["open"]
    said = {p["record"]: p["what"] for p in data["problems"]}
    places = [p["place"] for p in data["problems"]]
    acts = {e.record["type"]: e.id for e in history.entries() if "sig" in e.record}
    assert set(said) == set(acts.values()), said
    if rewrite == "edited":
        assert "signature does not hold" in said[acts["approver.add"]]
    else:
        assert "no approver's record comes before it" in said[acts["gate.approve"]]
    _, report, _ = doctor(root)
    errors = " ".join(f["what"] for f in report["findings"] if f["severity"] == "error")
    assert all(place in errors for place in places), errors


# Found by the property of acts slipped in off the chain: an unsigned act forked off the
# records before the first approver, its id dated back there, counted as the unsigned past.
def test_an_unsigned_act_dated_back_before_the_first_approver_does_not_count(
    rewritable: Scene,
) -> None:
    root = rewritable.copies.fresh()
    history = History(root)
    opened, first = history.one("cycle.open"), history.one("approver.add")
    by = {k: v for k, v in history.one("gate.approve").record["by"].items() if k != "key"}
    record: Record = {"id": id_between(opened.id, first.id), "v": 2, "type": "cycle.abandon"}
    record.update(at=opened.record["at"], parents=[opened.record["hash"]], cycle=1, by=by)
    record["reason"] = "the agent ends it"
    forged = history.write(record)
    data = status(root)
    assert data["cycle"]["state"] == "open", data["cycle"]
    (said,) = [p for p in data["problems"] if p["record"] == forged.id]
    assert "first approver's record does not descend from it" in said["what"], said
    _, report, _ = doctor(root)
    assert any(said["place"] in f["what"] for f in report["findings"] if f["severity"] == "error")


# ----------------------------------------------------------------------------- unseen records

SENTENCES = ("the reset mail has no plain-text part", "a used link shows no error", "typo")
FOUND = {"cycle": 1, "severity": "minor", "stage": "architecture", "text": "written by hand"}


def _append(root: Path, how: str, pick: int, tag: str) -> None:
    """One more thing recorded after the last signed act: by sdd (a finding; a session
    started and abandoned), or by hand at the heads or forked off an older record."""
    project = api.Project(str(root))
    if how == "finding":
        api.record_finding(project, "minor", SENTENCES[pick % len(SENTENCES)], stage="architecture")
    elif how == "session":
        api.start(project, "plan")
        api.abandon_session(project, reason="not today")
    else:
        history = History(root)
        record = history.forge("finding.add", {**FOUND, "finding": f"F-{tag}{pick % 1000}"})
        if how == "fork":
            records = history.records()
            record["parents"] = [records[pick % len(records)]["hash"]]
        history.write(record)


APPENDS = st.lists(
    st.tuples(st.sampled_from(("finding", "session", "heads", "fork")), st.integers(0, 10**6)),
    min_size=1,
    max_size=4,
)


@pytest.fixture
def appendable(signed: Base) -> Scene:
    """The signed project and a fresh copy, with git, for every example."""
    return Scene(signed, _baseline(signed), Copies(signed.root, with_git=True))


@settings(PROPERTY, max_examples=20)
@given(appends=APPENDS)
def test_records_appended_after_the_last_signed_act_are_unseen_and_no_problem(
    appendable: Scene, appends: list[tuple[str, int]]
) -> None:
    root, graph = appendable.copies.fresh(), appendable.graph
    for n, (how, pick) in enumerate(appends):
        _append(root, how, pick, str(n))
    new = {r["id"] for r in History(root).records()} - set(graph.by_id)
    assert len(new) >= len(appends)
    verdict = _api_verdict(root)
    assert verdict.findings == [], verdict.findings
    assert verdict.data is not None
    assert verdict.data["problems"] == [] and verdict.data["warnings"] == []
    signing = verdict.data["signing"]
    assert signing["signed"] is True and signing["unseen"] == len(new), signing
    assert f"{len(new)} record(s) not yet seen by a person" in signing["note"]
    state = full_fold(root)
    assert state.trust is not None and state.trust.covered == set(graph.by_id)
    for act in graph.acts:
        assert _holds(graph.by_id[act], verdict.data, appendable.base), act


def test_records_no_person_saw_are_shown_and_the_next_signed_act_covers_them(
    signed: Base,
) -> None:
    root = signed.root
    before = len(history_records(root))
    for text in SENTENCES[:2]:
        added = run(
            "findings", "add", "--severity", "minor", "--stage", "architecture", text, cwd=root
        )
        assert added.returncode == 0, added.stdout + added.stderr
    for args in (("start", "plan"), ("abandon", "--reason", "not today")):
        done = run(*args, cwd=root)
        assert done.returncode == 0, done.stdout + done.stderr
    appended = len(history_records(root)) - before
    data = status(root)
    assert data["signing"]["unseen"] == appended >= 4, data["signing"]
    assert f"{appended} record(s) not yet seen by a person" in data["signing"]["note"]
    assert data["problems"] == []
    _, report, _ = doctor(root)
    assert [f for f in report["findings"] if f["area"] == "history"] == [], report
    newest = [f["id"] for f in sdd_json("findings", cwd=root) if f["status"] == "open"][-1]
    signed.person.does(root, "findings", "waive", newest, "--reason", "not a bug")
    data = status(root)
    assert data["signing"]["unseen"] == 0 and data["signing"]["note"].startswith("signed")
    assert data["problems"] == []


# ----------------------------------------------------------------------------- merges


def _ids(root: Path) -> set[str]:
    return {r["id"] for r in History(root).records()}


def _no_merge_driver(root: Path) -> None:
    """As a host's merge button merges: no union driver (it ignores them), none for `.sdd/`."""
    for attributes in (root / ".sdd" / ".gitattributes", root / "docs" / ".gitattributes"):
        attributes.unlink(missing_ok=True)
    commit_all(root, "no merge driver: as a host's merge button merges")
    names = [str(p.relative_to(root)) for p in history_files(root)]
    said = git("check-attr", "merge", "--", *names, ".sdd/history.jsonl", cwd=root).stdout
    assert said.count(": merge: unspecified") == len(names) + 1, said


WORK = st.lists(st.sampled_from(("finding", "heads", "fork")), min_size=1, max_size=3)


@SLOW
@given(
    left=st.lists(st.sampled_from(("finding", "session", "heads")), min_size=1, max_size=3),
    right=WORK,
    picks=st.lists(st.integers(0, 10**6), min_size=6, max_size=6),
)
def test_two_branches_that_both_recorded_work_merge_without_conflict_and_verify(
    appendable: Scene, left: list[str], right: list[str], picks: list[int]
) -> None:
    root, graph = appendable.copies.fresh(), appendable.graph
    _no_merge_driver(root)
    base = _ids(root)
    side: dict[str, set[str]] = {}
    for branch, work in (("left", left), ("right", right)):
        git("switch", "-q", "-c", branch, "main", cwd=root)
        for n, how in enumerate(work):
            _append(root, how, picks[n + 3 * (branch == "right")], f"{branch[0].upper()}{n}")
        commit_all(root, f"{branch}: {', '.join(work)}")
        side[branch] = _ids(root) - base
        assert side[branch], branch
    git("switch", "-q", "left", cwd=root)
    merged = git("merge", "--no-edit", "right", cwd=root, check=False)
    conflicted = set(git("diff", "--name-only", "--diff-filter=U", cwd=root).stdout.split())
    assert not any(name.startswith(".sdd/") for name in conflicted), merged.stdout + merged.stderr
    # only the generated tracker page may conflict; any sdd command writes it whole again
    assert conflicted <= {"docs/session-tracker.md"}, conflicted
    verdict = _cli_verdict(root)  # (the tracker page written again)
    commit_all(root, "merge right into left")
    assert verdict.data is not None, verdict.refusal
    assert verdict.data["problems"] == [] and verdict.data["warnings"] == []
    assert verdict.findings == [], verdict.findings
    assert _ids(root) == base | side["left"] | side["right"]
    unseen = len(side["left"] | side["right"])
    assert verdict.data["signing"]["unseen"] == unseen, verdict.data["signing"]
    for act in graph.acts:
        assert _holds(graph.by_id[act], verdict.data, appendable.base), act
    # the next record joins the two branches: it is appended after both their heads
    heads = History(root).heads()
    _append(root, "finding", picks[0], "")
    (joined,) = [
        r for r in History(root).records() if r["id"] not in base | side["left"] | side["right"]
    ]
    assert sorted(joined["parents"]) == heads and len(heads) >= 2, (joined, heads)
    assert api.status(str(root)).data["problems"] == []


# ----------------------------------------------------------------------------- format 1


def _format_one(source: Path, target: Path, *, rules: bool) -> Path:
    """``source``'s history as an older sdd wrote it — one file, `v: 1`, each record naming
    the one before it (``prev``) — in a repository that only ever held that file."""
    shutil.copytree(source, target, symlinks=True)
    kept = [r for r in history_records(target) if rules or r["type"] != "rules.accept"]
    previous = None
    for record in kept:
        record.pop("parents", None)
        record["v"], record["prev"] = 1, previous
        record["hash"] = record_hash(record)
        previous = record["id"]
    for path in history_files(target):
        path.unlink()
    (target / ".sdd" / "history.jsonl").write_bytes(b"".join(line_of(r) for r in kept))
    shutil.rmtree(target / ".git")
    git("init", "-q", cwd=target)
    commit_all(target, "the project as an older sdd left it")
    return target


@pytest.fixture
def older(project_at: Any, work: Path) -> dict[bool, Path]:
    """Two format-1 projects whose spec is approved (unsigned): one from before the rules
    were recorded (no `rules.accept`), one from after."""
    source = project_at("architecture", name="source")
    return {
        kept: _format_one(source, work / f"format-1-{kept}", rules=kept) for kept in (True, False)
    }


WRITES = {
    "finding": [["findings", "add", "--severity", "minor", "--stage", "spec", "no rate limit"]],
    "session": [["start", "architecture"], ["abandon", "--reason", "not today"]],
}


@settings(SLOW, max_examples=8)
@given(
    rules=st.booleans(),
    looked=st.booleans(),
    writes=st.lists(st.sampled_from(sorted(WRITES)), max_size=2),
)
def test_a_format_1_history_migrates_on_the_first_write_and_no_gate_turns_tampered(
    older: dict[bool, Path], rules: bool, looked: bool, writes: list[str]
) -> None:
    source = older[rules]
    root = source.parent / "example"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(source, root, symlinks=True)
    old = (root / ".sdd" / "history.jsonl").read_bytes()
    v1 = [json.loads(line) for line in old.splitlines()]
    if looked:  # reading never writes the history
        assert gate_of(status(root), "spec-approval")["state"] == "approved"
        assert history_files(root) == [root / ".sdd" / "history.jsonl"]
    for write in writes:
        for args in WRITES[write]:
            done = run(*args, cwd=root)
            assert done.returncode == 0, done.stdout + done.stderr
    assert (root / ".sdd" / "history.jsonl").read_bytes() == old, "the format-1 file is sealed"
    assert git("status", "--porcelain", "--", ".sdd/history.jsonl", cwd=root).stdout == ""
    segments = [
        json.loads(line)
        for path in history_files(root)[1:]
        for line in path.read_bytes().splitlines()
    ]
    if not writes:
        assert segments == []
    else:
        (migrate,) = [r for r in segments if r["type"] == "history.migrate"]
        assert migrate == min(segments, key=lambda r: r["id"]), "the conversion is recorded first"
        assert migrate["from_format"] == 1 and migrate["v"] == 2
        assert migrate["heads"] == migrate["parents"] == [v1[-1]["hash"]]
    verdict = _cli_verdict(root)
    assert verdict.findings == [], verdict.findings
    assert verdict.data is not None, verdict.refusal
    data = verdict.data
    assert data["problems"] == [] and data["warnings"] == [], data["problems"]
    assert data["signing"] == {"signed": False, "note": UNSIGNED, "approvers": []}
    spec = gate_of(data, "spec-approval")
    assert spec["state"] == "approved" and spec["changed"] == [], spec
    assert "key" not in spec["by"], spec["by"]  # approved, unsigned
    assert data["rules"] is None, data["rules"]


def test_a_migrated_history_signed_later_keeps_its_unsigned_past_approved(
    older: dict[bool, Path], work: Path
) -> None:
    root = older[True]
    v1 = {
        json.loads(line)["id"]
        for line in (root / ".sdd" / "history.jsonl").read_bytes().splitlines()
    }
    person = Person.make(work / "ada")
    person.signs_commits_in(root)
    person.adds_approver(root, person.key, person.name)  # the first write: it migrates too
    records = history_records(root)
    assert [r["type"] for r in records if r["id"] not in v1] == ["history.migrate", "approver.add"]
    data = status(root)
    assert data["problems"] == [] and data["warnings"] == [], data["problems"]
    assert data["signing"]["signed"] is True and data["signing"]["unseen"] == 0
    spec = gate_of(data, "spec-approval")
    assert spec["state"] == "approved" and "key" not in spec["by"], spec  # approved unsigned
    state = full_fold(root)
    assert state.trust is not None and v1 <= state.trust.covered  # the approver saw the past
    _, report, _ = doctor(root)
    assert [f for f in report["findings"] if f["area"] == "history"] == [], report

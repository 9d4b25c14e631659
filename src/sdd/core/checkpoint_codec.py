"""A checkpoint as bytes: a small head, and one part per cycle, decoded on first use.

The head holds what every command needs: the project's own fields, the trust walk, what the
checkpoint covers of the history, and each cycle's scalars (number, title, slug, folder,
whether it is closed) with the name of its part. A part holds the rest of one cycle: its
sessions, decisions, findings, reopenings, answers and verify runs. So a command reads the
head and the parts of the cycles it looks at, and its cost follows the current cycle, not
the history: at 100,000 sessions the head is a few hundred kilobytes and a part a few dozen.

A part is named by the BLAKE2b of its bytes and checked against that name when it is read:
a head only ever decodes the parts it was written with. A cycle that no record has touched
since keeps its part, so a write stores only the parts that changed, and the parts of a
state are never all in memory unless something asks for all of them.

The maps of a state that reach across cycles (sessions by id, findings by record) are
``_Index`` dicts: a key not yet in memory is found by decoding the cycle that holds it.

Only ``marshal`` and plain values: a file an agent may have written is never unpickled.
"""

from __future__ import annotations

import contextlib
import marshal
import os
from itertools import starmap
from operator import attrgetter

from sdd.core import digest
from sdd.core.errors import StateError
from sdd.core.history import Problem
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
    session_number,
)
from sdd.core.structs import fields
from sdd.core.trust import Approver, Evaluator, Trust

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

VERSION = 6
PART_SUFFIX = ".part"
SHELF = 64  # cycles a shelf holds (``_Shelf``)
# What a cycle keeps in its head entry: the dataclass fields that are plain values.
SCALARS = (
    "number",
    "slug",
    "title",
    "opened",
    "record",
    "discovery",
    "docs",
    "archived",
    "closed",
    "close_reason",
    "request",
    "request_doc",
)
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


class DamagedCheckpoint(StateError):
    """A part the head names is missing or is not what its name says."""


def _leaf(obj: Any) -> tuple[Any, ...]:
    return _GETTERS[type(obj)](obj)  # every leaf has several fields: a tuple


def _make(cls: type, values: Any) -> Any:
    if not isinstance(values, tuple) or len(values) != len(_NAMES[cls]):
        raise ValueError(cls.__name__)
    return cls(*values)


def _many(cls: type, rows: Any) -> list[Any]:
    """``cls(*row)`` for each row (a row of the wrong length is a TypeError: not a
    checkpoint sdd wrote)."""
    return list(starmap(cls, rows))


def part_name(data: bytes) -> str:
    return digest.blake2b_hex(data)[:40]


class PartStore:
    """Where the parts are: those this process made, in memory, and a folder on disk."""

    def __init__(self, folder: str | None, head: str | None = None) -> None:
        self.folder = folder
        self.head = head  # the head file, removed when a part it names is damaged
        self.memory: dict[str, bytes] = {}
        self.named: set[str] | None = None  # the parts the head encoded last names

    def get(self, name: str) -> bytes:
        data = self.memory.get(name)
        if data is None and self.folder is not None:
            with contextlib.suppress(OSError), open(self._path(name), "rb") as handle:
                data = handle.read()
        if data is None or part_name(data) != name:
            if self.head is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self.head)
            raise DamagedCheckpoint(
                "a part of the checkpoint in .sdd/cache changed while it was read",
                hint="run the command again: the state is folded from the history instead",
            )
        return data

    def put(self, data: bytes) -> str:
        name = part_name(data)
        self.memory[name] = data
        return name

    def save(self, names: list[str], write: Callable[[str, bytes], None]) -> None:
        """Write the parts in ``names`` this process holds and the folder lacks."""
        if self.folder is None:
            return
        for name in names:
            data = self.memory.get(name)
            if data is not None and not os.path.exists(self._path(name)):
                write(self._path(name), data)

    def prune(self, keep: set[str], before_ns: int) -> None:
        """Remove parts no head names any more (older than ``before_ns``: a reader that
        started from an older head a moment ago still finds its parts)."""
        if self.folder is None:
            return
        with contextlib.suppress(OSError), os.scandir(self.folder) as entries:
            for entry in entries:
                name = entry.name[: -len(PART_SUFFIX)]
                if not entry.name.endswith(PART_SUFFIX) or name in keep:
                    continue
                with contextlib.suppress(OSError):
                    if entry.stat().st_mtime_ns < before_ns:
                        os.unlink(entry.path)

    def _path(self, name: str) -> str:
        assert self.folder is not None
        return os.path.join(self.folder, name + PART_SUFFIX)


def decode_now(cycle: Cycle) -> None:
    """Decode a cycle read from a checkpoint (nothing for one already in memory): its
    shelf, then its part."""
    while True:
        load = cycle.__dict__.pop("_part", None)
        if load is None:
            return
        load(cycle)


def is_lazy(cycle: Cycle) -> bool:
    return "_part" in cycle.__dict__


def _entry(cycle: Cycle) -> dict[str, Any]:
    """A lazy cycle's head entry (its shelf read first when it is still on one)."""
    shelf = cycle.__dict__.get("_part")
    if isinstance(shelf, _Shelf):
        shelf.read()
    return cycle.__dict__


class _Index(dict[str, "Any"]):
    """A map of a state read from a checkpoint whose values live in the cycles' parts: a
    key not in memory is looked for in the cycles ``locate`` names (decoding them fills
    the map), and anything that needs every key decodes every cycle first. ``homes``: the
    keys the head placed in a cycle by name (the rest ``locate`` finds by number)."""

    # Made like a dict (``dataclasses.asdict`` rebuilds one from its items) it is one:
    # nothing to decode. ``lazy`` makes the one a checkpoint's state holds.
    _count: int | None = None
    _locator: Callable[[str], list[Cycle]] | None = None
    _all: Callable[[], None] | None = None
    homes: dict[str, int] = {}  # noqa: RUF012  (never changed: each lazy index has its own)

    @classmethod
    def lazy(
        cls,
        count: int,
        locate: Callable[[str], list[Cycle]],
        every: Callable[[], None],
        homes: dict[str, int],
    ) -> _Index:
        index = cls()
        index._count, index._locator, index._all, index.homes = count, locate, every, homes
        return index

    def _locate(self, key: str) -> list[Cycle]:
        return self._locator(key) if self._locator is not None else []

    def _every(self) -> None:
        if self._all is not None:
            self._all()

    def _find(self, key: object) -> bool:
        if dict.__contains__(self, key):
            return True
        if isinstance(key, str):
            for cycle in self._locate(key):
                decode_now(cycle)  # decoding fills the map
                if dict.__contains__(self, key):
                    return True
        return False

    def fill(self, entries: dict[str, Any], order: Callable[[Any], str] | None = None) -> None:
        """Entries a decoded cycle holds; where two cycles hold one key (a history written
        by hand), the one ``order`` puts later wins, as the fold's later record does."""
        for key, value in entries.items():
            held = dict.get(self, key)
            if held is None or (order is not None and order(value) > order(held)):
                dict.__setitem__(self, key, value)

    def in_memory(self) -> Any:
        return dict.items(self)

    def __contains__(self, key: object) -> bool:
        return self._find(key)

    def __getitem__(self, key: str) -> Any:
        self._find(key)
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return dict.get(self, key, default) if self._find(key) else default

    def __setitem__(self, key: str, value: Any) -> None:
        if not self._find(key) and self._count is not None:
            self._count += 1
        dict.__setitem__(self, key, value)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if not self._find(key):
            self[key] = default
        return dict.__getitem__(self, key)

    def __len__(self) -> int:
        return dict.__len__(self) if self._count is None else self._count

    def __iter__(self) -> Iterator[str]:
        self._every()
        return dict.__iter__(self)

    def keys(self) -> Any:
        self._every()
        return dict.keys(self)

    def values(self) -> Any:
        self._every()
        return dict.values(self)

    def items(self) -> Any:
        self._every()
        return dict.items(self)

    def __eq__(self, other: object) -> bool:
        self._every()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # a dict, as dicts are

    def __repr__(self) -> str:
        self._every()
        return dict.__repr__(self)


# ---------------------------------------------------------------------------- encoding


def encode_part(cycle: Cycle, places: dict[str, list[Any]]) -> bytes:
    """One cycle's part (a cycle decoded, or folded whole)."""
    return marshal.dumps(
        (
            [_leaf(s) for s in cycle.sessions],
            cycle.completions,
            {k: _leaf(v) for k, v in cycle.reopens.items()},
            [_leaf(d) for d in cycle.decisions],
            [(k, _leaf(f)) for k, f in cycle.findings.items()],
            [_leaf(r) for r in cycle.loops],
            {k: _leaf(v) for k, v in cycle.task_reopens.items()},
            [_leaf(a) for a in cycle.answers],
            cycle.verify_runs,
            {d.record: places[d.record] for d in cycle.decisions if d.record in places},
        )
    )


def encode_head(body: dict[str, Any], state: ProjectState, cycles: list[Any]) -> bytes:
    """The head: ``body`` (what the checkpoint covers, the trust walk), the project's own
    fields of ``state``, and ``cycles`` (each cycle's scalars, part, sessions, problems)."""
    finding_cycles = _finding_cycles(state)
    odd = _odd_sessions(state)
    body = dict(body)
    body["version"] = VERSION
    body["state"] = (
        state.name,
        state.demo,
        state.records,
        state.last_record,
        state.last_run,
        state.loose_runs,
        [_leaf(r) for r in state.rule_accepts],
        state.verdicts,
        state.walk_problems,
        state.walks_ended,
        list(state.releases.items()),
        state.template_hashes,
        state.finding_count,
        sorted(state.finding_ids),
        state.answers,
        state.session_high,
        len(state.sessions),
        finding_cycles,
        odd,
    )
    body["cycles"] = cycles
    return marshal.dumps(body)


def head_parts(head: bytes, store: PartStore) -> set[str]:
    """The parts a head names, its shelves and the cycles' parts on them (a write prunes
    the others)."""
    body = marshal.loads(head)
    names = set()
    for shelf in body["cycles"]:
        names.add(str(shelf[0]))
        names.update(str(entry["_name"]) for entry in marshal.loads(store.get(shelf[0])))
    return names


def shelve(store: PartStore, entries: list[dict[str, Any]]) -> list[Any]:
    """A shelf of consecutive cycles' head entries, stored as a part of its own, and what
    the head says of it: its name, its cycles' numbers, the range of their sessions'
    numbers, and whether a decision on it has a problem (such a shelf is read with the
    head: ``Project`` lists those problems on every load)."""
    name = store.put(marshal.dumps(entries))
    ranges = [e["_range"] for e in entries if e["_range"][0] <= e["_range"][1]]
    low = min((r[0] for r in ranges), default=0)
    high = max((r[1] for r in ranges), default=-1)
    problems = any(e["_problems"] for e in entries)
    return [name, [e["number"] for e in entries], low, high, problems]


def named_again(shelf: _Shelf, store: PartStore) -> tuple[list[Any], list[str]]:
    """What a head written now says of an unread, unchanged shelf (as ``shelve`` says it:
    such a shelf has no problems, else it was read with its head), and the parts to save
    with it: those on it this process made (``parts_made_on``)."""
    numbers = [c.__dict__["number"] for c in shelf.members]
    return [shelf.name, numbers, shelf.low, shelf.high, False], [
        shelf.name,
        *parts_made_on(shelf, store),
    ]


def parts_made_on(shelf: _Shelf, store: PartStore) -> list[str]:
    """The parts on ``shelf`` that ``store`` holds in memory (made in this process), when the
    shelf itself was made in this process; none for a shelf read from disk."""
    data = store.memory.get(shelf.name)
    if data is None:
        return []
    return [str(e["_name"]) for e in marshal.loads(data) if e["_name"] in store.memory]


def unchanged_shelf(members: list[Cycle]) -> _Shelf | None:
    """The shelf ``members`` still sit on, unread and unchanged since their head was read:
    a head written now names it again as it was."""
    first = members[0].__dict__.get("_part")
    if (
        not isinstance(first, _Shelf)
        or first.done
        or len(first.members) != len(members)
        or any(a is not b for a, b in zip(first.members, members, strict=True))  # not ==: reads
    ):
        return None
    for cycle in members:
        own = cycle.__dict__
        if own.get("_part") is not first or len(own) != 2:  # a field set before the read
            return None
    return first


def cycle_entry(cycle: Cycle, part: str, problems: list[Problem]) -> dict[str, Any]:
    """A cycle's entry in the head: its scalars, the name of its part, the range of its
    sessions' numbers, the problems its decisions had when the part was made, and its
    counts (``counts``). A dict that becomes the lazy cycle's own ``__dict__``."""
    own = _entry(cycle)
    if is_lazy(cycle):
        low, high = own["_range"]
    else:
        numbers = [n for s in cycle.sessions if (n := session_number(s.id)) is not None]
        low, high = (min(numbers), max(numbers)) if numbers else (0, -1)
    entry = {name: own.get(name, getattr(Cycle, name, None)) for name in SCALARS}
    entry["_name"] = part
    entry["_range"] = (low, high)
    entry["_problems"] = [_leaf(p) for p in problems]
    entry["_counts"] = counts(cycle)
    entry["_postmortem"] = postmortem_outputs(cycle)
    return entry


def postmortem_outputs(cycle: Cycle) -> list[str] | None:
    """What the cycle's latest complete post-mortem session wrote (None: none is), without
    decoding its part: a brief looks back at several cycles' post-mortems for lessons."""
    if is_lazy(cycle):
        own = _entry(cycle)
        if "_postmortem" in own:
            kept = own["_postmortem"]
            return None if kept is None else [str(p) for p in kept]
    for session in reversed(cycle.sessions):
        if session.stage == "postmortem" and session.outcome == "complete":
            return list(session.outputs)
    return None


def stored_problems(cycle: Cycle) -> list[Problem]:
    """The problems a lazy cycle's decisions had when its part was made (the same objects
    each time asked)."""
    own = _entry(cycle)
    if "_stored" not in own:
        own["_stored"] = [_make(Problem, p) for p in own.get("_problems", ())]
    found: list[Problem] = own["_stored"]
    return found


def part_of(cycle: Cycle) -> str:
    """The name of a lazy cycle's part."""
    return str(_entry(cycle)["_name"])


def counts(cycle: Cycle) -> tuple[int, int]:
    """How many sessions a cycle has, and how many open findings, without decoding it."""
    if is_lazy(cycle):
        sessions, open_findings = _entry(cycle)["_counts"]
        return int(sessions), int(open_findings)
    return len(cycle.sessions), sum(1 for f in cycle.findings.values() if f.status == "open")


def _finding_cycles(state: ProjectState) -> dict[str, int]:
    index = state.findings_by_record
    if isinstance(index, _Index):
        return {**index.homes, **{k: f.cycle for k, f in index.in_memory()}}
    return {k: f.cycle for k, f in index.items()}


def _odd_sessions(state: ProjectState) -> dict[str, int]:
    """Sessions whose id holds no number: the head names their cycle."""
    index = state.sessions
    if isinstance(index, _Index):
        known, entries = dict(index.homes), index.in_memory()
    else:
        known, entries = {}, index.items()
    known.update({k: s.cycle for k, s in entries if session_number(k) is None})
    return known


# ---------------------------------------------------------------------------- decoding


class Decoded:
    """What ``decode_head`` gives: the body's fields, the state, and what each cycle's
    entry said (its part, and the problems its decisions had)."""

    def __init__(self, body: dict[str, Any], state: ProjectState) -> None:
        self.body = body
        self.state = state
        self.places: dict[str, list[Any]] = dict(body["places"])  # records outside cycles
        self.decision_places: dict[str, list[Any]] = {}  # filled as parts are decoded


def decode_head(data: bytes, store: PartStore) -> Decoded:
    """The head ``data`` holds (raises on anything sdd did not write). Cycles stay lazy."""
    body = marshal.loads(data)
    if not isinstance(body, dict) or body.get("version") != VERSION:
        raise ValueError("not a checkpoint of this version")
    (
        name,
        demo,
        records,
        last_record,
        last_run,
        loose_runs,
        rule_accepts,
        verdicts,
        walk_problems,
        walks_ended,
        releases,
        template_hashes,
        finding_count,
        finding_ids,
        answers,
        session_high,
        session_count,
        finding_cycles,
        odd,
    ) = body["state"]
    state = ProjectState(
        name=name,
        demo=demo,
        records=records,
        last_record=last_record,
        last_run=last_run,
        loose_runs=loose_runs,
        rule_accepts=[_make(RulesAcceptance, v) for v in rule_accepts],
        verdicts=verdicts,
        walk_problems=walk_problems,
        walks_ended=walks_ended,
        releases=dict(releases),
        template_hashes=template_hashes,
        finding_count=finding_count,
        finding_ids=set(finding_ids),
        answers=answers,
        session_high=int(session_high),
    )
    state.__dict__["_on_cycle_read"] = []
    decoded = Decoded(body, state)
    shelves: list[_Shelf] = []
    loader = _Loader(decoded, store)
    cycles = state.cycles
    for name, numbers, low, high, problems in body["cycles"]:
        shelf = _Shelf(str(name), int(low), int(high), loader, store)
        for number in numbers:
            if not isinstance(number, int) or isinstance(number, bool) or number in cycles:
                raise ValueError("cycle")
            cycle = Cycle.__new__(Cycle)
            # Its number, and what reads the rest (``Cycle.__getattr__``).
            cycle.__dict__ = {"number": number, "_part": shelf}
            cycles[number] = cycle
            shelf.members.append(cycle)
        shelves.append(shelf)
        if problems:
            shelf.read()

    def every() -> None:
        for cycle in list(state.cycles.values()):
            decode_now(cycle)

    def locate_session(key: str) -> list[Cycle]:
        number = session_number(key)
        if number is None:
            home = state.cycles.get(odd.get(key, -1))
            return [home] if home is not None else []
        found = []
        for shelf in shelves:
            if shelf.low <= number <= shelf.high:
                shelf.read()
                for cycle in shelf.members:
                    low, high = _entry(cycle)["_range"]
                    if low <= number <= high:
                        found.append(cycle)
        return found

    def locate_finding(key: str) -> list[Cycle]:
        home = state.cycles.get(finding_cycles.get(key, -1))
        return [home] if home is not None else []

    sessions = _Index.lazy(int(session_count), locate_session, every, odd)
    findings = _Index.lazy(len(finding_cycles), locate_finding, every, finding_cycles)
    state.sessions = sessions
    state.findings_by_record = findings
    return decoded


class _Shelf:
    """Up to ``SHELF`` consecutive cycles' head entries, read from their part when one of
    those cycles is first asked for more than its number: a head with thousands of cycles
    decodes only the shelves of the cycles a command looks at. A field set on a cycle before
    its shelf is read is kept (it is the later value)."""

    def __init__(self, name: str, low: int, high: int, loader: _Loader, store: PartStore):
        self.name, self.low, self.high = name, low, high
        self.loader, self.store = loader, store
        self.members: list[Cycle] = []
        self.done = False

    def __call__(self, cycle: Cycle) -> None:  # ``Cycle.__getattr__``, ``decode_now``
        self.read()

    def read(self) -> None:
        if self.done:
            return
        self.done = True
        entries = marshal.loads(self.store.get(self.name))
        if not isinstance(entries, list) or [
            e.get("number") if isinstance(e, dict) else None for e in entries
        ] != [c.__dict__["number"] for c in self.members]:
            raise DamagedCheckpoint(
                "a shelf of the checkpoint in .sdd/cache does not hold what its head says",
                hint="run the command again: the state is folded from the history instead",
            )
        for cycle, entry in zip(self.members, entries, strict=True):
            own = cycle.__dict__
            if own.get("_part") is self:
                own.pop("_part")
            entry["_part"] = self.loader
            entry.update(own)
            cycle.__dict__ = entry


class _Loader:
    """Decodes a lazy cycle's part into it (one for every cycle of a head)."""

    def __init__(self, decoded: Decoded, store: PartStore) -> None:
        self.decoded = decoded
        self.store = store

    def __call__(self, cycle: Cycle) -> None:
        (
            sessions,
            completions,
            reopens,
            decisions,
            findings,
            loops,
            task_reopens,
            answers,
            runs,
            places,
        ) = marshal.loads(self.store.get(part_of(cycle)))
        own = cycle.__dict__
        own["sessions"] = _many(Session, sessions)
        own["completions"] = completions
        own["reopens"] = {k: _make(Reopen, v) for k, v in reopens.items()}
        own["decisions"] = [_make(Decision, v) for v in decisions]
        own["findings"] = {k: _make(Finding, v) for k, v in findings}
        own["loops"] = [_make(Reopen, v) for v in loops]
        own["task_reopens"] = {k: _make(TaskReopen, v) for k, v in task_reopens.items()}
        own["answers"] = _many(Answer, answers)
        own["verify_runs"] = runs
        self.decoded.decision_places.update(places)
        state = self.decoded.state
        index = state.sessions
        if isinstance(index, _Index):
            index.fill({s.id: s for s in cycle.sessions}, order=lambda s: s.record)
        found = state.findings_by_record
        if isinstance(found, _Index):
            found.fill({f.record: f for f in cycle.findings.values()})
        for apply in list(state.on_cycle_read() or ()):
            apply(cycle)


def decode_trust(values: Any) -> Trust:
    signed, approvers, known, not_counted, signed_by, trust_problems = values
    return Trust(
        signed=signed,
        approvers={k: _make(Approver, v) for k, v in approvers.items()},
        known={k: _make(Approver, v) for k, v in known.items()},
        not_counted=not_counted,
        signed_by=signed_by,
        problems=[_make(Problem, v) for v in trust_problems],
    )


def encode_trust(trust: Trust) -> tuple[Any, ...]:
    return (
        trust.signed,
        {k: _leaf(a) for k, a in trust.approvers.items()},
        {k: _leaf(a) for k, a in trust.known.items()},
        trust.not_counted,
        trust.signed_by,
        [_leaf(p) for p in trust.problems],
    )


def encode_walk(evaluator: Evaluator) -> tuple[Any, ...]:
    """The trust walk, trimmed to what records after the checkpoint can still need: the
    records before the first approver (``past``) are never reached again (a record dated
    among them sends the load to a full fold), and a `session.exit` matters only for a
    launch still running."""
    running = evaluator.running
    return (
        evaluator.first,
        sorted(evaluator.detached),
        None if evaluator.past is None else [],
        [s for s in evaluator.exits if s in running],
        running,
        evaluator.acts,
        evaluator.popped,
    )


def decode_walk(values: Any, trust: Trust) -> Evaluator:
    first, detached, past, exits, running, acts, popped = values
    if detached:
        raise ValueError("a checkpoint is never made of a history with records missing")
    return Evaluator(
        trust, first, set(), None if past is None else set(past), set(exits), running, acts, popped
    )


def leaf(obj: Any) -> tuple[Any, ...]:
    return _leaf(obj)


def make_problem(values: Any) -> Problem:
    result: Problem = _make(Problem, values)
    return result

"""The state folded and verified up to a point, kept so that a command folds and verifies only
the records appended since (issue 21).

A checkpoint holds what a walk over the history in id order had reached: the folded state
of the records that count (before ``Project``'s own checks), the trust walk that decided what
counts (``core.trust.Evaluator``), the heads, the last id, and what it covers of the history:
for each file read, its name, size, status (modification and change times, inode), number of
lines and a digest of those bytes (BLAKE2b; SHA-256 for a large file), which
``history.load_since`` checks. A command that finds the files as covered, plus records
after, folds and verifies only those records and gets the state a full fold gives. It folds the whole history instead when anything it covers
changed (an edit, a truncation, a removed or renamed file, a file a merge brought in before
the last covered one), when a new record is not appended after the heads it knows (a merge:
the graph must be walked again), when a new record would change a verdict already given
(the first approver's record, or a `session.exit` that would have kept a launch running
while a person's act was judged), or when the checkpoint is damaged, foreign or of another
version.

**What the checkpoint may decide.** It lives in ``.sdd/cache/`` (git-ignored), which anything
running as the person can write — an agent included — and nothing in it can be authenticated:
there is no secret the agent cannot read. A checkpoint is therefore a claim, and a forged one
could say that an act counts whose signature does not hold, that a rejection never happened,
or that a project with approvers is unsigned. So:

- A command that only shows (``status`` after a change, ``next``, ``prompt``, ``check``,
  ``tasks``, ``log``, ``dashboard``, the MCP server's reads) may start from the checkpoint on
  disk. Its records after the checkpoint are verified as always; what it shows of the
  covered part is what the checkpoint says.
- A command that decides and records (a transaction) never starts from a checkpoint it read
  from disk: it folds and verifies the whole history, every signature checked against the
  approvers in force at its record. After it has appended its own records it continues from
  the checkpoint it made itself in this process — computed from bytes it verified a moment
  ago, under the lock — and folds only what it appended. That is where the second load of
  `start` went. Each signature that decision rests on was verified in this process, from the
  bytes the hashes cover, with the approvers the walk had in force at that record: the
  verdict is a function of (signature, record hash, approvers in force), and those are the
  walk's own, never read back.
- The checkpoint a transaction writes is what the next reads start from, and a checkpoint
  covering the last file only up to its old end makes the next command verify just what
  was appended.

Only ``marshal`` and plain values: a file an agent may have written is never unpickled.
"""

from __future__ import annotations

from collections.abc import Callable

from sdd.core import checkpoint_codec as codec
from sdd.core.history import Loaded, Problem, ancestors
from sdd.core.state import Cycle, ProjectState

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.records import Record
    from sdd.core.trust import Evaluator

VERSION = codec.VERSION
# Records whose place a problem may name after they are covered (`Project`'s checks): the
# decisions are kept with their cycle's part, the rest in the head.
_DECISIONS = frozenset({"gate.approve", "gate.reject"})
_APPROVERS = frozenset({"approver.add", "approver.revoke"})
_PLACED = frozenset({*_DECISIONS, *_APPROVERS, "rules.accept"})


class Checkpoint:
    """A fold and its trust walk up to a point of the history (see the module docstring)."""

    def __init__(
        self,
        *,
        coverage: list[list[Any]],
        written: int,
        state: ProjectState,
        evaluator: Evaluator,
        heads: list[str],
        last_id: str | None,
        count: int,
        problems: list[Problem],
        uncovered: dict[str, list[str]],
        places: dict[str, list[Any]],
        decision_places: dict[str, list[Any]],
        unconfirmed: bool,
    ) -> None:
        self.coverage = coverage
        self.written = written
        self.state = state  # the raw fold: `Project` applies its checks to a copy
        self.evaluator = evaluator
        self.heads = heads
        self.last_id = last_id
        self.count = count
        self.problems = problems  # what reading the covered files found
        self.uncovered = uncovered  # head -> counted ids no good signature covers
        # record id -> [file, line], for the records in _PLACED: the decisions' (as far as
        # their cycles are decoded) and the others'
        self.places = places
        self.decision_places = decision_places
        self.unconfirmed = unconfirmed  # a recovery key waits for the protected branch
        self.unchanged = False  # nothing new since the checkpoint it continues (not rewritten)
        # What commits did to the history's files: [HEAD, the files, the changes]
        # (``Project._uncommitted``), kept so that it is asked of git once a commit.
        self.committed: list[Any] | None = None
        # [what the comparison with HEAD was made for, what it found] (``_uncommitted``)
        self.uncommitted: list[Any] | None = None
        self.approvers: list[str] = []  # the ids of the approvers' records

    @property
    def approver_ids(self) -> list[str]:
        """The approvers' records (their places are kept with the head)."""
        return sorted(self.approvers)

    def place(self, record_id: str) -> tuple[str, int]:
        file, line = self.places.get(record_id) or self.decision_places.get(record_id) or ("", 0)
        return str(file), int(line)

    @property
    def unseen(self) -> int:
        return len({i for ids in self.uncovered.values() for i in ids})


def full(
    loaded: Loaded, evaluator: Evaluator, state: ProjectState, written: int
) -> Checkpoint | None:
    """The checkpoint of a whole history just folded (None when it cannot be one: records
    are missing, or a file changed while it was read or ends in a line cut short)."""
    if loaded.coverage is None or loaded.missing or loaded.warnings:
        return None
    trust = evaluator.trust
    counted = [r for r in loaded.records if trust.counts(r)]
    uncovered: dict[str, list[str]] = {}
    if trust.signed:
        waiting = {r["id"] for r in counted if r["id"] not in trust.covered}
        for head in loaded.heads:
            mine = ancestors(loaded, [head]) & waiting if len(loaded.heads) > 1 else waiting
            uncovered[head] = sorted(mine)
    unconfirmed = any(
        r["type"] == "approver.add" and r.get("recovery") is True and r["id"] not in trust.confirmed
        for r in loaded.records
    )
    made = Checkpoint(
        coverage=loaded.coverage,
        written=written,
        state=state,
        evaluator=evaluator,
        heads=list(loaded.heads),
        last_id=loaded.records[-1]["id"] if loaded.records else None,
        count=len(loaded.records),
        problems=list(loaded.problems),
        uncovered=uncovered,
        places=_places(loaded, loaded.records, decisions=False),
        decision_places=_places(loaded, loaded.records, decisions=True),
        unconfirmed=unconfirmed,
    )
    made.approvers = [r["id"] for r in loaded.records if r["type"] in _APPROVERS]
    return made


def _places(loaded: Loaded, records: list[Record], *, decisions: bool) -> dict[str, list[Any]]:
    return {
        r["id"]: [loaded.files.get(r["id"], ""), loaded.lines.get(r["id"], 0)]
        for r in records
        if r["type"] in _PLACED and (r["type"] in _DECISIONS) == decisions
    }


def advance(
    checkpoint: Checkpoint,
    tail: Loaded,
    fold_into: Any,
    confirmed: Any,
    written: int,
) -> Checkpoint | None:
    """The checkpoint after ``tail`` (the records appended since, read and verified by
    ``history.load_since``): the trust walk and the fold fed those records. None when they
    are not simply appended after what it covers: the caller folds the whole history.
    ``fold_into(state, records)`` folds; ``confirmed(tail)`` is the protected branch's ids.
    The checkpoint given is changed: use the one returned."""
    if checkpoint.unconfirmed or tail.coverage is None or tail.warnings:
        return None
    records = tail.records
    evaluator = checkpoint.evaluator
    if records and checkpoint.last_id is not None and records[0]["id"] <= checkpoint.last_id:
        return None  # a record dated inside what is covered: a merge, folded in id order
    heads = dict.fromkeys(checkpoint.heads)
    uncovered = checkpoint.uncovered
    for record in records:
        up = record.get("parents")
        if record.get("v") == 1 or not isinstance(up, list):
            return None
        if any(not isinstance(p, str) or p not in heads for p in up):
            return None  # appended after a record that is not a head: walk the graph again
        kind = record["type"]
        if kind == "approver.add" and evaluator.past is None:
            return None  # the first approver: the unsigned past it defines is judged anew
        if kind == "session.exit":
            session = record.get("session")
            popped = evaluator.popped.pop(str(session), None)
            if popped is not None:
                if evaluator.acts > popped[1]:
                    return None  # an act was judged while this launch, as now known, ran
                evaluator.running[str(session)] = popped[0]
            evaluator.exits.add(session if isinstance(session, str) else None)
        for parent in up:
            del heads[parent]
        heads[record["hash"]] = None
    if evaluator.first is None and records:
        evaluator.first = records[0]["id"]  # the checkpoint was of an empty history
    wanted = any(r["type"] == "approver.add" and r.get("recovery") is True for r in records)
    evaluator.trust.confirmed = confirmed(tail) if wanted else frozenset()
    evaluator.feed(tail, records)
    trust = evaluator.trust
    if trust.signed:
        for record in records:
            mine: set[str] = set()
            for parent in record["parents"]:
                mine.update(uncovered.pop(parent, ()))
            if record["id"] in trust.signed_by:
                mine = set()
            elif trust.counts(record):
                mine.add(record["id"])
            uncovered[record["hash"]] = sorted(mine)
    else:
        uncovered = {}
    unconfirmed = any(
        r["type"] == "approver.add" and r.get("recovery") is True and r["id"] not in trust.confirmed
        for r in records
    )
    trust.confirmed = frozenset()
    counted = [r for r in records if trust.counts(r)]
    state = checkpoint.state
    fold_into(state, counted)
    by_name = {entry[0]: entry for entry in tail.coverage}
    coverage = [by_name.get(entry[0], entry) for entry in checkpoint.coverage]
    coverage += [entry for entry in tail.coverage if entry[0] not in {c[0] for c in coverage}]
    places = dict(checkpoint.places)
    places.update(_places(tail, records, decisions=False))
    decision_places = checkpoint.decision_places  # shared with the lazy cycles' loaders
    decision_places.update(_places(tail, records, decisions=True))
    made = Checkpoint(
        coverage=coverage,
        written=written,
        state=state,
        evaluator=evaluator,
        heads=sorted(heads),
        last_id=records[-1]["id"] if records else checkpoint.last_id,
        count=checkpoint.count + len(records),
        problems=[*checkpoint.problems, *tail.problems],
        uncovered=uncovered,
        places=places,
        decision_places=decision_places,
        unconfirmed=unconfirmed,
    )
    made.committed = checkpoint.committed
    made.uncommitted = checkpoint.uncommitted
    made.approvers = checkpoint.approvers + [r["id"] for r in records if r["type"] in _APPROVERS]
    return made


# ------------------------------------------------------------------ bytes (``checkpoint_codec``)

ProblemsOf = Callable[[Cycle], list[Problem]]


def encode(checkpoint: Checkpoint, store: codec.PartStore, problems_of: ProblemsOf) -> bytes:
    """The head of ``checkpoint``; the parts of the cycles decoded or folded since go into
    ``store``'s memory (``PartStore.save`` writes them). ``problems_of(cycle)``: what
    ``Project`` finds wrong with a cycle's decisions, kept for the cycles a later command
    does not decode."""
    groups: dict[int, list[Cycle]] = {}
    for cycle in checkpoint.state.cycles.values():
        groups.setdefault(cycle.number // codec.SHELF, []).append(cycle)
    shelves = []
    named: set[str] = set()
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda c: c.number)
        kept = codec.unchanged_shelf(members)
        if kept is not None:  # not read since a head was: the shelf stands, parts and all
            # A shelf this process made (a transaction's head, not written) holds parts it
            # made too: they are saved with it.
            said, saved = codec.named_again(kept, store)
            shelves.append(said)
            named.update(saved)
            continue
        entries = []
        for cycle in members:
            if codec.is_lazy(cycle):  # untouched since a head was read: its part stands
                name = codec.part_of(cycle)
                problems = codec.stored_problems(cycle)
            else:
                name = store.put(codec.encode_part(cycle, checkpoint.decision_places))
                problems = problems_of(cycle)
            entries.append(codec.cycle_entry(cycle, name, problems))
        shelf = codec.shelve(store, entries)
        shelves.append(shelf)
        named.add(str(shelf[0]))
        named.update(entry["_name"] for entry in entries)
    # What a write may need to save: the shelves named, and the parts on those it made.
    store.named = named
    evaluator = checkpoint.evaluator
    body = {
        "coverage": checkpoint.coverage,
        "written": checkpoint.written,
        "heads": checkpoint.heads,
        "last_id": checkpoint.last_id,
        "count": checkpoint.count,
        "problems": [codec.leaf(p) for p in checkpoint.problems],
        "uncovered": checkpoint.uncovered,
        "places": checkpoint.places,
        "unconfirmed": checkpoint.unconfirmed,
        "trust": codec.encode_trust(evaluator.trust),
        "walk": codec.encode_walk(evaluator),
        "committed": checkpoint.committed,
        "uncommitted": checkpoint.uncommitted,
        "approvers": checkpoint.approvers,
    }
    return codec.encode_head(body, checkpoint.state, shelves)


def decode(data: bytes, store: codec.PartStore) -> Checkpoint | None:
    """The checkpoint whose head ``data`` holds, its cycles decoded from ``store`` on first
    use; None for anything else (damaged, foreign, another version, written by hand): the
    caller folds the whole history."""
    try:
        decoded = codec.decode_head(data, store)
        body = decoded.body
        trust = codec.decode_trust(body["trust"])
        evaluator = codec.decode_walk(body["walk"], trust)
        coverage = body["coverage"]
        if not isinstance(coverage, list) or not all(
            isinstance(c, list) and len(c) == 7 and isinstance(c[0], str) for c in coverage
        ):
            raise ValueError("coverage")
        made = Checkpoint(
            coverage=coverage,
            written=int(body["written"]),
            state=decoded.state,
            evaluator=evaluator,
            heads=list(body["heads"]),
            last_id=body["last_id"],
            count=int(body["count"]),
            problems=[codec.make_problem(v) for v in body["problems"]],
            uncovered=body["uncovered"],
            places=decoded.places,
            decision_places=decoded.decision_places,
            unconfirmed=bool(body["unconfirmed"]),
        )
        committed = body.get("committed")
        if isinstance(committed, list) and len(committed) == 3:
            made.committed = committed
        made.approvers = [str(i) for i in body["approvers"]]
        found = body.get("uncommitted")
        if isinstance(found, list) and len(found) == 2:
            made.uncommitted = found
        return made
    except Exception:  # a malformed checkpoint is only a missed shortcut
        return None

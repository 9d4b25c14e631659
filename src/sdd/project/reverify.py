"""The signed acts a recording command decides on, verified again from the history's bytes.

A recording command starts from the checkpoint (``core.checkpoint``), which anything running
as the person can write, an agent included. In a signed project what passes a gate is a
person's signed act, so a checkpoint's word for one is not taken: before the command decides,
the approvers' records and every decision of each cycle it reads are read back from their
segments (``core.record_lookup``, a few short reads each), their hashes checked, their
signatures verified in this process against the approvers in force at each, walked from the
history's first approver's record (nothing before it may be one), and compared with what the
checkpoint holds. A difference is tampering with the cache: the command folds and verifies
the whole history instead, and says so.

What this cannot see is a signed act the checkpoint leaves out altogether (a rejection, a
revocation): that takes reading the history. Every person's act, every `sdd run` and
`sdd ci check` (and the git hooks) fold and verify the whole history, so it is seen there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from sdd.core import history, record_lookup
from sdd.core.errors import Refused

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.paths import ProjectPaths
    from sdd.core.records import Record
    from sdd.core.state import Cycle, ProjectState

_APPROVER_TYPES = (b'"type":"approver.add"', b'"type":"approver.revoke"')
Place = Callable[[str], tuple[str, int]]


class Verifier:
    """What the checkpoint says of the signed acts, checked against the history."""

    def __init__(
        self,
        paths: ProjectPaths,
        state: ProjectState,
        place: Place,
        ids: list[str],
        confirmed: Callable[[dict[str, str]], frozenset[str]],
    ) -> None:
        self.paths = paths
        self.state = state
        self.place = place
        self.approver_ids = ids  # the approvers' records the checkpoint names
        self.confirmed = confirmed  # record id -> file: the ids the protected branch holds
        self.approvers: list[Record] = []
        self.held: frozenset[str] = frozenset()

    def why_not(self) -> str | None:
        """Why the checkpoint's approvers and its decided cycles do not hold (None: they do)."""
        records = []
        for ident in sorted(self.approver_ids):
            record = self._read(ident)
            if record is None:
                return f"it names an approver's record {ident} the history does not hold"
            records.append(record)
        if records and not self._first_is_first(records[0]):
            return "an approver's record comes before the one it names first"
        self.approvers = records
        self.held = self.confirmed({r["id"]: self.place(r["id"])[0] for r in records})
        trust, _ = _judged(records, self.held)
        held = self.state.trust.approvers if self.state.trust else {}
        if set(trust.approvers) != set(held):
            return "its approvers are not those the approvers' records leave in force"
        for cycle in self.state.cycles.values():
            if "_part" not in cycle.__dict__:
                reason = self.cycle_why_not(cycle)
                if reason is not None:
                    return reason
        return None

    def cycle_why_not(self, cycle: Cycle) -> str | None:
        """Whether each decision the checkpoint holds for ``cycle`` is a signed act of the
        history, counted, and the same decision."""
        decisions = [(d, self._read(d.record)) for d in cycle.decisions]
        for decision, record in decisions:
            if record is None:
                return f"it holds a decision {decision.record} the history does not"
            same = (
                record.get("type") == f"gate.{decision.kind}"
                and record.get("gate") == decision.gate
                and record.get("cycle") == cycle.number
                and isinstance(record.get("docs"), dict)
                and sorted(record["docs"].values()) == sorted(decision.docs.values())
            )
            if not same:
                return f"its decision {decision.record} is not what the history records"
        _, why = _judged([*self.approvers, *(r for _, r in decisions if r is not None)], self.held)
        for decision, _ in decisions:
            if decision.record in why:
                return f"its decision {decision.record} does not count: {why[decision.record]}"
        return None

    def _read(self, ident: str) -> Record | None:
        name, _ = self.place(ident)
        if not name:
            return None
        found = record_lookup.find(os.path.join(self.paths.home, name), ident)
        if found is None:
            return None
        _, record = found
        if not isinstance(record, dict) or record.get("id") != ident:
            return None
        if history.record_hash(record) != record.get("hash"):
            return None
        return record

    def _first_is_first(self, first: Record) -> bool:
        """No approver's record in the history with an id before ``first``'s: none in the
        files that may hold one (a segment holds ids from its name on)."""
        for path in history.source_paths(self.paths):
            name = os.path.basename(path)
            if name.endswith(history.SUFFIX) and name[: -len(history.SUFFIX)] > first["id"]:
                break
            if _approver_before(path, first["id"]):
                return False
        return True


def _judged(records: list[Record], confirmed: frozenset[str]) -> tuple[Any, dict[str, str]]:
    from sdd.core import trust

    return trust.judge_acts(records, confirmed)


def _approver_before(path: str, before: str) -> bool:
    """Whether the file holds an approver's record with an id before ``before``. A file's
    records are in id order, so the first approver's record at or after ``before`` ends the
    search: read in blocks, the first approver is usually among the first records."""
    tail = b""
    try:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 16):
                data = tail + block
                cut = data.rfind(b"\n") + 1  # whole lines only; the rest joins the next block
                for marker in _APPROVER_TYPES:
                    at = data.find(marker, 0, cut)
                    while at >= 0:
                        start = data.rfind(b"\n", 0, at) + 1
                        end = data.find(b"\n", at)
                        try:
                            record = json.loads(data[start:end])
                        except ValueError:
                            return True
                        found = str(record.get("id")) if isinstance(record, dict) else ""
                        return found < before  # the file's first approver decides
                tail = data[cut:]
    except OSError:
        return True
    return False


def refuse_tampered(why: str) -> Refused:
    return Refused(
        f"the checkpoint in .sdd/cache does not match the history's signed records ({why}): "
        "written by hand?",
        hint="run the command again: it folds and verifies the whole history",
    )

"""Records are not silently backdated: each record's time, against the records it was
appended after. `sdd doctor` reports what :func:`backdated` finds.

Two times, two meanings. The time in a record's id decides where it folds (readers fold in
id order), and sdd's appender never lets it run backwards: a new id is always greater than
the one it follows, whatever the clock says. So an id earlier than its predecessor's was
written by hand, to fold before what it followed. The ``at`` time is the clock's: it runs
backwards when the clock was set back (or ``SDD_NOW`` was), or when a record was backdated.
"""

from __future__ import annotations

from datetime import datetime

from sdd.core import clock, ids
from sdd.core.structs import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from sdd.core.records import Record


def appended_after(records: list[Record]) -> Iterator[tuple[Record, list[Record]]]:
    """Each record with the records it was appended after (those present in ``records``).

    Format 1 names one, by id: ``prev``. This is the one place that knows how a record
    names its predecessors: a format that names them otherwise (``parents``, by hash)
    extends it here, and every check that walks the order follows.
    """
    by_id = {record["id"]: record for record in records}
    by_hash = {record["hash"]: record for record in records if isinstance(record.get("hash"), str)}
    for record in records:
        named = record.get("prev")
        if record.get("v") == 1:
            yield record, [by_id[named]] if isinstance(named, str) and named in by_id else []
            continue
        found = record.get("parents")
        above = found if isinstance(found, list) else []
        yield record, [by_hash[h] for h in above if isinstance(h, str) and h in by_hash]


@dataclass(frozen=True)
class Backdated:
    """A record whose time runs backwards from the one before it."""

    record_id: str
    what: str
    certain: bool  # the id's own time ran backwards: sdd never writes that


def backdated(records: list[Record]) -> list[Backdated]:
    """The records whose id time or ``at`` runs backwards against a record they follow."""
    found = []
    for record, earlier_ones in appended_after(records):
        for earlier in earlier_ones:
            kind = record.get("type")
            mine, theirs = ids.millis_of(record["id"]), ids.millis_of(earlier["id"])
            if mine < theirs:
                found.append(
                    Backdated(
                        record["id"],
                        f"the `{kind}` record {record['id']} has an id from "
                        f"{clock.iso(mine / 1000)}, before the record it was appended after "
                        f"({earlier['id']}, {clock.iso(theirs / 1000)}): sdd never writes "
                        "that; it was written by hand, to fold before what it follows",
                        certain=True,
                    )
                )
                continue
            at, before = _seconds(record.get("at")), _seconds(earlier.get("at"))
            if at is not None and before is not None and at < before:
                found.append(
                    Backdated(
                        record["id"],
                        f"the `{kind}` record {record['id']} is dated {record['at']}, before "
                        f"the record it was appended after ({earlier['id']}, {earlier['at']}): "
                        "the clock was set back (or SDD_NOW was), or the record was backdated",
                        certain=False,
                    )
                )
    return found


def _seconds(stamp: object) -> float | None:
    if not isinstance(stamp, str):
        return None  # the record's schema check reports a time that is not one
    try:
        return datetime.fromisoformat(stamp).timestamp()  # 3.11 reads a trailing Z itself
    except ValueError:
        return None

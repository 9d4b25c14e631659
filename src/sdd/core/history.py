"""The append-only history: one JSON record per line, committed with the code.

Each record carries a unique time-ordered ``id``, the ``prev`` id it was appended
after and its own content ``hash``. Readers fold records in id order, not file
order, so git's union merge of two branches' histories needs no conflict resolution.
Writers append under an exclusive lock with a single ``write`` and ``fsync``: a
crash can only cut the last line short, and such a line was never acknowledged.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sdd.core import clock, ids
from sdd.core.errors import StateError
from sdd.core.nesting import json_value
from sdd.core.paths import ProjectPaths
from sdd.core.records import Kind, Record

FORMAT_VERSION = 1
_HASH_DOMAIN = b"sdd-record-1\n"


def canonical(record: Record) -> bytes:
    body = {k: v for k, v in record.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # A hand-made line may hold a lone surrogate: hash it (it will not match) rather than crash.
    return text.encode("utf-8", "surrogatepass")


def record_hash(record: Record) -> str:
    return hashlib.sha256(_HASH_DOMAIN + canonical(record)).hexdigest()


@dataclass
class Problem:
    """Something wrong with the recorded history that does not stop it loading."""

    line: int
    record_id: str
    what: str


@dataclass
class Loaded:
    records: list[Record]  # verified records in id order
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # tamper evidence
    lines: dict[str, int] = field(default_factory=dict)  # record id -> line in the file


def _describe(path: str, line: int) -> str:
    return f"{path}:{line}"


def load(paths: ProjectPaths) -> Loaded:
    """Read and verify the whole history."""
    try:
        with open(paths.history, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise StateError(
            f"{paths.rel(paths.history)}: missing", hint="run `sdd doctor` to see how to recover"
        ) from None
    return parse(data, paths.rel(paths.history))


def parse(data: bytes, name: str) -> Loaded:
    result = Loaded(records=[])
    lines = data.split(b"\n")
    tail = lines.pop()  # after the final newline: empty unless the last write was cut short
    if tail.strip():
        result.warnings.append(
            f"{name}:{len(lines) + 1}: last record was cut short (a crash while writing); "
            "it was never acknowledged and is ignored"
        )
    by_id: dict[str, Record] = {}
    lines_of: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = _describe(name, number)
        try:
            record = json_value(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise StateError(
                f"{where}: not a valid record ({exc})",
                hint="restore the file from git (`git checkout -- .sdd/history.jsonl`) "
                "or run `sdd doctor`",
            ) from None
        if not isinstance(record, dict):
            raise StateError(f"{where}: a record must be a JSON object")
        version = record.get("v")
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise StateError(
                f"{where}: written by a newer sdd (format {version}, this one reads {FORMAT_VERSION})",
                hint="upgrade sdd",
            )
        record_id = record.get("id")
        if not ids.is_valid(record_id) or not isinstance(record.get("type"), str):
            raise StateError(f"{where}: a record needs a valid `id` and `type`")
        assert isinstance(record_id, str)
        if record.get("hash") != record_hash(record):
            result.problems.append(
                Problem(number, record_id, "record changed after it was written (hash mismatch)")
            )
            continue
        if record_id in by_id:
            if by_id[record_id] == record:
                continue  # the same record on both sides of a merge
            result.problems.append(
                Problem(number, record_id, "two different records share this id")
            )
            continue
        by_id[record_id] = record
        lines_of[record_id] = number
    for record_id, record in by_id.items():
        prev = record.get("prev")
        if prev is not None and prev not in by_id:
            result.problems.append(
                Problem(
                    lines_of[record_id],
                    record_id,
                    f"the record written before it ({prev}) is missing: deleted or edited",
                )
            )
    result.records = [by_id[key] for key in sorted(by_id)]
    result.lines = lines_of
    return result


def _last_id(fd: int) -> tuple[str | None, int]:
    """The id of the last complete record and the length of the complete lines.

    Reads backwards from the end, in growing windows, until it holds the last newline and
    the line before it: records may be longer than any fixed window.
    """
    size = os.fstat(fd).st_size
    if size == 0:
        return None, 0
    window = 1 << 16
    while True:
        chunk = min(size, window)
        data = os.pread(fd, chunk, size - chunk)
        cut = data.rfind(b"\n")
        end = size - chunk + cut + 1 if cut >= 0 else 0  # complete lines end here
        whole = data[: cut + 1] if cut >= 0 else b""
        body = whole.rstrip(b"\n")
        start = body.rfind(b"\n")
        if start >= 0 or chunk == size:  # the last complete line lies wholly in the window
            last = body[start + 1 :] if start >= 0 else body
            if not last.strip():
                return None, end
            try:
                value = json_value(last).get("id")
            except (ValueError, AttributeError):
                return None, end
            return (value if isinstance(value, str) else None), end
        window *= 4


def complete_size(paths: ProjectPaths) -> int:
    """The length of the history's complete lines (what an append keeps)."""
    try:
        fd = os.open(paths.history, os.O_RDONLY)
    except OSError:
        return 0
    try:
        return _last_id(fd)[1]
    finally:
        os.close(fd)


@contextmanager
def locked(paths: ProjectPaths) -> Iterator[None]:
    """Hold the project's exclusive lock (blocks until other writers and readers finish)."""
    try:
        fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        from sdd.core.files import reason

        raise StateError(
            f"{paths.rel(paths.lock)}: cannot open the lock ({reason(exc)}); nothing was changed",
            hint="sdd records into .sdd/: make the project folder writable",
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        from sdd.core.files import sweep_temporary

        sweep_temporary(paths.tmp)  # what a killed writer left, before this one writes
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextmanager
def shared(paths: ProjectPaths) -> Iterator[None]:
    """Hold the project's lock shared while reading: writers wait, readers do not wait for
    one another. Reading needs no lock it cannot have: in a read-only project (the lock
    cannot be opened, nor created) it reads without one, and nobody there can write."""
    try:
        # flock needs no write permission; O_NONBLOCK: a FIFO put there must not hang us
        fd = os.open(paths.lock, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        try:
            fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            fd = -1
    except OSError:
        fd = -1
    if fd < 0:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def new_record(kind: Kind, fields: dict[str, Any], *, after: str | None, at: float) -> Record:
    record: Record = {"id": ids.new_id(at, after), "v": FORMAT_VERSION, "type": kind}
    record["at"] = clock.iso(at)
    record["prev"] = after
    record.update(fields)
    record["hash"] = record_hash(record)
    return record


def append(paths: ProjectPaths, entries: list[tuple[Kind, dict[str, Any]]]) -> list[Record]:
    """Append records; the caller holds :func:`locked`. Returns them as written."""
    try:
        fd = os.open(paths.history, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StateError(f"{paths.rel(paths.history)}: cannot open ({exc.strerror})") from None
    try:
        last, complete = _last_id(fd)
        size = os.fstat(fd).st_size
        if complete < size:
            os.ftruncate(fd, complete)  # drop a record a crash cut short
        at = clock.now()
        written: list[Record] = []
        for kind, fields in entries:
            record = new_record(kind, fields, after=last, at=at)
            written.append(record)
            last = record["id"]
        payload = b"".join(
            # Lone surrogates become JSON escapes, so every line stays valid UTF-8.
            json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode(
                "utf-8", "backslashreplace"
            )
            + b"\n"
            for r in written
        )
        try:
            os.lseek(fd, 0, os.SEEK_END)
            done = os.write(fd, payload)
            if done != len(payload):
                raise OSError(errno.ENOSPC, "short write")
            os.fsync(fd)
        except OSError as exc:
            os.ftruncate(fd, complete)
            reason = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror
            raise StateError(
                f"{paths.rel(paths.history)}: could not record ({reason}); nothing was changed"
            ) from None
        return written
    finally:
        os.close(fd)


def truncate(paths: ProjectPaths, size: int) -> None:
    """Take back records appended after ``size`` bytes (the caller holds the lock)."""
    try:
        with open(paths.history, "r+b") as handle:
            handle.truncate(size)
            os.fsync(handle.fileno())
    except OSError:
        pass  # the write itself failed the same way; the error being raised says so

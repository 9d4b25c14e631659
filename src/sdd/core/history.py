"""The append-only history, committed with the code: a graph of records in segment files.

Format 2 (``.sdd/history/<id of its first record>.jsonl``): each record carries a unique
time-ordered ``id``, the ``parents`` it was appended after — the hashes of the heads of the
history then, several after a merge — and its own content ``hash``, which covers the
parents, so a record commits to everything it descends from. A segment is appended to only
while git does not track it yet; once it is added or committed, the next write starts a new
one. Two branches therefore never edit the same file, and a plain merge has no conflict.

Format 1 (``.sdd/history.jsonl``, one file, each record naming the ``prev`` id) is read as
it is. The first write of a format-1 project leaves that file as it stands (sealed) and goes
on in segments, its first record (``history.migrate``) naming the old heads.

Readers fold records in id order. Writers append under an exclusive lock with one ``write``
and ``fsync``: a crash can only cut a segment's last line short, and such a line was never
acknowledged. What is wrong with the records is reported, never silently dropped: a changed
record, two records with one id, a missing parent.
"""

from __future__ import annotations

import errno
import fcntl
import gc
import json
import operator
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sdd.core import clock, ids
from sdd.core.digest import BULK, blake2b_hex, sha256_for, sha256_hex
from sdd.core.errors import StateError
from sdd.core.nesting import MAX_DEPTH, json_value
from sdd.core.records import Kind, Record
from sdd.core.structs import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.paths import ProjectPaths

FORMAT_VERSION = 2
_DOMAINS = {1: b"sdd-record-1\n", 2: b"sdd-record-2\n"}
SUFFIX = ".jsonl"
# Signs a record: gets its hash, returns its `sig` field (or None: leave it unsigned).
Signer = Callable[[Record], "dict[str, str] | None"]


def canonical(record: Record) -> bytes:
    """The bytes a record's hash covers: everything but the hash (and, in format 2, the
    signature, which is made over the hash)."""
    leave = ("hash",) if record.get("v") == 1 else ("hash", "sig")
    body = {k: v for k, v in record.items() if k not in leave}
    # A hand-made line may hold a lone surrogate: hash it (it will not match) rather than crash.
    return _CANONICAL.encode(body).encode("utf-8", "surrogatepass")


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(record: Record) -> str:
    domain = _DOMAINS[1] if record.get("v") == 1 else _DOMAINS[2]
    return sha256_hex(domain + canonical(record))


def line_of(record: Record) -> bytes:
    """A record as one line of a segment: its canonical bytes, then its hash and signature,
    so a reader can hash the line's own bytes (``_holds``) rather than encode it again."""
    body = {k: v for k, v in record.items() if k not in ("hash", "sig")}
    text = _CANONICAL.encode(body)[:-1]
    text += ',"hash":' + json.dumps(record["hash"])
    if "sig" in record:
        text += ',"sig":' + json.dumps(record["sig"], separators=(",", ":"), ensure_ascii=False)
    # Lone surrogates become JSON escapes, so every line stays valid UTF-8.
    return (text + "}\n").encode("utf-8", "backslashreplace")


def _holds(raw: bytes, record: Record) -> bool:
    """Whether ``record``, parsed from the line ``raw``, is what its hash says, hashing the
    line's own bytes when :func:`line_of` wrote it: the bytes before its hash are then the
    canonical bytes of everything else in it, and only a signature follows the hash. A
    line of any other shape is encoded again (:func:`record_hash`)."""
    claimed = record.get("hash")
    if record.get("v") == FORMAT_VERSION and isinstance(claimed, str):
        marker = b',"hash":"' + claimed.encode("ascii", "replace") + b'"'
        cut = raw.find(marker)
        if cut > 0:
            rest = raw[cut + len(marker) :].rstrip(b"\r")
            shaped = (rest == b"}" and "sig" not in record) or (
                rest.startswith(b',"sig":') and _one_value(rest[7:])
            )
            if shaped and sha256_hex(_DOMAINS[2] + raw[:cut] + b"}") == claimed:
                return True
    return bool(claimed == record_hash(record))


def _one_value(rest: bytes) -> bool:
    """Whether ``rest`` is one JSON value, then the ``}`` that ends the line: no key after
    the signature could stand in for one the hash covers."""
    try:
        _, end = _DECODER.raw_decode(rest.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return False
    return rest.decode("utf-8")[end:] == "}"


_DECODER = json.JSONDecoder()


@dataclass
class Problem:
    """Something wrong with the recorded history that does not stop it loading.

    ``tamper`` problems stop every decision until they are dealt with; the others say
    which records do not count and why."""

    line: int
    record_id: str
    what: str
    file: str = ""  # the project-relative file the record is in
    tamper: bool = True

    @property
    def place(self) -> str:
        if not self.line:
            return self.file or "the history"
        return f"{self.file}:{self.line}" if self.file else f"line {self.line}"


@dataclass
class Loaded:
    """The history as read: the records whose hash holds, where each one is, and what is wrong."""

    records: list[Record]  # records whose hash holds, in id order
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # tamper evidence
    lines: dict[str, int] = field(default_factory=dict)  # record id -> line in its file
    files: dict[str, str] = field(default_factory=dict)  # record id -> its file
    by_hash: dict[str, Record] = field(default_factory=dict)
    heads: list[str] = field(default_factory=list)  # hashes no record names as a parent
    missing: dict[str, list[str]] = field(default_factory=dict)  # id -> its absent parents
    sources: list[str] = field(default_factory=list)  # the files read, project-relative
    # What was read of each file, for a checkpoint (``core.checkpoint``): [name, size,
    # mtime_ns, ctime_ns, inode, lines, sha256 of those bytes]; None when a file changed
    # while it was read.
    coverage: list[list[Any]] | None = field(default_factory=list)

    def place(self, record_id: str) -> str:
        return f"{self.files.get(record_id, '')}:{self.lines.get(record_id, 0)}"


def parents(record: Record, by_id: dict[str, Record]) -> list[str]:
    """The hashes of the records ``record`` was appended after."""
    if record.get("v") == 1:
        prev = record.get("prev")
        before = by_id.get(prev) if isinstance(prev, str) else None
        return [before["hash"]] if before is not None else []
    found = record.get("parents")
    return [p for p in found if isinstance(p, str)] if isinstance(found, list) else []


def segment_names(paths: ProjectPaths) -> list[str]:
    """The format-2 segment files, oldest first (their names are time-ordered ids)."""
    try:
        names = os.listdir(paths.history_dir)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(n for n in names if n.endswith(SUFFIX) and ids.is_valid(n[: -len(SUFFIX)]))


def exists(paths: ProjectPaths) -> bool:
    return os.path.isfile(paths.history) or os.path.isdir(paths.history_dir)


def source_paths(paths: ProjectPaths) -> list[str]:
    """The history's files, in the order they are read: the format-1 file, then segments."""
    sources = [paths.history] if os.path.isfile(paths.history) else []
    return sources + [os.path.join(paths.history_dir, n) for n in segment_names(paths)]


def load(paths: ProjectPaths) -> Loaded:
    """Read and verify the whole history (both formats)."""
    if not exists(paths):
        raise StateError(
            f"{paths.rel(paths.history_dir)}: missing",
            hint="run `sdd doctor` to see how to recover",
        )
    loaded = Loaded(records=[])
    by_id: dict[str, Record] = {}
    with collector_paused():
        for path in source_paths(paths):
            name = paths.rel(path)
            data, status = _read(path, name)
            _parse_into(loaded, by_id, data, name)
            loaded.sources.append(name)
            _cover(loaded, name, data, status, 0)
        _link(loaded, by_id)
        _settle(loaded)
    return loaded


# Python's cycle collector walks every container object that lives long, again each time
# a quarter more of them survive: reading a large history (tens of thousands of records,
# each a few containers) would have it walk them over and over while they are read and
# while the fold that follows builds its state. JSON records hold no cycles: the collector
# has nothing to find in them. It is paused while a history is read, and the first large
# history a process reads is frozen (``gc.freeze``: left out of every later walk; still
# freed as usual when dropped). Once only, so that a long-running process never keeps
# more than what was garbage at that one moment.
_LARGE = 20_000
_froze = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cycle collector paused (see above): for reading a history, and for the fold of
    a whole one that follows (``Project``)."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _settle(loaded: Loaded) -> None:
    global _froze
    if not _froze and len(loaded.records) >= _LARGE:
        _froze = True
        gc.freeze()


def _read(path: str, name: str) -> tuple[bytes, list[int] | None]:
    """A file's bytes, and its status when it did not change while read (else None)."""
    try:
        with open(path, "rb") as handle:
            before = os.fstat(handle.fileno())
            data = handle.read()
            after = os.fstat(handle.fileno())
    except OSError as exc:
        raise StateError(f"{name}: cannot read ({exc.strerror})") from None
    status = [after.st_size, after.st_mtime_ns, after.st_ctime_ns, after.st_ino]
    same = (before.st_size, before.st_mtime_ns, before.st_ctime_ns) == tuple(status[:3])
    return data, status if same and after.st_size == len(data) else None


def _cover(
    loaded: Loaded, name: str, data: bytes, status: list[int] | None, lines_before: int
) -> None:
    if loaded.coverage is None:
        return
    if status is None or (data and not data.endswith(b"\n")):
        loaded.coverage = None  # changed while read, or its last line cut short
        return
    lines = lines_before + data.count(b"\n")
    loaded.coverage.append([name, *status, lines, _covered_digest(data)])


def _covered_digest(data: bytes) -> str:
    """What a checkpoint keeps of a file's bytes it covers: their BLAKE2b (``b2:``), the
    interpreter's own and quick on the small segment being appended to; past ``BULK``
    bytes their SHA-256, which OpenSSL computes faster (a whole history's segments)."""
    if len(data) >= BULK:
        return sha256_hex(data)
    return "b2:" + blake2b_hex(data)


def _same_bytes(data: bytes, kept: object) -> bool:
    """Whether ``data`` are the bytes whose digest a checkpoint kept (either kind)."""
    if not isinstance(kept, str):
        return False
    if kept.startswith("b2:"):
        return "b2:" + blake2b_hex(data) == kept
    return sha256_hex(data) == kept


def load_since(
    paths: ProjectPaths, covered: list[list[Any]], written: int
) -> tuple[Loaded, list[Any]] | None:
    """The records appended after what ``covered`` (a checkpoint's coverage, written at
    ``written`` ns) describes, verified as :func:`load` verifies them; None when what it
    covers changed (a file edited, truncated, removed or added before its last one): the
    caller folds the whole history instead. A covered file whose status (size,
    modification and change times, inode) is as covered was not written since: the change
    time is set by the kernel on every write and no process can set it back. Near the
    time the checkpoint was written a status may not have moved yet: those files, and any
    that grew, are read and the bytes covered are hashed again."""
    sources = source_paths(paths)
    names = [paths.rel(p) for p in sources]
    if len(names) < len(covered) or names[: len(covered)] != [c[0] for c in covered]:
        return None
    loaded = Loaded(records=[])
    by_id: dict[str, Record] = {}
    for index, (path, name) in enumerate(zip(sources, names, strict=True)):
        start = lines = 0
        if index < len(covered):
            entry = covered[index]
            try:
                st = os.stat(path)
            except OSError:
                return None
            now = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
            if now == entry[1:5] and st.st_ctime_ns < written - RACY_NS:
                loaded.coverage.append(entry)  # type: ignore[union-attr]
                continue
            start, lines = entry[1], entry[5]
        data, status = _read(path, name)
        if len(data) < start or (start and not _same_bytes(data[:start], covered[index][6])):
            return None
        _parse_into(loaded, by_id, data[start:], name, first=lines + 1)
        loaded.sources.append(name)
        _cover(loaded, name, data[start:], status, lines)
        if loaded.coverage and start:  # the hash covers the whole file
            loaded.coverage[-1][6] = _covered_digest(data)
    loaded.records = [by_id[key] for key in sorted(by_id)]
    return loaded, names


# A file written this close to a checkpoint may have changed again without its status
# showing it (timestamps move in clock ticks): its bytes are hashed instead.
RACY_NS = 2_000_000_000


def newest(
    paths: ProjectPaths, count: int, keep: Callable[[Record], bool] = lambda _: True
) -> list[Record] | None:
    """The ``count`` newest records ``keep`` keeps, newest first, each verified as
    :func:`load` verifies it, reading only the files that can hold them: a file's records
    run in id order (one writer appends to it, under the lock), so its last line names the
    newest it holds, and a file whose newest is older than the ``count`` found is not read.
    None when a file's last line cannot be read that way: the caller reads the whole."""
    lasts: list[tuple[str, str]] = []
    for path in source_paths(paths):
        last = _last_id(path)
        if last is None:
            return None
        lasts.append((last, path))
    found: dict[str, Record] = {}
    for last, path in sorted(lasts, reverse=True):
        if len(found) >= count and sorted(found, reverse=True)[count - 1] > last:
            break
        name = paths.rel(path)
        data, _ = _read(path, name)
        for record in parse(data, name).records:
            if keep(record):
                found.setdefault(record["id"], record)
    return [found[key] for key in sorted(found, reverse=True)[:count]]


def _last_id(path: str) -> str | None:
    """The id of a file's last complete record ("" for an empty file)."""
    try:
        with open(path, "rb") as handle:
            fd = handle.fileno()
            end = _complete_length(fd)
            if end == 0:
                return ""
            start = max(0, end - (1 << 16))
            tail = os.pread(fd, end - start, start)
    except OSError:
        return None
    line = tail[:-1].rsplit(b"\n", 1)[-1]
    if start and b"\n" not in tail[:-1]:
        return None  # a line longer than what was read
    try:
        record = json_value(line)
    except (ValueError, UnicodeDecodeError):
        return None
    ident = record.get("id") if isinstance(record, dict) else None
    return ident if ids.is_valid(ident) else None


def parse(data: bytes, name: str) -> Loaded:
    """One file's records, verified on their own (for tests and tools)."""
    loaded = Loaded(records=[])
    by_id: dict[str, Record] = {}
    _parse_into(loaded, by_id, data, name)
    _link(loaded, by_id)
    return loaded


# Lines whose hash held when read: the hash is a function of the line's bytes alone, so a
# process that reads the history many times (each command loads it several times) checks
# each line once.
_HELD: set[bytes] = set()
_HOLD = 50_000  # lines kept at most; a file with more is not kept (it would only churn)

# Lines are parsed a window of bytes at a time (``_decode_lines``): small enough that the
# parser's copy of it is cheap, large enough that one call parses thousands of records.
_WINDOW = 1 << 20
_BLANK = object()  # a blank line: skipped


def _parse_into(
    loaded: Loaded, by_id: dict[str, Record], data: bytes, name: str, first: int = 1
) -> None:
    # After the final newline: empty unless the last write was cut short.
    end = data.rfind(b"\n") + 1
    if data[end:].strip():
        cut = data.count(b"\n") + first
        loaded.warnings.append(
            f"{name}:{cut}: last record was cut short (a crash while writing); "
            "it was never acknowledged and is ignored"
        )
    sentinel = _sentinel(data)
    problems, lines_of, files_of = loaded.problems, loaded.lines, loaded.files
    held, valid, holds, sha256 = _HELD, ids.is_valid, _holds, sha256_for(len(data))
    keep = data.count(b"\n", 0, end) <= _HOLD
    line = first - 1
    start = 0
    while start < end:
        stop = data.find(b"\n", min(start + _WINDOW, end - 1)) + 1
        lines = data[start:stop].split(b"\n")
        lines.pop()  # after the window's last newline: nothing
        start = stop
        values = _decode_lines(lines, sentinel) if sentinel is not None else None
        for index, raw in enumerate(lines):
            line += 1
            if values is None:
                if not raw.strip():
                    continue
                record = _value(raw, name, line)
            else:
                record = values[index]
                if record is _BLANK:
                    continue
                if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
                    record = _value(raw, name, line)  # the depth check (and its error)
            if not isinstance(record, dict):
                raise StateError(f"{name}:{line}: a record must be a JSON object")
            version = record.get("v")
            if isinstance(version, int) and version > FORMAT_VERSION:
                raise StateError(
                    f"{name}:{line}: written by a newer sdd (format {version}, this one reads "
                    f"{FORMAT_VERSION})",
                    hint="upgrade sdd",
                )
            record_id = record.get("id")
            if not valid(record_id) or not isinstance(record.get("type"), str):
                raise StateError(f"{name}:{line}: a record needs a valid `id` and `type`")
            assert isinstance(record_id, str)
            if not keep or raw not in held:
                # :func:`_holds`, its commonest case (an unsigned record as line_of wrote it)
                # worked out here; anything else, or a hash that does not match, goes there.
                claimed = record.get("hash")
                good = False
                if version == FORMAT_VERSION and isinstance(claimed, str) and "sig" not in record:
                    marker = b',"hash":"' + claimed.encode("ascii", "replace") + b'"'
                    cut = raw.find(marker)
                    if cut > 0 and raw[cut + len(marker) :].rstrip(b"\r") == b"}":
                        good = sha256(_DOMAINS[2] + raw[:cut] + b"}").hexdigest() == claimed
                if not good and not holds(raw, record):
                    what = "record changed after it was written (hash mismatch)"
                    problems.append(Problem(line, record_id, what, name))
                    continue
                if keep:
                    if len(held) >= _HOLD:
                        held.clear()
                    held.add(raw)
            if record_id in by_id:
                if by_id[record_id] != record:  # else the same record on both sides of a merge
                    what = "two different records share this id"
                    problems.append(Problem(line, record_id, what, name))
                continue
            by_id[record_id] = record
            lines_of[record_id] = line
            files_of[record_id] = name


def _value(raw: bytes, name: str, line: int) -> Any:
    """One line's JSON value, as :func:`nesting.json_value` reads it (an error names the line)."""
    try:
        return json_value(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise StateError(
            f"{name}:{line}: not a valid record ({str(exc)[:120]})",
            hint=f"restore the file from git (`git checkout -- {name}`) or run `sdd doctor`",
        ) from None


def _sentinel(data: bytes) -> bytes | None:
    """A number no line of ``data`` holds, to put between lines (``_decode_lines``)."""
    for _ in range(3):
        # Odd and above 2**95: no JSON number but these digits reads as this int.
        digits = str(int.from_bytes(os.urandom(12), "big") | (1 << 95) | 1).encode()
        if digits not in data:
            return digits
    return None


def _decode_lines(lines: list[bytes], sentinel: bytes) -> list[Any] | None:
    """Every line's JSON value (``_BLANK`` for a blank line) from one parse of them all, each
    exactly what ``json.loads`` gives it alone; None when that cannot be told (a line that
    does not parse on its own, or an unusual one): the caller parses each line itself.

    The lines are parsed as one array, ``sentinel`` between each two: ``[l1\n,S,l2\n,S,…]``.
    No string crosses a line's end (JSON strings hold no raw newline), and only the inserted
    ``S`` read as that int (the caller checked no line holds its digits), so when the array
    holds ``S`` at every other place, each separator is at its top level and the text of
    each line is exactly one value. Decoding the whole as UTF-8 (with surrogates, as
    ``json.loads`` decodes bytes) decodes each line as it would alone: a line ``json.loads``
    would read in another encoding (a BOM, a NUL byte first) does not parse here."""
    kept = [raw for raw in lines if raw and not raw.isspace()]  # as `raw.strip()`, uncopied
    if not kept:
        return [_BLANK] * len(lines)
    try:
        text = (b"[" + (b"\n," + sentinel + b",").join(kept) + b"\n]").decode(
            "utf-8", "surrogatepass"
        )
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    if (
        not isinstance(parsed, list)
        or len(parsed) != 2 * len(kept) - 1
        or parsed[1::2] != [int(sentinel)] * (len(kept) - 1)
    ):
        return None
    values = parsed[0::2]
    if len(kept) == len(lines):
        return values
    found = iter(values)
    return [next(found) if raw and not raw.isspace() else _BLANK for raw in lines]


def _link(loaded: Loaded, by_id: dict[str, Record]) -> None:
    """The graph: every record's parents present (else reported), and the heads."""
    by_hash: dict[str, Record] = {}
    named: set[str] = set()  # every parent some record names
    for record_id, record in by_id.items():  # one pass: a large history is read once
        by_hash[record["hash"]] = record
        if record.get("v") == 1:
            prev = record.get("prev")
            if isinstance(prev, str) and prev not in by_id:
                loaded.problems.append(
                    Problem(
                        loaded.lines[record_id],
                        record_id,
                        f"the record written before it ({prev}) is missing: deleted or edited",
                        loaded.files[record_id],
                    )
                )
            named.update(parents(record, by_id))
            continue
        found = record.get("parents")
        if isinstance(found, list) and len(found) == 1 and isinstance(found[0], str):
            named.add(found[0])  # what nearly every record names: the one record before it
        elif isinstance(found, list):
            named.update(p for p in found if isinstance(p, str))
    loaded.by_hash = by_hash
    if named.difference(by_hash):  # some parent is absent: which records name it
        for record_id, record in by_id.items():
            if record.get("v") != 1:
                absent = [p for p in parents(record, by_id) if p not in by_hash]
                if absent:
                    loaded.missing[record_id] = absent
    written = list(by_id)
    ordered = sorted(written)
    # A file's records are in id order (one writer appends under the lock): usually so here.
    loaded.records = (
        list(by_id.values()) if ordered == written else list(map(by_id.__getitem__, ordered))
    )
    if len(by_hash) == len(by_id):  # each record its own hash (else: several, each a head)
        loaded.heads = sorted(by_hash.keys() - named)
    else:
        loaded.heads = sorted(r["hash"] for r in loaded.records if r["hash"] not in named)


def descendants(loaded: Loaded, roots: set[str]) -> set[str]:
    """The ids of ``roots`` (record ids) and of every record that descends from them."""
    return reach(children(loaded), roots)


def children(loaded: Loaded) -> dict[str, list[str]]:
    """Each record's id -> the ids of the records appended after it (for :func:`reach`)."""
    by_hash, by_id = loaded.by_hash, _v1_ids(loaded)
    below: dict[str, list[str]] = {}
    for record in loaded.records:
        for parent in _ups(record, by_id):
            above = by_hash.get(parent)
            if above is not None:
                below.setdefault(above["id"], []).append(record["id"])
    return below


def reach(below: dict[str, list[str]], roots: set[str]) -> set[str]:
    """``roots`` and every id ``below`` leads to from them."""
    seen = set(roots)
    stack = list(roots)
    while stack:
        for child in below.get(stack.pop(), ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def ancestors(loaded: Loaded, start: list[str]) -> set[str]:
    """The ids of the records with the hashes ``start`` and of all they descend from."""
    by_hash, by_id = loaded.by_hash, _v1_ids(loaded)
    seen: set[str] = set()
    stack = [by_hash[h] for h in start if h in by_hash]
    while stack:
        record = stack.pop()
        ident = record["id"]
        if ident in seen:
            continue
        seen.add(ident)
        for parent in _ups(record, by_id):
            above = by_hash.get(parent)
            if above is not None and above["id"] not in seen:
                stack.append(above)
    return seen


def _v1_ids(loaded: Loaded) -> dict[str, Record]:
    """The records by id when some are format 1 (whose parent is named by id), else empty:
    a format-2 record names its parents' hashes itself."""
    if 1 not in map(_VERSION, loaded.records):
        return {}
    return {r["id"]: r for r in loaded.records}


def _ups(record: Record, by_id: dict[str, Record]) -> list[str]:
    """:func:`parents`, with ``by_id`` needed for format-1 records only."""
    if record.get("v") == 1:
        return parents(record, by_id)
    found = record.get("parents")
    if not isinstance(found, list):
        return []
    if len(found) == 1 and isinstance(found[0], str):
        return found  # what nearly every record names: no copy
    return [p for p in found if isinstance(p, str)]


_VERSION = operator.methodcaller("get", "v")


# ---------------------------------------------------------------------------- writing


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


def new_record(
    kind: Kind,
    fields: dict[str, Any],
    *,
    parents: list[str],
    at: float,
    after: str | None = None,
    sign: Signer | None = None,
) -> Record:
    record: Record = {"id": ids.new_id(at, after), "v": FORMAT_VERSION, "type": kind}
    record["at"] = clock.iso(at)
    record["parents"] = list(parents)
    record.update(fields)
    record["hash"] = record_hash(record)
    if sign is not None:
        sig = sign(record)
        if sig is not None:
            record["sig"] = sig
    return record


@dataclass
class Appended:
    """What one append wrote, and how to take it back."""

    records: list[Record]
    segment: str  # the file written
    size_before: int  # its length before (0: it is new)
    created: bool

    def undo(self) -> None:
        """Take back the records (the caller holds the lock; best effort: the write failed
        or what follows it did, and that error is what the user must see)."""
        try:
            if self.created:
                os.unlink(self.segment)
            else:
                with open(self.segment, "r+b") as handle:
                    handle.truncate(self.size_before)
                    os.fsync(handle.fileno())
        except OSError:
            pass


def append(
    paths: ProjectPaths,
    entries: list[tuple[Kind, dict[str, Any]]],
    *,
    heads: list[str] | None = None,
    last_id: str | None = None,
    tracked: Callable[[str], bool] | None = None,
    sign: Signer | None = None,
) -> Appended:
    """Append records after ``heads`` (the caller holds :func:`locked` and read the history
    under it; without ``heads`` it is read here). ``tracked`` says whether git tracks a
    segment: a tracked one is sealed (without it, none is)."""
    if heads is None:
        loaded = load(paths) if exists(paths) else Loaded(records=[])
        heads = loaded.heads
        last_id = loaded.records[-1]["id"] if loaded.records else None
    at = clock.now()
    written: list[Record] = []
    up, after = list(heads), last_id
    for kind, fields in entries:
        record = new_record(kind, fields, parents=up, at=at, after=after, sign=sign)
        written.append(record)
        up, after = [record["hash"]], record["id"]
    segment, created = _open_segment(paths, written[0]["id"], tracked or (lambda _: False))
    payload = b"".join(line_of(r) for r in written)
    display = paths.rel(segment)
    try:
        os.makedirs(paths.history_dir, exist_ok=True)
        fd = os.open(segment, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StateError(f"{display}: cannot open ({exc.strerror}); nothing was changed") from None
    try:
        complete = _complete_length(fd)
        if complete < os.fstat(fd).st_size:
            os.ftruncate(fd, complete)  # drop a record a crash cut short
        done = Appended(written, segment, complete, created)
        try:
            os.lseek(fd, 0, os.SEEK_END)
            if os.write(fd, payload) != len(payload):
                raise OSError(errno.ENOSPC, "short write")
            os.fsync(fd)
        except OSError as exc:
            os.ftruncate(fd, complete)
            reason = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror
            if created:
                done.undo()
            raise StateError(
                f"{display}: could not record ({reason}); nothing was changed"
            ) from None
        return done
    finally:
        os.close(fd)


def _open_segment(
    paths: ProjectPaths, first_id: str, tracked: Callable[[str], bool]
) -> tuple[str, bool]:
    """The segment to append to: the newest one while git does not track it, else a new one
    named after the first record it will hold."""
    names = segment_names(paths)
    if names:
        newest = os.path.join(paths.history_dir, names[-1])
        if not tracked(paths.rel(newest)):
            return newest, False
    return os.path.join(paths.history_dir, first_id + SUFFIX), True


def _complete_length(fd: int) -> int:
    """The length of a file's complete lines (what an append keeps)."""
    size = os.fstat(fd).st_size
    window = 1 << 16
    while True:
        chunk = min(size, window)
        if chunk == 0:
            return 0
        data = os.pread(fd, chunk, size - chunk)
        cut = data.rfind(b"\n")
        if cut >= 0:
            return size - chunk + cut + 1
        if chunk == size:
            return 0
        window *= 4

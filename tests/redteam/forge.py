"""The attacker's toolkit for the history: read it, write records by hand with their hash
recomputed, take records out at a line boundary, edit, reorder and insert records and
rehash everything after them: all that anyone who can write the project's files can do.

It works on either format the project holds (``History.format``):

- format 1 (main today): `.sdd/history.jsonl`; each record's ``prev`` is the id of the line
  before it; ``hash = sha256(b"sdd-record-1\\n" + canonical(record without "hash"))``.
- format 2 (ISSUE16.md): segments `.sdd/history/<id of its first record>.jsonl`; each
  record's ``parents`` are the hashes of the heads it was appended after;
  ``hash = sha256(b"sdd-record-2\\n" + canonical(record without "hash" and "sig"))``; a
  person's act carries ``sig`` = {key, signature}, an SSHSIG over the hash's hex text.

Nothing of sdd is imported: the formulas are public, which is the point of the attack.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssh_helpers import OURS, public_line, ssh_sign

Record = dict[str, Any]

_DOMAIN = {1: b"sdd-record-1\n", 2: b"sdd-record-2\n"}
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32, as ULIDs are written


def canonical(record: Record) -> bytes:
    """The bytes a record's hash covers: everything but the hash (and, in format 2, the
    signature), keys sorted, no spaces."""
    left_out = ("hash", "sig") if version_of(record) >= 2 else ("hash",)
    body = {k: v for k, v in record.items() if k not in left_out}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


def version_of(record: Record) -> int:
    version = record.get("v")
    return version if isinstance(version, int) and version >= 2 else 1


def record_hash(record: Record) -> str:
    return hashlib.sha256(_DOMAIN[min(version_of(record), 2)] + canonical(record)).hexdigest()


ENVELOPE = ("id", "v", "type", "at", "prev", "parents", "hash", "sig")


def fields_of(record: Record) -> Record:
    """What a record says, without the history's envelope: what a forger copies."""
    return {k: v for k, v in record.items() if k not in ENVELOPE}


def line_of(record: Record) -> bytes:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def _encode(value: int) -> str:
    return "".join(_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def _decode(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + _ALPHABET.index(char)
    return value


def new_id(after: str | None = None, seconds: float | None = None) -> str:
    """A ULID for ``seconds`` (now), strictly after ``after`` unless a time is forced."""
    millis = int((time.time() if seconds is None else seconds) * 1000)
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    if after is not None and seconds is None and value <= _decode(after):
        value = _decode(after) + 1 + int.from_bytes(os.urandom(4), "big")  # as sdd leaves room
    return _encode(value)


def id_between(low: str, high: str) -> str:
    """An id that sorts between two others (they must not be neighbours)."""
    a, b = _decode(low), _decode(high)
    assert b - a > 1, f"no id fits between {low} and {high}"
    return _encode((a + b) // 2)


def iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def seconds_of(record_id: str) -> float:
    return (_decode(record_id) >> 80) / 1000


@dataclass
class Entry:
    """One record where it stands: its file and its line (1-based)."""

    record: Record
    path: Path
    line: float  # a record inserted by hand goes between two lines: x.5

    @property
    def id(self) -> str:
        return str(self.record["id"])

    @property
    def spot(self) -> str:
        """How a message would name its place: `history.jsonl:12`."""
        return f"{self.path.name}:{int(self.line)}"


class History:
    """The history of the project at ``root``, as files an attacker edits."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / ".sdd" / "history"
        self.legacy = root / ".sdd" / "history.jsonl"

    @property
    def format(self) -> int:
        return 2 if self.folder.is_dir() and any(self.folder.glob("*.jsonl")) else 1

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("*.jsonl")) if self.format == 2 else [self.legacy]

    def entries(self) -> list[Entry]:
        """Every record, in id order (the order readers fold them in)."""
        found = []
        for path in self.files():
            for number, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
                if raw.strip():
                    found.append(Entry(json.loads(raw), path, number))
        return sorted(found, key=lambda e: e.id)

    def records(self) -> list[Record]:
        return [e.record for e in self.entries()]

    def of(self, kind: str, **fields: Any) -> list[Entry]:
        """The entries of one kind whose fields hold the values given."""
        return [
            e
            for e in self.entries()
            if e.record["type"] == kind and all(e.record.get(k) == v for k, v in fields.items())
        ]

    def one(self, kind: str, **fields: Any) -> Entry:
        found = self.of(kind, **fields)
        assert found, f"no {kind} record with {fields} in the history"
        return found[-1]

    def heads(self) -> list[str]:
        """Format 2: the hashes no record names as a parent (of the records of format 2,
        when a migrated format-1 past holds records that never name parents)."""
        records = self.records()
        named = {p for r in records for p in r.get("parents", [])}
        pool = [r for r in records if version_of(r) >= 2] or records
        return sorted(r["hash"] for r in pool if r["hash"] not in named)

    def _last_line_id(self) -> str | None:
        lines = [ln for ln in self.legacy.read_bytes().split(b"\n") if ln.strip()]
        return json.loads(lines[-1])["id"] if lines else None

    # --------------------------------------------------------------------- writing by hand

    def forge(self, kind: str, fields: Record, *, seconds: float | None = None) -> Record:
        """The record sdd would append next, with the hash recomputed; ``seconds`` backdates it."""
        entries = self.entries()
        last = entries[-1].id if entries else None
        moment = time.time() if seconds is None else seconds
        record: Record = {"id": new_id(last, seconds), "v": self.format, "type": kind}
        record["at"] = iso(moment)
        if self.format == 2:
            record["parents"] = self.heads()
        else:
            record["prev"] = self._last_line_id()
        record.update(fields)
        record["hash"] = record_hash(record)
        return record

    def write(self, record: Record) -> Entry:
        """Append a record: format 2 in a segment of its own (a new, untracked file, the way
        sdd starts one), format 1 at the end of the file. The hash is sealed first."""
        record["hash"] = record_hash(record)
        if self.format == 2:
            path = self.folder / f"{record['id']}.jsonl"
            path.write_bytes(line_of(record))
            return Entry(record, path, 1)
        with self.legacy.open("ab") as handle:
            handle.write(line_of(record))
        return Entry(record, self.legacy, len(self.legacy.read_bytes().splitlines()))

    def add(self, kind: str, fields: Record) -> Entry:
        return self.write(self.forge(kind, fields))

    def remove(self, *gone: Entry) -> None:
        """Take records out at a line boundary; a segment left empty is deleted."""
        for path in {e.path for e in gone}:
            lines = path.read_bytes().split(b"\n")
            cut = {int(e.line) for e in gone if e.path == path}
            kept = [ln for n, ln in enumerate(lines, start=1) if n not in cut and ln.strip()]
            if kept or path == self.legacy:
                path.write_bytes(b"".join(ln + b"\n" for ln in kept))
            else:
                path.unlink()

    # --------------------------------------------------------- rewriting what a signature covers

    def rewritten(self, entries: list[Entry]) -> None:
        """Save ``entries`` (edited in place) after recomputing every hash and, in format 2,
        every parent link that named an old hash: the whole chain made consistent again,
        which is all a forger can do without the person's key."""
        renamed: dict[str, str] = {}
        for _ in range(len(entries) + 1):
            changed = False
            for entry in entries:
                record = entry.record
                parents = record.get("parents")  # an edit may have made it anything
                if isinstance(parents, list) and all(isinstance(p, str) for p in parents):
                    record["parents"] = sorted(renamed.get(p, p) for p in parents)
                fresh = record_hash(record)
                if fresh != record["hash"]:
                    renamed[record["hash"]] = fresh
                    record["hash"] = fresh
                    changed = True
            if not changed:
                break
        self._save(entries)

    def _save(self, entries: list[Entry]) -> None:
        for path in {*self.files(), *(e.path for e in entries)}:
            mine = sorted((e for e in entries if e.path == path), key=lambda e: e.line)
            if mine or path == self.legacy:
                path.write_bytes(b"".join(line_of(e.record) for e in mine))
            else:
                path.unlink()  # a segment whose every record was taken out

    def edit(self, target: Entry, **fields: Any) -> None:
        entries = self.entries()
        next(e for e in entries if e.id == target.id).record.update(fields)
        self.rewritten(entries)

    def swap(self, first: Entry, second: Entry) -> None:
        """Exchange two records' places in the fold (their ids and times)."""
        entries = self.entries()
        a = next(e for e in entries if e.id == first.id).record
        b = next(e for e in entries if e.id == second.id).record
        for key in ("id", "at"):
            a[key], b[key] = b[key], a[key]
        self.rewritten(entries)

    def insert_after(self, before: Entry, kind: str, fields: Record) -> Record:
        """A record slipped in right after ``before``: the one that followed it now follows
        the new record (its ``prev`` or ``parents`` relinked)."""
        entries = self.entries()
        index = next(i for i, e in enumerate(entries) if e.id == before.id)
        after = entries[index + 1]
        record: Record = {"id": id_between(before.id, after.id), "v": self.format, "type": kind}
        record["at"] = before.record["at"]
        old = before.record["hash"]
        if self.format == 2:
            record["parents"] = [old]
        else:
            record["prev"] = before.id
        record.update(fields)
        record["hash"] = record_hash(record)
        if self.format == 2:
            parents = after.record["parents"]
            after.record["parents"] = sorted(record["hash"] if p == old else p for p in parents)
        else:
            after.record["prev"] = record["id"]
        entries.insert(index + 1, Entry(record, before.path, before.line + 0.5))
        self.rewritten(entries)
        return record

    def cut_out(self, target: Entry) -> None:
        """Remove a record from the middle and relink the one after it to what came before."""
        entries = self.entries()
        index = next(i for i, e in enumerate(entries) if e.id == target.id)
        gone = entries.pop(index).record
        for entry in entries:
            record = entry.record
            if self.format == 2 and gone["hash"] in record.get("parents", []):
                kept = [p for p in record["parents"] if p != gone["hash"]]
                record["parents"] = sorted({*kept, *gone.get("parents", [])})
            elif record.get("prev") == gone["id"]:
                record["prev"] = gone.get("prev")
        self.rewritten(entries)


# ----------------------------------------------------------------------------- documents


def keep_snapshot(root: Path, relative: str) -> str:
    """What sdd keeps of an approved document: its bytes under their hash, written by hand."""
    data = (root / relative).read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    digest = hashlib.sha256(data).hexdigest()
    folder = root / ".sdd" / "snapshots"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / digest).write_bytes(data)
    return digest


# ----------------------------------------------------------------------------- signatures


def signature_by(key: Path, record: Record, env: dict[str, str] | None = None) -> Record:
    """A real SSHSIG over the record's hash, by ``key``, in sdd's namespace."""
    armored = ssh_sign(key, record["hash"].encode(), OURS, env)
    return {"key": public_line(key), "signature": armored}


def commit_signature(root: Path, rev: str = "HEAD") -> str:
    """The armored SSH signature of a signed git commit (namespace `git`), lifted from it."""
    raw = subprocess.run(
        ["git", "cat-file", "commit", rev], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    header = raw.partition("\n\n")[0].split("\n")
    start = next(i for i, line in enumerate(header) if line.startswith("gpgsig "))
    lines = [header[start][len("gpgsig ") :]]
    lines += [line[1:] for line in header[start + 1 :] if line.startswith(" ")]
    assert "BEGIN SSH SIGNATURE" in lines[0], f"{rev} is not signed with an SSH key"
    return "\n".join(lines) + "\n"

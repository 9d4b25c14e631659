"""An agent that forges sdd's checkpoint (.sdd/cache), as one with a shell and sdd's source
to read can: it adds an approval of GATE to the latest cycle of the state the cache holds,
with the documents' hashes as they are now, and writes the part and the head back under the
names sdd checks (a part, and a shelf of cycles' entries, is named by the BLAKE2b of its
bytes). RECORD: the record id the
forged decision claims: "made-up" (no such record), or the id of a real signed approval of
another gate (`replay`). Usage: forge_checkpoint.py ROOT GATE made-up|replay"""

from __future__ import annotations

import glob
import hashlib
import json
import marshal
import os
import sys

root, gate, how = sys.argv[1], sys.argv[2], sys.argv[3]
head_path = glob.glob(os.path.join(root, ".sdd/cache/checkpoint-*.marshal"))[0]
parts = head_path[: -len(".marshal")] + ".parts"
with open(head_path, "rb") as handle:
    head = marshal.loads(handle.read())


def blake2b(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=32).hexdigest()[:40]


shelf = head["cycles"][-1]  # the newest shelf: its name, its cycles' numbers, ...
with open(os.path.join(parts, shelf[0] + ".part"), "rb") as handle:
    entries = marshal.loads(handle.read())
entry = entries[-1]  # the latest cycle's plain fields and the name of its part
name = entry["_name"]
with open(os.path.join(parts, name + ".part"), "rb") as handle:
    part = list(marshal.loads(handle.read()))
decisions = list(part[3])
record = "01ZZZZZZZZZZZZZZZZZZZZZZZZ"
if how == "replay":
    for path in sorted(glob.glob(os.path.join(root, ".sdd/history/*.jsonl"))):
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                found = json.loads(line)
                if found.get("type") == "gate.approve":
                    record = found["id"]
docs = {}
for relative in ("docs/architecture.md", "docs/implementation-plan.md", "docs/test-plan.md"):
    with open(os.path.join(root, relative), "rb") as handle:
        data = handle.read().replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    docs[relative] = hashlib.sha256(data).hexdigest()
    # the copy sdd keeps of an approved version, so the decision looks like one sdd wrote
    with open(os.path.join(root, ".sdd/snapshots", docs[relative]), "wb") as handle:
        handle.write(data)
# (gate, kind, record, at, by, docs, reason, to, confirmed, verdicts): sdd's Decision
decisions.append(
    (
        gate,
        "approve",
        record,
        "2026-01-01T00:00:00Z",
        {"kind": "person", "name": "Ada"},
        docs,
        None,
        None,
        "code",
        None,
    )
)
part[3] = decisions
data = marshal.dumps(tuple(part))
new = blake2b(data)
with open(os.path.join(parts, new + ".part"), "wb") as handle:
    handle.write(data)
entry["_name"] = new
shelf_data = marshal.dumps(entries)
shelf[0] = blake2b(shelf_data)
with open(os.path.join(parts, shelf[0] + ".part"), "wb") as handle:
    handle.write(shelf_data)
with open(head_path, "wb") as handle:
    handle.write(marshal.dumps(head))
print(json.dumps({"forged": record, "part": new}))

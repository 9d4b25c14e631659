"""One record's line, read from its segment without reading the segment (issue 21).

A segment's records are appended in id order (each write appends after the newest), so a
record is found by bisection over the file's bytes: about twenty short reads at any size.
Where the order does not hold (a file written by hand), the file is scanned.
"""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_PROBE = 8192  # bytes read at each step: more than one record
_SCAN = 1 << 16  # below this the rest is read at once


def find(path: str, record_id: str) -> tuple[bytes, Any] | None:
    """The line of ``record_id`` in the file at ``path`` and the record it parses to; None
    when the file holds no such record."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            low, high = 0, size
            while high - low > _SCAN:
                middle = (low + high) // 2
                handle.seek(middle)
                chunk = handle.read(_PROBE)
                start = chunk.find(b"\n")
                end = chunk.find(b"\n", start + 1) if start >= 0 else -1
                found = _id(chunk[start + 1 : end]) if end > start >= 0 else None
                if found is None:
                    break  # a record longer than a probe, or not one: read the rest
                if found < record_id:
                    low = middle + start + 1
                elif found > record_id:
                    high = middle + start + 1
                else:
                    line = chunk[start + 1 : end + 1]
                    return line, json.loads(line)
            handle.seek(low)
            window = handle.read(high - low)
            hit = _among(window, record_id)
            if hit is not None:
                return hit
            handle.seek(0)
            return _among(handle.read(), record_id)  # not in id order: the whole file
    except (OSError, ValueError):
        return None


def _id(line: bytes) -> str | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    found = record.get("id") if isinstance(record, dict) else None
    return found if isinstance(found, str) else None


def _among(data: bytes, record_id: str) -> tuple[bytes, Any] | None:
    marker = b'"id":' + json.dumps(record_id).encode()
    at = data.find(marker)
    while at >= 0:
        start = data.rfind(b"\n", 0, at) + 1
        end = data.find(b"\n", at)
        line = data[start : end + 1 if end >= 0 else len(data)]
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict) and record.get("id") == record_id:
            return line, record
        at = data.find(marker, at + 1)
    return None

"""The stage files (skills and commands): sdd owns each whole, so it writes, updates and
removes it while it is exactly as sdd wrote it, and leaves it alone once a person edited it."""

from __future__ import annotations

from sdd.agents.install.manifest import sha256

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.agents.install.writer import Writer


def put(w: Writer, relative: str, current: bytes | None, text: str, create_only: bool) -> None:
    """Write ``text`` to ``relative``, whose bytes are ``current`` (None: no file yet)."""
    entry = w.files.get(relative)
    if current is None:
        w.files[relative] = {"kind": "file", "sha256": w.write(relative, text)}
        w.outcome.created.append(relative)
    elif entry is None:
        w.outcome.skipped.append(relative)  # not written by sdd
    elif sha256(current) != entry["sha256"]:
        w.outcome.kept.append(relative)
    elif create_only or current == text.encode():
        w.outcome.unchanged.append(relative)
    else:
        entry["sha256"] = w.write(relative, text)
        w.outcome.updated.append(relative)


def take_out(w: Writer, relative: str, entry: dict[str, Any], raw: bytes) -> None:
    if sha256(raw) == entry["sha256"]:
        w.delete(relative)
        w.outcome.removed.append(relative)
    else:
        w.outcome.kept.append(relative)

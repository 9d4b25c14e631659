"""Project documents: the placeholder marker, snapshots of approved versions, their diffs."""

from __future__ import annotations

import os

from sdd.core import files
from sdd.core.digest import sha256_hex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.core.paths import ProjectPaths

# The one placeholder marker every template uses. A document still holding one is not written.
PLACEHOLDER = "[FILL:"


def placeholders(text: str) -> list[int]:
    """Line numbers (1-based) that still hold the placeholder marker."""
    return [n for n, line in enumerate(text.splitlines(), start=1) if PLACEHOLDER in line]


def snapshot(paths: ProjectPaths, relative: str) -> str | None:
    """Keep the current content of a document under its hash; returns the hash."""
    source = paths.inside(relative)
    try:
        with open(source, "rb") as handle:
            data = files.normalise(handle.read())
    except FileNotFoundError:
        return None
    digest = sha256_hex(data)
    target = os.path.join(paths.snapshots, digest)
    if not os.path.exists(target):
        files.write_atomic(target, data, display=paths.rel(target))
    return digest


def is_digest(value: object) -> bool:
    """A sha256 in hex: the only thing sdd ever joins onto a snapshot or cache path."""
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def has_snapshot(paths: ProjectPaths, digest: str) -> bool:
    return is_digest(digest) and os.path.isfile(os.path.join(paths.snapshots, digest))


def snapshot_holds(paths: ProjectPaths, digest: str) -> bool | None:
    """Whether the kept copy of an approved version still has the content its name (its
    hash) says: None when there is no copy, False when it was rewritten."""
    if not is_digest(digest):
        return None
    try:
        with open(os.path.join(paths.snapshots, digest), "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return files.hash_bytes(data) == digest


def snapshot_text(paths: ProjectPaths, digest: str) -> str | None:
    if not is_digest(digest):
        return None
    return files.read_text(os.path.join(paths.snapshots, digest))


def unified_diff(old: str, new: str, name: str) -> str:
    import difflib

    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.replace("\r\n", "\n").splitlines(keepends=True),
        fromfile=f"{name} (approved)",
        tofile=f"{name} (now)",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

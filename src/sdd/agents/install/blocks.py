"""The managed block in AGENTS.md (CLAUDE.md, GEMINI.md): files a person writes too, so sdd
owns only the block between its markers, and remembers what it inserted to take it out
again as it came."""

from __future__ import annotations

from sdd.agents.install.manifest import decode, sha256
from sdd.agents.install.render import find_block

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.agents.install.writer import Writer


def _separator(text: str) -> str:
    """What goes between a file's text and a block appended to it: one blank line."""
    if text.endswith("\n\n") or not text:
        return ""
    return "\n" if text.endswith("\n") else "\n\n"


def _record(w: Writer, relative: str, block: str, inserted: str, *, created: bool) -> None:
    w.files[relative] = {
        "kind": "block",
        "created": created,
        "sha256": sha256(block),
        "inserted": inserted,
    }


def put(w: Writer, relative: str, raw: bytes | None, block: str, create_only: bool) -> None:
    """Put ``block`` into ``relative``, whose bytes are ``raw`` (None: no file yet)."""
    entry = w.files.get(relative)
    text = decode(raw)
    if raw is not None and text is None:
        w.undecodable(relative)
        return
    if text is None:
        inserted = block + "\n"
        w.write(relative, inserted)
        _record(w, relative, block, inserted, created=True)
        w.outcome.created.append(relative)
        return
    found = find_block(text)
    if entry is None:
        if create_only or found is not None:
            w.outcome.skipped.append(relative)
            return
        inserted = _separator(text) + block + "\n"
        w.write(relative, text + inserted)
        _record(w, relative, block, inserted, created=False)
        w.outcome.updated.append(relative)
        return
    if found is None or sha256(text[found[0] : found[1]]) != entry["sha256"]:
        w.outcome.kept.append(relative)
        return
    old_block = text[found[0] : found[1]]
    if create_only or old_block == block:
        w.outcome.unchanged.append(relative)
        return
    w.write(relative, text[: found[0]] + block + text[found[1] :])
    entry["sha256"] = sha256(block)
    entry["inserted"] = str(entry.get("inserted", "")).replace(old_block, block, 1)
    w.outcome.updated.append(relative)


def take_out(w: Writer, relative: str, entry: dict[str, Any], text: str) -> None:
    found = find_block(text)
    if found is None or sha256(text[found[0] : found[1]]) != entry["sha256"]:
        w.outcome.kept.append(relative)
        return
    inserted = str(entry.get("inserted", ""))
    if entry.get("created") and text == inserted:
        w.delete(relative)
        w.outcome.removed.append(relative)
        return
    at = text.rfind(inserted) if inserted else -1
    if at >= 0:
        rest = text[:at] + text[at + len(inserted) :]
    else:
        end = found[1] + (1 if text[found[1] : found[1] + 1] == "\n" else 0)
        rest = text[: found[0]] + text[end:]
    if entry.get("created") and not rest.strip():
        w.delete(relative)
        w.outcome.removed.append(relative)
        return
    w.write(relative, rest)
    w.outcome.taken_out.append(relative)

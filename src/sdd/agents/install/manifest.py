"""The manifest, `.sdd/agents.json` (committed): every file `sdd agents install` wrote, with
the content hash of what it wrote. A file is updated or removed only while it is still
exactly as sdd wrote it; :func:`drift` tells which are not."""

from __future__ import annotations

import hashlib
import json
import os

from sdd.agents.install.render import find_block
from sdd.agents.registry import INSTALLS, SERVER
from sdd.core import files
from sdd.core.errors import StateError
from sdd.core.nesting import json_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.paths import ProjectPaths

MANIFEST = ".sdd/agents.json"
MANIFEST_FORMAT = 1


def sha256(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def decode(raw: bytes | None) -> str | None:
    """The text of ``raw`` if it is UTF-8, else None."""
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def load(paths: ProjectPaths) -> dict[str, Any]:
    target = paths.inside(MANIFEST)
    text = files.read_text(target)
    if text is None:
        return {"format": MANIFEST_FORMAT, "agents": [], "mcp": False, "files": {}, "folders": []}
    try:
        data = json_value(text)
    except ValueError as exc:
        raise StateError(
            f"{MANIFEST}: not valid JSON ({exc})",
            hint="restore it from git; sdd needs it to tell its files from yours",
        ) from None
    if (
        not isinstance(data, dict)
        or data.get("format") != MANIFEST_FORMAT
        or not isinstance(data.get("files"), dict)
        or not isinstance(data.get("agents"), list)
    ):
        raise StateError(
            f"{MANIFEST}: not an sdd agents manifest of format {MANIFEST_FORMAT}",
            hint="restore it from git",
        )
    data.setdefault("folders", [])
    data.setdefault("mcp", False)
    return data


def save(paths: ProjectPaths, manifest: dict[str, Any], before: str | None) -> None:
    """Write the manifest (``before`` is its text as read), or remove it once it holds nothing."""
    target = paths.inside(MANIFEST)
    if not manifest["files"] and not manifest["folders"]:
        if before is not None:
            os.unlink(target)
        return
    manifest["agents"] = [a for a in INSTALLS if a in set(manifest["agents"])]
    text = json.dumps(
        {
            "format": MANIFEST_FORMAT,
            "note": "Files written by `sdd agents install`, with their sha256 as written. "
            "sdd updates or removes a file only while it is unchanged.",
            "agents": manifest["agents"],
            "mcp": bool(manifest["mcp"]),
            "files": dict(sorted(manifest["files"].items())),
            "folders": sorted(manifest["folders"]),
        },
        indent=2,
        ensure_ascii=False,
    )
    text += "\n"
    if text != before:
        files.write_atomic(target, text, display=MANIFEST)


def registered(text: str, entry: dict[str, Any]) -> Any:
    """The `sdd` server a settings file (JSON, or TOML for ``kind`` toml) registers now, in
    the table ``entry`` recorded; None when there is none or the file does not parse."""
    if entry.get("kind") == "toml":
        import tomllib

        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return None
    else:
        try:
            data = json_value(text)
        except ValueError:
            return None
    servers = data.get(str(entry.get("table"))) if isinstance(data, dict) else None
    return servers.get(SERVER) if isinstance(servers, dict) else None


def toml_holds(text: str, entry: dict[str, Any]) -> bool:
    """Whether a TOML settings file still registers sdd's server as ``entry`` recorded it."""
    value = entry.get("value")
    return value is not None and bool(registered(text, entry) == value)


def drift(paths: ProjectPaths) -> list[tuple[str, str]]:
    """Files sdd installed that are now missing or were edited: (path, "missing"|"edited")."""
    manifest = load(paths)
    found: list[tuple[str, str]] = []
    for relative, entry in manifest["files"].items():
        raw = read_bytes(paths.inside(relative))
        if raw is None:
            found.append((relative, "missing"))
            continue
        kind = entry.get("kind")
        if kind == "block":
            text = decode(raw) or ""
            block = find_block(text)
            if block is None or sha256(text[block[0] : block[1]]) != entry.get("sha256"):
                found.append((relative, "edited"))
        elif (kind == "file" and sha256(raw) != entry.get("sha256")) or (
            kind == "toml" and not toml_holds(decode(raw) or "", entry)
        ):
            found.append((relative, "edited"))
        # A JSON file sdd merged an entry into belongs to others too: not judged here.
    return found

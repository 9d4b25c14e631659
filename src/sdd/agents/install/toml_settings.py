"""sdd's server in Codex's `.codex/config.toml`: a file that holds the project's other Codex
settings too, with their comments, so sdd never re-writes it from a parse. It appends its
own `[mcp_servers.sdd]` table as text, checks with a real TOML parser that the result reads
as intended, and later takes out exactly the text it appended."""

from __future__ import annotations

import json
import tomllib

from sdd.agents.install.manifest import decode
from sdd.agents.registry import SERVER, McpFile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from sdd.agents.install.writer import Writer

NOTE = "# The `sdd` MCP server, written by `sdd agents install --mcp`.\n"


def _value(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, str):
        return json.dumps(item)  # a TOML basic string: JSON's escapes are TOML's
    if isinstance(item, list):
        return "[" + ", ".join(_value(v) for v in item) + "]"
    raise TypeError(f"no TOML form here for {item!r}")


def table(spec: McpFile, value: Mapping[str, Any]) -> str:
    lines = [f"[{spec.table}.{SERVER}]"]
    lines += [f"{key} = {_value(item)}" for key, item in value.items()]
    return NOTE + "\n".join(lines) + "\n"


def _parse(text: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def server_in(text: str, table_name: str) -> tuple[bool, Any]:
    """(parses, sdd's server entry or None) of a config file's text."""
    data = _parse(text)
    if data is None:
        return False, None
    servers = data.get(table_name)
    return True, servers.get(SERVER) if isinstance(servers, dict) else None


def _separator(text: str) -> str:
    if not text or text.endswith("\n\n"):
        return ""
    return "\n" if text.endswith("\n") else "\n\n"


def _record(
    w: Writer, relative: str, spec: McpFile, value: dict[str, Any], inserted: str, *, created: bool
) -> None:
    w.files[relative] = {
        "kind": "toml",
        "created": created,
        "table": spec.table,
        "value": value,
        "inserted": inserted,
    }
    w.outcome.mcp.append(relative)


def put(w: Writer, relative: str, raw: bytes | None, spec: McpFile, create_only: bool) -> None:
    """Register sdd's server in ``relative``, whose bytes are ``raw`` (None: no file yet)."""
    entry = w.files.get(relative)
    value = dict(spec.entry)
    block = table(spec, value)
    if raw is None:
        w.write(relative, block)
        _record(w, relative, spec, value, block, created=True)
        w.outcome.created.append(relative)
        return
    text = decode(raw)
    if text is None:
        w.undecodable(relative)
        return
    parses, current = server_in(text, spec.table)
    if not parses:
        w.outcome.skipped.append(relative)
        w.outcome.notes.append(
            f"{relative}: not valid TOML; add the {SERVER} server by hand:\n{block}"
        )
        return
    if entry is None:
        if create_only or current is not None:
            w.outcome.skipped.append(relative)
            if current is not None and current != value:
                w.outcome.notes.append(
                    f"{relative}: has its own `{SERVER}` server entry; left as it is"
                )
            return
        inserted = _separator(text) + block
        if server_in(text + inserted, spec.table) != (True, value):
            w.outcome.skipped.append(relative)
            w.outcome.notes.append(
                f"{relative}: sdd's table would not read as written there (an `{spec.table}` "
                f"defined inline?); add the {SERVER} server by hand:\n{block}"
            )
            return
        w.write(relative, text + inserted)
        _record(w, relative, spec, value, inserted, created=False)
        w.outcome.updated.append(relative)
        return
    old = str(entry.get("inserted", ""))
    if current != entry.get("value") or old.strip() not in text:
        w.outcome.kept.append(relative)
        return
    w.outcome.mcp.append(relative)
    if create_only or current == value:
        w.outcome.unchanged.append(relative)
        return
    new = old.replace(old.strip(), block.strip(), 1)
    at = text.rfind(old.strip())
    w.write(relative, text[:at] + block.strip() + text[at + len(old.strip()) :])
    entry["value"], entry["inserted"] = value, new
    w.outcome.updated.append(relative)


def take_out(w: Writer, relative: str, entry: dict[str, Any], text: str) -> None:
    inserted = str(entry.get("inserted", ""))
    parses, current = server_in(text, str(entry.get("table")))
    at = text.rfind(inserted) if inserted else -1
    if not parses or current != entry.get("value") or at < 0:
        w.outcome.kept.append(relative)
        return
    rest = text[:at] + text[at + len(inserted) :]
    if entry.get("created") and not rest.strip():
        w.delete(relative)
        w.outcome.removed.append(relative)
    else:
        w.write(relative, rest)
        w.outcome.taken_out.append(relative)

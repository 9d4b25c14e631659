"""sdd's server in an agent's MCP settings file (`.mcp.json`, `opencode.json` …): a file that
holds others' servers too, so sdd merges its one entry in, and takes out only that entry
(or restores the file as it was, while nobody else changed it since)."""

from __future__ import annotations

import json

from sdd.agents.install.manifest import decode, sha256
from sdd.agents.registry import SERVER, McpFile
from sdd.core.nesting import json_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.agents.install.writer import Writer


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _loads(text: str) -> Any:
    try:
        return json_value(text)
    except ValueError:
        return None


def _record(
    w: Writer,
    relative: str,
    data: dict[str, Any],
    spec: McpFile,
    value: dict[str, Any],
    *,
    before: str | None,
    table_created: bool,
) -> None:
    """Write ``data`` with our server in it, and remember how to take it out again."""
    w.files[relative] = {
        "kind": "json",
        "created": before is None,
        "table_created": table_created,
        "before": before,
        "table": spec.table,
        "value": value,
        "sha256": w.write(relative, _dump(data)),
    }
    (w.outcome.created if before is None else w.outcome.updated).append(relative)
    w.outcome.mcp.append(relative)


def put(w: Writer, relative: str, raw: bytes | None, spec: McpFile, create_only: bool) -> None:
    """Register sdd's server in ``relative``, whose bytes are ``raw`` (None: no file yet)."""
    entry = w.files.get(relative)
    value = dict(spec.entry)
    if raw is None:
        fresh: dict[str, Any] = dict(spec.skeleton)
        fresh[spec.table] = {SERVER: value}
        _record(w, relative, fresh, spec, value, before=None, table_created=True)
        return
    text = decode(raw)
    if text is None:
        w.undecodable(relative)
        return
    data = _loads(text)
    servers = data.get(spec.table) if isinstance(data, dict) else None
    if not isinstance(data, dict) or (servers is not None and not isinstance(servers, dict)):
        w.outcome.skipped.append(relative)
        w.outcome.notes.append(
            f"{relative}: not a plain JSON object with a `{spec.table}` object; "
            f"add the {SERVER} server by hand: {json.dumps(value)}"
        )
        return
    if entry is None:
        if create_only or (servers is not None and SERVER in servers):
            w.outcome.skipped.append(relative)
            if servers is not None and SERVER in servers and servers[SERVER] != value:
                w.outcome.notes.append(
                    f"{relative}: has its own `{SERVER}` server entry; left as it is"
                )
            return
        table_created = servers is None
        servers = {} if servers is None else servers
        servers[SERVER] = value
        data[spec.table] = servers
        _record(w, relative, data, spec, value, before=text, table_created=table_created)
        return
    if servers is None or servers.get(SERVER) != entry["value"]:
        w.outcome.kept.append(relative)
        return
    w.outcome.mcp.append(relative)
    if create_only or servers[SERVER] == value:
        w.outcome.unchanged.append(relative)
        return
    servers[SERVER] = value
    entry["value"] = value
    entry["sha256"] = w.write(relative, _dump(data))
    w.outcome.updated.append(relative)


def take_out(w: Writer, relative: str, entry: dict[str, Any], raw: bytes, text: str) -> None:
    if sha256(raw) == entry["sha256"]:
        before = entry.get("before")
        if entry.get("created") or before is None:
            w.delete(relative)
            w.outcome.removed.append(relative)
        else:
            w.write(relative, str(before))
            w.outcome.taken_out.append(relative)
        return
    parsed = _loads(text)
    table = str(entry.get("table"))
    servers = parsed.get(table) if isinstance(parsed, dict) else None
    if not isinstance(servers, dict) or servers.get(SERVER) != entry.get("value"):
        w.outcome.kept.append(relative)
        return
    assert isinstance(parsed, dict)
    del servers[SERVER]
    if not servers and entry.get("table_created"):
        del parsed[table]
    w.write(relative, _dump(parsed))
    w.outcome.taken_out.append(relative)
    w.outcome.notes.append(
        f"{relative}: removed the `{SERVER}` server; the file's other changes are kept"
    )

"""The derived cache that keeps `sdd status` and `sdd next` cheap.

It holds the control panel of the default cycle, keyed on the file status of the
history and the config, on the commit at HEAD (the evidence at HEAD is part of the panel) (and of the files check detection reads, when it decides the
verify checks) and on the documents the panel consulted (with their content hashes). When nothing changed, the panel is read back with ``marshal`` and neither
the history nor any Markdown is parsed. The cache is git-ignored and rebuilt freely.

This module is on the start-up path: standard library built-ins only.
"""

from __future__ import annotations

import marshal
import os
import sys

from sdd import __version__
from sdd.core.gitfiles import head_key

CACHE_VERSION = 2
# A file changed within this window of the cache being written may have changed again
# without its status changing (coarse timestamps): its content is checked instead.
_RACY_NS = 2_000_000_000

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeGuard

    from sdd.core.paths import ProjectPaths


def cache_path(paths: ProjectPaths) -> str:
    tag = f"panel-{__version__}-py{sys.version_info[0]}{sys.version_info[1]}.marshal"
    return paths.cache_file(tag)


def checkpoint_path(paths: ProjectPaths) -> str:
    """Where the head of the fold's checkpoint is kept (``core.checkpoint``)."""
    return paths.cache_file(f"checkpoint-{_tag()}.marshal")


def checkpoint_parts(paths: ProjectPaths) -> str:
    """The folder of the checkpoint's parts, one per cycle (``core.checkpoint_codec``)."""
    return paths.cache_file(f"checkpoint-{_tag()}.parts")


def _tag() -> str:
    # marshal's format is the interpreter's: another Python reads another file
    return f"{__version__}-py{sys.version_info[0]}{sys.version_info[1]}"


def file_key(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    # The change time too: an edit in place whose size and mtime were put back (os.utime)
    # still changes it, and no process can set it.
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]


def history_key(paths: ProjectPaths) -> list[Any]:
    """The file status of every history file (the format-1 file and each segment), newest
    last: a new segment, an append, an edit or a removal changes it."""
    key: list[Any] = [file_key(paths.history)]
    try:
        entries = sorted(os.scandir(paths.history_dir), key=lambda e: e.name)
    except OSError:
        return key
    for entry in entries:
        try:
            st = entry.stat()
        except OSError:
            continue
        key.append([entry.name, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns])
    return key


def _newest(key: list[Any]) -> int:
    """The latest modification time in a history key (0 when there is none)."""
    times = [k[1] for k in key[:1] if k] + [k[2] for k in key[1:]]
    return max(times, default=0)


def read(paths: ProjectPaths, *, documents: bool = True) -> dict[str, Any] | None:
    """The cached entry when it is still valid, else None. With ``documents=False`` only the
    history and the config are compared: enough for what follows from them alone."""
    try:
        with open(cache_path(paths), "rb") as handle:
            entry = marshal.load(handle)  # refuses nesting past 2000 levels (ValueError)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not _well_formed(entry):
        return None  # damaged or written by hand: the caller rebuilds it
    written = entry["written"]
    history = history_key(paths)
    if history != entry["history"] or _newest(history) >= written - _RACY_NS:
        return None
    if entry.get("head") != head_key(paths.root):
        return None
    inputs = [(os.path.join(paths.root, rel), key) for rel, key in entry["inputs"].items()]
    for path, key in ((paths.config, entry["config"]), *inputs):
        now = file_key(path)
        if now != key or (now is not None and now[1] >= written - _RACY_NS):
            return None
    if not documents:
        return entry
    for relative, (key, digest) in entry["docs"].items():
        now = file_key(os.path.join(paths.root, relative))
        if now == key and (now is None or now[1] < written - _RACY_NS):
            continue
        from sdd.core.files import content_hash

        if content_hash(os.path.join(paths.root, relative)) != digest:
            return None
    return entry


_SHAPE = {
    "version": int,
    "written": int,
    "docs": dict,
    "tracker_text": str,
    "panel": dict,
    "panel_json": str,
    "next_json": str,
}

# What the renderers read at the top of a panel (its full shape is the tracker's).
_PANEL_SHAPE = {
    "stages": list,
    "gates": list,
    "sessions": list,
    "problems": list,
    "warnings": list,
    "next": dict,
}


def _well_formed(entry: object) -> TypeGuard[dict[str, Any]]:
    """The entry sdd writes: its keys, their types, and a panel as shallow as one sdd makes
    (a panel nested deep would be walked recursively by the renderer)."""
    if not isinstance(entry, dict) or entry.get("version") != CACHE_VERSION:
        return False
    for key, kind in _SHAPE.items():
        if not isinstance(entry.get(key), kind):
            return False
    for key in ("config", "tracker"):
        if not _is_file_key(entry.get(key)):
            return False
    if not _is_history_key(entry.get("history")):
        return False
    if not isinstance(entry.get("head"), (str, type(None))):
        return False
    inputs = entry.get("inputs")
    if not isinstance(inputs, dict) or not all(_is_file_key(v) for v in inputs.values()):
        return False
    for relative, value in entry["docs"].items():
        if not (
            isinstance(relative, str)
            and isinstance(value, list)
            and len(value) == 2
            and _is_file_key(value[0])
            and isinstance(value[1], (str, type(None)))
        ):
            return False
    panel = entry["panel"]
    for key, kind in _PANEL_SHAPE.items():
        if not isinstance(panel.get(key), kind):
            return False
    from sdd.core.nesting import deeper_than

    return not deeper_than(panel)


def _is_history_key(value: object) -> bool:
    """What ``history_key`` makes: the format-1 file's key, then [name, size, mtime, inode,
    ctime] for each segment."""
    if not isinstance(value, list) or not value or not _is_file_key(value[0]):
        return False
    return all(
        isinstance(k, list)
        and len(k) == 5
        and isinstance(k[0], str)
        and all(type(v) is int for v in k[1:])
        for k in value[1:]
    )


def _is_file_key(value: object) -> bool:
    return value is None or (
        isinstance(value, list) and len(value) == 4 and all(type(v) is int for v in value)
    )


def write(paths: ProjectPaths, entry: dict[str, Any]) -> None:
    from sdd.core import files

    entry["version"] = CACHE_VERSION
    # The cache is an optimisation: failing to write it is harmless. (contextlib.suppress
    # would cost an import on the start-up path.)
    try:  # noqa: SIM105
        # Without a flush to disk: a cache lost to a crash is rebuilt from the history.
        files.write_atomic(cache_path(paths), marshal.dumps(entry), flush=False)
    except Exception:
        pass

"""The derived cache that keeps `sdd status` and `sdd next` cheap.

It holds the control panel of the default cycle, keyed on the file status of the
history and the config (and of the files check detection reads, when it decides the
verify checks) and on the documents the panel consulted (with their content hashes). When nothing changed, the panel is read back with ``marshal`` and neither
the history nor any Markdown is parsed. The cache is git-ignored and rebuilt freely.

This module is on the start-up path: standard library built-ins only.
"""

from __future__ import annotations

import marshal
import os
import sys

from sdd import __version__

CACHE_VERSION = 2
# A file changed within this window of the cache being written may have changed again
# without its status changing (coarse timestamps): its content is checked instead.
_RACY_NS = 2_000_000_000

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.paths import ProjectPaths


def cache_path(paths: ProjectPaths) -> str:
    tag = f"panel-{__version__}-py{sys.version_info[0]}{sys.version_info[1]}.marshal"
    return paths.cache_file(tag)


def file_key(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def read(paths: ProjectPaths, *, documents: bool = True) -> dict[str, Any] | None:
    """The cached entry when it is still valid, else None. With ``documents=False`` only the
    history and the config are compared: enough for what follows from them alone."""
    try:
        with open(cache_path(paths), "rb") as handle:
            entry = marshal.load(handle)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not isinstance(entry, dict) or entry.get("version") != CACHE_VERSION:
        return None
    written = entry["written"]
    inputs = [(os.path.join(paths.root, rel), key) for rel, key in entry["inputs"].items()]
    for path, key in (
        (paths.history, entry["history"]),
        (paths.config, entry["config"]),
        *inputs,
    ):
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


def write(paths: ProjectPaths, entry: dict[str, Any]) -> None:
    from sdd.core import files

    entry["version"] = CACHE_VERSION
    # The cache is an optimisation: failing to write it is harmless. (contextlib.suppress
    # would cost an import on the start-up path.)
    try:  # noqa: SIM105
        files.write_atomic(cache_path(paths), marshal.dumps(entry))
    except Exception:
        pass

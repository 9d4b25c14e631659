"""How to add an optional extra to this copy of sdd, from the source it was installed from.

The distribution is named ``session-driven-development`` (the command stays ``sdd``; the
name ``sdd`` on PyPI belongs to an unrelated project). It is not published yet, so no message
sends a user to a package index: a name nobody owns yet is a name anybody can take. A hint
names the source pip recorded at install time (PEP 610's ``direct_url.json``) or, when none
was recorded, says how to install from a clone. Only error paths call this.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DISTRIBUTION = "session-driven-development"


def install_hint(extra: str) -> str:
    """The command that installs ``extra`` (e.g. ``"mcp"``) for the interpreter running sdd."""
    import shlex
    import sys

    target = _recorded_source(extra)
    if target is None:
        return f"in a clone of sdd's source: pip install '.[{extra}]'"
    return f"{shlex.quote(sys.executable)} -m pip install {target}"


def direct_url() -> dict[str, Any] | None:
    """Where pip installed this sdd from (PEP 610's direct_url.json), when it recorded a url."""
    from importlib import metadata

    from sdd.core.nesting import json_value

    try:
        text = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
        origin = json_value(text) if text else None
    except (metadata.PackageNotFoundError, ValueError):
        return None
    if not isinstance(origin, dict) or not isinstance(origin.get("url"), str):
        return None
    return origin


def _recorded_source(extra: str) -> str | None:
    """pip's arguments for ``extra`` from the recorded source, or None when none is known."""
    import shlex

    origin = direct_url()
    if origin is None:
        return None
    url: str = origin["url"]
    subdirectory = origin.get("subdirectory")
    directory = origin.get("dir_info")
    if isinstance(directory, dict):  # a local folder (a clone), editable or not
        if not url.startswith("file:"):
            return None
        from urllib.parse import urlsplit
        from urllib.request import url2pathname

        folder = url2pathname(urlsplit(url).path)
        if isinstance(subdirectory, str):
            folder = f"{folder.rstrip('/')}/{subdirectory}"
        editable = "-e " if directory.get("editable") else ""
        return f"{editable}{shlex.quote(f'{folder}[{extra}]')}"
    vcs = origin.get("vcs_info")
    if isinstance(vcs, dict):  # a repository URL, at the revision it was installed from
        revision = vcs.get("requested_revision") or vcs.get("commit_id")
        url = f"{vcs.get('vcs', 'git')}+{url}" + (f"@{revision}" if revision else "")
    # Otherwise archive_info: the wheel or source archive itself, by path or URL.
    if isinstance(subdirectory, str):
        url += f"#subdirectory={subdirectory}"
    return shlex.quote(f"{DISTRIBUTION}[{extra}] @ {url}")

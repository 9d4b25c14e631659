"""A task's scope: the files and folders the plan lets its implement session change.

A plan's task names them in a `Scope:` field (`src/reset/, tests/test_reset.py`). A task
without one (a plan written before the field existed), a fix session and a session that
reworks after a rejection get the default: the whole tree outside ``docs/`` and ``.sdd/``.
Documents and sdd's own files are no task's work unless its scope names them.
"""

from __future__ import annotations

import fnmatch
import re

OUTSIDE_DOCS = ("docs/", ".sdd/")
DEFAULT_TEXT = "the tree outside docs/ and .sdd/"
_GLOB = re.compile(r"[*?\[]")


def entries(value: str) -> list[str]:
    """The raw entries of a `Scope:` field (comma-separated, backticks allowed)."""
    if value.strip().casefold() in ("", "none", "-"):
        return []
    return [part.strip().strip("`").strip() for part in value.split(",") if part.strip("` ")]


def problem(entry: str) -> str | None:
    """Why ``entry`` cannot be a scope entry, or None: it must be a relative path that stays
    inside the project."""
    if not entry:
        return "an empty entry"
    if entry.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", entry):
        return "must be a path relative to the project, not an absolute one"
    if "\\" in entry:
        return "must use `/` between folders"
    if ".." in entry.split("/"):
        return "must stay inside the project (no `..`)"
    return None


def normal(entry: str) -> str:
    """``./src/`` → ``src``; ``.`` stays ``.`` (the whole project)."""
    parts = [p for p in entry.split("/") if p not in ("", ".")]
    return "/".join(parts) or "."


def covers(scope: list[str] | None, path: str) -> bool:
    """Whether ``path`` (project-relative, `/`-separated) is inside ``scope`` (None: the default)."""
    if not scope:
        return not path.startswith(OUTSIDE_DOCS)
    for raw in scope:
        entry = normal(raw)
        if entry == ".":
            return True
        if _GLOB.search(entry):
            if fnmatch.fnmatchcase(path, entry) or fnmatch.fnmatchcase(path, entry + "/*"):
                return True
        elif path == entry or path.startswith(entry + "/"):
            return True
    return False


def describe(scope: list[str] | None) -> str:
    return ", ".join(f"`{e}`" for e in scope) if scope else DEFAULT_TEXT

"""Bounded nesting for everything sdd parses (the config, the history, the agents manifest,
an agent's output, the caches): anyone may have written those files, and a value nested
thousands of levels deep must be an error that names the file, never a RecursionError in
whatever walks the value next.

On the start-up path (the cache checks its panel with :func:`deeper_than`): builtins only
at import time; json and tomllib are imported by the functions that parse.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# sdd's own files are a few levels deep; a person's settings files (.mcp.json …) rarely ten.
MAX_DEPTH = 64


class TooDeep(ValueError):
    """Nested deeper than :data:`MAX_DEPTH`. A ValueError, so every caller that already
    turns "not valid JSON" into a message names the file for this too."""

    def __init__(self, line: int | None = None) -> None:
        where = f" (line {line})" if line else ""
        super().__init__(f"nested more than {MAX_DEPTH} levels deep{where}")
        self.line = line


def deeper_than(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and dicts in ``value`` nest more than ``limit`` levels (no recursion):
    ``[[]]`` is two levels, and so is a TOML table holding a list."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def json_value(text: str | bytes) -> Any:
    """``json.loads(text)``, refusing nesting deeper than :data:`MAX_DEPTH` (TooDeep).
    It reads every line of the history: it costs two ``count`` calls more than json."""
    global _loads
    if _loads is None:
        import json

        _loads = json.loads
    try:
        value = _loads(text)
    except RecursionError:
        raise _too_deep(text) from None
    # Depth is at most the number of brackets: the walk is needed only past the limit.
    if isinstance(text, bytes):
        brackets = text.count(b"[") + text.count(b"{")
    else:
        brackets = text.count("[") + text.count("{")
    if brackets > MAX_DEPTH and deeper_than(value):
        raise _too_deep(text)
    return value


_loads: Callable[[str | bytes], Any] | None = None  # json.loads, once json is imported


def toml_table(text: str) -> dict[str, Any]:
    """``tomllib.loads(text)``, refusing nesting deeper than :data:`MAX_DEPTH` (TooDeep):
    brackets, inline tables, dotted keys and table headers alike. The plain TOML sdd writes
    is read without importing tomllib (``core.toml_plain``: the same answer, or none)."""
    from sdd.core import toml_plain

    plain = toml_plain.parse(text)
    if plain is not None:
        if deeper_than(plain):
            raise _too_deep(text, toml=True)
        return plain
    import tomllib

    try:
        value = tomllib.loads(text)
    except RecursionError:
        raise _too_deep(text, toml=True) from None
    if deeper_than(value):
        raise _too_deep(text, toml=True)
    return value


def _too_deep(text: str | bytes, *, toml: bool = False) -> TooDeep:
    """The error for ``text``, with its line when the text has several (a file, not a record)."""
    several = (b"\n" if isinstance(text, bytes) else "\n") in text.strip()  # type: ignore[operator]
    return TooDeep(deepest_line(text, toml=toml) if several else None)


def deepest_line(text: str | bytes, *, toml: bool = False) -> int | None:
    """The line where brackets first nest past the limit (outside strings and, in TOML,
    comments), for the error message; None when it is the keys that nest (dotted keys)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    depth, line, quote, index = (1 if toml else 0), 1, "", 0  # a TOML file is a table
    while index < len(text):
        char = text[index]
        if char == "\n":
            line += 1
        if quote:
            if char == "\\" and quote == '"':
                index += 1  # the escaped character is part of the string
            elif char == quote:
                quote = ""
        elif char == '"' or (toml and char == "'"):
            quote = char
        elif toml and char == "#":
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif char in "]}":
            depth -= 1
        index += 1
    return None

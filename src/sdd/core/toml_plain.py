"""The plain TOML that sdd's own config is written in, read without ``tomllib``.

Importing ``tomllib`` costs every command that reads the config about three quarters of a
bare interpreter's start (it brings ``typing``, ``datetime``, ``string`` and compiles its
regular expressions), and the config is read by nearly every command. :func:`parse` reads a
strict subset, line by line, with ``str`` methods only:

- blank lines and comments; a ``[table]`` or ``[[array.of.tables]]`` header of bare keys
  (dotted, no spaces), each table at most once;
- ``key = value`` with a bare key, where a value is a basic string without escapes, a literal
  string, a decimal integer without underscores, ``true``, ``false``, or a one-line array of
  those; a comment may follow.

Anything else — or anything in that shape that TOML forbids (a key given twice, a header
naming a value) — returns None, and the caller parses the text with ``tomllib``, which gives
the answer or the error. So this never decides what a file means on its own: it answers
only where its answer is ``tomllib``'s (tests/test_toml_plain.py compares the two on random
documents), and otherwise says nothing.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_DIGITS = frozenset("0123456789")


class _NotPlain(Exception):
    """The text is outside the subset: ``tomllib`` reads it."""


def parse(text: str) -> dict[str, Any] | None:
    """What ``tomllib.loads(text)`` gives, or None when ``text`` is not plain (see above)."""
    # Control characters other than tab and newline (a CR included) are tomllib's to judge.
    if not text.replace("\n", "").replace("\t", "").isprintable() and _has_control(text):
        return None
    try:
        return _parse(text)
    except _NotPlain:
        return None


def _has_control(text: str) -> bool:
    return any((ord(c) < 0x20 and c not in "\t\n") or c == "\x7f" for c in text)


def _parse(text: str) -> dict[str, Any]:
    root: dict[str, Any] = {}
    current = root
    # Tables a header named (a header may not name one again), and arrays of tables.
    defined: set[int] = set()
    arrays: set[int] = set()
    for line in text.split("\n"):
        stripped = line.strip(" \t")
        if not stripped or stripped[0] == "#":
            continue
        if stripped[0] == "[":
            current = _header(root, stripped, defined, arrays)
            continue
        key, sep, rest = stripped.partition("=")
        key = key.rstrip(" \t")
        if not sep or not key or not _is_bare(key):
            raise _NotPlain
        if key in current:
            raise _NotPlain  # a key given twice: tomllib's error
        value, rest = _value(rest.lstrip(" \t"))
        _end(rest)
        current[key] = value
    return root


def _header(root: dict[str, Any], line: str, defined: set[int], arrays: set[int]) -> dict[str, Any]:
    array = line.startswith("[[")
    close = line.find("]]" if array else "]")
    if close < 0:
        raise _NotPlain
    name = line[2 if array else 1 : close]
    _end(line[close + (2 if array else 1) :])
    keys = name.split(".")
    if not all(_is_bare(k) for k in keys):
        raise _NotPlain
    table = root
    for key in keys[:-1]:
        child = table.get(key)
        if child is None:
            child = table[key] = {}
        elif not isinstance(child, dict):
            raise _NotPlain  # into an array of tables, or a value: tomllib's
        table = child
    last = keys[-1]
    existing = table.get(last)
    if array:
        if existing is None:
            existing = table[last] = []
            arrays.add(id(existing))
        elif id(existing) not in arrays:
            raise _NotPlain
        made: dict[str, Any] = {}
        existing.append(made)
        defined.add(id(made))
        return made
    if existing is None:
        existing = table[last] = {}
    elif not isinstance(existing, dict) or id(existing) in defined:
        raise _NotPlain
    elif any(not isinstance(v, dict) for v in existing.values()):
        raise _NotPlain  # only its sub-tables exist so far: defining it later is tomllib's
    defined.add(id(existing))
    return existing


def _value(text: str) -> tuple[Any, str]:
    """The value at the start of ``text``, and what follows it."""
    if not text:
        raise _NotPlain
    first = text[0]
    if first == '"':
        end = text.find('"', 1)
        if end < 0 or "\\" in text[1:end] or text.startswith('"""'):
            raise _NotPlain
        return text[1:end], text[end + 1 :]
    if first == "'":
        end = text.find("'", 1)
        if end < 0 or text.startswith("'''"):
            raise _NotPlain
        return text[1:end], text[end + 1 :]
    if first == "[":
        return _array(text[1:])
    word = text
    for index, char in enumerate(text):
        if char in " \t,]#":
            word = text[:index]
            break
    rest = text[len(word) :]
    if word == "true":
        return True, rest
    if word == "false":
        return False, rest
    digits = word[1:] if word[:1] in "+-" else word
    if (
        not digits
        or not set(digits) <= _DIGITS
        or (len(digits) > 1 and digits[0] == "0")
        or len(digits) > 18  # within 64 bits: a larger one is tomllib's to judge
    ):
        raise _NotPlain  # floats, dates, hex, underscores, leading zeros: tomllib's
    return int(word), rest


def _array(text: str) -> tuple[list[Any], str]:
    items: list[Any] = []
    while True:
        text = text.lstrip(" \t")
        if text[:1] == "]":
            return items, text[1:]
        if text[:1] in ("[", "#", ""):
            raise _NotPlain  # nested, commented or over several lines: tomllib's
        value, text = _value(text)
        items.append(value)
        text = text.lstrip(" \t")
        if text[:1] == ",":
            text = text[1:]
        elif text[:1] != "]":
            raise _NotPlain


def _end(rest: str) -> None:
    """What may follow a value or a header: spaces, then nothing or a comment."""
    rest = rest.lstrip(" \t")
    if rest and rest[0] != "#":
        raise _NotPlain


def _is_bare(key: str) -> bool:
    return bool(key) and set(key) <= _BARE

"""Unique, time-ordered record ids (ULID layout: 48-bit milliseconds + 80 random bits).

Ids sort by time as strings, so the state folds records in id order whatever order
a git union merge left them in the file.
"""

from __future__ import annotations

import os

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_LENGTH = 26


def _encode(value: int) -> str:
    chars = []
    for _ in range(_LENGTH):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _decode(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + _ALPHABET.index(char)
    return value


def is_valid(text: object) -> bool:
    # str.strip drops every alphabet character from both ends: nothing left, all valid
    # (in C: this runs for every record each time the history is read).
    return isinstance(text, str) and len(text) == _LENGTH and not text.strip(_ALPHABET)


def new_id(seconds: float, after: str | None = None) -> str:
    """A fresh id for time ``seconds``, strictly greater than ``after`` when given."""
    millis = int(seconds * 1000) & ((1 << 48) - 1)
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    if after is not None and is_valid(after):
        floor = _decode(after)
        if value <= floor:
            value = floor + 1 + (int.from_bytes(os.urandom(4), "big"))
    return _encode(value)


def millis_of(record_id: str) -> int:
    return _decode(record_id) >> 80

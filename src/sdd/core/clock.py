"""The one clock. Tests set ``SDD_NOW`` (ISO 8601 or seconds since the epoch)."""

from __future__ import annotations

import os
import time


def now() -> float:
    """Seconds since the epoch, from ``SDD_NOW`` when set, else the system clock."""
    fixed = os.environ.get("SDD_NOW")
    if fixed:
        return parse_time(fixed)
    return time.time()


def parse_time(text: str) -> float:
    from sdd.core.errors import UsageError

    if "T" not in text:  # an ISO time has a T; only other text may be a number (no exception cost)
        try:
            return float(text)
        except ValueError:
            pass
    import datetime as dt

    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"SDD_NOW: not a time: {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def iso(seconds: float) -> str:
    """UTC time as ``2026-11-25T15:04:05Z`` (second precision, sortable)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))

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


def refuse_override(reason: str) -> None:
    """Refuse ``SDD_NOW`` where a record's time must be the real one: call it before
    recording anything in a project with approvers (``reason`` says that), so a person's
    act, or what it covers, can never be dated at will. Raises Refused when it is set."""
    fixed = os.environ.get("SDD_NOW")
    if not fixed:
        return
    from sdd.core.errors import Refused

    raise Refused(
        f"SDD_NOW={fixed[:40]!r} is set, and {reason}: the clock override is refused here",
        hint="unset SDD_NOW (it is for sdd's own tests); records here carry the real time",
    )


def parse_time(text: str) -> float:
    from sdd.core.errors import UsageError

    if "T" not in text:  # an ISO time has a T; only other text may be a number (no exception cost)
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            # nan, inf and 1e308 are floats too, but no time a record can carry.
            if not 0 <= number < _YEAR_10000:
                raise UsageError(f"SDD_NOW: not a time between 1970 and 9999: {text!r}")
            return number
    import datetime as dt

    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"SDD_NOW: not a time: {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


_YEAR_10000 = 253_402_300_800  # seconds since the epoch


# The longest wait sdd accepts, for a check or an agent session: a day. Past it a timeout
# is a typo, and 1e308 or inf would overflow the clocks that wait on it.
MAX_SECONDS = 86_400
SECONDS_RULE = f"a number of seconds above 0, at most {MAX_SECONDS} (a day)"


def duration(value: object) -> float:
    """``value`` as a timeout: a finite number above 0, at most :data:`MAX_SECONDS`. Raises
    ValueError (text: :data:`SECONDS_RULE`) for anything else: nan, inf, 1e308, true, "10"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(SECONDS_RULE)
    # Written so that nan, which compares false with everything, fails it too.
    if not 0 < value <= MAX_SECONDS:
        raise ValueError(SECONDS_RULE)
    return float(value)


def iso(seconds: float) -> str:
    """UTC time as ``2026-11-25T15:04:05Z`` (second precision, sortable)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))

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


def seconds_of(stamp: str) -> float | None:
    """The time of an ISO stamp, None when it is not one. What ``iso`` writes is read here by
    arithmetic (importing datetime costs a page of the dashboard more than drawing it);
    anything else (an offset, a fraction, a stamp written by hand) by datetime, as before."""
    digits = stamp[0:4] + stamp[5:7] + stamp[8:10] + stamp[11:13] + stamp[14:16] + stamp[17:19]
    if (
        len(stamp) == 20
        and stamp[4] + stamp[7] + stamp[10] + stamp[13] + stamp[16] + stamp[19] == "--T::Z"
        and digits.isascii()
        and digits.isdigit()
    ):
        year, month, day = int(digits[0:4]), int(digits[4:6]), int(digits[6:8])
        hour, minute, second = int(digits[8:10]), int(digits[10:12]), int(digits[12:14])
        valid_date = year >= 1 and 1 <= month <= 12 and 1 <= day <= _month_days(year, month)
        if valid_date and hour < 24 and minute < 60 and second < 60:
            return float(
                _civil_days(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
            )
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(stamp).timestamp()  # 3.11 reads a trailing Z itself
    except (ValueError, OverflowError, OSError):
        return None


def _month_days(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _civil_days(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to that date of the proleptic Gregorian calendar."""
    year -= month <= 2
    era = year // 400
    of_era = year - era * 400
    of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146_097 + of_era * 365 + of_era // 4 - of_era // 100 + of_year - 719_468


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

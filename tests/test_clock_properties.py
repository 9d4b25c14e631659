"""`clock.seconds_of` reads the stamps sdd writes by arithmetic, not datetime: for every
time, the stamp `clock.iso` writes reads back as datetime reads it, and any other text
reads as datetime reads it (or not at all where datetime refuses it)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from sdd.core import clock

TIMES = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)
)


def _datetime_reads(stamp: str) -> float | None:
    try:
        return dt.datetime.fromisoformat(stamp).timestamp()
    except (ValueError, OverflowError, OSError):
        return None


@given(TIMES)
def test_a_stamp_sdd_writes_reads_back_as_datetime_reads_it(when: dt.datetime) -> None:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert clock.seconds_of(stamp) == _datetime_reads(stamp)
    if when.year >= 1970:
        assert clock.iso(clock.seconds_of(stamp) or 0.0) == stamp


@given(
    st.text(alphabet="0123456789-T:Z+. ²", min_size=18, max_size=22)
    | st.from_regex(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")
)
def test_any_other_text_reads_as_datetime_reads_it(stamp: str) -> None:
    assert clock.seconds_of(stamp) == _datetime_reads(stamp)

"""How the history's lines are read (``core.history``): many at a time, as one JSON array with
a random number between them, and still each exactly as ``json.loads`` reads it alone.
Lines that parse only when read together, a line nested too deep, one ``json.loads`` would
read in another encoding: refused or read as before, naming the line."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdd.core import history
from sdd.core.errors import StateError

AT = 1_700_000_000.0

VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**100), max_value=2**100)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),  # lone surrogates, newlines, quotes, brackets
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


def _lines(fields: list[dict[str, object]]) -> list[bytes]:
    records: list[bytes] = []
    heads: list[str] = []
    last = None
    for number, extra in enumerate(fields):
        record = history.new_record("finding.add", extra, parents=heads, at=AT + number, after=last)
        records.append(history.line_of(record))
        heads, last = [record["hash"]], record["id"]
    return records


@settings(max_examples=60, deadline=None, database=None)
@given(
    fields=st.lists(st.dictionaries(st.sampled_from(["text", "n", "x"]), VALUES), max_size=8),
    blanks=st.lists(st.sampled_from([b"", b"  ", b"\t\r"]), max_size=3),
    window=st.sampled_from([1, 300, 1 << 20]),
)
def test_every_line_reads_as_json_reads_it_alone(
    fields: list[dict[str, object]], blanks: list[bytes], window: int
) -> None:
    lines = _lines(fields)
    data = b"".join(lines[:1] + [b + b"\n" for b in blanks] + lines[1:])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(history, "_WINDOW", window)  # lines split across several windows too
        loaded = history.parse(data, "seg.jsonl")
    assert loaded.problems == [] and loaded.warnings == []
    assert loaded.records == [json.loads(line) for line in lines]


def test_lines_that_parse_only_together_are_refused_by_line() -> None:
    first, second = _lines([{"text": "a"}, {"text": "b"}])
    # Read as one text, `{"k":[1` and `2]},{…}` would make two objects; alone, neither parses.
    for halves in ([b'{"k":[1', b"2]},"], [b'{"k":"a', b'b"},']):
        data = first + halves[0] + b"\n" + halves[1] + second
        with pytest.raises(StateError) as caught:
            history.parse(data, "seg.jsonl")
        assert caught.value.message.startswith("seg.jsonl:2: not a valid record")


def test_a_line_nested_too_deep_is_refused_among_good_ones() -> None:
    good = _lines([{"text": "a"}, {"text": "b"}])
    deep = b'{"id":"01JAAAAAAAAAAAAAAAAAAAAAAA","type":"x","a":' + b"[" * 70 + b"]" * 70 + b"}\n"
    with pytest.raises(StateError) as caught:
        history.parse(good[0] + deep + good[1], "seg.jsonl")
    assert caught.value.message.startswith("seg.jsonl:2: not a valid record (nested more than 64")


def test_a_line_json_would_read_in_another_encoding_is_read_as_before() -> None:
    good = _lines([{"text": "a"}, {"text": "b"}])
    # json.loads reads bytes that start with a BOM as UTF-8 without it: the record stands.
    data = good[0] + b"\xef\xbb\xbf" + good[1]
    loaded = history.parse(data, "seg.jsonl")
    assert [r["text"] for r in loaded.records] == ["a", "b"]
    assert loaded.problems == []

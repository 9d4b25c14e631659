"""The record schema is the one list of record kinds: each kind has its fields, a fold
handler and a sentence in `sdd log`, and sdd refuses to write a record that does not
match its kind (so its own doctor never flags what it wrote)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers import history_lines


def _literal_kinds(source: str) -> set[str]:
    """The strings of ``Kind = Literal[...]``, the type mypy checks record kinds by (at run
    time ``Kind`` is ``str``: the module imports typing for mypy only)."""
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["Kind"]
            and isinstance(node.value, ast.Subscript)
        ):
            elements = node.value.slice
            assert isinstance(elements, ast.Tuple)
            return {e.value for e in elements.elts if isinstance(e, ast.Constant)}
    raise AssertionError("records.py defines no Kind = Literal[...]")


def test_every_kind_has_its_fields_a_fold_handler_and_a_sentence_in_the_log() -> None:
    from sdd.core import fold, records
    from sdd.usecases import log

    kinds = _literal_kinds(Path(records.__file__).read_text(encoding="utf-8"))
    assert set(records.SCHEMA) == kinds
    assert set(fold.HANDLERS) == kinds, "a kind without a fold handler"
    assert set(log.DESCRIPTIONS) == kinds, "a kind without a sentence in `sdd log`"


@pytest.mark.parametrize(
    ("fields", "wrong"),
    [
        ({}, "`cycle` is missing"),
        ({"cycle": "1"}, "`cycle` should be a number, not a string"),
        ({"cycle": True}, "`cycle` should be a number, not true or false"),
    ],
)
def test_a_record_that_does_not_match_its_kind_is_never_written(
    project: Path, fields: dict[str, object], wrong: str
) -> None:
    from sdd.project.project import Project

    before = history_lines(project)
    with pytest.raises(ValueError, match=wrong), Project(str(project)).transaction() as tx:
        tx.record("cycle.archive", **fields)
    assert history_lines(project) == before

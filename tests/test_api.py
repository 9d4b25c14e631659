"""The public API (``sdd.api``): every name it exports is the use case itself, loaded the
first time it is used; importing the API loads nothing else; the type checker's list of
names and the run-time table are the same list."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import sdd.api

API = Path(sdd.api.__file__)


def type_checking_names() -> dict[str, tuple[str, str]]:
    """Every name bound under ``if TYPE_CHECKING:`` in sdd/api.py, with where it comes from."""
    tree = ast.parse(API.read_text())
    names: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom) and statement.module
                for alias in statement.names:
                    names[alias.asname or alias.name] = (statement.module, alias.name)
    return names


def test_the_type_checkers_names_are_the_run_time_table() -> None:
    assert type_checking_names() == sdd.api.EXPORTS


def test_every_exported_name_is_the_use_case_itself() -> None:
    for public, (module, name) in sdd.api.EXPORTS.items():
        target = getattr(__import__(module, fromlist=[name]), name)
        assert getattr(sdd.api, public) is target, public


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        sdd.api.no_such_thing  # noqa: B018 - the access is the test
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("an unknown name must not resolve")


def test_importing_the_api_loads_no_other_part_of_sdd() -> None:
    code = "import sys, sdd.api; print(sorted(m for m in sys.modules if m.startswith('sdd')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['sdd', 'sdd.api']"

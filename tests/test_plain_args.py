"""`cli.plain_args` reads a plain command line without argparse: for random lines of every
command (its options, their values, choices, free words, and what is not plain: `--`, `-h`,
abbreviations, `--opt=value`, values that start with `-`, refused choices and numbers), what
it returns equals what argparse parses, as `sdd` itself takes argparse's answer (free text
after `sdd findings`' options included); and the lines the benchmarks and agents type are
read by it."""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import imported
from sdd.cli.main import COMMANDS
from sdd.cli.parser import build_parser
from sdd.cli.plain_args import parse_plain

ARGPARSED = sorted(set(COMMANDS) - {"mcp"})
WORDS = ["implement", "review", "T1", "F-2", "x", "a typo", "", "1", "0", "3", "-1", "add", "list"]
NOT_PLAIN = ["--", "-h", "--help", "--js", "--json=1", "-x", "--cycle=2"]


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser(name)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise AssertionError(name)


def _pieces(name: str) -> list[tuple[str, ...]]:
    """What a line of ``name`` is made of: each option with a value it may take, each
    positional's choices and free words, and what is not plain."""
    pieces: list[tuple[str, ...]] = [(word,) for word in WORDS + NOT_PLAIN]
    for action in _subparser(name)._actions:
        values = [str(c) for c in action.choices or ()] or WORDS
        for option in action.option_strings:
            if option in ("-h", "--help"):
                continue
            if action.nargs == 0:
                pieces.append((option,))
            else:
                pieces += [(option, value) for value in values[:6]]
        if not action.option_strings:
            pieces += [(value,) for value in values]
    return pieces


def _as_sdd_parses(args: list[str]) -> dict[str, Any] | None:
    """What `sdd` takes from argparse for ``args`` (cli.main's rule for extras), or None
    where argparse refuses the line."""
    parser = build_parser(args[0])
    sink = io.StringIO()
    try:
        with contextlib.redirect_stderr(sink), contextlib.redirect_stdout(sink):
            namespace, extra = parser.parse_known_args(args)
            if extra:
                if namespace.command == "findings" and not any(e.startswith("-") for e in extra):
                    namespace.text = [*namespace.text, *extra]
                else:
                    parser.parse_args(args)
                    return None
    except SystemExit:
        return None
    return vars(namespace)


@st.composite
def lines(draw: Any) -> list[str]:
    name = draw(st.sampled_from(ARGPARSED))
    chosen = draw(st.lists(st.sampled_from(_pieces(name)), max_size=5))
    return [name, *(token for piece in chosen for token in piece)]


@settings(max_examples=1500, deadline=None)
@given(lines())
def test_a_plain_line_is_read_as_argparse_reads_it(args: list[str]) -> None:
    plain = parse_plain(args)
    if plain is not None:
        assert vars(plain) == _as_sdd_parses(args)


@pytest.mark.parametrize(
    "args",
    [
        ["prompt", "implement"],
        ["tasks"],
        ["check"],
        ["dashboard", "--out", "page.html"],
        ["findings", "add", "--severity", "minor", "--stage", "review", "bench"],
        ["findings", "add", "a typo", "--severity", "minor"],
        ["start", "review"],
        ["start", "implement", "--task", "T1", "--json"],
        ["abandon", "--reason", "bench"],
        ["done"],
        ["log", "--limit", "5"],
        ["approvers", "add", "--role", "qa", "--role", "ops", "--key", "k.pub"],
    ],
)
def test_the_lines_people_and_agents_type_are_read_without_argparse(args: list[str]) -> None:
    plain = parse_plain(args)
    assert plain is not None and vars(plain) == _as_sdd_parses(args)


@pytest.mark.parametrize(
    "args",
    [["prompt", "--help"], ["log", "--limit", "0"], ["reject", "spec-approval"], ["ci", "check"]],
)
def test_what_is_not_plain_is_left_to_argparse(args: list[str]) -> None:
    assert parse_plain(args) is None


def test_a_plain_command_never_imports_argparse(project: Path) -> None:
    loaded = imported(project, "findings", "add", "--severity", "minor", "--stage", "spec", "x")
    assert "argparse" not in loaded

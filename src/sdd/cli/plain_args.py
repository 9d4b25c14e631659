"""A plain command line parsed without argparse, from the same declarations (``cli.parser``).

Importing argparse (with gettext and locale) and building a command's arguments costs a
command a fifth of a bare interpreter's start-up. Most command lines are plain: the
command, its positionals in one run, options spelled out in full. This reads those and
gives the namespace argparse would give; for anything else (help, an abbreviation,
``--opt=value``, ``--``, a value that starts with ``-``, a refused choice or type, a
missing argument, positionals on both sides of an option, a command with sub-commands) it
returns None, and argparse parses the line and says what is wrong
(tests/test_plain_args.py holds the two side by side).
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from sdd.cli.parser import declare

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_PATTERNS = {None: "A", "?": "A?", "*": "A*", "+": "A+"}


class _Declined(Exception):
    """The line is not plain: argparse parses it."""


class _Argument:
    __slots__ = ("action", "choices", "default", "dest", "nargs", "options", "required", "type")

    def __init__(self, names: tuple[str, ...], kwargs: dict[str, Any]) -> None:
        self.options = tuple(n for n in names if n.startswith("-"))
        if self.options:
            first = next((n for n in self.options if n.startswith("--")), self.options[0])
            self.dest = kwargs.get("dest") or first.lstrip("-").replace("-", "_")
        else:
            self.dest = kwargs.get("dest") or names[0]
        self.action = kwargs.get("action", "store")
        self.nargs = kwargs.get("nargs")
        self.choices = kwargs.get("choices")
        self.type = kwargs.get("type")
        self.required = bool(kwargs.get("required", False))
        default = kwargs.get("default")
        self.default = False if self.action == "store_true" and default is None else default
        if self.action not in ("store", "store_true", "append") or (
            self.options and self.nargs is not None
        ):
            raise _Declined  # a form this reader does not know (version, counts, nargs options)

    def value(self, text: str) -> Any:
        try:
            made = text if self.type is None else self.type(text)
        except Exception:  # argparse turns it into its message
            raise _Declined from None
        if self.choices is not None and made not in self.choices:
            raise _Declined
        return made


class _Command:
    """Stands in for one command's argparse parser: records what it is declared with."""

    def __init__(self) -> None:
        self.arguments: list[_Argument] = []
        self.nested = False

    def add_argument(self, *names: str, **kwargs: Any) -> None:
        self.arguments.append(_Argument(names, kwargs))

    def add_subparsers(self, **kwargs: Any) -> Any:
        self.nested = True  # sub-commands (`sdd ci check`): argparse's
        return _Commands()

    def parse(self, tokens: list[str], *, extras_to: str | None) -> dict[str, Any]:
        """The values of ``tokens``; words argparse would leave over go to the positional
        ``extras_to`` (as `sdd findings` takes free text after its options), else decline."""
        if self.nested:
            raise _Declined
        options = {name: a for a in self.arguments for name in a.options}
        values: dict[str, Any] = {a.dest: a.default for a in self.arguments if a.options}
        seen: set[str] = set()
        runs: list[list[str]] = [[]]  # the positionals between options, as argparse sees them
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if not token.startswith("-"):
                runs[-1].append(token)
            elif (argument := options.get(token)) is None:
                raise _Declined
            else:
                if runs[-1]:
                    runs.append([])
                if argument.action == "store_true":
                    values[argument.dest] = True
                else:
                    index += 1
                    if index == len(tokens) or tokens[index].startswith("-"):
                        raise _Declined
                    made = argument.value(tokens[index])
                    if argument.action == "append":
                        made = [*(values[argument.dest] or []), made]
                    values[argument.dest] = made
                seen.add(argument.dest)
            index += 1
        for argument in self.arguments:
            if argument.options and argument.dest not in seen:
                if argument.required:
                    raise _Declined
                if isinstance(argument.default, str) and argument.type is not None:
                    values[argument.dest] = argument.value(argument.default)
        left, extras = _consume([a for a in self.arguments if not a.options], runs, values)
        if left:
            raise _Declined  # a positional argparse requires and the line lacks
        if extras:
            if extras_to is None:
                raise _Declined
            values[extras_to] = [*values[extras_to], *extras]
        return values


def _consume(
    arguments: list[_Argument], runs: list[list[str]], values: dict[str, Any]
) -> tuple[list[_Argument], list[str]]:
    """argparse's way with positionals: each run of words before an option takes as many of
    the positionals left as match it (each as much as it can, from the left; a `?` or `*`
    may take nothing), the run at the end of the line (empty or not) likewise; the words no
    positional took are extras. Returns the positionals left and the extras."""
    extras: list[str] = []
    last = len(runs) - 1
    for number, words in enumerate(runs):
        if not words and number != last:
            continue
        taken = _match_partial(arguments, len(words))
        start = 0
        for argument, count in zip(arguments, taken, strict=False):
            values[argument.dest] = _values(argument, words[start : start + count])
            start += count
        arguments = arguments[len(taken) :]
        extras += words[start:]
    return arguments, extras


def _match_partial(arguments: list[_Argument], count: int) -> list[int]:
    """How many words each of the most positionals that match ``count`` words takes."""
    if any(a.nargs not in _PATTERNS for a in arguments):
        raise _Declined
    for size in range(len(arguments), 0, -1):
        pattern = "".join(f"({_PATTERNS[a.nargs]})" for a in arguments[:size])
        match = re.match(pattern, "A" * count)
        if match is not None:
            return [len(group) for group in match.groups()]
    return []


def _values(argument: _Argument, words: list[str]) -> Any:
    """A positional's value from the words it took, as argparse makes it."""
    if argument.nargs is None:
        return argument.value(words[0])
    if argument.nargs == "?":
        if words:
            return argument.value(words[0])
        default = argument.default
        return argument.value(default) if isinstance(default, str) else default
    if words:
        return [argument.value(word) for word in words]
    if argument.choices is not None:
        raise _Declined  # argparse 3.11 checks an empty list against the choices
    return argument.default if argument.default is not None else []


class _Commands:
    """Stands in for argparse's subparsers: the one command asked for."""

    def __init__(self) -> None:
        self.made: dict[str, _Command] = {}

    def add_parser(self, name: str, **kwargs: Any) -> _Command:
        self.made[name] = _Command()
        return self.made[name]


def parse_plain(args: list[str]) -> SimpleNamespace | None:
    """``args`` parsed as argparse parses them, or None when the line is not plain."""
    if not args or args[0].startswith("-"):
        return None
    commands = _Commands()
    built: list[str] = []
    try:
        declare(commands, args[0], built)
        if not built:
            return None
        # Free text may follow `sdd findings`' options, as cli.main lets argparse's extras.
        extras_to = "text" if args[0] == "findings" else None
        values = commands.made[args[0]].parse(args[1:], extras_to=extras_to)
    except _Declined:
        return None
    return SimpleNamespace(command=args[0], **values)

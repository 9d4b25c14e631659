"""The one way out for a command's result: text for a person, or the versioned JSON envelope.

A command is a plain function ``(args, console) -> Reply``. It never looks at ``--json``:
:func:`respond` reads it, gives the command a :class:`Console` (quiet under ``--json``, so
standard output holds the envelope alone), and renders the :class:`Reply` it returns.
On the start-up path of `sdd status`: builtins only at import time.
"""

from __future__ import annotations

import sys

from sdd.cli.handler import ENVELOPE_VERSION, guarded
from sdd.cli.render import Style, use_colour

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Text = Callable[[Style], str] | str | None
    Command = Callable[[Any, "Console"], "Reply"]


class Reply:
    """What a command returns: its result (turned into JSON by ``sdd.core.jsonable``), how it
    reads on a terminal (text, or a function of the style that makes it), its exit code.
    ``json_text`` is the result's JSON already made (the cached control panel)."""

    __slots__ = ("code", "json_text", "result", "shown", "text")

    def __init__(
        self,
        result: Any = None,
        text: Text = None,
        *,
        code: int = 0,
        json_text: str | None = None,
        shown: bool = False,
    ) -> None:
        self.result = result
        self.text = text
        self.code = code
        self.json_text = json_text
        self.shown = shown  # rendered already, while the command ran (a server's address)


class Console:
    """The terminal while a command runs: where progress and dialogues go (standard error),
    and whether it may speak at all (not under ``--json``)."""

    def __init__(self, command: str, as_json: bool) -> None:
        self.command = command
        self.as_json = as_json
        self._style: Style | None = None

    @property
    def style(self) -> Style:
        if self._style is None:
            self._style = Style(use_colour())
        return self._style

    @property
    def chatty(self) -> bool:
        """Whether progress may be printed: a person reads text, and stderr is a terminal."""
        return not self.as_json and sys.stderr.isatty()

    def note(self, text: str) -> None:
        """A line on standard error while the command works (never under ``--json``)."""
        if not self.as_json:
            sys.stderr.write(text.rstrip("\n") + "\n")
            sys.stderr.flush()

    def say(self, text: str) -> None:
        """A line of the command's own output, before its result (never under ``--json``)."""
        if not self.as_json:
            write(text)

    def emit(self, reply: Reply) -> int:
        """Render ``reply`` now: the envelope under ``--json``, else its text."""
        if reply.shown:
            pass
        elif self.as_json:
            data = reply.json_text if reply.json_text is not None else dumps(reply.result)
            sys.stdout.write(
                f'{{"sdd": {ENVELOPE_VERSION}, "command": "{self.command}", "ok": true, '
                f'"data": {data}}}\n'
            )
        else:
            text = reply.text(self.style) if callable(reply.text) else reply.text
            if text is not None:
                write(text)
        sys.stdout.flush()
        return reply.code


def respond(command: str, handler: Command, args: Any) -> int:
    """Run one command and render what it returns; expected failures become messages."""
    as_json = bool(getattr(args, "json", False))
    console = Console(command, as_json)
    return guarded(command, lambda: console.emit(handler(args, console)), as_json=as_json)


def dumps(result: Any) -> str:
    import json

    from sdd.core.jsonable import to_json

    return json.dumps(to_json(result), ensure_ascii=False, sort_keys=True)


def write(text: str) -> None:
    sys.stdout.write(text.rstrip("\n") + "\n")

"""Entry point: parse the command line and dispatch. Nothing else happens here.

`status` and `next` in their plain forms skip argparse entirely: importing it costs
more than the whole command may (DESIGN: tens of milliseconds). Any other plain command
line is read by ``plain_args`` from the parser's own declarations, without argparse. So does `sdd mcp`, whose
own share of an agent's wait for the server is kept small next to the SDK's import.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

_FAST = ("status", "next")

# command -> (module under sdd.cli.commands, function)
COMMANDS = {
    "status": ("panel", "status"),
    "next": ("panel", "next_"),
    "tasks": ("panel", "tasks"),
    "log": ("panel", "log"),
    "prompt": ("sessions", "prompt"),
    "start": ("sessions", "start"),
    "done": ("sessions", "done"),
    "abandon": ("sessions", "abandon"),
    "run": ("sessions", "run"),
    "walkthrough": ("walkthrough", "walkthrough"),
    "approve": ("gates", "approve"),
    "reject": ("gates", "reject"),
    "questions": ("gates", "questions"),
    "approvers": ("gates", "approvers"),
    "rules": ("gates", "rules"),
    "check": ("evidence", "check"),
    "verify": ("evidence", "verify"),
    "findings": ("evidence", "findings"),
    "init": ("cycles", "init"),
    "new": ("cycles", "new"),
    "change": ("cycles", "change"),
    "archive": ("cycles", "archive"),
    "layout": ("cycles", "layout"),
    "release": ("cycles", "release"),
    "postmortem": ("cycles", "postmortem"),
    "agents": ("tools", "agents"),
    "mcp": ("serve", "mcp"),
    "templates": ("tools", "templates"),
    "doctor": ("tools", "doctor"),
    "demo": ("tools", "demo"),
    "dashboard": ("dashboard", "dashboard"),
    "ci": ("ci", "ci"),
    "hooks": ("ci", "hooks"),
}


def _fast_args(args: list[str]) -> object | None:
    """The parsed form of `status|next [--json] [--cycle C]`, or None for anything else."""
    if args == ["mcp"]:
        from types import SimpleNamespace

        return SimpleNamespace(command="mcp", json=False)
    if not args or args[0] not in _FAST:
        return None
    json = False
    cycle = None
    rest = args[1:]
    while rest:
        token = rest.pop(0)
        if token == "--json" and not json:
            json = True
        elif token == "--cycle" and rest and cycle is None and not rest[0].startswith("-"):
            cycle = rest.pop(0)
        else:
            return None
    from types import SimpleNamespace

    return SimpleNamespace(command=args[0], json=json, cycle=cycle)


def _sweep() -> None:
    """After a `sdd run --parallel` that was killed, the next command cleans up after it:
    its sessions recorded as interrupted, their worktrees removed (``usecases.parallel``).
    A stat when there is nothing to clean."""
    import os

    from sdd.core.paths import STATE_DIR, find_root

    root = find_root()
    folder = os.path.join(root, STATE_DIR, "worktrees") if root else None
    if folder is None or not os.path.isdir(folder) or not os.listdir(folder):
        return
    from sdd import api
    from sdd.core.errors import SddError

    try:
        project = api.open_project(root)
        if api.stale_worktrees(project):
            api.sweep_worktrees(project)
    except (SddError, OSError):
        pass  # the command itself says what is wrong with the project


def _dispatch(name: str, args: object) -> int:
    from sdd.cli.output import respond

    _sweep()

    module, function = COMMANDS[name]
    handler = getattr(__import__(f"sdd.cli.commands.{module}", fromlist=[function]), function)
    return respond(name, handler, args)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    for arg in args_list:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            from sdd.cli.handler import show_error
            from sdd.core.errors import EXIT_USAGE, UsageError

            shown = arg.encode("utf-8", "backslashreplace").decode()
            show_error(UsageError(f"an argument is not valid UTF-8: {shown}"))
            return EXIT_USAGE

    fast = _fast_args(args_list)
    if fast is not None:
        return _dispatch(args_list[0], fast)

    from sdd.cli.plain_args import parse_plain

    plain = parse_plain(args_list)
    if plain is not None:
        return _dispatch(plain.command, plain)

    from sdd.cli.parser import build_parser

    first = args_list[0] if args_list and not args_list[0].startswith("-") else None
    parser = build_parser(first)
    if not args_list:
        parser.print_help()
        return 0
    try:
        args, extra = parser.parse_known_args(args_list)
        if extra:
            # Free text may follow the options (`findings add --severity minor "a typo"`).
            if getattr(args, "command", None) == "findings" and not any(
                e.startswith("-") for e in extra
            ):
                args.text = [*args.text, *extra]
            else:
                parser.parse_args(args_list)  # reports the unknown arguments as usual
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return _dispatch(args.command, args)

"""The one error handler: expected failures become messages with DESIGN's exit codes,
crashes become a log file whose path is printed (exit 4), Ctrl-C exits 130."""

from __future__ import annotations

import os
import sys

from sdd.core.errors import EXIT_CRASH, EXIT_INTERRUPTED, SddError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

ENVELOPE_VERSION = 1


def envelope_error(command: str, exc: SddError) -> str:
    import json

    return json.dumps(
        {
            "sdd": ENVELOPE_VERSION,
            "command": command,
            "ok": False,
            "error": {
                "code": exc.exit_code,
                "kind": exc.kind,
                "message": exc.message,
                "hint": exc.hint,
                "details": exc.details,
            },
        },
        ensure_ascii=False,
    )


def error_text(exc: SddError) -> str:
    """The message a person sees for an expected failure (the MCP server sends the same)."""
    label = {"refused": "refused", "usage": "usage"}.get(exc.kind, "error")
    lines = [f"sdd: {label}: {exc.message}"]
    lines += [f"  - {detail}" for detail in exc.details]
    if exc.hint:
        lines.append(f"  → {exc.hint}")
    return "\n".join(lines)


def show_error(exc: SddError) -> None:
    from sdd.cli.render import safe

    sys.stderr.write(safe(error_text(exc)) + "\n")


def _crash_log(command: str) -> str:
    import time
    import traceback

    from sdd import __version__
    from sdd.core.paths import ProjectPaths, find_root, user_state_dir

    root = find_root()
    folder = ProjectPaths(root).logs if root else os.path.join(user_state_dir(), "logs")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, time.strftime("crash-%Y%m%d-%H%M%S.log"))
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"sdd {__version__} · python {sys.version.split()[0]} · argv {sys.argv!r}\n")
        handle.write(f"command: {command}\n\n")
        handle.write(traceback.format_exc())
    return path


def guarded(command: str, body: Callable[[], int], *, as_json: bool = False) -> int:
    try:
        return body()
    except SddError as exc:
        if as_json:
            sys.stdout.write(envelope_error(command, exc) + "\n")
        show_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("\nsdd: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `sdd log | head`); that is not a failure.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception:  # the crash boundary: anything unexpected is logged, never a traceback
        try:
            path = _crash_log(command)
            where = f"details in {path}"
        except Exception:  # even the log failed: still no traceback
            where = "and the crash log could not be written"
        sys.stderr.write(
            f"sdd: crashed unexpectedly ({sys.exc_info()[1].__class__.__name__}); {where}\n"
            "  → please report it with that file\n"
        )
        return EXIT_CRASH

"""The one error handler: expected failures become messages with DESIGN's exit codes,
crashes become a log file whose path is printed (exit 4), Ctrl-C exits 130."""

from __future__ import annotations

import os
import sys

from sdd.core.errors import EXIT_CRASH, EXIT_INTERRUPTED, SddError
from sdd.core.reporting import crash_text, error_text

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


def show_error(exc: SddError) -> None:
    from sdd.cli.render import safe

    sys.stderr.write(safe(error_text(exc)) + "\n")


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
        sys.stderr.write(crash_text(command) + "\n")
        return EXIT_CRASH

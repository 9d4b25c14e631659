"""What a person is told when something fails, in one place for every face: an expected
failure as a message (the CLI prints it, the MCP server returns it), a crash as a log file
whose path the message gives."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.core.errors import SddError


def error_text(exc: SddError) -> str:
    """The message a person sees for an expected failure."""
    label = {"refused": "refused", "usage": "usage"}.get(exc.kind, "error")
    lines = [f"sdd: {label}: {exc.message}"]
    lines += [f"  - {detail}" for detail in exc.details]
    if exc.hint:
        lines.append(f"  → {exc.hint}")
    return "\n".join(lines)


def write_crash_log(command: str) -> str:
    """Write the exception being handled to a crash log; returns the log's path."""
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


def crash_text(command: str) -> str:
    """The message for an unexpected crash (call it while handling the exception)."""
    name = sys.exc_info()[1].__class__.__name__
    try:
        where = f"details in {write_crash_log(command)}"
    except Exception:  # even the log failed: still a message, never a traceback
        where = "and the crash log could not be written"
    return f"sdd: crashed unexpectedly ({name}); {where}\n  → please report it with that file"

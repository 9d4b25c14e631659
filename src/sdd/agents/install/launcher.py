"""How an agent starts `sdd mcp` on any machine that clones the project.

Every agent's MCP registration (committed with the project) runs `sh .sdd/bin/sdd-mcp`, a
small committed launcher, never a bare `sdd` (not found when the venv that holds it is not
active) nor an absolute path (true of one machine only). The launcher looks, in order, in:

1. `.sdd/local/sdd-path` (git-ignored): the `sdd` that last ran `sdd agents install --mcp` on
   this machine, written by it;
2. `sdd` on PATH;
3. the places pip's `--user`, pipx and `uv tool` put it (``~/.local/bin`` and their venvs).

:func:`resolve` is the same search in Python, for `sdd doctor`, which starts the server sdd
knows rather than whatever a cloned repository's launcher or registration names.
"""

from __future__ import annotations

import os
import sys

from sdd.agents.registry import LAUNCHER
from sdd.core import files
from sdd.core.structs import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from sdd.core.paths import ProjectPaths

PATH_FILE = ".sdd/local/sdd-path"
LOCAL_IGNORE = "local/"  # the line of .sdd/.gitignore that keeps PATH_FILE out of git
DISTRIBUTION = "session-driven-development"
# Under the home folder: where pip --user, pipx and uv tool put the `sdd` command.
HOME_PLACES = (
    ".local/bin/sdd",
    f".local/share/pipx/venvs/{DISTRIBUTION}/bin/sdd",
    f".local/pipx/venvs/{DISTRIBUTION}/bin/sdd",
    f".local/share/uv/tools/{DISTRIBUTION}/bin/sdd",
)
REINSTALL = "run `sdd agents install --mcp` again with the sdd you use (e.g. `.venv/bin/sdd agents install --mcp`)"


def script() -> str:
    """The launcher's text: the search of :func:`resolve`, in POSIX sh."""
    homes = " ".join(f'"$HOME/{place}"' for place in HOME_PLACES)
    return f"""\
#!/bin/sh
# Starts `sdd mcp` for the agents registered by `sdd agents install --mcp` (written by it;
# an edited copy is left alone). It finds this machine's sdd, so no absolute path goes into
# a committed file: {PATH_FILE} (git-ignored, written by `sdd agents install --mcp`),
# then sdd on PATH, then where pip --user, pipx and uv tool install it.
here=$(dirname "$0")
if [ -r "$here/../local/sdd-path" ]; then
  IFS= read -r sdd < "$here/../local/sdd-path" || [ -n "$sdd" ]
  if [ -f "$sdd" ] && [ -x "$sdd" ]; then exec "$sdd" mcp "$@"; fi
fi
if sdd=$(command -v sdd 2>/dev/null); then exec "$sdd" mcp "$@"; fi
for sdd in {homes}; do
  if [ -f "$sdd" ] && [ -x "$sdd" ]; then exec "$sdd" mcp "$@"; fi
done
echo "sdd-mcp: no sdd found ({PATH_FILE}, PATH, ~/.local/bin, pipx, uv); {REINSTALL.replace("`", "'")}" >&2
exit 127
"""


def this_sdd() -> str | None:
    """The absolute path of the `sdd` command that is running, where it is one."""
    candidates = [
        sys.argv[0] if sys.argv else "",
        os.path.join(os.path.dirname(sys.executable), "sdd"),
    ]
    for candidate in candidates:
        if os.path.basename(candidate) == "sdd" and _runnable(candidate):
            return os.path.abspath(candidate)
    return None


def _runnable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


@dataclass
class Found:
    """Where the launcher's search ends, and what it passed on the way."""

    path: str | None  # the sdd it runs; None: none found
    via: str  # the path file, PATH or the home folder
    recorded: str | None = None  # what the path file names, if anything
    stale: bool = False  # the path file names an sdd that is not there (a moved venv?)
    notes: list[str] = field(default_factory=list)


def recorded_path(paths: ProjectPaths) -> str | None:
    text = files.read_text(paths.inside(PATH_FILE))
    line = text.splitlines()[0].strip() if text and text.strip() else ""
    return line or None


def resolve(
    paths: ProjectPaths, env: Mapping[str, str] | None = None, *, use_path_file: bool = True
) -> Found:
    """The `sdd` the launcher would run in this project, searched as the launcher does."""
    import shutil

    env = os.environ if env is None else env
    recorded = recorded_path(paths) if use_path_file else None
    found = Found(None, "", recorded)
    if recorded is not None:
        if os.path.isabs(recorded) and _runnable(recorded):
            found.path, found.via = recorded, PATH_FILE
            return found
        found.stale = True
    on_path = shutil.which("sdd", path=env.get("PATH", os.defpath))
    if on_path:
        found.path, found.via = os.path.abspath(on_path), "PATH"
        return found
    home = env.get("HOME", "")
    for place in HOME_PLACES:
        candidate = os.path.join(home, place)
        if home and _runnable(candidate):
            found.path, found.via = candidate, "~/" + place
            return found
    return found


def record(paths: ProjectPaths) -> str | None:
    """Write this machine's `sdd` into the path file (and keep it out of git); its path."""
    mine = this_sdd()
    ignore_local(paths)
    target = paths.inside(PATH_FILE)
    if mine is None:
        remove(paths)
        return None
    if files.read_text(target) != mine + "\n":
        files.write_atomic(target, mine + "\n", display=PATH_FILE)
    return mine


def ignore_local(paths: ProjectPaths) -> None:
    """`.sdd/.gitignore` ignores `local/` (a project made before it did learns it here)."""
    text = files.read_text(paths.gitignore)
    if text is None:
        return
    if LOCAL_IGNORE in {line.strip() for line in text.splitlines()}:
        return
    separator = "" if not text or text.endswith("\n") else "\n"
    files.write_atomic(
        paths.gitignore, f"{text}{separator}{LOCAL_IGNORE}\n", display=".sdd/.gitignore"
    )


def remove(paths: ProjectPaths) -> None:
    target = paths.inside(PATH_FILE)
    try:
        os.unlink(target)
        os.rmdir(os.path.dirname(target))
    except OSError:
        pass


__all__ = ["LAUNCHER", "PATH_FILE", "REINSTALL", "Found", "record", "resolve", "script"]

"""The one path resolver: every file `sdd` reads or writes is named here.

Strings and ``os.path`` rather than ``pathlib``: this module is on the start-up path
of `sdd status`, and importing pathlib costs more than the whole command may.
"""

from __future__ import annotations

import os

from sdd.core.errors import NotAProjectError, Refused

STATE_DIR = ".sdd"
HISTORY = "history.jsonl"  # format 1, read and sealed
HISTORY_DIR = "history"  # format 2: segments
CONFIG = "config.toml"
TEMP_DIR = "tmp"  # under STATE_DIR: temporary files of atomic writes (core.files)


def user_state_dir() -> str:
    """Where crash logs go outside a project: ``SDD_HOME``, else XDG state, else ~/.local/state."""
    explicit = os.environ.get("SDD_HOME")
    if explicit:
        return os.path.abspath(explicit)
    xdg = os.environ.get("XDG_STATE_HOME")
    base = xdg if xdg else os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "sdd")


def user_ssh_dir() -> str:
    """The person's own SSH folder, where a new dedicated signing key goes by default."""
    return os.path.join(os.path.expanduser("~"), ".ssh")


def find_root(start: str | None = None) -> str | None:
    """The nearest folder at or above ``start`` that holds ``.sdd/config.toml``."""
    here = os.path.abspath(start or os.getcwd())
    while True:
        if os.path.isfile(os.path.join(here, STATE_DIR, CONFIG)):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def require_root(start: str | None = None) -> str:
    root = find_root(start)
    if root is None:
        raise NotAProjectError(
            "not inside an sdd project (no .sdd/config.toml here or above)",
            hint="run `sdd init` to make this folder a project",
        )
    return root


# In a worktree of a parallel session (`sdd run --parallel`): names the project it belongs to.
# Under the worktree's own `.sdd/cache/`, which git ignores, so no agent's commit takes it.
LINK = os.path.join(STATE_DIR, "cache", "linked.json")


def linked_home(root: str) -> tuple[str, str] | None:
    """The project and the session a worktree of a parallel session belongs to, or None."""
    marker = os.path.join(root, LINK)
    if not os.path.isfile(marker):
        return None
    import json

    try:
        with open(marker, encoding="utf-8") as handle:
            data = json.load(handle)
        home, session = data["home"], data["session"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(home, str) or not isinstance(session, str):
        return None
    if not os.path.isfile(os.path.join(home, STATE_DIR, CONFIG)):
        return None
    return os.path.abspath(home), session


class ProjectPaths:
    """Absolute paths of one project's files.

    ``home``: a worktree of a parallel session reads its code and documents in ``root`` and
    keeps the project's state (history, lock, cache, logs, snapshots, the tracker) in
    ``home``, the project it belongs to: one history for every session."""

    def __init__(self, root: str, home: str | None = None) -> None:
        self.root = os.path.abspath(root)
        self.home = os.path.abspath(home) if home else self.root
        self.state = os.path.join(self.home, STATE_DIR)
        self.history = os.path.join(self.state, HISTORY)
        self.history_dir = os.path.join(self.state, HISTORY_DIR)
        self.approvers = os.path.join(self.state, "approvers")  # allowed signers, from the history
        self.config = os.path.join(self.state, CONFIG)
        self.lock = os.path.join(self.state, "lock")
        self.cache_dir = os.path.join(self.state, "cache")
        self.tmp = os.path.join(self.state, TEMP_DIR)
        self.logs = os.path.join(self.state, "logs")
        self.snapshots = os.path.join(self.state, "snapshots")
        self.gitignore = os.path.join(self.state, ".gitignore")
        self.docs = os.path.join(self.root, "docs")
        self.sessions_docs = os.path.join(self.docs, "sessions")
        self.tracker = os.path.join(self.home, "docs", "session-tracker.md")
        self.templates = os.path.join(self.root, "sessions")
        self.worktrees = os.path.join(self.state, "worktrees")  # parallel sessions' trees

    @property
    def linked(self) -> bool:
        """A worktree of a parallel session (its state is its project's)."""
        return self.home != self.root

    def cache_file(self, tag: str) -> str:
        return os.path.join(self.cache_dir, tag)

    def rel(self, path: str) -> str:
        """``path`` relative to the project root, with forward slashes (in a worktree of a
        parallel session, the project's own state relative to the project)."""
        base = self.root
        if self.linked and not (path == self.root or path.startswith(self.root + os.sep)):
            base = self.home
        return os.path.relpath(path, base).replace(os.sep, "/")

    def inside(self, relative: str) -> str:
        """Resolve a project-relative path, refusing anything that leaves the project.

        Symlinks are followed before the check, so a link in ``docs/`` that points
        outside the project is never written through.
        """
        if not relative or "\x00" in relative or os.path.isabs(relative):
            raise Refused(f"{relative!r}: not a path inside the project")
        candidate = os.path.normpath(os.path.join(self.root, relative))
        real_root = os.path.realpath(self.root)
        real = os.path.realpath(candidate)
        if real != real_root and not real.startswith(real_root + os.sep):
            raise Refused(f"{relative}: resolves outside the project ({real})")
        return candidate

    def template(self, stage: str) -> str:
        return self.inside(f"sessions/{stage}.md")


def package_data(*parts: str) -> str:
    """A file shipped inside the package (templates, scaffolds)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(package, "data", *parts)

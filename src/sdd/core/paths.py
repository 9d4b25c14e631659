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


class ProjectPaths:
    """Absolute paths of one project's files."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.state = os.path.join(self.root, STATE_DIR)
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
        self.tracker = os.path.join(self.docs, "session-tracker.md")
        self.templates = os.path.join(self.root, "sessions")

    def cache_file(self, tag: str) -> str:
        return os.path.join(self.cache_dir, tag)

    def rel(self, path: str) -> str:
        """``path`` relative to the project root, with forward slashes."""
        return os.path.relpath(path, self.root).replace(os.sep, "/")

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

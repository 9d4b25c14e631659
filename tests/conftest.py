"""Isolation for every test: sdd and git only ever see folders under tmp_path.

Every child process inherits this environment, so nothing reaches the real home
directory; a session-level check proves it afterwards.
"""

from __future__ import annotations

import os
import pwd
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import BIN, drive, init_project

IDENTITY = {"name": "Ada Tester", "email": "ada@example.com"}


def _real_places() -> list[Path]:
    """The real per-user places sdd or git could write to if isolation failed."""
    home = Path(pwd.getpwuid(os.getuid()).pw_dir)
    places = [home / ".local" / "state" / "sdd", home / ".gitconfig", home / ".config" / "sdd"]
    for var in ("XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        if os.environ.get(var):
            places.append(Path(os.environ[var]) / "sdd")
    if os.environ.get("SDD_HOME"):
        places.append(Path(os.environ["SDD_HOME"]))
    return places


def _snapshot(place: Path) -> dict[str, tuple[int, int]] | None:
    if not place.exists():
        return None
    if place.is_file():
        st = place.stat()
        return {str(place): (st.st_size, st.st_mtime_ns)}
    found = {}
    for path in sorted(place.rglob("*")):
        st = path.lstat()
        found[str(path)] = (st.st_size, st.st_mtime_ns)
    return found


@pytest.fixture(scope="session", autouse=True)
def real_home_untouched() -> Iterator[None]:
    """Fails the session if anything under the real home's sdd places appeared or changed."""
    places = _real_places()
    before = {str(p): _snapshot(p) for p in places}
    yield
    after = {str(p): _snapshot(p) for p in places}
    changed = [p for p in before if before[p] != after[p]]
    assert not changed, f"the test session wrote to the real home directory: {changed}"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
    ):
        (home / sub).mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(home / "run"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SDD_HOME", str(home / "sdd-home"))
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n"
        f"\tname = {IDENTITY['name']}\n"
        f"\temail = {IDENTITY['email']}\n"
        "[init]\n\tdefaultBranch = main\n"
        "[commit]\n\tgpgsign = false\n"
        "[core]\n\tautocrlf = false\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", IDENTITY["name"])
        monkeypatch.setenv(f"GIT_{role}_EMAIL", IDENTITY["email"])
    for var in (
        "SDD_SESSION_ID",
        "SDD_NOW",
        "NO_COLOR",
        "FORCE_COLOR",
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_CEILING_DIRECTORIES",
        # the person's own ssh-agent and passphrase helper stay out of every test
        "SSH_AUTH_SOCK",
        "SSH_AGENT_PID",
        "SSH_ASKPASS",
        "SSH_ASKPASS_REQUIRE",
        "DISPLAY",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def work(isolated_env: Path) -> Path:
    """An empty folder to work in (the current directory)."""
    return isolated_env


# Project states built once per test session (by hand: sdd commands, git, pty approvals),
# each from a copy of the one before it, then copied for every test that needs them.
MILESTONES: list[tuple[str, tuple[str, bool] | None]] = [
    ("fresh", None),
    ("architecture-waiting", ("architecture", False)),
    ("architecture-approved", ("architecture", True)),
    ("implement-waiting", ("implement", False)),
    ("implement-approved", ("implement", True)),
]


@pytest.fixture(scope="session")
def _stash(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return {"dir": tmp_path_factory.mktemp("stash"), "built": {}}


def _built(stash: dict[str, object], key: str) -> Path:
    folder, built = stash["dir"], stash["built"]
    assert isinstance(folder, Path) and isinstance(built, dict)
    if key in built:
        return built[key]  # type: ignore[no-any-return]
    names = [name for name, _ in MILESTONES]
    index = names.index(key)
    goal = MILESTONES[index][1]
    if goal is None:
        source = init_project(folder, name=key)
    else:
        source = folder / key
        shutil.copytree(_built(stash, names[index - 1]), source, symlinks=True)
        drive(source, goal[0], approve_gate_before=goal[1])
    built[key] = source
    return source


@pytest.fixture
def project(_stash: dict[str, object], work: Path) -> Path:
    """A fresh project, `sdd init`-ed and committed, cycle 1 "Password reset" open."""
    target = work / "proj"
    shutil.copytree(_built(_stash, "fresh"), target, symlinks=True)
    return target


@pytest.fixture
def project_at(_stash: dict[str, object], work: Path):  # type: ignore[no-untyped-def]
    """A fresh copy of a project driven by hand until ``until`` is the next session; with
    ``approve_gate_before=False`` it stops at the gate before ``until``, undecided."""

    def make(until: str, approve_gate_before: bool = True, name: str = "proj") -> Path:
        key = f"{until}-{'approved' if approve_gate_before else 'waiting'}"
        target = work / name
        shutil.copytree(_built(_stash, key), target, symlinks=True)
        return target

    return make

"""`sdd verify`: the project's checks, run by sdd itself and recorded as evidence.

Checks come from ``[[verify.checks]]`` in the config; when it names none, sensible
defaults are detected from the project's files and shown. No checks is never green.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from sdd.core import clock
from sdd.core.errors import ConfigError, NothingToVerify, ProcessError
from sdd.core.jsonable import to_json
from sdd.core.nesting import json_value
from sdd.project.project import Project
from sdd.system import gitrepo, process

DEFAULT_TIMEOUT = 900.0
CONFIG_HINT = """add checks to .sdd/config.toml, e.g.:
[[verify.checks]]
name = "tests"
command = ["python3", "-m", "pytest", "-q"]
timeout = 900"""


@dataclass(frozen=True)
class CheckSpec:
    name: str
    command: tuple[str, ...]
    timeout: float
    detected: bool = False


@dataclass
class CheckRun:
    name: str
    command: list[str]
    exit_code: int | None
    timed_out: bool
    seconds: float
    log: str
    log_sha256: str

    JSON_EXTRA: ClassVar[tuple[str, ...]] = ("passed",)

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass
class Result:
    head: str | None
    clean: bool
    dirty: list[str]
    detected: bool
    checks: list[CheckRun] = field(default_factory=list)

    JSON_EXTRA: ClassVar[tuple[str, ...]] = ("ok",)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)


def configured(project: Project) -> list[CheckSpec] | None:
    section = project.config.raw.get("verify")
    if section is None:
        return None
    where = project.paths.rel(project.paths.config)
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: verify: must be a table")
    entries = section.get("checks", [])
    problems: list[str] = []
    specs = []
    default = _timeout(section, f"{where}: verify", DEFAULT_TIMEOUT, problems)
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: verify.checks: must be an array of tables ([[verify.checks]])")
    for index, entry in enumerate(entries, start=1):
        at = f"{where}: verify.checks[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{at}: must be a table with name and command")
            continue
        name, command = entry.get("name"), entry.get("command")
        timeout = _timeout(entry, at, default, problems)
        good = timeout is not None
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{at}.name: must be text")
            good = False
        if (
            not isinstance(command, list)
            or not command
            or not all(isinstance(a, str) and a for a in command)
        ):
            problems.append(f"{at}.command: must be a non-empty list of arguments (no shell)")
            good = False
        if good and isinstance(command, list) and timeout is not None:
            specs.append(CheckSpec(str(name), tuple(str(a) for a in command), timeout))
    if problems:
        raise ConfigError(f"{where}: the verify checks are not valid", details=problems)
    return specs


def _timeout(
    table: dict[str, object], at: str, default: float | None, problems: list[str]
) -> float | None:
    """The table's `timeout` (else ``default``), or None with the problem noted."""
    if "timeout" not in table:
        return default
    try:
        return clock.duration(table["timeout"])
    except ValueError as exc:
        problems.append(f"{at}.timeout = {table['timeout']!r}: must be {exc}")
        return None


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def detect(root: str) -> list[CheckSpec]:
    """Checks a project of a known kind almost surely wants."""
    found: list[CheckSpec] = []

    def add(name: str, *command: str) -> None:
        found.append(CheckSpec(name, command, DEFAULT_TIMEOUT, detected=True))

    pyproject = _read(os.path.join(root, "pyproject.toml"))
    setup_cfg = _read(os.path.join(root, "setup.cfg"))
    python = "python3"
    if "[tool.ruff" in pyproject or os.path.exists(os.path.join(root, "ruff.toml")):
        add("lint", "ruff", "check", ".")
    if (
        "[tool.mypy" in pyproject
        or "[mypy" in setup_cfg
        or os.path.exists(os.path.join(root, "mypy.ini"))
    ):
        add("types", "mypy")
    pytest_configured = (
        "[tool.pytest" in pyproject
        or "[tool:pytest]" in setup_cfg
        or os.path.exists(os.path.join(root, "pytest.ini"))
        or os.path.exists(os.path.join(root, "conftest.py"))
    )
    has_tests = os.path.isdir(os.path.join(root, "tests")) and any(
        name.startswith("test") and name.endswith(".py")
        for name in os.listdir(os.path.join(root, "tests"))
    )
    if pytest_configured or (has_tests and shutil.which("pytest")):
        add("tests", python, "-m", "pytest", "-q")
    elif has_tests:
        add("tests", python, "-m", "unittest", "discover", "-s", "tests", "-t", ".")
    package = _read(os.path.join(root, "package.json"))
    if package:
        try:
            manifest = json_value(package)
        except ValueError:
            manifest = None
        scripts = manifest.get("scripts") if isinstance(manifest, dict) else None
        if not isinstance(scripts, dict):
            scripts = {}
        for script in ("build", "typecheck", "lint"):
            if script in scripts:
                add(script, "npm", "run", script)
        test = scripts.get("test", "")
        if isinstance(test, str) and test and "no test specified" not in test:
            add("tests", "npm", "test")
    if os.path.exists(os.path.join(root, "Cargo.toml")):
        add("build", "cargo", "build")
        add("tests", "cargo", "test")
    if os.path.exists(os.path.join(root, "go.mod")):
        add("build", "go", "build", "./...")
        add("tests", "go", "test", "./...")
    makefile = _read(os.path.join(root, "Makefile"))
    if not found and any(line.startswith("test:") for line in makefile.splitlines()):
        add("tests", "make", "test")
    return found


def checks_for(project: Project) -> tuple[list[CheckSpec], bool]:
    specs = configured(project)
    if specs is not None:
        return specs, False
    return detect(project.paths.root), True


Progress = Callable[[str, CheckSpec | None, CheckRun | None], None]


def run(project: Project, *, progress: Progress | None = None) -> Result:
    specs, detected = checks_for(project)
    root = project.paths.root
    if not specs:
        raise NothingToVerify(
            "nothing to verify: no checks are configured and none were detected "
            "(no checks is never green)",
            hint=CONFIG_HINT,
        )
    head = gitrepo.head(root)
    dirty = sorted(gitrepo.dirty(root))
    stamp = clock.iso(clock.now()).replace(":", "").replace("-", "")
    # One folder per run, even for runs within the same second: a log is evidence.
    folder = os.path.join(project.paths.logs, "verify", f"{stamp}-{os.urandom(3).hex()}")
    os.makedirs(folder, exist_ok=True)
    result = Result(head, not dirty, dirty, detected)
    env = process.child_env({"SDD_VERIFY": "1"})
    for index, spec in enumerate(specs, start=1):
        if progress:
            progress("start", spec, None)
        log = os.path.join(folder, f"{index:02d}-{_safe(spec.name)}.log")
        with open(log, "wb") as handle:
            handle.write(f"$ {' '.join(spec.command)}\n".encode())
        try:
            ended = process.launch(
                list(spec.command),
                cwd=root,
                env=env,
                interactive=False,
                timeout=spec.timeout,
                log_path=log,
            )
            code, timed_out, seconds = ended.returncode, ended.timed_out, ended.seconds
            if ended.interrupted:
                raise KeyboardInterrupt
        except ProcessError as exc:
            with open(log, "ab") as handle:
                handle.write(f"sdd: {exc.message}\n".encode())
            code, timed_out, seconds = 127, False, 0.0
        with open(log, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        check = CheckRun(
            spec.name,
            list(spec.command),
            code,
            timed_out,
            round(seconds, 3),
            project.paths.rel(log),
            digest,
        )
        result.checks.append(check)
        if progress:
            progress("end", spec, check)
    with project.transaction() as tx:
        cycle = tx.state.latest_cycle()
        open_session = cycle.open_session() if cycle else None
        tx.record(
            "verify.run",
            cycle=cycle.number if cycle else None,
            session=open_session.id if open_session else None,
            **to_json(result),
        )
    return result


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:40] or "check"

"""The checks `sdd verify` may run: those configured under ``[[verify.checks]]``, or, when
the config has no ``[verify]`` table, the ones detected from the project's files.

Which of them are in force is the rules' business (``project.rules``): a person accepted
them, and a config edit that weakens them waits for a person.
"""

from __future__ import annotations

import os

from sdd.core import clock
from sdd.core.errors import ConfigError
from sdd.core.nesting import json_value
from sdd.core.structs import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_TIMEOUT = 900.0

# The files detection reads (relative to the root); ``tests`` is a folder. The derived
# cache is keyed on them when detection decides the checks.
DETECTION_INPUTS = (
    "pyproject.toml",
    "setup.cfg",
    "ruff.toml",
    "mypy.ini",
    "pytest.ini",
    "conftest.py",
    "tests",
    "package.json",
    "Cargo.toml",
    "go.mod",
    "Makefile",
)


@dataclass(frozen=True)
class CheckSpec:
    """A verify check: its name, command and timeout."""

    name: str
    command: tuple[str, ...]
    timeout: float
    detected: bool = False


def parse(section: Any, where: str) -> list[CheckSpec] | None:
    """The checks a ``[verify]`` table names (None when there is no such table)."""
    if section is None:
        return None
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
    """Checks a project of a known kind almost surely wants (reads DETECTION_INPUTS only)."""
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
    if pytest_configured or (has_tests and _on_path("pytest")):
        add("tests", python, "-m", "pytest", "-q")
    elif has_tests:
        add("tests", python, "-m", "unittest", "discover", "-s", "tests", "-t", ".")
    package = _read(os.path.join(root, "package.json"))
    if package:
        try:
            manifest = json_value(package)
        except ValueError:  # not JSON, or nested past what sdd reads
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


def _on_path(name: str) -> bool:
    from sdd.system.process import which

    return which(name) is not None

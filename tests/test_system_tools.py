"""A system tool the tests need and cannot find: skipped with the command that installs it,
a failure under CI=true. Checked in child pytest runs whose SDD_TEST_TOOLS_PATH points at a
folder that does not exist, so nothing is uninstalled: once for every tool through
tests/system_tools.py, and once through a real dashboard test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from system_tools import SEARCH_PATH, TOOLS

TESTS = Path(__file__).resolve().parent

NEEDS_EVERY_TOOL = "from system_tools import need_tool\n\n" + "".join(
    f"def test_needs_{tool.replace('-', '_')}():\n    need_tool({tool!r})\n\n" for tool in TOOLS
)


def child_pytest(
    args: list[str], cwd: Path, nowhere: Path, ci: bool
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, SEARCH_PATH: str(nowhere), "PYTHONPATH": str(TESTS)}
    env.pop("CI", None)
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rsfE", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


@pytest.mark.parametrize("ci", [False, True], ids=["skipped", "fails-under-CI"])
def test_a_missing_tool_skips_with_its_install_command_or_fails_under_ci(
    work: Path, ci: bool
) -> None:
    (work / "test_needs.py").write_text(NEEDS_EVERY_TOOL, encoding="utf-8")
    result = child_pytest(["test_needs.py"], work, work / "nowhere", ci)
    out = result.stdout
    outcome = "failed" if ci else "skipped"
    assert result.returncode == (1 if ci else 0), out + result.stderr
    assert re.search(rf"\b{len(TOOLS)} {outcome}\b", out), out
    for tool, package in TOOLS.items():
        assert f"{tool} is not installed: `sudo apt-get install -y {package}` installs it" in out
    assert ("under CI=true a missing tool is a failure" in out) == ci


@pytest.mark.parametrize("ci", [False, True], ids=["skipped", "fails-under-CI"])
def test_the_dashboard_tests_use_the_rule(work: Path, ci: bool) -> None:
    test = "tests/test_dashboard.py::test_text_from_the_project_is_shown_as_text"
    result = child_pytest([test], TESTS.parent, work / "nowhere", ci)
    out = result.stdout
    assert result.returncode == (1 if ci else 0), out + result.stderr
    assert re.search(r"\b1 error\b" if ci else r"\b1 skipped\b", out), out
    assert "chromium is not installed: `sudo apt-get install -y chromium` installs it" in out

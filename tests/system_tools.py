"""The system tools some tests drive, and the one rule for a missing one: the test is skipped
with the command that installs it, except under ``CI=true``, where it fails (CI runs every
test). Every test that needs one of these gets its path from ``need_tool``.

``scripts/test`` runs this file to learn which Debian packages to install.
``SDD_TEST_TOOLS_PATH``, when set, replaces ``PATH`` as where the tools are looked for: the
tests of this rule point it at a folder that does not exist.
"""

from __future__ import annotations

import os
import shutil

# Each tool, by the command's name, and the Debian package that installs it.
TOOLS = {
    "chromium": "chromium",
    "tmux": "tmux",
    "ssh-keygen": "openssh-client",
    "ssh-agent": "openssh-client",
    "ssh-add": "openssh-client",
}
SEARCH_PATH = "SDD_TEST_TOOLS_PATH"


def locate(tool: str) -> str | None:
    return shutil.which(tool, path=os.environ.get(SEARCH_PATH))


def missing_packages() -> list[str]:
    return [package for tool, package in TOOLS.items() if locate(tool) is None]


def install_command(packages: list[str]) -> str:
    return f"sudo apt-get install -y {' '.join(packages)}"


def need_tool(tool: str) -> str:
    """The path of ``tool``; when it is missing, skips the test (fails it under CI=true)."""
    import pytest

    found = locate(tool)
    if found:
        return found
    reason = (
        f"{tool} is not installed: `{install_command([TOOLS[tool]])}` installs it "
        "(scripts/test does, as root or with sudo that asks no password)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; under CI=true a missing tool is a failure", pytrace=False)
    pytest.skip(reason)


if __name__ == "__main__":
    print(" ".join(missing_packages()))

"""The code itself: mypy --strict and ruff are clean (the project's own standard)."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_mypy_strict_is_clean() -> None:
    done = _run(os.path.join(BIN, "mypy"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_lint_is_clean() -> None:
    done = _run(os.path.join(BIN, "ruff"), "check", "src", "tests", "bench")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_is_clean() -> None:
    done = _run(os.path.join(BIN, "ruff"), "format", "--check", "src")
    assert done.returncode == 0, done.stdout + done.stderr

"""`sdd verify` in temporary projects with real commands: a passing and a failing suite, a
check that hangs past its timeout, a dirty tree, a project with nothing to run, detected
defaults. Every evidence field is asserted: exit code, timed-out flag, log hash
(recomputed from the log), HEAD, clean flag. And the stages after implementation complete
only with a green verify at HEAD."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from contract_helpers import (
    head,
    pty_person,
    records_of,
    session_json,
    sha256_file,
    stage_project_fixture,  # noqa: F401  (the `stage_project` fixture)
)
from helpers import commit_all, fill, git, run, sdd_json, status, tick, write_code
from run_helpers import alive, wait_dead

PY = json.dumps(sys.executable)
UNITTEST = f'[{PY}, "-m", "unittest", "discover", "-s", "tests", "-t", "."]'

PASSING = """\
import unittest


class Passing(unittest.TestCase):
    def test_adds(self) -> None:
        print("adding up")
        self.assertEqual(1 + 1, 2)
"""
FAILING = """\
import unittest


class Failing(unittest.TestCase):
    def test_adds_wrongly(self) -> None:
        self.assertEqual(1 + 1, 3, "arithmetic is broken")
"""


def set_checks(root: Path, checks: str) -> None:
    """Replace the project's `[[verify.checks]]` with ``checks`` (TOML); '' removes them."""
    config = root / ".sdd" / "config.toml"
    text = config.read_text(encoding="utf-8")
    cut = text.find("\n[[verify.checks]]")
    if cut >= 0:
        text = text[:cut] + "\n"
    config.write_text(text + checks, encoding="utf-8")


def check_toml(name: str, command: str, timeout: float | None = None) -> str:
    extra = f"timeout = {timeout}\n" if timeout is not None else ""
    return f'\n[[verify.checks]]\nname = "{name}"\ncommand = {command}\n{extra}'


def with_suite(root: Path, *files: tuple[str, str]) -> str:
    tests = root / "tests"
    tests.mkdir(exist_ok=True)
    (tests / "__init__.py").write_text("", encoding="utf-8")
    for name, text in files:
        (tests / name).write_text(text, encoding="utf-8")
    return commit_all(root, "the suite")


def verify_json(root: Path, expect: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = run("verify", "--json", cwd=root, env=env)
    assert result.returncode == expect, (
        f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stdout
    envelope = json.loads(lines[0])
    assert envelope["sdd"] == 1 and envelope["command"] == "verify"
    if expect == 0:
        assert envelope["ok"] is True
    return envelope.get("data", envelope)  # type: ignore[no-any-return]


def assert_evidence(root: Path, data: dict[str, Any]) -> None:
    """The fields every run carries, checked against what we observe ourselves; and the
    history record says the same."""
    assert data["head"] == head(root)
    assert isinstance(data["clean"], bool) and data["clean"] == (data["dirty"] == [])
    for check in data["checks"]:
        assert set(check) >= {
            "name",
            "command",
            "exit_code",
            "timed_out",
            "seconds",
            "log",
            "log_sha256",
            "passed",
        }
        log = root / check["log"]
        assert check["log"].startswith(".sdd/logs/verify/"), check["log"]
        assert log.is_file()
        assert check["log_sha256"] == sha256_file(log)
        assert log.read_text(encoding="utf-8", errors="replace").startswith("$ ")
        assert isinstance(check["seconds"], (int, float)) and check["seconds"] >= 0
        assert check["passed"] == (check["exit_code"] == 0 and not check["timed_out"])
    assert data["ok"] == (bool(data["checks"]) and all(c["passed"] for c in data["checks"]))
    record = records_of(root, "verify.run")[-1]
    for key in ("ok", "head", "clean", "dirty", "checks"):
        assert record[key] == data[key], key


def test_a_passing_suite(project: Path) -> None:
    set_checks(
        project,
        check_toml("tests", UNITTEST, 120)
        + check_toml("lint", f'[{PY}, "-c", "print(\'lint ok\')"]'),
    )
    with_suite(project, ("test_passing.py", PASSING))
    data = verify_json(project, 0)
    assert_evidence(project, data)
    assert data["ok"] is True and data["clean"] is True and data["dirty"] == []
    assert data["detected"] is False
    tests, lint = data["checks"]
    assert tests["name"] == "tests"
    assert tests["command"] == [
        sys.executable,
        "-m",
        "unittest",
        "discover",
        "-s",
        "tests",
        "-t",
        ".",
    ]
    assert (tests["exit_code"], tests["timed_out"], tests["passed"]) == (0, False, True)
    log = (project / tests["log"]).read_text(encoding="utf-8")
    assert "adding up" in log and "OK" in log
    assert lint["name"] == "lint" and lint["exit_code"] == 0
    assert "lint ok" in (project / lint["log"]).read_text(encoding="utf-8")
    assert tests["log"] != lint["log"]
    record = records_of(project, "verify.run")[-1]
    assert record["cycle"] == 1 and record["session"] is None

    text = run("verify", cwd=project)
    assert text.returncode == 0, text.stderr
    assert "| tests | passed |" in text.stdout and "| lint | passed |" in text.stdout
    assert f"Green at {head(project)[:12]}" in text.stdout


def test_a_failing_suite(project: Path) -> None:
    set_checks(
        project,
        check_toml("tests", UNITTEST, 120)
        + check_toml("custom", f'[{PY}, "-c", "import sys; print(\'boom\'); sys.exit(3)"]'),
    )
    with_suite(project, ("test_passing.py", PASSING), ("test_failing.py", FAILING))
    data = verify_json(project, 1)
    assert_evidence(project, data)
    assert data["ok"] is False and data["clean"] is True
    tests, custom = data["checks"]
    assert (tests["exit_code"], tests["timed_out"], tests["passed"]) == (1, False, False)
    log = (project / tests["log"]).read_text(encoding="utf-8")
    assert "arithmetic is broken" in log and "FAILED (failures=1)" in log
    assert (custom["exit_code"], custom["timed_out"], custom["passed"]) == (3, False, False)
    assert "boom" in (project / custom["log"]).read_text(encoding="utf-8")
    assert records_of(project, "verify.run")[-1]["ok"] is False

    text = run("verify", cwd=project)
    assert text.returncode == 1
    assert "| tests | failed (exit 1) |" in text.stdout
    assert "| custom | failed (exit 3) |" in text.stdout
    assert f"Red at {head(project)[:12]}" in text.stdout


def test_a_check_that_hangs_past_its_timeout(project: Path) -> None:
    """The check (and the child it started) is ended at its timeout; the next check still
    runs; the run is red."""
    hang = (
        "import os, subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
        "open('hang.pids', 'w').write(f'{os.getpid()} {child.pid}'); "
        "print('hanging', flush=True); time.sleep(120)"
    )
    set_checks(
        project,
        check_toml("hangs", json.dumps([sys.executable, "-c", hang]), 1)
        + check_toml("after", f'[{PY}, "-c", "print(\'still ran\')"]', 60),
    )
    (project / ".gitignore").write_text("hang.pids\n", encoding="utf-8")
    commit_all(project, "ignore the pid file")
    data = verify_json(project, 1)
    assert_evidence(project, data)
    hangs, after = data["checks"]
    assert hangs["timed_out"] is True
    assert hangs["passed"] is False and hangs["exit_code"] != 0
    assert "hanging" in (project / hangs["log"]).read_text(encoding="utf-8")
    for pid in map(int, (project / "hang.pids").read_text(encoding="utf-8").split()):
        assert wait_dead(pid), f"process {pid} of the timed-out check still runs"
        assert not alive(pid)
    assert (after["exit_code"], after["timed_out"], after["passed"]) == (0, False, True)
    assert data["ok"] is False
    text = run("verify", cwd=project)
    assert text.returncode == 1
    assert "| hangs | timed out |" in text.stdout


def test_a_terminal_sees_progress_and_a_summary_table(project: Path) -> None:
    set_checks(
        project,
        check_toml("slow", f'[{PY}, "-c", "import time; time.sleep(1.5); print(\'done\')"]', 60),
    )
    code, output = pty_person(["sdd", "verify"], cwd=project)
    assert code == 0, output
    assert f"running slow: {sys.executable} -c" in output  # shown when the check starts
    assert "slow: ok (" in output  # and its verdict when it ends
    assert "| slow | passed |" in output
    assert f"Green at {head(project)[:12]}" in output


def test_a_dirty_tree_and_sdds_own_files(project: Path) -> None:
    set_checks(project, check_toml("tests", UNITTEST, 120))
    with_suite(project, ("test_passing.py", PASSING))
    clean = verify_json(project, 0)
    assert clean["clean"] is True and clean["dirty"] == []
    # the first run wrote logs, the history and the tracker: none of that counts
    again = verify_json(project, 0)
    assert again["clean"] is True and again["dirty"] == []
    assert git("status", "--porcelain", "--", ".sdd", cwd=project).stdout.strip()  # they did change

    (project / "README.md").write_text("tracked, then deleted\n", encoding="utf-8")
    commit_all(project, "a readme")
    with (project / "tests" / "test_passing.py").open("a", encoding="utf-8") as handle:
        handle.write("# an uncommitted edit\n")
    (project / "notes.txt").write_text("untracked\n", encoding="utf-8")
    (project / "README.md").unlink()
    data = verify_json(project, 0)
    assert_evidence(project, data)
    assert data["clean"] is False
    assert data["dirty"] == ["README.md", "notes.txt", "tests/test_passing.py"]
    assert data["ok"] is True  # the suite still passes; the evidence says the tree was dirty
    text = run("verify", cwd=project)
    assert "uncommitted" in text.stdout and "tests/test_passing.py" in text.stdout


def test_nothing_to_run_fails_and_says_how_to_configure(project: Path) -> None:
    set_checks(project, "")
    before = len(records_of(project, "verify.run"))
    result = run("verify", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "nothing to verify" in result.stderr
    assert "[[verify.checks]]" in result.stderr and "command = [" in result.stderr
    error = sdd_json("verify", cwd=project, expect=1)
    assert error["kind"] == "nothing-to-verify"
    assert "[[verify.checks]]" in error["hint"]
    # an explicitly empty list is no better
    set_checks(project, "\n[verify]\nchecks = []\n")
    assert run("verify", cwd=project).returncode == 1
    assert len(records_of(project, "verify.run")) == before  # nothing green was recorded


def test_a_command_that_does_not_exist_is_a_red_check_not_a_crash(project: Path) -> None:
    set_checks(project, check_toml("ghost", '["no-such-tool-for-sdd-tests", "--run"]'))
    data = verify_json(project, 1)
    assert_evidence(project, data)
    (ghost,) = data["checks"]
    assert ghost["passed"] is False and ghost["exit_code"] == 127 and ghost["timed_out"] is False
    assert "no-such-tool-for-sdd-tests" in (project / ghost["log"]).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("checks", "problem"),
    [
        (
            '\n[[verify.checks]]\nname = "tests"\ncommand = "pytest -q"\n',
            "verify.checks[1].command",
        ),
        (
            '\n[[verify.checks]]\nname = "tests"\ncommand = ["pytest"]\ntimeout = 0\n',
            "verify.checks[1].timeout",
        ),
        ('\n[[verify.checks]]\ncommand = ["pytest"]\n', "verify.checks[1].name"),
    ],
)
def test_invalid_checks_are_named(project: Path, checks: str, problem: str) -> None:
    set_checks(project, checks)
    result = run("verify", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert problem in result.stderr


def test_two_runs_keep_their_own_logs(project: Path) -> None:
    """Each run's evidence stays verifiable: a later run (here in the same second, the
    clock being fixed) must not overwrite the log an earlier record hashed."""
    set_checks(project, check_toml("random", f'[{PY}, "-c", "import uuid; print(uuid.uuid4())"]'))
    env = {"SDD_NOW": "2026-11-25T12:00:00Z"}
    first = verify_json(project, 0, env=env)
    second = verify_json(project, 0, env=env)
    assert first["checks"][0]["log_sha256"] != second["checks"][0]["log_sha256"]  # uuids differ
    runs = records_of(project, "verify.run")[-2:]
    assert runs[0]["checks"][0]["log"] != runs[1]["checks"][0]["log"], (
        "both runs wrote one log file"
    )
    for record in runs:
        check = record["checks"][0]
        assert sha256_file(project / check["log"]) == check["log_sha256"], (
            f"{check['log']} no longer holds what the record hashed"
        )


FAKE_TOOL = '#!/bin/sh\necho "fake $(basename "$0") $*"\nexit 0\n'


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "pyproject.toml": "[tool.ruff]\nline-length = 100\n\n[tool.mypy]\nstrict = true\n\n"
                "[tool.pytest.ini_options]\naddopts = '-p no:cacheprovider'\n",
                "tests/test_passing.py": PASSING,
            },
            [
                ("lint", ["ruff", "check", "."]),
                ("types", ["mypy"]),
                ("tests", ["python3", "-m", "pytest", "-q"]),
            ],
        ),
        (
            {
                "package.json": json.dumps(
                    {"scripts": {"build": "tsc", "lint": "eslint .", "test": "jest"}}
                )
            },
            [
                ("build", ["npm", "run", "build"]),
                ("lint", ["npm", "run", "lint"]),
                ("tests", ["npm", "test"]),
            ],
        ),
        (
            {"Cargo.toml": '[package]\nname = "x"\nversion = "0.1.0"\n'},
            [("build", ["cargo", "build"]), ("tests", ["cargo", "test"])],
        ),
        (
            {"go.mod": "module example.com/x\n\ngo 1.22\n"},
            [("build", ["go", "build", "./..."]), ("tests", ["go", "test", "./..."])],
        ),
        ({"Makefile": "test:\n\t@echo make-tests-ran\n"}, [("tests", ["make", "test"])]),
    ],
    ids=["python", "node", "cargo", "go", "make"],
)
def test_defaults_are_detected_shown_and_run(
    project: Path, tmp_path: Path, files: dict[str, str], expected: list[tuple[str, list[str]]]
) -> None:
    set_checks(project, "")
    tools = tmp_path / "tools"  # stand-ins for the ecosystem's tools: real processes
    tools.mkdir()
    for name in ("ruff", "mypy", "npm", "cargo", "go"):
        (tools / name).write_text(FAKE_TOOL, encoding="utf-8")
        (tools / name).chmod(0o755)
    for relative, text in files.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text(text, encoding="utf-8")
    commit_all(project, "a project of a known kind")
    # (the child pytest need not load this environment's plugins)
    env = {"PATH": f"{tools}:{run_path()}", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    shown = run("verify", cwd=project, env=env)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    detected_line = next(line for line in shown.stderr.splitlines() if "detected" in line)
    for name, _ in expected:
        assert name in detected_line
    data = records_of(project, "verify.run")[-1]  # the evidence of that run
    assert_evidence(project, data)
    assert data["detected"] is True
    assert [(c["name"], c["command"]) for c in data["checks"]] == expected
    for check, (_, command) in zip(data["checks"], expected, strict=True):
        log = (project / check["log"]).read_text(encoding="utf-8")
        if command[0] in ("ruff", "mypy", "npm", "cargo", "go"):
            assert f"fake {command[0]} {' '.join(command[1:])}".strip() in log
    if expected[0][1] == ["make", "test"]:
        assert "make-tests-ran" in (project / data["checks"][0]["log"]).read_text(encoding="utf-8")


def run_path() -> str:
    import os

    return os.environ["PATH"]


# ----------------------------------------------------------------------------- stages that need it


def test_implement_completes_only_with_a_green_verify_at_head(project_at: Any) -> None:
    root = project_at("implement")
    session = session_json(root, "implement")
    write_code(root)
    (root / "tests" / "test_broken.py").write_text(FAILING, encoding="utf-8")
    broken_head = commit_all(root, "T1 with a broken test")
    tick(root / session["page"])
    before = len(records_of(root, "verify.run"))

    red = run("done", cwd=root)
    assert red.returncode == 1, red.stdout + red.stderr
    assert "no green `sdd verify` at HEAD" in red.stderr
    runs = records_of(root, "verify.run")
    assert len(runs) == before + 1  # `done` ran verify itself
    assert runs[-1]["ok"] is False and runs[-1]["head"] == broken_head
    assert runs[-1]["session"] == session["session"]
    data = status(root)
    assert data["next"]["kind"] == "finish-session"
    assert data["sessions"][-1]["outcome"] == "open"

    # a green run at an older HEAD does not count for a newer one
    (root / "tests" / "test_broken.py").unlink()
    green_head = commit_all(root, "drop the broken test")
    assert verify_json(root, 0)["head"] == green_head
    (root / "tests" / "extra.py").write_text("VALUE = 1\n", encoding="utf-8")  # in T1's scope
    final_head = commit_all(root, "one more change")
    done = run("done", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    runs = records_of(root, "verify.run")
    assert runs[-1]["head"] == final_head and runs[-1]["ok"] is True  # verified again, at HEAD
    end = records_of(root, "session.end")[-1]
    assert end["session"] == session["session"] and end["outcome"] == "complete"
    assert end["head"] == final_head
    assert runs[-1]["id"] < end["id"]


@pytest.mark.parametrize("stage", ["review", "qa"])
def test_review_and_qa_complete_only_with_a_green_verify_at_head(
    stage_project: Any, stage: str
) -> None:
    root = stage_project("review-next" if stage == "review" else "qa-next")
    session = session_json(root, stage)
    for relative in session["writes"]:
        fill(root / relative)
    tick(root / session["page"])
    (root / "tests" / "test_broken.py").write_text(FAILING, encoding="utf-8")
    broken = commit_all(root, f"a regression found during {stage}")

    red = run("done", cwd=root)
    assert red.returncode == 1, red.stdout + red.stderr
    assert "no green `sdd verify` at HEAD" in red.stderr
    assert records_of(root, "verify.run")[-1]["head"] == broken
    assert status(root)["sessions"][-1]["outcome"] == "open"

    (root / "tests" / "test_broken.py").unlink()
    fixed = commit_all(root, "revert the regression")
    done = run("done", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    runs = records_of(root, "verify.run")
    assert runs[-1]["head"] == fixed and runs[-1]["ok"] is True
    assert runs[-1]["session"] == session["session"]

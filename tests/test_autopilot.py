"""`sdd run --until-gate` (issue 19 points 2 and 3): the sessions between two person's acts,
headless, one after another, and the stop that names the person's next command.

The agent is a fake `claude` on PATH that runs the bundled scripted agent (`sdd.demo.agent`,
the one `sdd demo` drives a whole cycle with) in its own process, and then, when told, prints
Claude Code's JSON result with a cost; or fails, or sleeps. The projects are demo projects,
so that the demo approver passes the gates before the plan's approval; a fake `notify-send`
records the desktop notification.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import SDD, commit_all, git, history_records, pty_run, run, status

SCRIPTED = r"""
import json, os, subprocess, sys, time

mode = os.environ.get("SCRIPTED_MODE", "work")
if mode == "fail":
    print("scripted agent: cannot go on", file=sys.stderr)
    sys.exit(7)
if mode == "sleep":
    with open(os.environ["SCRIPTED_MARK"], "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(120)
code = subprocess.call([sys.executable, "-m", "sdd.demo.agent", os.environ["SDD_BRIEF_FILE"]])
if os.environ.get("SCRIPTED_COST"):
    result = {"type": "result", "subtype": "success", "is_error": False, "result": "done",
              "total_cost_usd": float(os.environ["SCRIPTED_COST"])}
    print(json.dumps(result))
sys.exit(code)
"""

NOTIFY = r"""
import json, os, sys
with open(os.environ["NOTIFIED"], "a") as handle:
    handle.write(json.dumps(sys.argv[1:]) + "\n")
"""

# What an agent's session may record; everything else (a record with a `by`) is a person's.
AGENT_RECORDS = {
    "session.start",
    "session.launch",
    "session.exit",
    "session.end",
    "finding.add",
    "finding.fix",
    "stage.reopen",  # a blocking finding a report holds reopens its stage (no person's act)
    "verify.run",
}

_BUILT: dict[str, Path] = {}


def _bin(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in (("claude", SCRIPTED), ("notify-send", NOTIFY)):
        script = folder / name
        script.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
        script.chmod(0o755)
    return folder


def _env(folder: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}", "NOTIFIED": str(folder / "n")}
    env.update(extra)
    return env


def _demo_project(root: Path) -> Path:
    from sdd import api
    from sdd.demo import driver

    api.init(str(root), title=driver.TITLE, demo=True, request=driver.REQUEST)
    driver._configure_verify(str(root))
    commit_all(root, "a demo project")
    return root


def autopilot(root: Path, *args: str, env: dict[str, str], expect: int = 0) -> dict[str, Any]:
    """`sdd run --until-gate ARGS --json`: its exit code, and its result."""
    result = run("run", "--until-gate", *args, "--json", cwd=root, env=env)
    assert result.returncode == expect, result.stdout + result.stderr
    return json.loads(result.stdout)["data"]  # type: ignore[no-any-return]


def approve(root: Path, gate: str) -> None:
    result = run("approve", gate, "--demo-approver", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(name="agent")
def agent_fixture(tmp_path: Path) -> Path:
    return _bin(tmp_path / "agent-bin")


@pytest.fixture(name="planned")
def planned_fixture(tmp_path_factory: pytest.TempPathFactory, work: Path) -> Path:
    """A copy of a demo project whose plan was just approved (built once: the autopilot ran
    its sessions, stopping at each gate before it, and the demo approver passed them)."""
    if "planned" not in _BUILT:
        folder = tmp_path_factory.mktemp("autopilot")
        root = _demo_project(folder / "planned")
        env = _env(_bin(folder / "bin"))
        for gate, stages in (
            ("spec-approval", ["spec"]),
            ("implementation-approval", ["architecture", "plan"]),
        ):
            data = autopilot(root, env=env)
            assert [s["stage"] for s in data["sessions"]] == stages
            assert (data["stop"], data["command"]) == ("person", f"sdd approve {gate}")
            approve(root, gate)
        _BUILT["planned"] = root
    target = work / "planned"
    shutil.copytree(_BUILT["planned"], target, symlinks=True)
    return target.resolve()


def test_it_drives_from_the_plans_approval_to_user_verification(planned: Path, agent: Path) -> None:
    before = len(history_records(planned))
    result = run("run", "--until-gate", cwd=planned, env=_env(agent))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Autopilot stopped: a person's act is next: walking the prepared user-verification" in (
        result.stdout
    )
    assert result.stdout.rstrip().endswith(
        'sdd walkthrough\n  or: sdd reject user-approval --reason "WHY"'
    )
    assert "cost not reported by claude" in result.stdout  # it printed no JSON result
    data = status(planned)
    assert data["next"]["kind"] == "walkthrough"
    sessions = [s for s in data["sessions"] if s["stage"] not in ("spec", "architecture", "plan")]
    assert [s["outcome"] for s in sessions] == ["complete"] * len(sessions)
    stages = [s["stage"] for s in sessions]
    assert stages[:4] == ["implement", "implement", "review", "qa"]  # T1, T2, then the checks
    assert stages[-1] == "user-verification" and "implement" in stages[4:]  # the QA's fix
    # It never acted for a person: the gate waits, and nothing it recorded is a person's.
    assert {g["name"]: g["state"] for g in data["gates"]}["user-approval"] != "approved"
    written = history_records(planned)[before:]
    assert {r["type"] for r in written} <= AGENT_RECORDS
    assert not [r for r in written if "by" in r]
    # The desktop notification says where it stopped and what comes next.
    notified = [json.loads(line) for line in (agent / "n").read_text().splitlines()]
    assert len(notified) == 1 and "Next: sdd walkthrough" in notified[0][-1]


def test_it_stops_at_max_sessions_exactly(planned: Path, agent: Path) -> None:
    data = autopilot(planned, "--max-sessions", "2", env=_env(agent))
    assert data["stop"] == "max-sessions"
    assert [(s["stage"], s["task"]) for s in data["sessions"]] == [
        ("implement", "T1"),
        ("implement", "T2"),
    ]
    assert data["command"] == "sdd run --until-gate"
    assert data["next"]["kind"] == "session" and data["next"]["stage"] == "review"


def test_with_parallel_the_tasks_run_in_worktrees(planned: Path, agent: Path) -> None:
    commit_all(planned, "the approved documents")  # a worktree starts from the last commit
    data = autopilot(planned, "--parallel", "2", "--max-sessions", "1", env=_env(agent))
    assert data["stop"] == "max-sessions"  # counted across the side-by-side sessions too
    assert [(s["session"], s["task"], s["outcome"]) for s in data["sessions"]] == [
        ("S-0004", "T1", "complete")
    ]
    assert data["command"] == "sdd run --until-gate --parallel 2"
    merged = git("log", "--format=%s", cwd=planned).stdout
    assert "sdd: merge S-0004 (task T1)" in merged  # its worktree's branch, merged back


def test_it_stops_on_a_failed_session_with_its_reason(planned: Path, agent: Path) -> None:
    # A lock left by a dead `sdd run` is taken over.
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock = planned / ".sdd" / "cache" / "runs" / "cycle-1.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"pid": dead.pid, "start": 1, "since": "then"}))

    # At a terminal, as the person who comes back to it reads it: the bell rang.
    code, shown = pty_run(
        ["sdd", "run", "--until-gate"], cwd=planned, env=_env(agent, SCRIPTED_MODE="fail")
    )
    assert code == 1, shown
    assert "\a" in shown
    assert (
        "Autopilot stopped: S-0004 (implement): the agent exited with code 7; the session is "
        "recorded as failed; the agent's output: .sdd/logs/sessions/S-0004.log" in shown
    )
    assert "  S-0004 (implement T1): failed" in shown
    assert shown.rstrip().endswith("sdd run --until-gate")  # a fresh session of the stage next


def test_max_time_ends_the_session_still_running(tmp_path: Path, work: Path, agent: Path) -> None:
    root = _demo_project(work / "slow")
    env = _env(agent, SCRIPTED_MODE="sleep", SCRIPTED_MARK=str(tmp_path / "mark"))
    data = autopilot(root, "--max-time", "1s", env=env)
    assert data["stop"] == "max-time"
    assert [(s["stage"], s["outcome"]) for s in data["sessions"]] == [("spec", "interrupted")]
    assert "S-0001 was ended at it and is recorded as interrupted" in data["reason"]
    assert data["command"] == "sdd run --until-gate"


def test_max_cost_stops_once_the_reported_cost_is_spent(planned: Path, agent: Path) -> None:
    refused = run("run", "--until-gate", "--max-cost", "1", "--agent", "codex", cwd=planned)
    assert refused.returncode == 2
    assert "codex reports tokens only" in refused.stderr

    data = autopilot(planned, "--max-cost", "1.00", env=_env(agent, SCRIPTED_COST="0.6"))
    assert data["stop"] == "max-cost"  # $0.60 left it under budget; $1.20 spent it
    assert [s["cost_usd"] for s in data["sessions"]] == [0.6, 0.6]
    assert data["cost_usd"] == pytest.approx(1.2) and data["cost_note"] is None
    assert data["reason"] == "--max-cost spent: $1.20 of $1.00"


def test_one_run_per_cycle_and_other_cycles_side_by_side(
    tmp_path: Path, work: Path, agent: Path
) -> None:
    root = _demo_project(work / "two")
    assert run("layout", "per-cycle", cwd=root).returncode == 0
    commit_all(root, "the per-cycle layout")
    assert (
        run("new", "Second", "--request", "A second tool, side by side", cwd=root).returncode == 0
    )
    mark = tmp_path / "sleeping"
    env = {**os.environ, **_env(agent, SCRIPTED_MODE="sleep", SCRIPTED_MARK=str(mark))}
    first = subprocess.Popen(
        [*SDD, "run", "--until-gate", "--cycle", "1"],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not mark.exists() and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.05)
        assert mark.exists(), first.communicate()
        second = run("run", "--headless", "--cycle", "1", cwd=root, env=_env(agent))
        assert second.returncode == 3
        assert (
            f"cycle 1 is being run already (pid {first.pid}, `sdd run --until-gate` since"
            in second.stderr
        )
        # Cycle 2 runs meanwhile, to its own gate.
        data = autopilot(root, "--cycle", "2", env=_env(agent))
        assert [s["stage"] for s in data["sessions"]] == ["spec"]
        assert data["command"] == "sdd approve spec-approval"  # cycle 2 is the latest
    finally:
        first.send_signal(signal.SIGINT)
        out, err = first.communicate(timeout=30)
    assert first.returncode == 130, out + err
    assert "S-0001 (spec): interrupted" in out


def test_the_autopilot_cannot_reach_a_persons_act() -> None:
    """Structure: the autopilot module imports no use case that records a person's act."""
    import sdd.usecases.autopilot as module

    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
    acts = ("acts", "approvals", "approvers", "questions", "walkthrough", "findings", "release")
    acts += ("cycles", "rules", "sessions")
    assert not [m for m in imported for a in acts if m == f"sdd.usecases.{a}"]
    assert "sdd.usecases.runner" in imported

"""`sdd run --parallel N` (issue 19, point 1): independent tasks in parallel worktrees.

Fake agents on PATH sleep, write their task's files, answer the handoff and commit, in the
session's own worktree; everything is observed through the command line and git.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import (
    SDD,
    approve,
    commit_all,
    git,
    history_records,
    pty_detached,
    run,
    sdd_json,
)

PLAN_TASK = """### {id}: Part {n}
- Stories: US-1
- Depends on: {depends}
- Risk: low
- Effort: 1h
- Scope: {scope}
- Test cases: TC-1

Acceptance criteria:
- Part {n} works as the spec says (point {n}).
"""

# The agent: what a headless agent does in its worktree. It writes its task's module and
# test (or, with PAR_SHARED, also one file every agent writes), answers the handoff, commits.
AGENT = r"""
import os, re, subprocess, sys, time
root = os.environ["SDD_PROJECT_ROOT"]
task = os.environ["SDD_TASK"].lower()
session = os.environ["SDD_SESSION_ID"]
log = os.environ.get("PAR_LOG")
if log:
    with open(log, "a") as handle:
        handle.write("%s %s start %.3f %d\n" % (session, task, time.time(), os.getpid()))
time.sleep(float(os.environ.get("PAR_SLEEP", "0.5")))
os.makedirs(os.path.join(root, task), exist_ok=True)
with open(os.path.join(root, task, "__init__.py"), "w") as handle:
    handle.write("VALUE = %r\n" % task)
with open(os.path.join(root, "tests", "test_%s.py" % task), "w") as handle:
    handle.write("import unittest\nfrom %s import VALUE\n\n\nclass T(unittest.TestCase):\n"
                 "    def test_value(self):\n        self.assertEqual(VALUE, %r)\n" % (task, task))
if os.environ.get("PAR_TRACKER"):  # a file sdd generates, edited in the branch too
    with open(os.path.join(root, "docs", "session-tracker.md"), "a") as handle:
        handle.write("\n%s was here\n" % task)
if os.environ.get("PAR_ESCAPE") and log:
    # What an agent might try: leave a process behind, out of its group; approve for a person.
    left = subprocess.Popen(["setsid", sys.executable, "-c", "import time; time.sleep(120)"])
    tried = subprocess.run(["sdd", "reject", "implementation-approval", "--reason", "x"],
                           cwd=root, capture_output=True)
    with open(log, "a") as handle:
        handle.write("%s %s escape %d %d\n" % (session, task, left.pid, tried.returncode))
outside = ""
if os.environ.get("PAR_SHARED"):
    with open(os.path.join(root, "shared.txt"), "w") as handle:
        handle.write("written by %s\n" % task)
    outside = "\n### Outside the scope\n- shared.txt: the plan missed that both parts need it\n"
page = os.path.join(root, "docs", "sessions", "%s-implement.md" % session)
text = open(page).read()
head, marker, rest = text.partition("<!-- sdd:end -->")
rest = rest.replace("- [ ] ", "- [x] ")
rest = re.sub(r"\[FILL:[^\]]*\]", "Wrote the part and its test; nothing left open.", rest)
open(page, "w").write(head + marker + rest + outside)
subprocess.run(["git", "add", "-A"], cwd=root, check=True)
subprocess.run(["git", "commit", "-q", "-m", "%s: part" % task], cwd=root, check=True)
if os.environ.get("PAR_DONE"):  # as the brief says: the agent ends its session itself
    subprocess.run(["sdd", "status"], cwd=root, check=True, capture_output=True)
    subprocess.run(["sdd", "verify"], cwd=root, check=True, capture_output=True)
    subprocess.run(["sdd", "done"], cwd=root, check=True)
if log:
    with open(log, "a") as handle:
        handle.write("%s %s end %.3f %d\n" % (session, task, time.time(), os.getpid()))
"""


def plan_text(tasks: list[tuple[str, str, str]]) -> str:
    body = "".join(
        PLAN_TASK.format(id=ident, n=n, depends=depends, scope=scope) + "\n"
        for n, (ident, depends, scope) in enumerate(tasks, start=1)
    )
    return "# Implementation plan\n\n## Tasks\n\n" + body


def independent(n: int) -> list[tuple[str, str, str]]:
    return [(f"T{i}", "none", f"t{i}/, tests/test_t{i}.py") for i in range(1, n + 1)]


def make_project(project_at: Any, tasks: list[tuple[str, str, str]]) -> Path:
    """A project whose approved plan holds ``tasks``; its tests pass; the tree is clean."""
    root: Path = project_at("implement", approve_gate_before=False)
    return with_plan(root, tasks)


def with_plan(root: Path, tasks: list[tuple[str, str, str]]) -> Path:
    """``root``, stopped at the plan's gate: the plan holds ``tasks``, and is approved."""
    (root / "docs" / "implementation-plan.md").write_text(plan_text(tasks), encoding="utf-8")
    (root / "tests").mkdir(exist_ok=True)
    (root / "tests" / "__init__.py").write_text("", encoding="utf-8")
    (root / "tests" / "test_base.py").write_text(
        "import unittest\n\n\nclass Base(unittest.TestCase):\n"
        "    # TC-1, TC-2, TC-3, TC-4, TC-5: the test plan's cases\n"
        "    def test_base(self):\n        self.assertTrue(True)\n",
        encoding="utf-8",
    )
    commit_all(root, "the plan, and the tests' base")
    approve(root, "implementation-approval")
    commit_all(root, "approved")
    return root


def agent_env(tmp: Path, **extra: str) -> dict[str, str]:
    folder = tmp / "par-bin"
    if not folder.exists():
        folder.mkdir()
        script = folder / "claude"
        script.write_text(f"#!{sys.executable}\n{AGENT}", encoding="utf-8")
        script.chmod(0o755)
    env = {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}", "PAR_LOG": str(tmp / "par.log")}
    env.update(extra)
    return env


def events(tmp: Path) -> tuple[list[float], list[float]]:
    rows = [line.split() for line in (tmp / "par.log").read_text().splitlines()]
    return [float(e[3]) for e in rows if e[2] == "start"], [
        float(e[3]) for e in rows if e[2] == "end"
    ]


def started_pids(tmp: Path) -> list[int]:
    log = tmp / "par.log"
    rows = [line.split() for line in log.read_text().splitlines()] if log.exists() else []
    return [int(r[4]) for r in rows if r[2] == "start"]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def records_whole(root: Path, sessions: int) -> None:
    """No record lost or duplicated: each implement session has one start, one launch, one
    exit and one end; the ids are unique; `sdd doctor` finds nothing wrong."""
    records = history_records(root)
    assert len({r["id"] for r in records}) == len(records)
    starts = [r["session"] for r in records if r["type"] == "session.start"]
    assert len(set(starts)) == len(starts)
    implement = {r["session"] for r in records if r["type"] == "session.start" and r.get("task")}
    assert len(implement) == sessions
    for kind in ("session.launch", "session.exit", "session.end"):
        assert sorted(
            r["session"] for r in records if r["type"] == kind and r["session"] in implement
        ) == sorted(implement), kind
    doctor = run("doctor", cwd=root)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


def tasks_of(root: Path) -> dict[str, str]:
    return {row["id"]: row["status"] for row in sdd_json("tasks", cwd=root)}


def worktrees(root: Path) -> list[str]:
    folder = root / ".sdd" / "worktrees"
    return sorted(os.listdir(folder)) if folder.is_dir() else []


def branches(root: Path) -> list[str]:
    out = git("for-each-ref", "--format=%(refname:short)", "refs/heads/sdd/", cwd=root)
    return sorted(out.stdout.split())


def test_four_independent_tasks_run_at_once_and_all_complete(
    project_at: Any, tmp_path: Path
) -> None:
    root = make_project(project_at, independent(4))
    env = agent_env(tmp_path, PAR_SLEEP="1.5", PAR_TRACKER="1")
    result = run("run", "--parallel", "4", "--agent", "claude", cwd=root, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert tasks_of(root) == {f"T{i}": "done" for i in range(1, 5)}
    # They ran at once: a second agent started before the first ended (how many at once
    # depends on the machine; bench/parallel.py measures the gain).
    starts, ends = events(tmp_path)
    assert len(starts) == 4 and sorted(starts)[1] < min(ends)
    # Every session's work is merged into the cycle's branch; no worktree, no branch left.
    for i in range(1, 5):
        assert (root / f"t{i}" / "__init__.py").is_file()
    assert worktrees(root) == [] and branches(root) == []
    status = sdd_json("status", cwd=root)
    assert [s["outcome"] for s in status["sessions"] if s["stage"] == "implement"] == [
        "complete"
    ] * 4
    assert not status["problems"]
    records_whole(root, 4)
    # The agents' edits of the tracker did not count (sdd writes it again from the history).
    tracker = (root / "docs" / "session-tracker.md").read_text(encoding="utf-8")
    assert "was here" not in tracker and "<<<<<<<" not in tracker
    # One line per change on a non-TTY: each session ran, then completed.
    for line in ("running", "complete"):
        assert sum(line in row for row in result.stderr.splitlines()) == 4, result.stderr


def test_a_task_waits_for_its_dependency_and_for_an_overlapping_scope(
    project_at: Any, tmp_path: Path
) -> None:
    root = make_project(
        project_at,
        [
            ("T1", "none", "t1/, tests/test_t1.py"),
            ("T2", "T1", "t2/, tests/test_t2.py"),
            ("T3", "none", "t3/, tests/test_t3.py, t1/extra.py"),  # overlaps T1's scope
        ],
    )
    env = agent_env(tmp_path, PAR_ESCAPE="1", PAR_DONE="1")
    result = run("run", "--parallel", "3", "--agent", "claude", cwd=root, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split() for line in (tmp_path / "par.log").read_text().splitlines()]
    # Containment held for each agent: what it left behind is gone; its person's act refused.
    escapes = [r for r in rows if r[2] == "escape"]
    assert all(not alive(int(r[3])) and r[4] == "3" for r in escapes)
    assert len(escapes) == 3
    t1_end = next(float(r[3]) for r in rows if r[1] == "t1" and r[2] == "end")
    later = [float(r[3]) for r in rows if r[1] in ("t2", "t3") and r[2] == "start"]
    assert len(later) == 2 and min(later) > t1_end
    assert tasks_of(root) == {"T1": "done", "T2": "done", "T3": "done"}
    # T2's worktree started from the merged T1: its tree held T1's work.
    assert (root / "t1" / "__init__.py").is_file() and (root / "t2" / "__init__.py").is_file()
    # Nothing is left to run in parallel: it says so, and what comes next.
    again = run("run", "--parallel", "2", "--agent", "claude", cwd=root, env=env)
    assert again.returncode == 3, again.stderr
    assert "the next session is review" in again.stderr and "sdd run" in again.stderr


def test_a_conflicting_pair_leaves_one_complete_and_one_finding(
    project_at: Any, tmp_path: Path
) -> None:
    root = make_project(project_at, independent(2))
    env = agent_env(tmp_path, PAR_SHARED="1")
    result = run("run", "--parallel", "2", "--agent", "claude", cwd=root, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    status = sdd_json("status", cwd=root)
    ended = [s for s in status["sessions"] if s["stage"] == "implement"]
    assert sorted(s["outcome"] for s in ended) == ["complete", "failed"]
    loser = next(s for s in ended if s["outcome"] == "failed")
    findings = [f for f in status["findings"] if f["status"] == "open"]
    assert len(findings) == 1 and "shared.txt" in findings[0]["text"]
    assert loser["id"] in findings[0]["text"]
    # Its branch is kept (nothing it committed is lost); its worktree is gone.
    assert branches(root) == [f"sdd/{loser['id']}"]
    assert worktrees(root) == []
    assert "shared.txt" in result.stdout


def test_ctrl_c_ends_every_agent_removes_the_worktrees_and_keeps_the_branches(
    project_at: Any, tmp_path: Path
) -> None:
    root = make_project(project_at, independent(2))
    env = agent_env(tmp_path, PAR_SLEEP="120")
    pressed = False

    def press(output: bytearray, type_: Any) -> None:
        nonlocal pressed
        if not pressed and len(started_pids(tmp_path)) == 2:
            pressed = True
            type_(b"\x03")

    argv = ["sdd", "run", "--parallel", "2", "--agent", "claude"]
    code, shown = pty_detached(argv, root, env, press, timeout=90)
    assert pressed and code == 130, shown
    # On a terminal, one line per session, redrawn in place (task, agent, state, time).
    assert "\x1b[2K" in shown and all(f" T{i} " in shown for i in (1, 2))
    assert "claude" in shown and "running" in shown and "interrupted" in shown
    assert not any(alive(pid) for pid in started_pids(tmp_path))
    assert worktrees(root) == []
    status = sdd_json("status", cwd=root)
    ended = [s for s in status["sessions"] if s["stage"] == "implement"]
    assert [s["outcome"] for s in ended] == ["interrupted", "interrupted"]
    assert branches(root) == sorted(f"sdd/{s['id']}" for s in ended)
    assert not status["problems"]
    # `sdd abandon` drops them: their branches go.
    result = run("abandon", cwd=root)
    assert result.returncode == 0, result.stderr
    assert branches(root) == []


def test_a_killed_run_is_cleaned_up_by_the_next_command(project_at: Any, tmp_path: Path) -> None:
    root = make_project(project_at, independent(2))
    env = {**os.environ, **agent_env(tmp_path, PAR_SLEEP="120")}
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(
        [*SDD, "run", "--parallel", "2", "--agent", "claude"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while len(started_pids(tmp_path)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(started_pids(tmp_path)) == 2
    # Meanwhile `status`, the tracker and the dashboard show them side by side.
    shown = run("status", cwd=root).stdout
    running = [s["id"] for s in sdd_json("status", cwd=root)["sessions"] if s["outcome"] == "open"]
    assert len(running) == 2
    assert f"running side by side: {running[0]} (T1), {running[1]} (T2)" in shown
    tracker = (root / "docs" / "session-tracker.md").read_text(encoding="utf-8")
    assert f"Running side by side (`sdd run --parallel`): {running[0]} (T1, claude)" in tracker
    page = tmp_path / "dashboard.html"
    assert run("dashboard", "--out", str(page), cwd=root).returncode == 0
    assert 'data-running="2"' in page.read_text(encoding="utf-8")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    status = sdd_json("status", cwd=root)  # the next command
    ended = [s for s in status["sessions"] if s["stage"] == "implement"]
    assert [s["outcome"] for s in ended] == ["interrupted", "interrupted"]
    assert worktrees(root) == []
    assert not any(alive(pid) for pid in started_pids(tmp_path))
    assert branches(root) == sorted(f"sdd/{s['id']}" for s in ended)


@pytest.mark.slow  # 80 sessions, four at a time (20 rounds of 4): about two minutes on two cores
def test_no_record_is_lost_or_duplicated_over_eighty_sessions_four_at_a_time(
    project_at: Any, tmp_path: Path
) -> None:
    root = make_project(project_at, independent(80))
    env = agent_env(tmp_path, PAR_SLEEP="0.2")
    result = subprocess.run(
        [*SDD, "run", "--parallel", "4", "--agent", "claude"],
        cwd=root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(tasks_of(root).values()) == {"done"}
    records_whole(root, 80)
    assert not sdd_json("status", cwd=root)["problems"]
    assert worktrees(root) == [] and branches(root) == []

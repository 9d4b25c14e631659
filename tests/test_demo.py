"""`sdd demo`: a fresh demo project driven through one whole cycle, offline, on a machine
with no agent installed; and the demo's powers stay inside demo projects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers import CODE, GATES, STAGES, git, history_records, pty_run, run, sdd_json, status
from run_helpers import Agents, agents_fixture, fresh_fixture, run_json  # noqa: F401


def test_demo_finishes_a_whole_cycle_with_no_agent_installed(work: Path, agents: Agents) -> None:
    env = agents.env(path=str(agents.base))  # git and python, nothing else
    listed = sdd_json("agents", "list", cwd=work, env=env)
    assert not any(r["installed"] for r in listed)

    result = run("demo", cwd=work, env=env)  # no folder named: ./sdd-demo
    assert result.returncode == 0, result.stdout + result.stderr
    root = work / "sdd-demo"
    out = result.stdout
    assert "every stage complete and every gate passed" in out
    assert "docs/session-tracker.md" in out  # where to look
    assert "sdd init && sdd run" in out  # and what to do next
    # It leaves a clean, committed project: the demo's documents and code are in git.
    assert git("status", "--porcelain", cwd=root).stdout.strip() == ""

    data = status(root)
    assert data["demo"] is True
    assert data["cycle"]["state"] == "finished"
    assert [s["name"] for s in data["stages"]] == STAGES
    assert {s["name"]: s["status"] for s in data["stages"]} == dict.fromkeys(STAGES, "done")
    assert [g["name"] for g in data["gates"]] == GATES
    for gate in data["gates"]:
        assert gate["state"] == "approved", gate
        assert gate["by"]["kind"] == "demo", gate  # the demo's, never a person's
    for session in data["sessions"]:
        assert session["outcome"] == "complete", session
        assert session["agent"] == "demo", session
    assert data["next"]["kind"] == "new-cycle"

    records = history_records(root)
    init = [r for r in records if r["type"] == "project.init"]
    assert len(init) == 1 and init[0]["demo"] is True
    # Each session was launched as its own process through `sdd run --agent demo`.
    launches = [r for r in records if r["type"] == "session.launch"]
    starts = [r for r in records if r["type"] == "session.start"]
    assert len(launches) == len(starts) >= len(STAGES)
    assert {r["stage"] for r in starts} == set(STAGES)
    assert (root / "docs" / "product-spec.md").exists()


def test_demo_json(work: Path, agents: Agents) -> None:
    env = agents.env(path=str(agents.base))
    data = sdd_json("demo", "tour", cwd=work, env=env)
    assert data["finished"] is True
    assert Path(data["root"]) == (work / "tour").resolve()
    assert len(data["steps"]) >= len(STAGES) + len(GATES)


def test_demo_inside_a_repository_is_its_own_and_commits_nothing_there(
    work: Path, agents: Agents
) -> None:
    """Run in a checkout of the person's own code, the demo's folder is a repository of its
    own: the cycle completes, and the checkout around it gains no commit."""
    outer = work / "checkout"
    outer.mkdir()
    git("init", "-q", cwd=outer)
    (outer / "app.py").write_text("print('mine')\n", encoding="utf-8")
    git("add", "-A", cwd=outer)
    git("commit", "-q", "-m", "my code", cwd=outer)
    before = git("rev-parse", "HEAD", cwd=outer).stdout

    data = sdd_json("demo", cwd=outer, env=agents.env(path=str(agents.base)))
    assert data["finished"] is True
    assert git("rev-parse", "HEAD", cwd=outer).stdout == before
    inner = git("rev-parse", "--show-toplevel", cwd=outer / "sdd-demo").stdout.strip()
    assert Path(inner).resolve() == (outer / "sdd-demo").resolve()


def test_demo_refuses_a_folder_that_is_not_empty(work: Path, agents: Agents) -> None:
    target = work / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("my own work\n", encoding="utf-8")
    result = run("demo", "mine", cwd=work, env=agents.env(path=str(agents.base)))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "not empty" in result.stderr
    assert "sdd demo" in result.stderr  # what to do instead
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]  # nothing touched
    assert (target / "notes.txt").read_text(encoding="utf-8") == "my own work\n"


def test_demo_agent_is_refused_outside_a_demo_project(fresh: Path, agents: Agents) -> None:
    result = run("run", "--agent", "demo", "--headless", cwd=fresh, env=agents.env())
    assert result.returncode == 3, result.stdout + result.stderr
    assert "sdd demo" in result.stderr
    assert status(fresh)["sessions"] == []
    error = run_json(fresh, "--agent", "demo", env=agents.env(), expect=3)["error"]
    assert "demo" in json.dumps(error)
    # Not by the config's default either.
    config = fresh / ".sdd" / "config.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + '\n[agents]\ndefault = "demo"\n', encoding="utf-8"
    )
    result = run("run", "--headless", cwd=fresh, env=agents.env())
    assert result.returncode == 3, result.stdout + result.stderr
    assert status(fresh)["sessions"] == []


def test_demo_approver_is_refused_outside_a_demo_project(project_at: Any) -> None:
    root = project_at("architecture", approve_gate_before=False)
    before = history_records(root)
    result = run("approve", "spec-approval", "--demo-approver", cwd=root)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "demo" in result.stderr
    # Not even with a person at the terminal typing the code back.
    code, output = pty_run(
        ["sdd", "approve", "spec-approval", "--demo-approver"], cwd=root, respond=CODE
    )
    assert code == 3, output
    assert history_records(root) == before
    gate = next(g for g in status(root)["gates"] if g["name"] == "spec-approval")
    assert gate["state"] != "approved"

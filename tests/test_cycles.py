"""Real projects (issue 8): parallel cycles, change requests, existing codebases."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from contract_helpers import check_json
from helpers import (
    commit_all,
    do_work,
    drive,
    gate_of,
    history_files,
    init_project,
    person_runs,
    pty_run,
    run,
    sdd_json,
    stage_of,
)

CORE_NAMES = ("product-spec.md", "architecture.md", "implementation-plan.md", "test-plan.md")


def _cycle_session(root: Path, cycle: int, stage: str) -> dict[str, Any]:
    """One session of ``stage`` in ``cycle``, by hand: start, do the work, done."""
    session = sdd_json("start", stage, "--cycle", str(cycle), cwd=root)
    assert session["stage"] == stage and session["cycle"] == cycle
    do_work(root, session)
    done = run("done", "--cycle", str(cycle), cwd=root)
    assert done.returncode == 0, done.stderr
    return session  # type: ignore[no-any-return]


def _approve(root: Path, gate: str, cycle: int) -> None:
    code, output = pty_run(["sdd", "approve", gate, "--cycle", str(cycle)], cwd=root)
    assert code == 0, output


def _gates(root: Path, cycle: int) -> dict[str, str]:
    data = sdd_json("status", "--cycle", str(cycle), cwd=root)
    return {g["name"]: g["state"] for g in data["gates"]}


def test_two_cycles_progress_independently(work: Path) -> None:
    root = init_project(work, title="Alpha")
    switched = sdd_json("layout", "per-cycle", cwd=root)
    moved = switched["moved"]["1"]
    assert moved["docs/product-spec.md"] == "docs/cycles/001-alpha/product-spec.md"
    assert (root / "docs/cycles/001-alpha/product-spec.md").exists()
    assert not (root / "docs/product-spec.md").exists()
    commit_all(root, "per-cycle layout")
    opened = sdd_json("new", "Beta", cwd=root)
    assert opened["cycle"] == 2
    assert (root / "docs/cycles/002-beta/product-spec.md").exists()

    first = _cycle_session(root, 1, "spec")
    assert first["writes"] == ["docs/cycles/001-alpha/product-spec.md"]
    second = _cycle_session(root, 2, "spec")
    assert second["writes"] == ["docs/cycles/002-beta/product-spec.md"]
    _approve(root, "spec-approval", 1)
    assert _gates(root, 1)["spec-approval"] == "approved"
    assert _gates(root, 2)["spec-approval"] == "waiting"

    # Editing one cycle's spec never touches the other's gate.
    spec_two = root / "docs/cycles/002-beta/product-spec.md"
    spec_two.write_text(spec_two.read_text(encoding="utf-8") + "\nMore detail.\n", encoding="utf-8")
    assert _gates(root, 1)["spec-approval"] == "approved"
    _approve(root, "spec-approval", 2)
    spec_one = root / "docs/cycles/001-alpha/product-spec.md"
    spec_one.write_text(spec_one.read_text(encoding="utf-8") + "\nA late edit.\n", encoding="utf-8")
    assert _gates(root, 1)["spec-approval"] == "stale"
    assert _gates(root, 2)["spec-approval"] == "approved"

    # Cycle 2 moves on while cycle 1 is blocked by its stale approval.
    _cycle_session(root, 2, "architecture")
    refused = run("start", "architecture", "--cycle", "1", cwd=root)
    assert refused.returncode == 3 and "spec-approval" in refused.stderr

    panels = sdd_json("status", "--all", cwd=root)
    by_cycle = {p["cycle"]["number"]: p for p in panels}
    assert set(by_cycle) == {1, 2}
    assert gate_of(by_cycle[1], "spec-approval")["state"] == "stale"
    assert stage_of(by_cycle[1], "architecture")["status"] == "blocked"
    assert gate_of(by_cycle[2], "spec-approval")["state"] == "approved"
    assert stage_of(by_cycle[2], "architecture")["status"] == "done"
    assert stage_of(by_cycle[2], "plan")["status"] == "ready"
    actions = {a["cycle"]: a for a in sdd_json("next", "--all", cwd=root)}
    assert actions[1]["kind"] == "gate" and actions[1]["gate"] == "spec-approval"
    assert actions[2]["kind"] == "session" and actions[2]["stage"] == "plan"
    text = run("status", "--all", cwd=root).stdout
    assert "Cycle 1: Alpha" in text and "Cycle 2: Beta" in text

    # `sdd check` checks the latest cycle's folder, read from the panel cache while the
    # history is unchanged, else from the history; `--cycle` picks another. A file changed
    # within two seconds of the cache may change again unseen, so the cache would not be
    # trusted: the history and config are dated back first.
    for path in [*history_files(root), root / ".sdd" / "config.toml"]:
        os.utime(path, (time.time() - 60, time.time() - 60))
    sdd_json("status", cwd=root)
    for cache in ("kept", "cleared"):
        if cache == "cleared":
            shutil.rmtree(root / ".sdd" / "cache")
        checked = check_json(root)["checked"]  # cycle 2 is at the plan: all four are due
        assert checked == [f"docs/cycles/002-beta/{name}" for name in CORE_NAMES], cache
    checked = check_json(root, "--cycle", "1", "--all")["checked"]
    assert checked == [f"docs/cycles/001-alpha/{name}" for name in CORE_NAMES]
    due = check_json(root, "--cycle", "1")  # at spec-approval: the spec only is due
    assert due["checked"] == ["docs/cycles/001-alpha/product-spec.md"]


def test_the_living_layout_runs_one_cycle_at_a_time(work: Path) -> None:
    root = init_project(work)
    refused = run("new", "Second", cwd=root)
    assert refused.returncode == 3
    assert "sdd layout per-cycle" in refused.stderr


def test_switching_layout_keeps_every_approval_valid(work: Path) -> None:
    root = init_project(work)
    drive(root, until="implement")
    before = {g["name"]: g["state"] for g in sdd_json("status", cwd=root)["gates"]}
    assert before["spec-approval"] == before["implementation-approval"] == "approved"
    sdd_json("layout", "per-cycle", cwd=root)
    after = {g["name"]: g["state"] for g in sdd_json("status", cwd=root)["gates"]}
    assert after == before
    doctor = sdd_json("doctor", cwd=root)
    assert not [f for f in doctor["findings"] if f["area"] == "history"], doctor


def test_a_change_request_turns_exactly_the_downstream_approvals_stale(work: Path) -> None:
    root = init_project(work)
    drive(root, until="implement")
    session = sdd_json("start", "implement", cwd=root)
    assert session["task"] == "T1"
    do_work(root, session)
    assert run("done", cwd=root).returncode == 0
    request = "Keep reset tokens in the database, not in memory"
    changed = sdd_json("change", "--stage", "architecture", request, cwd=root)
    assert changed["stage"] == "architecture"
    assert changed["gates"] == ["implementation-approval"]
    assert changed["tasks"] == ["T1"]
    assert session["session"] in changed["sessions"]

    data = sdd_json("status", cwd=root)
    assert gate_of(data, "spec-approval")["state"] == "approved"
    stale = gate_of(data, "implementation-approval")
    assert stale["state"] == "stale" and request in stale["changed"][0]
    assert gate_of(data, "user-approval")["state"] == "not-yet"
    assert data["change"]["stage"] == "architecture" and data["change"]["tasks"] == ["T1"]
    assert data["next"]["kind"] == "session" and data["next"]["stage"] == "architecture"
    assert request in run("prompt", cwd=root).stdout
    refused = run("start", "implement", cwd=root)
    assert refused.returncode == 3
    # The reopened work goes round again: architecture, plan, and a fresh approval.
    drive(root, until="implement")
    assert gate_of(sdd_json("status", cwd=root), "implementation-approval")["state"] == "approved"


def test_init_starts_with_discovery_only_for_existing_code(work: Path) -> None:
    python = work / "python-project"
    (python / "src" / "app").mkdir(parents=True)
    (python / "pyproject.toml").write_text('[project]\nname = "app"\n', encoding="utf-8")
    (python / "src" / "app" / "__init__.py").write_text("VALUE = 1\n", encoding="utf-8")
    node = work / "node-project"
    (node / "lib").mkdir(parents=True)
    (node / "package.json").write_text('{"name": "app", "version": "1.0.0"}\n', encoding="utf-8")
    (node / "lib" / "index.js").write_text("module.exports = 1;\n", encoding="utf-8")
    empty = work / "empty"
    empty.mkdir()
    for folder, kind in ((python, "Python"), (node, "Node")):
        result = sdd_json("init", str(folder), cwd=work)
        assert result["discovery"] is True and kind in result["existing_code"]
        assert sdd_json("next", cwd=folder)["stage"] == "discovery"
        assert (folder / "docs" / "conventions.md").exists()
        assert (folder / "src" if kind == "Python" else folder / "lib").exists()
    result = sdd_json("init", str(empty), cwd=work)
    assert result["discovery"] is False
    data = sdd_json("status", cwd=empty)
    assert data["next"]["stage"] == "spec"
    assert "discovery" not in [s["name"] for s in data["stages"]]


def test_discovery_runs_once_and_again_only_on_request(work: Path) -> None:
    root = work / "service"
    root.mkdir()
    (root / "main.go").write_text("package main\n\nfunc main() {}\n", encoding="utf-8")
    (root / "go.mod").write_text("module example.com/service\n", encoding="utf-8")
    sdd_json("init", str(root), cwd=work)
    commit_all(root, "existing service, sdd init")
    assert sdd_json("next", cwd=root)["stage"] == "discovery"
    assert person_runs(root, "abandon", "--whole-cycle", "--reason", "start over")[0] == 0
    plain = sdd_json("new", "Next feature", cwd=root)
    stages = [
        s["name"] for s in sdd_json("status", "--cycle", str(plain["cycle"]), cwd=root)["stages"]
    ]
    assert stages[0] == "spec"
    assert person_runs(root, "abandon", "--whole-cycle", "--reason", "again")[0] == 0
    asked = sdd_json("new", "Re-map the code", "--discovery", cwd=root)
    assert sdd_json("next", "--cycle", str(asked["cycle"]), cwd=root)["stage"] == "discovery"

"""A whole cycle driven by hand, from `sdd init` to the post-mortem, with the four gates
approved by a person typing the code on a real pseudo-terminal."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from helpers import (
    GATE_AFTER,
    GATES,
    INSTRUCTION_BUDGET,
    STAGES,
    commit_all,
    do_work,
    gate_of,
    git,
    history_records,
    pty_run,
    run,
    sdd_json,
    stage_of,
    start,
    status,
)

SLUG = "001-password-reset"


def _walk_all_passed(root: Path) -> None:
    """`sdd walkthrough` on a real pseudo-terminal: `p` for every item, then no problem no
    item covers; the gate is not offered (the person decides it with `sdd approve`)."""
    import os
    import pty
    import select
    import time

    from helpers import SDD

    pid, fd = pty.fork()
    if pid == 0:  # the child: sdd, with the pty as its terminal
        os.chdir(root)
        os.execv(SDD[0], [*SDD, "walkthrough"])
    shown = b""
    answered = 0
    ended = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
        while shown.count(b"(q)uit for now: ") > answered:
            os.write(fd, b"p\r")
            answered += 1
        if not ended and b"Enter: nothing more" in shown:
            os.write(fd, b"\r")
            ended = True
    _, code = os.waitpid(pid, 0)
    text = shown.decode(errors="replace")
    assert os.waitstatus_to_exitcode(code) == 0, text
    assert answered >= 2 and "Walkthrough complete" in text, text
    assert not re.search(r"Type [A-Z0-9]{4} to approve", text), text


SCAFFOLDS = {
    "review": f"docs/reviews/{SLUG}-R1.md",
    "qa": f"docs/test-reports/{SLUG}-Q1.md",
    "user-verification": f"docs/verification/{SLUG}-U1.md",
    "final-verification": f"docs/releases/{SLUG}.md",
    "postmortem": f"docs/post-mortems/{SLUG}.md",
}
WRITES = {
    "spec": ["docs/product-spec.md"],
    "architecture": ["docs/architecture.md"],
    "plan": ["docs/implementation-plan.md", "docs/test-plan.md"],
    "implement": [],
    **{stage: [path] for stage, path in SCAFFOLDS.items()},
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def _approve_through_pty(root: Path, gate: str, judged: list[str]) -> None:
    before = len(history_records(root))
    code, output = pty_run(["sdd", "approve", gate], cwd=root)
    assert code == 0, output
    # what is judged was shown: the documents and their hashes, then the code to type
    for path in judged:
        assert path in output
        assert _sha256(root / path)[:16] in output
    assert re.search(r"Type [A-Z0-9]{4} to approve", output)
    assert f"{gate} approved by Ada Tester" in output

    records = history_records(root)
    # the gates that rest on the code working ran the checks first (issue 16: re-observed)
    observed = [r["type"] for r in records[before:-1]]
    assert observed in ([], ["verify.run"]), observed
    record = records[-1]
    assert record["type"] == "gate.approve"
    assert record["gate"] == gate
    assert record["by"]["name"] == "Ada Tester"
    assert record["by"]["email"] == "ada@example.com"
    assert record["docs"] == {path: _sha256(root / path) for path in judged}


def test_a_whole_cycle_by_hand(project: Path) -> None:
    root = project
    judged: dict[str, list[str]] = {
        "spec-approval": WRITES["spec"],
        "implementation-approval": WRITES["architecture"] + WRITES["plan"],
        "user-approval": WRITES["user-verification"],
        "deployment-approval": WRITES["final-verification"],
    }
    previous_note: str | None = None

    data = status(root)
    for index, stage in enumerate(STAGES):
        if index and GATE_AFTER.get(STAGES[index - 1]):
            data = status(root)  # a gate was decided since the last look
        assert data["cycle"]["current_stage"] == stage
        assert stage_of(data, stage)["status"] == "ready"
        for done_stage in STAGES[:index]:
            assert stage_of(data, done_stage)["status"] == "done"
            gate = GATE_AFTER.get(done_stage)
            if gate:  # approved by the person at the terminal, and still approved
                assert gate_of(data, gate)["state"] == "approved"
                assert gate_of(data, gate)["by"]["name"] == "Ada Tester"
                assert gate_of(data, gate)["at"]
        for later in STAGES[index + 1 :]:
            assert stage_of(data, later)["status"] == "not-yet"
        assert data["next"]["kind"] == "session"
        assert data["next"]["command"] == f"sdd start {stage}"

        # the brief: within budget, and carrying the previous session's handoff
        brief = sdd_json("prompt", cwd=root)
        assert brief["stage"] == stage
        assert 0 < brief["instructions_bytes"] <= INSTRUCTION_BUDGET
        if previous_note:
            assert previous_note in brief["brief"]

        session = start(root, stage)
        assert session["session"] == f"S-{index + 1:04d}"
        assert session["page"] == f"docs/sessions/S-{index + 1:04d}-{stage}.md"
        assert session["writes"] == WRITES[stage]
        page = (root / session["page"]).read_text(encoding="utf-8")
        assert "## Handoff" in page and "- [ ] " in page and "[FILL:" in page
        if stage in SCAFFOLDS:
            scaffold = (root / SCAFFOLDS[stage]).read_text(encoding="utf-8")
            assert "[FILL:" in scaffold
            assert not re.search(r"\{(cycle|cycle_title|n|date)\}", scaffold), "values filled in"
            assert "Password reset" in scaffold and SLUG in scaffold

        if stage in ("spec", "implement"):
            data = status(root)
            assert stage_of(data, stage)["status"] == "active"
            assert data["sessions"][-1]["outcome"] == "open"
            assert data["next"]["kind"] == "finish-session"

        previous_note = f"Handoff note from the {stage} session #{index}"
        do_work(root, session, previous_note)
        result = run("done", cwd=root)
        assert result.returncode == 0, result.stderr
        assert f"Session {session['session']} ({stage}) complete" in result.stdout

        data = status(root)
        assert stage_of(data, stage)["status"] == "done"
        last = data["sessions"][-1]
        assert last["outcome"] == "complete"
        assert last["outputs"] == sorted(WRITES[stage])
        assert last["ended"]

        gate = GATE_AFTER.get(stage)
        if gate == "user-approval":
            # an agent prepared it; the person walks it, then decides the gate on its own
            assert data["next"]["kind"] == "walkthrough", data["next"]
            assert data["next"]["command"] == "sdd walkthrough"
            _walk_all_passed(root)
            data = status(root)
        if gate:
            assert gate_of(data, gate)["state"] == "waiting"
            assert data["next"]["kind"] == "gate"
            assert data["next"]["command"] == f"sdd approve {gate}"
            if index + 1 < len(STAGES):
                assert stage_of(data, STAGES[index + 1])["status"] == "blocked"
            _approve_through_pty(root, gate, judged[gate])
            if gate == "deployment-approval":
                # the release is recorded (and tagged) before the post-mortem
                action = sdd_json("next", cwd=root)
                assert action["kind"] == "release"
                refused = run("start", "postmortem", cwd=root)
                assert refused.returncode == 3
                assert "sdd release" in refused.stderr
                released = sdd_json("release", "--tag", "v1.0.0", cwd=root)
                assert released["tag"] == "v1.0.0"
                assert git("tag", "--list", cwd=root).stdout.split() == ["v1.0.0"]

        if stage == "implement":
            # the task's work is committed; the tree is clean
            assert git("status", "--porcelain", "--", "reset.py", "tests", cwd=root).stdout == ""
            assert "T1: reset links" in git("log", "--oneline", cwd=root).stdout

    data = status(root)
    assert data["cycle"]["state"] == "finished"
    assert data["cycle"]["current_stage"] is None
    assert all(s["status"] == "done" for s in data["stages"])
    assert [g["state"] for g in data["gates"]] == ["approved"] * len(GATES)
    assert [s["stage"] for s in data["sessions"]] == STAGES
    assert all(s["outcome"] == "complete" for s in data["sessions"])
    assert data["problems"] == [] and data["warnings"] == []
    action = sdd_json("next", cwd=root)
    assert action == data["next"]
    assert action["kind"] == "new-cycle"
    assert action["command"].startswith("sdd new")
    text = run("next", cwd=root)
    assert text.returncode == 0 and "sdd new" in text.stdout
    panel = run("status", cwd=root)
    assert panel.returncode == 0 and "finished" in panel.stdout

    tracker = (root / "docs" / "session-tracker.md").read_text(encoding="utf-8")
    assert "finished" in tracker
    for number in range(1, len(STAGES) + 1):
        assert f"S-{number:04d}" in tracker
    assert "sdd new" in tracker

    # no further session in a finished cycle
    refused = run("start", cwd=root)
    assert refused.returncode == 3
    assert "sdd new" in refused.stderr

    # the log: every record, newest first
    entries = sdd_json("log", cwd=root)
    records = history_records(root)
    assert len(entries) == len(records)
    assert [e["id"] for e in entries] == sorted((r["id"] for r in records), reverse=True)
    assert entries[0]["type"] == "session.end"
    assert sum(1 for e in entries if e["type"] == "gate.approve") == 4
    assert len(sdd_json("log", "--limit", "3", cwd=root)) == 3

    # the next cycle
    commit_all(root, "cycle 1 done")
    opened = run("new", "Second", cwd=root)
    assert opened.returncode == 0, opened.stderr
    data = status(root)
    assert data["cycle"]["number"] == 2
    assert data["cycle"]["title"] == "Second"
    assert data["cycle"]["slug"] == "002-second"
    assert data["cycle"]["state"] == "open"
    assert data["sessions"] == []
    assert [g["state"] for g in data["gates"]] == ["not-yet"] * len(GATES)
    assert sdd_json("next", cwd=root)["command"] == "sdd start spec"
    old = sdd_json("status", "--cycle", "1", cwd=root)
    assert old["cycle"]["state"] == "finished"
    assert len(old["sessions"]) == len(STAGES)
    second = start(root, "spec")
    assert second["session"] == f"S-{len(STAGES) + 1:04d}"

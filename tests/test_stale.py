"""Approved documents that change turn their gate stale; rejections send the cycle back."""

from __future__ import annotations

import re

from helpers import (
    gate_of,
    history_records,
    pty_run,
    run,
    sdd_json,
    stage_of,
    start,
    status,
    tick,
)

SPEC = "docs/product-spec.md"


def test_an_edited_approved_document_turns_the_gate_stale(project_at) -> None:  # type: ignore[no-untyped-def]
    root = project_at("architecture")
    spec = root / SPEC
    approved = spec.read_bytes()
    assert gate_of(status(root), "spec-approval")["state"] == "approved"

    spec.write_bytes(approved + b"\n- US-3: an administrator can revoke every open link\n")
    data = status(root)
    view = gate_of(data, "spec-approval")
    assert view["state"] == "stale"
    assert view["changed"] == [SPEC]
    assert stage_of(data, "architecture")["status"] == "blocked"
    assert data["next"]["kind"] == "gate"
    assert data["next"]["command"] == "sdd approve spec-approval"
    for args in (["start"], ["start", "architecture"], ["prompt", "architecture"]):
        result = run(*args, cwd=root)
        assert result.returncode == 3, (args, result.stderr)
        assert "spec-approval" in result.stderr and "stale" in result.stderr
        assert SPEC in result.stderr
        assert "sdd approve spec-approval" in result.stderr
    assert "stale" in run("status", cwd=root).stdout

    # the same bytes again: the approval holds again
    spec.write_bytes(approved)
    assert gate_of(status(root), "spec-approval")["state"] == "approved"

    # changed again, then re-approved: the person sees the diff since the last approval
    spec.write_bytes(approved + b"\n- US-3: an administrator can revoke every open link\n")
    assert gate_of(status(root), "spec-approval")["state"] == "stale"
    before = len(history_records(root))
    code, output = pty_run(["sdd", "approve", "spec-approval"], cwd=root)
    assert code == 0, output
    assert re.search(r"^--- docs/product-spec\.md", output, re.M), output
    assert re.search(r"^\+\+\+ docs/product-spec\.md", output, re.M), output
    assert "+- US-3: an administrator can revoke every open link" in output
    assert len(history_records(root)) == before + 1
    data = status(root)
    assert gate_of(data, "spec-approval")["state"] == "approved"
    assert stage_of(data, "architecture")["status"] == "ready"
    assert start(root, "architecture")["stage"] == "architecture"


def test_a_line_ending_conversion_does_not_turn_the_gate_stale(project_at) -> None:  # type: ignore[no-untyped-def]
    root = project_at("architecture")
    spec = root / SPEC
    original = spec.read_bytes()
    assert b"\r\n" not in original
    spec.write_bytes(original.replace(b"\n", b"\r\n"))
    data = status(root)
    assert gate_of(data, "spec-approval")["state"] == "approved"
    assert stage_of(data, "architecture")["status"] == "ready"
    assert start(root, "architecture")["stage"] == "architecture"
    # a real change in a CRLF file still counts
    spec.write_bytes(original.replace(b"\n", b"\r\n") + b"One more line.\r\n")
    assert gate_of(status(root), "spec-approval")["state"] == "stale"


def test_approving_an_approved_unchanged_gate_is_an_error(project_at) -> None:  # type: ignore[no-untyped-def]
    root = project_at("architecture")
    lines = len(history_records(root))
    code, output = pty_run(["sdd", "approve", "spec-approval"], cwd=root, respond=None)
    assert code == 1, output
    assert "already approved" in output
    assert len(history_records(root)) == lines


def test_a_rejection_sends_the_cycle_back_with_its_reason(project_at) -> None:  # type: ignore[no-untyped-def]
    root = project_at("architecture", approve_gate_before=False)
    reason = "US-1 has no measurable criterion for link expiry"
    code, output = pty_run(["sdd", "reject", "spec-approval", "--reason", reason], cwd=root)
    assert code == 0, output
    assert re.search(r"Type [A-Z0-9]{4} to reject", output)
    assert "spec-approval rejected by Ada Tester" in output

    record = history_records(root)[-1]
    assert record["type"] == "gate.reject"
    assert record["reason"] == reason
    assert record["to"] == "spec"
    assert record["by"]["name"] == "Ada Tester"

    data = status(root)
    view = gate_of(data, "spec-approval")
    assert view["state"] == "rejected"
    assert view["reason"] == reason
    assert stage_of(data, "spec")["status"] == "ready"
    assert stage_of(data, "architecture")["status"] == "not-yet"
    assert data["next"]["kind"] == "session"
    assert data["next"]["command"] == "sdd start spec"
    assert reason in run("status", cwd=root).stdout
    assert run("start", "architecture", cwd=root).returncode == 3

    # the reason is in the next brief, and in the page of the session that reworks it
    brief = sdd_json("prompt", cwd=root)
    assert brief["stage"] == "spec"
    assert reason in brief["brief"]
    assert reason in run("prompt", "spec", cwd=root).stdout
    session = start(root, "spec")
    assert reason in (root / session["page"]).read_text(encoding="utf-8")

    (root / SPEC).write_text(
        (root / SPEC).read_text(encoding="utf-8") + "\n- Links expire after 30 minutes.\n",
        encoding="utf-8",
    )
    tick(root / session["page"], "Added a measurable expiry criterion to US-1.")
    assert run("done", cwd=root).returncode == 0
    data = status(root)
    assert gate_of(data, "spec-approval")["state"] == "waiting"
    code, output = pty_run(["sdd", "approve", "spec-approval"], cwd=root)
    assert code == 0, output
    data = status(root)
    assert gate_of(data, "spec-approval")["state"] == "approved"
    assert data["next"]["command"] == "sdd start architecture"
    assert reason not in sdd_json("prompt", cwd=root)["brief"]


def test_a_rejected_plan_can_go_back_to_architecture(project_at) -> None:  # type: ignore[no-untyped-def]
    root = project_at("implement", approve_gate_before=False)
    data = status(root)
    assert gate_of(data, "implementation-approval")["state"] == "waiting"
    lines = len(history_records(root))

    code, output = pty_run(
        ["sdd", "reject", "implementation-approval", "--reason", "x", "--to", "implement"],
        cwd=root,
        respond=None,
    )
    assert code == 2, output
    assert "architecture" in output and "plan" in output
    assert len(history_records(root)) == lines

    reason = "The queue adds a component we cannot operate; use the database"
    code, output = pty_run(
        ["sdd", "reject", "implementation-approval", "--reason", reason, "--to", "architecture"],
        cwd=root,
    )
    assert code == 0, output
    data = status(root)
    assert gate_of(data, "implementation-approval")["state"] == "rejected"
    assert gate_of(data, "spec-approval")["state"] == "approved"
    assert stage_of(data, "spec")["status"] == "done"
    assert stage_of(data, "architecture")["status"] == "ready"
    assert stage_of(data, "plan")["status"] == "not-yet"
    assert data["next"]["command"] == "sdd start architecture"
    assert reason in sdd_json("prompt", cwd=root)["brief"]
    assert run("start", "implement", cwd=root).returncode == 3


def test_an_edited_plan_blocks_implement_again(project_at) -> None:  # type: ignore[no-untyped-def]
    root = project_at("implement")
    assert gate_of(status(root), "implementation-approval")["state"] == "approved"
    plan = root / "docs" / "test-plan.md"
    plan.write_text(plan.read_text(encoding="utf-8") + "\nTC-99: a new case\n", encoding="utf-8")
    data = status(root)
    view = gate_of(data, "implementation-approval")
    assert view["state"] == "stale"
    assert view["changed"] == ["docs/test-plan.md"]
    assert gate_of(data, "spec-approval")["state"] == "approved"
    result = run("start", "implement", cwd=root)
    assert result.returncode == 3
    assert "implementation-approval" in result.stderr
    assert "sdd approve implementation-approval" in result.stderr

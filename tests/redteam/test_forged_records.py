"""Records written by hand with their hash recomputed, in an unsigned project: a second
`project.init` that makes the project a demo, the first record rewritten as a demo, a demo
approval in a person's project, a green `verify.run` for a HEAD whose tests fail, and records
backdated. None of them may pass a gate; what cannot be refused is flagged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers import commit_all, pty_run, run
from late_helpers import by_hand, walk_all
from redteam import tamper
from redteam.forge import Entry, History, fields_of, keep_snapshot, seconds_of
from redteam.person import CODE_PROMPT
from redteam.verdicts import flagged, not_passed, refused, refused_run, warned

SPEC = "docs/product-spec.md"


def test_a_second_project_init_with_demo_does_not_let_the_demo_approver_pass(
    project_at: Any,
) -> None:
    root = project_at("architecture", approve_gate_before=False)
    history = History(root)
    first = history.entries()[0].record
    forged = history.add("project.init", {**fields_of(first), "demo": True})
    result = run("approve", "spec-approval", "--demo-approver", cwd=root)
    refused_run(result, "demo", "project.init")
    not_passed(root, "spec-approval")
    flagged(root, forged.id, forged.spot)


def test_the_first_record_rewritten_as_a_demo_does_not_let_the_demo_approver_pass(
    project_at: Any,
) -> None:
    root = project_at("architecture", approve_gate_before=False)
    commit_all(root, "the spec")
    history = History(root)
    first = history.entries()[0]
    assert first.record["type"] == "project.init" and not first.record.get("demo")
    history.edit(first, demo=True)  # its hash recomputed, and every hash after it
    result = run("approve", "spec-approval", "--demo-approver", cwd=root)
    refused_run(result, "demo", "project.init", "history")
    not_passed(root, "spec-approval")


def test_a_demo_approval_written_by_hand_in_a_persons_project_does_not_count(
    project_at: Any,
) -> None:
    root = project_at("architecture", approve_gate_before=False)
    forged = History(root).add(
        "gate.approve",
        {
            "cycle": 1,
            "gate": "spec-approval",
            "by": {"kind": "demo", "name": "sdd demo approver"},
            "docs": {SPEC: keep_snapshot(root, SPEC)},
            "confirmed": "demo",
        },
    )
    flagged(root, forged.id, forged.spot)
    not_passed(root, "spec-approval")


def _green_verify_for_failing_tests(root: Path) -> Entry:
    """The tests fail at a new HEAD; a copy of the last green run, claiming that HEAD."""
    head = tamper.break_the_tests(root)
    history = History(root)
    green = history.one("verify.run", ok=True)
    return history.add(
        "verify.run", {**fields_of(green.record), "head": head, "clean": True, "dirty": []}
    )


def _approve_refused(root: Path, gate: str) -> None:
    code, shown = pty_run(["sdd", "approve", gate], root, prompt=CODE_PROMPT, timeout=180)
    refused(code, shown, "test", "verify", "check")
    not_passed(root, gate)


def test_a_green_verify_run_for_a_head_whose_tests_fail_does_not_pass_user_approval(
    milestone: Any,
) -> None:
    root = milestone("uv-prepared")
    walk_all(root)  # the person walked it: user-approval waits for their decision
    _green_verify_for_failing_tests(root)
    _approve_refused(root, "user-approval")


def test_a_green_verify_run_for_a_head_whose_tests_fail_does_not_pass_deployment_approval(
    milestone: Any,
) -> None:
    root = milestone("fv-ready")
    by_hand(root, "final-verification")
    _green_verify_for_failing_tests(root)
    _approve_refused(root, "deployment-approval")


def _a_day_before_the_last_record(history: History) -> float:
    return seconds_of(history.entries()[-1].id) - 86_400


def test_a_record_backdated_with_sdd_now_is_flagged_by_doctor(project: Path) -> None:
    when = _a_day_before_the_last_record(History(project))
    result = run(
        "findings", "add", "found yesterday", "--severity", "minor", "--stage", "qa",
        cwd=project, env={"SDD_NOW": str(when)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    backdated = History(project).one("finding.add")
    warned(project, backdated.id, backdated.spot, "backwards", "before")


def test_a_hand_written_record_whose_time_runs_backwards_is_flagged_by_doctor(
    project: Path,
) -> None:
    history = History(project)
    fields = {"cycle": 1, "finding": "F-1", "severity": "minor", "stage": "qa", "text": "old"}
    record = history.forge("finding.add", fields, seconds=_a_day_before_the_last_record(history))
    backdated = history.write(record)
    warned(project, backdated.id, backdated.spot, "backwards", "before")

"""The rules under the gates: the agent edits `.sdd/config.toml` after `sdd done` to weaken
them (remove a gate, lower the threshold, replace a check by `true`, delete the checks, drop
a completion rule or whole stages). A weakening does not take effect until a person accepts
it: the accepted rules stay in force."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers import (
    commit_all,
    complete_stage,
    do_work,
    fill,
    gate_of,
    run,
    sdd_json,
    start,
    status,
    tick,
    write_code,
)
from redteam import tamper
from redteam.verdicts import refused_run


def _spec_done_at(root: Path, confidence: int) -> None:
    session = start(root, "spec")
    fill(root / "docs" / "product-spec.md", confidence=confidence)
    tick(root / session["page"])
    assert run("done", cwd=root).returncode == 0


def test_removing_spec_approval_from_the_gates_does_not_open_the_next_stage(
    project_at: Any,
) -> None:
    root = project_at("architecture", approve_gate_before=False)
    tamper.without_gate(root, "spec-approval")
    result = run("start", "architecture", cwd=root)
    refused_run(result, "spec-approval")
    assert gate_of(status(root), "spec-approval")["state"] == "waiting"


def test_a_weakened_rule_is_shown_by_sdd_rules(project_at: Any) -> None:
    root = project_at("architecture", approve_gate_before=False)
    tamper.without_gate(root, "spec-approval")
    result = run("rules", cwd=root)
    assert result.returncode == 0, f"needs the interface `sdd rules`:\n{result.stderr}"
    assert "spec-approval" in result.stdout, result.stdout


def test_a_threshold_lowered_to_0_does_not_open_the_gate_for_a_spec_at_40(project: Path) -> None:
    _spec_done_at(project, 40)
    assert gate_of(status(project), "spec-approval")["unmet"], "40 % is below the threshold"
    tamper.threshold(project, 0)
    unmet = gate_of(status(project), "spec-approval")["unmet"]
    assert any("95" in item for item in unmet), f"the 95 % threshold is no longer in force: {unmet}"


def _reviewing(root: Path) -> dict[str, Any]:
    """Implement done with green checks, then a review session in which the tests fail."""
    complete_stage(root, "implement")
    session = start(root, "review")
    tamper.break_the_tests(root)
    return session


def _verify_and_done_refused(root: Path, session: dict[str, Any]) -> None:
    verify = run("verify", cwd=root)
    assert verify.returncode != 0, f"verify is green on failing tests:\n{verify.stdout}"
    do_work(root, session)
    done = run("done", cwd=root)
    refused_run(done, "verify", "test", "check")


def test_a_check_replaced_by_true_does_not_make_verify_green(project_at: Any) -> None:
    root = project_at("implement")
    session = _reviewing(root)
    tamper.checks_replaced_by_true(root)
    _verify_and_done_refused(root, session)


def test_deleting_the_verify_checks_does_not_make_verify_green(project_at: Any) -> None:
    root = project_at("implement")
    session = _reviewing(root)
    tamper.without_verify(root)
    _verify_and_done_refused(root, session)


def test_dropping_verify_from_implements_rules_does_not_let_failing_code_through(
    project_at: Any,
) -> None:
    root = project_at("implement")
    session = start(root, "implement")
    write_code(root)
    tamper.break_the_tests(root)
    tamper.stage_rules(root, "implement", "committed", "checklist")
    commit_all(root, "T1: reset links")  # the rule dropped in the same commit: the tree is clean
    tick(root / session["page"])
    done = run("done", cwd=root)
    refused_run(done, "verify", "test", "check")


def test_dropping_review_and_qa_from_the_stages_does_not_skip_them(project_at: Any) -> None:
    root = project_at("implement")
    complete_stage(root, "implement")
    tamper.without_stages(root, "review", "qa")
    action = sdd_json("next", cwd=root)
    assert action.get("stage") == "review", f"the next action skips review: {action}"

"""Final verification, deployment approval and `sdd release`, through the command line.

The whole pass of issue 6: user verification with one failure → fix → verify → review →
QA → user verification all pass → final verification → deployment approval → release with
its annotated tag. Then each thing that keeps deployment-approval closed (an uncertain
checklist item, a red verify, an open blocking finding), and the release's own refusals.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from helpers import commit_all, gate_of, git, pty_run, run, sdd_json, stage_of, status, tick
from late_helpers import (  # noqa: F401
    ALL_PASS,
    FIXED_CODE,
    ITEMS,
    RELEASE_OK,
    RELEASE_UNCERTAIN,
    SLUG,
    TESTS,
    TYPE_CODE,
    UNCERTAIN_ITEM,
    by_hand,
    decide,
    finish,
    git_tags,
    history,
    milestone_fixture,
    pty_dialogue,
    walk_all,
    write,
    write_code,
)

N = len(ITEMS)
APPROVE = r"Type [A-Z0-9]{4} to approve"
RELEASE_DOC = f"docs/releases/{SLUG}.md"
FAILING_TESTS = (
    TESTS + "\n    def test_broken(self) -> None:\n        self.fail('broken on purpose')\n"
)


def _records(root: Path, kind: str) -> list[dict[str, Any]]:
    return [r for r in history(root) if r["type"] == kind]


def _refused_deployment(root: Path) -> str:
    """`sdd approve deployment-approval` by a person at a terminal: refused, nothing recorded."""
    before = _records(root, "gate.approve")
    code, shown = pty_run(["sdd", "approve", "deployment-approval"], cwd=root, respond=None)
    assert code == 3, shown
    assert "Type " not in shown  # refused before any code is asked for
    assert _records(root, "gate.approve") == before
    assert gate_of(status(root), "deployment-approval")["state"] != "approved"
    return shown


def _gate_conditions(root: Path) -> list[str]:
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "gate-conditions", action
    assert action["gate"] == "deployment-approval"
    return action["unmet"]  # type: ignore[no-any-return]


def test_the_whole_pass_to_a_tagged_release(milestone: Any) -> None:
    root = milestone("uv-prepared")
    note = "Words are not case-folded: The and the counted apart"

    # 1. user verification (prepared by an agent) walked by the person, with one failure
    answers = [(i, "f", note) if i == "US-1.2" else (i, "p", None) for i in ITEMS]
    shown = walk_all(root, answers)
    assert "F-1" in shown and "Type " not in shown
    assert (root / "docs" / "verification" / f"{SLUG}-U1.md").exists()

    # 2. the fix: an implement session bound to the finding
    action = sdd_json("next", cwd=root)
    assert (action["stage"], action["finding"]) == ("implement", "F-1")
    fix = by_hand(root, "implement", code=FIXED_CODE)
    assert fix["finding"] == "F-1"
    found = sdd_json("findings", cwd=root)
    assert [(f["id"], f["status"], f["fixed_by"]) for f in found] == [
        ("F-1", "fixed", fix["session"])
    ]

    # 3. verify, green at the fix's commit
    verified = sdd_json("verify", cwd=root)
    assert verified["ok"] is True
    head = git("rev-parse", "HEAD", cwd=root).stdout.strip()
    assert verified["head"] == head

    # 4. review and QA again
    assert sdd_json("next", cwd=root)["stage"] == "review"
    by_hand(root, "review")
    by_hand(root, "qa")

    # 5. user verification prepared again and walked, every item passed; then the gate
    assert sdd_json("next", cwd=root)["stage"] == "user-verification"
    again = by_hand(root, "user-verification")
    assert again["writes"] == [f"docs/verification/{SLUG}-U2.md"]
    shown = walk_all(root)
    assert f"docs/verification/{SLUG}-U2.md" in shown
    shown = decide(root, "approve", "user-approval")
    assert "user-approval approved by Ada Tester" in shown

    # 6. final verification: the release checklist, complete on a green verify at HEAD
    assert sdd_json("next", cwd=root)["stage"] == "final-verification"
    final = by_hand(root, "final-verification")
    assert final["writes"] == [RELEASE_DOC]
    data = status(root)
    assert stage_of(data, "final-verification")["status"] == "done"
    assert gate_of(data, "deployment-approval")["state"] == "waiting"
    assert gate_of(data, "deployment-approval")["unmet"] == []

    # 7. deployment approval by the person; the post-mortem waits for the release
    shown = decide(root, "approve", "deployment-approval")
    assert RELEASE_DOC in shown
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "release"
    refused = run("start", "postmortem", cwd=root)
    assert refused.returncode == 3
    assert "sdd release" in refused.stderr

    # 8. the release, with its annotated tag at HEAD
    released = sdd_json("release", "--tag", "v1.0.0", cwd=root)
    approval = _records(root, "gate.approve")[-1]
    green = _records(root, "verify.run")[-1]
    assert approval["gate"] == "deployment-approval"
    assert green["ok"] is True and green["head"] == head
    assert released == {
        "cycle": 1,
        "version": "v1.0.0",
        "tag": "v1.0.0",
        "head": head,
        "verify_run": green["id"],
        "approval": approval["id"],
        "commit": released["commit"],
    }
    assert git_tags(root) == ["v1.0.0"]
    assert git("cat-file", "-t", "v1.0.0", cwd=root).stdout.strip() == "tag"  # annotated
    # the tag names sdd's records of the release, committed on the verified code
    tagged = git("rev-parse", "v1.0.0^{commit}", cwd=root).stdout.strip()
    assert tagged == released["commit"] != head
    assert git("rev-parse", f"{tagged}^", cwd=root).stdout.strip() == head
    record = _records(root, "release")
    assert len(record) == 1
    assert {k: record[0][k] for k in ("cycle", "version", "tag", "head", "verify", "approval")} == {
        "cycle": 1,
        "version": "v1.0.0",
        "tag": "v1.0.0",
        "head": head,
        "verify": green["id"],
        "approval": approval["id"],
    }
    assert "cycle 1 released as v1.0.0 (tag v1.0.0)" in run("log", cwd=root).stdout

    # the cycle moves on to the post-mortem
    action = sdd_json("next", cwd=root)
    assert (action["kind"], action["stage"]) == ("session", "postmortem")
    assert [s["stage"] for s in status(root)["sessions"]] == [
        "spec", "architecture", "plan", "implement", "review", "qa", "user-verification",
        "implement", "review", "qa", "user-verification", "final-verification",
    ]  # fmt: skip


def test_an_uncertain_item_keeps_deployment_closed(milestone: Any) -> None:
    root = milestone("fv-ready")
    by_hand(root, "final-verification", release=RELEASE_UNCERTAIN)
    # the checklist is written; the gate says what is uncertain, and does not pass
    data = status(root)
    gate = gate_of(data, "deployment-approval")
    assert gate["state"] == "waiting"
    assert any(UNCERTAIN_ITEM in problem for problem in gate["unmet"]), gate
    unmet = _gate_conditions(root)
    assert len(unmet) == 1
    assert RELEASE_DOC in unmet[0] and "uncertain" in unmet[0] and UNCERTAIN_ITEM in unmet[0]
    shown = _refused_deployment(root)
    assert UNCERTAIN_ITEM in shown
    assert "sdd release" not in sdd_json("next", cwd=root)["command"]
    refused = run("release", cwd=root)
    assert refused.returncode == 3, refused.stdout + refused.stderr

    # another final-verification session settles the item; then the person may approve
    by_hand(root, "final-verification", release=RELEASE_OK)
    assert gate_of(status(root), "deployment-approval")["unmet"] == []
    decide(root, "approve", "deployment-approval")
    assert sdd_json("next", cwd=root)["kind"] == "release"


def test_the_refusal_for_an_uncertain_item_points_at_the_checklist(milestone: Any) -> None:
    root = milestone("fv-ready")
    by_hand(root, "final-verification", release=RELEASE_UNCERTAIN)
    shown = _refused_deployment(root)
    assert "sdd start final-verification" in shown
    # the spec's questions have nothing to do with a release checklist
    assert "sdd questions" not in shown, shown


def test_a_red_verify_keeps_deployment_closed(milestone: Any) -> None:
    root = milestone("fv-ready")
    by_hand(root, "final-verification")
    # code changes after the checklist, and the suite goes red
    write(root, "tests/test_wordfreq.py", FAILING_TESTS)
    commit_all(root, "a change that breaks the suite")
    assert _gate_conditions(root) == ["no green `sdd verify` at HEAD"]
    red = run("verify", cwd=root)
    assert red.returncode == 1, red.stdout + red.stderr
    unmet = _gate_conditions(root)
    assert len(unmet) == 1 and "sdd verify" in unmet[0]
    shown = _refused_deployment(root)
    assert "no green `sdd verify` at HEAD" in shown
    # fixed, verified green: the person may approve
    write(root, "tests/test_wordfreq.py", TESTS)
    commit_all(root, "fixed")
    assert sdd_json("verify", cwd=root)["ok"] is True
    action = sdd_json("next", cwd=root)
    assert (action["kind"], action["gate"]) == ("gate", "deployment-approval")
    decide(root, "approve", "deployment-approval")
    assert sdd_json("next", cwd=root)["kind"] == "release"


def test_an_open_blocking_finding_keeps_deployment_closed(milestone: Any) -> None:
    root = milestone("fv-ready")
    by_hand(root, "final-verification")
    text = "the reset link leaks the user id"
    added = run(
        "findings", "add", text, "--severity", "blocking", "--stage", "final-verification", cwd=root
    )
    assert added.returncode == 0, added.stdout + added.stderr
    assert "F-1" in added.stdout
    shown = _refused_deployment(root)
    assert "F-1" in shown, f"the refusal must name the open blocking finding:\n{shown}"
    refused = run("release", cwd=root)
    assert refused.returncode == 3
    assert git_tags(root) == []


def test_final_verification_does_not_complete_with_an_open_blocking_finding(milestone: Any) -> None:
    root = milestone("fv-ready")
    session = sdd_json("start", "final-verification", cwd=root)
    write(root, RELEASE_DOC, RELEASE_OK)
    added = run("findings", "add", "tokens are logged in clear", "--severity", "blocking", cwd=root)
    assert added.returncode == 0, added.stdout + added.stderr
    assert sdd_json("findings", cwd=root)[0]["stage"] == "final-verification"
    tick(root / session["page"], "checklist written")
    done = run("done", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "F-1" in done.stderr and "tokens are logged in clear" in done.stderr
    data = status(root)
    assert data["sessions"][-1]["outcome"] == "open"
    assert gate_of(data, "deployment-approval")["state"] == "not-yet"


def test_final_verification_does_not_complete_without_a_green_verify(milestone: Any) -> None:
    root = milestone("fv-ready")
    session = sdd_json("start", "final-verification", cwd=root)
    write(root, RELEASE_DOC, RELEASE_OK)
    write(root, "tests/test_wordfreq.py", FAILING_TESTS)
    commit_all(root, "a change that breaks the suite")
    tick(root / session["page"], "checklist written")
    done = run("done", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no green `sdd verify` at HEAD" in done.stderr
    assert status(root)["sessions"][-1]["outcome"] == "open"
    # green again: the same session completes
    write(root, "tests/test_wordfreq.py", TESTS)
    commit_all(root, "fixed")
    finish(root, session)
    assert stage_of(status(root), "final-verification")["status"] == "done"


def test_release_is_refused_before_deployment_approval(milestone: Any) -> None:
    root = milestone("fv-ready")
    by_hand(root, "final-verification")
    error = sdd_json("release", "--tag", "v1.0.0", cwd=root, expect=3)
    assert "deployment-approval" in error["message"]
    result = run("release", cwd=root)
    assert result.returncode == 3
    assert "sdd approve deployment-approval" in result.stderr
    assert _records(root, "release") == []
    assert git_tags(root) == []


def test_release_without_a_tag_records_the_cycle_slug(milestone: Any) -> None:
    root = milestone("deploy-approved")
    head = git("rev-parse", "HEAD", cwd=root).stdout.strip()
    result = run("release", cwd=root)
    assert result.returncode == 0, result.stderr
    assert f"Cycle 1 released as {SLUG} at {head[:12]}" in result.stdout
    assert "sdd run postmortem" in result.stdout
    assert git_tags(root) == []  # no tag asked for, none made
    record = _records(root, "release")
    assert len(record) == 1
    assert (record[0]["version"], record[0]["tag"], record[0]["head"]) == (SLUG, None, head)
    # once only
    again = run("release", "--tag", "v1.0.0", cwd=root)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "already released" in again.stderr
    assert git_tags(root) == []
    assert len(_records(root, "release")) == 1
    assert sdd_json("next", cwd=root)["stage"] == "postmortem"


def test_release_refuses_a_bad_or_existing_tag(milestone: Any) -> None:
    root = milestone("deploy-approved")
    bad = run("release", "--tag", "v1..0", cwd=root)
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert "v1..0" in bad.stderr
    git("tag", "v1.0.0", cwd=root)  # a lightweight tag someone made by hand
    taken = run("release", "--tag", "v1.0.0", cwd=root)
    assert taken.returncode == 1, taken.stdout + taken.stderr
    assert "v1.0.0" in taken.stderr and "exists" in taken.stderr
    assert git("cat-file", "-t", "v1.0.0", cwd=root).stdout.strip() == "commit"  # left as it was
    assert _records(root, "release") == []
    assert sdd_json("next", cwd=root)["kind"] == "release"
    # a free tag works
    assert sdd_json("release", "--tag", "v1.0.1", cwd=root)["version"] == "v1.0.1"
    assert sorted(git_tags(root)) == ["v1.0.0", "v1.0.1"]


def test_release_rests_on_a_green_verify_at_head(milestone: Any) -> None:
    root = milestone("deploy-approved")
    write(root, "NOTES.txt", "a late change\n")
    commit_all(root, "a commit after the approval")
    result = run("release", "--tag", "v1.0.0", cwd=root)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "sdd verify" in result.stderr
    assert git_tags(root) == []
    assert _records(root, "release") == []


def test_findings_add_takes_its_options_first_as_its_usage_says(milestone: Any) -> None:
    """`sdd findings add` prints its usage as
    `sdd findings add --severity blocking|major|minor --stage STAGE "TEXT"`: that order works."""
    root = milestone("fv-ready")
    result = run(
        "findings", "add", "--severity", "minor", "--stage", "qa", "a typo in --help", cwd=root
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = sdd_json("findings", cwd=root)
    assert [(f["severity"], f["stage"], f["text"]) for f in found] == [
        ("minor", "qa", "a typo in --help")
    ]
    usage = run("findings", "add", cwd=root)
    assert usage.returncode == 2
    assert re.search(r"sdd findings add --severity \S+ --stage STAGE \"TEXT\"", usage.stderr), (
        usage.stderr
    )

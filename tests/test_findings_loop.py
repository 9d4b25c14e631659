"""Findings and the fix loop through the command line: QA records a blocking finding → the
cycle returns to implement → a fix session bound to it → verify → review → QA passes. A
finding closes only with its fix session and a green verify; waiving one is a person's
act, refused from inside a session. And `sdd demo` runs the whole loop, its documents
passing `sdd check --strict`, its implement, review and QA sessions backed by green
verify runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contract_helpers import (
    check_json,
    fake_agent_cli,
    finish,
    implement,
    line_of,
    pty_person,
    qa_report,
    records_of,
    review_report,
    session_json,
    stage_project_fixture,  # noqa: F401  (the `stage_project` fixture)
)
from helpers import (
    commit_all,
    complete_stage,
    history_lines,
    run,
    sdd_json,
    stage_of,
    status,
    tick,
    write_code,
)

TITLE = "Password reset"
BLOCKING = (
    "F1 (blocking; escaped from plan) reset.py, reset_link: a used reset link still works; "
    "the test plan has no case for reuse."
)
BLOCKING_TEXT = (
    "reset.py, reset_link: a used reset link still works; the test plan has no case for reuse."
)
BROKEN_TEST = """\
import unittest


class Reuse(unittest.TestCase):
    def test_a_used_link_is_refused(self) -> None:
        self.fail("a used link still works")
"""


def findings(root: Path) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in sdd_json("findings", cwd=root)}


def add_finding(root: Path, text: str, *options: str) -> dict[str, Any]:
    """`sdd findings add TEXT OPTIONS` (the text first: see test_findings_add_list_and_what_they_refuse
    for the documented order, options first)."""
    return sdd_json("findings", "add", text, *options, cwd=root)  # type: ignore[no-any-return]


def qa_with(root: Path, listed: list[str]) -> dict[str, Any]:
    session = session_json(root, "qa")
    (report,) = session["writes"]
    finish(
        root,
        session,
        {
            report: qa_report(
                TITLE, listed, "a used reset link still works" if listed else "nothing broke"
            )
        },
    )
    return session


def test_the_fix_loop_from_qa_back_to_implement_and_through_review_and_qa(
    stage_project: Any,
) -> None:
    root = stage_project("qa-next")
    qa = qa_with(root, [BLOCKING])  # QA completes: its suite is green, its report is valid

    found = findings(root)
    assert list(found) == ["F-1"]
    f1 = found["F-1"]
    assert (f1["severity"], f1["stage"], f1["escaped_from"], f1["status"]) == (
        "blocking",
        "qa",
        "plan",
        "open",
    )
    assert f1["text"] == BLOCKING_TEXT and f1["session"] == qa["session"]
    (added,) = records_of(root, "finding.add")
    assert added["source"] == qa["writes"][0]
    (reopen,) = records_of(root, "stage.reopen")
    assert reopen["stage"] == "implement" and reopen["caused_by"] == "qa"

    # the cycle is back at implement, to fix F-1
    data = status(root)
    assert data["next"]["kind"] == "session" and data["next"]["stage"] == "implement"
    assert data["next"]["finding"] == "F-1" and "fix F-1" in data["next"]["summary"]
    assert stage_of(data, "implement")["status"] == "ready"
    assert stage_of(data, "review")["status"] == "not-yet"
    assert stage_of(data, "qa")["status"] == "not-yet"
    refused = run("start", "review", cwd=root)
    assert refused.returncode == 3, refused.stdout + refused.stderr

    fix = session_json(root, "implement")
    assert fix["finding"] == "F-1" and fix["task"] is None
    brief = (root / fix["page"]).read_text(encoding="utf-8")
    assert "## Your fix: F-1 (blocking, found in qa; it escaped from plan)" in brief
    assert BLOCKING_TEXT in brief
    assert sdd_json("tasks", cwd=root)[0]["status"] == "done"  # the loop leaves T1 done

    # the fix: first a failing test (red: the session stays open, the finding too) …
    tick(root / fix["page"])
    (root / "tests" / "test_reuse.py").write_text(BROKEN_TEST, encoding="utf-8")
    commit_all(root, "F-1: a test that reproduces it")
    red = run("done", cwd=root)
    assert red.returncode == 1 and "no green `sdd verify` at HEAD" in red.stderr
    assert findings(root)["F-1"]["status"] == "open"
    assert status(root)["sessions"][-1]["outcome"] == "open"
    # … then the fix, committed: green verify at HEAD, the session completes, F-1 is fixed
    (root / "tests" / "test_reuse.py").write_text(
        BROKEN_TEST.replace('self.fail("a used link still works")', "self.assertTrue(True)"),
        encoding="utf-8",
    )
    fixed_head = commit_all(root, "F-1: a used link is refused")
    done = run("done", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    f1 = findings(root)["F-1"]
    assert f1["status"] == "fixed" and f1["fixed_by"] == fix["session"]
    (closed,) = records_of(root, "finding.fix")
    assert closed["finding"] == "F-1" and closed["session"] == fix["session"]
    green = [r for r in records_of(root, "verify.run") if r["ok"] and r["head"] == fixed_head]
    assert green and green[-1]["id"] < closed["id"]

    # review and QA again, in order
    data = status(root)
    assert data["next"]["stage"] == "review"
    assert stage_of(data, "implement")["status"] == "done"
    complete_stage(root, "review")
    assert sdd_json("next", cwd=root)["stage"] == "qa"
    qa_with(root, [])
    data = status(root)
    assert data["next"]["kind"] == "session" and data["next"]["stage"] == "user-verification"
    for stage in ("implement", "review", "qa"):
        assert stage_of(data, stage)["status"] == "done"
    assert [(f["id"], f["status"]) for f in data["findings"]] == [("F-1", "fixed")]

    # the loop is counted for the post-mortem, with the stage that caused it
    figures = sdd_json("postmortem", cwd=root)
    assert [loop["caused_by"] for loop in figures["loops"]] == ["qa"]
    assert figures["findings"]["escaped_from"] == {"plan": 1}


def test_each_blocking_finding_gets_its_own_fix_session(stage_project: Any) -> None:
    root = stage_project("qa-next")
    qa_with(
        root,
        [
            "F1 (blocking) reset.py: a used link still works",
            "F2 (blocking) reset.py: links never expire",
            "F3 (minor) reset.py: the docstring is missing",
        ],
    )
    rows = findings(root)
    assert [(i, r["severity"], r["status"]) for i, r in rows.items()] == [
        ("F-1", "blocking", "open"),
        ("F-2", "blocking", "open"),
        ("F-3", "minor", "open"),
    ]
    action = sdd_json("next", cwd=root)
    assert action["finding"] == "F-1" and "1 more blocking" in action["summary"]
    first = session_json(root, "implement")
    assert first["finding"] == "F-1"
    assert "Other open blocking findings get their own sessions: F-2" in (
        root / first["page"]
    ).read_text(encoding="utf-8")
    implement(root, first)
    rows = findings(root)
    assert (rows["F-1"]["status"], rows["F-2"]["status"]) == ("fixed", "open")
    assert sdd_json("next", cwd=root)["finding"] == "F-2"
    second = session_json(root, "implement")
    assert second["finding"] == "F-2"
    implement(root, second)
    rows = findings(root)
    assert rows["F-2"]["status"] == "fixed" and rows["F-2"]["fixed_by"] == second["session"]
    assert rows["F-3"]["status"] == "open"  # a minor finding does not hold the cycle
    assert sdd_json("next", cwd=root)["stage"] == "review"


def test_a_finding_added_during_qa_sends_the_cycle_through_review_and_qa_again(
    stage_project: Any,
) -> None:
    """`sdd findings add` while the QA session is open (the stage is the session's): the QA
    session still completes, but the code changes after it, so QA runs again after review."""
    root = stage_project("qa-next")
    qa = session_json(root, "qa")
    added = add_finding(root, "reset.py: a used link still works", "--severity", "blocking")
    assert findings(root)[added["id"]]["stage"] == "qa"
    finish(root, qa, {qa["writes"][0]: qa_report(TITLE, [])})
    fix = session_json(root, "implement")
    assert fix["finding"] == added["id"]
    implement(root, fix)
    data = status(root)
    assert data["next"]["stage"] == "review"
    assert stage_of(data, "qa")["status"] != "done", "QA judged the code before its fix"
    complete_stage(root, "review")
    assert sdd_json("next", cwd=root)["stage"] == "qa"


def test_findings_of_a_report_are_recorded_once_when_the_session_completes(
    stage_project: Any,
) -> None:
    root = stage_project("qa-next")
    qa = session_json(root, "qa")
    (report,) = qa["writes"]
    (root / report).write_text(qa_report(TITLE, [BLOCKING]), encoding="utf-8")
    tick(root / qa["page"])
    (root / "tests" / "test_reuse.py").write_text(BROKEN_TEST, encoding="utf-8")
    commit_all(root, "QA's reproduction, red")
    assert run("done", cwd=root).returncode == 1  # red: not complete, nothing recorded yet
    assert findings(root) == {}
    assert records_of(root, "stage.reopen") == []
    (root / "tests" / "test_reuse.py").unlink()
    commit_all(root, "the reproduction moves to the fix session")
    assert run("done", cwd=root).returncode == 0
    assert list(findings(root)) == ["F-1"]
    assert len(records_of(root, "finding.add")) == 1
    assert len(records_of(root, "stage.reopen")) == 1


def test_a_finding_closes_only_with_its_fix_session_and_a_green_verify(stage_project: Any) -> None:
    root = stage_project("qa-next")
    added = add_finding(
        root, "reset.py: tokens are guessable", "--severity", "blocking", "--stage", "qa"
    )
    assert added["id"] == "F-1"

    # there is no command that closes a finding by hand
    for verb in ("close", "fix", "done"):
        attempt = run("findings", verb, "F-1", cwd=root)
        assert attempt.returncode == 2, attempt.stdout + attempt.stderr
    # a green verify on its own closes nothing
    assert run("verify", cwd=root).returncode == 0
    assert findings(root)["F-1"]["status"] == "open"
    # a task's implement session cannot stand in for the fix
    other = run("start", "implement", "--task", "T1", cwd=root)
    assert other.returncode == 3, other.stdout + other.stderr
    # an abandoned fix session closes nothing
    session = session_json(root, "implement")
    assert session["finding"] == "F-1"
    assert run("abandon", "--reason", "later", cwd=root).returncode == 0
    assert findings(root)["F-1"]["status"] == "open"
    # a fix session with a red verify stays open, and so does the finding
    session = session_json(root, "implement")
    write_code(root)
    (root / "tests" / "test_tokens.py").write_text(BROKEN_TEST, encoding="utf-8")
    commit_all(root, "F-1: a red test")
    tick(root / session["page"])
    assert run("done", cwd=root).returncode == 1
    assert findings(root)["F-1"]["status"] == "open"
    assert sdd_json("next", cwd=root)["kind"] == "finish-session"
    # uncommitted work is not a fix either, even with the suite green
    (root / "tests" / "test_tokens.py").write_text(
        BROKEN_TEST.replace('self.fail("a used link still works")', "self.assertTrue(True)"),
        encoding="utf-8",
    )
    result = run("done", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert findings(root)["F-1"]["status"] == "open"
    # committed and green: closed
    commit_all(root, "F-1: tokens are random")
    assert run("done", cwd=root).returncode == 0
    assert findings(root)["F-1"]["status"] == "fixed"
    assert findings(root)["F-1"]["fixed_by"] == session["session"]


def test_waiving_is_a_persons_act_refused_inside_a_session(
    stage_project: Any, tmp_path: Path
) -> None:
    root = stage_project("qa-next")
    add_finding(root, "reset.py: no rate limit", "--severity", "blocking", "--stage", "qa")
    argv = ["sdd", "findings", "waive", "F-1", "--reason", "accepted for the first release"]

    assert run("findings", "waive", "F-1", cwd=root).returncode == 2  # a reason is required
    no_tty = run(*argv[1:], cwd=root)
    assert no_tty.returncode == 3 and "person" in no_tty.stderr

    # from inside the fix session sdd launched: refused, even at a terminal with the code typed
    session = session_json(root, "implement")
    before = history_lines(root)
    code, output = pty_person(argv, cwd=root, env={"SDD_SESSION_ID": session["session"]})
    assert code == 3, output
    assert "SDD_SESSION_ID" in output and "Type " not in output
    agent = fake_agent_cli(tmp_path / "agents", "codex", " ".join(f"'{a}'" for a in argv))
    code, output = pty_person([str(agent)], cwd=root, respond=None)
    assert code == 3, output
    assert "agent saw exit 3" in output and "codex" in output
    code, output = pty_person(argv, cwd=root, respond="WXYZ")  # a wrong code
    assert code == 1 and "did not match" in output
    assert history_lines(root) == before
    assert findings(root)["F-1"]["status"] == "open"

    # a person at their own terminal
    code, output = pty_person(argv, cwd=root)
    assert code == 0, output
    assert "to waive it" in output and "F-1 waived" in output
    f1 = findings(root)["F-1"]
    assert f1["status"] == "waived"
    assert f1["waived_by"]["name"] == "Ada Tester"
    assert f1["waive_reason"] == "accepted for the first release"
    (waived,) = records_of(root, "finding.waive")
    assert waived["finding"] == "F-1" and waived["by"]["kind"] == "person"
    again = pty_person(argv, cwd=root)
    assert again[0] == 1 and "already waived" in again[1]


def test_after_a_waiver_the_cycle_goes_on(stage_project: Any) -> None:
    """The waived finding no longer holds the cycle at implement: the fix session that was
    open can complete without a fix, or review comes next."""
    root = stage_project("qa-next")
    add_finding(root, "reset.py: no rate limit", "--severity", "blocking", "--stage", "qa")
    code, output = pty_person(["sdd", "findings", "waive", "F-1", "--reason", "accepted"], cwd=root)
    assert code == 0, output
    data = status(root)
    assert [(f["id"], f["status"]) for f in data["findings"]] == [("F-1", "waived")]
    action = data["next"]
    assert "finding" not in action, action
    if action["kind"] == "session" and action["stage"] == "implement":
        # implement was reopened by the finding: a session of it must be able to start
        started = run("start", "implement", "--json", cwd=root)
        assert started.returncode == 0, started.stdout + started.stderr
    else:
        assert action["kind"] == "session" and action["stage"] in ("review", "qa"), action


def test_review_requesting_changes_loops_back_and_review_runs_again(stage_project: Any) -> None:
    root = stage_project("review-next")
    session = session_json(root, "review")
    (report,) = session["writes"]
    # changes requested without a finding: the report breaks its contract; nothing recorded
    (root / report).write_text(
        review_report(TITLE, [], verdict="changes-requested"), encoding="utf-8"
    )
    tick(root / session["page"])
    finish_result = run("done", cwd=root)
    assert finish_result.returncode == 1
    assert "changes-requested names at least one finding" in finish_result.stderr
    assert findings(root) == {}

    finding = "F1 (blocking) reset.py:2: the link carries the user name in clear text"
    (root / report).write_text(
        review_report(TITLE, [finding], verdict="changes-requested"), encoding="utf-8"
    )
    assert run("done", cwd=root).returncode == 0
    f1 = findings(root)["F-1"]
    assert (f1["stage"], f1["severity"], f1["status"]) == ("review", "blocking", "open")
    assert f1["text"] == "reset.py:2: the link carries the user name in clear text"
    action = sdd_json("next", cwd=root)
    assert action["stage"] == "implement" and action["finding"] == "F-1"

    fix = session_json(root, "implement")
    assert fix["finding"] == "F-1"
    implement(root, fix)
    assert findings(root)["F-1"]["status"] == "fixed"
    assert sdd_json("next", cwd=root)["stage"] == "review"
    second = session_json(root, "review")
    assert second["writes"] != session["writes"]  # a second report: R2
    assert second["writes"][0].endswith("-R2.md")


def test_findings_listed_in_a_report_must_parse(stage_project: Any) -> None:
    root = stage_project("qa-next")
    session = session_json(root, "qa")
    (report,) = session["writes"]
    text = qa_report(TITLE, ["F1 blocking: the form accepts an empty e-mail"])
    (root / report).write_text(text, encoding="utf-8")
    tick(root / session["page"])
    result = run("done", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    line = line_of(text, "F1 blocking")
    assert (
        f"{report}:{line}: a finding is `- Fn (blocking|major|minor) where: what`" in result.stderr
    )
    assert findings(root) == {}
    assert status(root)["sessions"][-1]["outcome"] == "open"


def test_findings_add_in_the_documented_order(stage_project: Any) -> None:
    """`sdd findings add --severity S --stage STAGE [--escaped-from STAGE] TEXT`: options first."""
    root = stage_project("qa-next")
    major = sdd_json(
        "findings",
        "add",
        "--severity",
        "major",
        "--stage",
        "qa",
        "--escaped-from",
        "plan",
        "reset.py: the e-mail is not normalised",
        cwd=root,
    )
    assert major["id"] == "F-1"
    row = findings(root)["F-1"]
    assert (row["severity"], row["stage"], row["escaped_from"]) == ("major", "qa", "plan")
    assert row["text"] == "reset.py: the e-mail is not normalised"
    plain = run("findings", "add", "--severity", "minor", "--stage", "review", "a typo", cwd=root)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "F-2 recorded (minor)" in plain.stdout


def test_findings_add_list_and_what_they_refuse(stage_project: Any) -> None:
    root = stage_project("qa-next")
    major = add_finding(
        root,
        "reset.py: the e-mail is not normalised",
        "--severity",
        "major",
        "--stage",
        "qa",
        "--escaped-from",
        "plan",
    )
    minor = add_finding(root, "typo in a message", "--severity", "minor", "--stage", "review")
    assert (major["id"], minor["id"]) == ("F-1", "F-2")
    rows = findings(root)
    assert (rows["F-1"]["severity"], rows["F-1"]["stage"], rows["F-1"]["escaped_from"]) == (
        "major",
        "qa",
        "plan",
    )
    assert rows["F-1"]["text"] == "reset.py: the e-mail is not normalised"
    assert rows["F-2"]["escaped_from"] is None and rows["F-2"]["status"] == "open"
    # findings that do not block leave the cycle where it was (QA may start), but the major
    # one's fix session is what comes next: it must be fixed before final verification
    action = sdd_json("next", cwd=root)
    assert action["finding"] == "F-1" and action["command"] == "sdd start implement --finding F-1"
    assert stage_of(status(root), "qa")["status"] == "ready"
    text = run("findings", cwd=root)
    assert text.returncode == 0
    line = next(ln for ln in text.stdout.splitlines() if "F-1" in ln)
    assert "major" in line and "escaped from plan" in line and "open" in line

    before = history_lines(root)
    for options in (
        ["--severity", "fatal", "--stage", "qa"],  # not a severity
        ["--severity", "major", "--stage", "nowhere"],  # not a stage
        ["--severity", "major", "--stage", "qa", "--escaped-from", "qa"],  # not an earlier stage
        ["--severity", "major", "--stage", "qa", "--escaped-from", "postmortem"],
        ["--severity", "major"],  # which stage found it? no session is open to tell
        ["--stage", "qa"],  # no severity
    ):
        result = run("findings", "add", "x", *options, cwd=root)
        assert result.returncode == 2, (options, result.stdout, result.stderr)
        assert "unrecognized arguments" not in result.stderr
    assert history_lines(root) == before

    # inside a session, the stage is the session's
    session_json(root, "qa")
    inside = add_finding(root, "the button is misaligned", "--severity", "minor")
    assert findings(root)[inside["id"]]["stage"] == "qa"


# ----------------------------------------------------------------------------- the demo


def test_the_demo_runs_the_loop_on_evidence_and_its_documents_pass_strict(work: Path) -> None:
    result = run("demo", "tour", cwd=work)
    assert result.returncode == 0, result.stdout + result.stderr
    root = work / "tour"

    data = check_json(root, "--strict", expect=0)
    assert data["ok"] is True and data["errors"] == 0 and data["warnings"] == 0
    reports = sorted(
        str(p.relative_to(root))
        for folder in ("reviews", "test-reports", "releases")
        for p in (root / "docs" / folder).glob("*.md")
    )
    assert any("/reviews/" in r for r in reports) and any("/test-reports/" in r for r in reports)
    data = check_json(root, "--strict", *reports, expect=0)
    assert data["messages"] == []

    # the loop: QA found F-1 (blocking, escaped from plan) and F-2 (major); a fix session
    # closed each, the major one before final verification; review and QA ran again
    rows = findings(root)
    assert list(rows) == ["F-1", "F-2"]
    assert (rows["F-1"]["stage"], rows["F-1"]["escaped_from"], rows["F-1"]["status"]) == (
        "qa",
        "plan",
        "fixed",
    )
    assert (rows["F-2"]["severity"], rows["F-2"]["status"]) == ("major", "fixed")
    starts = {r["session"]: r for r in records_of(root, "session.start")}
    assert starts[rows["F-1"]["fixed_by"]]["finding"] == "F-1"
    assert starts[rows["F-2"]["fixed_by"]]["finding"] == "F-2"
    final = next(r for r in records_of(root, "session.start") if r["stage"] == "final-verification")
    fixes = [r for r in records_of(root, "finding.fix") if r["finding"] == "F-2"]
    assert fixes and fixes[0]["id"] < final["id"] and fixes[0]["commit"]
    stages = [r["stage"] for r in records_of(root, "session.start")]
    assert stages.count("review") == 2 and stages.count("qa") == 2

    # every implement, review and QA session is backed by a green verify at the HEAD it ended at
    runs = records_of(root, "verify.run")
    for end in records_of(root, "session.end"):
        stage = starts[end["session"]]["stage"]
        if stage not in ("implement", "review", "qa"):
            continue
        assert end["outcome"] == "complete"
        backing = [r for r in runs if r["ok"] and r["head"] == end["head"] and r["id"] < end["id"]]
        assert backing, f"{end['session']} ({stage}) has no green verify at {end['head']}"
        for check in backing[-1]["checks"]:
            assert check["passed"] and check["exit_code"] == 0 and check["timed_out"] is False

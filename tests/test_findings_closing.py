"""Findings close the loop (issue 17, point 4, and the way back of point 5), through the
command line with real git:

- a report's finding ids and the tracker's are the same: sdd writes its ids into the report;
- a major finding is fixed (by the fix session `sdd next` names) or waived by a person
  before final verification starts; the fix resolves it with its commit and a green verify;
- the next review's brief lists the findings to confirm, the commit the last review saw and
  what changed since;
- after final verification lists UNCERTAIN items, `sdd next` names the way back (each item
  a finding, the fix loop), which the tool accepts, and a different alternative;
- reopening a done task is a person's act, and a finding can name the task it reopens.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

from contract_helpers import qa_report as qa_text
from contract_helpers import (
    records_of,
    review_report,
    session_json,
    stage_project_fixture,  # noqa: F401  (the `stage_project` fixture)
)
from helpers import (
    commit_all,
    complete_stage,
    git,
    history_lines,
    init_project,
    person_runs,
    pty_run,
    run,
    sdd_json,
    tick,
    write_code,
)
from late_helpers import (  # noqa: F401  (the `milestone` fixture)
    RELEASE_UNCERTAIN,
    UNCERTAIN_ITEM,
    by_hand,
    milestone_fixture,
)

TITLE = "Password reset"
MAJOR = "reset.py, reset_link: the link carries the user name in clear text"


def findings(root: Path) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in sdd_json("findings", cwd=root)}


def head(root: Path) -> str:
    return git("rev-parse", "HEAD", cwd=root).stdout.strip()


def run_command(root: Path, command: str) -> Any:
    """The command `sdd next` named, run as it stands (placeholders aside)."""
    argv = shlex.split(command)
    assert argv[0] == "sdd", command
    return run(*argv[1:], cwd=root)


def report_of(root: Path, session: dict[str, Any], text: str) -> Path:
    (report,) = session["writes"]
    path = root / report
    path.write_text(text, encoding="utf-8")
    tick(root / session["page"])
    return path


def implement(root: Path, session: dict[str, Any]) -> None:
    """An implement session's work: a change to the code (within the task's or the
    finding's place, reset.py) and its tests, committed; then `sdd done`, which must pass."""
    write_code(root)
    with (root / "reset.py").open("a", encoding="utf-8") as code:
        code.write(f"\n# {session['session']}: {session['task'] or session['finding']}\n")
    commit_all(root, f"{session['session']}: {session['task'] or session['finding']}")
    tick(root / session["page"], f"{session['stage']}: done as the brief asked.")
    done = run("done", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr


def review_with_major(root: Path) -> tuple[dict[str, Any], Path]:
    """The review session lists one major finding, numbered as a report would (`F1`)."""
    review = session_json(root, "review")
    path = report_of(root, review, review_report(TITLE, [f"F1 (major) {MAJOR}"]))
    done = run("done", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    return review, path


def fix_it(root: Path, action: dict[str, Any]) -> dict[str, Any]:
    """Run the fix session `next` names: code and its test committed, `sdd done` green."""
    started = run_command(root, action["command"] + " --json")
    assert started.returncode == 0, started.stdout + started.stderr
    session = json.loads(started.stdout)["data"]
    assert session["finding"] == action["finding"], session
    implement(root, session)
    return session  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- one id


def test_a_qa_reports_finding_ids_are_the_trackers(stage_project: Any) -> None:
    root = stage_project("qa-next")
    # the tracker already holds F-1, so the report's F1 and F2 cannot keep their numbers
    earlier = sdd_json(
        "findings", "add", "--severity", "minor", "--stage", "review", "a typo", cwd=root
    )
    assert earlier["id"] == "F-1"
    qa = session_json(root, "qa")
    brief = (root / qa["page"]).read_text(encoding="utf-8")
    assert "Number new findings from F-2 on" in brief  # the brief says which ids come next
    listed = [
        "F1 (blocking) reset.py: a used reset link still works",
        "F2 (major; escaped from plan) reset.py: links never expire (see F1 for the reuse)",
    ]
    path = report_of(root, qa, qa_text(TITLE, listed))
    done = run("done", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "F1 → F-2" in done.stdout and "F2 → F-3" in done.stdout  # never silently

    rows = findings(root)
    assert [(i, r["severity"]) for i, r in rows.items()] == [
        ("F-1", "minor"),
        ("F-2", "blocking"),
        ("F-3", "major"),
    ]
    text = path.read_text(encoding="utf-8")
    in_report = re.findall(r"^- (F-?\d+) \(", text, flags=re.M)
    assert in_report == ["F-2", "F-3"], text
    assert "(see F-2 for the reuse)" in text  # the report's own references follow
    assert rows["F-3"]["text"] == "reset.py: links never expire (see F1 for the reuse)"
    assert [r["finding"] for r in records_of(root, "finding.add")] == ["F-1", "F-2", "F-3"]
    # the report as completed is the report as sdd numbered it
    (end,) = [e for e in records_of(root, "session.end") if e["session"] == qa["session"]]
    assert end["outputs"] == {qa["writes"][0]: end["outputs"][qa["writes"][0]]}
    assert run("check", qa["writes"][0], cwd=root).returncode == 0
    # and the tracker page names the same ids
    tracker = (root / "docs" / "session-tracker.md").read_text(encoding="utf-8")
    assert "| F-2 | blocking | qa | open |" in tracker and "| F-3 | major | qa | open |" in tracker


def test_a_report_that_uses_sdds_ids_is_left_as_it_is(stage_project: Any) -> None:
    root = stage_project("qa-next")
    qa = session_json(root, "qa")
    path = report_of(root, qa, qa_text(TITLE, ["F-1 (minor) reset.py: a docstring is missing"]))
    before = path.read_text(encoding="utf-8")
    done = run("done", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "renumbered" not in done.stdout
    assert path.read_text(encoding="utf-8") == before
    assert list(findings(root)) == ["F-1"]


# ----------------------------------------------------------------------------- major findings


def test_a_major_finding_from_review_is_fixed_by_the_session_next_names(
    stage_project: Any,
) -> None:
    root = stage_project("review-next")
    _review, path = review_with_major(root)
    assert "- F-1 (major)" in path.read_text(encoding="utf-8")
    assert findings(root)["F-1"]["status"] == "open"
    assert records_of(root, "stage.reopen") == []  # a major finding does not reopen implement

    action = sdd_json("next", cwd=root)
    assert action["kind"] == "session" and action["finding"] == "F-1", action
    assert action["command"] == "sdd start implement --finding F-1"
    assert action["alternative"] != action["command"] and "waive F-1" in action["alternative"]
    fix = fix_it(root, action)
    fixed_at = head(root)

    row = findings(root)["F-1"]
    assert (row["status"], row["fixed_by"], row["commit"]) == ("fixed", fix["session"], fixed_at)
    (closed,) = records_of(root, "finding.fix")
    assert closed["commit"] == fixed_at
    (green,) = [r for r in records_of(root, "verify.run") if r["id"] == closed["verify"]]
    assert green["ok"] is True and green["head"] == fixed_at
    assert f"F-1 fixed by {fix['session']} at {fixed_at[:12]}" in run("log", cwd=root).stdout
    # the code changed after review: review runs again
    assert sdd_json("next", cwd=root)["stage"] == "review"


def test_a_major_finding_keeps_final_verification_from_starting_until_fixed(
    milestone: Any,
) -> None:
    root = milestone("fv-ready")
    added = sdd_json(
        "findings",
        "add",
        "--severity",
        "major",
        "--stage",
        "qa",
        "wordfreq.py: --top is ignored",
        cwd=root,
    )
    ident = added["id"]
    refused = run("start", "final-verification", cwd=root)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert f"major finding is open: {ident}" in refused.stderr
    assert f"sdd start implement --finding {ident}" in refused.stderr

    action = sdd_json("next", cwd=root)
    assert action["command"] == f"sdd start implement --finding {ident}", action
    fix = fix_it(root, action)  # past user-approval: the fix session is admitted all the same
    row = findings(root)[ident]
    assert (row["status"], row["fixed_by"], row["commit"]) == ("fixed", fix["session"], head(root))
    # no longer held by the finding: final verification now waits for review, QA and the person
    again = run("start", "final-verification", cwd=root)
    assert again.returncode == 3 and "major finding" not in again.stderr, again.stderr
    assert sdd_json("next", cwd=root)["stage"] == "review"


def test_a_person_may_waive_the_major_finding_instead(milestone: Any) -> None:
    root = milestone("fv-ready")
    ident = sdd_json(
        "findings",
        "add",
        "--severity",
        "major",
        "--stage",
        "qa",
        "the help text is terse",
        cwd=root,
    )["id"]
    assert run("start", "final-verification", cwd=root).returncode == 3
    action = sdd_json("next", cwd=root)
    waive = shlex.split(action["alternative"].replace('"WHY"', '"terse is fine for now"'))
    code, shown = person_runs(root, *waive[1:])
    assert code == 0, shown
    assert findings(root)[ident]["status"] == "waived"
    assert sdd_json("next", cwd=root)["stage"] == "final-verification"
    started = run("start", "final-verification", cwd=root)
    assert started.returncode == 0, started.stdout + started.stderr


# ----------------------------------------------------------------------------- the next review


def test_the_second_reviews_brief_lists_the_findings_to_confirm(stage_project: Any) -> None:
    root = stage_project("review-next")
    first, _ = review_with_major(root)
    seen = next(e for e in records_of(root, "session.end") if e["session"] == first["session"])
    fix = fix_it(root, sdd_json("next", cwd=root))
    fixed_at = head(root)
    sdd_json("findings", "add", "--severity", "minor", "--stage", "review", "a typo", cwd=root)

    second = session_json(root, "review")
    brief = (root / second["page"]).read_text(encoding="utf-8")
    assert "Findings to confirm" in brief
    assert f"saw commit {seen['head'][:12]}" in brief
    assert f"git diff --stat {seen['head'][:12]}..HEAD" in brief
    assert "reset.py" in brief.split("Findings to confirm")[1]  # the diff stat names the fix
    resolved = next(line for line in brief.splitlines() if "F-1 (major" in line)
    assert f"fixed by {fix['session']} at {fixed_at[:12]}" in resolved
    assert MAJOR in resolved
    assert "F-2 (minor, found in review): a typo" in brief  # still open
    assert "Number new findings from F-3 on" in brief
    # `sdd prompt` gives the open session's brief with the same list
    assert f"fixed by {fix['session']}" in sdd_json("prompt", "review", cwd=root)["brief"]


# ----------------------------------------------------------------------------- the way back


def test_after_uncertain_items_next_names_the_way_back_and_a_different_alternative(
    milestone: Any, tmp_path: Path
) -> None:
    root = milestone("fv-ready")
    by_hand(root, "final-verification", release=RELEASE_UNCERTAIN)
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "gate-conditions", action
    assert action["alternative"] != action["command"], action

    # the alternative is accepted too: another final-verification session settles the items
    other = tmp_path / "other"
    shutil.copytree(root, other, symlinks=True)
    alternative = run_command(other, action["alternative"])
    assert alternative.returncode == 0, alternative.stdout + alternative.stderr

    # the way back: each uncertain item becomes a blocking finding, and the fix loop runs
    taken = run_command(root, action["command"])
    assert taken.returncode == 0, taken.stdout + taken.stderr
    rows = [r for r in findings(root).values() if r["stage"] == "final-verification"]
    assert len(rows) == 1 and UNCERTAIN_ITEM in rows[0]["text"], rows
    assert rows[0]["severity"] == "blocking" and rows[0]["status"] == "open"
    after = sdd_json("next", cwd=root)
    assert (after["stage"], after.get("finding")) == ("implement", rows[0]["id"]), after
    assert run_command(root, after["command"] + " --json").returncode == 0
    # the same items are not recorded twice
    assert run("findings", "from-release", cwd=root).returncode == 3


# ----------------------------------------------------------------------------- reopening a task


def test_reopening_a_done_task_is_a_persons_act(stage_project: Any, tmp_path: Path) -> None:
    root = stage_project("qa-next")  # T1 implemented and reviewed
    assert sdd_json("tasks", cwd=root)[0]["status"] == "done"
    reason = "the link must expire after 30 minutes, which T1 left out"
    argv = ["tasks", "reopen", "T1", "--reason", reason]
    before = history_lines(root)

    no_tty = run(*argv, cwd=root)  # an agent's shell: no terminal
    assert no_tty.returncode == 3 and "person" in no_tty.stderr, no_tty.stderr
    code, shown = pty_run(["sdd", *argv], cwd=root, env={"SDD_SESSION_ID": "S-0042"})
    assert code == 3 and "Type " not in shown, shown  # from inside a session: refused
    code, shown = pty_run(["sdd", *argv], cwd=root, respond="WXYZ")  # a wrong code
    assert code == 1 and "did not match" in shown, shown
    assert history_lines(root) == before
    assert sdd_json("tasks", cwd=root)[0]["status"] == "done"
    assert run("tasks", "reopen", "T1", cwd=root).returncode == 2  # a reason is needed

    code, shown = person_runs(root, *argv)
    assert code == 0, shown
    assert "to reopen it" in shown and "T1 reopened" in shown
    (reopened,) = records_of(root, "task.reopen")
    assert (reopened["task"], reopened["reason"]) == ("T1", reason)
    assert reopened["by"]["name"] == "Ada Tester" and reopened["by"]["kind"] == "person"
    assert sdd_json("tasks", cwd=root)[0]["status"] == "pending"
    assert "T1 reopened by Ada Tester" in run("log", cwd=root).stdout

    action = sdd_json("next", cwd=root)
    assert (action["kind"], action["stage"]) == ("session", "implement"), action
    session = session_json(root, "implement")
    assert session["task"] == "T1"
    assert reason in (root / session["page"]).read_text(encoding="utf-8")
    implement(root, session)
    assert sdd_json("tasks", cwd=root)[0]["status"] == "done"
    assert sdd_json("next", cwd=root)["stage"] == "review"  # the work is judged again
    assert run("tasks", "reopen", "T9", "--reason", "x", cwd=root).returncode in (2, 3)


def test_a_finding_names_the_task_it_reopens(stage_project: Any) -> None:
    root = stage_project("qa-next")
    ident = sdd_json(
        "findings", "add", "--severity", "major", "--stage", "review", MAJOR, cwd=root
    )["id"]
    code, shown = person_runs(
        root, "tasks", "reopen", "T1", "--reason", "the link leaks", "--finding", ident
    )
    assert code == 0, shown
    assert findings(root)[ident]["reopens"] == "T1"
    session = session_json(root, "implement")
    assert (session["task"], session["finding"]) == ("T1", ident)
    implement(root, session)
    row = findings(root)[ident]
    assert (row["status"], row["fixed_by"], row["commit"]) == (
        "fixed",
        session["session"],
        head(root),
    )


def test_in_a_signed_project_reopening_a_task_is_signed_by_an_approver(work: Path) -> None:
    from redteam.person import Person

    root = init_project(work, name="signed")
    person = Person.make(work / "ada")
    person.signs_commits_in(root)
    person.adds_approver(root, person.key, person.name)
    complete_stage(root, "spec")
    person.does(root, "approve", "spec-approval")
    complete_stage(root, "architecture")
    complete_stage(root, "plan")
    person.does(root, "approve", "implementation-approval")
    complete_stage(root, "implement")
    assert sdd_json("tasks", cwd=root)[0]["status"] == "done"

    # without an approver's key (git names none here), the act is refused
    git("config", "--unset", "user.signingkey", cwd=root)
    code, shown = person.act(root, "tasks", "reopen", "T1", "--reason", "not signed")
    assert code == 3 and "signing key" in shown, shown
    assert records_of(root, "task.reopen") == []

    person.signs_commits_in(root)
    person.does(root, "tasks", "reopen", "T1", "--reason", "the expiry is missing")
    (reopened,) = records_of(root, "task.reopen")
    assert reopened["sig"]["signature"] and reopened["by"]["key"]
    assert sdd_json("tasks", cwd=root)[0]["status"] == "pending"  # it counts
    assert sdd_json("next", cwd=root)["stage"] == "implement"

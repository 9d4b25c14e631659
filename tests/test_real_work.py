"""Every "done" rests on real work, and the test plan reaches the code (issue 17, points 1
and 2), through the command line with real git:

- an implement session that ticks its checklist, writes "Nothing to do really." and commits
  only its page is refused, and its task stays open; work within the task's `Scope:`
  completes it; a file changed outside the scope is listed and needs a reason in the handoff;
- a spec session that leaves the spec as it was does not complete;
- a task's `Test cases:` naming a case the test plan lacks is an error of `sdd check`, and the
  implement brief carries the task's own test cases;
- `sdd check --code` names a done task's test case that no test names and a test naming an
  unknown id; final verification does not complete until it is clean.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from helpers import (
    approve,
    commit_all,
    do_work,
    drive,
    git,
    init_project,
    run,
    sdd_json,
    tick,
    write_code,
)

PLAN = "docs/implementation-plan.md"
SPEC = "docs/product-spec.md"
NOTHING = "Nothing to do really."
OUTSIDE = "### Outside the scope"


def tasks(root: Path) -> dict[str, str]:
    return {row["id"]: row["status"] for row in sdd_json("tasks", cwd=root)}


def refused_done(root: Path) -> str:
    """`sdd done`, refused: the session stays open; returns what it printed."""
    result = run("done", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "is not complete; it stays open" in result.stderr
    return result.stderr


def commit_page(root: Path, session: dict[str, Any], message: str) -> None:
    git("add", session["page"], cwd=root)
    git("commit", "-q", "-m", message, cwd=root)


def test_an_implement_session_completes_only_with_work_in_its_scope(project_at: Any) -> None:
    root = project_at("implement")
    commit_all(root, "the approved documents")  # the tree is clean when the session starts
    session = sdd_json("start", "implement", cwd=root)
    assert session["task"] == "T1"
    tick(root / session["page"], NOTHING)
    commit_page(root, session, "T1: nothing to do")

    shown = refused_done(root)
    assert "no committed change within the task T1's scope (`reset.py`, `tests/`)" in shown
    assert tasks(root)["T1"] != "done"
    assert sdd_json("status", cwd=root)["sessions"][-1]["outcome"] == "open"

    # A document alone is not the task's work either.
    (root / "docs" / "notes.md").write_text("# Notes\n\nThought about it.\n", encoding="utf-8")
    commit_all(root, "T1: notes")
    shown = refused_done(root)
    assert "no committed change within the task T1's scope" in shown
    assert "docs/notes.md" in shown  # outside the scope, and listed
    assert tasks(root)["T1"] != "done"

    # The work itself, within the scope: the session completes and the task is done.
    git("rm", "-q", "docs/notes.md", cwd=root)
    write_code(root)
    commit_all(root, "T1: reset links")
    result = run("done", cwd=root)
    assert result.returncode == 0, result.stderr
    assert tasks(root)["T1"] == "done"


def test_a_file_changed_outside_the_scope_is_listed_and_needs_a_reason(project_at: Any) -> None:
    root = project_at("implement")
    commit_all(root, "the approved documents")
    session = sdd_json("start", "implement", cwd=root)
    write_code(root)
    (root / "tools").mkdir()
    (root / "tools" / "build.sh").write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    commit_all(root, "T1: reset links, and a build script")
    page = root / session["page"]
    tick(page, "T1: reset links, with a test.")

    shown = refused_done(root)
    assert "changed outside the task T1's scope (`reset.py`, `tests/`): tools/build.sh" in shown
    assert OUTSIDE in shown
    assert "reset.py" not in shown.split("tools/build.sh")[1].split("\n")[0]
    assert "no committed change within" not in shown
    assert tasks(root)["T1"] != "done"

    # An empty reason is no reason.
    with page.open("a", encoding="utf-8") as handle:
        handle.write(f"\n{OUTSIDE}\n\n- tools/build.sh:\n")
    assert "tools/build.sh" in refused_done(root)

    page.write_text(
        page.read_text(encoding="utf-8").replace(
            "- tools/build.sh:\n", "- `tools/build.sh` — the tests need a build step to run\n"
        ),
        encoding="utf-8",
    )
    result = run("done", cwd=root)
    assert result.returncode == 0, result.stderr
    assert tasks(root)["T1"] == "done"


def test_a_spec_session_that_leaves_the_spec_as_it_was_does_not_complete(
    project_at: Any,
) -> None:
    root = project_at("architecture", approve_gate_before=False)
    # The spec as the first session left it, not committed yet: this session starts from it.
    session = sdd_json("start", "spec", cwd=root)
    tick(root / session["page"], "Read the spec again; it holds.")
    shown = refused_done(root)
    assert f"{SPEC}: unchanged since the session started" in shown

    spec = root / SPEC
    spec.write_text(
        spec.read_text(encoding="utf-8") + "\n<!-- US-1 reworded after the review -->\n",
        encoding="utf-8",
    )
    result = run("done", cwd=root)
    assert result.returncode == 0, result.stderr

    # Committed, then a session that changes nothing: refused again.
    commit_all(root, "the spec")
    session = sdd_json("start", "spec", cwd=root)
    tick(root / session["page"], "Nothing changed.")
    assert f"{SPEC}: unchanged since the session started" in refused_done(root)


def test_a_task_naming_an_unknown_test_case_is_an_error_and_the_brief_carries_its_own(
    project_at: Any,
) -> None:
    root = project_at("implement", approve_gate_before=False)
    session = sdd_json("start", "plan", cwd=root)
    plan = root / PLAN
    # T1's own test cases: the field the plan's template asks for, written here by hand.
    text = re.sub(r"^- Test cases:.*\n", "", plan.read_text(encoding="utf-8"), flags=re.M)
    text = text.replace("- Effort: 2h\n", "- Effort: 2h\n- Test cases: TC-1\n", 1)
    plan.write_text(text.replace("- Test cases: TC-1\n", "- Test cases: TC-2, TC-99\n"))
    tick(root / session["page"], "T1 now names its test cases.")

    result = run("check", "plan", cwd=root)
    assert result.returncode == 1
    assert "T1 names test case TC-99, which docs/test-plan.md does not define" in result.stdout
    assert "TC-99" in refused_done(root)

    plan.write_text(text.replace("- Test cases: TC-1\n", "- Test cases: TC-2, TC-4\n"))
    assert run("check", "plan", cwd=root).returncode == 0
    result = run("done", cwd=root)
    assert result.returncode == 0, result.stderr
    approve(root, "implementation-approval")

    brief = run("prompt", "implement", cwd=root)
    assert brief.returncode == 0, brief.stderr
    section = brief.stdout.partition("## Your task: T1")[2].partition("\n## ")[0]
    assert "Test cases of this task (docs/test-plan.md):" in section
    cases = [line.split(" ")[1] for line in section.splitlines() if line.startswith("- TC-")]
    assert cases == ["TC-2", "TC-4"]  # the task's own, not all five of its story
    assert "Your scope: `reset.py`, `tests/`" in section


UNTRACED_TESTS = (
    "import unittest\n\nfrom reset import reset_link\n\n\n"
    "class ResetLink(unittest.TestCase):\n"
    "    def test_link(self) -> None:\n"
    "        # TC-7: a case the test plan never had\n"
    "        self.assertIn('reset', reset_link('ada'))\n"
)


def test_check_code_names_untraced_cases_and_unknown_ids_and_final_verification_waits(
    work: Path,
) -> None:
    root = init_project(work)
    with (root / ".sdd" / "config.toml").open("a", encoding="utf-8") as handle:
        handle.write(
            '\n[workflow]\nstages = ["spec", "architecture", "plan", "implement", '
            '"final-verification"]\n'
        )
    commit_all(root, "a short workflow")
    drive(root, "implement")

    session = sdd_json("start", "implement", cwd=root)
    write_code(root)
    (root / "tests" / "test_reset.py").write_text(UNTRACED_TESTS, encoding="utf-8")
    commit_all(root, "T1: reset links")
    tick(root / session["page"], "T1: reset links.")
    assert run("done", cwd=root).returncode == 0
    assert tasks(root)["T1"] == "done"

    checked = run("check", "--code", cwd=root)
    assert checked.returncode == 1, checked.stdout
    lines = checked.stdout.splitlines()
    assert any(
        line.startswith("docs/test-plan.md:") and "TC-1" in line and "done task T1" in line
        for line in lines
    ), checked.stdout
    assert "tests/test_reset.py:8: names TC-7, which no test plan defines" in lines
    # Without --code the documents alone are judged, as before.
    assert "TC-7" not in run("check", cwd=root).stdout

    final = sdd_json("start", "final-verification", cwd=root)
    do_work(root, final)
    shown = refused_done(root)
    assert "is named by no test" in shown and "names TC-7" in shown
    assert "sdd check --code" in shown

    traced = UNTRACED_TESTS.replace("TC-7: a case the test plan never had", "TC-1: the link")
    (root / "tests" / "test_reset.py").write_text(traced, encoding="utf-8")
    commit_all(root, "T1: the test names TC-1")
    assert run("check", "--code", cwd=root).returncode == 0
    result = run("done", cwd=root)
    assert result.returncode == 0, result.stderr

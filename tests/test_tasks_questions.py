"""Tasks from the approved plan, one at a time, and the 95 % confidence rule, through the
command line: the dependency-aware next task, the one-task brief, the task marked done by
its session, the spec's questions answered by a person at a real terminal, and
spec-approval refused below the threshold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contract_helpers import (
    PLAN_PATH,
    SPEC_PATH,
    TASK_ORDER,
    TASKS_PLAN,
    UNSURE_SPEC,
    complete_with,
    fake_agent_cli,
    finish,
    implement,
    implement_task,
    line_of,
    pty_person,
    records_of,
    session_json,
    stage_project_fixture,  # noqa: F401  (the `stage_project` fixture)
)
from helpers import approve, gate_of, history_lines, pty_run, run, sdd_json, stage_of, status

TITLES = {
    "T1": "Read the input file",
    "T2": "Rank words by count",
    "T3": "Parse the top option",
    "T4": "Report a missing file",
    "T5": "Cut the ranking at N lines",
}
CRITERIA = {
    "T1": "The file is read as UTF-8 with invalid bytes replaced.",
    "T2": "Words are printed highest count first, ties alphabetical.",
    "T3": "`--top 0` exits 2 with a message naming the option.",
    "T4": "A missing file prints its name on standard error and exits 1.",
    "T5": "`--top N` prints at most N lines.",
}


def tasks(root: Path) -> dict[str, dict[str, Any]]:
    rows = sdd_json("tasks", cwd=root)
    return {row["id"]: row for row in rows}


def next_task(rows: dict[str, dict[str, Any]]) -> str | None:
    marked = [ident for ident, row in rows.items() if row["next"]]
    assert len(marked) <= 1, f"more than one next task: {marked}"
    return marked[0] if marked else None


# ----------------------------------------------------------------------------- tasks


def test_tasks_lists_the_approved_plan_with_status_and_what_each_waits_on(
    stage_project: Any,
) -> None:
    root = stage_project("tasks")
    rows = sdd_json("tasks", cwd=root)
    assert [r["id"] for r in rows] == ["T1", "T2", "T3", "T4", "T5"]  # plan order
    by_id = {r["id"]: r for r in rows}
    for ident, title in TITLES.items():
        row = by_id[ident]
        assert row["title"] == title
        assert row["status"] == "pending"
    assert {i: r["risk"] for i, r in by_id.items()} == {
        "T1": "low",
        "T2": "high",
        "T3": "high",
        "T4": "medium",
        "T5": "medium",
    }
    assert {i: r["effort"] for i, r in by_id.items()} == {
        "T1": "1h",
        "T2": "2h",
        "T3": "1h",
        "T4": "30m",
        "T5": "30m",
    }
    assert {i: r["stories"] for i, r in by_id.items()} == {
        "T1": ["US-1"],
        "T2": ["US-1"],
        "T3": ["US-2"],
        "T4": ["US-1"],
        "T5": ["US-2"],
    }
    assert {i: r["depends"] for i, r in by_id.items()} == {
        "T1": [],
        "T2": ["T1"],
        "T3": [],
        "T4": [],
        "T5": ["T3"],
    }
    assert {i: r["waits_on"] for i, r in by_id.items()} == {
        "T1": [],
        "T2": ["T1"],
        "T3": [],
        "T4": [],
        "T5": ["T3"],
    }
    # the high-risk T2 waits on T1, so the high-risk T3, ready now, is next
    assert next_task(by_id) == "T3"

    text = run("tasks", cwd=root)
    assert text.returncode == 0, text.stderr
    lines = {line.split()[0]: line for line in text.stdout.splitlines() if line.strip()}
    assert "next" in lines["T3"]
    assert "waits on T1" in lines["T2"]
    assert "waits on T3" in lines["T5"]
    assert "next" not in lines["T1"] and "next" not in lines["T2"]


def test_implement_takes_tasks_by_dependencies_then_risk_then_plan_order(
    stage_project: Any,
) -> None:
    root = stage_project("tasks")
    seen: list[str] = []
    for expected in TASK_ORDER:
        rows = tasks(root)
        assert next_task(rows) == expected, (
            f"after {seen}: next is {next_task(rows)}, expected {expected}"
        )
        assert all(rows[t]["status"] == "done" for t in seen)
        assert all(rows[t]["status"] == "pending" for t in rows if t not in seen)
        for row in rows.values():  # what waited on a done task waits no more
            assert not set(row["waits_on"]) & set(seen)
        if seen:  # implement is not done while tasks remain: it comes next again
            action = sdd_json("next", cwd=root)
            assert action["kind"] == "session" and action["stage"] == "implement", action

        session = session_json(root, "implement")
        assert session["task"] == expected
        assert tasks(root)[expected]["status"] == "in-progress"
        implement(root, session)  # committed work, green verify: `sdd done` completes it
        seen.append(expected)

    rows = tasks(root)
    assert {r["status"] for r in rows.values()} == {"done"}
    assert next_task(rows) is None
    data = status(root)
    assert stage_of(data, "implement")["status"] == "done"
    assert data["next"]["kind"] == "session" and data["next"]["stage"] == "review"
    starts = [r for r in records_of(root, "session.start") if r["stage"] == "implement"]
    ends = {r["session"]: r for r in records_of(root, "session.end")}
    completed = [s["task"] for s in starts if ends[s["session"]]["outcome"] == "complete"]
    assert completed == TASK_ORDER


def _task_section(brief: str) -> str:
    assert brief.count("## Your task: ") == 1, brief
    return brief.split("## Your task: ", 1)[1].split("\n## ", 1)[0]


def test_the_implement_brief_carries_one_task_and_only_its_context(stage_project: Any) -> None:
    root = stage_project("tasks")
    preview = sdd_json("prompt", "implement", cwd=root)["brief"]
    section = _task_section(preview)
    assert section.startswith(f"T3: {TITLES['T3']}\n")
    assert f"- {CRITERIA['T3']}" in section
    assert "Risk high, effort 1h" in section
    # the story it covers, with its acceptance criteria; the test cases tracing to it
    assert "Story US-2: Show only the top words" in section
    assert "- `wordfreq FILE --top N` prints at most N lines." in section
    assert "TC-3" in section and "TC-5" in section
    # nothing of the other tasks, stories or test cases
    for other in ("T1", "T2", "T4", "T5"):
        assert TITLES[other] not in preview
        assert CRITERIA[other] not in preview
    assert "Story US-1" not in section
    for case in ("TC-1", "TC-2", "TC-4"):
        assert case not in section

    session = session_json(root, "implement")
    assert session["task"] == "T3"
    page = (root / session["page"]).read_text(encoding="utf-8")
    assert f"## Your task: T3: {TITLES['T3']}" in page
    again = sdd_json("prompt", "implement", cwd=root)["brief"]  # the open session's brief
    assert _task_section(again) == section
    run("abandon", "--reason", "look at another task", cwd=root)

    # a task asked for by name: its own story and cases, its dependencies' status
    other = sdd_json("prompt", "implement", "--task", "T4", cwd=root)["brief"]
    section = _task_section(other)
    assert section.startswith(f"T4: {TITLES['T4']}\n")
    assert f"- {CRITERIA['T4']}" in section
    assert "Story US-1: Count the words of a file" in section and "Story US-2" not in section
    for case in ("TC-1", "TC-2", "TC-4", "TC-5"):
        assert case in section
    assert "TC-3" not in section
    assert CRITERIA["T3"] not in other


def test_a_task_is_chosen_only_when_ready_and_marked_done_by_its_session(
    stage_project: Any,
) -> None:
    root = stage_project("tasks")
    before = history_lines(root)
    waiting = run("start", "implement", "--task", "T2", cwd=root)
    assert waiting.returncode == 3, waiting.stdout + waiting.stderr
    assert "T2 waits on T1" in waiting.stderr
    unknown = run("start", "implement", "--task", "T9", cwd=root)
    assert unknown.returncode == 2, unknown.stdout + unknown.stderr
    assert "T9" in unknown.stderr
    assert history_lines(root) == before  # nothing recorded

    # a ready task that is not the next one may be asked for
    session = implement_task(root, "--task", "T4")
    assert session["task"] == "T4"
    rows = tasks(root)
    assert rows["T4"]["status"] == "done"
    assert next_task(rows) == "T3"
    again = run("start", "implement", "--task", "T4", cwd=root)
    assert again.returncode == 3
    assert "T4 is already done" in again.stderr

    # an implement session that does not complete leaves its task pending
    session = session_json(root, "implement")
    assert session["task"] == "T3"
    red = run("done", cwd=root)  # nothing committed
    assert red.returncode == 1
    assert tasks(root)["T3"]["status"] == "in-progress"
    run("abandon", "--reason", "not today", cwd=root)
    rows = tasks(root)
    assert rows["T3"]["status"] == "pending" and next_task(rows) == "T3"


def test_a_task_edited_after_approval_turns_the_approval_stale(stage_project: Any) -> None:
    root = stage_project("tasks")
    edited = TASKS_PLAN.replace(
        "### T3: Parse the top option", "### T3: Parse the top and bottom options"
    )
    edited += (
        "\n### T6: Colour the output\n- Stories: US-1\n- Depends on: none\n- Risk: low\n- Effort: 1h\n\n"
        "Acceptance criteria:\n- Words are coloured.\n"
    )
    (root / PLAN_PATH).write_text(edited, encoding="utf-8")
    data = status(root)
    gate = gate_of(data, "implementation-approval")
    assert gate["state"] == "stale"
    assert PLAN_PATH in gate["changed"]
    assert data["next"]["kind"] == "gate" and data["next"]["gate"] == "implementation-approval"
    refused = run("start", "implement", cwd=root)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "stale" in refused.stderr and PLAN_PATH in refused.stderr
    # the tasks are the plan as approved, not as edited
    rows = tasks(root)
    assert list(rows) == ["T1", "T2", "T3", "T4", "T5"]
    assert rows["T3"]["title"] == TITLES["T3"]

    # a person approves the new content (and is shown what changed): the new tasks count
    output = approve(root, "implementation-approval")
    assert "Parse the top and bottom options" in output
    rows = tasks(root)
    assert list(rows) == ["T1", "T2", "T3", "T4", "T5", "T6"]
    assert rows["T3"]["title"] == "Parse the top and bottom options"
    assert session_json(root, "implement")["task"] == "T3"


# ----------------------------------------------------------------------------- questions


def test_questions_lists_the_specs_questions_and_confidence(stage_project: Any) -> None:
    root = stage_project("spec-unsure")
    data = sdd_json("questions", cwd=root)
    assert data["path"] == SPEC_PATH
    assert data["confidence"] == 80
    assert data["threshold"] == 95
    assert [(q["id"], q["blocking"], q["open"], q["answer"]) for q in data["questions"]] == [
        ("Q1", True, True, None),
        ("Q2", False, True, None),
    ]
    assert data["questions"][0]["text"] == "Should numbers count as words?"
    assert data["questions"][0]["line"] == line_of(UNSURE_SPEC, "- Q1 (blocking)")
    text = run("questions", cwd=root)
    assert text.returncode == 0, text.stderr
    assert "Confidence: 80 % (threshold 95 %)" in text.stdout
    assert "Q1" in text.stdout and "Q2" in text.stdout
    assert "sdd questions answer Q1" in text.stdout


def test_spec_approval_is_refused_below_the_threshold_and_while_a_blocking_question_is_open(
    stage_project: Any,
) -> None:
    root = stage_project("spec-unsure")
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "gate-conditions"
    assert action["gate"] == "spec-approval"
    unmet = action["unmet"]
    assert len(unmet) == 2, unmet
    assert any("80 %" in u and "95 %" in u for u in unmet), unmet
    assert any("Q1" in u and "Should numbers count as words?" in u for u in unmet), unmet
    assert not any("Q2" in u for u in unmet)  # a non-blocking question does not hold it back
    assert gate_of(status(root), "spec-approval")["unmet"] == unmet

    before = history_lines(root)
    code, output = pty_run(["sdd", "approve", "spec-approval"], cwd=root)
    assert code == 3, output
    assert "80 %" in output and "Q1" in output
    assert history_lines(root) == before
    assert gate_of(status(root), "spec-approval")["state"] == "waiting"
    blocked = run("start", "architecture", cwd=root)
    assert blocked.returncode == 3


def test_a_person_answers_a_question_at_a_terminal_and_the_next_spec_session_works_it_in(
    stage_project: Any,
) -> None:
    root = stage_project("spec-unsure")
    code, output = pty_person(
        ["sdd", "questions", "answer", "Q1", "Yes, digits count as words."], cwd=root
    )
    assert code == 0, output
    assert "Type " in output and "to record it" in output
    assert "Q1 answered" in output

    spec = (root / SPEC_PATH).read_text(encoding="utf-8")
    q1 = line_of(spec, "- Q1 (blocking)")
    answer = spec.split("\n")[q1]  # the line after the question
    assert answer.strip().startswith(
        "Answer: Yes, digits count as words. (answered by Ada Tester, "
    )
    assert spec.count("Answer: open") == 1  # Q2 untouched
    data = sdd_json("questions", cwd=root)
    q = {x["id"]: x for x in data["questions"]}
    assert q["Q1"]["open"] is False and "Yes, digits count as words." in q["Q1"]["answer"]
    assert q["Q2"]["open"] is True
    recorded = records_of(root, "question.answer")
    assert len(recorded) == 1
    assert recorded[0]["question"] == "Q1" and recorded[0]["by"]["name"] == "Ada Tester"
    assert "Yes, digits count as words." in recorded[0]["answer"]
    assert run("check", "spec", "--strict", cwd=root).returncode == 0  # still a valid spec

    # the question no longer holds the gate; the confidence still does
    unmet = sdd_json("next", cwd=root)["unmet"]
    assert len(unmet) == 1 and "80 %" in unmet[0]

    # a fresh spec session works the answer in and raises the confidence: the gate opens
    session = session_json(root, "spec")
    assert "Yes, digits count as words." in (root / SPEC_PATH).read_text(encoding="utf-8")
    finish(root, session, {SPEC_PATH: spec.replace("Confidence: 80 %", "Confidence: 96 %")})
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "gate" and action["gate"] == "spec-approval"
    approve(root, "spec-approval")
    assert gate_of(status(root), "spec-approval")["state"] == "approved"
    assert sdd_json("next", cwd=root)["stage"] == "architecture"


def test_answering_is_a_persons_act(stage_project: Any, tmp_path: Path) -> None:
    root = stage_project("spec-unsure")
    before_history = history_lines(root)
    before_spec = (root / SPEC_PATH).read_bytes()
    argv = ["sdd", "questions", "answer", "Q1", "Yes."]

    no_tty = run(*argv[1:], cwd=root)
    assert no_tty.returncode == 3, no_tty.stdout + no_tty.stderr
    assert "person" in no_tty.stderr

    code, output = pty_person(argv, cwd=root, env={"SDD_SESSION_ID": "S-0001"}, respond=None)
    assert code == 3, output
    assert "SDD_SESSION_ID" in output and "Type " not in output

    agent = fake_agent_cli(tmp_path / "agents", "claude", "sdd questions answer Q1 Yes.")
    code, output = pty_person([str(agent)], cwd=root, respond=None)
    assert code == 3, output
    assert "agent saw exit 3" in output and "claude" in output and "Type " not in output

    code, output = pty_person(argv, cwd=root, respond="ZZZZ")  # a wrong code
    assert code == 1, output
    assert "did not match" in output

    code, output = pty_person(["sdd", "questions", "answer", "Q9", "Yes."], cwd=root)
    assert code == 2, output
    assert "Q9" in output

    assert history_lines(root) == before_history
    assert (root / SPEC_PATH).read_bytes() == before_spec


def test_the_threshold_is_configurable(stage_project: Any) -> None:
    root = stage_project("spec-unsure")
    config = root / ".sdd" / "config.toml"
    text = config.read_text(encoding="utf-8")
    assert "confidence_threshold = 95" in text

    config.write_text(
        text.replace("confidence_threshold = 95", "confidence_threshold = 85"), encoding="utf-8"
    )
    # a lower threshold weakens the rules: in force once a person accepts it
    code, output = pty_person(["sdd", "rules", "accept"], cwd=root)
    assert code == 0, output
    unmet = sdd_json("next", cwd=root)["unmet"]
    assert any("80 %" in u and "85 %" in u for u in unmet), unmet
    assert sdd_json("questions", cwd=root)["threshold"] == 85

    config.write_text(
        text.replace("confidence_threshold = 95", "confidence_threshold = 75"), encoding="utf-8"
    )
    code, output = pty_person(["sdd", "rules", "accept"], cwd=root)
    assert code == 0, output
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "gate-conditions"
    assert len(action["unmet"]) == 1 and "Q1" in action["unmet"][0]  # 80 % is enough now

    code, output = pty_person(["sdd", "questions", "answer", "Q1", "Yes."], cwd=root)
    assert code == 0, output
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "gate", action
    # the answer changed the spec after its session: a person approves what is there now
    approve(root, "spec-approval")
    assert gate_of(status(root), "spec-approval")["state"] == "approved"


def test_a_spec_with_no_questions_and_high_confidence_opens_the_gate(stage_project: Any) -> None:
    root = stage_project("fresh")
    spec = UNSURE_SPEC.replace("Confidence: 80 %", "Confidence: 95 %")
    start = spec.index("## Open questions")
    spec = spec[:start] + "## Open questions\n- none\n\n" + spec[spec.index("## Confidence") :]
    complete_with(root, "spec", {SPEC_PATH: spec})
    assert sdd_json("questions", cwd=root)["questions"] == []
    action = sdd_json("next", cwd=root)
    assert (
        action["kind"] == "gate" and action["gate"] == "spec-approval"
    )  # 95 % is at the threshold
    code, output = pty_run(["sdd", "approve", "spec-approval"], cwd=root)
    assert code == 0, output


@pytest.mark.parametrize(
    "answer_line", [True, False], ids=["with-answer-line", "without-answer-line"]
)
def test_an_answer_changes_its_question_and_nothing_else(
    stage_project: Any, answer_line: bool
) -> None:
    """The last question sits right above the next heading (no blank line between, which
    CommonMark allows): the answer goes under that question, and the rest of the spec,
    the Confidence section included, stays as it was."""
    root = stage_project("spec-unsure")
    spec = UNSURE_SPEC.replace("  Answer: open\n\n## Confidence", "  Answer: open\n## Confidence")
    if not answer_line:
        spec = spec.replace(
            "- Q2 (non-blocking): Should the output be sortable as CSV later?\n  Answer: open\n",
            "- Q2 (non-blocking): Should the output be sortable as CSV later?\n",
        )
    assert "\n## Confidence\nConfidence: 80 %" in spec
    (root / SPEC_PATH).write_text(spec, encoding="utf-8")
    assert run("check", "spec", cwd=root).returncode == 0
    assert [q["open"] for q in sdd_json("questions", cwd=root)["questions"]] == [True, True]

    code, output = pty_person(["sdd", "questions", "answer", "Q2", "Not now."], cwd=root)
    assert code == 0, output
    after = (root / SPEC_PATH).read_text(encoding="utf-8")
    check = run("check", "spec", cwd=root)
    assert check.returncode == 0, f"{check.stdout}\n{after}"
    assert "\n## Confidence\nConfidence: 80 %" in after, after
    questions = {q["id"]: q for q in sdd_json("questions", cwd=root)["questions"]}
    assert questions["Q2"]["open"] is False and questions["Q2"]["answer"].startswith("Not now.")
    assert questions["Q1"]["open"] is True
    # every line of the spec but Q2's answer is as it was
    added = [line for line in after.split("\n") if line not in spec.split("\n")]
    assert len(added) == 1 and "Answer: Not now." in added[0], added
    assert [line for line in spec.split("\n") if line not in after.split("\n")] in (
        [],
        ["  Answer: open"] if answer_line else [],
    )

"""`sdd walkthrough`: the person walks the user verification an agent prepared, on a real
pseudo-terminal (see also test_user_verification_flow for the two steps end to end).

The project's spec has two stories with two acceptance criteria each, and a test plan with
five cases: nine items, US-1.1 … TC-5 (late_helpers.ITEMS). Every verdict is recorded as it
is given; a walk that stops resumes at the first undecided item; failures become blocking
findings when the walk ends, and send the cycle back to implement; the gate is never
offered from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers import gate_of, pty_run, run, sdd_json, stage_of, status
from late_helpers import (  # noqa: F401
    ALL_PASS,
    ASK_TEXT,
    CTRL_C,
    ITEM_TEXT,
    ITEMS,
    SLUG,
    TYPE_CODE,
    WALK,
    decide,
    end_script,
    history,
    item_prompt,
    milestone_fixture,
    pty_dialogue,
    verdicts,
    walk_all,
    walk_script,
)

N = len(ITEMS)
APPROVE = r"Type [A-Z0-9]{4} to approve"
PAGE = f"docs/verification/{SLUG}-U1.md"


def _sessions(root: Path) -> list[dict[str, Any]]:
    return status(root)["sessions"]  # type: ignore[no-any-return]


def test_refused_without_a_terminal(milestone: Any) -> None:
    root = milestone("uv-prepared")
    before = history(root)
    result = run("walkthrough", cwd=root)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "person" in result.stderr and "terminal" in result.stderr
    assert history(root) == before  # nothing recorded
    assert sdd_json("next", cwd=root)["kind"] == "walkthrough"


def test_refused_inside_an_agent_session_even_on_a_terminal(milestone: Any) -> None:
    root = milestone("uv-prepared")
    before = history(root)
    code, shown = pty_dialogue(WALK, root, [], env={"SDD_SESSION_ID": "S-0042"})
    assert code == 3, shown
    assert "S-0042" in shown
    assert ASK_TEXT not in shown
    assert history(root) == before


def test_refused_before_the_preparation(milestone: Any) -> None:
    root = milestone("uv-ready")  # QA done, nothing prepared yet
    code, shown = pty_dialogue(WALK, root, [])
    assert code == 3, shown
    assert "not prepared yet" in shown and "sdd start user-verification" in shown


def test_failure_interrupt_and_resume(milestone: Any) -> None:
    root = milestone("uv-prepared")
    note = "The and the are counted apart"
    why = "no file with more than ten words at hand"

    # pass, fail (with a note), skip (with a reason), then Ctrl-C at the fourth item
    code, shown = pty_dialogue(
        WALK,
        root,
        walk_script(
            [
                ("US-1.1", "p", None),
                ("US-1.2", "f", note),
                ("US-2.1", "s", why),
                ("US-2.2", "^C", None),
            ],
            N,
        ),
    )
    assert code == 130, shown  # interrupted; the answers so far are kept
    assert f"Stopped: 3 of {N} items decided" in shown
    assert "Resume with: sdd walkthrough" in shown
    assert verdicts(root) == [
        ("US-1.1", "pass", ""),
        ("US-1.2", "fail", note),
        ("US-2.1", "skip", why),
    ]
    prepared_by = _sessions(root)[-1]["id"]
    records = [r for r in history(root) if r["type"] == "verification.verdict"]
    assert {r["session"] for r in records} == {prepared_by}
    assert {r["by"]["name"] for r in records} == {"Ada Tester"}
    log = run("log", cwd=root).stdout
    assert f"{prepared_by} US-1.2: fail — {note}" in log
    data = status(root)
    assert stage_of(data, "user-verification")["status"] == "done"  # prepared
    assert gate_of(data, "user-approval")["state"] == "waiting"
    assert sdd_json("findings", cwd=root) == []  # a failure becomes a finding at the end
    # the gate cannot be decided while the walk is unfinished
    code, refused = pty_run(["sdd", "approve", "user-approval"], cwd=root, respond=None)
    assert code == 3, refused

    # resumed: it goes on at the fourth item
    answers = [(i, "p", None) for i in ITEMS[3:]]
    code, shown = pty_dialogue(WALK, root, [*walk_script(answers, N, first=4), *end_script()])
    assert code == 0, shown
    assert f"Resuming: 3 of {N} already decided." in shown
    assert f"  US-1.2: FAIL — {note}" in shown  # what is recorded, shown before going on
    first = next(line for line in shown.splitlines() if line.startswith("["))
    assert first == f"[4/{N}] {ITEM_TEXT['US-2.2']}"
    assert "Type " not in shown
    assert "Recorded as findings: F-1." in shown
    assert [v[0] for v in verdicts(root)] == ITEMS

    page = (root / PAGE).read_text(encoding="utf-8")
    assert f"- FAIL {ITEM_TEXT['US-1.2']} — {note} (F-1)" in page
    assert f"- SKIP {ITEM_TEXT['US-2.1']} — {why}" in page

    # the failure is a blocking finding; the cycle goes back to implement for a fix
    found = sdd_json("findings", cwd=root)
    assert [(f["id"], f["severity"], f["stage"], f["status"]) for f in found] == [
        ("F-1", "blocking", "user-verification", "open")
    ]
    assert ITEM_TEXT["US-1.2"] in found[0]["text"] and note in found[0]["text"]
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "session" and action["stage"] == "implement", action
    assert action["finding"] == "F-1"
    brief = sdd_json("prompt", "implement", cwd=root)["brief"]
    assert "F-1" in brief and note in brief
    # nothing to walk now, and no gate to pass
    code, shown = pty_dialogue(WALK, root, [])
    assert code == 3, shown
    code, shown = pty_run(["sdd", "approve", "user-approval"], cwd=root, respond=None)
    assert code == 3, shown


def test_skips_with_reasons_leave_the_gate_to_the_person(milestone: Any) -> None:
    root = milestone("uv-prepared")
    answers = [(item, "s", f"cannot try {item} here") for item in ITEMS[:2]] + ALL_PASS[2:]
    walk_all(root, answers)
    data = status(root)
    assert gate_of(data, "user-approval")["state"] == "waiting"
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "gate" and action["gate"] == "user-approval"
    assert sdd_json("findings", cwd=root) == []  # skips are not failures
    # a wrong code cancels; the gate waits for the person
    code, shown = pty_dialogue(["sdd", "approve", "user-approval"], root, [(APPROVE, "NOPE")])
    assert code != 0 and "did not match" in shown, shown
    assert gate_of(status(root), "user-approval")["state"] == "waiting"
    # the screen shows the skips it decides on; approved the ordinary way
    code, shown = pty_dialogue(["sdd", "approve", "user-approval"], root, [(APPROVE, TYPE_CODE)])
    assert code == 0, shown
    assert "US-1.1: SKIP — cannot try US-1.1 here" in shown
    assert gate_of(status(root), "user-approval")["state"] == "approved"
    assert sdd_json("next", cwd=root)["stage"] == "final-verification"


def test_answers_are_insisted_on(milestone: Any) -> None:
    root = milestone("uv-prepared")
    first = item_prompt(1, N, ITEM_TEXT["US-1.1"])
    second = item_prompt(2, N, ITEM_TEXT["US-1.2"])
    code, shown = pty_dialogue(
        WALK,
        root,
        [
            (first, "maybe"),  # not an answer: asked again
            (ASK_TEXT.replace("(", r"\(").replace(")", r"\)"), "s"),
            (r"why skip it\? ", ""),  # a skip needs a reason
            (r"why skip it\? ", "no sample file"),
            (second, "n"),  # a problem, then no description: nothing recorded
            (r"what is wrong \(what you did and saw\)\? ", ""),
            (second.split(r"\n")[-1], "f"),
            (r"what went wrong\? ", ""),  # a failure needs a note
            (r"what went wrong\? ", CTRL_C),  # interrupted before the note: nothing recorded
        ],
    )
    assert code == 130, shown
    assert shown.count(f"[1/{N}]") == 1
    assert verdicts(root) == [("US-1.1", "skip", "no sample file")]
    assert not [r for r in history(root) if r["type"] == "verification.problem"]
    # the interrupted item is asked again
    code, shown = pty_dialogue(WALK, root, walk_script([("US-1.2", "q", None)], N, first=2))
    assert code == 0, shown
    assert f"Resuming: 1 of {N} already decided." in shown


def test_user_approval_rejected_back_to_implement_can_be_worked_on(milestone: Any) -> None:
    """A person who walked it and rejects user-approval sends the cycle back to implement
    (the gate's default); the implement session that answers the reason must start."""
    root = milestone("uv-prepared")
    walk_all(root)
    reason = "the output is unreadable on a narrow terminal"
    decide(root, "reject", "user-approval", "--reason", reason)
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "session" and action["stage"] == "implement", action
    started = run("start", "implement", "--json", cwd=root)
    assert started.returncode == 0, started.stdout + started.stderr
    assert reason in sdd_json("prompt", cwd=root)["brief"]


def test_a_finished_verification_is_not_walked_again(milestone: Any) -> None:
    root = milestone("fv-ready")  # walked, and user-approval approved
    before = history(root)
    code, shown = pty_dialogue(WALK, root, [])
    assert code == 3, shown
    assert "user-approval" in shown
    assert ASK_TEXT not in shown
    assert history(root) == before

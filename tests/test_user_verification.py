"""`sdd run user-verification`: the person's walkthrough, driven on a real pseudo-terminal.

The project's spec has two stories with two acceptance criteria each, and a test plan with
five cases of which three (functional, invalid input, edge case) a person can try: seven
items, US-1.1 … TC-3 (see late_helpers.ITEMS). Every verdict is recorded as it is given;
an interrupted walk resumes at the first undecided item; failures become blocking findings
that send the cycle back to implement; only when every item is decided and none failed is
the user-approval gate offered.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from helpers import gate_of, pty_run, run, sdd_json, stage_of, status
from late_helpers import (  # noqa: F401
    ALL_PASS,
    ASK,
    ASK_TEXT,
    CTRL_C,
    ITEM_TEXT,
    ITEMS,
    SLUG,
    TYPE_CODE,
    history,
    item_prompt,
    milestone_fixture,
    pty_dialogue,
    verdicts,
    walk_script,
)

N = len(ITEMS)
UV = ["sdd", "run", "user-verification"]
APPROVE = r"Type [A-Z0-9]{4} to approve"


def _sessions(root: Path) -> list[dict[str, Any]]:
    return status(root)["sessions"]  # type: ignore[no-any-return]


def test_refused_without_a_terminal(milestone: Any) -> None:
    root = milestone("uv-ready")
    before = history(root)
    for args in (["run", "user-verification"], ["run"]):  # named, or as the next session
        result = run(*args, cwd=root)
        assert result.returncode == 3, result.stdout + result.stderr
        assert "person" in result.stderr and "terminal" in result.stderr
    assert history(root) == before  # no session started, nothing recorded
    assert sdd_json("next", cwd=root)["stage"] == "user-verification"


def test_refused_inside_an_agent_session_even_on_a_terminal(milestone: Any) -> None:
    root = milestone("uv-ready")
    before = history(root)
    code, shown = pty_dialogue(UV, root, [], env={"SDD_SESSION_ID": "S-0042"})
    assert code == 3, shown
    assert "S-0042" in shown
    assert ASK_TEXT not in shown
    assert history(root) == before


def test_items_are_the_criteria_and_the_cases_a_person_can_try(milestone: Any) -> None:
    root = milestone("uv-ready")
    code, shown = pty_dialogue(UV, root, walk_script([("US-1.1", "q", None)], N))
    assert code == 130, shown
    assert f"User verification (S-0007): {N} items" in shown
    # how to run the program, from the README's Usage section
    assert "How to run it" in shown
    assert "Run `python wordfreq.py FILE --top 10` from the project folder." in shown
    # the first item, numbered out of seven; nothing else asked before the person answered
    assert f"[1/{N}] {ITEM_TEXT['US-1.1']}" in shown
    assert "[2/" not in shown
    assert "Stopped; 0 of 7 decided. Resume with: sdd run user-verification" in shown
    assert verdicts(root) == []
    # the session is the person's, and it stays open to resume
    session = _sessions(root)[-1]
    assert session["stage"] == "user-verification"
    assert session["outcome"] == "open"
    assert session["agent"] == "person"

    # walked to the end: all seven items in order, concurrency and stress cases left out
    code, shown = pty_dialogue(UV, root, [*walk_script(ALL_PASS, N), (APPROVE, "")])
    assert code == 0, shown
    asked = [line for line in shown.splitlines() if line.startswith("[")]
    assert asked == [f"[{i}/{N}] {ITEM_TEXT[item]}" for i, item in enumerate(ITEMS, start=1)]
    assert "TC-4" not in shown and "TC-5" not in shown


def test_failure_interrupt_and_resume(milestone: Any) -> None:
    root = milestone("uv-ready")
    note = "The and the are counted apart"
    why = "no file with more than ten words at hand"

    # pass, fail (with a note), skip (with a reason), then quit at the fourth item
    code, shown = pty_dialogue(
        UV,
        root,
        walk_script(
            [
                ("US-1.1", "p", None),
                ("US-1.2", "f", note),
                ("US-2.1", "s", why),
                ("US-2.2", "q", None),
            ],
            N,
        ),
    )
    assert code == 130, shown
    assert "Stopped; 3 of 7 decided" in shown
    assert "Type " not in shown  # no gate while items are undecided
    # each verdict was recorded as it was given
    assert verdicts(root) == [
        ("US-1.1", "pass", ""),
        ("US-1.2", "fail", note),
        ("US-2.1", "skip", why),
    ]
    records = [r for r in history(root) if r["type"] == "verification.verdict"]
    assert {r["session"] for r in records} == {"S-0007"}
    log = run("log", cwd=root).stdout
    assert f"S-0007 US-1.2: fail — {note}" in log
    assert f"S-0007 US-2.1: skip — {why}" in log
    data = status(root)
    assert stage_of(data, "user-verification")["status"] == "active"
    assert gate_of(data, "user-approval")["state"] == "not-yet"
    assert sdd_json("findings", cwd=root) == []  # a failure becomes a finding at the end
    # the gate cannot be decided while the walk is unfinished
    code, refused = pty_run(["sdd", "approve", "user-approval"], cwd=root, respond=None)
    assert code == 3, refused

    # resume: it continues at the fourth item; Ctrl-C at the fifth
    code, shown = pty_dialogue(
        UV, root, walk_script([("US-2.2", "p", None), ("TC-1", "^C", None)], N, first=4)
    )
    assert code == 130, shown
    assert "Resuming: 3 already decided." in shown
    first = next(line for line in shown.splitlines() if line.startswith("["))
    assert first == f"[4/{N}] {ITEM_TEXT['US-2.2']}"
    assert "Type " not in shown
    assert [v[0] for v in verdicts(root)] == ["US-1.1", "US-1.2", "US-2.1", "US-2.2"]
    assert _sessions(root)[-1]["outcome"] == "open"  # still the same session, S-0007
    assert len(_sessions(root)) == 7

    # resume again at the fifth item and finish
    code, shown = pty_dialogue(
        UV,
        root,
        walk_script([("TC-1", "p", None), ("TC-2", "p", None), ("TC-3", "p", None)], N, first=5),
    )
    assert code == 0, shown
    assert "Resuming: 4 already decided." in shown
    assert f"User verification complete: docs/verification/{SLUG}-U1.md" in shown
    assert "1 failed: recorded as blocking findings F-1" in shown
    assert "Type " not in shown  # a failure: the gate is not offered
    assert [v[0] for v in verdicts(root)] == ITEMS

    document = (root / "docs" / "verification" / f"{SLUG}-U1.md").read_text(encoding="utf-8")
    assert "Run `python wordfreq.py FILE --top 10`" in document
    assert f"- PASS {ITEM_TEXT['US-1.1']}" in document
    assert f"- FAIL {ITEM_TEXT['US-1.2']} — {note}" in document
    assert f"- SKIP {ITEM_TEXT['US-2.1']} — {why}" in document
    for item in ("US-2.2", "TC-1", "TC-2", "TC-3"):
        assert f"- PASS {ITEM_TEXT[item]}" in document

    session = _sessions(root)[-1]
    assert session["outcome"] == "complete"
    page = (root / session["page"]).read_text(encoding="utf-8")
    assert "7 items: 5 passed, 1 failed, 1 skipped" in page

    # the failure is a blocking finding; the cycle goes back to implement for a fix
    found = sdd_json("findings", cwd=root)
    assert len(found) == 1
    assert found[0]["id"] == "F-1"
    assert found[0]["severity"] == "blocking"
    assert found[0]["stage"] == "user-verification"
    assert found[0]["status"] == "open"
    assert ITEM_TEXT["US-1.2"] in found[0]["text"] and note in found[0]["text"]
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "session"
    assert action["stage"] == "implement"
    assert action["finding"] == "F-1"
    data = status(root)
    assert gate_of(data, "user-approval")["state"] != "approved"
    brief = sdd_json("prompt", "implement", cwd=root)["brief"]
    assert "F-1" in brief and note in brief
    # nothing to resume now: another walk is refused until the fix is through
    again = run("start", "user-verification", cwd=root)
    assert again.returncode == 3, again.stdout + again.stderr


def test_every_item_passed_offers_the_gate(milestone: Any) -> None:
    root = milestone("uv-ready")
    code, shown = pty_dialogue(UV, root, [*walk_script(ALL_PASS, N), (APPROVE, TYPE_CODE)])
    assert code == 0, shown
    assert len(re.findall(APPROVE, shown)) == 1
    assert "Every item passed or was skipped with a reason. Decide user-approval now." in shown
    assert f"docs/verification/{SLUG}-U1.md" in shown  # what the gate judges
    assert "user-approval approved by Ada Tester" in shown
    data = status(root)
    gate = gate_of(data, "user-approval")
    assert gate["state"] == "approved"
    assert gate["by"]["name"] == "Ada Tester"
    assert stage_of(data, "user-verification")["status"] == "done"
    assert sdd_json("findings", cwd=root) == []
    assert sdd_json("next", cwd=root)["stage"] == "final-verification"
    approvals = [
        r for r in history(root) if r["type"] == "gate.approve" and r["gate"] == "user-approval"
    ]
    assert len(approvals) == 1
    assert list(approvals[0]["docs"]) == [f"docs/verification/{SLUG}-U1.md"]


def test_skips_with_reasons_still_offer_the_gate_and_it_can_wait(milestone: Any) -> None:
    root = milestone("uv-ready")
    answers = [(item, "s", f"cannot try {item} here") for item in ITEMS[:2]] + ALL_PASS[2:]
    # a wrong code cancels: the verification stays done, the gate waits for the person
    code, shown = pty_dialogue(UV, root, [*walk_script(answers, N), (APPROVE, "NOPE")])
    assert code == 0, shown
    assert "user-approval not given" in shown
    assert "sdd approve user-approval" in shown
    data = status(root)
    assert stage_of(data, "user-verification")["status"] == "done"
    assert gate_of(data, "user-approval")["state"] == "waiting"
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "gate" and action["gate"] == "user-approval"
    assert not [
        r for r in history(root) if r["type"] == "gate.approve" and r["gate"] == "user-approval"
    ]
    assert sdd_json("findings", cwd=root) == []  # skips are not failures
    # later, the person approves it the ordinary way
    code, shown = pty_run(["sdd", "approve", "user-approval"], cwd=root)
    assert code == 0, shown
    assert gate_of(status(root), "user-approval")["state"] == "approved"


def test_ctrl_c_at_the_gate_leaves_it_undecided(milestone: Any) -> None:
    root = milestone("uv-ready")
    code, shown = pty_dialogue(UV, root, [*walk_script(ALL_PASS, N), (APPROVE, CTRL_C)])
    assert code == 0, shown  # the verification itself is complete
    assert "sdd approve user-approval" in shown
    data = status(root)
    assert stage_of(data, "user-verification")["status"] == "done"
    assert gate_of(data, "user-approval")["state"] == "waiting"


def test_answers_are_insisted_on(milestone: Any) -> None:
    root = milestone("uv-ready")
    first = item_prompt(1, N, ITEM_TEXT["US-1.1"])
    second = item_prompt(2, N, ITEM_TEXT["US-1.2"])
    code, shown = pty_dialogue(
        UV,
        root,
        [
            (first, "maybe"),  # not an answer: asked again
            (rf"\[1/{N}\][^\n]*\n[^\n]*{ASK}", "s"),
            (r"why skip it\? ", ""),  # a skip needs a reason
            (r"why skip it\? ", "no sample file"),
            (second, "f"),
            (r"what went wrong\? ", ""),  # a failure needs a note
            (r"what went wrong\? ", CTRL_C),  # interrupted before the note: nothing recorded
        ],
    )
    assert code == 130, shown
    assert shown.count(f"[1/{N}]") == 2
    assert verdicts(root) == [("US-1.1", "skip", "no sample file")]
    # the interrupted item is asked again
    code, shown = pty_dialogue(UV, root, walk_script([("US-1.2", "q", None)], N, first=2))
    assert code == 130, shown
    assert "Resuming: 1 already decided." in shown


def test_user_approval_rejected_back_to_implement_can_be_worked_on(milestone: Any) -> None:
    """A person who tried it and rejects user-approval sends the cycle back to implement
    (the gate's default); the implement session that answers the reason must start."""
    root = milestone("uv-ready")  # every item passes, the gate offered is left waiting
    code, shown = pty_dialogue(UV, root, [*walk_script(ALL_PASS, N), (APPROVE, "")])
    assert code == 0, shown
    reason = "the output is unreadable on a narrow terminal"
    code, shown = pty_dialogue(
        ["sdd", "reject", "user-approval", "--reason", reason],
        root,
        [(r"Type [A-Z0-9]{4} to reject", TYPE_CODE)],
    )
    assert code == 0, shown
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "session" and action["stage"] == "implement", action
    started = run("start", "implement", "--json", cwd=root)
    assert started.returncode == 0, (
        "after `sdd reject user-approval`, `sdd next` says `sdd start implement`, which must start "
        f"the session:\n{started.stdout}{started.stderr}"
    )
    assert reason in sdd_json("prompt", cwd=root)["brief"]


def test_a_finished_verification_is_not_walked_again(milestone: Any) -> None:
    root = milestone("fv-ready")  # verified, and user-approval approved
    before = history(root)
    code, shown = pty_dialogue(UV, root, [])
    assert code == 3, shown
    assert "user-approval" in shown
    assert ASK_TEXT not in shown
    assert history(root) == before

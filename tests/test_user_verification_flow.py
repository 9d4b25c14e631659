"""User verification in two named steps (issue 17, point 6), through the command line.

An agent session prepares it (`sdd start user-verification` by hand, `sdd run` with an
agent): how to run the feature from a clean checkout, and one item per acceptance criterion
and per test case of the test plan, every kind, each with its steps and expected result; its
`done` refuses a page that leaves one out. Then the person walks it (`sdd walkthrough`, at a
real pseudo-terminal): each item shown as prepared, fenced code blocks and all; a verdict
for each; problems no item covers become findings; `q` stops with exit 0 and the command
that resumes; the verdicts go after the agent's text, which stays byte for byte; and the
gate is decided afterwards, as a step of its own that `sdd next` names.

The project (late_helpers) has two stories with two criteria each and five test cases,
concurrency and performance among them: nine items, US-1.1 … TC-5.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from helpers import gate_of, pty_run, run, sdd_json, status, tick
from late_helpers import (  # noqa: F401
    ALL_PASS,
    ITEM_TEXT,
    ITEMS,
    PREPARED_ITEMS,
    RUN_BLOCK,
    SLUG,
    TYPE_CODE,
    WALK,
    by_hand,
    end_script,
    history,
    item_prompt,
    milestone_fixture,
    new_project,
    prepared,
    pty_dialogue,
    verdicts,
    walk_all,
    walk_script,
    write,
)

N = len(ITEMS)
PAGE = f"docs/verification/{SLUG}-U1.md"
APPROVE = r"Type [A-Z0-9]{4} to approve"


def _findings(root: Path) -> list[dict[str, Any]]:
    return sdd_json("findings", cwd=root)  # type: ignore[no-any-return]


def _prepare_by_hand(root: Path, text: str) -> Any:
    """`sdd start user-verification`, the page written as ``text``, the handoff answered,
    `sdd done`: its result."""
    session = sdd_json("start", "user-verification", cwd=root)
    assert session["writes"] == [PAGE]
    write(root, PAGE, text)
    tick(root / session["page"], "Prepared every criterion and test case for the person.")
    return run("done", cwd=root)


def test_next_after_qa_names_a_preparation_that_is_accepted(milestone: Any) -> None:
    root = milestone("uv-ready")  # QA done: user verification is next
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "session" and action["stage"] == "user-verification", action
    assert action["command"] == "sdd start user-verification"
    started = run(*action["command"].split()[1:], "--json", cwd=root)
    assert started.returncode == 0, started.stdout + started.stderr  # the agent's session
    brief = sdd_json("prompt", cwd=root)["brief"]
    assert "sdd walkthrough" in brief and "How to run it" in brief
    assert "every test case" in brief  # concurrency and performance cases too
    # the scaffold sdd laid down asks for the agent's part only: no verdict to fill in
    scaffold = (root / PAGE).read_text(encoding="utf-8")
    assert "## How to run it" in scaffold and "## Items" in scaffold
    assert "PASS" not in scaffold.split("-->", 1)[1]


def test_an_agent_prepares_it_with_sdd_run(milestone: Any, tmp_path: Path) -> None:
    root = milestone("uv-ready")
    # A project's own agent: a real process that writes the page and answers the handoff.
    script = tmp_path / "prep_agent.py"
    script.write_text(
        "import os, re, sys\n"
        "root, session = os.environ['SDD_PROJECT_ROOT'], os.environ['SDD_SESSION_ID']\n"
        "brief = open(sys.argv[1], encoding='utf-8').read()\n"
        "section = brief.partition('## Your outputs')[2].partition('\\n## ')[0]\n"
        "for out in re.findall(r'^- `([^`]+)`$', section, flags=re.M):\n"
        f"    open(os.path.join(root, out), 'w', encoding='utf-8').write({prepared()!r})\n"
        "page = os.path.join(root, 'docs', 'sessions', f'{session}-user-verification.md')\n"
        "text = open(page, encoding='utf-8').read()\n"
        "head, mark, rest = text.partition('<!-- sdd:end -->')\n"
        "rest = re.sub(r'\\[FILL:[^\\]]*\\]', 'Prepared.', rest.replace('- [ ] ', '- [x] '), 1)\n"
        "open(page, 'w', encoding='utf-8').write(head + mark + rest)\n",
        encoding="utf-8",
    )
    command = json.dumps([sys.executable, str(script), "{brief_file}"])
    with (root / ".sdd" / "config.toml").open("a", encoding="utf-8") as config:
        config.write(f"\n[agents.prep]\ninteractive = {command}\nheadless = {command}\n")
    result = run("run", "user-verification", "--agent", "prep", "--headless", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "complete" in result.stdout
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "walkthrough", action
    assert action["command"] == "sdd walkthrough"
    assert "0 of 9 items decided" in action["summary"]


def test_a_test_case_left_out_is_refused_at_done(milestone: Any) -> None:
    root = milestone("uv-ready")
    without = [i for i in PREPARED_ITEMS if i[0] not in ("TC-4", "US-2.2")]
    result = _prepare_by_hand(root, prepared(items=without))
    assert result.returncode == 1, result.stdout + result.stderr
    # each one left out is named, with what it is
    assert "no item for TC-4 (concurrency: Two runs at once)" in result.stderr
    assert "no item for US-2.2" in result.stderr and "--top 0" in result.stderr
    assert "TC-5" not in result.stderr
    assert status(root)["sessions"][-1]["outcome"] == "open"
    # an item without its expected result is named too
    broken = prepared().replace("- Expected: what TC-5 says.", "")
    write(root, PAGE, broken)
    result = run("done", cwd=root)
    assert result.returncode == 1
    assert "TC-5 has no expected result" in result.stderr
    # every criterion and case covered: done
    write(root, PAGE, prepared())
    result = run("done", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sdd_json("next", cwd=root)["command"] == "sdd walkthrough"


def test_the_walk_shows_the_items_as_prepared_and_keeps_the_agents_text(milestone: Any) -> None:
    root = milestone("uv-prepared")
    page = root / PAGE
    agents = page.read_bytes()
    session_page = next(p for p in (root / "docs" / "sessions").glob("*-user-verification.md"))
    handoff = session_page.read_bytes()
    # an agent's text with a control character in it: shown, never obeyed
    hostile = agents.replace(b"Expected: what TC-2 says.", b"Expected: what TC-2 \x1b[2J says.")
    page.write_bytes(hostile)
    shown = walk_all(root)
    # how to run it, with its fenced code block, exactly as written
    assert "How to run it\nFrom a clean checkout:\n\n" + RUN_BLOCK in shown
    # each item with its steps, its own code block and its expected result
    assert f"[5/{N}] {ITEM_TEXT['TC-1']}\n- Steps: for TC-1, run it:\n\n  ```sh\n" in shown
    assert "python wordfreq.py sample.txt  # TC-4" in shown  # the concurrency case is walked
    assert "- Expected: what TC-5 says." in shown  # and the performance case
    assert "what TC-2 \\x1b[2J says." in shown and "\x1b[2J" not in shown
    assert [line for line in shown.splitlines() if line.startswith("[")] == [
        f"[{n}/{N}] {ITEM_TEXT[i]}" for n, i in enumerate(ITEMS, start=1)
    ]
    # the agent's page is intact, byte for byte; the verdicts come after it
    after = page.read_bytes()
    assert after.startswith(hostile)
    rest = after[len(hostile) :].decode()
    assert "## Verdicts" in rest
    assert f"- PASS {ITEM_TEXT['TC-4']}" in rest
    # the walkthrough ticks only what happened: the gate is not decided
    assert f"- [x] Every item has a verdict ({N} of {N})" in rest
    assert "- [ ] user-approval decided" in rest
    # the preparation's session page is the agent's, untouched
    assert session_page.read_bytes() == handoff
    assert verdicts(root) == [(i, "pass", "") for i in ITEMS]


def test_problems_no_item_covers_become_findings(milestone: Any) -> None:
    root = milestone("uv-prepared")
    during = "the help text still says --count"
    after = "the output has no trailing newline"
    note = "The and the are counted apart"
    script = [
        *walk_script(ALL_PASS[:1], N),
        # at the second item: a problem no item covers, then its verdict
        (item_prompt(2, N, ITEM_TEXT["US-1.2"]), "n"),
        (r"what is wrong \(what you did and saw\)\? ", during),
        (r"how serious\? ", "m"),
        (item_prompt(2, N, ITEM_TEXT["US-1.2"]), "f"),
        (r"what went wrong\? ", note),
        *walk_script(ALL_PASS[2:], N, first=3),
        *end_script([(after, "")]),  # Enter: blocking
    ]
    code, shown = pty_dialogue(WALK, root, script)
    assert code == 0, shown
    assert "Type " not in shown
    found = {f["text"]: f for f in _findings(root)}
    assert set(found) == {f"{ITEM_TEXT['US-1.2']} — {note}", during, after}
    assert found[during]["severity"] == "major"
    assert found[after]["severity"] == "blocking"
    assert found[f"{ITEM_TEXT['US-1.2']} — {note}"]["severity"] == "blocking"
    assert {f["stage"] for f in found.values()} == {"user-verification"}
    assert "Recorded as findings: F-1, F-2, F-3" in shown
    text = (root / PAGE).read_text(encoding="utf-8")
    assert f"- (major) {during}" in text and f"- (blocking) {after}" in text
    # the failure and the blocking problem send the cycle back to implement
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "session" and action["stage"] == "implement", action


def test_q_stops_with_exit_0_and_the_walk_resumes_where_it_stopped(milestone: Any) -> None:
    root = milestone("uv-prepared")
    why = "no 10 MB file at hand"
    code, shown = pty_dialogue(
        WALK,
        root,
        [
            *walk_script([ALL_PASS[0], ALL_PASS[1], ("US-2.1", "s", why)], N),
            (item_prompt(4, N, ITEM_TEXT["US-2.2"]), "q"),
        ],
    )
    assert code == 0, shown
    assert f"Stopped: 3 of {N} items decided" in shown
    assert "Resume with: sdd walkthrough" in shown
    assert verdicts(root) == [
        ("US-1.1", "pass", ""),
        ("US-1.2", "pass", ""),
        ("US-2.1", "skip", why),
    ]
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "walkthrough" and action["command"] == "sdd walkthrough"
    assert f"3 of {N} items decided" in action["summary"]
    # resumed: it asks the fourth item first, then on to the end
    code, shown = pty_dialogue(WALK, root, [*walk_script(ALL_PASS[3:], N, first=4), *end_script()])
    assert code == 0, shown
    assert f"Resuming: 3 of {N} already decided." in shown
    first = next(line for line in shown.splitlines() if line.startswith("["))
    assert first == f"[4/{N}] {ITEM_TEXT['US-2.2']}"
    assert [v[0] for v in verdicts(root)] == ITEMS
    assert f"- SKIP {ITEM_TEXT['US-2.1']} — {why}" in (root / PAGE).read_text(encoding="utf-8")
    # a walk that is over is not walked again
    code, shown = pty_run(["sdd", "walkthrough"], cwd=root, respond=None)
    assert code == 3, shown
    assert "sdd approve user-approval" in shown


def test_the_gate_is_a_step_of_its_own(milestone: Any) -> None:
    root = milestone("uv-prepared")
    # not before the walk: the refusal names it
    code, shown = pty_run(["sdd", "approve", "user-approval"], cwd=root, respond=None)
    assert code == 3, shown
    assert "Type " not in shown and "sdd walkthrough" in shown
    shown = walk_all(root)
    assert "Type " not in shown  # the walkthrough never asks for the gate's code
    assert "user-approval is not decided yet" in shown
    data = status(root)
    assert gate_of(data, "user-approval")["state"] == "waiting"
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "gate" and action["command"] == "sdd approve user-approval"
    # the approval, as its own command: its screen shows the verdicts it covers
    code, shown = pty_dialogue(["sdd", "approve", "user-approval"], root, [(APPROVE, TYPE_CODE)])
    assert code == 0, shown
    assert "The person's walkthrough" in shown and "TC-5: PASS" in shown
    assert gate_of(status(root), "user-approval")["state"] == "approved"
    approval = [r for r in history(root) if r["type"] == "gate.approve"][-1]
    assert approval["gate"] == "user-approval" and len(approval["verdicts"]) == 64
    assert [r["type"] for r in history(root)].count("verification.end") == 1


def _signed_and_prepared(folder: Path) -> tuple[Path, Any]:
    """A signed project (the person's key added before any agent ran), driven by hand to a
    prepared user verification; every gate approved by the person with their signature."""
    from redteam.person import Person

    person = Person.make(folder / "ada")
    root = new_project(folder, name="signed")
    person.signs_commits_in(root)
    person.adds_approver(root, person.key, person.name)
    for _ in range(30):
        action = sdd_json("next", cwd=root)
        if action["kind"] == "session":
            by_hand(root, action["stage"])
            if action["stage"] == "user-verification":
                return root, person
        elif action["kind"] == "gate":
            person.does(root, "approve", action["gate"])
        else:
            raise AssertionError(f"unexpected next action: {action}")
    raise AssertionError("user verification was not reached")


def test_in_a_signed_project_verdicts_typed_by_anything_else_do_not_count(
    work: Path,
) -> None:
    from redteam.forge import History

    root, person = _signed_and_prepared(work)
    session = status(root)["sessions"][-1]["id"]
    forged = History(root)
    # Something with a shell writes every verdict, and the walk's end, as sdd would.
    for item in ITEMS:
        forged.add(
            "verification.verdict",
            {"session": session, "item": item, "verdict": "pass", "note": "", "by": person_by()},
        )
    forged.add("verification.end", {"session": session, "cycle": 1, "by": person_by()})
    # The end is a person's act without the person's signature: the walk is not over.
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "walkthrough", action
    code, shown = person.act(root, "approve", "user-approval")
    assert code == 3 and "sdd walkthrough" in shown, shown
    # The person walks it: what is recorded is shown to them before they go on, and the
    # walk's end is theirs, signed.
    code, shown = pty_dialogue(WALK, root, end_script(), env=person.env, timeout=120)
    assert code == 0, shown
    assert f"Resuming: {N} of {N} already decided." in shown and "  TC-5: PASS" in shown
    ends = [r for r in history(root) if r["type"] == "verification.end"]
    assert len(ends) == 2 and "sig" in ends[-1] and "sig" not in ends[0]
    person.does(root, "approve", "user-approval")
    approval = [r for r in history(root) if r["type"] == "gate.approve"][-1]
    assert approval["verdicts"] == ends[-1]["digest"]  # the signature covers these verdicts
    # A verdict written after the walk's end changes nothing the approval decided.
    forged.add(
        "verification.verdict",
        {"session": session, "item": "US-1.1", "verdict": "fail", "note": "forged"},
    )
    assert gate_of(status(root), "user-approval")["state"] == "approved"
    assert _findings(root) == []


def person_by() -> dict[str, str]:
    return {"kind": "person", "name": "Ada Tester", "email": "ada@example.com"}

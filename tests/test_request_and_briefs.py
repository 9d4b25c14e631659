"""Issue 17, points 7, 8, 11 and 12, through the command line with real git: the cycle starts
from the person's request (given with `--request`, `--request-file` or typed at a terminal),
which is recorded, kept in the cycle's documents and carried by every brief; the person
answers the spec's questions while the spec session is open and the same session works them
in (in a signed project too, while `sdd run` runs the agent); briefs carry what the stage
needs (a fix session's brief speaks of its finding, a greenfield brief lists no document
that no stage writes, the plan asks for the README's usage section, the approval screen
sums up what is judged); and the post-mortem's figures say where each finding escaped from
and which were waived.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contract_helpers import (
    SPEC_PATH,
    UNSURE_SPEC,
    finish,
    pty_person,
    qa_report,
    records_of,
    session_json,
    stage_project_fixture,  # noqa: F401  (the `stage_project` fixture)
)
from helpers import (
    SDD,
    approve,
    commit_all,
    complete_stage,
    do_work,
    init_project,
    pty_detached,
    pty_run,
    run,
    sdd_json,
    status,
    tick,
)

REQUEST = """Count the words in a text file.
Print the ten most frequent, highest count first; ties in alphabetical order.

# Numbers are not words (this line starts with a hash)"""
ANSWER = "Yes, digits count as words."


def quoted(text: str) -> str:
    """How a brief carries the person's words: as a quotation, line by line."""
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.split("\n"))


def brief_of(root: Path, *args: str) -> str:
    return str(sdd_json("prompt", *args, cwd=root)["brief"])


# ----------------------------------------------------------------------------- the request


def test_init_records_the_request_and_every_brief_of_the_cycle_carries_it(work: Path) -> None:
    made = sdd_json("init", "proj", "--request", REQUEST, cwd=work)
    root = work / "proj"
    document = made["request"]
    assert document == "docs/requests/001-count-the-words-in-a-text-file.md"
    assert document in made["created"]
    kept = (root / document).read_text(encoding="utf-8")
    assert kept.startswith("# Request: Count the words in a text file\n")
    assert kept.rstrip("\n").endswith(REQUEST)
    recorded = records_of(root, "cycle.request")
    assert [(r["cycle"], r["text"], r["document"]) for r in recorded] == [(1, REQUEST, document)]
    assert status(root)["cycle"]["title"] == "Count the words in a text file"  # not "proj"
    assert "request recorded: Count the words" in run("log", cwd=root).stdout
    commit_all(root, "sdd init")

    spec = brief_of(root)
    assert "## The request (the person's words, recorded when cycle 1 opened)" in spec
    assert quoted(REQUEST) in spec
    assert f"It is kept in `{document}`." in spec
    assert not any(line.startswith("# Numbers") for line in spec.splitlines())
    assert "No request was recorded" not in spec

    # the next stage's brief carries it too
    complete_stage(root, "spec")
    approve(root, "spec-approval")
    architecture = brief_of(root)
    assert architecture.startswith("# Brief: architecture")
    assert quoted(REQUEST) in architecture


def test_new_takes_the_request_from_a_file_or_from_the_terminal(work: Path) -> None:
    root = init_project(work, title="Alpha")
    sdd_json("layout", "per-cycle", cwd=root)
    commit_all(root, "per-cycle layout")
    request_file = work / "request.txt"
    request_file.write_text("Let an administrator revoke every open link.\r\n", encoding="utf-8")
    opened = sdd_json("new", "Beta", "--request-file", str(request_file), cwd=root)
    assert opened["request"] == "docs/cycles/002-beta/requests/002-beta.md"
    assert (root / opened["request"]).is_file()
    brief = brief_of(root, "--cycle", "2")
    assert "> Let an administrator revoke every open link.\n" in brief
    assert "No request was recorded" not in brief

    # typed at the terminal when neither option is given: lines up to an empty one
    typed: list[bool] = []

    def react(shown: bytearray, type_: Callable[[bytes], object]) -> None:
        if b"What should this cycle build or change?" in shown and not typed:
            typed.append(True)
            type_(b"Export the ranking as CSV.\nOne row per word.\n\n")

    code, shown = pty_detached(["sdd", "new", "Gamma"], root, None, react)
    assert code == 0, shown
    assert "request: kept in docs/cycles/003-gamma/requests/003-gamma.md" in shown
    assert quoted("Export the ranking as CSV.\nOne row per word.") in brief_of(root, "--cycle", "3")

    # nothing is asked without a terminal, and the mistakes are usage errors
    plain = run("new", "Delta", cwd=root)
    assert plain.returncode == 0, plain.stderr
    assert "request: none given; the spec session asks you for it first" in plain.stdout
    for args in (
        ["--request", "x", "--request-file", str(request_file)],
        ["--request", "  "],
        ["--request-file", str(work / "missing.txt")],
    ):
        refused = run("new", "Epsilon", *args, cwd=root)
        assert refused.returncode == 2, refused.stdout + refused.stderr
    assert [r["title"] for r in records_of(root, "cycle.open")] == [
        "Alpha",
        "Beta",
        "Gamma",
        "Delta",
    ]


def test_without_a_request_the_spec_brief_asks_for_it_first(project: Path) -> None:
    brief = brief_of(project)
    assert brief.startswith("# Brief: spec")
    assert (
        "No request was recorded for this cycle. Before anything else, ask the person what "
        "they want built or changed, and why, and wait for the answer." in brief
    )
    assert "`docs/requests/001-password-reset.md`" in brief


# ----------------------------------------------------------------------------- questions


def test_an_answer_given_while_the_spec_session_is_open_reaches_its_brief_and_the_same_session_opens_the_gate(
    stage_project: Any,
) -> None:
    root = stage_project("spec-unsure")  # S-0001 wrote the spec: Q1 (blocking) open, 80 %
    session = session_json(root, "spec")
    assert "Answers the person gave" not in brief_of(root)

    code, shown = pty_person(["sdd", "questions", "answer", "Q1", ANSWER], cwd=root)
    assert code == 0, shown
    brief = brief_of(root)  # the open session's brief
    assert brief.startswith(f"# Brief: spec · session {session['session']}")
    section = brief.split("## Answers the person gave since S-0001 started (work them in)\n", 1)
    assert len(section) == 2, brief
    assert section[1].lstrip("\n").startswith(f"- Q1: {ANSWER} (answered by Ada Tester, ")

    # the same session works the answer in: no second session just to raise the confidence
    spec = (root / SPEC_PATH).read_text(encoding="utf-8")
    finish(root, session, {SPEC_PATH: spec.replace("Confidence: 80 %", "Confidence: 96 %")})
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "gate" and action["gate"] == "spec-approval", action
    assert [s["stage"] for s in status(root)["sessions"]] == ["spec", "spec"]


ASKING_AGENT = r"""
import os, pathlib, re, subprocess, sys, time

root = pathlib.Path(os.environ["SDD_PROJECT_ROOT"])
session = os.environ["SDD_SESSION_ID"]
spec = root / "docs" / "product-spec.md"
spec.write_text(pathlib.Path(sys.argv[1]).read_text(encoding="utf-8"), encoding="utf-8")
pathlib.Path(sys.argv[2]).write_text("asked", encoding="utf-8")
deadline = time.time() + 90
while time.time() < deadline:
    shown = subprocess.run(["sdd", "prompt", "--json"], cwd=root, capture_output=True, text=True)
    if sys.argv[3] in shown.stdout:
        break
    time.sleep(0.2)
else:
    sys.exit(5)
text = spec.read_text(encoding="utf-8")
spec.write_text(text.replace("Confidence: 80 %", "Confidence: 96 %"), encoding="utf-8")
page = root / "docs" / "sessions" / (session + "-spec.md")
head, marker, rest = page.read_text(encoding="utf-8").partition("<!-- sdd:end -->")
rest = re.sub(r"\[FILL:[^\]]*\]", "Worked the person's answer in.", rest.replace("- [ ] ", "- [x] "))
page.write_text(head + marker + rest, encoding="utf-8")
sys.exit(subprocess.run(["sdd", "done"], cwd=root).returncode)
"""


def test_in_a_signed_project_the_person_answers_while_sdd_run_runs_the_spec_agent(
    work: Path, tmp_path: Path
) -> None:
    from redteam.person import Person

    person = Person.make(tmp_path / "ada")
    root = init_project(work, name="signed", title="Word frequencies")
    person.signs_commits_in(root)
    person.adds_approver(root, person.key, person.name)
    agent = tmp_path / "agent.py"
    agent.write_text(ASKING_AGENT, encoding="utf-8")
    asked_spec = tmp_path / "asked-spec.md"
    asked_spec.write_text(UNSURE_SPEC, encoding="utf-8")
    marker = tmp_path / "asked"
    command = json.dumps([sys.executable, str(agent), str(asked_spec), str(marker), ANSWER])
    command = command.replace("]", ', "{brief_file}"]')
    with (root / ".sdd" / "config.toml").open("a", encoding="utf-8") as config:
        config.write(f"\n[agents.asker]\ninteractive = {command}\nheadless = {command}\n")
    commit_all(root, "the first approver, and the agent that asks")

    running = subprocess.Popen(
        [*SDD, "run", "spec", "--agent", "asker", "--headless"],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(600):
            if marker.exists() or running.poll() is not None:
                break
            time.sleep(0.1)
        assert marker.exists(), running.communicate(timeout=30)[0]
        person.does(root, "questions", "answer", "Q1", ANSWER)  # the session is open
        output, _ = running.communicate(timeout=150)
    finally:
        if running.poll() is None:
            running.kill()
            running.wait()
    assert running.returncode == 0, output
    answers = records_of(root, "question.answer")
    assert len(answers) == 1 and "sig" in answers[0]  # the person's act, signed
    sessions = status(root)["sessions"]
    assert [(s["stage"], s["outcome"]) for s in sessions] == [("spec", "complete")]
    action = sdd_json("next", cwd=root)
    assert action["kind"] == "gate" and action["gate"] == "spec-approval", action


# ----------------------------------------------------------------------------- briefs


def test_a_fix_sessions_brief_speaks_of_its_finding_and_not_of_a_task(
    stage_project: Any,
) -> None:
    root = stage_project("review-next")  # T1 done, review next
    added = run(
        "findings",
        "add",
        "reset.py: an expired link still resets the password",
        "--severity",
        "blocking",
        "--stage",
        "review",
        cwd=root,
    )
    assert added.returncode == 0, added.stdout + added.stderr
    action = sdd_json("next", cwd=root)
    assert action["stage"] == "implement", action
    brief = brief_of(root, "implement")
    assert "F-1" in brief and "an expired link still resets the password" in brief
    assert "Your goal: Fix F-1" in brief
    assert "The finding this brief names is your scope" in brief
    assert "is your scope. If the brief names open findings" not in brief
    assert "The task's entry" not in brief
    assert not re.search(r"`T[0-9]+: ", brief), brief
    assert "`F-1: …`" in brief
    assert "the task's code and tests" not in brief

    # its page asks the same checklist that `sdd done` then checks
    session = session_json(root, "implement")
    assert session["finding"] == "F-1"
    page = (root / session["page"]).read_text(encoding="utf-8")
    handoff = page.split("<!-- sdd:end -->", 1)[1]
    assert "- [ ] Work only on the finding the brief names" in handoff
    assert "task" not in handoff.split("### Notes")[0].lower()
    (root / "reset.py").write_text(
        "def reset_link(user: str) -> str:\n    return f'https://example.com/reset/{user}?x'\n",
        encoding="utf-8",
    )
    commit_all(root, "F-1: expired links")
    tick(root / session["page"], "Fixed F-1.")
    done = run("done", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_greenfield_brief_lists_no_document_that_no_stage_writes(
    project: Path, work: Path
) -> None:
    brief = brief_of(project)
    assert "- `docs/product-spec.md`" in brief
    assert "docs/conventions.md" not in brief

    existing = work / "existing"
    existing.mkdir()
    (existing / "app.py").write_text("print('hello')\n", encoding="utf-8")
    sdd_json("init", str(existing), cwd=work)
    discovery = brief_of(existing)
    assert discovery.startswith("# Brief: discovery")
    assert "- `docs/conventions.md`" in discovery  # discovery writes it


def test_the_plan_brief_asks_for_the_readmes_usage_section(project_at: Any) -> None:
    root = project_at("architecture")
    complete_stage(root, "architecture")
    brief = brief_of(root)
    assert brief.startswith("# Brief: plan")
    assert "Give one task the README's Usage section, which user verification reads" in brief
    assert "The README's `## Usage` section is how the person runs the feature" in brief


def test_the_approval_screen_sums_up_what_is_judged(project_at: Any) -> None:
    root = project_at("architecture", approve_gate_before=False)  # spec done, its gate waits
    import hashlib

    digest = hashlib.sha256((root / SPEC_PATH).read_bytes()).hexdigest()
    code, shown = pty_run(["sdd", "approve", "spec-approval"], cwd=root, respond="NOPE")
    assert code == 1, shown  # a wrong code: nothing recorded
    summary = shown.split("Approve spec-approval for cycle 1: Password reset\n", 1)[1]
    paragraph = " ".join(summary.split("\n\n", 1)[0].split())
    assert paragraph.startswith(
        "Approving spec-approval records that you judged the work of spec: "
        f"docs/product-spec.md (sha256 {digest})."
    ), paragraph
    assert (
        "The gate requires that the spec's confidence is at or above the threshold and no "
        "blocking question is open: that holds now." in paragraph
    )


# ----------------------------------------------------------------------------- post-mortem


def test_the_figures_say_where_each_finding_escaped_from_and_which_were_waived(
    stage_project: Any,
) -> None:
    root = stage_project("qa-next")  # implement and review done, QA next
    qa = session_json(root, "qa")
    report = qa_report(
        "Password reset",
        [
            "F1 (major) docs/product-spec.md US-1: the spec never says what an expired link shows",
            "F2 (minor) reset.py:2: the link is built without escaping the user name",
            "F3 (minor; escaped from plan) TC-2: no case covers two resets at once",
        ],
    )
    for relative in qa["writes"]:
        (root / relative).write_text(report, encoding="utf-8")
    do_work(root, {"stage": "qa", "writes": [], "page": qa["page"]})
    done = run("done", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    code, shown = pty_person(
        ["sdd", "findings", "waive", "F-2", "--reason", "user names are ids, never text"], cwd=root
    )
    assert code == 0, shown

    figures = sdd_json("postmortem", cwd=root)
    found = figures["findings"]
    assert found["escapes"] == [
        {
            "finding": "F-1",
            "severity": "major",
            "found_in": "qa",
            "escaped_from": "spec",
            "how": "place",
        },
        {
            "finding": "F-2",
            "severity": "minor",
            "found_in": "qa",
            "escaped_from": "implement",
            "how": "code",
        },
        {
            "finding": "F-3",
            "severity": "minor",
            "found_in": "qa",
            "escaped_from": "plan",
            "how": "recorded",
        },
    ]
    assert found["escaped_from"] == {"spec": 1, "implement": 1, "plan": 1}
    assert figures["waivers"] == {
        "count": 1,
        "list": [
            {
                "finding": "F-2",
                "severity": "minor",
                "reason": "user names are ids, never text",
                "by": "Ada Tester",
            }
        ],
    }
    text = run("postmortem", cwd=root).stdout
    assert "- F-1 (major) found in qa, escaped from spec (by its place)" in text
    assert "- F-2 (minor) found in qa, escaped from implement (the code)" in text
    assert "- F-3 (minor) found in qa, escaped from plan (as recorded)" in text
    assert "Waivers: 1\n- F-2 (minor) waived by Ada Tester: user names are ids, never text" in text

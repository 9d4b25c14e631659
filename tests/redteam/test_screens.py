"""What the person is shown before deciding, read through a real pty: the agent writes
`Answer: …` under a blocking question itself, rewrites the approved snapshot so the change
vanishes from the diff, and puts escape sequences (clear the screen, retitle the terminal,
move the cursor up and erase, a bare carriage return, C1 controls) into the spec, a
question, a finding, a task title and the cycle's title. The screen names what the agent
did, and shows every text with its controls made visible: the header and the lines that
matter survive."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from helpers import commit_all, fill, pty_run, run, start, tick
from redteam.forge import History
from redteam.person import CODE_PROMPT
from redteam.verdicts import refused, shown_safely, warned

SPEC = "docs/product-spec.md"
PLAN = "docs/implementation-plan.md"
# Each control is followed by a word, so what it would hide shows once it is made visible.
ESCAPES = {
    "clear the screen": "\x1b[2J\x1b[HCLEARED",
    "retitle the terminal": "\x1b]0;RETITLED\x07",
    "cursor up, erase the line": "\x1b[1A\x1b[2KERASED",
    "carriage return": "\rOVERWRITTEN",
    "C1 control sequence introducer": "\x9b2JINTRODUCED",
    "C1 next line": "\x85NEXTLINE",
}
PAYLOAD = "".join(ESCAPES.values())
WORDS = ("CLEARED", "RETITLED", "ERASED", "OVERWRITTEN", "INTRODUCED", "NEXTLINE")


def approval_screen(root: Path, gate: str) -> str:
    """The approval screen as the person sees it; they press Enter, which cancels."""
    _, shown = pty_run(["sdd", "approve", gate], root, respond=None, prompt=CODE_PROMPT)
    return shown


def header(gate: str) -> tuple[str, str]:
    return f"Approve {gate} for cycle 1", "Type "


def _spec_with_questions(root: Path, questions: str) -> None:
    """A spec session whose agent writes ``questions`` under Open questions."""
    session = start(root, "spec")
    path = root / SPEC
    fill(path)
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?s)## Open questions\n.*?\n## ", f"## Open questions\n{questions}\n## ", text)
    path.write_text(text, encoding="utf-8")
    tick(root / session["page"])
    done = run("done", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_answer_the_agent_wrote_in_the_spec_is_shown_as_written_in_the_spec(
    project: Path,
) -> None:
    _spec_with_questions(
        project,
        "- Q1 (blocking): Should an expired link send a new one?\n  Answer: Yes, always.\n",
    )
    shown = approval_screen(project, "spec-approval")
    assert "Q1" in shown and "written in the spec" in shown.lower(), shown


def _approved_spec_rewritten(project_at: Any) -> tuple[Path, str]:
    """The spec approved and committed; then the agent changes it and rewrites the approved
    snapshot to match, so the change would not show in a diff."""
    root = project_at("architecture")
    commit_all(root, "the approved spec")
    digest = History(root).one("gate.approve", gate="spec-approval").record["docs"][SPEC]
    spec = root / SPEC
    spec.write_text(spec.read_text(encoding="utf-8") + "\nLinks never expire.\n", "utf-8")
    (root / ".sdd" / "snapshots" / digest).write_bytes(spec.read_bytes())
    return root, digest


def test_a_rewritten_snapshot_is_named_on_the_approval_screen_not_diffed(
    project_at: Any,
) -> None:
    root, _ = _approved_spec_rewritten(project_at)
    shown = approval_screen(root, "spec-approval")
    assert "snapshot" in shown.lower(), f"the tampered snapshot is not named:\n{shown}"


def test_a_rewritten_snapshot_is_named_by_doctor(project_at: Any) -> None:
    root, digest = _approved_spec_rewritten(project_at)
    warned(root, digest, digest[:12], "snapshot")


def _words_visible(shown: str) -> None:
    hidden = [w for w in WORDS if w not in shown]
    assert not hidden, f"{hidden} are not on the screen:\n{shown}"


def test_escapes_in_the_spec_are_shown_escaped_on_the_approval_screen(project_at: Any) -> None:
    root = project_at("architecture")
    spec = root / SPEC
    spec.write_text(spec.read_text(encoding="utf-8") + f"\nLinks expire {PAYLOAD}\n", "utf-8")
    shown = approval_screen(root, "spec-approval")
    shown_safely(shown, *header("spec-approval"))
    _words_visible(shown)


def test_escapes_in_a_question_are_shown_escaped_on_the_approval_screen(project: Path) -> None:
    _spec_with_questions(
        project, f"- Q1 (non-blocking): Should links expire {PAYLOAD}?\n  Answer: open\n"
    )
    shown = approval_screen(project, "spec-approval")
    shown_safely(shown, *header("spec-approval"), "Q1")
    _words_visible(shown)


def test_escapes_in_a_finding_are_shown_escaped_on_the_waive_screen(project: Path) -> None:
    added = run(
        "findings", "add", f"links {PAYLOAD}", "--severity", "major", "--stage", "qa", cwd=project
    )
    assert added.returncode == 0, added.stderr
    argv = ["sdd", "findings", "waive", "F-1", "--reason", "accepted"]
    _, shown = pty_run(argv, project, respond=None, prompt=CODE_PROMPT)
    shown_safely(shown, "F-1", "Type ")
    _words_visible(shown)


def test_escapes_in_a_task_title_are_not_obeyed_on_the_approval_screen(project_at: Any) -> None:
    root = project_at("implement", approve_gate_before=False)
    plan = root / PLAN
    text = plan.read_text(encoding="utf-8")
    plan.write_text(re.sub(r"(?m)^(### T1: .*)$", rf"\1 {PAYLOAD}", text, count=1), "utf-8")
    shown_safely(
        approval_screen(root, "implementation-approval"), *header("implementation-approval")
    )


def test_escapes_in_the_cycle_title_are_not_obeyed_on_the_approval_screen(
    project_at: Any,
) -> None:
    """`sdd new` cleans a title; the agent writes one into the history by hand instead."""
    root = project_at("architecture", approve_gate_before=False)
    history = History(root)
    opened = history.one("cycle.open")
    history.edit(opened, title=f"Password reset {PAYLOAD}")
    code, shown = pty_run(
        ["sdd", "approve", "spec-approval"], root, respond=None, prompt=CODE_PROMPT
    )
    if "Type " in shown:  # the screen was shown: safely, its header whole
        shown_safely(shown, *header("spec-approval"))
        _words_visible(shown)
    else:  # or the edited record was caught first
        shown_safely(shown)
        refused(code, shown, "history", "changed", opened.id)

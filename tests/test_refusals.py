"""What the process refuses, in code: stages behind gates, stages out of order, a second
session, a person's act without a person, and `sdd done` on incomplete work."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from helpers import (
    INTERRUPT,
    commit_all,
    fill,
    gate_of,
    git,
    history_lines,
    person_runs,
    pty_run,
    run,
    sdd_json,
    stage_of,
    start,
    status,
    tick,
    write_code,
)

# ----------------------------------------------------------------------------- starting stages


def test_a_stage_behind_an_undecidable_gate_does_not_start(project: Path) -> None:
    for args in (["start", "architecture"], ["prompt", "architecture"], ["start", "implement"]):
        result = run(*args, cwd=project)
        assert result.returncode == 3, (args, result.stderr)
        assert "spec-approval" in result.stderr
        assert "sdd start spec" in result.stderr, "the refusal names the unblocking command"
    data = status(project)
    assert data["sessions"] == []
    assert not (project / "docs" / "sessions").exists() or not any(
        (project / "docs" / "sessions").iterdir()
    )


def test_a_stage_behind_a_waiting_gate_does_not_start(project_at) -> None:  # type: ignore[no-untyped-def]
    root = project_at("architecture", approve_gate_before=False)
    data = status(root)
    assert gate_of(data, "spec-approval")["state"] == "waiting"
    assert stage_of(data, "architecture")["status"] == "blocked"
    lines = history_lines(root)
    for args in (
        ["start"],
        ["start", "architecture"],
        ["prompt", "architecture"],
        ["start", "implement"],
    ):
        result = run(*args, cwd=root)
        assert result.returncode == 3, (args, result.stderr)
        assert "spec-approval" in result.stderr
        assert "sdd approve spec-approval" in result.stderr, result.stderr
    error = sdd_json("start", "architecture", cwd=root, expect=3)
    assert error["kind"] == "refused"
    assert "spec-approval" in error["message"]
    assert "sdd approve spec-approval" in error["hint"]
    assert history_lines(root) == lines, "a refusal records nothing"


def test_a_stage_that_is_not_next_does_not_start(project_at) -> None:  # type: ignore[no-untyped-def]
    root = project_at("architecture")
    result = run("start", "plan", cwd=root)
    assert result.returncode == 3
    assert "architecture" in result.stderr
    assert "sdd start architecture" in result.stderr
    # the spec is done and its gate approved: it cannot be redone around the gate
    result = run("start", "spec", cwd=root)
    assert result.returncode == 3
    assert "spec-approval" in result.stderr
    assert status(root)["cycle"]["current_stage"] == "architecture"


def test_a_second_session_while_one_is_open_is_refused(project: Path) -> None:
    first = start(project, "spec")
    for args in (["start"], ["start", "spec"]):
        result = run(*args, cwd=project)
        assert result.returncode == 3
        assert first["session"] in result.stderr
        assert "sdd done" in result.stderr and "sdd abandon" in result.stderr
    data = status(project)
    assert len(data["sessions"]) == 1
    assert data["next"]["kind"] == "finish-session"


def test_abandon_a_session_then_start_again(project: Path) -> None:
    first = start(project, "spec")
    result = run("abandon", "--reason", "wrong agent", cwd=project)
    assert result.returncode == 0, result.stderr
    data = status(project)
    assert data["sessions"][0]["outcome"] == "abandoned"
    assert stage_of(data, "spec")["status"] == "ready"
    second = start(project, "spec")
    assert second["session"] != first["session"]
    result = run("abandon", cwd=project)
    assert result.returncode == 0
    assert run("abandon", cwd=project).returncode == 1, "no open session to abandon"


def test_a_new_cycle_is_refused_while_one_is_open(project: Path) -> None:
    result = run("new", "Something else", cwd=project)
    assert result.returncode == 3
    assert "still open" in result.stderr
    assert "abandon" in result.stderr
    assert status(project)["cycle"]["number"] == 1

    assert run("abandon", "--whole-cycle", cwd=project).returncode == 2, "needs --reason"
    refused = run("abandon", "--whole-cycle", "--reason", "priorities changed", cwd=project)
    assert refused.returncode == 3 and "person's act" in refused.stderr, refused.stderr
    code, shown = person_runs(project, "abandon", "--whole-cycle", "--reason", "priorities changed")
    assert code == 0, shown
    data = status(project)
    assert data["cycle"]["state"] == "abandoned"
    assert data["next"]["kind"] == "new-cycle"
    assert run("start", "spec", cwd=project).returncode == 3

    assert run("new", "   ", cwd=project).returncode == 2, "a title needs visible text"
    hostile = "../../etc/passwd; rm -rf ~ $(whoami) `id` Ünïcödé"
    result = run("new", hostile, cwd=project)
    assert result.returncode == 0, result.stderr
    data = status(project)
    assert data["cycle"]["number"] == 2
    slug = data["cycle"]["slug"]
    assert slug.startswith("002-")
    assert all(c.isascii() and (c.isalnum() or c == "-") for c in slug), slug
    assert slug == slug.lower() and "--" not in slug and not slug.endswith("-")
    assert not (project.parent / "etc").exists()


# ----------------------------------------------------------------------------- a person's act


def test_approve_is_refused_without_a_terminal(project_at) -> None:  # type: ignore[no-untyped-def]
    root = project_at("architecture", approve_gate_before=False)
    lines = history_lines(root)
    for stdin in (None, "ABCD\n"):
        for args in (["approve", "spec-approval"], ["reject", "spec-approval", "--reason", "no"]):
            result = run(*args, cwd=root, input=stdin)
            assert result.returncode == 3, (args, result.stderr)
            assert "terminal" in result.stderr
            assert "Type " not in result.stderr, "no code is offered without a terminal"
    assert history_lines(root) == lines
    assert gate_of(status(root), "spec-approval")["state"] == "waiting"


def test_approve_is_refused_inside_a_session(project_at) -> None:  # type: ignore[no-untyped-def]
    root = project_at("architecture", approve_gate_before=False)
    lines = history_lines(root)
    for argv in (
        ["sdd", "approve", "spec-approval"],
        ["sdd", "reject", "spec-approval", "--reason", "x"],
    ):
        code, output = pty_run(argv, cwd=root, env={"SDD_SESSION_ID": "S-0001"}, respond=None)
        assert code == 3, output
        assert "SDD_SESSION_ID" in output
        assert "Type " not in output
    assert history_lines(root) == lines
    assert gate_of(status(root), "spec-approval")["state"] == "waiting"


def _fake_agent(folder: Path, name: str) -> Path:
    """A shell script named like an agent CLI that runs `sdd approve` as its child."""
    folder.mkdir(exist_ok=True)
    script = folder / name
    script.write_text(
        '#!/bin/sh\nsdd approve spec-approval\nstatus=$?\necho "agent saw exit $status"\nexit $status\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def test_approve_is_refused_under_an_agent_cli(project_at, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = project_at("architecture", approve_gate_before=False)
    lines = history_lines(root)
    bindir = tmp_path / "agents"
    path = f"{bindir}{os.pathsep}{os.environ['PATH']}"
    for name in ("claude", "codex", "gemini"):
        _fake_agent(bindir, name)
        code, output = pty_run([name], cwd=root, env={"PATH": path}, respond=None)
        assert code == 3, output
        assert "agent saw exit 3" in output
        assert name in output and "agent" in output
        assert "Type " not in output
    assert history_lines(root) == lines
    assert gate_of(status(root), "spec-approval")["state"] == "waiting"


def test_approve_is_refused_under_an_agent_run_by_its_interpreter(
    project_at, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """An agent CLI installed as a package and run by its interpreter (`node …/cli.js`):
    the process is named after the interpreter, its command line names the package."""
    root = project_at("architecture", approve_gate_before=False)
    package = tmp_path / "node_modules" / "@anthropic-ai" / "claude-code"
    package.mkdir(parents=True)
    cli = package / "cli.py"
    cli.write_text(
        "import subprocess, sys\n"
        "code = subprocess.call(['sdd', 'approve', 'spec-approval'])\n"
        "print('agent saw exit', code)\n"
        "sys.exit(code)\n",
        encoding="utf-8",
    )
    code, output = pty_run([sys.executable, str(cli)], cwd=root, respond=None)
    assert code == 3, output
    assert "agent saw exit 3" in output
    assert "@anthropic-ai/claude-code" in output
    assert "Type " not in output
    assert gate_of(status(root), "spec-approval")["state"] == "waiting"


def test_a_wrong_code_records_nothing(project_at) -> None:  # type: ignore[no-untyped-def]
    root = project_at("architecture", approve_gate_before=False)
    lines = history_lines(root)
    for argv, answer in (
        (["sdd", "approve", "spec-approval"], "0000"),
        (["sdd", "approve", "spec-approval"], ""),
        (["sdd", "reject", "spec-approval", "--reason", "too vague"], "0000"),
    ):
        code, output = pty_run(argv, cwd=root, respond=answer)
        assert code == 1, output
        assert "did not match" in output and "nothing was recorded" in output
    assert history_lines(root) == lines
    data = status(root)
    assert gate_of(data, "spec-approval")["state"] == "waiting"
    assert stage_of(data, "architecture")["status"] == "blocked"


def test_ctrl_c_at_the_prompt_exits_130_and_records_nothing(project_at) -> None:  # type: ignore[no-untyped-def]
    root = project_at("architecture", approve_gate_before=False)
    lines = history_lines(root)
    code, output = pty_run(["sdd", "approve", "spec-approval"], cwd=root, respond=INTERRUPT)
    assert code == 130, output
    assert "interrupted" in output
    assert history_lines(root) == lines


def test_gates_are_decided_only_when_they_can_be(project: Path) -> None:
    # spec not done yet: nothing to decide, even for a person at a terminal
    code, output = pty_run(["sdd", "approve", "spec-approval"], cwd=project, respond=None)
    assert code == 3, output
    assert "spec" in output and "not done" in output
    code, output = pty_run(["sdd", "approve", "no-such-gate"], cwd=project, respond=None)
    assert code == 2, output
    assert "spec-approval" in output, "the usage error lists the real gates"
    assert run("reject", "spec-approval", cwd=project).returncode == 2, "--reason is required"
    # a gate is decided between sessions, not during one
    start(project, "spec")
    code, output = pty_run(["sdd", "approve", "spec-approval"], cwd=project, respond=None)
    assert code == 3, output
    assert status(project)["gates"][0]["state"] == "not-yet"


# ----------------------------------------------------------------------------- sdd done


def _session_stays_open(root: Path, stage: str) -> None:
    data = status(root)
    assert data["sessions"][-1]["outcome"] == "open"
    assert stage_of(data, stage)["status"] == "active"
    assert data["next"]["kind"] == "finish-session"


def test_done_lists_everything_missing_and_the_session_stays_open(project: Path) -> None:
    session = start(project, "spec")
    (project / "src").mkdir()
    (project / "src" / "app.py").write_text("print('building already')\n", encoding="utf-8")

    result = run("done", cwd=project)
    assert result.returncode == 1
    err = result.stderr
    assert "stays open" in err
    assert "docs/product-spec.md" in err and "placeholder" in err
    assert "checklist item" in err
    assert "Give each user story an id" in err, "each unanswered item is named"
    assert "handoff notes are empty" in err
    assert "src/app.py" in err and "outside docs/" in err
    _session_stays_open(project, "spec")

    fill(project / "docs" / "product-spec.md")
    tick(project / session["page"])
    result = run("done", cwd=project)
    assert result.returncode == 1
    assert "src/app.py" in result.stderr
    assert "placeholder" not in result.stderr and "checklist" not in result.stderr
    _session_stays_open(project, "spec")

    (project / "src" / "app.py").unlink()
    result = run("done", cwd=project)
    assert result.returncode == 0, result.stderr
    assert stage_of(status(project), "spec")["status"] == "done"


def test_done_refuses_a_thinking_stage_that_committed_code(project: Path) -> None:
    session = start(project, "spec")
    fill(project / "docs" / "product-spec.md")
    tick(project / session["page"])
    (project / "build.sh").write_text("echo build\n", encoding="utf-8")
    commit_all(project, "sneak in a build script")
    result = run("done", cwd=project)
    assert result.returncode == 1
    assert "build.sh" in result.stderr
    _session_stays_open(project, "spec")
    git("rm", "-q", "build.sh", cwd=project)
    git("commit", "-q", "-m", "revert the build script", cwd=project)
    result = run("done", cwd=project)
    assert result.returncode == 0, result.stderr


def test_done_with_a_missing_or_empty_output(project: Path) -> None:
    session = start(project, "spec")
    tick(project / session["page"])
    spec = project / "docs" / "product-spec.md"
    spec.unlink()
    result = run("done", cwd=project)
    assert result.returncode == 1
    assert "docs/product-spec.md: not written" in result.stderr
    spec.write_text("  \n", encoding="utf-8")
    result = run("done", cwd=project)
    assert result.returncode == 1
    assert "docs/product-spec.md: empty" in result.stderr
    _session_stays_open(project, "spec")


def _edit_handoff(page: Path, edit) -> None:  # type: ignore[no-untyped-def]
    text = page.read_text(encoding="utf-8")
    cut = text.index("<!-- sdd:end -->")
    page.write_text(text[:cut] + edit(text[cut:]), encoding="utf-8")


def test_done_checks_each_checklist_item(project: Path) -> None:
    session = start(project, "spec")
    fill(project / "docs" / "product-spec.md")
    page = project / session["page"]
    tick(page)
    asked = "Ask the person questions in small batches until you are at least 95 % confident"
    scope = "State what is out of scope in the Overview"
    confidence = "Set the Confidence figure to your honest estimate, not to the threshold"

    def answer_partly(handoff: str) -> str:
        # left open with a reason: an answer; left open without one: not; deleted: not
        handoff = handoff.replace(
            f"- [x] {asked}", f"- [ ] {asked} reason: the person was away, asked by mail"
        )
        handoff = handoff.replace(f"- [x] {scope}", f"- [ ] {scope}")
        return handoff.replace(f"- [x] {confidence}\n", "")

    _edit_handoff(page, answer_partly)
    result = run("done", cwd=project)
    assert result.returncode == 1
    err = result.stderr
    assert scope in err and "neither ticked nor left open" in err
    assert confidence in err and "missing from the handoff" in err
    assert asked not in err, "an item left open with a reason is an answer"
    _session_stays_open(project, "spec")

    _edit_handoff(
        page,
        lambda h: h.replace(f"- [ ] {scope}", f"- [x] {scope}").replace(
            "### Notes", f"- [x] {confidence}\n\n### Notes"
        ),
    )
    result = run("done", cwd=project)
    assert result.returncode == 0, result.stderr


def test_done_note_fills_empty_notes(project: Path) -> None:
    session = start(project, "spec")
    fill(project / "docs" / "product-spec.md")
    page = project / session["page"]
    _edit_handoff(page, lambda h: h.replace("- [ ] ", "- [x] "))
    result = run("done", cwd=project)
    assert result.returncode == 1
    assert "handoff notes are empty" in result.stderr
    result = run("done", "--note", "Chose e-mail links over SMS; see Q2", cwd=project)
    assert result.returncode == 0, result.stderr
    handoff = page.read_text(encoding="utf-8").split("<!-- sdd:end -->", 1)[1]
    assert "Chose e-mail links over SMS; see Q2" in handoff
    assert "[FILL:" not in handoff


def test_a_done_note_that_fails_leaves_the_page_as_it_was(project: Path) -> None:
    """`done --note` writes the note inside the change: a `done` refused for missing work
    takes it back (the page byte for byte), and the one that passes keeps it."""
    session = start(project, "spec")
    page = project / session["page"]
    before = page.read_bytes()
    result = run("done", "--note", "Chose e-mail links over SMS", cwd=project)
    assert result.returncode == 1, result.stderr
    assert "docs/product-spec.md" in result.stderr
    assert page.read_bytes() == before
    _session_stays_open(project, "spec")

    fill(project / "docs" / "product-spec.md")
    _edit_handoff(page, lambda h: h.replace("- [ ] ", "- [x] "))
    assert b"Chose e-mail links over SMS" not in page.read_bytes()
    result = run("done", "--note", "Chose e-mail links over SMS", cwd=project)
    assert result.returncode == 0, result.stderr
    handoff = page.read_text(encoding="utf-8").split("<!-- sdd:end -->", 1)[1]
    assert "Chose e-mail links over SMS" in handoff


def test_done_in_implement_needs_a_commit_and_a_clean_tree(project_at) -> None:  # type: ignore[no-untyped-def]
    root = project_at("implement")
    commit_all(root, "documents of the thinking stages")
    session = start(root, "implement")
    tick(root / session["page"])
    write_code(root)

    result = run("done", cwd=root)
    assert result.returncode == 1
    assert "no commit since the session started" in result.stderr
    assert "uncommitted changes" in result.stderr and "reset.py" in result.stderr
    _session_stays_open(root, "implement")

    git("add", "reset.py", "tests", cwd=root)
    git("commit", "-q", "-m", "T1: reset links", cwd=root)
    (root / "notes.txt").write_text("left behind\n", encoding="utf-8")
    result = run("done", cwd=root)
    assert result.returncode == 1
    assert "no commit" not in result.stderr
    assert "notes.txt" in result.stderr
    _session_stays_open(root, "implement")

    (root / "notes.txt").unlink()
    result = run("done", cwd=root)
    assert result.returncode == 0, result.stderr
    assert stage_of(status(root), "implement")["status"] == "done"


def test_done_without_an_open_session(project: Path) -> None:
    result = run("done", cwd=project)
    assert result.returncode == 1
    assert "no open session" in result.stderr
    assert "sdd start spec" in result.stderr


@pytest.mark.parametrize(
    "command", [["approve", "spec-approval"], ["reject", "spec-approval", "--reason", "x"]]
)
def test_person_acts_refused_without_tty_even_before_the_gate(
    project: Path, command: list[str]
) -> None:
    result = run(*command, cwd=project)
    assert result.returncode == 3
    assert "person" in result.stderr

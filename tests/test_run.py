"""`sdd run`: one session in a fresh agent process, judged afterwards from evidence.

Every agent here is the fake agent of tests/run_helpers.py, a real child process on PATH
under a preset's name. Interactive mode is driven through a real pseudo-terminal.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import termios
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import (
    FILL,
    HANDOFF_END,
    SDD,
    approve,
    fill,
    history_records,
    run,
    sdd_json,
    stage_of,
    status,
    tick,
)
from run_helpers import (
    Agents,
    agents_fixture,  # noqa: F401 - a fixture
    alive,
    fresh_fixture,  # noqa: F401 - a fixture
    pty_sdd,
    run_json,
    sdd_run,
    session_row,
    wait_dead,
)

CLAUDE_OK = '{"type":"result","subtype":"success","is_error":false,"result":"Spec written."}\n'


def not_complete(root: Path, session: str = "S-0001") -> dict[str, Any]:
    """The session is not complete, by every account `sdd status` gives."""
    data = status(root)
    row = session_row(data, session)
    assert row["outcome"] != "complete", row
    assert stage_of(data, "spec")["status"] != "done"
    assert data["gates"][0]["state"] != "approved"
    return row


def page_of(root: Path, session: str = "S-0001", stage: str = "spec") -> str:
    return (root / "docs" / "sessions" / f"{session}-{stage}.md").read_text(encoding="utf-8")


def handoff_part(page: str) -> str:
    return page[page.index(HANDOFF_END) + len(HANDOFF_END) :]


# ----------------------------------------------------------------------------- complete


def test_headless_session_completes(fresh: Path, agents: Agents) -> None:
    result = sdd_run(fresh, "--headless", env=agents.env("write", FAKE_OUTPUT=CLAUDE_OK))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "S-0001 (spec, claude): session S-0001 complete" in out
    assert "sdd approve spec-approval" in out  # then the next action
    # Everything the agent printed is in the session's log.
    log = fresh / ".sdd" / "logs" / "sessions" / "S-0001.log"
    assert ".sdd/logs/sessions/S-0001.log" in out
    assert log.read_text(encoding="utf-8") == CLAUDE_OK

    data = status(fresh)
    row = session_row(data, "S-0001")
    assert (row["stage"], row["agent"], row["outcome"]) == ("spec", "claude", "complete")
    assert stage_of(data, "spec")["status"] == "done"
    assert data["next"]["kind"] == "gate" and data["next"]["gate"] == "spec-approval"


def test_session_page_records_the_run(fresh: Path, agents: Agents) -> None:
    result = sdd_run(fresh, "--headless", "--agent", "codex", env=agents.env("write"))
    assert result.returncode == 0, result.stdout + result.stderr
    page = page_of(fresh)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=fresh, capture_output=True, text=True, check=True
    ).stdout.strip()
    rows = dict(
        (cells[1].strip(), cells[2].strip())
        for cells in (line.split("|") for line in page.splitlines())
        if len(cells) == 4
    )
    assert rows["agent"] == "codex"
    assert rows["command"].startswith("codex exec --json ")  # the agent's command line
    assert rows["outcome"] == "complete"
    assert rows["exit code"] == "0"
    assert rows["started"] and rows["ended"]
    assert rows["HEAD before"] == head and rows["HEAD after"] == head
    assert rows["log"] == ".sdd/logs/sessions/S-0001.log"
    # Each output with its content hash.
    spec = (fresh / "docs" / "product-spec.md").read_bytes()
    assert f"sha256 `{hashlib.sha256(spec).hexdigest()[:12]}`" in page
    # The brief is on the page (or linked from it).
    brief = (fresh / ".sdd" / "logs" / "sessions" / "S-0001.brief.md").read_text(encoding="utf-8")
    assert brief.splitlines()[0] in page
    # The Handoff belongs to the agent: sdd did not rewrite a byte of it.
    assert handoff_part(page) == agents.record()["handoff"]
    # The history holds the launch and the end, with the exit code.
    records = history_records(fresh)
    launch = [r for r in records if r["type"] == "session.launch"]
    end = [r for r in records if r["type"] == "session.end"]
    assert len(launch) == 1 and launch[0]["session"] == "S-0001"
    assert launch[0]["command"][:3] == ["codex", "exec", "--json"]
    assert len(end) == 1 and end[0]["outcome"] == "complete" and end[0]["exit_code"] == 0


def test_run_json(fresh: Path, agents: Agents) -> None:
    envelope = run_json(fresh, "spec", "--headless", env=agents.env("write"), expect=0)
    data = envelope["data"]
    assert data["session"] == "S-0001" and data["stage"] == "spec"
    assert data["agent"] == "claude" and data["mode"] == "headless"
    assert data["outcome"] == "complete" and data["exit_code"] == 0
    assert data["page"] == "docs/sessions/S-0001-spec.md"
    assert data["missing"] == []
    assert data["next"]["kind"] == "gate"


def test_next_brief_holds_the_previous_handoff(fresh: Path, agents: Agents) -> None:
    notes = "Decided with the person: links expire after 30 minutes (Q1). Watch rate limits."
    result = sdd_run(fresh, "--headless", env=agents.env("write", FAKE_NOTES=notes))
    assert result.returncode == 0, result.stdout + result.stderr
    approve(fresh, "spec-approval")
    result = sdd_run(fresh, "--headless", env=agents.env("write"))
    assert result.returncode == 0, result.stdout + result.stderr
    got = agents.record()
    assert got["env"]["SDD_SESSION_ID"] == "S-0002"
    assert got["env"]["SDD_STAGE"] == "architecture"
    brief = got["argv"][2]
    assert "## Previous handoff (S-0001, spec)" in brief
    assert notes in brief


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("installed", [True, False])
def test_stage_behind_a_gate_is_refused_as_start_refuses_it(
    installed: bool, fresh: Path, agents: Agents
) -> None:
    """Refused before any agent is looked up: the same with no agent installed."""
    env = agents.env("write") if installed else agents.env("write", path=str(agents.base))
    ran = sdd_run(fresh, "architecture", env=env)
    started = run("start", "architecture", cwd=fresh, env=env)
    assert started.returncode == 3
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert ran.stderr == started.stderr
    assert "spec-approval" in ran.stderr
    assert not agents.launched()
    assert status(fresh)["sessions"] == []


def test_next_session_behind_an_unpassed_gate_is_refused(project_at: Any, agents: Agents) -> None:
    root = project_at("architecture", approve_gate_before=False)
    before = status(root)
    ran = sdd_run(root, env=agents.env("write"))
    started = run("start", cwd=root, env=agents.env("write"))
    assert started.returncode == 3
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert ran.stderr == started.stderr
    assert "sdd approve spec-approval" in ran.stderr  # the command that would unblock it
    ran_json = run_json(root, env=agents.env("write"), expect=3)["error"]
    start_json = sdd_json("start", cwd=root, env=agents.env("write"), expect=3)
    assert ran_json == start_json
    assert not agents.launched()
    assert status(root)["sessions"] == before["sessions"]


def test_a_session_already_open_is_not_run_over(fresh: Path, agents: Agents) -> None:
    first = sdd_run(fresh, "--headless", env=agents.env("nothing"))
    assert first.returncode == 1
    agents.record_file.unlink()
    second = sdd_run(fresh, "--headless", env=agents.env("write"))
    assert second.returncode == 3, second.stdout + second.stderr
    assert "S-0001" in second.stderr and "still open" in second.stderr
    assert "sdd done" in second.stderr and "sdd abandon" in second.stderr  # what to do
    assert not agents.launched()
    assert [s["id"] for s in status(fresh)["sessions"]] == ["S-0001"]


# ----------------------------------------------------------------------------- outcomes


@pytest.mark.parametrize("mode", ["headless", "interactive"])
def test_failing_agent(mode: str, fresh: Path, agents: Agents) -> None:
    """It exits 7 (after writing valid outputs, even): the session failed, never complete."""
    flags = ["--headless"] if mode == "headless" else []
    result = sdd_run(fresh, *flags, env=agents.env("fail", FAKE_EXIT="7"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "exited with code 7" in result.stdout
    assert "failed" in result.stdout
    row = not_complete(fresh)
    assert row["outcome"] == "failed"
    page = page_of(fresh)
    assert "| outcome | failed |" in page and "| exit code | 7 |" in page
    if mode == "headless":
        log = (fresh / ".sdd" / "logs" / "sessions" / "S-0001.log").read_text(encoding="utf-8")
        assert "fake agent: something went wrong" in log
    # What to do next: run the stage again, in a fresh session.
    data = status(fresh)
    assert data["next"]["kind"] == "session" and data["next"]["stage"] == "spec"
    assert data["next"]["command"] in result.stdout


@pytest.mark.parametrize("mode", ["headless", "interactive"])
def test_agent_that_writes_nothing(mode: str, fresh: Path, agents: Agents) -> None:
    flags = ["--headless"] if mode == "headless" else []
    result = sdd_run(fresh, *flags, env=agents.env("nothing"))
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "S-0001 is not complete; it stays open" in out
    # Precisely what is missing: the placeholders left in the spec, the handoff unanswered.
    missing = [line.strip()[2:] for line in out.splitlines() if line.startswith("  - ")]
    assert any(m.startswith("docs/product-spec.md:") and "placeholder" in m for m in missing), out
    assert any("docs/sessions/S-0001-spec.md" in m and "checklist" in m for m in missing), out
    assert any("handoff notes" in m for m in missing), out
    assert "sdd done" in out  # what to do next
    row = not_complete(fresh)
    assert row["outcome"] == "open"  # left open, for a fix
    assert status(fresh)["next"]["kind"] == "finish-session"
    # The person (or another agent) finishes the work; `sdd done` then completes it.
    fill(fresh / "docs" / "product-spec.md")
    tick(fresh / "docs" / "sessions" / "S-0001-spec.md")
    done = run("done", cwd=fresh)
    assert done.returncode == 0, done.stderr
    assert session_row(status(fresh), "S-0001")["outcome"] == "complete"


def test_incomplete_run_json_lists_missing(fresh: Path, agents: Agents) -> None:
    data = run_json(fresh, "--headless", env=agents.env("nothing"), expect=1)["data"]
    assert data["outcome"] == "incomplete"
    assert any(m.startswith("docs/product-spec.md:") for m in data["missing"])
    assert data["next"]["command"] == "sdd done"


def test_done_note_fills_an_empty_handoff(fresh: Path, agents: Agents) -> None:
    """The agent answered the checklist but left the notes: `sdd done --note` fills them."""
    result = sdd_run(fresh, "--headless", env=agents.env("write", FAKE_NOTES=""))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "handoff notes are empty" in result.stdout
    done = run("done", "--note", "Spec agreed; nothing open.", cwd=fresh)
    assert done.returncode == 0, done.stderr
    page = page_of(fresh)
    assert "Spec agreed; nothing open." in handoff_part(page)
    assert not FILL.search(handoff_part(page))


CODEX_FAILED = (
    '{"type":"thread.started","thread_id":"0199a213"}\n'
    '{"type":"turn.started"}\n'
    '{"type":"turn.failed","error":{"message":"stream disconnected before completion"}}\n'
)
REPORTED_ERRORS = [
    (
        "claude",
        '{"type":"result","subtype":"success","is_error":true,"result":"API Error: 529 Overloaded"}',
        "API Error: 529 Overloaded",
    ),
    ("codex", CODEX_FAILED, "stream disconnected before completion"),
    (
        "gemini",
        '{"error":{"type":"FatalAuthenticationError","message":"Please set an Auth method","code":41}}',
        "Please set an Auth method",
    ),
    (
        "qwen",
        '{"error":{"type":"Error","message":"Model quota exceeded"}}',
        "Model quota exceeded",
    ),
    (
        "opencode",
        '{"type":"step_start","part":{}}\n'
        '{"type":"error","error":{"name":"ProviderAuthError","data":{"message":"No API key for anthropic"}}}\n',
        "No API key for anthropic",
    ),
    (
        "cursor-agent",
        '{"type":"result","subtype":"error","is_error":true,"result":"Not logged in"}',
        "Not logged in",
    ),
]


@pytest.mark.parametrize(("name", "output", "message"), REPORTED_ERRORS)
def test_error_in_structured_output_while_exiting_0(
    name: str, output: str, message: str, fresh: Path, agents: Agents
) -> None:
    """Exit 0 and valid outputs, but the agent's own result reports an error: failed."""
    env = agents.env("error-json", FAKE_OUTPUT=output)
    result = sdd_run(fresh, "--headless", "--agent", name, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stdout
    assert "failed" in result.stdout
    row = not_complete(fresh)
    assert row["outcome"] == "failed"
    assert "| exit code | 0 |" in page_of(fresh)


REPORTED_SUCCESS = [  # (claude's success result: test_headless_session_completes)
    (
        "codex",
        '{"type":"thread.started","thread_id":"0199a213"}\n'
        '{"type":"item.completed","item":{"id":"item_3","type":"agent_message","text":"Done."}}\n'
        '{"type":"turn.completed","usage":{"input_tokens":24763,"output_tokens":122}}\n',
    ),
    ("gemini", '{"response":"The spec is written.","stats":{"models":{}}}'),
    ("opencode", '{"type":"text","part":{"text":"error handling is described in the spec"}}\n'),
]


@pytest.mark.parametrize(("name", "output"), REPORTED_SUCCESS)
def test_successful_structured_output_is_a_success(
    name: str, output: str, fresh: Path, agents: Agents
) -> None:
    result = sdd_run(
        fresh, "--headless", "--agent", name, env=agents.env("write", FAKE_OUTPUT=output)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert session_row(status(fresh), "S-0001")["outcome"] == "complete"


@pytest.mark.parametrize("stubborn", [False, True])
def test_timeout_ends_the_whole_group(stubborn: bool, fresh: Path, agents: Agents) -> None:
    """--timeout ends the agent and everything it started (even a grandchild that ignores
    SIGTERM), and records the session as interrupted; the exit code is 1, not 130."""
    extra = {"FAKE_STUBBORN": "1"} if stubborn else {}
    result = sdd_run(fresh, "--headless", "--timeout", "1", env=agents.env("sleep", **extra))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "timed out after 1 s" in result.stdout
    assert "interrupted" in result.stdout
    got = agents.record()
    assert not alive(got["pid"]) and not alive(got["grandchild"]), "a process survived"
    row = not_complete(fresh)
    assert row["outcome"] == "interrupted"
    assert "timed out" in page_of(fresh)


@pytest.mark.parametrize(
    ("sig", "flags"),
    [
        (signal.SIGINT, []),
        (signal.SIGTERM, []),
        # A timeout that has not struck yet does not turn Ctrl-C into a timeout.
        (signal.SIGINT, ["--timeout", "600"]),
    ],
    ids=["SIGINT", "SIGTERM", "SIGINT-before-timeout"],
)
def test_interrupting_sdd_in_headless_mode(
    sig: int, flags: list[str], fresh: Path, agents: Agents
) -> None:
    """Ctrl-C reaches sdd (the foreground group; the agent has its own group) or sdd is
    terminated: it ends the agent's whole group, records the session interrupted, exits 130."""
    env = os.environ.copy()
    env.update(agents.env("sleep"))
    proc = subprocess.Popen(
        [*SDD, "run", "--headless", *flags],
        cwd=fresh,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if agents.launched() and "grandchild" in agents.record():
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        else:
            raise AssertionError("the agent never started its grandchild")
        os.kill(proc.pid, sig)  # only sdd: a terminal would signal sdd's group, not the agent's
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "Traceback" not in out + err
    assert proc.returncode == 130, out + err
    assert "interrupted (Ctrl-C)" in out
    got = agents.record()
    assert got["pgid"] == got["pid"] != proc.pid  # the agent ran in a process group of its own
    assert not alive(got["pid"]) and not alive(got["grandchild"]), "a process survived"
    row = not_complete(fresh)
    assert row["outcome"] == "interrupted"


# ----------------------------------------------------------------------------- the terminal


def test_interactive_agent_owns_the_terminal(fresh: Path, agents: Agents) -> None:
    """Through a real pseudo-terminal: the agent is the terminal's foreground, reads what
    the person types, and the session completes from what it wrote."""
    typed = "Links expire after 30 minutes, and each works once."
    done = pty_sdd(
        ["run"],
        cwd=fresh,
        env=agents.env("read-tty"),
        steps=[(b"FAKE-READY>", typed.encode() + b"\r")],
    )
    assert done.code == 0, done.output
    got = agents.record()
    assert got["tty"] is True and got["foreground"] is True
    assert got["typed"] == typed + "\n"
    assert got["argv"][0] == "claude" and got["argv"][1].startswith("# Brief: spec")
    assert "session S-0001 complete" in done.output
    assert done.report["foreground"] is True  # the terminal was given back
    assert done.report["after"] == done.report["before"]
    assert session_row(status(fresh), "S-0001")["outcome"] == "complete"


def test_ctrl_c_ends_the_agents_whole_group(fresh: Path, agents: Agents) -> None:
    done = pty_sdd(["run"], cwd=fresh, env=agents.env("sleep"), steps=[(b"FAKE-SLEEPING", b"\x03")])
    got = agents.record()
    assert got["tty"] is True and got["foreground"] is True
    # No survivor: the grandchild ignored SIGINT, sdd ended it all the same.
    assert not alive(got["pid"]), "the agent survived Ctrl-C"
    assert not alive(got["grandchild"]), "the agent's child survived Ctrl-C"
    assert done.code == 130, done.output
    assert "interrupted" in done.output
    row = not_complete(fresh)
    assert row["outcome"] == "interrupted"
    assert done.report["foreground"] is True


def test_terminal_settings_restored_after_ctrl_c(fresh: Path, agents: Agents) -> None:
    """The agent turns echo and line editing off, then is interrupted: sdd puts them back."""
    done = pty_sdd(
        ["run"], cwd=fresh, env=agents.env("cbreak"), steps=[(b"FAKE-SLEEPING", b"\x03")]
    )
    got = agents.record()
    assert not got["changed_lflag"] & termios.ECHO  # the agent really changed them
    assert not got["changed_lflag"] & termios.ICANON
    assert done.code == 130, done.output
    before, after = done.report["before"], done.report["after"]
    assert after[3] & termios.ECHO and after[3] & termios.ICANON
    assert after == before
    assert done.report["foreground"] is True
    assert wait_dead(got["grandchild"], 0)


def test_terminal_settings_restored_after_raw_mode(fresh: Path, agents: Agents) -> None:
    """The agent leaves the terminal in raw mode and fails: sdd restores the settings."""
    done = pty_sdd(["run"], cwd=fresh, env=agents.env("raw", FAKE_EXIT="5"))
    got = agents.record()
    assert not got["changed_lflag"] & (termios.ECHO | termios.ICANON | termios.ISIG)
    assert done.code == 1, done.output
    assert "exited with code 5" in done.output
    assert done.report["after"] == done.report["before"]
    assert session_row(status(fresh), "S-0001")["outcome"] == "failed"


@pytest.mark.parametrize("seconds", ["0", "-1", "nan"])
def test_a_timeout_that_is_not_a_duration_is_bad_usage(
    seconds: str, fresh: Path, agents: Agents
) -> None:
    """Refused before any session is recorded or any agent launched (exit 2)."""
    result = sdd_run(fresh, "--headless", f"--timeout={seconds}", env=agents.env("write"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--timeout" in result.stderr
    assert not agents.launched()
    assert status(fresh)["sessions"] == []

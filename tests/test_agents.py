"""Agent presets: the exact command line of every preset in both modes, briefs too long
for one argument, the project's own agent, choosing the agent, `sdd agents list`.

Each agent is the fake agent (tests/run_helpers.py) linked under the preset's name: a
real child process that records the argv, environment and standard input it received.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpers import commit_all, history_records, run, sdd_json, status
from run_helpers import (
    AGENT_NAMES,
    Agents,
    agents_fixture,  # noqa: F401 - a fixture
    big_template,
    fresh_fixture,  # noqa: F401 - a fixture
    install_fake_agents,
    run_json,
    sdd_run,
)

B, F = "{brief}", "{brief_file}"

# As each agent documents its command line: (interactive, headless, headless reading stdin).
EXPECTED: dict[str, tuple[list[str], list[str], list[str] | None]] = {
    "claude": (
        ["claude", B],
        ["claude", "-p", B, "--output-format", "json"],
        ["claude", "-p", "--output-format", "json"],
    ),
    "codex": (
        ["codex", B],
        ["codex", "exec", "--json", B],
        ["codex", "exec", "--json", "-"],
    ),
    "gemini": (
        ["gemini", "-i", B],
        ["gemini", "-p", B, "--output-format", "json"],
        ["gemini", "--output-format", "json"],
    ),
    "copilot": (
        ["copilot", "-i", B],
        ["copilot", "-p", B, "--output-format", "json"],
        None,
    ),
    "cursor-agent": (
        ["cursor-agent", B],
        ["cursor-agent", "-p", B, "--output-format", "json"],
        None,
    ),
    "opencode": (
        ["opencode", "--prompt", B],
        ["opencode", "run", "--format", "json", B],
        ["opencode", "run", "--format", "json"],
    ),
    "qwen": (
        ["qwen", "-i", B],
        ["qwen", "-p", B, "--output-format", "json"],
        ["qwen", "--output-format", "json"],
    ),
    "amp": (
        ["amp"],
        ["amp", "-x", B, "--stream-json"],
        ["amp", "-x", "--stream-json"],
    ),
    "aider": (
        ["aider", "--read", F],
        ["aider", "--message-file", F, "--yes-always", "--no-pretty", "--no-stream"],
        None,
    ),
}

MODES = ["interactive", "headless"]
LINUX_ARG_MAX = 128 * 1024  # MAX_ARG_STRLEN: the most one argument may hold


def brief_path(root: Path, session: str = "S-0001") -> Path:
    return root / ".sdd" / "logs" / "sessions" / f"{session}.brief.md"


def expand(template: list[str], brief: str, brief_file: str) -> list[str]:
    return [a.replace(F, brief_file).replace(B, brief) for a in template]


def ended(root: Path) -> dict[str, tuple[str, str]]:
    """Each ended session's agent and outcome, read from the history (cheaper than
    `sdd status`, which the outcome tests in test_run.py use)."""
    records = history_records(root)
    agent = {r["session"]: r["agent"] for r in records if r["type"] == "session.start"}
    return {
        r["session"]: (agent[r["session"]], r["outcome"])
        for r in records
        if r["type"] == "session.end"
    }


def mode_flags(mode: str) -> list[str]:
    return ["--headless"] if mode == "headless" else []


def test_every_preset_is_covered(agents: Agents) -> None:
    rows = sdd_json("agents", "list", cwd=agents.bin.parent, env=agents.env())
    assert [r["name"] for r in rows] == list(EXPECTED)
    assert sorted(EXPECTED) == sorted(AGENT_NAMES)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(EXPECTED))
def test_preset_command_line(name: str, mode: str, fresh: Path, agents: Agents) -> None:
    """A short brief: the agent gets exactly its documented command line, the brief in place
    of {brief} (or the brief file for {brief_file}), the SDD_* environment, the project as
    its working folder, and no standard input."""
    result = sdd_run(fresh, "--agent", name, *mode_flags(mode), env=agents.env("write"))
    assert result.returncode == 0, result.stdout + result.stderr
    brief_file = brief_path(fresh)
    brief = brief_file.read_text(encoding="utf-8")
    assert brief.startswith("# Brief: spec · session S-0001")
    assert len(brief.encode()) < 100 * 1024
    interactive, headless, _ = EXPECTED[name]
    expected = expand(interactive if mode == "interactive" else headless, brief, str(brief_file))

    got = agents.record()
    assert got["argv"] == expected
    assert got["env"] == {
        "SDD_SESSION_ID": "S-0001",
        "SDD_STAGE": "spec",
        "SDD_CYCLE": "1",
        "SDD_PROJECT_ROOT": str(fresh),
        "SDD_BRIEF_FILE": str(brief_file),
    }
    assert os.path.realpath(got["cwd"]) == str(fresh)
    assert got["stdin"] == ""  # a short brief travels in the arguments only
    # The session was run by that agent, and completed from the evidence.
    assert ended(fresh) == {"S-0001": (name, "complete")}
    assert name in result.stderr  # sdd showed the command line it launched
    if not any(B in a or F in a for a in expected_template(name, mode)):
        # An agent that takes no first prompt (amp): sdd tells the person what to say to it.
        assert str(brief_file) in result.stderr
    elif name == "aider" and mode == "interactive":
        assert str(brief_file) in result.stderr  # and what to tell aider about it


def expected_template(name: str, mode: str) -> list[str]:
    interactive, headless, _ = EXPECTED[name]
    return interactive if mode == "interactive" else headless


LONG_CASES = [(name, "headless") for name in EXPECTED] + [
    # Interactive mode never uses standard input (the terminal is the person's): one case
    # per shape of interactive command line.
    ("claude", "interactive"),  # the brief as a positional argument
    ("gemini", "interactive"),  # the brief as an option's value
    ("aider", "interactive"),  # the brief file
    ("amp", "interactive"),  # no first prompt at all
]


@pytest.mark.parametrize(("name", "mode"), LONG_CASES)
def test_long_brief_reaches_the_agent_whole(
    name: str, mode: str, fresh: Path, agents: Agents
) -> None:
    """A brief longer than one argument may be (Linux: 128 KiB) reaches the agent whole:
    on standard input for headless presets that read it there, else through a short
    argument that names the brief file, which holds all of it."""
    body = big_template(fresh)
    commit_all(fresh, "a very long spec template")
    result = sdd_run(fresh, "--agent", name, *mode_flags(mode), env=agents.env("write"))
    assert result.returncode == 0, result.stdout + result.stderr

    brief_file = brief_path(fresh)
    brief = brief_file.read_text(encoding="utf-8")
    assert len(brief.encode()) > LINUX_ARG_MAX
    assert body.strip() in brief  # the whole template made it into the brief
    got = agents.record()
    for arg in got["argv"]:
        assert len(arg.encode()) < LINUX_ARG_MAX
    interactive, headless, headless_stdin = EXPECTED[name]
    if mode == "headless" and headless_stdin is not None:
        assert got["argv"] == headless_stdin
        assert got["stdin"] == brief
    else:
        template = interactive if mode == "interactive" else headless
        pointer_args = [a for a in got["argv"] if str(brief_file) in a]
        if any(B in a or F in a for a in template):
            assert pointer_args, f"no argument names the brief file: {got['argv']}"
        else:  # amp: sdd tells the person what to type to it
            assert pointer_args == [] and str(brief_file) in result.stderr
        # Same command line, a short pointer to the brief file where the brief would be.
        assert len(got["argv"]) == len(template)
        for want, have in zip(template, got["argv"], strict=True):
            if B in want:
                assert str(brief_file) in have and len(have) < 1024
            else:
                assert have == want.replace(F, str(brief_file))
        assert got["stdin"] in ("", None)
        assert Path(got["env"]["SDD_BRIEF_FILE"]).read_text(encoding="utf-8") == brief
    assert ended(fresh) == {"S-0001": (name, "complete")}


def configure(root: Path, extra: str) -> None:
    config = root / ".sdd" / "config.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    commit_all(root, "configure agents")


GENERIC = """\
[agents.mytool]
interactive = ["mytool", "--prompt", "{brief}", "--mode", "chat"]
headless = ["mytool", "run", "--prompt-file", "{brief_file}", "--quiet"]
"""


@pytest.mark.parametrize("mode", MODES)
def test_generic_agent_from_the_config(mode: str, fresh: Path, agents: Agents) -> None:
    configure(fresh, GENERIC)
    install_fake_agents(agents.bin, ["mytool"])
    result = sdd_run(fresh, "--agent", "mytool", *mode_flags(mode), env=agents.env("write"))
    assert result.returncode == 0, result.stdout + result.stderr
    brief_file = brief_path(fresh)
    brief = brief_file.read_text(encoding="utf-8")
    if mode == "interactive":
        expected = ["mytool", "--prompt", brief, "--mode", "chat"]
    else:
        expected = ["mytool", "run", "--prompt-file", str(brief_file), "--quiet"]
    got = agents.record()
    assert got["argv"] == expected
    assert got["env"]["SDD_SESSION_ID"] == "S-0001"
    assert status(fresh)["sessions"][0]["agent"] == "mytool"


def test_generic_agent_with_a_long_brief_gets_a_pointer(fresh: Path, agents: Agents) -> None:
    configure(fresh, GENERIC)
    install_fake_agents(agents.bin, ["mytool"])
    big_template(fresh)
    commit_all(fresh, "a very long spec template")
    result = sdd_run(fresh, "--agent", "mytool", env=agents.env("write"))
    assert result.returncode == 0, result.stdout + result.stderr
    brief_file = brief_path(fresh)
    got = agents.record()
    assert got["argv"][0:2] == ["mytool", "--prompt"] and got["argv"][3:] == ["--mode", "chat"]
    assert str(brief_file) in got["argv"][2] and len(got["argv"][2]) < 1024
    assert len(brief_file.read_bytes()) > LINUX_ARG_MAX


def test_generic_agent_without_the_brief_is_a_config_error(fresh: Path, agents: Agents) -> None:
    configure(fresh, '[agents.mytool]\ninteractive = ["mytool"]\nheadless = ["mytool", "-q"]\n')
    install_fake_agents(agents.bin, ["mytool"])
    result = sdd_run(fresh, "--agent", "mytool", env=agents.env("write"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "agents.mytool.interactive" in result.stderr
    assert "{brief}" in result.stderr
    assert not agents.launched()
    assert status(fresh)["sessions"] == []


# ----------------------------------------------------------------------------- choosing


def test_default_is_the_first_installed_preset(fresh: Path, agents: Agents) -> None:
    env = agents.env("write", path=agents.only("aider", "qwen", "gemini"))
    result = sdd_run(fresh, "--headless", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert agents.record()["name"] == "gemini"  # presets are tried in their documented order
    assert status(fresh)["sessions"][0]["agent"] == "gemini"


def test_default_from_the_config_wins(fresh: Path, agents: Agents) -> None:
    configure(fresh, '[agents]\ndefault = "aider"\n')
    result = sdd_run(fresh, "--headless", env=agents.env("write"))  # every preset installed
    assert result.returncode == 0, result.stdout + result.stderr
    assert agents.record()["name"] == "aider"


def test_agent_option_wins_over_the_default(fresh: Path, agents: Agents) -> None:
    configure(fresh, '[agents]\ndefault = "aider"\n')
    result = sdd_run(fresh, "--headless", "--agent", "codex", env=agents.env("write"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert agents.record()["name"] == "codex"


def test_unknown_agent_is_bad_usage(fresh: Path, agents: Agents) -> None:
    result = sdd_run(fresh, "--agent", "hal9000", env=agents.env("write"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "hal9000" in result.stderr
    for name in ("claude", "aider", "codex"):
        assert name in result.stderr  # it lists the agents it knows
    assert "[agents.hal9000]" in result.stderr  # and how to define one
    assert not agents.launched()
    assert status(fresh)["sessions"] == []


def test_named_preset_not_installed(fresh: Path, agents: Agents) -> None:
    env = agents.env("write", path=agents.only("aider"))
    result = sdd_run(fresh, "--agent", "claude", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "claude" in result.stderr and "not found" in result.stderr
    assert "install" in result.stderr  # what to do
    assert not agents.launched()
    assert status(fresh)["sessions"] == []  # no session is left behind


def test_no_agent_installed_says_what_to_do(fresh: Path, agents: Agents) -> None:
    env = agents.env("write", path=str(agents.base))
    result = sdd_run(fresh, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr
    assert "no coding agent found" in message
    for name in EXPECTED:
        assert name in message  # which agents it could use
    assert "--agent" in message
    for command in ("sdd start", "sdd prompt", "sdd done"):
        assert command in message  # or how to work without one
    assert status(fresh)["sessions"] == []
    # The same with --json: one envelope, the same advice.
    error = run_json(fresh, env=env, expect=2)["error"]
    assert "no coding agent found" in json.dumps(error)
    assert "sdd prompt" in json.dumps(error)


# ----------------------------------------------------------------------------- agents list


def test_agents_list_shows_installed_and_default(fresh: Path, agents: Agents) -> None:
    env = agents.env(path=agents.only("codex", "aider"))
    rows = sdd_json("agents", "list", cwd=fresh, env=env)
    by_name = {r["name"]: r for r in rows}
    assert list(by_name) == list(EXPECTED)
    assert {n for n, r in by_name.items() if r["installed"]} == {"codex", "aider"}
    assert [n for n, r in by_name.items() if r["default"]] == ["codex"]
    for name, (interactive, headless, _) in EXPECTED.items():
        assert by_name[name]["interactive"] == interactive
        assert by_name[name]["headless"] == headless
        assert by_name[name]["builtin"] is True
    text = run("agents", "list", cwd=fresh, env=env)
    assert text.returncode == 0, text.stderr
    lines = {ln.split()[0]: ln for ln in text.stdout.splitlines() if ln.strip()}
    assert "installed" in lines["codex"] and "default" in lines["codex"]
    assert "not found" in lines["claude"]


def test_agents_list_default_from_config_and_own_agents(fresh: Path, agents: Agents) -> None:
    configure(fresh, '[agents]\ndefault = "mytool"\n\n' + GENERIC)
    install_fake_agents(agents.bin, ["mytool"])
    rows = sdd_json("agents", "list", cwd=fresh, env=agents.env())
    by_name = {r["name"]: r for r in rows}
    assert [n for n, r in by_name.items() if r["default"]] == ["mytool"]
    assert by_name["mytool"]["builtin"] is False
    assert by_name["mytool"]["installed"] is True
    assert by_name["mytool"]["headless"][:3] == ["mytool", "run", "--prompt-file"]


def test_agents_list_with_nothing_installed(work: Path, agents: Agents) -> None:
    env = agents.env(path=str(agents.base))
    rows = sdd_json("agents", "list", cwd=work, env=env)  # outside any project, too
    assert rows and not any(r["installed"] for r in rows)
    assert not any(r["default"] for r in rows)
    text = run("agents", "list", cwd=work, env=env)
    assert text.returncode == 0
    assert "No agent CLI found" in text.stdout
    assert "sdd demo" in text.stdout  # what to do meanwhile

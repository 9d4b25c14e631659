"""The command line itself: help, usage errors, JSON envelopes, exit codes, no tracebacks."""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers import GATES, STAGES, ULID, run, sdd_json, start

COMMANDS = [
    "init",
    "new",
    "status",
    "next",
    "prompt",
    "start",
    "done",
    "abandon",
    "approve",
    "reject",
    "log",
]


def test_help_lists_every_command(work: Path) -> None:
    for args in ([], ["--help"], ["-h"]):
        result = run(*args, cwd=work)
        assert result.returncode == 0
        assert "usage:" in result.stdout
        for command in COMMANDS:
            assert command in result.stdout
    version = run("--version", cwd=work)
    assert version.returncode == 0 and version.stdout.startswith("sdd ")


def _listed_commands(work: Path) -> list[str]:
    """The commands `sdd --help` lists (this issue's and any added since)."""
    text = run("--help", cwd=work).stdout
    block = text.split("positional arguments:", 1)[1].split("options:", 1)[0]
    return re.findall(r"^    ([a-z][a-z-]*)(?:\s|$)", block, re.M)


def test_every_command_has_help(work: Path) -> None:
    listed = _listed_commands(work)
    assert set(COMMANDS) <= set(listed), listed
    for command in listed:
        result = run(command, "--help", cwd=work)
        assert result.returncode == 0, (command, result.stderr)
        assert result.stdout.startswith(f"usage: sdd {command}"), (command, result.stdout)
        assert result.stderr == ""


USAGE_ERRORS = [
    ["frobnicate"],
    ["status", "--bogus"],
    ["next", "extra"],
    ["new"],
    ["approve"],
    ["reject", "spec-approval"],
    ["log", "--limit", "many"],
    ["start", "nonsense"],
    ["prompt", "nonsense"],
    ["status", "--cycle", "9"],
    ["abandon", "--whole-cycle"],
]


def test_usage_errors_exit_2(project: Path) -> None:
    for args in USAGE_ERRORS:
        result = run(*args, cwd=project)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stderr.strip(), f"a usage error says what is wrong: {args}"


def test_a_negative_log_limit_is_a_usage_error(project: Path) -> None:
    result = run("log", "--limit", "-1", cwd=project)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "--limit" in result.stderr


def test_json_envelopes(work: Path) -> None:
    init = sdd_json("init", "proj", "--title", "Password reset", cwd=work)
    assert set(init) >= {"root", "created", "skipped", "git_initialised", "cycle"}
    root = work / "proj"

    data = sdd_json("status", cwd=root)
    assert set(data) >= {
        "version",
        "project",
        "demo",
        "cycle",
        "stages",
        "gates",
        "sessions",
        "next",
        "problems",
        "warnings",
    }
    assert data["version"] == 1 and data["project"] == "proj" and data["demo"] is False
    assert set(data["cycle"]) >= {"number", "slug", "title", "state", "opened", "current_stage"}
    assert [s["name"] for s in data["stages"]] == STAGES
    for stage in data["stages"]:
        assert set(stage) >= {"name", "status", "sessions", "gate_after"}
    assert [g["name"] for g in data["gates"]] == GATES
    for gate in data["gates"]:
        assert set(gate) >= {"name", "after", "state", "by", "at", "reason", "changed", "note"}
    assert {s["name"]: s["gate_after"] for s in data["stages"]}["plan"] == "implementation-approval"

    nxt = sdd_json("next", cwd=root)
    assert nxt == data["next"]
    assert {"kind", "command", "summary"} <= set(nxt)

    session = start(root, "spec")
    data = sdd_json("status", cwd=root)
    assert len(data["sessions"]) == 1
    assert set(data["sessions"][0]) >= {
        "id",
        "stage",
        "task",
        "outcome",
        "started",
        "ended",
        "page",
        "agent",
        "outputs",
    }
    assert data["sessions"][0]["id"] == session["session"]
    assert sdd_json("status", "--cycle", "1", cwd=root) == data

    log = sdd_json("log", cwd=root)
    types = [e["type"] for e in log]
    assert types[0] == "session.start" and types[-1] == "project.init"
    assert "cycle.open" in types
    assert [e["id"] for e in log] == sorted((e["id"] for e in log), reverse=True)
    for entry in log:
        assert set(entry) >= {"id", "at", "type", "cycle", "text"}
        assert ULID.match(entry["id"])
    assert sdd_json("log", "--limit", "1", cwd=root) == log[:1]

    brief = sdd_json("prompt", cwd=root)
    assert set(brief) >= {"stage", "brief", "instructions_bytes"}


def test_errors_in_json_mode_are_envelopes_too(project: Path) -> None:
    error = sdd_json("start", "architecture", cwd=project, expect=3)
    assert error["kind"] == "refused"
    assert "spec-approval" in error["message"]
    error = sdd_json("done", cwd=project, expect=1)
    assert "no open session" in error["message"]


OUTSIDE = [
    ["status"],
    ["status", "--json"],
    ["next"],
    ["log"],
    ["start"],
    ["done"],
    ["prompt"],
    ["abandon"],
    ["new", "X"],
    ["approve", "spec-approval"],
]


def test_outside_a_project_the_hint_is_sdd_init(work: Path) -> None:
    for args in OUTSIDE:
        result = run(*args, cwd=work)
        assert result.returncode == 1, (args, result.stderr)
        assert "not inside an sdd project" in result.stderr
        assert "sdd init" in result.stderr
        if "--json" in args:
            envelope = json.loads(result.stdout)
            assert envelope["ok"] is False and envelope["error"]["kind"] == "not-a-project"


def test_status_works_from_a_subfolder(project: Path) -> None:
    sub = project / "docs" / "sessions"
    sub.mkdir(parents=True, exist_ok=True)
    assert sdd_json("status", cwd=sub)["cycle"]["number"] == 1


def test_init_on_a_path_that_is_a_file_is_a_clear_error(work: Path) -> None:
    (work / "notes.txt").write_text("not a folder\n", encoding="utf-8")
    result = run("init", "notes.txt", cwd=work)
    assert result.returncode in (1, 2), result.stderr
    assert "notes.txt" in result.stderr
    assert (work / "notes.txt").read_text(encoding="utf-8") == "not a folder\n"


def test_a_broken_config_is_a_clear_error(project: Path) -> None:
    config = project / ".sdd" / "config.toml"
    config.write_text("format = 1\n[project\nname = 'x'\n", encoding="utf-8")
    result = run("status", cwd=project)
    assert result.returncode == 1
    assert ".sdd/config.toml" in result.stderr and "TOML" in result.stderr

    config.write_text(
        'format = 1\n[workflow]\nstages = ["spec", "Build!", "spec"]\n', encoding="utf-8"
    )
    result = run("status", cwd=project)
    assert result.returncode == 1
    assert "workflow" in result.stderr
    assert "Build!" in result.stderr
    assert "twice" in result.stderr


def test_a_broken_template_is_a_clear_error(project: Path) -> None:
    template = project / "sessions" / "spec.md"
    template.write_text("no front matter here\n", encoding="utf-8")
    for args in (["prompt", "spec"], ["start", "spec"]):
        result = run(*args, cwd=project)
        assert result.returncode == 1, result.stderr
        assert "sessions/spec.md:1:" in result.stderr


def test_colour_only_when_asked(project: Path) -> None:
    plain = run("status", cwd=project)
    assert "\033[" not in plain.stdout
    coloured = run("status", cwd=project, env={"NO_COLOR": "", "FORCE_COLOR": "1"})
    assert coloured.returncode == 0
    assert "\033[" in coloured.stdout

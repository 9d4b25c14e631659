"""The agent registry holds together: one entry per agent, and what launching, installing
and the person check read from it agrees. Then the person check, through real processes,
knows the agents the registry names."""

from __future__ import annotations

import stat
import sys
from collections import Counter
from pathlib import Path

import pytest

from helpers import gate_of, pty_run, status
from sdd.agents.registry import (
    AGENTS,
    INSTALLS,
    LAUNCHES,
    LOCATIONS,
    MCP_FILES,
    PACKAGE_MARKERS,
    PROCESS_NAMES,
    known_as,
)


def test_no_two_agents_share_a_name_or_an_alias() -> None:
    names = Counter(n for a in AGENTS.values() for n in (a.name, *a.aliases))
    assert [n for n, count in names.items() if count > 1] == []
    assert all(key == agent.name for key, agent in AGENTS.items())
    for agent in AGENTS.values():
        for name in (agent.name, *agent.aliases):
            assert known_as(name.upper()) is agent


def test_every_launchable_agent_is_seen_by_the_person_check() -> None:
    launchable = [a for a in AGENTS.values() if a.launch is not None]
    assert len(LAUNCHES) == len(launchable), "two agents launch the same command"
    for agent in launchable:
        assert agent.launch is not None
        executable = agent.launch.executable
        assert executable in agent.executables, agent.name
        assert executable in agent.processes, agent.name
        assert executable in PROCESS_NAMES
        assert executable in (agent.name, *agent.aliases), agent.name
    for agent in AGENTS.values():
        assert agent.processes, f"{agent.name}: the person check could not see it"


def test_every_location_and_mcp_file_named_exists_and_is_read() -> None:
    read: set[str] = set()
    for name, install in INSTALLS.items():
        assert install.reads and install.prefers, name
        assert set(install.prefers) <= set(install.reads), name
        assert len(set(install.prefers)) == len(install.prefers), name
        assert set(install.reads) <= set(LOCATIONS), name
        assert install.mcp is None or install.mcp in MCP_FILES, name
        assert AGENTS[name].executables, f"{name}: `sdd agents install` could not find it"
        read.update(install.reads)
    assert read == set(LOCATIONS), "a location no agent reads"
    assert {i.mcp for i in INSTALLS.values() if i.mcp} == set(MCP_FILES)
    assert all(key == loc.key for key, loc in LOCATIONS.items())
    assert len({loc.folder for loc in LOCATIONS.values()}) == len(LOCATIONS)
    assert all(key == spec.path for key, spec in MCP_FILES.items())


def test_amp_is_known_by_its_new_package_and_its_old_one() -> None:
    assert {"@ampcode/cli", "@sourcegraph/amp"} <= set(AGENTS["amp"].packages)
    assert {"@ampcode/cli", "@sourcegraph/amp"} <= set(PACKAGE_MARKERS)


@pytest.mark.parametrize("package", ["@ampcode/cli", "@sourcegraph/amp"])
def test_approve_is_refused_under_amp_run_by_its_interpreter(
    project_at, tmp_path: Path, package: str
) -> None:  # type: ignore[no-untyped-def]
    root = project_at("architecture", approve_gate_before=False)
    folder = tmp_path / "node_modules" / package
    folder.mkdir(parents=True)
    cli = folder / "cli.py"
    cli.write_text(
        "import subprocess, sys\nsys.exit(subprocess.call(['sdd', 'approve', 'spec-approval']))\n",
        encoding="utf-8",
    )
    code, output = pty_run([sys.executable, str(cli)], cwd=root, respond=None)
    assert code == 3, output
    assert package in output
    assert gate_of(status(root), "spec-approval")["state"] == "waiting"


def test_approve_is_refused_under_an_agent_known_only_to_the_person_check(
    project_at, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    assert "kiro-cli" in PROCESS_NAMES and AGENTS["kiro"].launch is None
    root = project_at("architecture", approve_gate_before=False)
    script = tmp_path / "kiro-cli"
    script.write_text("#!/bin/sh\nsdd approve spec-approval\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    code, output = pty_run(["sh", str(script)], cwd=root, respond=None)
    assert code == 3, output
    assert "kiro-cli" in output
    assert gate_of(status(root), "spec-approval")["state"] == "waiting"


def test_the_readme_keeps_the_registrys_table_of_steps() -> None:
    """The person's one step per agent: printed by `sdd agents install`, and in the README,
    both from the registry's text."""
    from sdd.agents.install.apply import steps_table

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert steps_table() in readme, "regenerate the README's table with steps_table()"
    assert {a.install.step is None for a in AGENTS.values() if a.install} == {True, False}

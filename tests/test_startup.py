"""Start-up is a feature: `sdd status` and `sdd next --json`, answered from the derived
cache, load only the few modules that answer them. This is the import set, checked
exactly (deterministic, unlike a timing); `bench/run.py` measures the time it buys."""

from __future__ import annotations

import os
from pathlib import Path

from helpers import history_files, imported, init_project, run

# Everything of sdd the cached answer may load.
ALLOWED = {
    "sdd",
    "sdd.api",
    "sdd.cli",
    "sdd.cli.commands",
    "sdd.cli.commands.panel",
    "sdd.cli.handler",
    "sdd.cli.main",
    "sdd.cli.output",
    "sdd.cli.render",
    "sdd.core",
    "sdd.core.errors",
    "sdd.core.gitfiles",  # builtins only: HEAD read from .git's files, the cache's key
    "sdd.core.nesting",  # builtins only: the cache's panel is checked to be as shallow as sdd's
    "sdd.core.paths",
    "sdd.core.reporting",
    "sdd.project",
    "sdd.project.cache",
    "sdd.usecases",
    "sdd.usecases.panel",
}
# Standard modules that cost milliseconds each, which the cached answer never needs.
HEAVY = {"typing", "dataclasses", "argparse", "json", "re", "pathlib", "tomllib", "tempfile"}


def warm(root: Path) -> None:
    """Make the cache valid: its inputs older than the racy window, then one answer."""
    past = 1_700_000_000
    for path in [*history_files(root), root / ".sdd" / "config.toml"]:
        os.utime(path, (past, past))
    for path in (root / "docs").rglob("*"):
        if path.is_file():
            os.utime(path, (past, past))
    assert run("status", cwd=root).returncode == 0


def test_the_cached_status_and_next_load_only_what_answers_them(work: Path) -> None:
    root = init_project(work)
    warm(root)
    for args in (("status",), ("next", "--json"), ("status", "--json")):
        names = imported(root, *args)
        ours = {n for n in names if n == "sdd" or n.startswith("sdd.")}
        assert ours <= ALLOWED, f"sdd {' '.join(args)} also loads {sorted(ours - ALLOWED)}"
        assert "sdd.usecases.panel" in ours  # it did answer from the cache path
        assert not names & HEAVY, f"sdd {' '.join(args)} loads {sorted(names & HEAVY)}"


# What only a person's act, `sdd run --parallel` or a help text needs: the commands an agent
# runs at every session (its brief, a finding, a start, an abandon) load none of it.
LAZY = {
    "sdd.agents.person",  # the person check
    "sdd.agents.registry",  # every agent's launch and files: the person check and `sdd run`
    "sdd.usecases.acts",
    "sdd.usecases.parallel",  # `sdd abandon` loads it only to clean up after a killed run
    "sdd.system.proctree",  # /proc walks: a launch's
    "secrets",  # a person's confirmation code
    "tempfile",  # sdd writes its own temporary files (core.files)
    "shutil",  # argparse's formatter would ask it the terminal's width
    "hashlib",  # OpenSSL: core.digest hashes with the interpreter's own SHA-256 until bulk
}


def test_what_an_agent_runs_at_every_session_loads_no_person_check_and_no_parallel_run(
    work: Path,
) -> None:
    root = init_project(work)
    for args in (
        ("prompt", "spec"),
        ("findings", "add", "--severity", "minor", "--stage", "review", "bench"),
        ("start", "spec"),
        ("abandon", "--reason", "bench"),
    ):
        names = imported(root, *args)
        assert "sdd.project.project" in names  # it did load the project
        assert not names & LAZY, f"sdd {' '.join(args)} loads {sorted(names & LAZY)}"

"""Helpers for the contract, tasks, questions, verify and findings tests.

Valid documents (a copy of the demo agent's word-frequency set, so a change to the demo
does not silently change these fixtures), a pseudo-terminal runner for the person's acts
other than approve/reject (`Type XXXX to record it`, `… to waive it`), and projects driven
through the command line to a given point with documents we write ourselves, built once
per test session and copied for every test.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers import (
    CODE,
    approve,
    commit_all,
    complete_stage,
    do_work,
    git,
    history_records,
    init_project,
    pty_run,
    run,
    sdd_json,
    tick,
    write_code,
)
from sdd.demo import agent

SPEC_PATH = "docs/product-spec.md"
ARCH_PATH = "docs/architecture.md"
PLAN_PATH = "docs/implementation-plan.md"
TEST_PLAN_PATH = "docs/test-plan.md"

# ----------------------------------------------------------------------------- documents

# The demo agent's documents are a valid set: the same text the demo writes and checks.
VALID_SPEC = agent.SPEC
VALID_ARCHITECTURE = agent.ARCHITECTURE
VALID_PLAN = agent.PLAN
VALID_TEST_PLAN = agent.TEST_PLAN


VALID_DOCS = {
    SPEC_PATH: VALID_SPEC,
    ARCH_PATH: VALID_ARCHITECTURE,
    PLAN_PATH: VALID_PLAN,
    TEST_PLAN_PATH: VALID_TEST_PLAN,
}

# A spec the confidence rule holds back: 80 %, one blocking and one non-blocking question open.
UNSURE_SPEC = VALID_SPEC.replace(
    "- Q1 (blocking): Should numbers count as words?\n"
    "  Answer: Yes, digits are kept (answered by the person).\n"
    "- Q2 (non-blocking): Should the output be sortable as CSV later?\n"
    "  Answer: Not now; plain lines are enough.\n",
    "- Q1 (blocking): Should numbers count as words?\n"
    "  Answer: open\n"
    "- Q2 (non-blocking): Should the output be sortable as CSV later?\n"
    "  Answer: open\n",
).replace("Confidence: 97 %", "Confidence: 80 %")
assert UNSURE_SPEC.count("Answer: open") == 2 and "Confidence: 80 %" in UNSURE_SPEC

# A plan whose next-task order shows every rule: dependencies first, then higher risk
# earlier, then plan order. Expected order: T3 (high), T4 (medium, before T5 by plan order),
# T5 (medium, after T3), T1 (low), T2 (high but waits on T1).
TASKS_PLAN = """\
# Implementation plan

## Tasks

### T1: Read the input file
- Stories: US-1
- Depends on: none
- Risk: low
- Effort: 1h

Acceptance criteria:
- The file is read as UTF-8 with invalid bytes replaced.

### T2: Rank words by count
- Stories: US-1
- Depends on: T1
- Risk: high
- Effort: 2h

Acceptance criteria:
- Words are printed highest count first, ties alphabetical.

### T3: Parse the top option
- Stories: US-2
- Depends on: none
- Risk: high
- Effort: 1h

Acceptance criteria:
- `--top 0` exits 2 with a message naming the option.

### T4: Report a missing file
- Stories: US-1
- Depends on: none
- Risk: medium
- Effort: 30m

Acceptance criteria:
- A missing file prints its name on standard error and exits 1.

### T5: Cut the ranking at N lines
- Stories: US-2
- Depends on: T3
- Risk: medium
- Effort: 30m

Acceptance criteria:
- `--top N` prints at most N lines.
"""
TASK_ORDER = ["T3", "T4", "T5", "T1", "T2"]

# Test cases: TC-1, TC-2, TC-4 trace to US-1 only; TC-3 to US-2 only; TC-5 to both.
TASKS_TEST_PLAN = VALID_TEST_PLAN.replace(
    "### TC-3: Empty file and --top limits\n- Stories: US-1, US-2",
    "### TC-3: Empty file and --top limits\n- Stories: US-2",
)
assert TASKS_TEST_PLAN != VALID_TEST_PLAN


def qa_report(title: str, findings: list[str], broke: str = "nothing broke") -> str:
    """A QA test report that passes its contract, listing ``findings`` (or `- none`)."""
    listed = "\n".join(f"- {f}" for f in findings) or "- none"
    return f"""# QA report: {title}

## Tried
- Expired links, reused links, two resets at once, a 10,000-user reset storm.

## Broke
- {broke}

## Findings
{listed}

## Coverage against the test plan
- TC-1 pass, TC-2 pass, TC-3 pass, TC-4 pass, TC-5 pass.
"""


def review_report(title: str, findings: list[str], verdict: str = "approve") -> str:
    listed = "\n".join(f"- {f}" for f in findings) or "- none"
    return f"""# Review: {title}

## Verdict
Verdict: {verdict}

## Build and checks
- `python -m unittest discover -s tests` — exit 0, all tests passed.

## Architecture consistency
The code follows docs/architecture.md.

## Scalability risks
None found; the link is built in constant time.

## Findings
{listed}
"""


def write_docs(root: Path, docs: dict[str, str]) -> None:
    for relative, text in docs.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based number of the ``nth`` line of ``text`` that contains ``needle``."""
    found = [n for n, line in enumerate(text.split("\n"), start=1) if needle in line]
    assert len(found) >= nth, f"{needle!r} occurs {len(found)} time(s), wanted #{nth}"
    return found[nth - 1]


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def head(root: Path) -> str:
    return git("rev-parse", "HEAD", cwd=root).stdout.strip()


def records_of(root: Path, kind: str) -> list[dict[str, Any]]:
    return [r for r in history_records(root) if r["type"] == kind]


def check_json(root: Path, *args: str, expect: int | None = None) -> dict[str, Any]:
    """`sdd check ARGS --json`: the data (check prints ok false with exit 1 on errors)."""
    result = run("check", *args, "--json", cwd=root)
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, f"--json must print one JSON line:\n{result.stdout}\n{result.stderr}"
    envelope = json.loads(lines[0])
    assert envelope["sdd"] == 1 and envelope["command"] == "check"
    if expect is not None:
        assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
    data = envelope.get("data")
    assert data is not None, envelope
    data["exit"] = result.returncode
    return data  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- a person at a terminal

PERSON_PROMPT = re.compile(rb"Type ([A-Z0-9]{4}) to ")


def pty_person(
    argv: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    respond: Any = CODE,
    timeout: float = 60.0,
) -> tuple[int, str]:
    """``helpers.pty_run`` answering any confirmation (`Type XXXX to …`), not only gates':
    answering a question and waiving a finding ask for the code too."""
    return pty_run(argv, cwd, env=env, respond=respond, timeout=timeout, prompt=PERSON_PROMPT)


def fake_agent_cli(folder: Path, name: str, command: str) -> Path:
    """An executable named like an agent CLI that runs ``command`` (a shell line) and
    reports its exit code: a person's act attempted from under an agent."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    script.write_text(
        f'#!/bin/sh\n{command}\nstatus=$?\necho "agent saw exit $status"\nexit $status\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


# ----------------------------------------------------------------------------- driving a project


def session_json(root: Path, *args: str) -> dict[str, Any]:
    return sdd_json("start", *args, cwd=root)  # type: ignore[no-any-return]


def finish(root: Path, session: dict[str, Any], docs: dict[str, str] | None = None) -> None:
    """Write ``docs``, answer the handoff, and `sdd done` (which must succeed)."""
    if docs:
        write_docs(root, docs)
    tick(root / session["page"], f"{session['stage']}: done as the brief asked.")
    result = run("done", cwd=root)
    assert result.returncode == 0, f"sdd done ({session['stage']}):\n{result.stdout}{result.stderr}"


def complete_with(root: Path, stage: str, docs: dict[str, str]) -> dict[str, Any]:
    """A session of ``stage`` that writes ``docs`` (a thinking stage: documents only)."""
    session = session_json(root, stage)
    assert session["stage"] == stage
    finish(root, session, docs)
    return session


def implement_task(root: Path, *start_args: str) -> dict[str, Any]:
    """An implement session: code and its (passing) tests, committed; `sdd done` verifies."""
    session = session_json(root, "implement", *start_args)
    implement(root, session)
    return session


def implement(root: Path, session: dict[str, Any]) -> None:
    """The work of an open implement session: code and tests, committed, then `sdd done`."""
    write_code(root)
    marker = root / "work" / f"{session['task'] or session['finding'] or session['session']}.txt"
    marker.parent.mkdir(exist_ok=True)
    marker.write_text(f"work of {session['session']}\n", encoding="utf-8")
    commit_all(root, f"{session['session']}: {session['task'] or session['finding']}")
    finish(root, session)


def build_fresh(folder: Path) -> Path:
    return init_project(folder, name="fresh")


def build_spec_unsure(root: Path) -> None:
    complete_with(root, "spec", {SPEC_PATH: UNSURE_SPEC})


def build_tasks(root: Path) -> None:
    complete_with(root, "spec", {SPEC_PATH: VALID_SPEC})
    approve(root, "spec-approval")
    complete_with(root, "architecture", {ARCH_PATH: VALID_ARCHITECTURE})
    complete_with(root, "plan", {PLAN_PATH: TASKS_PLAN, TEST_PLAN_PATH: TASKS_TEST_PLAN})
    approve(root, "implementation-approval")


def build_review_next(root: Path) -> None:
    """From conftest's `implement` milestone (one task, T1): T1 implemented, review next."""
    session = session_json(root, "implement")
    do_work(root, session)
    result = run("done", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr


def build_qa_next(root: Path) -> None:
    complete_stage(root, "review")


# key: (parent key, builder). The parent "implement" is conftest's milestone, given as a seed.
BUILDERS: dict[str, tuple[str | None, Callable[[Path], None] | None]] = {
    "fresh": (None, None),
    "spec-unsure": ("fresh", build_spec_unsure),
    "tasks": ("fresh", build_tasks),
    "review-next": ("implement", build_review_next),
    "qa-next": ("review-next", build_qa_next),
}

_BUILT: dict[str, Path] = {}
_STASH: list[Path] = []


@pytest.fixture(name="stage_project")
def stage_project_fixture(
    tmp_path_factory: pytest.TempPathFactory, work: Path, project_at: Any
) -> Any:
    """``stage_project(key)``: a fresh copy of a project driven through the command line to
    the point ``key`` names (see BUILDERS), built once per test session."""
    if not _STASH:
        _STASH.append(tmp_path_factory.mktemp("contract-stash"))
    stash = _STASH[0]

    def build(key: str) -> Path:
        if key in _BUILT:
            return _BUILT[key]
        parent, builder = BUILDERS[key]
        if key == "fresh":
            path = build_fresh(stash)
        elif parent == "implement":
            seed = project_at("implement", name=f"seed-{key}")
            path = stash / key
            shutil.copytree(seed, path, symlinks=True)
            shutil.rmtree(seed)
        else:
            path = stash / key
            shutil.copytree(build(parent), path, symlinks=True)  # type: ignore[arg-type]
        if builder is not None:
            builder(path)
        _BUILT[key] = path
        return path

    def make(key: str, name: str = "proj") -> Path:
        target = work / name
        shutil.copytree(build(key), target, symlinks=True)
        return target

    return make

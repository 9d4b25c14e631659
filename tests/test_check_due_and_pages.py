"""Issue 17, problems 6 and 8, through the command line with real git.

Problem 6: `sdd check` judges what is due. Without names it checks the documents of the
current stage and the stages before it, and their traces; a later stage's documents are
"not yet due" (listed, exit 0), and `--all` checks them as before. Post-mortems and
verification records have contracts `check` accepts.

Problem 8: no traps in the session page. No line of the part sdd writes starts with `#`
(the brief is quoted) and the Handoff's heading is on the page once, so an agent that edits
after the first line that looks like it edits the Handoff; a page whose markers are damaged
is refused by `sdd done` with what to restore, left as it is by the rewrite that ends a
session, and named by `sdd doctor`.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from contract_helpers import (
    ARCH_PATH,
    PLAN_PATH,
    SPEC_PATH,
    TEST_PLAN_PATH,
    VALID_ARCHITECTURE,
    VALID_SPEC,
    check_json,
    line_of,
    session_json,
    write_docs,
)
from helpers import drive, run, sdd_json, status, tick

BEGIN = "<!-- sdd:begin"
END = "<!-- sdd:end -->"
HANDOFF = "## Handoff"
LATER = [ARCH_PATH, PLAN_PATH, TEST_PLAN_PATH]


# ----------------------------------------------------------------------------- problem 6


def test_a_filled_spec_passes_check_at_the_spec_stage(project: Path) -> None:
    session = session_json(project, "spec")
    write_docs(project, {SPEC_PATH: VALID_SPEC})

    result = run("check", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"All good: {SPEC_PATH} pass their contracts." in result.stdout
    assert "Not yet due at the spec stage: " in result.stdout
    for path in LATER:
        assert path in result.stdout
    assert "`sdd check --all`" in result.stdout
    data = check_json(project, expect=0)
    assert data["ok"] is True and data["messages"] == [] and data["checked"] == [SPEC_PATH]
    assert data["due_at"] == "spec"
    assert data["not_due"] == [
        {"path": ARCH_PATH, "stage": "architecture"},
        {"path": PLAN_PATH, "stage": "plan"},
        {"path": TEST_PLAN_PATH, "stage": "plan"},
    ]

    # --all checks everything, as `sdd check` did before: the later templates are errors.
    every = check_json(project, "--all", expect=1)
    assert every["checked"] == [SPEC_PATH, *LATER] and every["not_due"] == []
    assert {(m["path"], m["message"]) for m in every["messages"]} == {
        (p, "not written yet (still the template)") for p in LATER
    }
    shown = run("check", "--all", cwd=project)
    assert shown.returncode == 1 and "3 error(s)" in shown.stdout

    # the spec session's `sdd done` agrees: the brief's "make `sdd check` pass" is true.
    tick(project / session["page"])
    done = run("done", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_broken_spec_still_fails_and_a_named_document_is_checked_whatever_the_stage(
    project: Path,
) -> None:
    spec = VALID_SPEC.replace("## Constraints", "## Limits")
    write_docs(project, {SPEC_PATH: spec})
    data = check_json(project, expect=1)
    assert [m["message"] for m in data["messages"]] == ["missing section `## Constraints`"]
    named = check_json(project, "architecture", expect=1)
    assert named["checked"] == [ARCH_PATH] and named["not_due"] == []
    assert "not written yet" in named["messages"][0]["message"]


def test_traces_reach_only_documents_that_are_due(project: Path) -> None:
    """A plan written ahead of its stage does not fail the spec: its traces are not due."""
    write_docs(project, {SPEC_PATH: VALID_SPEC, PLAN_PATH: "# Plan\n\n## Tasks\n"})
    assert check_json(project, expect=0)["checked"] == [SPEC_PATH]
    every = check_json(project, "--all", expect=1)
    assert any(m["path"] == PLAN_PATH for m in every["messages"])


def test_what_is_due_follows_the_stage_from_the_cache_or_the_history(project_at: Any) -> None:
    root = project_at("architecture")  # spec approved: the architecture is due now
    sdd_json("status", cwd=root)  # the panel cache is written
    for cache in ("kept", "cleared"):
        if cache == "cleared":
            shutil.rmtree(root / ".sdd" / "cache")
        data = check_json(root, expect=1)
        assert data["due_at"] == "architecture", cache
        assert data["checked"] == [SPEC_PATH, ARCH_PATH], cache
        assert [n["path"] for n in data["not_due"]] == [PLAN_PATH, TEST_PLAN_PATH], cache
        assert {m["path"] for m in data["messages"]} == {ARCH_PATH}, cache
    write_docs(root, {ARCH_PATH: VALID_ARCHITECTURE})
    assert check_json(root, expect=0)["ok"] is True


def test_at_a_gate_the_stage_behind_it_is_not_due(project_at: Any) -> None:
    root = project_at("architecture", approve_gate_before=False)  # spec-approval waits
    data = check_json(root, expect=0)
    assert data["due_at"] == "spec" and data["checked"] == [SPEC_PATH]
    assert [n["path"] for n in data["not_due"]] == LATER


def test_the_open_sessions_report_is_due_with_the_documents_before_it(project_at: Any) -> None:
    root = project_at("implement")
    drive(root, "review")
    review = session_json(root, "review")
    report = review["writes"][0]
    assert "/reviews/" in report
    data = check_json(root, expect=1)
    assert data["due_at"] == "review"
    assert data["checked"] == [SPEC_PATH, ARCH_PATH, PLAN_PATH, TEST_PLAN_PATH, report]
    assert data["messages"] and {m["path"] for m in data["messages"]} == {report}
    assert any("placeholder left" in m["message"] for m in data["messages"])


# ----------------------------------------------------------------------------- the contracts

FIGURES = (
    "<!-- sdd:figures:begin: written by sdd from the history; rewritten by `sdd postmortem` -->\n"
    "| stage | sessions |\n|---|---|\n| spec | 1 |\n"
    "<!-- sdd:figures:end -->\n"
)
POSTMORTEM = f"""# Post-mortem: Word frequencies

Cycle: 001-x. Date: 2026-01-01.

## Figures

{FIGURES}
## What went wrong
- QA broke the first implementation with a file that is not valid UTF-8 (F-1, blocking).

## What slowed development
- The loop back to implementation: one fix session, then review and QA again.

## What escaped testing
- F-1 escaped from plan: the test plan had no case for invalid encodings.

## Process changes
- sessions/plan.md: the checklist now asks for an invalid-encoding test case.
"""
PREPARED = """# User verification 1: Word frequencies

Cycle: 001-x. Date: 2026-01-01.

## How to run it
From a clean checkout:

```sh
python -m wordfreq.wordfreq README.md --top 10
```

## Items

### US-1.1: `wordfreq FILE` prints `count word` lines, highest first.
- Steps: run `python -m wordfreq.wordfreq README.md`.
- Expected: lines `count word`, the highest count first.

### TC-2: Missing file (invalid input)
- Steps: run `python -m wordfreq.wordfreq no-such-file`.
- Expected: exit code 1 and a message naming the file.
"""
VERIFICATION = (  # as the person's walkthrough leaves it: the verdicts after the preparation
    PREPARED
    + """
## Verdicts
- PASS US-1.1: `wordfreq FILE` prints `count word` lines, highest first.
- SKIP TC-2: Missing file (invalid input) — no time left today.
"""
)
POSTMORTEM_PATH = "docs/post-mortems/001-x.md"
VERIFICATION_PATH = "docs/verification/001-x-U1.md"


def _drop(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[:start] + (text[end + 1 :] if end >= 0 else "")


@pytest.mark.parametrize(
    ("path", "good"),
    [
        (POSTMORTEM_PATH, POSTMORTEM),
        (VERIFICATION_PATH, PREPARED),
        (VERIFICATION_PATH, VERIFICATION),
    ],
    ids=["post-mortem", "verification prepared", "verification walked"],
)
def test_a_well_formed_postmortem_and_verification_record_pass(
    project: Path, path: str, good: str
) -> None:
    write_docs(project, {path: good})
    data = check_json(project, path, expect=0)
    assert data["checked"] == [path] and data["messages"] == [], data["messages"]


Broken = tuple[str, str, Callable[[str], str], str, str]
BROKEN: list[Broken] = [
    (
        "post-mortem without its figures",
        POSTMORTEM_PATH,
        lambda t: t.replace(FIGURES, "The figures.\n"),
        "## Figures",
        "the figures are missing: run `sdd postmortem` to write them",
    ),
    (
        "post-mortem without a section",
        POSTMORTEM_PATH,
        lambda t: _drop(t, "What escaped testing"),
        "# Post-mortem",
        "missing section `## What escaped testing`",
    ),
    (
        "post-mortem with an empty section",
        POSTMORTEM_PATH,
        lambda t: t.replace(t[t.index("## Process changes") :], "## Process changes\n"),
        "## Process changes",
        "section `## Process changes` is empty",
    ),
    (
        "verification record with a verdict that is none",
        VERIFICATION_PATH,
        lambda t: t.replace("- SKIP TC-2:", "- MAYBE TC-2:"),
        "- MAYBE",
        "a verdict is `- PASS|FAIL|SKIP ID: what — note`",
    ),
    (
        "verification record with a failure that says nothing",
        VERIFICATION_PATH,
        lambda t: t.replace("- PASS US-1.1:", "- FAIL US-1.1:"),
        "- FAIL",
        "a FAIL verdict says why after ` — `",
    ),
    (
        "verification record without how to run it",
        VERIFICATION_PATH,
        lambda t: _drop(t, "How to run it"),
        "# User verification",
        "missing section `## How to run it`",
    ),
    (
        "verification item without its expected result",
        VERIFICATION_PATH,
        lambda t: t.replace("- Expected: exit code 1 and a message naming the file.\n", ""),
        "### TC-2",
        "TC-2 has no `Expected:` field",
    ),
    (
        "verification item that names no item",
        VERIFICATION_PATH,
        lambda t: t.replace("### TC-2: Missing file", "### Case two: Missing file"),
        "### Case two",
        "an item heading is `### US-n.k or TC-n: title`",
    ),
    (
        "verification record with neither items nor verdicts",
        VERIFICATION_PATH,
        lambda t: t[: t.index("## Items")],
        "# User verification",
        "missing section `## Items`",
    ),
]


@pytest.mark.parametrize("broken", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_postmortem_or_verification_record_gets_a_contract_error(
    project: Path, broken: Broken
) -> None:
    _, path, change, at, message = broken
    good = POSTMORTEM if path == POSTMORTEM_PATH else VERIFICATION
    text = change(good)
    assert text != good
    write_docs(project, {path: text})
    data = check_json(project, path, expect=1)
    assert [(m["path"], m["line"]) for m in data["messages"]] == [(path, line_of(text, at))]
    assert data["messages"][0]["message"].startswith(message), data["messages"]
    shown = run("check", path, cwd=project)
    assert shown.returncode == 1
    assert f"{path}:{line_of(text, at)}: {message}" in shown.stdout


def test_every_document_of_a_whole_cycle_passes(work: Path) -> None:
    """The demo's cycle, end to end: every document it wrote (the reviews, the QA reports, the
    verification record, the release checklist, the post-mortem) passes its contract."""
    root = work / "demo"
    made = run("demo", str(root), cwd=work)
    assert made.returncode == 0, made.stdout + made.stderr
    data = check_json(root, "--all", expect=0)
    kinds = {"/reviews/", "/test-reports/", "/verification/", "/releases/", "/post-mortems/"}
    assert all(any(k in p for p in data["checked"]) for k in kinds), data["checked"]
    assert data["messages"] == []
    assert check_json(root, expect=0)["checked"] == data["checked"]  # finished: all are due


def test_an_unwritten_scaffold_is_not_written(project: Path) -> None:
    scaffold = "# Post-mortem\n\n## Figures\n\n## What went wrong\n- [FILL: problem]\n"
    write_docs(project, {POSTMORTEM_PATH: scaffold})
    data = check_json(project, POSTMORTEM_PATH, expect=1)
    texts = [m["message"] for m in data["messages"]]
    assert any(t.startswith("placeholder left") for t in texts), texts


# ----------------------------------------------------------------------------- problem 8


def _generated(page: str) -> str:
    return page[page.index(BEGIN) : page.index(END) + len(END)]


def naive_agent(page: Path, notes: str = "Wrote the spec; nothing left open.") -> None:
    """The agent of the incident: finds the first line that mentions the Handoff heading and
    writes its handoff after it, dropping whatever followed (it had the checklist already)."""
    text = page.read_text(encoding="utf-8")
    items = re.findall(r"^- \[ \] (.+)$", text, flags=re.M)
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if HANDOFF in line)
    handoff = ["", "### Checklist", "", *[f"- [x] {item}" for item in items], "", "### Notes", ""]
    page.write_text("\n".join([*lines[: at + 1], *handoff, notes, ""]), encoding="utf-8")


def test_nothing_in_the_generated_part_passes_for_the_handoff_heading(project: Path) -> None:
    session = session_json(project, "spec")
    page = project / session["page"]
    text = page.read_text(encoding="utf-8")
    generated = _generated(text)
    starting = [line for line in generated.splitlines() if line.startswith("#")]
    assert starting == [], starting
    assert HANDOFF not in generated  # not even inside a line: a search lands in the Handoff
    assert [line for line in text.splitlines() if HANDOFF in line] == [HANDOFF]
    # The brief is on the page, quoted: what the session was told, as `sdd prompt` gave it.
    brief = sdd_json("prompt", cwd=project)["brief"]
    assert "> " + brief.splitlines()[0] in generated
    assert "tick each checklist item" in generated

    write_docs(project, {SPEC_PATH: VALID_SPEC})
    naive_agent(page)
    after = page.read_text(encoding="utf-8")
    assert _generated(after) == generated  # the agent wrote below the marker: nothing is cut
    done = run("done", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    final = page.read_text(encoding="utf-8")
    assert final.count(BEGIN) == 1 and final.count(END) == 1
    assert [line for line in final.splitlines() if HANDOFF in line] == [HANDOFF]
    assert "> " + brief.splitlines()[0] in _generated(final)  # the rewrite kept the brief
    assert "| outcome | complete |" in final
    assert "Wrote the spec; nothing left open." in final.split(END)[1]
    assert not [f for f in sdd_json("doctor", cwd=project)["findings"] if "sessions/" in f["what"]]


def _without_end(text: str) -> str:
    return text.replace(END + "\n", "", 1)


def _without_begin(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not line.startswith(BEGIN))


def _header_twice(text: str) -> str:
    return _generated(text) + "\n" + text  # what a rewrite over a cut page used to make


def _end_twice(text: str) -> str:
    return text.replace(END, END + "\n" + END, 1)


def _handoff_twice(text: str) -> str:
    return text + "\n" + HANDOFF + "\n\nMore notes.\n"


DAMAGE: list[tuple[str, Callable[[str], str], str]] = [
    ("end marker deleted", _without_end, f"put the line `{END}` back"),
    ("begin marker deleted", _without_begin, "put that line back as the page's first line"),
    ("header duplicated", _header_twice, "delete the other copies"),
    ("end marker duplicated", _end_twice, "keep the one right after the brief's"),
    ("handoff heading duplicated", _handoff_twice, "keep one Handoff section"),
]


@pytest.mark.parametrize("damage", DAMAGE, ids=[d[0] for d in DAMAGE])
def test_a_page_with_damaged_markers_is_refused_by_done_and_named_by_doctor(
    project: Path, damage: tuple[str, Callable[[str], str], str]
) -> None:
    _, change, restore = damage
    session = session_json(project, "spec")
    page = project / session["page"]
    write_docs(project, {SPEC_PATH: VALID_SPEC})
    tick(page)
    whole = page.read_text(encoding="utf-8")
    page.write_text(change(whole), encoding="utf-8")

    refused = run("done", cwd=project)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert refused.stderr.startswith(f"sdd: refused: {session['page']}: "), refused.stderr
    assert restore in refused.stderr, refused.stderr
    assert status(project)["sessions"][0]["outcome"] == "open"

    doctor = run("doctor", "--json", cwd=project)
    assert doctor.returncode == 1, doctor.stdout
    found = [
        f for f in json.loads(doctor.stdout)["data"]["findings"] if session["page"] in f["what"]
    ]
    assert found and found[0]["severity"] == "error", found
    assert restore in found[0]["fix"]

    # restored as the hint says (here: the page as it was), done completes
    page.write_text(whole, encoding="utf-8")
    done = run("done", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [f for f in sdd_json("doctor", cwd=project)["findings"] if "sessions/" in f["what"]]


def test_ending_a_session_leaves_a_damaged_page_as_it_is(project: Path) -> None:
    """The rewrite that ends a session never copies the header over a page it cannot split."""
    session = session_json(project, "spec")
    page = project / session["page"]
    cut = _without_end(page.read_text(encoding="utf-8"))
    page.write_text(cut, encoding="utf-8")
    abandoned = run("abandon", "--reason", "the page was cut", cwd=project)
    assert abandoned.returncode == 0, abandoned.stdout + abandoned.stderr
    assert page.read_text(encoding="utf-8") == cut
    assert cut.count(BEGIN) == 1
    assert any(session["page"] in f["what"] for f in run_doctor(project))


def run_doctor(root: Path) -> list[dict[str, Any]]:
    result = run("doctor", "--json", cwd=root)
    return json.loads(result.stdout)["data"]["findings"]  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- the MCP face


def test_the_mcp_server_checks_what_is_due_and_refuses_a_damaged_page_as_the_cli_does(
    project: Path,
) -> None:
    from mcp import ClientSession

    from test_mcp import call, ok, with_server

    session = session_json(project, "spec")
    write_docs(project, {SPEC_PATH: VALID_SPEC})
    page = project / session["page"]
    tick(page)
    page.write_text(_without_end(page.read_text(encoding="utf-8")), encoding="utf-8")

    async def body(client: ClientSession) -> dict[str, Any]:
        return {
            "due": await ok(client, "check_documents"),
            "all": await ok(client, "check_documents", all=True),
            "done": await call(client, "complete_session"),
        }

    got = with_server(project, body)
    cli = check_json(project, expect=0)
    for key in ("checked", "not_due", "due_at", "ok", "messages"):
        assert got["due"][key] == cli[key], key
    assert got["all"]["checked"] == [SPEC_PATH, *LATER] and got["all"]["ok"] is False
    refused = run("done", cwd=project)
    assert refused.returncode == 3
    assert got["done"] == (True, refused.stderr.rstrip("\n"))

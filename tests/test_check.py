"""`sdd check`: every document against its contract and the documents against each other,
with real documents. A valid set passes clean; each broken rule is reported exactly once,
with the right file and line; a dependency cycle is reported with its path.

The matrix of broken rules runs in-process through the public `sdd.check.check(paths)`
(the same function `sdd check` calls); the output format, the exit codes and the JSON
envelope are shown through the command line."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from contract_helpers import (
    ARCH_PATH,
    PLAN_PATH,
    SPEC_PATH,
    TEST_PLAN_PATH,
    VALID_ARCHITECTURE,
    VALID_DOCS,
    VALID_PLAN,
    VALID_SPEC,
    VALID_TEST_PLAN,
    check_json,
    finish,
    line_of,
    session_json,
    write_docs,
)
from helpers import approve, run, sdd_json, status, tick
from sdd.core.paths import ProjectPaths
from sdd.documents.check import check

Docs = dict[str, str]


def drop_section(text: str, title: str) -> str:
    """Remove `## title` and everything up to the next `## ` heading."""
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[:start] + (text[end + 1 :] if end >= 0 else "")


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def edit(path: str, old: str, new: str) -> Callable[[Docs], Docs]:
    return lambda docs: {**docs, path: replace_once(docs[path], old, new)}


def edit_with(path: str, change: Callable[[str], str]) -> Callable[[Docs], Docs]:
    return lambda docs: {**docs, path: change(docs[path])}


def both(*changes: Callable[[Docs], Docs]) -> Callable[[Docs], Docs]:
    def apply(docs: Docs) -> Docs:
        for change in changes:
            docs = change(docs)
        return docs

    return apply


@dataclass
class Broken:
    """One broken rule: how to break the valid set, and the one message it must give."""

    name: str
    change: Callable[[Docs], Docs]
    path: str
    at: str | int  # the line: a text found on it (first match) or a number
    message: str  # a regular expression the message must match
    severity: str = "error"
    nth: int = 1  # which occurrence of ``at``
    also_at: str | None = None  # an equally right line (a field of the same item)


US3 = "### US-3: Count several files\nAs a writer, I want several files at once.\n\nAcceptance criteria:\n- Each file is counted.\n\n"
T3_NO_STORY = (
    "\n### T3: Polish the output\n- Stories: none\n- Depends on: T1\n- Risk: low\n- Effort: 1h\n"
    "- Scope: wordfreq/\n\n"
    "Acceptance criteria:\n- Output is aligned.\n"
)
BAD_TASK = (
    "\n### Task three\n- Stories: US-1\n- Depends on: none\n- Risk: low\n- Effort: 1h\n\n"
    "Acceptance criteria:\n- Done.\n"
)
DUPLICATE_T2 = (
    "\n### T2: Limit output again\n- Stories: US-2\n- Depends on: T1\n- Risk: low\n- Effort: 30m\n"
    "- Scope: wordfreq/\n\n"
    "Acceptance criteria:\n- Again.\n"
)
BAD_CASE = "\n### Case six: Unicode words\n- Stories: US-1\n- Kind: edge case\n- Steps: Count ü.\n- Expected: One word.\n"

BROKEN = [
    # ---------------------------------------------------------------- the product spec
    Broken(
        "spec: a missing section",
        edit_with(SPEC_PATH, lambda t: drop_section(t, "Overview")),
        SPEC_PATH,
        "# Product specification",
        r"^missing section `## Overview`$",
    ),
    Broken(
        "spec: an empty section",
        edit(
            SPEC_PATH, "- Python 3.11 standard library only; runs offline on Linux and macOS.\n", ""
        ),
        SPEC_PATH,
        "## Constraints",
        r"^section `## Constraints` is empty$",
    ),
    Broken(
        "spec: a story heading without its id",
        edit(
            SPEC_PATH,
            "## Inputs and outputs",
            "### Several files\nAs a writer.\n\nAcceptance criteria:\n- x\n\n## Inputs and outputs",
        ),
        SPEC_PATH,
        "### Several files",
        r"user story heading is `### US-n: title`",
    ),
    Broken(
        "spec: a story without acceptance criteria",
        edit(
            SPEC_PATH,
            "Acceptance criteria:\n- `wordfreq FILE --top N` prints at most N lines.\n"
            "- `--top 0` or a negative N is refused with exit code 2 and a message.\n",
            "",
        ),
        SPEC_PATH,
        "### US-2",
        r"^US-2 has no acceptance criteria",
    ),
    Broken(
        "spec: a duplicate story id",
        edit(
            SPEC_PATH,
            "## Inputs and outputs",
            "### US-2: Top words again\nAs a writer.\n\nAcceptance criteria:\n- y\n\n## Inputs and outputs",
        ),
        SPEC_PATH,
        "### US-2",
        r"^duplicate id US-2 \(first at line {first}\)$",
        nth=2,
    ),
    Broken(
        "spec: a question not marked blocking or not",
        edit(SPEC_PATH, "- Q2 (non-blocking): Should", "- Q2: Should"),
        SPEC_PATH,
        "- Q2: Should",
        r"^a question is `- Qn \(blocking\|non-blocking\): question`",
    ),
    Broken(
        "spec: a duplicate question id",
        edit(SPEC_PATH, "- Q2 (non-blocking)", "- Q1 (non-blocking)"),
        SPEC_PATH,
        "- Q1 (",
        r"^duplicate id Q1 \(first at line {first}\)$",
        nth=2,
    ),
    Broken(
        "spec: no open questions section",
        edit_with(SPEC_PATH, lambda t: drop_section(t, "Open questions")),
        SPEC_PATH,
        1,
        r"^missing section `## Open questions`",
    ),
    Broken(
        "spec: no confidence section",
        edit_with(SPEC_PATH, lambda t: drop_section(t, "Confidence")),
        SPEC_PATH,
        1,
        r"^missing section `## Confidence`",
    ),
    Broken(
        "spec: a confidence that is not a percentage",
        edit(SPEC_PATH, "Confidence: 97 %", "Confidence: very high"),
        SPEC_PATH,
        "## Confidence",
        r"^the confidence is written `Confidence: N %`",
    ),
    Broken(
        "spec: a confidence above 100 %",
        edit(SPEC_PATH, "Confidence: 97 %", "Confidence: 120 %"),
        SPEC_PATH,
        "Confidence: 120 %",
        r"^confidence 120 % is above 100 %$",
    ),
    # ---------------------------------------------------------------- traceability, at the story
    Broken(
        "a story covered by no task",
        both(
            edit(SPEC_PATH, "## Inputs and outputs", US3 + "## Inputs and outputs"),
            edit(
                TEST_PLAN_PATH,
                "- Stories: US-1\n- Kind: functional",
                "- Stories: US-1, US-3\n- Kind: functional",
            ),
        ),
        SPEC_PATH,
        "### US-3",
        r"^US-3 is covered by no task in docs/implementation-plan\.md$",
    ),
    Broken(
        "a story covered by no test case",
        both(
            edit(SPEC_PATH, "## Inputs and outputs", US3 + "## Inputs and outputs"),
            edit(PLAN_PATH, "- Stories: US-2", "- Stories: US-2, US-3"),
        ),
        SPEC_PATH,
        "### US-3",
        r"^US-3 is covered by no test case in docs/test-plan\.md$",
    ),
    # ---------------------------------------------------------------- the architecture
    Broken(
        "architecture: only one option",
        edit_with(ARCH_PATH, lambda t: t[: t.index("### Option B")] + t[t.index("## Decisions") :]),
        ARCH_PATH,
        "## Options considered",
        r"^at least two options are considered .*found 1$",
    ),
    Broken(
        "architecture: an option without trade-offs",
        edit(
            ARCH_PATH,
            "Trade-offs:\n- Constant memory for the text itself.\n"
            "- Slightly more code; a word split across a line break is not a concern for plain text.\n",
            "",
        ),
        ARCH_PATH,
        "### Option B",
        r"^`Option B: Stream the file line by line` lists no trade-offs",
    ),
    Broken(
        "architecture: a missing section",
        edit_with(ARCH_PATH, lambda t: drop_section(t, "Risks")),
        ARCH_PATH,
        "# Architecture",
        r"^missing section `## Risks`$",
    ),
    Broken(
        "architecture: an empty section",
        edit_with(
            ARCH_PATH,
            lambda t: (
                t[: t.index("## Components")] + "## Components\n\n" + t[t.index("## Data flow") :]
            ),
        ),
        ARCH_PATH,
        "## Components",
        r"^section `## Components` is empty$",
    ),
    Broken(
        "architecture: a decision that does not say why",
        edit(ARCH_PATH, " Why: constant memory", " Constant memory"),
        ARCH_PATH,
        "- D1:",
        r"^a decision says why",
        severity="warning",
    ),
    # ---------------------------------------------------------------- the implementation plan
    Broken(
        "plan: a task heading without its id",
        edit_with(PLAN_PATH, lambda t: t + BAD_TASK),
        PLAN_PATH,
        "### Task three",
        r"^a task heading is `### Tn: title`, not `Task three`$",
    ),
    Broken(
        "plan: a task without its risk",
        edit(PLAN_PATH, "- Risk: low\n", ""),
        PLAN_PATH,
        "### T2",
        r"^T2 has no `Risk:` field$",
    ),
    Broken(
        "plan: a risk that is not low, medium or high",
        edit(PLAN_PATH, "- Risk: low", "- Risk: extreme"),
        PLAN_PATH,
        "- Risk: extreme",
        r"^T2: risk is low, medium or high, not `extreme`$",
    ),
    Broken(
        "plan: an empty effort",
        edit(PLAN_PATH, "- Effort: 30m", "- Effort:"),
        PLAN_PATH,
        "- Effort:",
        r"^T2 has no effort estimate$",
        nth=2,
    ),
    Broken(
        "plan: a task without acceptance criteria",
        edit(
            PLAN_PATH,
            "\nAcceptance criteria:\n- `--top N` prints at most N lines; `--top 0` exits 2 with a message.\n",
            "",
        ),
        PLAN_PATH,
        "### T2",
        r"^T2 has no acceptance criteria",
    ),
    Broken(
        "plan: a task covering no story",
        edit_with(PLAN_PATH, lambda t: t + T3_NO_STORY),
        PLAN_PATH,
        "- Stories: none",
        r"^T3 covers no user story$",
    ),
    Broken(
        "plan: a story reference that is not a story id",
        edit(PLAN_PATH, "- Stories: US-2", "- Stories: US-2, story2"),
        PLAN_PATH,
        "- Stories: US-2, story2",
        r"story2",
        also_at="### T2",
    ),
    Broken(
        "plan: a story that does not exist",
        edit(PLAN_PATH, "- Stories: US-2", "- Stories: US-2, US-9"),
        PLAN_PATH,
        "### T2",
        r"^T2 covers US-9, which the spec does not define$",
        also_at="- Stories: US-2, US-9",
    ),
    Broken(
        "plan: a dependency that is not a task id",
        edit(PLAN_PATH, "- Depends on: T1", "- Depends on: T1, first"),
        PLAN_PATH,
        "- Depends on: T1, first",
        r"first",
        also_at="### T2",
    ),
    Broken(
        "plan: a dependency on a task that does not exist",
        edit(PLAN_PATH, "- Depends on: T1", "- Depends on: T7"),
        PLAN_PATH,
        "### T2",
        r"^T2 depends on T7, which is not a task$",
        also_at="- Depends on: T7",
    ),
    Broken(
        "plan: a task depending on itself",
        edit(PLAN_PATH, "- Depends on: T1", "- Depends on: T2"),
        PLAN_PATH,
        "### T2",
        r"^T2 depends on itself$",
        also_at="- Depends on: T2",
    ),
    Broken(
        "plan: a dependency cycle",
        edit(PLAN_PATH, "- Depends on: none", "- Depends on: T2"),
        PLAN_PATH,
        "### T1",
        r"^dependency cycle: T1 → T2 → T1$",
    ),
    Broken(
        "plan: a duplicate task id",
        edit_with(PLAN_PATH, lambda t: t + DUPLICATE_T2),
        PLAN_PATH,
        "### T2",
        r"^duplicate id T2 \(first at line {first}\)$",
        nth=2,
    ),
    # ---------------------------------------------------------------- the test plan
    Broken(
        "test plan: a case heading without its id",
        edit_with(TEST_PLAN_PATH, lambda t: t + BAD_CASE),
        TEST_PLAN_PATH,
        "### Case six",
        r"^a test case heading is `### TC-n: title`",
    ),
    Broken(
        "test plan: a case without its kind",
        edit(TEST_PLAN_PATH, "- Kind: functional\n", ""),
        TEST_PLAN_PATH,
        "### TC-1",
        r"^TC-1 has no `Kind:` field$",
    ),
    Broken(
        "test plan: a case without its steps",
        edit(TEST_PLAN_PATH, '- Steps: Run `wordfreq` on a file holding "b a b".\n', ""),
        TEST_PLAN_PATH,
        "### TC-1",
        r"^TC-1 has no `Steps:` field$",
    ),
    Broken(
        "test plan: a kind that is not one of the kinds",
        edit(TEST_PLAN_PATH, "- Kind: functional", "- Kind: smoke"),
        TEST_PLAN_PATH,
        "- Kind: smoke",
        r"^TC-1: kind is one of .* not `smoke`$",
    ),
    Broken(
        "test plan: a required kind missing",
        edit(TEST_PLAN_PATH, "- Kind: concurrency", "- Kind: functional"),
        TEST_PLAN_PATH,
        "## Test cases",
        r"^no test case of kind `concurrency`$",
        severity="warning",
    ),
    Broken(
        "test plan: a story that does not exist",
        edit(
            TEST_PLAN_PATH,
            "- Stories: US-1\n- Kind: functional",
            "- Stories: US-1, US-7\n- Kind: functional",
        ),
        TEST_PLAN_PATH,
        "### TC-1",
        r"^TC-1 covers US-7, which the spec does not define$",
        also_at="- Stories: US-1, US-7",
    ),
    Broken(
        "test plan: a story reference that is not a story id",
        edit(
            TEST_PLAN_PATH,
            "- Stories: US-1\n- Kind: functional",
            "- Stories: US-1, one\n- Kind: functional",
        ),
        TEST_PLAN_PATH,
        "- Stories: US-1, one",
        r"\bone\b",
        also_at="### TC-1",
    ),
    Broken(
        "test plan: a duplicate case id",
        edit(
            TEST_PLAN_PATH,
            "### TC-5: A large file",
            "### TC-4: Two runs again\n- Stories: US-1\n- Kind: concurrency\n"
            "- Steps: Run two counts again.\n- Expected: Identical output.\n\n### TC-5: A large file",
        ),
        TEST_PLAN_PATH,
        "### TC-4",
        r"^duplicate id TC-4 \(first at line {first}\)$",
        nth=2,
    ),
]


def _check_in(root: Path, docs: Docs) -> list[tuple[str, int, str, str]]:
    write_docs(root, docs)
    report = check(ProjectPaths(str(root)))
    return [(m.path, m.line, m.severity, m.text) for m in report.messages]


def test_the_valid_set_passes_with_no_error_and_no_warning(work: Path) -> None:
    assert _check_in(work, dict(VALID_DOCS)) == []


def test_the_valid_set_passes_strict_through_the_command_line(project: Path) -> None:
    # `--all`: in a fresh project only the spec is due (tests/test_check_due_and_pages.py)
    write_docs(project, VALID_DOCS)
    data = check_json(project, "--all", "--strict", expect=0)
    assert data["ok"] is True
    assert data["errors"] == 0 and data["warnings"] == 0 and data["messages"] == []
    assert data["checked"] == [SPEC_PATH, ARCH_PATH, PLAN_PATH, TEST_PLAN_PATH]
    text = run("check", "--all", "--strict", cwd=project)
    assert text.returncode == 0, text.stdout + text.stderr
    assert "All good" in text.stdout
    for path in data["checked"]:
        assert path in text.stdout


@pytest.mark.parametrize("broken", BROKEN, ids=[b.name for b in BROKEN])
def test_each_broken_rule_is_reported_exactly_once_at_its_line(work: Path, broken: Broken) -> None:
    docs = broken.change(dict(VALID_DOCS))
    assert docs != VALID_DOCS
    messages = _check_in(work, docs)
    text = docs[broken.path]
    line = broken.at if isinstance(broken.at, int) else line_of(text, broken.at, broken.nth)
    lines = {line} | ({line_of(text, broken.also_at)} if broken.also_at else set())
    assert len(messages) == 1, "expected exactly one message, got:\n" + "\n".join(
        map(str, messages)
    )
    path, at, severity, message = messages[0]
    assert path == broken.path
    assert at in lines, f"reported at line {at}, expected {sorted(lines)}: {message}"
    assert severity == broken.severity
    wanted = broken.message.replace(
        "{first}", str(line_of(text, broken.at)) if isinstance(broken.at, str) else ""
    )
    assert re.search(wanted, message), message


def test_a_longer_cycle_is_reported_once_with_its_whole_path(work: Path) -> None:
    plan = VALID_PLAN + (
        "\n### T3: Sort the ranking\n- Stories: US-1\n- Depends on: T2\n- Risk: low\n- Effort: 1h\n"
        "- Scope: wordfreq/\n\n"
        "Acceptance criteria:\n- Sorted.\n"
        "\n### T4: Print the ranking\n- Stories: US-2\n- Depends on: T3\n- Risk: low\n- Effort: 1h\n"
        "- Scope: wordfreq/\n\n"
        "Acceptance criteria:\n- Printed.\n"
    )
    plan = replace_once(plan, "- Depends on: none", "- Depends on: T4")  # T1 → T4 → T3 → T2 → T1
    messages = _check_in(work, {**VALID_DOCS, PLAN_PATH: plan})
    assert len(messages) == 1, messages
    path, line, severity, message = messages[0]
    assert (path, severity) == (PLAN_PATH, "error")
    match = re.fullmatch(r"dependency cycle: (.+)", message)
    assert match, message
    cycle = match.group(1).split(" → ")
    assert cycle[0] == cycle[-1]
    assert sorted(cycle[:-1]) == ["T1", "T2", "T3", "T4"]
    # each step of the path is a real dependency: X → Y means X depends on Y
    depends = {"T1": "T4", "T2": "T1", "T3": "T2", "T4": "T3"}
    for here, there in itertools.pairwise(cycle):
        assert depends[here] == there, cycle
    assert line == line_of(plan, f"### {cycle[0]}:")


def test_a_story_without_task_and_case_is_reported_once_per_missing_link(work: Path) -> None:
    spec = replace_once(VALID_SPEC, "## Inputs and outputs", US3 + "## Inputs and outputs")
    messages = _check_in(work, {**VALID_DOCS, SPEC_PATH: spec})
    at = line_of(spec, "### US-3")
    assert sorted(messages) == [
        (SPEC_PATH, at, "error", "US-3 is covered by no task in docs/implementation-plan.md"),
        (SPEC_PATH, at, "error", "US-3 is covered by no test case in docs/test-plan.md"),
    ]


def test_a_user_stories_section_without_stories(work: Path) -> None:
    spec = (
        VALID_SPEC[: VALID_SPEC.index("### US-1")]
        + VALID_SPEC[VALID_SPEC.index("## Inputs and outputs") :]
    )
    messages = _check_in(work, {**VALID_DOCS, SPEC_PATH: spec})
    hits = [m for m in messages if m[3].startswith("no user story")]
    assert hits == [(SPEC_PATH, line_of(spec, "## User stories"), "error", hits[0][3])]
    # the tasks and cases that name the stories now point at nothing: one message each
    plan_refs = [m for m in messages if m[0] == PLAN_PATH]
    assert sorted(m[3] for m in plan_refs) == [
        "T1 covers US-1, which the spec does not define",
        "T2 covers US-2, which the spec does not define",
    ]


def test_a_template_left_as_it_is_is_not_written_yet(project: Path) -> None:
    """A fresh project: the four core documents are still their templates."""
    data = check_json(project, "--all", expect=1)
    assert data["ok"] is False and data["errors"] == 4 and data["warnings"] == 0
    assert {(m["path"], m["line"], m["severity"]) for m in data["messages"]} == {
        (p, 1, "error") for p in (SPEC_PATH, ARCH_PATH, PLAN_PATH, TEST_PLAN_PATH)
    }
    assert all("not written yet" in m["message"] for m in data["messages"])


def test_placeholders_left_in_a_document_are_errors_at_their_lines(work: Path) -> None:
    plan = replace_once(VALID_PLAN, "- Effort: 30m", "- Effort: [FILL: estimate]")
    messages = _check_in(work, {**VALID_DOCS, PLAN_PATH: plan})
    assert messages == [(PLAN_PATH, line_of(plan, "[FILL:"), "error", messages[0][3])]
    assert "placeholder" in messages[0][3]


def test_a_missing_document_is_reported_by_name(project: Path) -> None:
    write_docs(project, VALID_DOCS)
    (project / ARCH_PATH).unlink()
    data = check_json(project, "--all", expect=1)
    assert [(m["path"], m["line"], m["severity"], m["message"]) for m in data["messages"]] == [
        (ARCH_PATH, 1, "error", "missing")
    ]


def test_output_format_exit_codes_and_strict(project: Path) -> None:
    # a warning only: exit 0, and 1 with --strict
    arch = replace_once(VALID_ARCHITECTURE, " Why: constant memory", " Constant memory")
    write_docs(project, {**VALID_DOCS, ARCH_PATH: arch})
    warn_line = line_of(arch, "- D1:")
    plain = run("check", "--all", cwd=project)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert (
        f"{ARCH_PATH}:{warn_line}: a decision says why (`Why: …`) (warning)"
        in plain.stdout.splitlines()
    )
    assert "0 error(s), 1 warning(s)" in plain.stdout
    strict = run("check", "--all", "--strict", cwd=project)
    assert strict.returncode == 1
    assert f"{ARCH_PATH}:{warn_line}: " in strict.stdout
    data = check_json(project, "--all", "--strict", expect=1)
    assert data["ok"] is False and data["errors"] == 0 and data["warnings"] == 1
    assert check_json(project, "--all", expect=0)["ok"] is True

    # an error: `file:line: message`, no "(warning)", exit 1 with or without --strict
    plan = replace_once(VALID_PLAN, "- Depends on: none", "- Depends on: T2")
    write_docs(project, {**VALID_DOCS, PLAN_PATH: plan})
    result = run("check", "--all", cwd=project)
    assert result.returncode == 1
    expected = f"{PLAN_PATH}:{line_of(plan, '### T1')}: dependency cycle: T1 → T2 → T1"
    assert expected in result.stdout.splitlines()
    assert "1 error(s), 0 warning(s)" in result.stdout
    data = check_json(project, "--all", expect=1)
    assert data["messages"] == [
        {
            "path": PLAN_PATH,
            "line": line_of(plan, "### T1"),
            "severity": "error",
            "message": "dependency cycle: T1 → T2 → T1",
        }
    ]
    assert data["errors"] == 1 and data["warnings"] == 0 and data["ok"] is False


def test_naming_documents_checks_those_and_their_traceability(project: Path) -> None:
    arch = replace_once(VALID_ARCHITECTURE, " Why: constant memory", " Constant memory")
    plan = replace_once(VALID_PLAN, "- Depends on: T1", "- Depends on: T7")
    write_docs(project, {**VALID_DOCS, ARCH_PATH: arch, PLAN_PATH: plan})
    only_plan = check_json(project, "plan", expect=1)
    assert only_plan["checked"] == [PLAN_PATH]
    assert [m["message"] for m in only_plan["messages"]] == [
        "T2 depends on T7, which is not a task"
    ]
    by_path = check_json(project, ARCH_PATH, expect=0)
    assert by_path["checked"] == [ARCH_PATH]
    assert [m["severity"] for m in by_path["messages"]] == ["warning"]
    bad = run("check", "README.md", cwd=project)
    assert bad.returncode == 2
    assert "README.md" in bad.stderr


def test_identical_reports_are_each_reported_under_their_own_path(project: Path) -> None:
    """Two review reports with the same (broken) content: each message names its own file.
    Parsed documents are cached by content; the cache must not carry one file's name into
    another's messages."""
    broken = "# Review\n\n## Verdict\nVerdict: maybe\n"
    first, second = "docs/reviews/001-x-R1.md", "docs/reviews/001-x-R2.md"
    write_docs(project, {**VALID_DOCS, first: broken, second: broken})
    alone = check_json(project, first, expect=1)
    assert alone["messages"] and {m["path"] for m in alone["messages"]} == {first}
    other = check_json(project, second, expect=1)
    assert {m["path"] for m in other["messages"]} == {second}, other["messages"]
    together = check_json(project, first, second, expect=1)
    per_file = {
        path: sorted((m["line"], m["message"]) for m in together["messages"] if m["path"] == path)
        for path in (first, second)
    }
    assert per_file[first] and per_file[first] == per_file[second], together["messages"]


def test_documents_that_are_not_markdown_at_all_give_messages_not_a_traceback(
    project: Path,
) -> None:
    nasty = {
        SPEC_PATH: "\x00\x01\x02 binary \ufffd\n" * 50,
        ARCH_PATH: "#" * 5000 + "\n" + "- " * 3000,
        PLAN_PATH: "> " * 200 + "### T1: deep\n" + "  " * 500 + "- Depends on: T1\n",
        TEST_PLAN_PATH: "```\n## Test cases\n### TC-1: inside a fence\n",
    }
    write_docs(project, nasty)
    (project / "docs" / "conventions.md").write_bytes(
        b"\xff\xfe\xfa not utf-8 \x80\n## How to build\n"
    )
    data = check_json(project, "spec", "architecture", "plan", "test-plan", "conventions", expect=1)
    assert data["errors"] >= 5
    assert {m["path"] for m in data["messages"]} >= {
        SPEC_PATH,
        ARCH_PATH,
        PLAN_PATH,
        TEST_PLAN_PATH,
    }
    for message in data["messages"]:
        assert message["line"] >= 1 and message["message"]


def test_done_completes_a_session_only_when_its_outputs_pass_their_contract(project: Path) -> None:
    """`sdd done` lists the contract errors (as `file:line: message`) and the session stays open."""
    session = session_json(project, "spec")
    broken = VALID_SPEC.replace("Confidence: 97 %", "Confidence: 120 %")
    write_docs(project, {SPEC_PATH: broken})
    tick(project / session["page"])
    result = run("done", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        f"{SPEC_PATH}:{line_of(broken, 'Confidence: 120 %')}: confidence 120 % is above 100 %"
        in result.stderr
    )
    data = status(project)
    assert data["sessions"][-1]["outcome"] == "open" and data["next"]["kind"] == "finish-session"
    finish(project, session, {SPEC_PATH: VALID_SPEC})
    assert status(project)["sessions"][-1]["outcome"] == "complete"


def test_done_checks_the_plans_traceability(project_at) -> None:  # type: ignore[no-untyped-def]
    """A plan session whose plan has a cycle and whose test plan leaves a story uncovered."""
    root = project_at("architecture")  # its spec defines US-1 only
    finish(root, session_json(root, "architecture"), {ARCH_PATH: VALID_ARCHITECTURE})
    session = session_json(root, "plan")
    plan = VALID_PLAN.replace("US-2", "US-1").replace("- Depends on: none", "- Depends on: T2")
    tests = VALID_TEST_PLAN.replace("US-1, US-2", "US-1").replace(
        "- Stories: US-1\n", "- Stories: US-9\n"
    )
    write_docs(root, {PLAN_PATH: plan, TEST_PLAN_PATH: tests})
    tick(root / session["page"])
    result = run("done", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{PLAN_PATH}:{line_of(plan, '### T1')}: dependency cycle: T1 → T2 → T1" in result.stderr
    assert "US-9, which the spec does not define" in result.stderr
    assert status(root)["sessions"][-1]["outcome"] == "open"

    tests = VALID_TEST_PLAN.replace("US-2", "US-1")
    finish(root, session, {PLAN_PATH: VALID_PLAN.replace("US-2", "US-1"), TEST_PLAN_PATH: tests})
    assert status(root)["next"]["gate"] == "implementation-approval"
    approve(root, "implementation-approval")
    assert [r["id"] for r in sdd_json("tasks", cwd=root)] == ["T1", "T2"]

"""Property-based tests of the contracts (hypothesis), in-process through the public
`sdd.check.check(paths)` on real files, and the parser on its own.

- generated valid document sets (any number of stories, tasks and test cases; dependencies
  forming a DAG; any ids, order and line endings) give zero errors and zero warnings;
- one generated mutation of a valid set (a missing section, a dangling dependency, an
  uncovered story, a duplicate id, a cycle) gives exactly its error, at the right line;
- arbitrary text gives messages, never an exception.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract_helpers import ARCH_PATH, PLAN_PATH, SPEC_PATH, TEST_PLAN_PATH, line_of, write_docs
from sdd.core.paths import ProjectPaths
from sdd.documents import check as sdd_check
from sdd.documents.structures import Message
from sdd.usecases import findings as sdd_findings

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SPEC_SECTIONS = (
    "Overview",
    "Inputs and outputs",
    "Constraints",
    "Failure behaviour",
    "Performance expectations",
)
ARCH_SECTIONS = ("Context", "Components", "Data flow", "Risks")
REQUIRED_KINDS = ("invalid input", "edge case", "concurrency", "performance stress")
KINDS = ("functional", *REQUIRED_KINDS)

words = st.lists(
    st.sampled_from(
        [
            "reset",
            "link",
            "token",
            "expiry",
            "user",
            "mail",
            "queue",
            "retry",
            "cache",
            "page",
            "form",
            "login",
            "audit",
            "limit",
            "export",
            "import",
            "report",
            "count",
            "sort",
            "filter",
            "merge",
        ]
    ),
    min_size=1,
    max_size=5,
).map(" ".join)


# ----------------------------------------------------------------------------- the model


@dataclass
class Story:
    id: str
    title: str
    criteria: list[str]


@dataclass
class Task:
    id: str
    title: str
    stories: list[str]
    depends: list[str]
    risk: str
    effort: str
    criteria: list[str]


@dataclass
class Case:
    id: str
    title: str
    stories: list[str]
    kind: str


@dataclass
class DocSet:
    stories: list[Story]
    questions: list[tuple[str, bool, str | None]]  # id, blocking, answer
    confidence: str
    options: list[tuple[str, list[str]]]
    decisions: list[str]
    tasks: list[Task]
    cases: list[Case]
    newline: str = "\n"
    skip: set[str] = field(default_factory=set)  # sections left out (a mutation)

    def spec(self) -> str:
        out = ["# Product specification", ""]
        for title in SPEC_SECTIONS[:1]:
            out += self._section(title, ["A tool for the team; out of scope: everything else."])
        out += ["## User stories", ""]
        for s in self.stories:
            out += [
                f"### {s.id}: {s.title}",
                f"As a user, I want {s.title}.",
                "",
                "Acceptance criteria:",
            ]
            out += [f"- {c}" for c in s.criteria] + [""]
        for title in SPEC_SECTIONS[1:]:
            out += self._section(title, [f"- {title} as agreed with the team."])
        body = []
        for ident, blocking, answer in self.questions:
            body += [
                f"- {ident} ({'blocking' if blocking else 'non-blocking'}): Is {ident} settled?",
                f"  Answer: {answer if answer is not None else 'open'}",
            ]
        out += self._section("Open questions", body or ["- none"])
        out += self._section("Confidence", [f"Confidence: {self.confidence} %"])
        return self.newline.join(out)

    def architecture(self) -> str:
        out = ["# Architecture", ""]
        out += self._section("Context", ["The system runs on one machine."])
        if "Options considered" not in self.skip:
            out += ["## Options considered", ""]
            for letter, (name, tradeoffs) in zip("ABCDEFG", self.options, strict=False):
                out += [f"### Option {letter}: {name}", f"It works by {name}.", "", "Trade-offs:"]
                out += [f"- {t}" for t in tradeoffs] + [""]
        out += self._section(
            "Decisions",
            [f"- D{n}: {d}. Why: it fits the spec." for n, d in enumerate(self.decisions, 1)],
        )
        for title in ARCH_SECTIONS[1:]:
            out += self._section(title, [f"- {title}: one part."])
        return self.newline.join(out)

    def plan(self) -> str:
        out = ["# Implementation plan", "", "## Tasks", ""]
        for t in self.tasks:
            out += [
                f"### {t.id}: {t.title}",
                f"- Stories: {', '.join(t.stories)}",
                f"- Depends on: {', '.join(t.depends) or 'none'}",
                f"- Risk: {t.risk}",
                f"- Effort: {t.effort}",
                "- Scope: src/, tests/",
                "",
                "Acceptance criteria:",
            ]
            out += [f"- {c}" for c in t.criteria] + [""]
        return self.newline.join(out)

    def test_plan(self) -> str:
        out = ["# Test plan", "", "## Test cases", ""]
        for c in self.cases:
            out += [
                f"### {c.id}: {c.title}",
                f"- Stories: {', '.join(c.stories)}",
                f"- Kind: {c.kind}",
                f"- Steps: run the {c.title} scenario.",
                f"- Expected: the {c.title} result.",
                "",
            ]
        return self.newline.join(out)

    def _section(self, title: str, lines: list[str]) -> list[str]:
        return [] if title in self.skip else [f"## {title}", *lines, ""]

    def docs(self) -> dict[str, str]:
        return {
            SPEC_PATH: self.spec(),
            ARCH_PATH: self.architecture(),
            PLAN_PATH: self.plan(),
            TEST_PLAN_PATH: self.test_plan(),
        }


@st.composite
def doc_sets(draw: st.DrawFn) -> DocSet:
    n_stories = draw(st.integers(1, 6))
    story_numbers = draw(
        st.lists(st.integers(1, 99), min_size=n_stories, max_size=n_stories, unique=True)
    )
    stories = [
        Story(f"US-{n}", draw(words), draw(st.lists(words, min_size=1, max_size=3)))
        for n in story_numbers
    ]
    story_ids = [s.id for s in stories]

    n_tasks = draw(st.integers(1, 12))
    task_numbers = draw(
        st.lists(st.integers(1, 200), min_size=n_tasks, max_size=n_tasks, unique=True)
    )
    task_ids = [f"T{n}" for n in task_numbers]
    # the DAG: a task depends only on tasks that come before it in a random topological order
    order = draw(st.permutations(range(n_tasks)))
    tasks: list[Task] = []
    for position, index in enumerate(order):
        earlier = [task_ids[order[p]] for p in range(position)]
        depends = (
            draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3)) if earlier else []
        )
        tasks.append(
            Task(
                task_ids[index],
                draw(words),
                draw(st.lists(st.sampled_from(story_ids), min_size=1, max_size=3, unique=True)),
                depends,
                draw(st.sampled_from(["low", "medium", "high", "Low", "HIGH"])),
                draw(st.sampled_from(["30m", "1h", "2h", "1d", "3 days"])),
                draw(st.lists(words, min_size=1, max_size=3)),
            )
        )
    # the plan lists tasks in any order, not necessarily the dependency order
    tasks = draw(st.permutations(tasks))
    for k, story in enumerate(story_ids):  # every story covered by a task
        owner = tasks[k % len(tasks)]
        if story not in owner.stories:
            owner.stories.append(story)

    extra = draw(st.lists(st.sampled_from(KINDS), max_size=6))
    kinds = draw(st.permutations([*REQUIRED_KINDS, *extra]))
    case_numbers = draw(
        st.lists(st.integers(1, 300), min_size=len(kinds), max_size=len(kinds), unique=True)
    )
    cases = [
        Case(
            f"TC-{n}",
            draw(words),
            draw(st.lists(st.sampled_from(story_ids), min_size=1, max_size=3, unique=True)),
            kind,
        )
        for n, kind in zip(case_numbers, kinds, strict=True)
    ]
    for k, story in enumerate(story_ids):  # every story covered by a test case
        case = cases[k % len(cases)]
        if story not in case.stories:
            case.stories.append(story)

    n_questions = draw(st.integers(0, 3))
    questions = [
        (f"Q{n}", draw(st.booleans()), draw(st.one_of(st.none(), words)))
        for n in range(1, n_questions + 1)
    ]
    confidence = draw(
        st.one_of(st.integers(0, 100).map(str), st.sampled_from(["99.5", "12.25", "0.0"]))
    )
    options = [
        (draw(words), draw(st.lists(words, min_size=1, max_size=3)))
        for _ in range(draw(st.integers(2, 4)))
    ]
    return DocSet(
        stories,
        questions,
        confidence,
        options,
        draw(st.lists(words, min_size=1, max_size=3)),
        tasks,
        cases,
        newline=draw(st.sampled_from(["\n", "\r\n"])),
    )


def _check(root: Path, docs: dict[str, str]) -> list[Message]:
    for relative, text in docs.items():  # bytes as they are: keep the CRLF of a variant
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
    report = sdd_check.check(ProjectPaths(str(root)))
    assert report.checked == [SPEC_PATH, ARCH_PATH, PLAN_PATH, TEST_PLAN_PATH]
    return report.messages


def _line(text: str, needle: str, nth: int = 1) -> int:
    return line_of(text.replace("\r\n", "\n"), needle, nth)


# ----------------------------------------------------------------------------- valid sets


@SETTINGS
@given(doc_sets())
def test_generated_valid_sets_give_no_error_and_no_warning(work: Path, docs: DocSet) -> None:
    messages = _check(work, docs.docs())
    assert messages == [], "\n".join(map(str, messages))


# ----------------------------------------------------------------------------- one mutation


@dataclass
class Expected:
    path: str
    lines: set[int]
    pattern: str


def _mutate(data: st.DataObject, docs: DocSet) -> tuple[DocSet, Expected]:
    kind = data.draw(
        st.sampled_from(["missing-section", "dangling", "uncovered", "duplicate", "cycle"]),
        label="mutation",
    )
    docs = replace(
        docs,
        stories=[replace(s) for s in docs.stories],
        tasks=[replace(t, stories=list(t.stories), depends=list(t.depends)) for t in docs.tasks],
        cases=[replace(c, stories=list(c.stories)) for c in docs.cases],
        skip=set(docs.skip),
    )
    if kind == "missing-section":
        where = data.draw(st.sampled_from([SPEC_PATH, ARCH_PATH]), label="document")
        titles = (
            (*SPEC_SECTIONS, "Open questions", "Confidence")
            if where == SPEC_PATH
            else (
                *ARCH_SECTIONS,
                "Options considered",
                "Decisions",
            )
        )
        title = data.draw(st.sampled_from(titles), label="section")
        docs.skip.add(title)
        return docs, Expected(where, {1}, rf"^missing section `## {re.escape(title)}`")

    if kind == "dangling":
        task = data.draw(st.sampled_from(docs.tasks), label="task")
        numbers = {int(t.id[1:]) for t in docs.tasks}
        ghost = (
            f"T{data.draw(st.integers(1, 400).filter(lambda n: n not in numbers), label='ghost')}"
        )
        task.depends.append(ghost)
        plan = docs.plan()
        lines = {
            _line(plan, f"### {task.id}:"),
            _line(plan, f"- Depends on: {', '.join(task.depends)}"),
        }
        return docs, Expected(
            PLAN_PATH, lines, rf"^{task.id} depends on {ghost}, which is not a task$"
        )

    if kind == "uncovered":
        numbers = {int(s.id[3:]) for s in docs.stories}
        new = (
            f"US-{data.draw(st.integers(1, 150).filter(lambda n: n not in numbers), label='story')}"
        )
        docs.stories.append(Story(new, "a story nobody planned", ["it works"]))
        lacks_task = data.draw(st.booleans(), label="lacks a task (else a test case)")
        if lacks_task:  # a test case covers it, no task does
            data.draw(st.sampled_from(docs.cases), label="case").stories.append(new)
            pattern = rf"^{new} is covered by no task in docs/implementation-plan\.md$"
        else:
            data.draw(st.sampled_from(docs.tasks), label="task").stories.append(new)
            pattern = rf"^{new} is covered by no test case in docs/test-plan\.md$"
        return docs, Expected(SPEC_PATH, {_line(docs.spec(), f"### {new}:")}, pattern)

    if kind == "duplicate":
        what = data.draw(st.sampled_from(["story", "task", "case"]), label="duplicate of")
        if what == "story":
            story = data.draw(st.sampled_from(docs.stories), label="story")
            docs.stories.append(Story(story.id, "the same id again", ["again"]))
            ident, text, path = story.id, docs.spec(), SPEC_PATH
        elif what == "task":
            task = data.draw(st.sampled_from(docs.tasks), label="task")
            docs.tasks.append(replace(task, title="the same id again"))
            ident, text, path = task.id, docs.plan(), PLAN_PATH
        else:
            case = data.draw(st.sampled_from(docs.cases), label="case")
            docs.cases.append(replace(case, title="the same id again"))
            ident, text, path = case.id, docs.test_plan(), TEST_PLAN_PATH
        first_line = _line(text, f"### {ident}:", 1)
        return docs, Expected(
            path,
            {_line(text, f"### {ident}:", 2)},
            rf"^duplicate id {ident} \(first at line {first_line}\)$",
        )

    # a cycle: one back edge added to the DAG
    edges = [(t, d) for t in docs.tasks for d in t.depends]
    if edges:
        task, dependency = data.draw(st.sampled_from(edges), label="edge")
        back = next(t for t in docs.tasks if t.id == dependency)
        back.depends.append(task.id)  # dependency → task → dependency
    elif len(docs.tasks) >= 2:
        one, two = data.draw(st.permutations(docs.tasks), label="pair")[:2]
        one.depends.append(two.id)
        two.depends.append(one.id)
    else:
        only = docs.tasks[0]
        only.depends.append(only.id)
        plan = docs.plan()
        return docs, Expected(
            PLAN_PATH, {_line(plan, f"### {only.id}:")}, rf"^{only.id} depends on itself$"
        )
    return docs, Expected(PLAN_PATH, set(), r"^dependency cycle: ")  # lines: checked on the path


@SETTINGS
@given(doc_sets(), st.data())
def test_one_mutation_gives_exactly_its_error(
    work: Path, docs: DocSet, data: st.DataObject
) -> None:
    mutated, expected = _mutate(data, docs)
    texts = mutated.docs()
    messages = _check(work, texts)
    assert len(messages) == 1, "\n".join(map(str, messages))
    message = messages[0]
    assert message.path == expected.path
    assert message.severity == "error"
    assert re.search(expected.pattern, message.text), message.text
    if message.text.startswith("dependency cycle: "):
        path = message.text.removeprefix("dependency cycle: ").split(" → ")
        depends = {t.id: set(t.depends) for t in mutated.tasks}
        assert len(path) >= 3 and path[0] == path[-1], path
        assert len(set(path[:-1])) == len(path) - 1, f"not a simple cycle: {path}"
        for here, there in itertools.pairwise(path):
            assert there in depends[here], f"{here} does not depend on {there}: {path}"
        expected.lines = {_line(texts[PLAN_PATH], f"### {path[0]}:")}
    assert message.line in expected.lines, f"{message} (expected line {sorted(expected.lines)})"


# ----------------------------------------------------------------------------- arbitrary text

DOC_KINDS = ["spec", "architecture", "plan", "test-plan", "conventions", "review", "qa", "release"]
MARKDOWNISH = st.lists(
    st.sampled_from(
        [
            "# Title",
            "## Tasks",
            "## User stories",
            "## Test cases",
            "## Open questions",
            "## Confidence",
            "## Options considered",
            "## Decisions",
            "## Findings",
            "## Verdict",
            "## Security",
            "### T1: a",
            "### T1:",
            "### US-1: b",
            "### TC-1: c",
            "### Option A: x",
            "### US-x",
            "- Stories: US-1, US-9, x",
            "- Depends on: T1, T2, T1",
            "- Risk: high",
            "- Effort:",
            "- Kind: edge case",
            "- Steps: s",
            "- Expected: e",
            "Acceptance criteria:",
            "Trade-offs:",
            "- Q1 (blocking): why",
            "  Answer: open",
            "Confidence: 100 %",
            "Confidence: 1e3 %",
            "- F1 (blocking; escaped from plan) x: y",
            "Verdict: changes-requested",
            "- OK a — evidence: b",
            "- UNCERTAIN c",
            "- none",
            "- ",
            "  - nested",
            "1. one",
            "```",
            "~~~",
            "> quote",
            "<!-- x -->",
            "<details>",
            "---",
            "===",
            "[FILL: x]",
            "| a | b |",
            "",
            "",
            "\t",
            "\x00",
            "\u2028",
            "\ufeff",
        ]
    ),
    max_size=40,
).map("\n".join)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(DOC_KINDS), st.one_of(st.text(max_size=400), MARKDOWNISH))
def test_arbitrary_text_gives_messages_never_an_exception(kind: str, text: str) -> None:
    parsed = sdd_check._parse_text(kind, "docs/any.md", text)
    assert parsed.kind == kind
    for message in parsed.messages:
        assert isinstance(message, Message)
        assert message.path == "docs/any.md"
        assert message.severity in ("error", "warning")
        assert isinstance(message.line, int) and message.line >= 1
        assert message.text and str(message).startswith(f"docs/any.md:{message.line}: ")
    # the findings of a review or QA report are read from the same text without failing
    for raised in sdd_findings.from_report(text):
        assert raised.severity in ("blocking", "major", "minor")


@SETTINGS
@given(
    st.fixed_dictionaries(
        {
            p: st.one_of(st.text(max_size=300), MARKDOWNISH)
            for p in (SPEC_PATH, ARCH_PATH, PLAN_PATH, TEST_PLAN_PATH)
        }
    )
)
def test_arbitrary_documents_through_check_give_messages_never_an_exception(
    work: Path, texts: dict[str, str]
) -> None:
    write_docs(work, {})  # nothing else
    for relative, text in texts.items():
        target = work / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    report = sdd_check.check(ProjectPaths(str(work)))
    for message in report.messages:
        assert message.path in texts
        assert message.severity in ("error", "warning") and message.line >= 1
    # an empty or meaningless spec is never silently valid
    assert report.errors


@SETTINGS
@given(
    st.sampled_from(DOC_KINDS),
    st.one_of(st.text(max_size=300), MARKDOWNISH, doc_sets().map(lambda d: d.plan())),
)
def test_a_document_read_back_from_the_parse_cache_is_the_same_document(
    work: Path, kind: str, text: str
) -> None:
    """`parse_document` caches by content: the cached result equals a fresh parse, and a
    second file with the same content gets its own path in its messages."""
    paths = ProjectPaths(str(work))
    fresh = sdd_check.parse_document(paths, kind, "docs/one.md", text)
    cached = sdd_check.parse_document(paths, kind, "docs/one.md", text)
    assert cached == fresh
    elsewhere = sdd_check.parse_document(paths, kind, "docs/two.md", text)
    assert elsewhere.path == "docs/two.md"
    assert [(m.line, m.severity, m.text) for m in elsewhere.messages] == [
        (m.line, m.severity, m.text) for m in fresh.messages
    ]
    assert all(m.path == "docs/two.md" for m in elsewhere.messages)
    assert (elsewhere.spec, elsewhere.tasks, elsewhere.cases) == (
        fresh.spec,
        fresh.tasks,
        fresh.cases,
    )

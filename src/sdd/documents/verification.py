"""User verification as documents: what must be verified (every acceptance criterion of the
spec and every test case of the test plan), the page an agent prepares for it (how to run
the feature, and one item per criterion and case with its steps and expected result), and
the person's verdicts, which `sdd walkthrough` writes in a marked part after the agent's.

The agent's part is never rewritten: the verdicts block is appended after it and only that
block is replaced when the walk goes on, so the prepared text survives byte for byte.
"""

from __future__ import annotations

import re

from sdd.core import files
from sdd.core.structs import dataclass, field
from sdd.documents import check

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.core.paths import ProjectPaths

# An item's heading: `### US-1.2: criterion` (the second criterion of US-1) or `### TC-4: title`.
ITEM_HEADING = re.compile(r"^(US-[1-9][0-9]*\.[1-9][0-9]*|TC-[1-9][0-9]*)\b\s*[:—–-]?\s*(.*)$")
_LABEL = re.compile(
    r"^\s{0,3}(?:[-*+]\s+|[0-9]+[.)]\s+)?[*_]*(steps?|expected(?:\s+results?)?)[*_]*\s*:",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
HOW_TO_RUN = ("how to run it", "how to run")
BEGIN = "<!-- sdd:verdicts:begin"
BEGIN_LINE = (
    BEGIN + ": the person's walkthrough (`sdd walkthrough`) writes from here on; the agent's "
    "preparation above is never changed -->"
)
END = "<!-- sdd:verdicts:end -->"


@dataclass(frozen=True)
class Wanted:
    """Something the preparation must cover: a criterion (US-n.k) or a test case (TC-n)."""

    id: str
    what: str  # the criterion, or the case's kind and title


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    body: str  # as the agent wrote it: fenced code blocks and all
    line: int = 0
    steps: bool = True
    expected: bool = True

    @property
    def text(self) -> str:
        return f"{self.id}: {self.title}" if self.title else self.id


@dataclass
class Prepared:
    path: str
    how_to_run: str | None  # None: no such section
    items: list[Item] = field(default_factory=list)
    duplicates: list[Item] = field(default_factory=list)


def root_of(relative: str) -> str:
    """The documents folder of the cycle a verification page belongs to."""
    return relative.split("/verification/")[0] if "/verification/" in relative else "docs"


def wanted(paths: ProjectPaths, root: str = "docs") -> list[Wanted]:
    """Every acceptance criterion of the spec and every test case of the test plan, of
    every kind (concurrency and performance included)."""
    out: list[Wanted] = []
    spec = check.parse_file(paths, check.doc("spec", root), "spec")
    for story in spec.spec.stories if spec and spec.spec else []:
        for index, criterion in enumerate(story.criteria, start=1):
            out.append(Wanted(f"{story.id}.{index}", f"{story.id} {story.title}: {criterion}"))
    tests = check.parse_file(paths, check.doc("test-plan", root), "test-plan")
    for case in (tests.cases or []) if tests else []:
        out.append(Wanted(case.id, f"{case.kind}: {case.title}" if case.kind else case.title))
    return out


def agent_part(text: str) -> str:
    """The page without the verdicts block sdd appended (the agent's text, exactly)."""
    at = text.rfind("\n" + BEGIN)
    if at == -1 or not text.rstrip().endswith(END):
        return text
    return text[:at]


def with_verdicts(text: str, block: str) -> str:
    """The page with ``block`` as its verdicts part, after the agent's text unchanged."""
    return agent_part(text) + "\n" + BEGIN_LINE + "\n" + block.strip("\n") + "\n" + END + "\n"


def raw_sections(text: str) -> list[tuple[str, int, int, str]]:
    """(title, level, line, body as written) of every section, in order. The outline gives
    the headings (a `#` inside a fenced block is none); the body is cut from the source
    lines, so code blocks are kept."""
    from sdd.documents.markdown import Section, parse

    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    flat: list[Section] = []

    def walk(section: Section) -> None:
        for sub in section.sections:
            flat.append(sub)
            walk(sub)

    walk(parse(text))
    out = []
    for index, section in enumerate(flat):
        end = next((s.line for s in flat[index + 1 :] if s.level <= section.level), len(lines) + 1)
        body = lines[section.line : end - 1]  # its subsections too
        if body and re.fullmatch(r"\s*(=+|-+)\s*", body[0]):  # a setext heading's underline
            body = body[1:]
        out.append((section.title, section.level, section.line, "\n".join(body).strip("\n")))
    return out


def _labels(body: str) -> set[str]:
    found: set[str] = set()
    fenced = False
    for line in body.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else _LABEL.match(line)
        if match:
            found.add("steps" if match.group(1).lower().startswith("step") else "expected")
    return found


def prepared(paths: ProjectPaths, relative: str) -> Prepared | None:
    """The page an agent prepared (its own part), or None when it is not there."""
    text = files.read_text(paths.inside(relative))
    if text is None:
        return None
    return parse_prepared(relative, agent_part(text))


def parse_prepared(relative: str, text: str) -> Prepared:
    page = Prepared(relative, None)
    seen: set[str] = set()
    for title, _level, line, body in raw_sections(text):
        if title.strip().casefold() in HOW_TO_RUN and page.how_to_run is None:
            page.how_to_run = body.strip()
            continue
        match = ITEM_HEADING.match(title.strip())
        if match is None:
            continue
        labels = _labels(body)
        item = Item(
            match.group(1),
            match.group(2).strip(),
            body.strip(),
            line,
            "steps" in labels,
            "expected" in labels,
        )
        if item.id in seen:
            page.duplicates.append(item)
        else:
            seen.add(item.id)
            page.items.append(item)
    return page


def coverage(paths: ProjectPaths, relative: str) -> list[str]:
    """What the preparation in ``relative`` leaves out or leaves unclear, each named."""
    page = prepared(paths, relative)
    if page is None:
        return []  # the outputs rule says it is not written
    root = root_of(relative)
    need = wanted(paths, root)
    problems: list[str] = []
    if not any(w.id.startswith("US-") for w in need):
        problems.append(
            f"{check.doc('spec', root)}: no acceptance criteria to verify (run `sdd check spec`)"
        )
    if page.how_to_run is None:
        problems.append(
            f"{relative}: no `## How to run it` section: how to run the feature from a clean "
            "checkout, step by step"
        )
    elif not page.how_to_run:
        problems.append(f"{relative}: `## How to run it` is empty")
    have = {item.id: item for item in page.items}
    for want in need:
        if want.id not in have:
            problems.append(
                f"{relative}: no item for {want.id} ({want.what}): add `### {want.id}: …` "
                "with its steps and expected result"
            )
    known = {w.id for w in need}
    for item in page.items:
        where = f"{relative}:{item.line}"
        if item.id not in known:
            problems.append(
                f"{where}: {item.id} is neither an acceptance criterion of the spec nor a test "
                "case of the test plan"
            )
        if not item.steps:
            problems.append(f"{where}: {item.id} has no steps (`- Steps: …`)")
        if not item.expected:
            problems.append(f"{where}: {item.id} has no expected result (`- Expected: …`)")
    for item in page.duplicates:
        problems.append(f"{relative}:{item.line}: {item.id} is listed twice")
    return problems

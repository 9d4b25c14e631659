"""Document contracts: what each core document must hold, and the data read from it.

Each ``read_*`` function takes a parsed outline and returns the document's data and
the messages (``file:line: what``) for every rule it breaks.
"""

from __future__ import annotations

import re

from sdd.documents.snapshots import PLACEHOLDER
from sdd.documents.structures import Case, Message, Question, Spec, Story, Task

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from sdd.documents.markdown import Block, Section

RISKS = ("low", "medium", "high")
KINDS = ("functional", "invalid input", "edge case", "concurrency", "performance stress")
REQUIRED_KINDS = KINDS[1:]

STORY_ID = re.compile(r"^US-[1-9][0-9]*$")
TASK_ID = re.compile(r"^T[1-9][0-9]*$")
CASE_ID = re.compile(r"^TC-[1-9][0-9]*$")
QUESTION = re.compile(r"^(Q[1-9][0-9]*)\s*\((blocking|non-blocking)\)\s*:\s*(.+)$", re.S | re.I)
# A finding in a review or QA report: `F1 (blocking) where: what`, or
# `F1 (blocking; escaped from plan) where: what`.
FINDING_LINE = re.compile(  # `F1` as a report numbers it, or `F-4` as sdd does
    r"^F-?[0-9]+\s*\(\s*(blocking|major|minor)\s*(?:[;,]\s*escaped from\s+([a-z][a-z-]*)\s*)?\)\s*(.+)$",
    re.I | re.S,
)
VERDICTS = ("approve", "changes-requested")
CONFIDENCE = re.compile(r"^Confidence:\s*([0-9]{1,3}(?:\.[0-9]+)?)\s*%$", re.I)


class Reader:
    """Collects messages for one document."""

    def __init__(self, path: str, root: Section) -> None:
        self.path = path
        self.root = root
        self.messages: list[Message] = []
        top = root.sections[0] if len(root.sections) == 1 and root.sections[0].level == 1 else None
        self.body = top or root
        self.title_line = top.line if top else 1

    def error(self, line: int, text: str) -> None:
        self.messages.append(Message(self.path, line, "error", text))

    def warning(self, line: int, text: str) -> None:
        self.messages.append(Message(self.path, line, "warning", text))

    def section(self, title: str, *, required: bool = True) -> Section | None:
        found = self.body.find(title)
        if found is None and required:
            self.error(self.title_line, f"missing section `## {title}`")
        elif found is not None and required and found.is_empty():
            self.error(found.line, f"section `## {title}` is empty")
        return found


def _split_heading(title: str) -> tuple[str, str]:
    ident, _, rest = title.partition(":")
    return ident.strip(), rest.strip()


def _entries(
    reader: Reader, section: Section, ident_form: re.Pattern[str], what: str, shown: str
) -> Iterator[tuple[Section, str, str]]:
    """(subsection, id, title) of each `### ID: title` under ``section``; a heading of
    another form is an error."""
    for sub in section.sections:
        ident, title = _split_heading(sub.title)
        if ident_form.match(ident) and title:
            yield sub, ident, title
        else:
            reader.error(sub.line, f"{what} heading is `### {shown}: title`, not `{sub.title}`")


def _fields(blocks: list[Block]) -> dict[str, tuple[str, int]]:
    found: dict[str, tuple[str, int]] = {}
    for block in blocks:
        if block.kind != "item" or ":" not in block.text:
            continue
        key, _, value = block.text.partition(":")
        found.setdefault(key.strip().casefold(), (value.strip(), block.line))
    return found


def _criteria(blocks: list[Block]) -> list[Block] | None:
    """The list items after an `Acceptance criteria:` paragraph, or None without one."""
    for index, block in enumerate(blocks):
        if (
            block.kind == "para"
            and block.text.rstrip(":").strip().casefold() == "acceptance criteria"
        ):
            return [b for b in blocks[index + 1 :] if b.kind == "item"]
    return None


def _ids(value: str) -> list[str]:
    if value.strip().casefold() in ("none", "-", ""):
        return []
    return [part.strip() for part in re.split(r"[,\s]+", value) if part.strip()]


def read_spec(reader: Reader) -> Spec:
    spec = Spec()
    for title in (
        "Overview",
        "Inputs and outputs",
        "Constraints",
        "Failure behaviour",
        "Performance expectations",
    ):
        reader.section(title)
    stories = reader.section("User stories")
    if stories is not None:
        if not stories.sections:
            reader.error(
                stories.line, "no user story: add `### US-1: title` with acceptance criteria"
            )
        for sub, ident, title in _entries(reader, stories, STORY_ID, "a user story", "US-n"):
            criteria = _criteria(sub.blocks)
            if not criteria:
                reader.error(
                    sub.line,
                    f"{ident} has no acceptance criteria (`Acceptance criteria:` and a list)",
                )
            spec.stories.append(Story(ident, title, sub.line, [c.text for c in criteria or []]))
    questions = reader.section("Open questions", required=False)
    if questions is None:
        reader.error(
            reader.title_line,
            "missing section `## Open questions` (write `- none` when there are none)",
        )
    else:
        for item in questions.items():
            if item.text.strip().casefold() in ("none", "none."):
                continue
            match = QUESTION.match(item.text)
            if not match:
                reader.error(
                    item.line,
                    "a question is `- Qn (blocking|non-blocking): question` with an `Answer:` line",
                )
                continue
            body, _, answer = match.group(3).partition("Answer:")
            answer = answer.strip()
            open_answer = not answer or answer.casefold().rstrip(".") in (
                "open",
                "tbd",
                "unanswered",
            )
            spec.questions.append(
                Question(
                    match.group(1).upper(),
                    match.group(2).casefold() == "blocking",
                    " ".join(body.split()),
                    None if open_answer else answer,
                    item.line,
                )
            )
    confidence = reader.section("Confidence", required=False)
    if confidence is None:
        reader.error(reader.title_line, "missing section `## Confidence` (`Confidence: N %`)")
    else:
        found = next(
            (
                CONFIDENCE.match(b.text.strip())
                for b in confidence.blocks
                if CONFIDENCE.match(b.text.strip())
            ),
            None,
        )
        if found is None:
            reader.error(confidence.line, "the confidence is written `Confidence: N %` (0 to 100)")
        else:
            value = float(found.group(1))
            spec.confidence_line = next(
                b.line for b in confidence.blocks if CONFIDENCE.match(b.text.strip())
            )
            if value > 100:
                reader.error(spec.confidence_line, f"confidence {value:g} % is above 100 %")
            else:
                spec.confidence = value
    _duplicates(reader, [(s.id, s.line) for s in spec.stories])
    _duplicates(reader, [(q.id, q.line) for q in spec.questions])
    return spec


def read_architecture(reader: Reader) -> None:
    reader.section("Context")
    options = reader.section("Options considered")
    if options is not None:
        named = [s for s in options.sections if s.title.casefold().startswith("option")]
        if len(named) < 2:
            reader.error(
                options.line,
                f"at least two options are considered (`### Option A: name`); found {len(named)}",
            )
        for option in named:
            tradeoffs = next(
                (
                    i
                    for i, b in enumerate(option.blocks)
                    if b.kind == "para" and b.text.rstrip(":").strip().casefold() == "trade-offs"
                ),
                None,
            )
            if tradeoffs is None or not any(
                b.kind == "item" for b in option.blocks[tradeoffs + 1 :]
            ):
                reader.error(
                    option.line, f"`{option.title}` lists no trade-offs (`Trade-offs:` and a list)"
                )
    decisions = reader.section("Decisions")
    if decisions is not None:
        for item in decisions.items():
            if "why:" not in item.text.casefold():
                reader.warning(item.line, "a decision says why (`Why: …`)")
    for title in ("Components", "Data flow", "Risks"):
        reader.section(title)


def _story_refs(reader: Reader, ident: str, stories: tuple[str, int]) -> list[str]:
    """The stories a `Stories:` field (value, line) names; each that is not a story id is an error."""
    value, line = stories
    refs = _ids(value)
    for story in refs:
        if not STORY_ID.match(story):
            reader.error(line, f"{ident}: `{story}` is not a story id (US-n)")
    return refs


def read_plan(reader: Reader) -> list[Task]:
    tasks: list[Task] = []
    section = reader.section("Tasks")
    if section is None:
        return tasks
    if not section.sections:
        reader.error(section.line, "no task: add `### T1: title` with its fields")
    for sub, ident, title in _entries(reader, section, TASK_ID, "a task", "Tn"):
        fields = _fields(sub.blocks)
        task = Task(ident, title, sub.line)
        for key in ("stories", "depends on", "risk", "effort"):
            if key not in fields:
                reader.error(sub.line, f"{ident} has no `{key.capitalize()}:` field")
        if "stories" in fields:
            task.stories = _story_refs(reader, ident, fields["stories"])
            if not task.stories:
                reader.error(fields["stories"][1], f"{ident} covers no user story")
        if "depends on" in fields:
            task.depends = _ids(fields["depends on"][0])
            for dep in task.depends:
                if not TASK_ID.match(dep):
                    reader.error(
                        fields["depends on"][1], f"{ident}: `{dep}` is not a task id (Tn) or `none`"
                    )
        if "risk" in fields:
            task.risk = fields["risk"][0].casefold()
            if task.risk not in RISKS:
                reader.error(
                    fields["risk"][1],
                    f"{ident}: risk is low, medium or high, not `{fields['risk'][0]}`",
                )
        if "effort" in fields:
            task.effort = fields["effort"][0]
            if not task.effort:
                reader.error(fields["effort"][1], f"{ident} has no effort estimate")
        _scope(reader, task, fields.get("scope"))
        if "test cases" in fields:
            value, line = fields["test cases"]
            task.cases = _ids(value)
            for case in task.cases:
                if not CASE_ID.match(case):
                    reader.error(line, f"{ident}: `{case}` is not a test case id (TC-n) or `none`")
        criteria = _criteria(sub.blocks)
        if not criteria:
            reader.error(
                sub.line, f"{ident} has no acceptance criteria (`Acceptance criteria:` and a list)"
            )
        task.criteria = [c.text for c in criteria or []]
        tasks.append(task)
    _duplicates(reader, [(t.id, t.line) for t in tasks])
    return tasks


def _scope(reader: Reader, task: Task, found: tuple[str, int] | None) -> None:
    """A task's `Scope:`: the files or folders its session may change, relative paths."""
    from sdd.documents import scope

    if found is None:
        reader.warning(
            task.line,
            f"{task.id} has no `Scope:` field (the files or folders it may change): "
            f"its sessions may change {scope.DEFAULT_TEXT}",
        )
        return
    value, line = found
    entries = scope.entries(value)
    if not entries:
        reader.error(line, f"{task.id}: the scope names no file or folder")
    for entry in entries:
        why = scope.problem(entry)
        if why is not None:
            reader.error(line, f"{task.id}: scope `{entry}` {why}")
    task.scope = [e for e in entries if scope.problem(e) is None]


def read_test_plan(reader: Reader) -> list[Case]:
    cases: list[Case] = []
    section = reader.section("Test cases")
    if section is None:
        return cases
    for sub, ident, title in _entries(reader, section, CASE_ID, "a test case", "TC-n"):
        fields = _fields(sub.blocks)
        case = Case(ident, title, sub.line)
        for key in ("stories", "kind", "steps", "expected"):
            if key not in fields or not fields[key][0]:
                reader.error(sub.line, f"{ident} has no `{key.capitalize()}:` field")
        if "stories" in fields:
            case.stories = _story_refs(reader, ident, fields["stories"])
        if "kind" in fields:
            case.kind = fields["kind"][0].casefold()
            if case.kind and case.kind not in KINDS:
                reader.error(
                    fields["kind"][1],
                    f"{ident}: kind is one of {', '.join(KINDS)}, not `{fields['kind'][0]}`",
                )
        cases.append(case)
    if section is not None and not cases and not section.is_empty():
        reader.error(section.line, "no test case: add `### TC-1: title` with its fields")
    kinds = {c.kind for c in cases}
    for kind in REQUIRED_KINDS:
        if cases and kind not in kinds:
            reader.warning(section.line, f"no test case of kind `{kind}`")
    _duplicates(reader, [(c.id, c.line) for c in cases])
    return cases


def _findings(reader: Reader) -> int:
    section = reader.section("Findings", required=False)
    if section is None:
        reader.error(
            reader.title_line, "missing section `## Findings` (write `- none` when there are none)"
        )
        return 0
    count = 0
    items = section.items()
    if not items:
        reader.error(section.line, "list the findings, or `- none`")
    for item in items:
        if item.text.strip().casefold().rstrip(".") == "none":
            continue
        if FINDING_LINE.match(item.text.strip()):
            count += 1
        else:
            reader.error(item.line, "a finding is `- Fn (blocking|major|minor) where: what`")
    return count


def read_review(reader: Reader) -> None:
    verdict = reader.section("Verdict")
    found = None
    if verdict is not None:
        for block in verdict.blocks:
            key, _, value = block.text.partition(":")
            if key.strip().casefold() == "verdict":
                found = value.strip().casefold()
        if found not in VERDICTS:
            reader.error(
                verdict.line, "the verdict is `Verdict: approve` or `Verdict: changes-requested`"
            )
    for title in ("Build and checks", "Architecture consistency", "Scalability risks"):
        reader.section(title)
    count = _findings(reader)
    if found == "changes-requested" and count == 0 and verdict is not None:
        reader.error(verdict.line, "changes-requested names at least one finding")


def read_qa(reader: Reader) -> None:
    for title in ("Tried", "Broke"):
        reader.section(title)
    _findings(reader)
    reader.section("Coverage against the test plan")


RELEASE_SECTIONS = ("Security", "Performance", "Tests", "Documentation")


def read_release(reader: Reader) -> list[str]:
    """The release checklist; returns the items marked UNCERTAIN."""
    uncertain: list[str] = []
    for title in RELEASE_SECTIONS:
        section = reader.section(title)
        if section is None:
            continue
        for item in section.items():
            word, _, rest = item.text.strip().partition(" ")
            if word.upper() == "UNCERTAIN":
                uncertain.append(f"{title}: {rest.strip()}")
            elif word.upper() != "OK":
                reader.error(item.line, "a checklist item starts with OK or UNCERTAIN")
            elif "evidence:" not in rest.casefold():
                reader.error(item.line, "an OK item names its evidence (`— evidence: …`)")
    reader.section("Decision")
    return uncertain


def read_conventions(reader: Reader) -> None:
    for title in ("How to build", "How to test", "Code layout", "Conventions"):
        reader.section(title)


# The markers around the figures `sdd postmortem` writes (``sdd.usecases.postmortem``).
FIGURES_MARKERS = ("<!-- sdd:figures:begin", "<!-- sdd:figures:end -->")
POSTMORTEM_SECTIONS = (
    "What went wrong",
    "What slowed development",
    "What escaped testing",
    "Process changes",
)


def read_postmortem(reader: Reader, text: str) -> None:
    figures = reader.section("Figures", required=False)
    if figures is None:
        reader.error(reader.title_line, "missing section `## Figures` (run `sdd postmortem`)")
    elif not all(marker in text for marker in FIGURES_MARKERS):
        reader.error(figures.line, "the figures are missing: run `sdd postmortem` to write them")
    for title in POSTMORTEM_SECTIONS:
        reader.section(title)


# An item a person verifies: a story (US-n), a criterion (US-n.k) or a test case (TC-n).
VERIFY_ITEM = re.compile(r"^(?:US-[1-9][0-9]*(?:\.[1-9][0-9]*)?|TC-[1-9][0-9]*)$")
# `- PASS US-1.2: criterion — note`
VERDICT_LINE = re.compile(
    r"^(PASS|FAIL|SKIP)\s+(US-[1-9][0-9]*(?:\.[1-9][0-9]*)?|TC-[1-9][0-9]*)\b"
)


def read_verification(reader: Reader) -> None:
    """A user verification record: how to run it and the items (the agent's preparation),
    then the verdicts (the person's, once the walkthrough gave them)."""
    reader.section("How to run it")
    items = reader.section("Items", required=False)
    verdicts = reader.section("Verdicts", required=False)
    if items is None and verdicts is None:
        reader.error(
            reader.title_line,
            "missing section `## Items` (`### US-1.1: criterion` with `- Steps:` and "
            "`- Expected:`, one per criterion and test case)",
        )
    if items is not None:
        if not items.sections:
            reader.error(items.line, "no item: add `### US-1.1: criterion` with its steps")
        for sub, ident, _ in _entries(reader, items, VERIFY_ITEM, "an item", "US-n.k or TC-n"):
            fields = _fields(sub.blocks)
            for key in ("steps", "expected"):  # a value may be a code block below it
                if key not in fields:
                    reader.error(sub.line, f"{ident} has no `{key.capitalize()}:` field")
    if verdicts is None:
        return  # not walked yet: the person's verdicts come with `sdd walkthrough`
    listed = verdicts.items()
    if not listed:
        reader.error(verdicts.line, "list one verdict per item (`- PASS US-1.1: criterion`)")
    for item in listed:
        text = item.text.strip()
        if PLACEHOLDER in text:
            continue  # a verdict still to give: the placeholder's own message says so
        match = VERDICT_LINE.match(text)
        if match is None:
            reader.error(
                item.line,
                "a verdict is `- PASS|FAIL|SKIP ID: what — note`, ID a story (US-n), "
                "a criterion (US-n.k) or a test case (TC-n)",
            )
        elif match.group(1) != "PASS" and not re.search(r"\s[—–-]\s*\S", text[match.end() :]):
            reader.error(
                item.line,
                f"a {match.group(1)} verdict says why after ` — ` (what you did and saw, "
                "or why it was skipped)",
            )


def _duplicates(reader: Reader, entries: list[tuple[str, int]]) -> None:
    seen: dict[str, int] = {}
    for ident, line in entries:
        if ident in seen:
            reader.error(line, f"duplicate id {ident} (first at line {seen[ident]})")
        else:
            seen[ident] = line


def placeholder_messages(path: str, text: str) -> list[Message]:
    return [
        Message(path, n, "error", f"placeholder left: `{PLACEHOLDER} …]`")
        for n, line in enumerate(text.splitlines(), start=1)
        if PLACEHOLDER in line
    ]

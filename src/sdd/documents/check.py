"""`sdd check`: every document against its contract, and the documents against each other.

Parsed documents are cached by content hash (``.sdd/cache/parsed/``), so commands that
only need a document's data (tasks, questions, confidence) do not load the Markdown
parser again while the document is unchanged.
"""

from __future__ import annotations

import contextlib
import marshal
import os

from sdd import __version__
from sdd.core import files
from sdd.core.errors import UsageError
from sdd.core.paths import ProjectPaths, package_data
from sdd.core.structs import dataclass, field
from sdd.documents import snapshots
from sdd.documents.structures import Case, Message, Question, Spec, Story, Task

TYPE_CHECKING = False
if TYPE_CHECKING:  # importing typing costs ~5 ms of `sdd check`'s start-up
    from typing import Any, ClassVar

    from sdd.core.state import Cycle

DOCS = {
    "spec": "docs/product-spec.md",
    "architecture": "docs/architecture.md",
    "plan": "docs/implementation-plan.md",
    "test-plan": "docs/test-plan.md",
    "conventions": "docs/conventions.md",
}
CORE = ("spec", "architecture", "plan", "test-plan")
PARSER = "pulldown-cmark"  # in the parse cache's key: results of another parser are not reused


def doc(kind: str, root: str = "docs") -> str:
    """Where a cycle keeps a core document: docs/ (living layout) or its own folder."""
    return root + DOCS[kind][len("docs") :]


def kind_of(relative: str) -> str | None:
    if "/reviews/" in f"/{relative}":
        return "review"
    if "/test-reports/" in f"/{relative}":
        return "qa"
    if "/releases/" in f"/{relative}":
        return "release"
    if "/post-mortems/" in f"/{relative}":
        return "postmortem"
    if "/verification/" in f"/{relative}":
        return "verification"
    name = relative.rsplit("/", 1)[-1]
    return next((k for k, p in DOCS.items() if p.rsplit("/", 1)[-1] == name), None)


@dataclass
class Parsed:
    """What one document says, and what is wrong with it on its own."""

    kind: str
    path: str
    pristine: bool = False  # still the packaged template
    messages: list[Message] = field(default_factory=list)
    spec: Spec | None = None
    tasks: list[Task] | None = None
    cases: list[Case] | None = None
    uncertain: list[str] | None = None  # a release checklist's UNCERTAIN items


def _parse_text(kind: str, path: str, text: str) -> Parsed:
    from sdd.documents.markdown import parse

    parsed = Parsed(kind, path)
    template = (
        files.read_text(package_data("docs", DOCS[kind].rsplit("/", 1)[-1]))
        if kind in DOCS
        else None
    )
    if template is not None and text.replace("\r\n", "\n") == template.replace("\r\n", "\n"):
        parsed.pristine = True
        parsed.messages.append(Message(path, 1, "error", "not written yet (still the template)"))
        return parsed
    from sdd.documents.contracts import (
        Reader,
        placeholder_messages,
        read_architecture,
        read_conventions,
        read_plan,
        read_postmortem,
        read_qa,
        read_release,
        read_review,
        read_spec,
        read_test_plan,
        read_verification,
    )

    reader = Reader(path, parse(text))
    if kind == "spec":
        parsed.spec = read_spec(reader)
    elif kind == "architecture":
        read_architecture(reader)
    elif kind == "plan":
        parsed.tasks = read_plan(reader)
    elif kind == "test-plan":
        parsed.cases = read_test_plan(reader)
    elif kind == "review":
        read_review(reader)
    elif kind == "qa":
        read_qa(reader)
    elif kind == "release":
        parsed.uncertain = read_release(reader)
    elif kind == "postmortem":
        read_postmortem(reader, text)
    elif kind == "verification":
        read_verification(reader)
    else:
        read_conventions(reader)
    parsed.messages = placeholder_messages(path, text) + reader.messages
    return parsed


def _freeze(parsed: Parsed) -> dict[str, Any]:
    """Plain data for marshal (by hand: `dataclasses.asdict` deep-copies, ~50 ms on a big plan)."""
    spec = parsed.spec
    return {
        "kind": parsed.kind,
        "path": parsed.path,
        "pristine": parsed.pristine,
        "messages": [vars(m) for m in parsed.messages],
        "spec": None
        if spec is None
        else {
            "stories": [vars(s) for s in spec.stories],
            "questions": [vars(q) for q in spec.questions],
            "confidence": spec.confidence,
            "confidence_line": spec.confidence_line,
        },
        "tasks": None if parsed.tasks is None else [vars(t) for t in parsed.tasks],
        "cases": None if parsed.cases is None else [vars(c) for c in parsed.cases],
        "uncertain": parsed.uncertain,
    }


def _thaw(data: dict[str, Any]) -> Parsed:
    parsed = Parsed(data["kind"], data["path"], data["pristine"])
    parsed.messages = [Message(**m) for m in data["messages"]]
    if data["spec"] is not None:
        spec = data["spec"]
        parsed.spec = Spec(
            [Story(**s) for s in spec["stories"]],
            [Question(**q) for q in spec["questions"]],
            spec["confidence"],
            spec["confidence_line"],
        )
    if data["tasks"] is not None:
        parsed.tasks = [Task(**t) for t in data["tasks"]]
    if data["cases"] is not None:
        parsed.cases = [Case(**c) for c in data["cases"]]
    parsed.uncertain = data.get("uncertain")
    return parsed


def parse_document(
    paths: ProjectPaths, kind: str, path: str, text: str, digest: str | None = None
) -> Parsed:
    """Parse (or read back from the cache) one document's text."""
    if digest is None or not snapshots.is_digest(digest):
        digest = files.hash_bytes(text.encode("utf-8", "surrogatepass"))
    cached = os.path.join(
        paths.cache_dir, "parsed", f"{__version__}-{PARSER}-{kind}-{digest}.marshal"
    )
    try:
        with open(cached, "rb") as handle:
            parsed = _thaw(marshal.load(handle))
        # The same content may live at another path (two identical reports): say this one.
        parsed.path = path
        parsed.messages = [Message(path, m.line, m.severity, m.text) for m in parsed.messages]
        return parsed
    except (OSError, EOFError, ValueError, TypeError, KeyError):
        pass
    parsed = _parse_text(kind, path, text)
    with contextlib.suppress(Exception):  # a cache: failing to write it is harmless
        files.write_atomic(cached, marshal.dumps(_freeze(parsed)))
    return parsed


def parse_file(paths: ProjectPaths, relative: str, kind: str | None = None) -> Parsed | None:
    kind = kind or kind_of(relative)
    if kind is None:
        raise UsageError(f"{relative}: not a document with a contract ({', '.join(DOCS.values())})")
    text = files.read_text(paths.inside(relative))
    if text is None:
        return None
    return parse_document(paths, kind, relative, text)


def parse_snapshot(paths: ProjectPaths, kind: str, relative: str, digest: str) -> Parsed | None:
    """A document as a gate approved it (its snapshot), parsed."""
    text = snapshots.snapshot_text(paths, digest)
    return None if text is None else parse_document(paths, kind, relative, text, digest)


@dataclass(frozen=True)
class NotDue:
    """A document `sdd check` left out: a later stage writes it (or no stage does)."""

    path: str
    stage: str | None  # the stage that writes it; None: no stage of the workflow


@dataclass
class Report:
    """What `sdd check` checked and found."""

    checked: list[str]
    messages: list[Message]
    strict: bool = False  # warnings fail the check too
    due_at: str | None = None  # the stage whose due documents were checked (no names given)
    not_due: list[NotDue] = field(default_factory=list)  # left out, not errors
    traced_code: bool = False  # `--code`: the done tasks' test cases traced into the tests

    JSON_EXTRA: ClassVar[tuple[str, ...]] = ("errors", "warnings", "ok", "messages_text")

    @property
    def errors(self) -> int:
        return sum(1 for m in self.messages if m.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for m in self.messages if m.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors and not (self.strict and self.warnings)

    @property
    def messages_text(self) -> list[str]:
        """Each message as `sdd check` prints it (`path:line: text`)."""
        return [str(m) for m in self.messages]


def resolve(names: list[str] | None, root: str = "docs") -> list[tuple[str, str]]:
    """(kind, path) of the documents named on the command line, or of the core documents."""
    if not names:
        return [(k, doc(k, root)) for k in CORE]
    chosen = []
    for name in names:
        if name in DOCS:
            chosen.append((name, doc(name, root)))
            continue
        relative = name.replace(os.sep, "/").removeprefix("./")
        kind = kind_of(relative)
        if kind is None:
            raise UsageError(
                f"{name}: not a document with a contract",
                hint=f"one of: {', '.join(DOCS)} or their paths",
            )
        chosen.append((kind, relative))
    return chosen


def check(paths: ProjectPaths, names: list[str] | None = None, root: str = "docs") -> Report:
    return check_documents(paths, resolve(names, root), root)


def check_documents(
    paths: ProjectPaths,
    chosen: list[tuple[str, str]],
    root: str = "docs",
    *,
    traced: set[str] | None = None,
) -> Report:
    """``chosen`` (kind, path) against their contracts and each other; the traces reach the
    other core documents of ``traced`` kinds only (None: all of them)."""
    parsed: dict[str, Parsed] = {}
    messages: list[Message] = []
    for kind, relative in chosen:
        result = parse_file(paths, relative, kind)
        if result is None:
            messages.append(Message(relative, 1, "error", "missing"))
            continue
        parsed[kind] = result
        messages += result.messages
    # Cross-document rules need the other documents too, even when only one was named.
    for kind in ("spec", "plan", "test-plan"):
        if kind not in parsed and (traced is None or kind in traced):
            other = parse_file(paths, doc(kind, root), kind)
            if other is not None:
                parsed[kind] = other
    messages += cross_check(parsed, {k for k, _ in chosen})
    return Report([p for _, p in chosen], _unique(messages))


def _unique(messages: list[Message]) -> list[Message]:
    seen: set[Message] = set()
    kept = []
    for message in messages:
        if message not in seen:
            seen.add(message)
            kept.append(message)
    return kept


def cross_check(parsed: dict[str, Parsed], reported: set[str]) -> list[Message]:
    """Traceability: stories ↔ tasks ↔ test cases; dependencies exist and form no cycle."""
    from sdd.documents.contracts import CASE_ID, STORY_ID, TASK_ID

    spec = parsed.get("spec")
    plan = parsed.get("plan")
    tests = parsed.get("test-plan")
    stories = {s.id: s for s in spec.spec.stories} if spec and spec.spec else None
    tasks = plan.tasks if plan and plan.tasks is not None else None
    cases = tests.cases if tests and tests.cases is not None else None
    out: list[Message] = []
    if stories is not None and spec is not None:
        planned = {ref for t in tasks for ref in t.stories} if tasks is not None else set()
        tested = {ref for c in cases for ref in c.stories} if cases is not None else set()
        for story in stories.values():
            if tasks is not None and reported & {"spec", "plan"} and story.id not in planned:
                out.append(
                    Message(
                        spec.path,
                        story.line,
                        "error",
                        f"{story.id} is covered by no task in {plan.path if plan else DOCS['plan']}",
                    )
                )
            if cases is not None and reported & {"spec", "test-plan"} and story.id not in tested:
                out.append(
                    Message(
                        spec.path,
                        story.line,
                        "error",
                        f"{story.id} is covered by no test case in {tests.path if tests else DOCS['test-plan']}",
                    )
                )
    if tasks is not None and plan is not None and "plan" in reported:
        ids = {t.id for t in tasks}
        for task in tasks:
            for ref in task.stories:
                # A malformed id is the contract's message; here only real ids that are missing.
                if stories is not None and ref not in stories and STORY_ID.match(ref):
                    out.append(
                        Message(
                            plan.path,
                            task.line,
                            "error",
                            f"{task.id} covers {ref}, which the spec does not define",
                        )
                    )
            for dep in task.depends:
                if dep not in ids and TASK_ID.match(dep):
                    out.append(
                        Message(
                            plan.path,
                            task.line,
                            "error",
                            f"{task.id} depends on {dep}, which is not a task",
                        )
                    )
                elif dep == task.id:
                    out.append(
                        Message(plan.path, task.line, "error", f"{task.id} depends on itself")
                    )
        if cases is not None:
            known = {c.id for c in cases}
            for task in tasks:
                for ref in task.cases or []:
                    if ref not in known and CASE_ID.match(ref):
                        out.append(
                            Message(
                                plan.path,
                                task.line,
                                "error",
                                f"{task.id} names test case {ref}, which "
                                f"{tests.path if tests else DOCS['test-plan']} does not define",
                            )
                        )
        cycle = find_cycle(tasks)
        if cycle:
            first = next(t for t in tasks if t.id == cycle[0])
            out.append(
                Message(plan.path, first.line, "error", "dependency cycle: " + " → ".join(cycle))
            )
    if cases is not None and tests is not None and "test-plan" in reported and stories is not None:
        for case in cases:
            for ref in case.stories:
                if ref not in stories and STORY_ID.match(ref):
                    out.append(
                        Message(
                            tests.path,
                            case.line,
                            "error",
                            f"{case.id} covers {ref}, which the spec does not define",
                        )
                    )
    return out


def task_cases(task: Task, cases: list[Case]) -> list[Case]:
    """The test cases a task answers for: those its `Test cases:` names, or, in a plan without
    the field, those that trace to its stories."""
    if task.cases is not None:
        return [c for c in cases if c.id in task.cases]
    return [c for c in cases if set(c.stories) & set(task.stories)]


def approved_tasks(paths: ProjectPaths, cycle: Cycle) -> list[Task] | None:
    """The tasks of the plan as its latest approval saw it (None before any)."""
    for decision in reversed(cycle.decisions):
        if decision.kind != "approve":
            continue
        for path, digest in decision.docs.items():
            if path.endswith("implementation-plan.md") and digest:
                parsed = parse_snapshot(paths, "plan", path, digest)
                return parsed.tasks if parsed else None
    return None


def find_cycle(tasks: list[Task]) -> list[str]:
    """One dependency cycle as a path (first task repeated at the end), or []."""
    ids = {t.id for t in tasks}
    graph = {t.id: [d for d in t.depends if d != t.id and d in ids] for t in tasks}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for start in graph:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = []
        while stack:
            node, index = stack.pop()
            if index == 0:
                state[node] = 1
                path.append(node)
            successors = graph[node]
            if index < len(successors):
                stack.append((node, index + 1))
                nxt = successors[index]
                if state.get(nxt) == 1:
                    return [*path[path.index(nxt) :], nxt]
                if not state.get(nxt):
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                path.pop()
    return []


def stage_messages(
    paths: ProjectPaths, stage_writes: list[str], *, traceability: bool
) -> list[Message]:
    """Contract errors of a session's outputs (documents with placeholders are left to the
    outputs rule, which already reports them)."""
    root = next((w.rsplit("/", 1)[0] for w in stage_writes if kind_of(w) in CORE), "docs")
    parsed: dict[str, Parsed] = {}
    out: list[Message] = []
    for relative in stage_writes:
        kind = kind_of(relative)
        if kind is None:
            continue
        result = parse_file(paths, relative, kind)
        if result is None or any(PLACEHOLDER_TEXT in m.text for m in result.messages):
            continue
        parsed[kind] = result
        out += [m for m in result.messages if m.severity == "error"]
    if traceability and parsed:
        for kind in ("spec", "plan", "test-plan"):
            if kind not in parsed:
                other = parse_file(paths, doc(kind, root), kind)
                if other is not None:
                    parsed[kind] = other
        out += [m for m in cross_check(parsed, set(parsed)) if m.severity == "error"]
    return _unique(out)


PLACEHOLDER_TEXT = "placeholder left"

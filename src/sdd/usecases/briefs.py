"""The brief for a fresh session: everything it needs, and nothing it does not.

Instructions stay within ``INSTRUCTION_BUDGET`` bytes; the inputs (the documents to
read, the tracker summary, the previous handoff, a rejection's reason) come on top.
"""

from __future__ import annotations

from sdd.core import files
from sdd.core.state import Cycle, cycle_path
from sdd.core.structs import dataclass
from sdd.documents import pages
from sdd.workflow import tracker
from sdd.workflow.model import RULES, Stage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.core.paths import ProjectPaths
    from sdd.documents.structures import Task
    from sdd.documents.templates import StageTemplate
    from sdd.workflow.gates import Position

INSTRUCTION_BUDGET = 6 * 1024
HANDOFF_LIMIT = 4000


@dataclass
class Brief:
    """A session's brief: its text and the size of its instructions."""

    stage: str
    text: str
    instructions_bytes: int  # the part the budget limits


def planned_writes(stage: Stage, cycle: Cycle) -> list[str]:
    n = 1 + sum(1 for s in cycle.sessions if s.stage == stage.name)
    return [
        cycle_path(cycle, w.replace("{cycle}", cycle.slug).replace("{n}", str(n)))
        for w in stage.writes
    ]


def compose(
    paths: ProjectPaths,
    position: Position,
    stage: Stage,
    template: StageTemplate,
    *,
    session_id: str,
    page: str,
    writes: list[str],
    task_context: str = "",
    lessons: list[str] | None = None,
    finding: str | None = None,
) -> Brief:
    cycle = position.cycle
    template = for_finding(template, finding)
    head = [
        f"# Brief: {stage.name} · session {session_id} · cycle {cycle.number}: {cycle.title}",
        "",
        f"Your role: {template.role}. Your goal: {template.goal}.",
        "This is a fresh session. Reason only from this brief and the project's documents: "
        "nothing from earlier conversations carries over.",
        "",
        "## Your outputs, and what makes this session complete",
    ]
    if writes:
        head += [f"- `{w}`" for w in writes]
    elif "committed" in stage.rules:
        head.append(
            f"- the fix of {finding} and its test, committed"
            if finding
            else "- the task's code and tests, committed"
        )
    head += [f"- {RULES[r]}" for r in stage.rules]
    head += ["", "## Checklist (answer every item in your handoff)"]
    head += [f"- {item}" for item in template.checklist]
    head += ["", "## How to work", "", _demote(template.body.strip()), "", "## Rules"]
    rules = [
        "- Stay in this stage. Do not start the next one: a fresh session will.",
        "- Gates are a person's decision. Never run `sdd approve` or `sdd reject`, never edit `.sdd/`.",
    ]
    if stage.thinking:
        rules.append("- Think, do not build: change files under `docs/` only, write no code.")
    rules += [
        # Not the heading itself: the page quotes this brief, and an agent looking for the
        # heading's text must find the Handoff, not this line.
        f"- Handoff: in `{page}`, in the Handoff section at its end (below the brief; sdd never "
        "rewrites it), tick each checklist item `- [x]` or leave it `- [ ]` with `reason: why`, "
        "and replace the notes with what the next session must know.",
        "- Replace every `[FILL: …]` placeholder in your outputs; a document that still holds one is "
        "not written.",
        "- Finish with `sdd done`. If it lists what is missing, fix that and run it again.",
    ]
    if stage.actor == "person":
        rules.append(
            "- You prepare; the verdicts are the person's. Pre-fill none: after this session the "
            "person walks your page item by item with `sdd walkthrough`."
        )
    instructions = "\n".join(head + rules)
    inputs = _request(paths, position, stage)
    if task_context:
        inputs += ["", task_context]
    inputs += ["", "## Read first"]
    written_by_a_stage = {
        cycle_path(cycle, w)
        for name in position.names
        for w in position.workflow.stage(name).writes
    }
    for read in template.reads:
        relative = cycle_path(cycle, read)
        exists = files.read_text(paths.inside(relative)) is not None
        if not exists and relative not in written_by_a_stage:
            continue  # no stage of this cycle writes it (conventions.md without a discovery)
        inputs.append(f"- `{relative}`" + ("" if exists else " (not written yet)"))
    inputs += ["", "## Where the cycle stands", "", _summary(position), ""]
    inputs += _answers(cycle, stage.name, session_id)
    reopen = cycle.reopens.get(stage.name)
    if reopen and not position.done[stage.name] and reopen.reason:
        inputs += [
            f"## Why {stage.name} is open again ({reopen.source})",
            "",
            reopen.reason.strip(),
            "",
        ]
    if lessons:
        inputs += [f"## Lessons for {stage.name} from earlier post-mortems", ""]
        inputs += [f"- {lesson}" for lesson in lessons] + [""]
    previous = _previous_handoff(paths, cycle)
    if previous:
        inputs += previous
    text = instructions + "\n" + "\n".join(inputs)
    return Brief(stage.name, text.rstrip() + "\n", len(instructions.encode()))


REQUEST_LIMIT = 6000  # characters of the request a brief carries; the document holds it all


def _quoted(text: str) -> list[str]:
    """The person's words as a quotation: no line of them can read as a heading of the brief."""
    return [f"> {line}" if line.strip() else ">" for line in text.split("\n")]


def _request(paths: ProjectPaths, position: Position, stage: Stage) -> list[str]:
    """The person's request the cycle starts from; without one, the spec asks for it first."""
    from sdd.usecases.cycles import request_path

    cycle, names = position.cycle, position.names
    document = cycle.request_doc or request_path(cycle.docs, cycle.slug)
    text, source = cycle.request, f"recorded when cycle {cycle.number} opened"
    if not text:
        written = files.read_text(paths.inside(document)) or ""
        text = written.split("-->", 1)[1].strip() if "-->" in written else written.strip()
        source = f"written into `{document}` during the cycle"
    if not text:
        if stage.name != "spec" and not any("product-spec" in w for w in stage.writes):
            if (
                "spec" in names
                and stage.name in names
                and names.index(stage.name) > names.index("spec")
            ):
                return ["", "## The request", "", "None was recorded: the spec is what was agreed."]
            return []
        return [
            "",
            "## The request",
            "",
            "No request was recorded for this cycle. Before anything else, ask the person what "
            "they want built or changed, and why, and wait for the answer. Write their words, as "
            f"they gave them, into `{document}`; then work from them.",
        ]
    shown = text
    if len(shown) > REQUEST_LIMIT:
        shown = shown[:REQUEST_LIMIT] + f"\n… (cut; the whole request is in {document})"
    return [
        "",
        f"## The request (the person's words, {source})",
        "",
        *_quoted(shown),
        "",
        f"It is kept in `{document}`.",
    ]


def _answers(cycle: Cycle, stage: str, session_id: str) -> list[str]:
    """The answers a person gave since the last session of ``stage`` started (all of them
    before its first): the session works them in."""
    earlier = [s for s in cycle.sessions if s.stage == stage and s.id != session_id]
    since = earlier[-1].record if earlier else ""
    given = [a for a in cycle.answers if a.record > since]
    if not given:
        return []
    after = f"{earlier[-1].id} started" if earlier else f"cycle {cycle.number} opened"
    lines = [f"## Answers the person gave since {after} (work them in)", ""]
    lines += [f"- {a.question}: {' '.join(a.text.split())}" for a in given]
    return [*lines, ""]


# The packaged implement template's task wording, as a fix session reads it.
_FIX_WORDING = {
    "The task's entry in docs/implementation-plan.md is your scope. If the brief names open "
    "findings to fix, those are the task.": "The finding this brief names is your scope: the "
    "place it names and what it says is wrong. The plan's tasks are not: each had its own session.",
    "Read the task, its criteria, the stories it covers and the test cases traced to them.": (
        "Read the finding, its place, and the stories and test cases it touches."
    ),
    "Work only on the task the brief names and meet each of its acceptance criteria": (
        "Work only on the finding the brief names and fix what it says is wrong"
    ),
    "Add or update tests for its criteria and for the test-plan cases that touch it": (
        "Write a test that reproduces the finding and fails before the fix"
    ),
    "Add nothing the task does not ask for": "Add nothing the fix does not need",
    "the task id": "the finding id",
}


def _fix_words(text: str, finding: str) -> str:
    import re

    for old, new in _FIX_WORDING.items():
        text = text.replace(old, new)
    text = re.sub(r"`T[0-9]+: ([^`]*)`", lambda m: f"`{finding}: {m.group(1)}`", text)
    # A project's own wording of the task's scope: not this session's.
    return re.sub(r"[^.\n]*\bThe task's entry\b[^.\n]*\.\s?", "", text)


def for_finding(template: StageTemplate, finding: str | None) -> StageTemplate:
    """The stage's template as a fix session of ``finding`` reads it: what it says of the
    task said of the finding (its page's checklist and `sdd done` read the same)."""
    if not finding:
        return template
    from sdd.core import structs

    return structs.replace(
        template,
        goal=f"Fix {finding}, with a test that reproduces it, committed",
        checklist=tuple(_fix_words(item, finding) for item in template.checklist),
        body=_fix_words(template.body, finding),
    )


def task_section(
    paths: ProjectPaths, task: Task, tasks: list[Task], status: dict[str, str], root: str = "docs"
) -> str:
    """The one task an implement session works on, with only the context it needs."""
    from sdd.documents import check

    lines = [
        f"## Your task: {task.id}: {task.title}",
        "",
        f"Risk {task.risk}, effort {task.effort}. Depends on: "
        + (", ".join(f"{d} ({status.get(d, '?')})" for d in task.depends) or "none")
        + ". Work on this task only; the other tasks get their own sessions.",
        "",
        "Acceptance criteria:",
    ]
    lines += [f"- {c}" for c in task.criteria]
    spec = check.parse_file(paths, check.doc("spec", root), "spec")
    stories = {s.id: s for s in spec.spec.stories} if spec and spec.spec else {}
    for ref in task.stories:
        story = stories.get(ref)
        if story is not None:
            lines += ["", f"Story {story.id}: {story.title}"] + [f"- {c}" for c in story.criteria]
    from sdd.documents import scope

    tests = check.parse_file(paths, check.doc("test-plan", root), "test-plan")
    cases = check.task_cases(task, tests.cases or []) if tests else []
    if cases:
        whose = "of this task" if task.cases is not None else "that trace to these stories"
        lines += ["", f"Test cases {whose} ({check.doc('test-plan', root)}):"]
        lines += [f"- {c.id} ({c.kind}): {c.title}" for c in cases]
        lines.append(
            "Name each case's id (`TC-n`) in the test that checks it: its name, docstring or a "
            "comment (`sdd check --code` looks for them)."
        )
    lines += [
        "",
        f"Your scope: {scope.describe(task.scope or None)}. Commit your work there; for each file "
        f"you change outside it, give why in your handoff under `{pages.OUTSIDE}` "
        "(`- path: why`).",
    ]
    return "\n".join(lines)


def _demote(body: str) -> str:
    """Nest the template's headings under the brief's own."""
    out = []
    fenced = False
    for line in body.splitlines():
        if line.startswith(("```", "~~~")):
            fenced = not fenced
        out.append("#" + line if line.startswith("#") and not fenced else line)
    return "\n".join(out)


def _summary(position: Position) -> str:
    parts = []
    for name in position.names:
        parts.append(f"{name} {tracker.mark(tracker.stage_status(position, position.cycle, name))}")
        after = position.workflow.gate_after(name)
        gate = position.gate_view(after.name) if after else None
        if gate:
            parts.append(f"[{gate.gate.name}: {gate.state}]")
    return " → ".join(parts)


def _previous_handoff(paths: ProjectPaths, cycle: Cycle) -> list[str]:
    session = next((s for s in reversed(cycle.sessions) if s.outcome == "complete"), None)
    if session is None:
        return []
    text = files.read_text(paths.inside(session.page)) if session.page else None
    notes = pages.notes_of(pages.handoff_of(text)) if text else ""
    if not notes:
        notes = session.note or ""
    if not notes:
        return []
    if len(notes) > HANDOFF_LIMIT:
        notes = notes[:HANDOFF_LIMIT] + f"\n… (cut; the whole handoff is in {session.page})"
    return [f"## Previous handoff ({session.id}, {session.stage})", "", notes, ""]

"""The person's walkthrough of a prepared user verification (`sdd walkthrough`).

An agent session prepares the stage: how to run the feature, and one item per acceptance
criterion and test case with its steps and expected result. The person then walks it here:
each item shown as the agent wrote it, a verdict for each (pass, or fail or skip with a
note), and problems no item covers. Every answer is recorded as it is given, so a walk that
stops resumes where it stopped. The verdicts are written after the agent's part of the page,
which is never changed. The walk ends with a person's act (signed in a signed project, so it
covers every verdict before it): failures and problems become findings, and the gate after
the stage is then decided as a step of its own (`sdd approve`), never from here.
"""

from __future__ import annotations

from collections.abc import Callable

from sdd.agents import person
from sdd.core import files
from sdd.core.errors import Refused, UsageError
from sdd.core.jsonable import OMIT
from sdd.core.structs import dataclass, field
from sdd.documents import verification
from sdd.documents.verification import Item
from sdd.system import gitrepo
from sdd.usecases import acts, findings
from sdd.workflow import conditions
from sdd.workflow.model import WALK_DUE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.core.state import Cycle, ProjectState
    from sdd.project.project import Project, Transaction

VERDICTS = ("pass", "fail", "skip")
DEMO_WHO = {"kind": "demo", "name": "sdd demo approver"}


@dataclass(frozen=True)
class Answer:
    """What the person said: a verdict (pass, fail, skip) with its note, a problem no item
    covers (with its severity), ``done`` (no more problems) or ``quit`` (stop for now)."""

    kind: str
    note: str = ""
    severity: str = "blocking"


# Asks about one item (the item, its number, how many): the answer.
Ask = Callable[[Item, int, int], Answer]
# Asks, once every item is decided, for a problem no item covers (how many so far).
AskMore = Callable[[int], Answer]


@dataclass
class Walk:
    session: str  # the session that prepared what is walked
    cycle: int
    stage: str
    gate: str
    document: str  # the prepared page; the verdicts go after the agent's part of it
    items: list[Item]
    how_to_run: str
    verdicts: dict[str, tuple[str, str]] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (severity, text)
    finished: bool = False
    stopped: bool = False  # quit for now: resume with `sdd walkthrough`
    findings: list[str] = field(default_factory=list)
    next: dict[str, object] = field(default_factory=dict)
    by: dict[str, str] = field(default_factory=dict, metadata=OMIT)
    demo: bool = field(default=False, metadata=OMIT)
    tty: bool = field(default=False, metadata=OMIT)

    @property
    def decided(self) -> int:
        return sum(1 for i in self.items if i.id in self.verdicts)

    def next_item(self) -> Item | None:
        return next((i for i in self.items if i.id not in self.verdicts), None)

    def count(self, verdict: str) -> int:
        return sum(1 for i in self.items if self.verdicts.get(i.id, ("",))[0] == verdict)


def begin(
    project: Project, *, stdin_is_tty: bool, cycle: str | None = None, demo: bool = False
) -> Walk:
    """The walk that is due now (a new one, or the one that stopped), or why there is none."""
    state = project.load()
    chosen = project.cycle(state, cycle)
    if chosen is None:
        raise Refused("there is no cycle yet", hint='open one: sdd new "TITLE"')
    if demo:
        if not state.demo:
            raise Refused("the demo approver walks only in a project made by `sdd demo`")
        who = dict(DEMO_WHO)
    else:
        person.require_person(
            "walking the user verification",
            stdin_is_tty=stdin_is_tty,
            paths=project.paths,
            signed=state.signed,
        )
        who = gitrepo.identity(project.paths.root)
    open_session = chosen.open_session()
    if open_session is not None:
        raise Refused(
            f"session {open_session.id} ({open_session.stage}) is open; the walkthrough comes "
            "after its preparation is done",
            hint="finish it with `sdd done` (or `sdd abandon`)",
        )
    position = project.position(state, chosen)
    view = next(
        (
            v
            for v in position.gates
            if position.walked(v.gate) and any(u.startswith(WALK_DUE) for u in v.unmet)
        ),
        None,
    )
    if view is None:
        raise Refused(_why_none(project, state, chosen), hint=_hint(project, state, chosen))
    session = conditions.prepared_session(chosen, view.gate.after)
    assert session is not None  # the condition names it
    items = conditions.walk_items(project.paths, session)
    pages = [verification.prepared(project.paths, r) for r in session.writes]
    document = next((p.path for p in pages if p is not None), session.writes[0])
    how = next((p.how_to_run for p in pages if p is not None and p.how_to_run), None)
    if not items:
        raise Refused(
            f"{document} holds no item to walk (`### US-1.1: …`, `### TC-1: …`)",
            hint=f"prepare it again in a fresh session: sdd start {view.gate.after}",
        )
    given = state.verdicts.get(session.id, {})
    return Walk(
        session.id,
        chosen.number,
        view.gate.after,
        view.gate.name,
        document,
        items,
        how or _readme_usage(project),
        {i.id: given[i.id] for i in items if i.id in given},
        list(state.walk_problems.get(session.id, [])),
        by=who,
        demo=demo,
        tty=stdin_is_tty,
    )


def _why_none(project: Project, state: ProjectState, cycle: Cycle) -> str:
    position = project.position(state, cycle)
    for view in position.gates:
        if not position.walked(view.gate):
            continue
        session = conditions.prepared_session(cycle, view.gate.after)
        if view.state == "not-yet" and not position.done.get(view.gate.after, False):
            if session is not None and session.id in state.walks_ended:
                return f"the walk of {session.id} is over; {view.gate.after} is not due again yet"
            return f"{view.gate.after} is not prepared yet: an agent session prepares it first"
        if session is not None and session.id in state.walks_ended:
            return f"the walk of {session.id} ({view.gate.after}) is over: {view.gate.name} is {view.state}"
    return "there is no prepared user verification to walk in this cycle"


def _hint(project: Project, state: ProjectState, cycle: Cycle) -> str:
    return f"next: {project.next_for(state, cycle)['command']}"


def _readme_usage(project: Project) -> str:
    """The README's usage section as written, when the page says nothing of how to run it."""
    import os

    text = files.read_text(os.path.join(project.paths.root, "README.md")) or ""
    for title, _level, _line, body in verification.raw_sections(text):
        if title.casefold() in ("usage", "how to run", "how to run it", "getting started"):
            return f"(from README.md, “{title}”)\n{body.strip()}"
    return "The page does not say how to run it, and README.md has no usage section."


def walk(project: Project, current: Walk, ask: Ask, more: AskMore) -> Walk:
    """Ask about every undecided item, then for problems no item covers; each answer is
    recorded as it is given. Returns stopped when the person quits, finished at the end."""
    total = len(current.items)
    while (item := current.next_item()) is not None:
        answer = ask(item, current.items.index(item) + 1, total)
        if answer.kind == "quit":
            current.stopped = True
            return current
        if answer.kind == "problem":
            problem(project, current, answer.note, answer.severity)
            continue
        verdict(project, current, item, answer.kind, answer.note)
    while True:
        answer = more(len(current.problems))
        if answer.kind == "quit":
            current.stopped = True
            return current
        if answer.kind != "problem":
            break
        problem(project, current, answer.note, answer.severity)
    return finish(project, current)


def verdict(project: Project, current: Walk, item: Item, given: str, note: str) -> None:
    if given not in VERDICTS:
        raise UsageError(f"a verdict is pass, fail or skip, not {given!r}")
    if given in ("fail", "skip") and not note.strip():
        raise UsageError(f"a {given} needs a note")
    current.verdicts[item.id] = (given, note.strip())
    with project.transaction() as tx:
        tx.record(
            "verification.verdict",
            session=current.session,
            item=item.id,
            verdict=given,
            note=note.strip(),
            by=current.by,
        )
        _write(tx, current)


def problem(project: Project, current: Walk, text: str, severity: str = "blocking") -> None:
    """A problem no item covers: recorded now, a finding when the walk ends."""
    if not text.strip():
        raise UsageError("a problem needs a description")
    if severity not in findings.SEVERITIES:
        raise UsageError(f"severity is one of {', '.join(findings.SEVERITIES)}")
    current.problems.append((severity, " ".join(text.split())))
    with project.transaction() as tx:
        tx.record(
            "verification.problem",
            session=current.session,
            text=" ".join(text.split()),
            severity=severity,
            by=current.by,
        )
        _write(tx, current)


def finish(project: Project, current: Walk) -> Walk:
    """End the walk (a person's act): failures and problems become findings, the verdicts
    are written after the agent's part of the page, and nothing about the gate is decided."""
    with project.transaction(person=True) as tx:
        if not current.demo:
            acts.begin(project, tx, "ending the walkthrough", stdin_is_tty=current.tty)
        chosen = tx.state.cycles[current.cycle]
        if current.session in tx.state.walks_ended:
            raise Refused(f"the walk of {current.session} is over already")
        for item in current.items:
            given, note = current.verdicts[item.id]
            if given == "fail":
                raised = findings.Raised("blocking", f"{item.text} — {note}")
                current.findings.append(_finding(tx, chosen, current, raised))
        for severity, text in current.problems:
            raised = findings.Raised(severity, text)
            current.findings.append(_finding(tx, chosen, current, raised))
        current.finished = True
        _write(tx, current)
        tx.record(
            "verification.end",
            session=current.session,
            cycle=current.cycle,
            document=current.document,
            findings=current.findings,
            digest=conditions.walk_digest(tx.state, current.session),
            by=current.by,
        )
    state = project.load()
    current.next = project.next_for(state, state.cycles[current.cycle])
    return current


def _finding(tx: Transaction, cycle: Cycle, current: Walk, raised: findings.Raised) -> str:
    return findings.record(
        tx, cycle, raised, stage=current.stage, session=current.session, source=current.document
    )


def _write(tx: Transaction, current: Walk) -> None:
    """The page with the verdicts so far, after the agent's part (taken back with the
    transaction if it fails)."""
    path = tx.project.paths.inside(current.document)
    text = files.read_text(path) or ""
    updated = verification.with_verdicts(text, render(current))
    if updated != text:
        tx.replace(path, updated, display=current.document)


def render(current: Walk) -> str:
    """The person's part of the page: the verdicts, the problems, what the walk did."""
    total, decided = len(current.items), current.decided
    who = current.by.get("name", "the person")
    counts = (
        f"{total} items: {current.count('pass')} passed, {current.count('fail')} failed, "
        f"{current.count('skip')} skipped"
    )
    if current.finished:
        head = f"Given item by item by {who} with `sdd walkthrough`; {counts}."
    else:
        head = (
            f"The walk is under way ({who}): {decided} of {total} items decided; it resumes "
            "with `sdd walkthrough`."
        )
    failures = iter(current.findings) if current.finished else iter(())
    lines = ["## Verdicts", "", head, ""]
    for item in current.items:
        if item.id not in current.verdicts:
            continue
        given, note = current.verdicts[item.id]
        line = f"- {given.upper()} {item.text}" + (f" — {note}" if note else "")
        if given == "fail" and current.finished:
            line += f" ({next(failures, '')})"
        lines.append(line)
    lines += ["", "## Problems no item covers", ""]
    if current.problems:
        for severity, text in current.problems:
            found = f" ({next(failures, '')})" if current.finished else ""
            lines.append(f"- ({severity}) {text}{found}")
    else:
        lines.append("- none reported" if current.finished else "- none so far")
    asked = current.finished
    lines += [
        "",
        "## The walkthrough",
        "",
        f"- [{'x' if decided == total else ' '}] Every item has a verdict ({decided} of {total})",
        f"- [{'x' if asked else ' '}] Asked for problems that no item covers "
        f"({len(current.problems)} reported)",
        f"- [ ] {current.gate} decided: a step of its own, `sdd approve {current.gate}` "
        f"or `sdd reject {current.gate}`",
    ]
    return "\n".join(lines) + "\n"

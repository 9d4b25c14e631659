"""User verification: the person tries the feature, item by item, and decides.

Items come from the spec's acceptance criteria and the test plan's cases a person can
try. Each verdict is recorded as it is given, so an interrupted walk resumes at the
first undecided item. Failures become blocking findings; when every item passed or
was skipped with a reason, the caller offers the user-approval gate.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from sdd.agents import person
from sdd.agents.registry import PERSON
from sdd.core import files
from sdd.core.errors import Refused, UsageError
from sdd.documents import pages
from sdd.documents.verification import Item, items_from
from sdd.project.project import Project
from sdd.usecases import findings, sessions

STAGE = "user-verification"
VERDICTS = ("pass", "fail", "skip")


@dataclass
class Walk:
    session: str
    items: list[Item]
    how_to_run: str
    verdicts: dict[str, tuple[str, str]] = field(default_factory=dict)
    finished: bool = False
    failures: list[str] = field(default_factory=list)
    document: str = ""

    def next_item(self) -> Item | None:
        return next((i for i in self.items if i.id not in self.verdicts), None)


# Asks the person about one item: returns (verdict, note) or raises KeyboardInterrupt.
Ask = Callable[[Item, int, int], "tuple[str, str]"]


def checklist(project: Project) -> list[Item]:
    cycle = project.cycle(project.load(), None)
    return items_from(project.paths, cycle.docs if cycle else "docs")


def how_to_run(project: Project) -> str:
    """How to run the program: the README's usage section, else the conventions."""
    for relative, titles in (
        ("README.md", ("usage", "how to run", "running", "getting started", "quick start")),
        ("docs/conventions.md", ("how to build", "how to test")),
    ):
        text = files.read_text(os.path.join(project.paths.root, relative))
        if not text:
            continue
        from sdd.documents.markdown import parse

        root = parse(text)
        stack = list(root.sections)
        while stack:
            section = stack.pop(0)
            if section.title.casefold() in titles and section.text().strip():
                return f"From {relative}, “{section.title}”:\n{section.text().strip()}"
            stack.extend(section.sections)
    return (
        "No usage section found in README.md or docs/conventions.md: run it as the plan describes."
    )


def begin(project: Project, *, stdin_is_tty: bool) -> Walk:
    """Start the person's session, or resume the open one."""
    person.require_person("user verification", stdin_is_tty=stdin_is_tty, paths=project.paths)
    state = project.load()
    cycle = project.cycle(state, None)
    if cycle is None:
        raise Refused("there is no cycle yet")
    session = cycle.open_session()
    if session is None:
        sessions.check_admission(project, STAGE)
        started = sessions.start(project, STAGE, agent=PERSON)
        session_id = started.session
        state = project.load()
    elif session.stage != STAGE:
        raise Refused(
            f"session {session.id} ({session.stage}) is open",
            hint="finish it with `sdd done` first",
        )
    else:
        session_id = session.id
    items = checklist(project)
    if not items:
        raise UsageError(
            "nothing to verify: the spec has no acceptance criteria", hint="run `sdd check spec`"
        )
    return Walk(session_id, items, how_to_run(project), dict(state.verdicts.get(session_id, {})))


def record(project: Project, walk: Walk, item: Item, verdict: str, note: str) -> None:
    if verdict not in VERDICTS:
        raise UsageError(f"a verdict is pass, fail or skip, not {verdict!r}")
    if verdict in ("fail", "skip") and not note.strip():
        raise UsageError(f"a {verdict} needs a note")
    with project.transaction() as tx:
        tx.record(
            "verification.verdict",
            session=walk.session,
            item=item.id,
            verdict=verdict,
            note=note.strip(),
        )
    walk.verdicts[item.id] = (verdict, note.strip())


def walk(project: Project, current: Walk, ask: Ask) -> Walk:
    """Ask about every undecided item; Ctrl-C leaves the session open to resume."""
    total = len(current.items)
    while (item := current.next_item()) is not None:
        verdict, note = ask(item, current.items.index(item) + 1, total)
        record(project, current, item, verdict, note)
    return finish(project, current)


def finish(project: Project, current: Walk) -> Walk:
    """Write the verdicts document and the handoff, record failures, complete the session."""
    state = project.load()
    cycle = project.cycle(state, None)
    assert cycle is not None
    session = state.sessions[current.session]
    lines = [
        f"# User verification: {cycle.title}",
        "",
        f"Cycle: {cycle.slug}. Session: {session.id}.",
        "",
    ]
    lines += ["## How to run it", "", current.how_to_run, "", "## Verdicts", ""]
    for item in current.items:
        verdict, note = current.verdicts[item.id]
        lines.append(f"- {verdict.upper()} {item.text}" + (f" — {note}" if note else ""))
    current.document = (
        session.writes[0] if session.writes else f"docs/verification/{cycle.slug}-U1.md"
    )
    files.write_atomic(
        project.paths.inside(current.document), "\n".join(lines) + "\n", display=current.document
    )
    failed = [i for i in current.items if current.verdicts[i.id][0] == "fail"]
    page = project.paths.inside(session.page)
    text = files.read_text(page) or ""
    generated, rest = pages.split(text)
    ticked = rest.replace("- [ ] ", "- [x] ")
    summary = (
        f"{len(current.items)} items: {sum(1 for v in current.verdicts.values() if v[0] == 'pass')} passed, "
        f"{len(failed)} failed, {sum(1 for v in current.verdicts.values() if v[0] == 'skip')} skipped "
        "(verdicts given by the person, item by item, through `sdd run user-verification`)."
    )
    files.write_atomic(page, pages.fill_notes(generated + ticked, summary), display=session.page)
    # Complete first: the loop back to implement must come after this verification, so
    # that the next round of user verification is asked for again.
    sessions.done(project)
    with project.transaction() as tx:
        chosen = tx.project.cycle(tx.state, None)
        assert chosen is not None
        for item in failed:
            note = current.verdicts[item.id][1]
            ident = findings.record(
                tx,
                chosen,
                findings.Raised("blocking", f"{item.text} — {note}"),
                stage=STAGE,
                session=current.session,
                source=current.document,
            )
            current.failures.append(ident)
    current.finished = True
    return current

"""The spec's open questions, and a person's answers written back into the spec."""

from __future__ import annotations

from sdd.agents import person
from sdd.core import clock, files
from sdd.core.errors import SddError, UsageError
from sdd.core.structs import dataclass
from sdd.documents import check
from sdd.documents.structures import Question
from sdd.usecases import acts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.project.project import Project, Transaction


@dataclass
class Listing:
    path: str
    questions: list[Question]
    confidence: float | None
    threshold: int


def listing(project: Project, cycle: str | None = None) -> Listing:
    state = project.load()
    chosen = project.cycle(state, cycle)
    path = check.doc("spec", chosen.docs if chosen else "docs")
    parsed = check.parse_file(project.paths, path, "spec")
    if parsed is None:
        raise SddError(f"{path}: missing", hint="the spec session writes it: sdd start spec")
    spec = parsed.spec
    return Listing(
        path,
        spec.questions if spec else [],
        spec.confidence if spec else None,
        project.rule_state(state).in_force.threshold,
    )


def answer(
    project: Project, question_id: str, text: str, *, stdin_is_tty: bool, confirm: object
) -> Question:
    """Record a person's answer in the spec (a person's act, confirmed at a terminal)."""
    if not text.strip():
        raise UsageError("an answer needs some text")
    with project.transaction(person=True) as tx:
        who = acts.begin(project, tx, f"answering {question_id}", stdin_is_tty=stdin_is_tty)
        return _answer(project, tx, who, question_id, text, confirm)


def _answer(
    project: Project,
    tx: Transaction,
    who: dict[str, str],
    question_id: str,
    text: str,
    confirm: object,
) -> Question:
    found = listing(project)
    wanted = question_id.strip().upper()
    question = next((q for q in found.questions if q.id == wanted), None)
    if question is None:
        known = ", ".join(q.id for q in found.questions) or "none"
        raise UsageError(f"{question_id}: no such question in {found.path} (questions: {known})")
    code = person.confirmation_code()
    typed = confirm(question, code) if callable(confirm) else None
    if typed is None or str(typed).strip().upper() != code:
        raise SddError("the confirmation code did not match; nothing was recorded")
    when = clock.iso(clock.now())[:10]
    written = " ".join(text.split()) + f" (answered by {who.get('name', 'a person')}, {when})"
    target = project.paths.inside(found.path)
    lines = (files.read_text(target) or "").split("\n")
    index = question.line - 1
    end = index + 1
    while (
        end < len(lines)
        and lines[end].strip()
        # A list item ends at the next item, a blank line or a heading.
        and not lines[end].lstrip().startswith(("- ", "* ", "#"))
    ):
        end += 1
    answer_at = next((i for i in range(index, end) if "Answer:" in lines[i]), None)
    if answer_at is None:
        lines.insert(end, f"  Answer: {written}")
    else:
        # Keep what stands before `Answer:`; drop the old answer's continuation lines.
        head = lines[answer_at].split("Answer:", 1)[0]
        lines[answer_at:end] = [f"{head}Answer: {written}"]
    tx.replace(target, "\n".join(lines), display=found.path)
    cycle = tx.state.latest_cycle()
    tx.record(
        "question.answer",
        cycle=cycle.number if cycle else None,
        question=question.id,
        answer=written,
        by=who,
    )
    return Question(question.id, question.blocking, question.text, written, question.line)

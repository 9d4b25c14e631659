"""What an agent may record besides its outputs: a question for the person (appended to the
spec's open questions, never answered) and the handoff of its open session."""

from __future__ import annotations

import re

from sdd.core import files, history
from sdd.core.errors import Refused, SddError, UsageError
from sdd.core.structs import dataclass
from sdd.documents import check, pages, templates

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.project.project import Project

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_QUESTION_ID = re.compile(r"^\s*[-*+]\s+Q([1-9][0-9]*)\b", re.I)
_NONE_ITEM = re.compile(r"^\s*[-*+]\s+none\.?\s*$", re.I)
_BOX = re.compile(r"^(\s*[-*]\s+)\[( |x|X)\]\s+(.*)$")


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, title) of every heading outside fenced code."""
    found = []
    fenced = False
    for index, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match:
            found.append((index, len(match.group(1)), match.group(2).strip()))
    return found


def add_question(
    project: Any, text: str, *, blocking: bool, cycle: str | None = None
) -> tuple[str, str]:
    """Append a question to the spec's `## Open questions`, open. Returns (id, spec path)."""
    clean = " ".join(text.split())
    if not clean:
        raise UsageError("a question needs some text")
    if "answer:" in clean.casefold():
        raise UsageError(
            "a question holds no `Answer:`; only the person answers, with `sdd questions answer`"
        )
    paths = project.paths
    with history.locked(paths):
        state = project.load()
        chosen = project.cycle(state, cycle)
        relative = check.doc("spec", chosen.docs if chosen else "docs")
        if chosen is not None:
            position = project.position(state, chosen)
            for view in position.gates:
                if view.passed and relative in view.documents:
                    raise Refused(
                        f"{relative} is approved ({view.gate.name}); a new question would change it "
                        "and turn that approval stale",
                        hint="raise it as a finding (`sdd findings add`) or in your handoff, for the person",
                    )
        target = paths.inside(relative)
        current = files.read_text(target)
        if current is None:
            raise SddError(
                f"{relative}: missing", hint="the spec session writes it: sdd start spec"
            )
        lines = current.split("\n")
        heads = _headings(lines)
        section = next((h for h in heads if h[2].casefold() == "open questions"), None)
        numbers = [int(m.group(1)) for m in map(_QUESTION_ID.match, lines) if m]
        ident = f"Q{max(numbers, default=0) + 1}"
        item = [
            f"- {ident} ({'blocking' if blocking else 'non-blocking'}): {clean}",
            "  Answer: open",
        ]
        if section is None:
            confidence = next((h for h in heads if h[2].casefold() == "confidence"), None)
            at = confidence[0] if confidence else len(lines)
            while at > 0 and not lines[at - 1].strip():
                at -= 1
            lines[at:at] = ["", "## Open questions", "", *item, ""]
        else:
            start, level = section[0], section[1]
            end = next((h[0] for h in heads if h[0] > start and h[1] <= level), len(lines))
            kept = [ln for ln in lines[start + 1 : end] if not _NONE_ITEM.match(ln)]
            body = list(kept)
            while body and not body[-1].strip():
                body.pop()
            trailing = kept[len(body) :] or ([""] if end < len(lines) else [])
            if not body:
                body = [""]
            lines[start + 1 : end] = [*body, *item, *trailing]
        files.write_atomic(target, "\n".join(lines), display=relative)
    return ident, relative


@dataclass
class Answer:
    item: str
    done: bool
    reason: str = ""


def _normal(text: str) -> str:
    kept = "".join(c.lower() if c.isalnum() else " " for c in text)
    return " ".join(kept.split())


def write_handoff(
    project: Any, notes: str, checklist: list[Answer], *, cycle: str | None = None
) -> str:
    """Write the open session's Handoff: tick or leave open its checklist items, add notes."""
    paths = project.paths
    clean_notes = notes.replace(pages.BEGIN, "").replace(pages.END, "").strip()
    with history.locked(paths):
        state = project.load()
        chosen = project.cycle(state, cycle)
        if chosen is None:
            raise Refused("there is no cycle yet", hint='open one: sdd new "TITLE"')
        session = chosen.open_session()
        if session is None:
            raise SddError(
                f"no open session in cycle {chosen.number}",
                hint=f"next: {project.next_for(state, chosen)['command']}",
            )
        target = paths.inside(session.page)
        text = files.read_text(target)
        if text is None:
            raise SddError(f"{session.page}: missing", hint="sdd wrote it at start; restore it")
        generated, rest = pages.split(text)
        if pages.HANDOFF not in rest:
            from sdd.usecases.briefs import for_finding

            template = for_finding(templates.load(paths, session.stage), session.finding)
            rest = rest.rstrip("\n") + "\n\n" + pages.initial_handoff(template.checklist)
        lines = rest.split("\n")
        boxes = {}
        for index, line in enumerate(lines):
            match = _BOX.match(line)
            if match:
                item_text = match.group(3).split(" reason:", 1)[0].rstrip(" —-")
                boxes[index] = (match.group(1), item_text)
        unknown = []
        for answer in checklist:
            key = _normal(answer.item)[:40]
            hit = next(
                (
                    i
                    for i, (_, t) in boxes.items()
                    if key and (_normal(t).startswith(key) or key.startswith(_normal(t)))
                ),
                None,
            )
            if hit is None:
                unknown.append(answer.item)
                continue
            lead, item_text = boxes[hit]
            if answer.done:
                lines[hit] = f"{lead}[x] {item_text}"
            else:
                reason = " ".join(answer.reason.split())
                if len(reason) < 3:
                    raise UsageError(f"a checklist item left open needs a reason: {item_text}")
                lines[hit] = f"{lead}[ ] {item_text} — reason: {reason}"
        if unknown:
            items = "; ".join(t for _, t in boxes.values()) or "none"
            raise UsageError(
                f"not on {session.page}'s checklist: {'; '.join(unknown)}",
                hint=f"its items: {items}",
            )
        rest = "\n".join(lines)
        if clean_notes:
            if pages.NOTES_PLACEHOLDER in rest:
                rest = rest.replace(pages.NOTES_PLACEHOLDER, clean_notes, 1)
            elif pages.NOTES not in rest:
                rest = rest.rstrip("\n") + f"\n\n{pages.NOTES}\n\n{clean_notes}\n"
            else:
                rest = rest.rstrip("\n") + "\n\n" + clean_notes + "\n"
        updated = generated + rest
        if updated != text:
            files.write_atomic(target, updated, display=session.page)
    return str(session.page)


def record_handoff(
    project: Project,
    notes: str,
    checklist: list[tuple[str, bool, str]] | None = None,
    *,
    cycle: str | None = None,
) -> str:
    """Write the open session's handoff (checklist answers and notes); returns its page."""
    answers = [Answer(item, done, reason) for item, done, reason in checklist or []]
    return write_handoff(project, notes, answers, cycle=cycle)

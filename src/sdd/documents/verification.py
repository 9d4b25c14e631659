"""What a person verifies by hand: the spec's acceptance criteria and the test plan's cases
a person can try, as items with ids."""

from __future__ import annotations

from dataclasses import dataclass

from sdd.core.paths import ProjectPaths
from sdd.core.state import Session
from sdd.documents import check

PERSON_KINDS = ("functional", "edge case", "invalid input")  # what a person can try by hand


@dataclass(frozen=True)
class Item:
    id: str  # "US-1.2" or "TC-3"
    text: str


def checklist_for(paths: ProjectPaths, session: Session) -> list[Item]:
    """The items a user-verification session asks about (from its cycle's documents)."""
    root = session.writes[0].split("/verification/")[0] if session.writes else "docs"
    return items_from(paths, root)


def items_from(paths: ProjectPaths, root: str) -> list[Item]:
    spec = check.parse_file(paths, check.doc("spec", root), "spec")
    items: list[Item] = []
    if spec and spec.spec:
        for story in spec.spec.stories:
            for index, criterion in enumerate(story.criteria, start=1):
                items.append(Item(f"{story.id}.{index}", f"{story.id} {story.title}: {criterion}"))
    tests = check.parse_file(paths, check.doc("test-plan", root), "test-plan")
    for case in (tests.cases or []) if tests else []:
        if case.kind in PERSON_KINDS:
            items.append(Item(case.id, f"{case.id} ({case.kind}): {case.title}"))
    return items

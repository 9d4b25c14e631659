"""Cycles: one pass of a feature or change through the workflow."""

from __future__ import annotations

import unicodedata

from sdd.errors import Refused, UsageError
from sdd.project import Project, Transaction
from sdd.state import Cycle

SLUG_LIMIT = 40


def slugify(title: str) -> str:
    """A safe file-name part: ASCII letters, digits and single hyphens, nothing else.

    Nothing in a title can reach outside the project or into a command line.
    """
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    kept = "".join(c.lower() if c.isalnum() else "-" for c in folded)
    slug = "-".join(part for part in kept.split("-") if part)[:SLUG_LIMIT].strip("-")
    return slug or "cycle"


def clean_title(title: str) -> str:
    text = " ".join("".join(c if c.isprintable() else " " for c in title).split())
    if not text:
        raise UsageError("a cycle needs a title with some visible text")
    return text[:200]


def open_cycle(tx: Transaction, title: str, *, discovery: bool = False) -> int:
    number = max(tx.state.cycles, default=0) + 1
    text = clean_title(title)
    tx.record(
        "cycle.open",
        cycle=number,
        title=text,
        slug=f"{number:03d}-{slugify(text)}",
        discovery=discovery,
    )
    return number


def is_over(project: Project, tx: Transaction, cycle: Cycle) -> bool:
    if cycle.closed:
        return True
    return project.position(tx.state, cycle).current is None


def new(project: Project, title: str) -> int:
    with project.transaction() as tx:
        for cycle in tx.state.cycles.values():
            if not is_over(project, tx, cycle):
                raise Refused(
                    f"cycle {cycle.number} ({cycle.title}) is still open; one cycle at a time",
                    hint="finish it through the post-mortem, or drop it: sdd abandon --cycle",
                )
        return open_cycle(tx, title)


def abandon(project: Project, *, reason: str, cycle: str | None = None) -> int:
    with project.transaction() as tx:
        chosen = project.cycle(tx.state, cycle)
        if chosen is None:
            raise Refused("there is no cycle to abandon")
        if is_over(project, tx, chosen):
            raise Refused(f"cycle {chosen.number} is already over")
        session = chosen.open_session()
        if session is not None:
            tx.record(
                "session.end",
                session=session.id,
                cycle=chosen.number,
                outcome="abandoned",
                reason=reason,
            )
        tx.record("cycle.abandon", cycle=chosen.number, reason=reason)
        return chosen.number

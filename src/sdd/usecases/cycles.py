"""Cycles: one pass of a feature or change through the workflow."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from sdd.core.errors import Refused, SddError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.state import Cycle
    from sdd.project.project import Project, Transaction

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


REQUEST_LIMIT = 20_000  # characters: a request, not a specification


def clean_request(text: str | None) -> str:
    """The request as the person gave it, with plain line ends and no control characters
    ("" when there is none)."""
    if not text:
        return ""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = ["".join(c for c in line if c.isprintable() or c == "\t").rstrip() for line in lines]
    cleaned = "\n".join(kept).strip()
    if len(cleaned) > REQUEST_LIMIT:
        raise UsageError(
            f"the request is {len(cleaned):,} characters long; at most {REQUEST_LIMIT:,}",
            hint="say what you want in a few paragraphs; the spec session asks about the rest",
        )
    return cleaned


def title_from_request(request: str) -> str | None:
    """A title for a cycle opened with a request and no title: its first line, shortened."""
    first = next((line for line in request.split("\n") if line.strip()), "")
    words = first.strip().lstrip("#*->").split()
    title = ""
    for word in words:
        if len(title) + len(word) + 1 > 60:
            return title + " …"
        title = f"{title} {word}".strip()
    return title.rstrip(".:;, ") or None


def request_path(docs: str, slug: str) -> str:
    return f"{docs}/requests/{slug}.md"


def open_cycle(
    tx: Transaction, title: str, *, discovery: bool = False, request: str | None = None
) -> int:
    """Open the next cycle; the person's ``request``, when given, is recorded with it and
    kept in the cycle's documents (every brief of the cycle carries it)."""
    import os

    number = max(tx.state.cycles, default=0) + 1
    text = clean_title(title)
    asked = clean_request(request)
    slug = f"{number:03d}-{slugify(text)}"
    docs = "docs"
    if tx.project.config.layout == "per-cycle":
        docs = f"docs/cycles/{slug}"
        lay_documents(tx.project, docs, discovery=discovery)
    tx.record("cycle.open", cycle=number, title=text, slug=slug, discovery=discovery, docs=docs)
    if asked:
        relative = request_path(docs, slug)
        target = tx.project.paths.inside(relative)
        if os.path.lexists(target):
            raise Refused(
                f"{relative} already exists; sdd will not overwrite it", hint="move it aside"
            )
        tx.create(target, _request_document(number, text, asked), display=relative)
        tx.record("cycle.request", cycle=number, text=asked, document=relative)
    return number


def _request_document(number: int, title: str, request: str) -> str:
    return (
        f"# Request: {title}\n\n"
        f"<!-- The person's request that cycle {number} starts from, in their words, as sdd "
        "recorded it (`sdd log`). Every brief of the cycle carries the recorded text. -->\n\n"
        f"{request}\n"
    )


def lay_documents(project: Project, root: str, *, discovery: bool) -> list[str]:
    """The core documents as templates in a cycle's folder; nothing existing is touched."""
    import os

    from sdd.core import files
    from sdd.core.paths import package_data
    from sdd.documents.templates import CORE_DOCS

    laid = []
    for name in (*CORE_DOCS, *(("conventions.md",) if discovery else ())):
        relative = f"{root}/{name}"
        target = project.paths.inside(relative)
        if not os.path.lexists(target):
            files.write_atomic(
                target, files.read_text(package_data("docs", name)) or "", display=relative
            )
            laid.append(relative)
    return laid


def is_over(project: Project, tx: Transaction, cycle: Cycle) -> bool:
    if cycle.closed:
        return True
    return project.position(tx.state, cycle).current is None


def new(
    project: Project, title: str, *, discovery: bool = False, request: str | None = None
) -> int:
    with project.transaction() as tx:
        if project.config.layout == "living":
            for cycle in tx.state.cycles.values():
                if not is_over(project, tx, cycle):
                    raise Refused(
                        f"cycle {cycle.number} ({cycle.title}) is still open; the living layout "
                        "runs one cycle at a time",
                        hint="finish it through the post-mortem, drop it (`sdd abandon --whole-cycle "
                        "--reason …`), or run cycles in parallel: `sdd layout per-cycle`",
                    )
        return open_cycle(tx, title, discovery=discovery, request=request)


# Shows what a person's act ends (text, code, verb); returns what they typed (None: gave up).
Confirm = Callable[[str, str, str], "str | None"]


def _confirmed(confirm: Confirm, shown: str, verb: str) -> None:
    from sdd.agents import person

    code = person.confirmation_code()
    typed = confirm(shown, code, verb)
    if typed is None or typed.strip().upper() != code:
        raise SddError("the confirmation code did not match; nothing was recorded")


def archive(
    project: Project, *, cycle: str | None = None, stdin_is_tty: bool, confirm: Confirm
) -> int:
    """Set a finished (or abandoned) cycle aside; its history stays. A person's act."""
    from sdd.usecases import acts  # a person's act: not loaded by what only reads cycles

    with project.transaction(person=True) as tx:
        acts.begin(project, tx, "archiving a cycle", stdin_is_tty=stdin_is_tty)
        chosen = project.cycle(tx.state, cycle)
        if chosen is None:
            raise Refused("there is no cycle to archive")
        if not is_over(project, tx, chosen):
            raise Refused(f"cycle {chosen.number} is still open: only a finished cycle is archived")
        if chosen.archived:
            raise Refused(f"cycle {chosen.number} is already archived")
        _confirmed(confirm, f"\nArchive cycle {chosen.number}: {chosen.title}\n", "archive it")
        tx.record("cycle.archive", cycle=chosen.number)
        return chosen.number


def change(project: Project, stage: str, text: str, *, cycle: str | None = None) -> dict[str, Any]:
    """A change request: reopen ``stage`` with the request in its next brief; the approvals
    downstream turn stale. Returns what it affects."""
    if not text.strip():
        raise UsageError("a change request needs a text saying what should change")
    with project.transaction() as tx:
        chosen = project.cycle(tx.state, cycle)
        if chosen is None:
            raise Refused("there is no cycle yet")
        if chosen.closed or chosen.archived:
            raise Refused(
                f"cycle {chosen.number} is {'archived' if chosen.archived else chosen.closed}"
            )
        position = project.position(tx.state, chosen)
        if stage not in position.names:
            raise UsageError(
                f"--stage {stage}: not a stage of this cycle ({', '.join(position.names)})"
            )
        session = chosen.open_session()
        if session is not None:
            raise Refused(
                f"session {session.id} ({session.stage}) is open",
                hint="finish it (`sdd done`) or drop it (`sdd abandon`) before a change request",
            )
        affected = position.affected_by(stage)
        tx.record(
            "stage.reopen",
            cycle=chosen.number,
            stage=stage,
            reason=" ".join(text.split()),
            source="change request",
            caused_by="change",
        )
        return {"cycle": chosen.number, "stage": stage, **affected}


def abandon(
    project: Project,
    *,
    reason: str,
    cycle: str | None = None,
    stdin_is_tty: bool,
    confirm: Confirm,
) -> int:
    """Drop a whole cycle (and its open session): a person's act."""
    from sdd.usecases import acts

    with project.transaction(person=True) as tx:
        who = acts.begin(project, tx, "abandoning a cycle", stdin_is_tty=stdin_is_tty)
        chosen = project.cycle(tx.state, cycle)
        if chosen is None:
            raise Refused("there is no cycle to abandon")
        if is_over(project, tx, chosen):
            raise Refused(f"cycle {chosen.number} is already over")
        session = chosen.open_session()
        _confirmed(
            confirm,
            f"\nAbandon cycle {chosen.number}: {chosen.title}\nReason: {reason}\n"
            + (f"Its open session {session.id} ends with it.\n" if session else ""),
            "abandon it",
        )
        if session is not None:
            tx.record(
                "session.end",
                session=session.id,
                cycle=chosen.number,
                outcome="abandoned",
                reason=reason,
            )
        tx.record("cycle.abandon", cycle=chosen.number, reason=reason, by=who)
        return chosen.number


def switch_to_per_cycle(project: Project) -> dict[str, Any]:
    """Move the open cycle's documents to docs/cycles/<slug>/ and set the per-cycle layout.

    The history keeps its records; a `cycle.move` record maps the old paths to the new,
    so every approval and output still refers to the right document.
    """
    import os
    import re

    from sdd.core import files

    if project.config.layout == "per-cycle":
        raise Refused("the project already uses the per-cycle layout")
    config_text = files.read_text(project.paths.config) or ""
    updated, count = re.subn(r'(?m)^layout\s*=\s*"living"\s*$', 'layout = "per-cycle"', config_text)
    if count != 1:
        raise UsageError(
            f'{project.paths.rel(project.paths.config)}: no `layout = "living"` line to change',
            hint='set `layout = "per-cycle"` under [project] by hand',
        )
    moved_all: dict[str, dict[str, str]] = {}
    with project.transaction() as tx:
        for cycle in tx.state.cycles.values():
            if cycle.docs != "docs" or is_over(project, tx, cycle):
                continue
            root = f"docs/cycles/{cycle.slug}"
            moved: dict[str, str] = {}
            candidates = [
                f"docs/{name}"
                for name in (
                    "product-spec.md",
                    "architecture.md",
                    "implementation-plan.md",
                    "test-plan.md",
                    "conventions.md",
                )
            ]
            for folder in (
                "reviews",
                "test-reports",
                "verification",
                "releases",
                "post-mortems",
                "requests",
            ):
                full = project.paths.inside(f"docs/{folder}")
                if os.path.isdir(full):
                    candidates += [
                        f"docs/{folder}/{n}"
                        for n in sorted(os.listdir(full))
                        if n.startswith(cycle.slug)
                    ]
            for old in candidates:
                source = project.paths.inside(old)
                if not os.path.isfile(source):
                    continue
                new = root + old[len("docs") :]
                target = project.paths.inside(new)
                if os.path.lexists(target):
                    raise Refused(f"{new} already exists; nothing was moved")
                moved[old] = new
            for old, new in moved.items():
                os.makedirs(os.path.dirname(project.paths.inside(new)), exist_ok=True)
                os.replace(project.paths.inside(old), project.paths.inside(new))
            tx.record("cycle.move", cycle=cycle.number, docs=root, moved=moved)
            moved_all[str(cycle.number)] = moved
        tx.replace(project.paths.config, updated, display=project.paths.rel(project.paths.config))
    return {"layout": "per-cycle", "moved": moved_all}


def switch_layout(project: Project, layout: str) -> dict[str, Any]:
    """`sdd layout per-cycle`: the only switch there is."""
    if layout != "per-cycle":
        raise UsageError("only a switch to the per-cycle layout is supported: sdd layout per-cycle")
    return switch_to_per_cycle(project)

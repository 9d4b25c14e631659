"""`sdd log`: the history in words, newest first."""

from __future__ import annotations

from typing import Any

from sdd.core.history import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.project.project import Project


def describe(record: Record) -> str:
    kind = record["type"]
    get = record.get
    if kind == "project.init":
        return f"project {get('name', '')!s} initialised" + (" (demo)" if get("demo") else "")
    if kind == "cycle.open":
        return f"cycle {get('cycle')} opened: {get('title', '')}"
    if kind == "cycle.abandon":
        return f"cycle {get('cycle')} abandoned: {get('reason', '')}"
    if kind == "session.start":
        return f"{get('session')} {get('stage')} started" + (
            f" with {get('agent')}" if get("agent") else ""
        )
    if kind == "session.launch":
        return f"{get('session')} launched: {' '.join(get('command') or [])}"
    if kind == "session.end":
        return f"{get('session')} {get('outcome')}" + (
            f": {get('reason')}" if get("reason") else ""
        )
    if kind in ("gate.approve", "gate.reject"):
        by = record.get("by")
        by = by if isinstance(by, dict) else {}
        who = str(by.get("name", "?")) + (" (demo)" if by.get("kind") == "demo" else "")
        verb = "approved" if kind == "gate.approve" else "rejected"
        extra = f" → back to {get('to')}: {get('reason')}" if kind == "gate.reject" else ""
        return f"{get('gate')} {verb} by {who}{extra}"
    if kind == "question.answer":
        by = record.get("by")
        who = str(by.get("name", "?")) if isinstance(by, dict) else "?"
        return f"{get('question')} answered by {who}: {get('answer', '')}"
    if kind == "finding.add":
        return f"{get('finding')} ({get('severity')}) found in {get('stage')}: {get('text', '')}"
    if kind == "finding.fix":
        return f"{get('finding')} fixed by {get('session')}"
    if kind == "finding.waive":
        return f"{get('finding')} waived: {get('reason', '')}"
    if kind == "verify.run":
        checks = record.get("checks")
        checks = checks if isinstance(checks, list) else []
        head = str(get("head") or "no commit")[:12]
        return f"verify {'green' if get('ok') else 'red'} at {head} ({len(checks)} checks)"
    if kind == "verification.verdict":
        return f"{get('session')} {get('item')}: {get('verdict')}" + (
            f" — {get('note')}" if get("note") else ""
        )
    if kind == "release":
        return f"cycle {get('cycle')} released as {get('version')}" + (
            f" (tag {get('tag')})" if get("tag") else ""
        )
    if kind == "template.base":
        return "stage templates recorded as the project's starting process"
    if kind == "template.change":
        hashes = record.get("hashes")
        paths = ", ".join(sorted(hashes)) if isinstance(hashes, dict) else "?"
        return f"process changed: {paths} ({get('source')})"
    if kind == "stage.reopen":
        return f"{get('stage')} reopened: {get('reason', '')}"
    return str(kind)


def entries(
    records: list[Record], *, cycle: int | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    chosen = [r for r in records if cycle is None or r.get("cycle") in (None, cycle)]
    chosen.reverse()
    if limit is not None:
        chosen = chosen[:limit]
    return [
        {
            "id": r["id"],
            "at": r.get("at", ""),
            "type": r["type"],
            "cycle": r.get("cycle"),
            "text": describe(r),
        }
        for r in chosen
    ]


def listing(
    project: Project, *, cycle: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """`sdd log`: the history in words, newest first (of one cycle, at most ``limit``)."""
    from sdd.core import history

    records = history.load(project.paths).records
    number = None
    if cycle is not None:
        chosen = project.cycle(project.load(), cycle)
        number = chosen.number if chosen else None
    return entries(records, cycle=number, limit=limit)

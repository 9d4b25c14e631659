"""`sdd log`: the history in words, newest first (one sentence per record kind)."""

from __future__ import annotations

from sdd.core.records import Kind, Record, mapping, strings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from sdd.project.project import Project


def _who(record: Record) -> str:
    return str(mapping(record, "by").get("name", "?"))


def _decision(record: Record) -> str:
    by = mapping(record, "by")
    who = _who(record) + (" (demo)" if by.get("kind") == "demo" else "")
    get = record.get
    if record["type"] == "gate.approve":
        return f"{get('gate')} approved by {who}"
    return f"{get('gate')} rejected by {who} → back to {get('to')}: {get('reason')}"


def _verify_run(record: Record) -> str:
    checks = record.get("checks")
    count = len(checks) if isinstance(checks, list) else 0
    head = str(record.get("head") or "no commit")[:12]
    return f"verify {'green' if record.get('ok') else 'red'} at {head} ({count} checks)"


def _template_change(record: Record) -> str:
    hashes = record.get("hashes")
    paths = ", ".join(sorted(hashes)) if isinstance(hashes, dict) else "?"
    return f"process changed: {paths} ({record.get('source')})"


def _rules_accept(record: Record) -> str:
    changes = record.get("changes")
    listed = [c for c in changes if isinstance(c, dict)] if isinstance(changes, list) else []
    weakening = sum(1 for c in listed if c.get("weakens") is True)
    who = f"by {_who(record)}" if record.get("confirmed") else f"({record.get('source', '?')})"
    counted = f": {len(listed)} change(s), {weakening} weakening" if listed else ""
    return f"rules accepted {who}{counted}"


def _kind_name(record: Record) -> str:
    return str(record["type"])


DESCRIPTIONS: dict[Kind, Callable[[Record], str]] = {
    "project.init": lambda r: (
        f"project {r.get('name', '')!s} initialised" + (" (demo)" if r.get("demo") else "")
    ),
    "template.base": lambda r: "stage templates recorded as the project's starting process",
    "template.change": _template_change,
    "cycle.open": lambda r: f"cycle {r.get('cycle')} opened: {r.get('title', '')}",
    "cycle.request": lambda r: (
        f"cycle {r.get('cycle')} request recorded: {' '.join(str(r.get('text', '')).split())[:120]}"
    ),
    "cycle.move": _kind_name,
    "cycle.archive": _kind_name,
    "cycle.abandon": lambda r: f"cycle {r.get('cycle')} abandoned: {r.get('reason', '')}",
    "stage.reopen": lambda r: f"{r.get('stage')} reopened: {r.get('reason', '')}",
    "session.start": lambda r: (
        f"{r.get('session')} {r.get('stage')} started"
        + (f" with {r.get('agent')}" if r.get("agent") else "")
    ),
    "session.launch": lambda r: f"{r.get('session')} launched: {' '.join(strings(r, 'command'))}",
    "session.end": lambda r: (
        f"{r.get('session')} {r.get('outcome')}"
        + (f": {r.get('reason')}" if r.get("reason") else "")
    ),
    "gate.approve": _decision,
    "gate.reject": _decision,
    "question.answer": lambda r: (
        f"{r.get('question')} answered by {_who(r)}: {r.get('answer', '')}"
    ),
    "finding.add": lambda r: (
        f"{r.get('finding')} ({r.get('severity')}) found in {r.get('stage')}: {r.get('text', '')}"
    ),
    "finding.fix": lambda r: (
        f"{r.get('finding')} fixed by {r.get('session')}"
        + (f" at {str(r.get('commit'))[:12]}" if r.get("commit") else "")
    ),
    "finding.waive": lambda r: f"{r.get('finding')} waived: {r.get('reason', '')}",
    "task.reopen": lambda r: (
        f"{r.get('task')} reopened by {_who(r)}"
        + (f" for {r.get('finding')}" if r.get("finding") else "")
        + f": {r.get('reason', '')}"
    ),
    "verification.verdict": lambda r: (
        f"{r.get('session')} {r.get('item')}: {r.get('verdict')}"
        + (f" — {r.get('note')}" if r.get("note") else "")
    ),
    "verification.problem": lambda r: (
        f"{r.get('session')}: a problem no item covers ({r.get('severity', 'blocking')}): "
        f"{r.get('text', '')}"
    ),
    "verification.end": lambda r: (
        f"{r.get('session')}: the person's walkthrough ended"
        + (
            f"; findings {', '.join(map(str, r.get('findings') or []))}"
            if r.get("findings")
            else ""
        )
    ),
    "verify.run": _verify_run,
    "rules.accept": _rules_accept,
    "release": lambda r: (
        f"cycle {r.get('cycle')} released as {r.get('version')}"
        + (f" (tag {r.get('tag')})" if r.get("tag") else "")
        + (
            f"; known minor findings: {', '.join(strings(r, 'minor'))}"
            if strings(r, "minor")
            else ""
        )
    ),
    "history.migrate": lambda r: (
        f"the history went on in format 2 (from format {r.get('from_format')}; "
        "the old file is kept as it was)"
    ),
    "approver.add": lambda r: (
        f"approver {r.get('principal')} added" + (" (a recovery key)" if r.get("recovery") else "")
    ),
    "approver.revoke": lambda r: f"approver {r.get('fingerprint')} revoked",
    "session.exit": lambda r: (
        f"{r.get('session')}: the agent and all it started ended (exit {r.get('exit_code')})"
    ),
}


def describe(record: Record) -> str:
    """The record in words; a kind this sdd does not know is named as it stands."""
    return DESCRIPTIONS.get(record["type"], _kind_name)(record)


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

    number = None
    if cycle is not None:
        chosen = project.cycle(project.load(), cycle)
        number = chosen.number if chosen else None
    if limit is not None and limit > 0:
        # Only the files that hold the newest records are read: the cost follows the limit.
        newest = history.newest(
            project.paths, limit, lambda r: number is None or r.get("cycle") in (None, number)
        )
        if newest is not None:
            return entries(list(reversed(newest)), limit=limit)
    records = history.load(project.paths).records
    return entries(records, cycle=number, limit=limit)

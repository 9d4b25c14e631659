"""Session pages, ``docs/sessions/S-NNNN-<stage>.md``.

sdd writes the part between its markers and rewrites only that part; the Handoff
section after it belongs to whoever ran the session and is never rewritten (except
that ``sdd done --note`` fills the notes when they were left empty).
"""

from __future__ import annotations

from sdd.core.state import Session
from sdd.documents.snapshots import PLACEHOLDER

BEGIN = "<!-- sdd:begin: written by sdd; this part is rewritten, edits here are lost -->"
END = "<!-- sdd:end -->"
HANDOFF = "## Handoff"
NOTES = "### Notes"
NOTES_PLACEHOLDER = (
    f"{PLACEHOLDER} what you did, what you decided and why, what the next session must know]"
)


_ALWAYS = ("stage", "cycle", "started", "ended", "outcome", "agent", "HEAD before", "HEAD after")


def generated_part(session: Session, *, title: str, brief: str) -> str:
    rows = [
        ("stage", session.stage + (f" · task {session.task}" if session.task else "")),
        ("cycle", title),
        ("started", session.started),
        ("ended", session.ended or ""),
        ("outcome", session.outcome),
        ("agent", session.agent or "by hand"),
        ("command", " ".join(session.command) if session.command else ""),
        ("exit code", "" if session.exit_code is None else str(session.exit_code)),
        ("log", session.log or ""),
        ("why it ended", session.reason or ""),
        ("HEAD before", session.head_before or "(no commit yet)"),
        ("HEAD after", session.head_after or ""),
    ]
    lines = [BEGIN, f"# {session.id} · {session.stage}", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v.replace('|', '/')} |" for k, v in rows if v or k in _ALWAYS]
    lines += ["", "### Outputs", ""]
    if session.outputs:
        lines += [
            f"- [{p}](../{p.removeprefix('docs/')}) · sha256 `{h[:12]}`"
            for p, h in sorted(session.outputs.items())
        ]
    elif session.writes:
        lines += [f"- {p} (to write)" for p in session.writes]
    else:
        lines.append("- code and tests, committed")
    if session.changed:
        lines += ["", "### Files changed", ""] + [f"- `{p}`" for p in session.changed[:200]]
    safe_brief = brief.replace(END, "<!-- sdd-end -->")
    lines += [
        "",
        "<details><summary>Brief</summary>",
        "",
        safe_brief.strip(),
        "",
        "</details>",
        END,
        "",
    ]
    return "\n".join(lines)


def initial_handoff(checklist: tuple[str, ...]) -> str:
    lines = [
        HANDOFF,
        "<!-- This section belongs to whoever ran the session; sdd never rewrites it. Tick each",
        "     checklist item `- [x]`, or leave it `- [ ]` with `reason: why`; then replace the notes. -->",
        "",
        "### Checklist",
        "",
    ]
    lines += [f"- [ ] {item}" for item in checklist]
    lines += ["", NOTES, "", NOTES_PLACEHOLDER, ""]
    return "\n".join(lines)


def split(text: str) -> tuple[str, str]:
    """(generated part, the rest) of a page; the rest holds the Handoff."""
    start = text.find(BEGIN)
    end = text.find(END)
    if start < 0 or end < start:
        return "", text
    return text[start : end + len(END)], text[end + len(END) :]


def handoff_of(text: str) -> str:
    rest = split(text)[1]
    index = rest.find(HANDOFF)
    return rest[index:] if index >= 0 else ""


def notes_of(handoff: str) -> str:
    index = handoff.find(NOTES)
    if index < 0:
        return ""
    notes = handoff[index + len(NOTES) :]
    lines = [ln for ln in notes.splitlines() if not ln.startswith("<!--")]
    return "\n".join(lines).strip()


def fill_notes(text: str, note: str) -> str:
    """Put ``note`` where the notes placeholder still stands (the agent left them empty)."""
    generated, rest = split(text)
    if NOTES_PLACEHOLDER in rest:
        rest = rest.replace(NOTES_PLACEHOLDER, note.strip(), 1)
    elif not notes_of(handoff_of(text)):
        rest = rest.rstrip("\n") + "\n\n" + note.strip() + "\n"
    return generated + rest


def _normal(text: str) -> str:
    kept = "".join(c.lower() if c.isalnum() else " " for c in text)
    return " ".join(kept.split())


def unanswered(handoff: str, checklist: tuple[str, ...]) -> list[str]:
    """Checklist items neither ticked nor left open with a reason."""
    answers: list[tuple[bool, str, str]] = []  # (ticked, normalised text, raw line)
    for line in handoff.splitlines():
        stripped = line.strip()
        if stripped[:5].lower() in ("- [x]", "* [x]"):
            answers.append((True, _normal(stripped[5:]), stripped))
        elif stripped[:5] in ("- [ ]", "* [ ]"):
            answers.append((False, _normal(stripped[5:]), stripped))
    missing = []
    for item in checklist:
        key = _normal(item)[:40]
        match = next(
            (a for a in answers if a[1].startswith(key) or (a[1] and key.startswith(a[1]))), None
        )
        if match is None:
            missing.append(f"checklist item missing from the handoff: {item}")
            continue
        ticked, _, raw = match
        if ticked:
            continue
        reason = raw.lower().partition("reason:")[2].strip()
        if len(reason) < 3:
            missing.append(f"checklist item neither ticked nor left open with `reason: …`: {item}")
    return missing

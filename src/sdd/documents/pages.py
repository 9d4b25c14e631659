"""Session pages, ``docs/sessions/S-NNNN-<stage>.md``.

sdd writes the part between its markers and rewrites only that part; the Handoff
section after it belongs to whoever ran the session and is never rewritten (except
that ``sdd done --note`` fills the notes when they were left empty).
"""

from __future__ import annotations

from sdd.documents.snapshots import PLACEHOLDER

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.core.state import Session

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
    # No line of this part starts with `#`: nothing here can pass for the Handoff's heading.
    lines = [BEGIN, f"**Session {session.id} · {session.stage}**", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v.replace('|', '/')} |" for k, v in rows if v or k in _ALWAYS]
    lines += ["", "**Outputs**", ""]
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
        lines += ["", "**Files changed**", ""] + [f"- `{p}`" for p in session.changed[:200]]
    lines += ["", BRIEF_OPEN, "", _quote(brief), "", BRIEF_CLOSE, END, ""]
    return "\n".join(lines)


BRIEF_OPEN = "<details><summary>Brief</summary>"
BRIEF_CLOSE = "</details>"


def _quote(brief: str) -> str:
    """The brief as a block quote: its headings and rules stay readable, and no line of it
    starts with `#` (an agent looking for the Handoff's heading must not land in it)."""
    # A marker inside the brief (quoted from an earlier page) would split this page wrongly.
    safe = brief.replace("sdd:begin", "sdd-begin").replace("sdd:end", "sdd-end")
    return "\n".join(f"> {line}" if line.strip() else ">" for line in safe.strip().splitlines())


def brief_of(generated: str) -> str:
    """The brief a page's generated part holds, as it was composed (unquoted)."""
    inner = generated.partition(BRIEF_OPEN)[2].rpartition(BRIEF_CLOSE)[0].strip("\n")
    lines = inner.splitlines()
    if not all(line.startswith(">") for line in lines if line.strip()):
        return inner.strip()  # a page from before the brief was quoted
    return "\n".join(line[2:] if line.startswith("> ") else line[1:] for line in lines).strip()


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


BEGIN_MARK = "<!-- sdd:begin"  # the begin marker, however its explanation was edited


def damage(text: str) -> list[tuple[str, str]]:
    """What is wrong with a page's markers, each with what to restore: sdd rewrites the part
    between them, so with one missing, doubled or out of place it would cut or copy the page."""
    found: list[tuple[str, str]] = []
    begins, ends = text.count(BEGIN_MARK), text.count(END)
    keep = f"keep the first part from `{BEGIN_MARK} …` to `{END}` and delete the other copies"
    if begins == 0:
        found.append(
            (
                f"the marker `{BEGIN}` is missing",
                "put that line back as the page's first line, above the session's table",
            )
        )
    elif begins > 1:
        found.append((f"the part sdd writes is on the page {begins} times", keep))
    if ends == 0:
        found.append(
            (
                f"the marker `{END}` is missing",
                f"put the line `{END}` back right after the brief's `{BRIEF_CLOSE}`, "
                f"above `{HANDOFF}`",
            )
        )
    elif ends > 1 and begins <= 1:
        found.append(
            (
                f"the marker `{END}` is on the page {ends} times",
                f"keep the one right after the brief's `{BRIEF_CLOSE}` and delete the others",
            )
        )
    if begins == 1 and ends == 1 and text.find(END) < text.find(BEGIN_MARK):
        found.append(
            (
                f"the marker `{END}` stands before `{BEGIN_MARK} …`",
                f"move `{END}` back below the brief's `{BRIEF_CLOSE}`, above `{HANDOFF}`",
            )
        )
    headings = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == HANDOFF]
    if len(headings) > 1:
        found.append(
            (
                f"the heading `{HANDOFF}` is on the page {len(headings)} times "
                f"(lines {', '.join(map(str, headings))})",
                "keep one Handoff section: merge the others into it and delete their headings",
            )
        )
    generated = split(text)[0] if begins == 1 and ends == 1 else ""
    if headings and any(line.strip() == HANDOFF for line in generated.splitlines()):
        found.append(
            (
                f"the `{HANDOFF}` section is inside the part sdd rewrites (above `{END}`)",
                f"move it below the line `{END}`: sdd would overwrite it",
            )
        )
    return found


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


# Files an implement session changed outside its scope, each with why, in the Handoff.
OUTSIDE = "### Outside the scope"


def outside_reasons(handoff: str) -> dict[str, str]:
    """The `- path: why` items under ``OUTSIDE`` (a folder ending in `/` covers what is in it)."""
    index = handoff.find(OUTSIDE)
    if index < 0:
        return {}
    reasons: dict[str, str] = {}
    for line in handoff[index + len(OUTSIDE) :].splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            break  # the next heading
        if not stripped.startswith(("- ", "* ")):
            continue
        item = stripped[2:].strip()
        if item.startswith("`"):
            path, _, why = item[1:].partition("`")
        else:
            path, _, why = item.partition(":")
        why = why.strip().lstrip(":—–-").strip()
        if path.strip() and len(why) >= 3 and PLACEHOLDER not in why:
            reasons[path.strip().removeprefix("./")] = why
    return reasons


def reason_for(reasons: dict[str, str], path: str) -> str | None:
    for named, why in reasons.items():
        if path == named or path.startswith(named.rstrip("/") + "/"):
            return why
    return None

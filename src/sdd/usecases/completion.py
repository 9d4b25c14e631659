"""The rules that decide whether a session is complete, from evidence.

Each rule returns the list of what is missing; an empty list means it holds.
Later features (document contracts, verify) add rules to ``RULE_CHECKS``.
"""

from __future__ import annotations

from collections.abc import Callable

from sdd.core import files
from sdd.core.paths import ProjectPaths
from sdd.core.state import ProjectState, Session
from sdd.core.structs import dataclass
from sdd.documents import pages, snapshots
from sdd.documents.templates import StageTemplate
from sdd.system import gitrepo


@dataclass
class Evidence:
    """What the tool observed at the end of a session."""

    head: str | None
    dirty: dict[str, str]
    committed: list[str]
    outputs: dict[str, str]
    state: ProjectState | None = None
    checks: str = ""  # the fingerprint of the verify checks in force

    def changed(self, session: Session) -> list[str]:
        """Files changed since the session started, sdd's own files left out."""
        paths = set(self.committed)
        for path, digest in self.dirty.items():
            if session.dirty_before.get(path) != digest:
                paths.add(path)
        paths.update(p for p in session.dirty_before if p not in self.dirty)
        return sorted(p for p in paths if not gitrepo.is_own(p))


def observe(
    paths: ProjectPaths, session: Session, state: ProjectState | None = None, *, checks: str = ""
) -> Evidence:
    root = paths.root
    outputs = {}
    for relative in session.writes:
        digest = files.content_hash(paths.inside(relative))
        if digest is not None:
            outputs[relative] = digest
    return Evidence(
        head=gitrepo.head(root),
        dirty=gitrepo.dirty(root),
        committed=gitrepo.committed_changes(root, session.head_before),
        outputs=outputs,
        state=state,
        checks=checks,
    )


Check = Callable[[ProjectPaths, Session, StageTemplate, Evidence], list[str]]


def outputs_written(
    paths: ProjectPaths, session: Session, _t: StageTemplate, ev: Evidence
) -> list[str]:
    missing = []
    for relative in session.writes:
        text = files.read_text(paths.inside(relative))
        if text is None:
            missing.append(f"{relative}: not written")
        elif not text.strip():
            missing.append(f"{relative}: empty")
        else:
            lines = snapshots.placeholders(text)
            if lines:
                shown = ", ".join(str(n) for n in lines[:8]) + (" …" if len(lines) > 8 else "")
                missing.append(
                    f"{relative}:{lines[0]}: {len(lines)} placeholder line(s) still hold "
                    f"`{snapshots.PLACEHOLDER} …]` (lines {shown})"
                )
    return missing


def docs_only(_p: ProjectPaths, session: Session, _t: StageTemplate, ev: Evidence) -> list[str]:
    outside = [p for p in ev.changed(session) if not p.startswith("docs/")]
    if not outside:
        return []
    listed = ", ".join(outside[:10]) + (" …" if len(outside) > 10 else "")
    return [
        f"a {session.stage} session changes documents only, but files outside docs/ changed: "
        f"{listed} (revert them, or keep them for the implement stage)"
    ]


def committed(_p: ProjectPaths, session: Session, _t: StageTemplate, ev: Evidence) -> list[str]:
    problems = []
    if ev.head is None or ev.head == session.head_before:
        problems.append("no commit since the session started: commit the task's work")
    if ev.dirty:
        listed = ", ".join(sorted(ev.dirty)[:10]) + (" …" if len(ev.dirty) > 10 else "")
        problems.append(f"uncommitted changes: {listed} (commit them or revert them)")
    return problems


def checklist_answered(
    paths: ProjectPaths, session: Session, template: StageTemplate, _e: Evidence
) -> list[str]:
    text = files.read_text(paths.inside(session.page)) if session.page else None
    if text is None:
        return [f"{session.page}: the session page is missing"]
    handoff = pages.handoff_of(text)
    if not handoff:
        return [f"{session.page}: no `{pages.HANDOFF}` section"]
    problems = [f"{session.page}: {p}" for p in pages.unanswered(handoff, template.checklist)]
    notes = pages.notes_of(handoff)
    if not notes or snapshots.PLACEHOLDER in notes:
        problems.append(
            f"{session.page}: the handoff notes are empty: write them, or pass `sdd done --note TEXT`"
        )
    return problems


def contract(paths: ProjectPaths, session: Session, _t: StageTemplate, _e: Evidence) -> list[str]:
    from sdd.documents import check

    tracing = any(check.kind_of(w) in ("plan", "test-plan") for w in session.writes)
    return [str(m) for m in check.stage_messages(paths, session.writes, traceability=tracing)]


def verified(paths: ProjectPaths, session: Session, _t: StageTemplate, ev: Evidence) -> list[str]:
    from sdd.workflow.evidence import green_for

    own = session.id if paths.linked else None  # in a worktree: that session's own runs
    if ev.state is None or green_for(ev.state, paths.root, ev.dirty, ev.checks, own) is None:
        return ["no green `sdd verify` at HEAD: run `sdd verify` and make it pass"]
    return []


def no_blocking(_p: ProjectPaths, session: Session, _t: StageTemplate, ev: Evidence) -> list[str]:
    cycle = ev.state.cycles.get(session.cycle) if ev.state else None
    blocking = cycle.open_blocking() if cycle else []
    return [f"blocking finding {f.id} is open: {f.text}" for f in blocking]


def has_figures(
    paths: ProjectPaths, session: Session, _t: StageTemplate, _e: Evidence
) -> list[str]:
    from sdd.usecases import postmortem

    missing = []
    for relative in session.writes:
        text = files.read_text(paths.inside(relative)) or ""
        if postmortem.BEGIN not in text or postmortem.END not in text:
            missing.append(
                f"{relative}: the figures are missing: run `sdd postmortem` to write them"
            )
    return missing


def verdicts_given(
    paths: ProjectPaths, session: Session, _t: StageTemplate, ev: Evidence
) -> list[str]:
    """The preparation of a person's stage: every criterion and test case is an item, with
    its steps and expected result, and the page says how to run the feature. The person's
    verdicts come after the session, with `sdd walkthrough`."""
    from sdd.documents.verification import coverage

    problems: list[str] = []
    for relative in session.writes:
        problems += coverage(paths, relative)
    return problems


def documents_changed(
    paths: ProjectPaths, session: Session, _t: StageTemplate, _e: Evidence
) -> list[str]:
    """A thinking session completes only with work in its documents: at least one of them
    differs from what it held when the session started."""
    root = paths.root
    for relative in session.writes:
        if relative in session.dirty_before:  # uncommitted at the start: its content was hashed
            if not _as_at_start(paths, session, relative):
                return []
        elif gitrepo.blob_at(root, session.head_before, relative) != gitrepo.blob_of(
            root, relative
        ):
            return []
    if not session.writes:
        return []
    listed = ", ".join(session.writes)
    return [
        f"{listed}: unchanged since the session started: a {session.stage} session completes "
        "only with work in its documents (if nothing needed changing, `sdd abandon` it)"
    ]


def scope_of(paths: ProjectPaths, session: Session, ev: Evidence) -> tuple[list[str] | None, str]:
    """The files the session may change (None: the tree outside docs/ and .sdd/), and what
    they belong to: the task's `Scope:`; a fix session's finding and a session without a
    task have the default."""
    from sdd.documents import check

    cycle = ev.state.cycles.get(session.cycle) if ev.state else None
    if session.finding:
        return None, f"finding {session.finding}"
    if cycle is None or not session.task:
        return None, "session"
    task = next((t for t in check.approved_tasks(paths, cycle) or [] if t.id == session.task), None)
    return (task.scope or None) if task else None, f"task {session.task}"


def _as_at_start(paths: ProjectPaths, session: Session, relative: str) -> bool:
    """Uncommitted when the session started and committed as it was then: not its work."""
    before = session.dirty_before.get(relative)
    if before is None:
        return False
    now = files.content_hash(paths.inside(relative))
    return (now if now is not None else "deleted") == before


def in_scope(paths: ProjectPaths, session: Session, _t: StageTemplate, ev: Evidence) -> list[str]:
    """Work committed within the scope since the session started; every file changed outside
    it has a reason in the handoff."""
    from sdd.documents import scope as scopes

    allowed, whose = scope_of(paths, session, ev)
    work = [
        p for p in ev.committed if not gitrepo.is_own(p) and not _as_at_start(paths, session, p)
    ]
    outside = [p for p in work if not scopes.covers(allowed, p)]
    problems = []
    if len(outside) == len(work):
        problems.append(
            f"no committed change within the {whose}'s scope ({scopes.describe(allowed)}) since "
            "the session started: commit the work itself (documents and sdd's own files are not "
            "a task's work unless its scope names them)"
        )
    text = files.read_text(paths.inside(session.page)) if session.page else None
    reasons = pages.outside_reasons(pages.handoff_of(text)) if text else {}
    unexplained = [p for p in outside if not pages.reason_for(reasons, p)]
    if unexplained:
        listed = ", ".join(unexplained[:10]) + (" …" if len(unexplained) > 10 else "")
        problems.append(
            f"changed outside the {whose}'s scope ({scopes.describe(allowed)}): {listed}: give "
            f"each a reason in the handoff, under `{pages.OUTSIDE}` (`- path: why`), or revert it"
        )
    return problems


def code_traced(
    paths: ProjectPaths, session: Session, _t: StageTemplate, ev: Evidence
) -> list[str]:
    from sdd.documents import code_trace

    cycle = ev.state.cycles.get(session.cycle) if ev.state else None
    if cycle is None or ev.state is None:
        return []
    found = code_trace.for_cycle(paths, ev.state, cycle)
    if not found:
        return []
    return [str(m) for m in found] + [
        "every test case of a done task is named by the test that checks it, and no test names "
        "an unknown id (`sdd check --code`): name each where it is tested, or write the test"
    ]


RULE_CHECKS: dict[str, Check] = {
    "outputs": outputs_written,
    "contract": contract,
    "docs-only": docs_only,
    "committed": committed,
    "checklist": checklist_answered,
    "verify": verified,
    "no-blocking": no_blocking,
    "figures": has_figures,
    "verdicts": verdicts_given,
    "changed": documents_changed,
    "scope": in_scope,
    "traced": code_traced,
}


def missing(
    paths: ProjectPaths,
    session: Session,
    rules: tuple[str, ...],
    template: StageTemplate,
    ev: Evidence,
) -> list[str]:
    problems: list[str] = []
    for rule in rules:
        problems += RULE_CHECKS[rule](paths, session, template, ev)
    return problems

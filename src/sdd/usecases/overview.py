"""The overview: a project read into plain data for the dashboard. The latest cycles with
their stages, gates, next action, tasks, sessions and findings; the spec's questions; the
latest verify evidence; for a cycle that has had its post-mortem, the figures for its
charts; and every older cycle as a summary (``"summary": true``: title, state, counts).
"""

from __future__ import annotations

import os
from functools import lru_cache

from sdd import __version__
from sdd.core import clock, digest, history
from sdd.core.errors import SddError
from sdd.core.jsonable import to_json
from sdd.project import cache
from sdd.project.project import DocHasher, Project
from sdd.workflow import tracker

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.state import Cycle, ProjectState

# The cycles drawn in full: the latest ones. An older cycle is a row of the table, drawn
# from what the checkpoint's head keeps of it, so the page's cost follows the latest
# cycles, not the history (`sdd status --cycle N` shows any cycle in full).
DRAWN = 10


def _summary(cycle: Cycle) -> dict[str, Any]:
    from sdd.core.checkpoint_codec import counts

    sessions, open_findings = counts(cycle)
    state = "abandoned" if cycle.closed else "earlier"
    return {
        "number": cycle.number,
        "summary": True,
        "archived": cycle.archived,
        "title": cycle.title,
        "slug": cycle.slug,
        "state": state,
        "opened": cycle.opened,
        "sessions": sessions,
        "open_findings": open_findings,
    }


def overview(project: Project) -> dict[str, Any]:
    """Everything the page shows, as plain data."""
    paths = project.paths
    with history.shared(paths):
        state = project.load()
    workflow = project.rule_state(state).in_force.workflow
    hasher = DocHasher(paths)
    latest = state.latest_cycle()
    exists = _Exists(paths.root)
    numbers = sorted(state.cycles)
    drawn = set(numbers[-DRAWN:])
    cycles = [
        _cycle(project, state, state.cycles[n], hasher, exists, state.cycles[n] is latest)
        if n in drawn
        else _summary(state.cycles[n])
        for n in numbers
    ]
    verify = dict(state.last_run) if state.last_run else None
    for shown in cycles:
        if shown.get("summary"):
            continue
        # Each cycle shows its own latest evidence; the latest cycle the project's latest.
        runs = state.cycles[shown["number"]].verify_runs
        own = dict(runs[-1]) if runs else None
        shown["verify"] = verify if shown["number"] == (latest and latest.number) else own
    return {
        "project": state.name or os.path.basename(paths.root),
        "demo": state.demo,
        "sdd": __version__,
        "generated": clock.iso(clock.now()),
        "latest": latest.number if latest else None,
        "cycles": cycles,
        "verify": verify,
        "fix_stage": _fix_stage(workflow),
        "records": state.records,
        "problems": [
            {
                "line": p.line,
                "file": p.file,
                "place": p.place,
                "record": p.record_id,
                "what": p.what,
                "tamper": p.tamper,
            }
            for p in state.problems
        ],
        "warnings": list(state.warnings),
        "signing": tracker.signing(state),
    }


class _Exists:
    """Whether a project-relative file exists (links are drawn only to files that do)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.seen: dict[str, bool] = {}

    def __call__(self, relative: str) -> bool:
        if relative not in self.seen:
            self.seen[relative] = bool(relative) and os.path.isfile(
                os.path.join(self.root, relative)
            )
        return self.seen[relative]


def _own_documents(cycle: Cycle, is_latest: bool) -> bool:
    """Whether the documents in the cycle's folder are still its own: always in the
    per-cycle layout; in the living layout only for the latest cycle."""
    return is_latest or cycle.docs != "docs"


def _questions(project: Project, state: ProjectState, cycle: Cycle) -> dict[str, Any] | None:
    from sdd.documents import check
    from sdd.usecases.questions import Listing

    path = check.doc("spec", cycle.docs)
    try:
        parsed = check.parse_file(project.paths, path, "spec")
    except SddError:
        return None
    if parsed is None:
        return None
    spec = parsed.spec
    listing = Listing(
        path,
        spec.questions if spec else [],
        spec.confidence if spec else None,
        project.rule_state(state).in_force.threshold,
    )
    return to_json(listing)  # type: ignore[no-any-return]


def _cycle(
    project: Project,
    state: ProjectState,
    cycle: Cycle,
    hasher: DocHasher,
    exists: _Exists,
    is_latest: bool,
) -> dict[str, Any]:
    from sdd.usecases import findings, tasks

    workflow = project.rule_state(state).in_force.workflow
    position = project.position(state, cycle, hasher)
    panel = tracker.panel(state, cycle, position)
    own = _own_documents(cycle, is_latest)
    approved = project.approved_tasks(cycle)
    draft = False
    if approved is None and own:
        from sdd.documents import check

        try:
            parsed = check.parse_file(project.paths, check.doc("plan", cycle.docs), "plan")
        except SddError:
            parsed = None
        approved = parsed.tasks if parsed and parsed.tasks else None
        draft = approved is not None
    rows = tasks.rows(position, approved) if approved else []
    sessions = []
    for s in cycle.sessions:
        sessions.append(
            {
                "id": s.id,
                "stage": s.stage,
                "task": s.task,
                "finding": s.finding,
                "outcome": s.outcome,
                "started": s.started,
                "ended": s.ended,
                "seconds": _span(s.started, s.ended),
                "page": s.page if exists(s.page) else None,
                "agent": s.agent,
                "reason": s.reason,
                "outputs": [(p, exists(p)) for p in sorted(s.outputs)],
            }
        )
    postmortem = None
    if cycle.completions.get("postmortem") and "postmortem" in position.names:
        from sdd.usecases import postmortem as pm

        document = pm.document_path(cycle, workflow)
        postmortem = {
            "document": document if document and exists(document) else None,
            "figures": pm.figures(state, cycle, workflow),
        }
    open_cycle = panel["cycle"]["state"] == "open"
    return {
        "number": cycle.number,
        "archived": cycle.archived,
        "panel": panel,
        "tasks": rows,
        "draft_tasks": draft,
        "sessions": sessions,
        "findings": findings.rows(cycle),
        "questions": _questions(project, state, cycle) if own and open_cycle else None,
        "loops": sum(1 for r in cycle.loops if r.stage == _fix_stage(workflow)),
        "postmortem": postmortem,
    }


def _fix_stage(workflow: Any) -> str | None:
    return next((s.name for s in workflow.stages if s.repeat == "per-task"), None)


@lru_cache(maxsize=65536)
def _seconds(stamp: str | None) -> float | None:
    return clock.seconds_of(stamp) if stamp else None


def _span(start: str | None, end: str | None) -> float | None:
    a, b = _seconds(start), _seconds(end)
    return None if a is None or b is None else max(0.0, b - a)


def state_version(project: Project) -> str:
    """Changes when anything the page shows may have changed: the history, the config, or
    a file under docs/ (a document edited after its approval turns a gate stale)."""
    paths = project.paths
    parts: list[object] = [cache.history_key(paths), cache.file_key(paths.config)]
    count = size = newest = 0
    stack = [paths.docs]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            count += 1
            size += st.st_size
            newest = max(newest, st.st_mtime_ns)
    parts += [count, size, newest]
    return digest.sha256_hex(repr(parts).encode())[:20]

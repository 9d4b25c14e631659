"""The public API. The command line, the MCP server and the dashboard call these.

Imports happen inside the functions: `sdd status` and `sdd next` must not pay for
modules they do not use.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.paths import ProjectPaths
    from sdd.demo.driver import DemoResult
    from sdd.documents.check import Report as CheckReport
    from sdd.project.project import Project
    from sdd.usecases.approvals import Confirm, DecisionResult, Review
    from sdd.usecases.briefs import Brief
    from sdd.usecases.init import InitResult
    from sdd.usecases.release import Released
    from sdd.usecases.runner import RunResult
    from sdd.usecases.sessions import SessionResult


class Panel:
    """The control panel of one cycle: ``data`` (the documented shape) and its JSON text."""

    def __init__(self, data: dict[str, Any], json_text: str | None, next_json: str | None) -> None:
        self.data = data
        self._json = json_text
        self._next_json = next_json

    def json(self) -> str:
        if self._json is None:
            import json

            self._json = json.dumps(self.data, ensure_ascii=False, sort_keys=True)
        return self._json

    def next_json(self) -> str:
        if self._next_json is None:
            import json

            self._next_json = json.dumps(self.data["next"], ensure_ascii=False, sort_keys=True)
        return self._next_json


def find_root(start: str | None = None) -> str:
    from sdd.core.paths import require_root

    return require_root(start)


def open_project(start: str | None = None) -> Project:
    from sdd.project.project import Project

    return Project.find(start)


def init(directory: str = ".", *, title: str | None = None, demo: bool = False) -> InitResult:
    from sdd.usecases.init import init as _init

    return _init(directory, title=title, demo=demo)


def status(root: str, *, cycle: str | None = None) -> Panel:
    """The control panel; answered from the cache when nothing changed."""
    from sdd.core.paths import ProjectPaths
    from sdd.project import cache

    paths = ProjectPaths(root)
    if cycle is None:
        entry = cache.read(paths)
        if entry is not None:
            if cache.file_key(paths.tracker) != entry["tracker"]:
                _heal_tracker(paths, entry)
            return Panel(entry["panel"], entry["panel_json"], entry["next_json"])
    from sdd.core import history
    from sdd.project.project import DocHasher, Project

    project = Project(root)
    with history.locked(paths):
        state = project.load()
        if cycle is None:
            return Panel(project.refresh(state), None, None)
        return Panel(
            project.panel(state, project.cycle(state, cycle), DocHasher(paths)), None, None
        )


def _heal_tracker(paths: Any, entry: dict[str, Any]) -> None:
    """The tracker page was edited or hit by a merge conflict: write it again."""
    from sdd.core import files
    from sdd.project import cache

    files.write_atomic(paths.tracker, entry["tracker_text"])
    entry["tracker"] = cache.file_key(paths.tracker)
    cache.write(paths, entry)


def prompt(
    project: Project, stage: str | None = None, *, cycle: str | None = None, task: str | None = None
) -> Brief:
    """The brief for the next (or the named) session; refused where a session could not start."""
    from sdd.usecases import sessions

    return sessions.preview(project, stage, cycle=cycle, task=task)


def start(
    project: Project,
    stage: str | None = None,
    *,
    cycle: str | None = None,
    agent: str | None = None,
    task: str | None = None,
) -> SessionResult:
    from sdd.usecases import sessions

    return sessions.start(project, stage, cycle=cycle, agent=agent, task=task)


def done(
    project: Project, *, note: str | None = None, cycle: str | None = None, progress: Any = None
) -> SessionResult:
    from sdd.usecases import sessions

    return sessions.done(project, note=note, cycle=cycle, progress=progress)


def abandon_session(
    project: Project, *, reason: str | None = None, cycle: str | None = None
) -> SessionResult:
    from sdd.usecases import sessions

    return sessions.abandon(project, reason=reason, cycle=cycle)


def abandon_cycle(project: Project, *, reason: str, cycle: str | None = None) -> int:
    from sdd.usecases import cycles

    return cycles.abandon(project, reason=reason, cycle=cycle)


def new_cycle(project: Project, title: str, *, discovery: bool = False) -> int:
    from sdd.usecases import cycles

    return cycles.new(project, title, discovery=discovery)


def review_gate(project: Project, gate: str, *, cycle: str | None = None) -> Review:
    from sdd.usecases import approvals

    return approvals.review(project, gate, cycle=cycle)


def decide_gate(
    project: Project,
    gate: str,
    *,
    approve: bool,
    confirm: Confirm,
    stdin_is_tty: bool,
    reason: str | None = None,
    to: str | None = None,
    cycle: str | None = None,
    demo: bool = False,
) -> DecisionResult:
    from sdd.usecases import approvals

    return approvals.decide(
        project,
        gate,
        approve=approve,
        confirm=confirm,
        stdin_is_tty=stdin_is_tty,
        reason=reason,
        to=to,
        cycle=cycle,
        demo=demo,
    )


def check(
    root: str, documents: list[str] | None = None, *, cycle: str | None = None
) -> CheckReport:
    """Every named (or core) document against its contract, and traceability between them."""
    from sdd.core.paths import ProjectPaths
    from sdd.documents import check as _check

    paths = ProjectPaths(root)
    return _check.check(paths, documents, _docs_folder(paths, cycle))


def _docs_folder(paths: ProjectPaths, cycle: str | None) -> str:
    """Where the cycle keeps its documents: read from the panel cache while it is valid (the
    history unchanged), so a check need not fold the history; else from the history."""
    if cycle is None:
        from sdd.project import cache

        entry = cache.read(paths, documents=False)  # the folder follows from the history
        if entry is not None:
            current = entry["panel"].get("cycle")
            folder = current.get("docs") if isinstance(current, dict) else "docs"
            if isinstance(folder, str):
                return folder
    from sdd.project.project import Project

    project = Project(paths.root)
    chosen = project.cycle(project.load(), cycle)
    return chosen.docs if chosen else "docs"


def tasks(project: Project, *, cycle: str | None = None) -> list[dict[str, Any]]:
    """The approved plan's tasks with their tracker status and what each waits on."""
    from sdd.usecases import tasks as _tasks

    state = project.load()
    chosen = project.cycle(state, cycle)
    if chosen is None:
        return []
    approved = project.approved_tasks(chosen)
    if approved is None:
        from sdd.documents import check as _check

        parsed = _check.parse_file(project.paths, _check.doc("plan", chosen.docs), "plan")
        approved = parsed.tasks if parsed and parsed.tasks else []
    return _tasks.rows(project.position(state, chosen), approved)


def log(
    project: Project, *, cycle: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    from sdd.core import history
    from sdd.usecases.log import entries

    records = history.load(project.paths).records
    number = None
    if cycle is not None:
        chosen = project.cycle(project.load(), cycle)
        number = chosen.number if chosen else None
    return entries(records, cycle=number, limit=limit)


def run(
    project: Project,
    stage: str | None = None,
    *,
    agent: str | None = None,
    headless: bool = False,
    task: str | None = None,
    timeout: float | None = None,
    cycle: str | None = None,
    on_launch: Any = None,
) -> RunResult:
    from sdd.usecases import runner

    return runner.run(
        project,
        stage,
        agent=agent,
        headless=headless,
        task=task,
        timeout=timeout,
        cycle=cycle,
        on_launch=on_launch,
    )


def agent_list(project: Project | None) -> list[dict[str, Any]]:
    """The agent presets (and the project's own agents), which are installed, which is default."""
    from sdd.agents import presets

    known = dict(presets.PRESETS)
    default = None
    if project is not None:
        known = presets.from_config(project.config.raw, project.paths.rel(project.paths.config))
        section = project.config.raw.get("agents", {})
        default = section.get("default") if isinstance(section, dict) else None
    first_installed = next((p.name for p in known.values() if presets.installed(p)), None)
    chosen = default or first_installed
    return [
        {
            "name": p.name,
            "installed": presets.installed(p),
            "default": p.name == chosen,
            "builtin": p.builtin,
            "interactive": list(p.interactive),
            "headless": list(p.headless),
        }
        for p in known.values()
    ]


def demo(directory: str, *, on_step: Any = None) -> DemoResult:
    from sdd.demo.driver import demo as _demo

    return _demo(directory, on_step=on_step)


def person_stage_to_run(project: Project, stage: str | None) -> str | None:
    """The stage `sdd run` would run, when it is a person's stage (user verification)."""
    from sdd.usecases import sessions

    state = project.load()
    cycle = state.latest_cycle()
    workflow = project.config.workflow
    open_session = cycle.open_session() if cycle else None
    if open_session is not None and stage in (None, open_session.stage):
        name = open_session.stage
    else:
        name = sessions.check_admission(project, stage)
    return name if name in workflow.by_name and workflow.stage(name).actor == "person" else None


def release(project: Project, *, tag: str | None = None, cycle: str | None = None) -> Released:
    from sdd.usecases import release as _release

    return _release.release(project, tag=tag, cycle=cycle)


def postmortem(project: Project, *, cycle: str | None = None) -> dict[str, Any]:
    """The cycle's figures from the history; also written into its post-mortem when it exists."""
    from sdd.usecases import postmortem as _postmortem

    state = project.load()
    chosen = project.cycle(state, cycle)
    if chosen is None:
        from sdd.core.errors import Refused

        raise Refused("there is no cycle yet")
    data = _postmortem.figures(state, chosen, project.config.workflow)
    relative = _postmortem.document_path(chosen, project.config.workflow)
    data["document"] = None
    if relative and os.path.exists(project.paths.inside(relative)):
        _postmortem.fill(project.paths, relative, data)
        data["document"] = relative
    return data


def templates_diff(project: Project) -> list[Any]:
    from sdd.documents import template_upgrade

    return template_upgrade.diff(project.paths)


def templates_upgrade(project: Project) -> Any:
    from sdd.documents import template_upgrade

    with project.transaction() as tx:
        project.note_template_changes(tx)  # hand edits before the upgrade are their own change
        before = project.template_hashes()
        result = template_upgrade.upgrade(project.paths)
        after = project.template_hashes()
        changed = {p: h for p, h in after.items() if before.get(p) != h}
        if changed:
            cycle = tx.state.latest_cycle()
            tx.record(
                "template.change",
                cycle=cycle.number if cycle else None,
                hashes=changed,
                previous={p: before.get(p) for p in changed},
                source="sdd templates upgrade",
            )
    return result


def status_all(project: Project) -> list[dict[str, Any]]:
    """The panel of every cycle that is not archived, oldest first."""
    from sdd.core import history
    from sdd.project.project import DocHasher

    with history.locked(project.paths):
        state = project.load()
    hasher = DocHasher(project.paths)
    return [project.panel(state, c, hasher) for c in state.cycles.values() if not c.archived]


def change(project: Project, stage: str, text: str, *, cycle: str | None = None) -> dict[str, Any]:
    from sdd.usecases import cycles

    return cycles.change(project, stage, text, cycle=cycle)


def archive(project: Project, *, cycle: str | None = None) -> int:
    from sdd.usecases import cycles

    return cycles.archive(project, cycle=cycle)


def switch_layout(project: Project, layout: str) -> dict[str, Any]:
    from sdd.core.errors import UsageError
    from sdd.usecases import cycles

    if layout != "per-cycle":
        raise UsageError("only a switch to the per-cycle layout is supported: sdd layout per-cycle")
    return cycles.switch_to_per_cycle(project)


# ----------------------------------------------------------------------------- agents (issue 9)


def install_agents(
    project: Project,
    agents: list[str] | None = None,
    *,
    every: bool = False,
    mcp: bool = False,
    create_only: bool = False,
) -> Any:
    """Write the stages as the agents' own skills or commands (see ``sdd.agentfiles``)."""
    from sdd.agents import installer

    return installer.install(project, agents or (), every=every, mcp=mcp, create_only=create_only)


def uninstall_agents(
    project: Project, agents: list[str] | None = None, *, every: bool = False
) -> Any:
    """Remove exactly what ``install_agents`` wrote, for the named agents or all."""
    from sdd.agents import installer

    return installer.uninstall(project, agents or (), every=every)


def spec_questions(project: Project, *, cycle: str | None = None) -> dict[str, object]:
    from sdd.usecases import questions

    return questions.listing(project, cycle).to_json()


def finding_rows(project: Project, *, cycle: str | None = None) -> list[dict[str, Any]]:
    from sdd.usecases import findings

    chosen = project.cycle(project.load(), cycle)
    return findings.rows(chosen) if chosen else []


def record_question(
    project: Project, text: str, *, blocking: bool, cycle: str | None = None
) -> tuple[str, str]:
    """Append an open question for the person to the spec; returns (id, path)."""
    from sdd.usecases import agent_records

    return agent_records.add_question(project, text, blocking=blocking, cycle=cycle)


def record_finding(
    project: Project,
    severity: str,
    text: str,
    *,
    stage: str | None = None,
    escaped_from: str | None = None,
    cycle: str | None = None,
) -> str:
    from sdd.usecases import findings

    return findings.add(
        project, findings.Raised(severity, text, escaped_from), stage=stage, cycle=cycle
    )


def record_handoff(
    project: Project,
    notes: str,
    checklist: list[tuple[str, bool, str]] | None = None,
    *,
    cycle: str | None = None,
) -> str:
    """Write the open session's handoff (checklist answers and notes); returns its page."""
    from sdd.usecases import agent_records

    answers = [agent_records.Answer(item, done, reason) for item, done, reason in checklist or []]
    return agent_records.write_handoff(project, notes, answers, cycle=cycle)


def document_path(project: Project, kind: str, *, cycle: str | None = None) -> str | None:
    """Where the cycle keeps a core document (spec, architecture, plan, test-plan)."""
    from sdd.documents import check as _check

    chosen = project.cycle(project.load(), cycle)
    return _check.doc(kind, chosen.docs if chosen else "docs")


def session_pages(project: Project) -> list[dict[str, Any]]:
    """Every session's id, stage, cycle, outcome and page."""
    state = project.load()
    return [
        {"id": s.id, "stage": s.stage, "cycle": s.cycle, "outcome": s.outcome, "page": s.page}
        for s in state.sessions.values()
    ]


def dashboard(project: Project, *, prefix: str = "/", live: bool = False, version: str = "") -> str:
    """The dashboard page: every cycle as one self-contained HTML page (``sdd.dashboard``).
    ``prefix`` goes before links to project files: "/" when served, a relative path in a file."""
    from sdd.web import dashboard as _dashboard

    return _dashboard.page(project, prefix=prefix, live=live, version=version)


def doctor(project: Project) -> Any:
    from sdd.usecases import doctor as _doctor

    return _doctor.diagnose(project)

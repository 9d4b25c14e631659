"""Sessions by hand: start, done, abandon. `sdd run` (the agent runner) uses the same."""

from __future__ import annotations

import contextlib
import os

from sdd.core import clock, files
from sdd.core.errors import CheckFailed, NothingToVerify, Refused, SddError, UsageError
from sdd.core.jsonable import OMIT
from sdd.core.state import Cycle, Session
from sdd.core.structs import dataclass, field
from sdd.documents import pages, templates
from sdd.project.project import Project, Transaction, refuse_if_tampered
from sdd.system import gitrepo
from sdd.usecases import briefs, completion, findings
from sdd.workflow.gates import admit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@dataclass
class SessionResult:
    session: str
    stage: str
    cycle: int
    outcome: str
    page: str
    writes: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    brief: str = field(default="", metadata=OMIT)  # long: the page and `sdd prompt` hold it
    task: str | None = None
    finding: str | None = None
    missing: list[str] = field(default_factory=list)
    next: dict[str, object] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)  # recorded from its reports
    renamed: dict[str, str] = field(default_factory=dict)  # a report's finding id -> sdd's


def _cycle_for(tx: Transaction, selector: str | None) -> Cycle:
    cycle = tx.project.cycle(tx.state, selector)
    if cycle is None:
        raise Refused("there is no cycle yet", hint='open one: sdd new "TITLE"')
    return cycle


def stage_to_run(tx: Transaction, cycle: Cycle, stage: str | None) -> str:
    if stage:
        return stage
    position = tx.project.position(tx.state, cycle)
    if position.current is None:
        raise Refused(
            f"cycle {cycle.number} is finished", hint='open the next one: sdd new "TITLE"'
        )
    return position.current


def _where(project: Project, stage: str | None, cycle: str | None) -> tuple[Any, Cycle, Any, str]:
    """The state, the cycle, its position, and the stage meant (the next one by default)."""
    state = project.load()
    chosen = project.cycle(state, cycle)
    if chosen is None:
        raise Refused("there is no cycle yet", hint='open one: sdd new "TITLE"')
    position = project.position(state, chosen)
    name = stage or position.current
    if name is None:
        raise Refused(
            f"cycle {chosen.number} is finished", hint='open the next one: sdd new "TITLE"'
        )
    return state, chosen, position, name


def check_admission(
    project: Project, stage: str | None, *, cycle: str | None = None, finding: str | None = None
) -> str:
    """Refuse now, before anything else happens, what `start` would refuse. Returns the stage."""
    _state, chosen, position, name = _where(project, stage, cycle)
    if finding is not None:  # a fix session: of the per-task stage, unless another is named
        name = stage or position.per_task_stage() or name
        _fixable(chosen, position, name, finding, None)
    admit(position, name, fixing=finding is not None)
    return name


def start(
    project: Project,
    stage: str | None = None,
    *,
    cycle: str | None = None,
    agent: str | None = None,
    task: str | None = None,
    finding: str | None = None,
    alongside: bool = False,
) -> SessionResult:
    """``finding``: a fix session for that finding (any severity, open), even after the gates
    that followed the per-task stage. ``alongside``: a parallel session, started while
    others of the per-task stage are open (`sdd run --parallel`)."""
    with project.transaction() as tx:
        chosen = _cycle_for(tx, cycle)
        position = project.position(tx.state, chosen)
        fixer = position.per_task_stage() if finding is not None else None
        name = stage_to_run(tx, chosen, stage or fixer)
        if finding is not None:
            finding = _fixable(chosen, position, name, finding, task)
        admit(position, name, fixing=finding is not None, alongside=alongside)
        refuse_if_tampered(tx.state, f"starting {name}")
        stage_def = position.workflow.stage(name)
        if stage_def.repeat != "per-task" and task is not None:
            raise UsageError(f"--task applies to the {name} stage only when it works task by task")
        plan = _plan(project, tx.state, chosen, position, stage_def, task, finding)
        session_id, page, writes, task, finding = (
            plan.session,
            plan.page,
            plan.writes,
            plan.task,
            plan.finding,
        )
        template = briefs.for_finding(templates.load(project.paths, name), plan.finding)
        brief = _brief(project, tx.state, chosen, position, stage_def, plan)
        root = project.paths.root
        head = gitrepo.head(root)
        dirty = gitrepo.dirty(root)
        code = gitrepo.code_key(root) if stage_def.repeat == "per-task" else None
        _lay_scaffolds(tx, chosen, stage_def.scaffold, writes)
        if "figures" in stage_def.rules:
            from sdd.usecases import postmortem

            data = postmortem.figures(tx.state, chosen, position.workflow)
            for relative in writes:
                postmortem.fill(project.paths, relative, data)
        session = Session(
            id=session_id,
            record="",
            cycle=chosen.number,
            stage=name,
            task=task,
            started=clock.iso(clock.now()),
            page=page,
            head_before=head,
            dirty_before=dirty,
            agent=agent,
            writes=writes,
        )
        page_path = project.paths.inside(page)
        if os.path.exists(page_path):
            raise Refused(f"{page} already exists; sdd will not overwrite it", hint="move it aside")
        title = f"{chosen.number} · {chosen.title}"
        tx.create(
            page_path,
            pages.generated_part(session, title=title, brief=brief.text)
            + "\n"
            + pages.initial_handoff(template.checklist),
            display=page,
        )
        tx.record(
            "session.start",
            session=session_id,
            cycle=chosen.number,
            stage=name,
            page=page,
            head=head,
            dirty=dirty,
            agent=agent,
            task=task,
            finding=finding,
            writes=writes,
            **({"code": code} if code else {}),
        )
    return SessionResult(
        session_id,
        name,
        chosen.number,
        "open",
        page,
        writes,
        brief=brief.text,
        task=task,
        finding=finding,
    )


def _fixable(cycle: Cycle, position: Any, stage: str, ident: str, task: str | None) -> str:
    """The finding `start --finding` names, checked: open, and fixed in the per-task stage."""
    fixer = position.per_task_stage()
    if task is not None:
        raise UsageError("--finding or --task: a fix session works on a finding, not a task")
    if stage != fixer:
        raise UsageError(f"--finding applies to a fix session: sdd start {fixer} --finding ID")
    found = cycle.findings.get(ident.strip().upper())
    if found is None:
        known = ", ".join(f.id for f in cycle.findings.values() if f.status == "open")
        raise UsageError(
            f"--finding {ident}: no such finding in this cycle",
            hint=f"open findings: {known}" if known else "see `sdd findings`",
        )
    if found.status != "open":
        raise Refused(f"{found.id} is already {found.status}", hint="see `sdd findings`")
    return found.id


def _bind_finding(
    cycle: Cycle, requested_task: str | None, requested: str | None = None
) -> tuple[str | None, str]:
    """A fix session: bound to the finding asked for, else to the first open blocking
    finding (unless a task was asked for)."""
    if requested_task is not None:
        return None, ""
    blocking = cycle.open_blocking()
    if requested is not None:
        found = cycle.findings[requested]
    elif blocking:
        found = blocking[0]
    else:
        return None, ""
    escaped = f"; it escaped from {found.escaped_from}" if found.escaped_from else ""
    lines = [
        f"## Your fix: {found.id} ({found.severity}, found in {found.stage}{escaped})",
        "",
        found.text,
        "",
        "First write a test that reproduces it and fails; then fix it, run the whole suite, commit.",
        "This finding closes when this session completes with a green `sdd verify`.",
    ]
    others = [f.id for f in blocking if f.id != found.id]
    if others:
        lines.append(f"Other open blocking findings get their own sessions: {', '.join(others)}.")
    return found.id, "\n".join(lines)


def _bind_task(
    project: Project, position: Any, cycle: Cycle, requested: str | None
) -> tuple[str | None, str]:
    """The task an implement session works on, and the brief's section about it."""
    from sdd.usecases import tasks as plan_tasks

    approved = project.approved_tasks(cycle)
    if not approved:
        if requested is not None:
            raise UsageError("--task: the approved plan has no tasks")
        return None, ""
    status = plan_tasks.statuses(position, approved)
    task = plan_tasks.choose(approved, status, requested)
    if task is None:
        return None, ""
    return task.id, briefs.task_section(project.paths, task, approved, status, cycle.docs)


def preview(
    project: Project, stage: str | None, *, cycle: str | None = None, task: str | None = None
) -> briefs.Brief:
    """The brief `start` would write now, or the open session's brief; records nothing."""
    state, chosen, position, name = _where(project, stage, cycle)
    open_session = chosen.open_session()
    if stage is None and open_session is not None and open_session.stage in position.names:
        name = open_session.stage  # its agent reads its brief again (with the answers since)
    stage_def = position.workflow.stage(name) if name in position.names else None
    if open_session is not None and open_session.stage == name and stage_def is not None:
        context = ""
        approved = project.approved_tasks(chosen) if open_session.task else None
        task_def = next((t for t in approved or [] if t.id == open_session.task), None)
        if task_def is not None and approved:
            from sdd.usecases import tasks as plan_tasks

            status = plan_tasks.statuses(position, approved)
            context = briefs.task_section(project.paths, task_def, approved, status, chosen.docs)
        elif open_session.finding in chosen.findings:
            context = _bind_finding(chosen, None, open_session.finding)[1]
        elif findings.reports_findings(stage_def):
            context = findings.brief_section(project.paths.root, state, chosen, name)
        plan = Planned(
            open_session.id,
            open_session.page,
            open_session.writes,
            open_session.task,
            open_session.finding,
            context,
        )
    else:
        admit(position, name)
        assert stage_def is not None
        plan = _plan(
            project,
            state,
            chosen,
            position,
            stage_def,
            task if stage_def.repeat == "per-task" else None,
        )
    return _brief(project, state, chosen, position, stage_def, plan)


def _reopened_for(cycle: Cycle, task: str | None) -> Any:
    """The person's reopening of ``task`` that is in force (no session of it completed
    since), if any."""
    reopen = cycle.task_reopens.get(task) if task else None
    if reopen is None:
        return None
    ends = [
        s.end_record or "" for s in cycle.sessions if s.task == task and s.outcome == "complete"
    ]
    if ends and max(ends) > reopen.record:
        return None
    return reopen


def _reopen_section(reopen: Any) -> str:
    who = reopen.by.get("name", "a person")
    lines = [f"## Why {reopen.task} is open again", "", f"{who} reopened it: {reopen.reason}"]
    if reopen.finding:
        lines.append(
            f"It was reopened for {reopen.finding}: this session resolves that finding when it "
            "completes with its commit and a green `sdd verify`."
        )
    return "\n".join(lines)


@dataclass
class Planned:
    """A session about to start (or open): its id, page and outputs, what it works on, and
    the brief's section about that task or finding."""

    session: str
    page: str
    writes: list[str]
    task: str | None
    finding: str | None
    context: str


def _plan(
    project: Project,
    state: Any,
    cycle: Cycle,
    position: Any,
    stage_def: Any,
    task: str | None,
    requested: str | None = None,
) -> Planned:
    """The next session of ``stage_def``: for a per-task stage, bound to the finding asked
    for or the first open blocking one, else to the task (the one asked for, or the next),
    else, with every task done, to the first open major finding. A review or QA session's
    brief lists the findings to confirm."""
    finding, context = None, ""
    if stage_def.repeat == "per-task":
        finding, context = _bind_finding(cycle, task, requested)
        if finding is None:
            task, context = _bind_task(project, position, cycle, task)
            reopened = _reopened_for(cycle, task)
            if reopened is not None:
                named = cycle.findings.get(reopened.finding or "")
                finding = named.id if named is not None and named.status == "open" else None
                context += "\n\n" + _reopen_section(reopened)
            elif task is None and cycle.open_major():
                finding, context = _bind_finding(cycle, None, cycle.open_major()[0].id)
    elif findings.reports_findings(stage_def):
        context = findings.brief_section(project.paths.root, state, cycle, stage_def.name)
    session_id = state.next_session_id(_apart(project))
    page = f"docs/sessions/{session_id}-{stage_def.name}.md"
    return Planned(
        session_id, page, briefs.planned_writes(stage_def, cycle), task, finding, context
    )


def _apart(project: Project) -> str:
    """A short random tag for a session started on a branch of a team's repository (one
    that merges into ``origin/HEAD``), so that concurrent pull requests, each numbering its
    sessions from the same base, never give two sessions one id or one page."""
    from sdd.system import gitrepo

    if not gitrepo.on_a_branch_apart(project.paths.root):
        return ""
    import secrets

    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32, as record ids are
    return "".join(secrets.choice(alphabet) for _ in range(4))


def _brief(
    project: Project, state: Any, cycle: Cycle, position: Any, stage_def: Any, plan: Planned
) -> briefs.Brief:
    return briefs.compose(
        project.paths,
        position,
        stage_def,
        templates.load(project.paths, stage_def.name),
        session_id=plan.session,
        page=plan.page,
        writes=plan.writes,
        task_context=plan.context,
        lessons=_lessons(project, state, cycle, stage_def.name),
        finding=plan.finding,
    )


def _lessons(project: Project, state: Any, cycle: Cycle, stage: str) -> list[str]:
    if not any(n < cycle.number for n in state.cycles):
        return []
    from sdd.usecases import postmortem

    return postmortem.lessons(project.paths, state, cycle.number, stage)


def _lay_scaffolds(tx: Transaction, cycle: Cycle, scaffold: str | None, writes: list[str]) -> None:
    """Lay the skeleton of a per-cycle report, so the agent fills it rather than guesses it."""
    if not scaffold:
        return
    text = templates.scaffold_text(scaffold)
    if text is None:
        return
    for relative in writes:
        target = tx.project.paths.inside(relative)
        if os.path.exists(target):
            continue
        n = relative.rsplit("-", 1)[-1].removesuffix(".md").lstrip("RQU") or "1"
        values = {
            "cycle": cycle.slug,
            "cycle_title": cycle.title,
            "n": n,
            "date": clock.iso(clock.now())[:10],
        }
        tx.create(target, templates.fill(text, values), display=relative)


def _open_session(
    tx: Transaction, cycle: str | None, session_id: str | None = None
) -> tuple[Cycle, Session]:
    chosen = _cycle_for(tx, cycle)
    if session_id is not None:
        named = tx.state.sessions.get(session_id)
        if named is not None and named.outcome == "open" and named.cycle == chosen.number:
            return chosen, named
    session = tx.project.open_session(chosen)
    if session is None:
        raise SddError(
            f"no open session in cycle {chosen.number}",
            hint=f"next: {tx.project.next_for(tx.state, chosen)['command']}",
        )
    return chosen, session


def done(
    project: Project,
    *,
    note: str | None = None,
    cycle: str | None = None,
    exit_code: int | None = None,
    progress: Any = None,
    before_end: Any = None,
) -> SessionResult:
    """``before_end(tx, session)``: called under the lock once the session is judged
    complete, before that is recorded (`sdd run --parallel` merges its branch there); what
    it raises leaves the session open and records nothing."""
    if before_end is None and project.paths.linked:
        from sdd.usecases import merging

        before_end = merging.merge_back  # a parallel session completes once merged
    _refuse_elsewhere(project, cycle)
    _refuse_damaged_page(project, cycle)
    _verify_if_needed(project, cycle, progress)
    _refresh_figures(project, cycle)
    steady: Any = contextlib.nullcontext()
    if project.paths.linked:
        from sdd.usecases import merging

        steady = merging.steady()
    with steady, project.transaction() as tx:
        chosen, session = _open_session(tx, cycle)
        refuse_if_tampered(tx.state, f"completing {session.id}")
        in_force = project.rule_state(tx.state).in_force
        stage_def = in_force.workflow.stage(session.stage)
        template = briefs.for_finding(templates.load(project.paths, session.stage), session.finding)
        page_path = project.paths.inside(session.page)
        if note:
            text = files.read_text(page_path)
            if text is not None:
                filled = pages.fill_notes(text, note)
                if filled != text:  # taken back if the session turns out not complete
                    tx.replace(page_path, filled, display=session.page)
        reports = _number_reports(tx, chosen, session, stage_def)
        if project.paths.linked:
            from sdd.usecases import merging

            session = merging.forked(tx, session)
        evidence = completion.observe(
            project.paths, session, tx.state, checks=in_force.checks_fingerprint
        )
        problems = completion.missing(project.paths, session, stage_def.rules, template, evidence)
        if problems:
            raise CheckFailed(
                f"session {session.id} ({session.stage}) is not complete; it stays open",
                details=problems,
                hint="fix what is listed, then run `sdd done` again (or `sdd abandon`)",
            )
        changed = evidence.changed(session)
        if before_end is not None:
            before_end(tx, session)
        tx.record(
            "session.end",
            session=session.id,
            cycle=chosen.number,
            outcome="complete",
            head=evidence.head,
            outputs=evidence.outputs,
            changed=changed,
            note=note,
            exit_code=exit_code,
            **_work_of(project, session, stage_def, evidence.head),
        )
        if session.finding:
            fixed = chosen.findings.get(session.finding)
            last = tx.state.last_run
            green = last if last and last.get("ok") and "verify" in stage_def.rules else None
            tx.record(
                "finding.fix",
                cycle=chosen.number,
                finding=session.finding,
                finding_record=fixed.record if fixed else None,
                session=session.id,
                commit=evidence.head,
                verify=str(green["id"]) if green else None,
            )
        recorded: list[str] = []
        renamed: dict[str, str] = {}
        for relative, numbered in reports:
            renamed.update(numbered.renamed)
            for raised, ident in numbered.findings:
                recorded.append(
                    findings.record(
                        tx,
                        chosen,
                        raised,
                        stage=session.stage,
                        session=session.id,
                        source=relative,
                        ident=ident,
                    )
                )
    result = _finish(project, session.id)
    result.findings, result.renamed = recorded, renamed
    return result


def _work_of(
    project: Project, session: Session, stage_def: Any, head: str | None
) -> dict[str, Any]:
    """What a session of the per-task stage did to the code, for `sdd ci check`: the code at
    its end and the patch ids of its commits (best effort: git's silence records nothing)."""
    if stage_def.repeat != "per-task" or head is None:
        return {}
    root = project.paths.root
    try:
        patches = gitrepo.code_patches(root, session.head_before, head)
    except SddError:
        return {}
    return {"code": gitrepo.code_key(root, head), "patches": patches}


def _number_reports(
    tx: Transaction, cycle: Cycle, session: Session, stage_def: Any
) -> list[tuple[str, findings.Numbered]]:
    """The findings of the session's reports with the ids sdd gives them; each report
    rewritten to carry those ids (taken back if the session turns out not complete)."""
    numbered: list[tuple[str, findings.Numbered]] = []
    taken: set[str] = set()
    for relative in session.writes:
        if not findings.reports_findings(stage_def) and not relative.startswith(
            ("docs/reviews/", "docs/test-reports/")
        ):
            continue
        path = tx.project.paths.inside(relative)
        text = files.read_text(path)
        if text is None:
            continue
        report = findings.number_report(tx, cycle, text, taken)
        if report.text != text:
            tx.replace(path, report.text, display=relative)
        numbered.append((relative, report))
    return numbered


def _refuse_elsewhere(project: Project, cycle: str | None) -> None:
    """A parallel session is judged in its own worktree, never from the project's checkout."""
    if project.paths.linked:
        return
    chosen = project.cycle(project.load(), cycle)
    session = project.open_session(chosen) if chosen else None
    if session is not None and os.path.isdir(os.path.join(project.paths.worktrees, session.id)):
        raise Refused(
            f"session {session.id} runs in its worktree (.sdd/worktrees/{session.id}) under "
            "`sdd run --parallel`, which judges it there",
            hint="wait for it to end (or Ctrl-C where `sdd run --parallel` runs)",
        )


def _refuse_damaged_page(project: Project, cycle: str | None) -> None:
    """A page whose markers are damaged is not completed: its rewrite would cut or copy it."""
    chosen = project.cycle(project.load(), cycle)
    session = project.open_session(chosen) if chosen else None
    text = files.read_text(project.paths.inside(session.page)) if session else None
    problems = pages.damage(text) if text is not None else []
    if session is None or not problems:
        return
    what, restore = problems[0]
    raise Refused(
        f"{session.page}: {what}; session {session.id} stays open until the page is whole",
        hint=f"{restore}, then run `sdd done` again",
        details=[f"also: {w}: {r}" for w, r in problems[1:]],
    )


def _refresh_figures(project: Project, cycle: str | None) -> None:
    """Bring a post-mortem's figures up to date before judging it."""
    state = project.load()
    chosen = project.cycle(state, cycle)
    session = project.open_session(chosen) if chosen else None
    if chosen is None or session is None:
        return
    workflow = project.rule_state(state).in_force.workflow
    if "figures" not in workflow.stage(session.stage).rules:
        return
    from sdd.usecases import postmortem

    data = postmortem.figures(state, chosen, workflow)
    for relative in session.writes:
        postmortem.fill(project.paths, relative, data)


def _verify_if_needed(project: Project, cycle: str | None, progress: Any) -> None:
    """Run `sdd verify` first when the stage needs a green run at HEAD and there is none."""
    from sdd.usecases import verify
    from sdd.workflow.evidence import green_for

    state = project.load()
    chosen = project.cycle(state, cycle)
    session = project.open_session(chosen) if chosen else None
    in_force = project.rule_state(state).in_force
    if session is None or "verify" not in in_force.workflow.stage(session.stage).rules:
        return
    root = project.paths.root
    checks = in_force.checks_fingerprint
    own = session.id if project.paths.linked else None
    dirty = gitrepo.dirty(root)
    if green_for(state, root, dirty, checks, own) is not None:
        return
    with contextlib.suppress(NothingToVerify):  # the verify rule then says what is missing
        verify.run(project, progress=progress, dirty=dirty)  # nothing ran since it was asked


def abandon(
    project: Project,
    *,
    reason: str | None = None,
    cycle: str | None = None,
    outcome: str = "abandoned",
    exit_code: int | None = None,
    session_id: str | None = None,
) -> SessionResult:
    with project.transaction() as tx:
        chosen, session = _open_session(tx, cycle, session_id)
        tx.record(
            "session.end",
            session=session.id,
            cycle=chosen.number,
            outcome=outcome,
            head=gitrepo.head(project.paths.root),
            reason=reason,
            exit_code=exit_code,
        )
    return _finish(project, session.id)


def launched(project: Project, session_id: str, command: list[str], log: str | None) -> None:
    """Record how the agent of a session was launched."""
    with project.transaction() as tx:
        tx.record("session.launch", session=session_id, command=command, log=log)


def exited(project: Project, session_id: str, exit_code: int | None) -> None:
    """Record that the agent of a launched session, and everything it started, has ended."""
    with project.transaction() as tx:
        tx.record("session.exit", session=session_id, exit_code=exit_code)


def outcome_of(project: Project, session_id: str) -> str | None:
    """How a session ended, or None while it is open."""
    session = project.load().sessions.get(session_id)
    return None if session is None or session.outcome == "open" else session.outcome


def _finish(project: Project, session_id: str) -> SessionResult:
    """Rewrite the page's generated part with the end of the session; return the result."""
    with project.transaction() as tx:
        session = tx.state.sessions[session_id]
        cycle = tx.state.cycles[session.cycle]
        page_path = project.paths.inside(session.page)
        if project.paths.linked:  # a parallel session: its page is the project's now
            page_path = os.path.join(project.paths.home, session.page)
        text = files.read_text(page_path) or ""
        old, rest = pages.split(text)
        title = f"{cycle.number} · {cycle.title}"
        # The generated part ends with a newline that ``rest`` already starts with.
        brief = pages.brief_of(old)
        updated = pages.generated_part(session, title=title, brief=brief).rstrip("\n") + rest
        # A damaged page is left as it is (rewriting it would copy or cut it): doctor names it.
        if updated != text and not (text and pages.damage(text)):
            files.write_atomic(page_path, updated, display=session.page)
        following = project.next_for(tx.state, cycle)
    return SessionResult(
        session.id,
        session.stage,
        session.cycle,
        session.outcome,
        session.page,
        session.writes,
        session.outputs,
        next=following,
    )


def listing(project: Project) -> list[dict[str, Any]]:
    """Every session's id, stage, cycle, outcome and page."""
    state = project.load()
    return [
        {"id": s.id, "stage": s.stage, "cycle": s.cycle, "outcome": s.outcome, "page": s.page}
        for s in state.sessions.values()
    ]

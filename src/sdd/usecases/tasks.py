"""Tasks from the approved plan, their status from the tracker, and the next one by code:
dependencies done first, then higher risk earlier, then plan order."""

from __future__ import annotations

from sdd.core.errors import Refused, UsageError
from sdd.core.structs import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.documents.structures import Task
    from sdd.project.project import Project
    from sdd.workflow.gates import Position

RISK_ORDER = {"high": 0, "medium": 1, "low": 2}


def statuses(position: Position, tasks: list[Task]) -> dict[str, str]:
    # Several at once under `sdd run --parallel`, each in its own worktree.
    working = {s.task for s in position.cycle.sessions if s.outcome == "open" and s.task}
    result = {}
    for task in tasks:
        if task.id in position.tasks_done:
            result[task.id] = "done"
        elif task.id in working:
            result[task.id] = "in-progress"
        else:
            result[task.id] = "pending"
    return result


def waits_on(task: Task, status: dict[str, str]) -> list[str]:
    return [d for d in task.depends if status.get(d) != "done"]


def next_task(tasks: list[Task], status: dict[str, str]) -> Task | None:
    ready = [
        (RISK_ORDER.get(t.risk, 3), index, t)
        for index, t in enumerate(tasks)
        if status[t.id] == "pending" and not waits_on(t, status)
    ]
    return min(ready, key=lambda item: (item[0], item[1]))[2] if ready else None


def choose(tasks: list[Task], status: dict[str, str], requested: str | None) -> Task | None:
    """The task an implement session is bound to: the requested one, else the next. None
    when every task is done: the session reworks what a rejection or change asked for."""
    if requested is None:
        if all(state == "done" for state in status.values()):
            return None
        chosen = next_task(tasks, status)
        if chosen is None:
            raise Refused(
                "no task is ready: every pending task waits on another", hint="see `sdd tasks`"
            )
        return chosen
    task = next((t for t in tasks if t.id == requested), None)
    if task is None:
        raise UsageError(
            f"--task {requested}: the approved plan has no such task",
            hint=f"tasks: {', '.join(t.id for t in tasks)}",
        )
    if status[task.id] == "done":
        raise Refused(f"{task.id} is already done")
    blocked = waits_on(task, status)
    if blocked:
        raise Refused(f"{task.id} waits on {', '.join(blocked)}", hint="see `sdd tasks`")
    return task


def rows(position: Position, tasks: list[Task]) -> list[dict[str, object]]:
    status = statuses(position, tasks)
    upcoming = next_task(tasks, status)
    return [
        {
            "id": t.id,
            "title": t.title,
            "status": status[t.id],
            "next": upcoming is not None and t.id == upcoming.id,
            "depends": t.depends,
            "waits_on": waits_on(t, status),
            "risk": t.risk,
            "effort": t.effort,
            "stories": t.stories,
            "line": t.line,
        }
        for t in tasks
    ]


def listing(project: Project, *, cycle: str | None = None) -> list[dict[str, Any]]:
    """The approved plan's tasks with their tracker status and what each waits on (before an
    approval: the plan as written)."""
    state = project.load()
    chosen = project.cycle(state, cycle)
    if chosen is None:
        return []
    approved = project.approved_tasks(chosen)
    if approved is None:
        from sdd.documents import check

        parsed = check.parse_file(project.paths, check.doc("plan", chosen.docs), "plan")
        approved = parsed.tasks if parsed and parsed.tasks else []
    return rows(project.position(state, chosen), approved)


@dataclass
class Reopened:
    """A task a person reopened, and what comes next."""

    cycle: int
    task: str
    reason: str
    finding: str | None
    next: dict[str, Any]


def reopen(
    project: Project,
    ident: str,
    reason: str,
    *,
    finding: str | None = None,
    stdin_is_tty: bool,
    confirm: Any,
    cycle: str | None = None,
) -> Reopened:
    """A person reopens a done task with a reason (and the finding it is reopened for): it is
    pending again, the per-task stage with it, until a session of it completes."""
    from sdd.agents import person
    from sdd.core.errors import SddError
    from sdd.usecases import acts

    if not reason.strip():
        raise UsageError("reopening a task needs --reason TEXT")
    with project.transaction(person=True) as tx:
        who = acts.begin(project, tx, f"reopening {ident}", stdin_is_tty=stdin_is_tty)
        chosen = project.cycle(tx.state, cycle)
        if chosen is None:
            raise Refused("there is no cycle yet", hint='open one: sdd new "TITLE"')
        if chosen.closed or chosen.number in tx.state.releases:
            why = chosen.closed or "released"
            raise Refused(f"cycle {chosen.number} is {why}", hint='open the next: sdd new "TITLE"')
        approved = project.approved_tasks(chosen) or []
        task = next((t for t in approved if t.id == ident.strip().upper()), None)
        if task is None:
            known = ", ".join(t.id for t in approved) or "none approved yet"
            raise UsageError(f"{ident}: the approved plan has no such task (tasks: {known})")
        position = project.position(tx.state, chosen)
        if task.id not in position.tasks_done:
            raise Refused(f"{task.id} is not done: there is nothing to reopen", hint="sdd tasks")
        found = None
        if finding is not None:
            found = chosen.findings.get(finding.strip().upper())
            if found is None:
                raise UsageError(f"--finding {finding}: no such finding in this cycle")
            if found.status != "open":
                raise Refused(
                    f"{found.id} is already {found.status}: a task is reopened for an open finding",
                    hint=f'raise a new one: sdd findings add --severity major "…" (naming {found.id})',
                )
        code = person.confirmation_code()
        typed = confirm(task, code) if callable(confirm) else None
        if typed is None or str(typed).strip().upper() != code:
            raise SddError("the confirmation code did not match; nothing was recorded")
        tx.record(
            "task.reopen",
            cycle=chosen.number,
            task=task.id,
            reason=reason.strip(),
            finding=found.id if found else None,
            finding_record=found.record if found else None,
            by=who,
        )
    state = project.load()
    following = project.next_for(state, state.cycles[chosen.number])
    return Reopened(chosen.number, task.id, reason.strip(), found.id if found else None, following)

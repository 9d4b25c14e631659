"""Tasks from the approved plan, their status from the tracker, and the next one by code:
dependencies done first, then higher risk earlier, then plan order."""

from __future__ import annotations

from typing import Any

from sdd.core.errors import Refused, UsageError
from sdd.documents.contracts import Task
from sdd.workflow.gates import Position

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.project.project import Project

RISK_ORDER = {"high": 0, "medium": 1, "low": 2}


def statuses(position: Position, tasks: list[Task]) -> dict[str, str]:
    open_session = position.cycle.open_session()
    result = {}
    for task in tasks:
        if task.id in position.tasks_done:
            result[task.id] = "done"
        elif open_session is not None and open_session.task == task.id:
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

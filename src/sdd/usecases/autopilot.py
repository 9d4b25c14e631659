"""`sdd run --until-gate`: the sessions between two person's acts, one after another, headless.

It does what `sdd next` names, and only while that is a session: each is `sdd run` of it
(`runner.run`, so the containment, the judging at the end and the history are those of any
session), and after each it asks `next` again. Everything else `next` can name — a gate to
decide, a question to answer, a prepared user verification to walk, a release to record, a
finding to waive, a new cycle — is a person's act, and the autopilot stops there.

Safe by construction: :func:`startable` is the one place that decides what it may start, and
that is a session of a stage of the workflow, never anything else; this module calls no use
case but `runner.run` (a person's act lives in `acts`, `approvals`, `questions`,
`walkthrough`, `findings`, `release`, `cycles`, `rules`, `approvers`: none is imported here,
and tests/test_autopilot.py checks it). A stage a person owns (user verification) has its
session prepared by an agent; the person's part of it is the walkthrough and the gate.

It holds its cycle's run lock (`project/runlock.py`) for the whole run, so no other
`sdd run` starts a session of the cycle between two of its own.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sdd.agents import presets
from sdd.core import files
from sdd.core.errors import Refused, SddError, UsageError
from sdd.project import runlock
from sdd.project.project import Project
from sdd.system import process
from sdd.usecases import runner

# The one kind of `next` action the autopilot takes: a session an agent does.
SESSION = "session"

# Why it stopped, and the exit code of each reason (0: stopped where it should).
STOPS = {
    "person": 0,  # a person's act is next
    "finished": 0,  # the cycle is over
    "max-sessions": 0,
    "max-time": 0,
    "max-cost": 0,
    "failed": 1,  # a session failed (its agent exited non-zero or reported an error)
    "incomplete": 1,  # a session ended with its work not done (it stays open)
    "open-session": 1,  # a session was open already: finished (or abandoned) by hand first
    "cost-unknown": 1,  # --max-cost, and the agent did not say what a session cost
    "repair-history": 1,
    "refused": 3,
    "interrupted": 130,
}


@dataclass(frozen=True)
class Budget:
    sessions: int | None = None
    seconds: float | None = None
    cost: float | None = None  # US dollars


@dataclass
class Ran:
    """One session the autopilot ran."""

    session: str
    stage: str
    task: str | None
    finding: str | None
    outcome: str
    message: str
    seconds: float
    cost_usd: float | None
    log: str | None
    missing: list[str] = field(default_factory=list)


@dataclass
class AutopilotResult:
    stop: str  # a key of STOPS
    reason: str
    command: str  # the exact command the person runs next
    agent: str
    sessions: list[Ran] = field(default_factory=list)
    seconds: float = 0.0
    cost_usd: float | None = None  # what the sessions that said so cost
    cost_note: str | None = None  # "cost not reported by …" when a session did not say
    next: dict[str, Any] = field(default_factory=dict)  # what `sdd next` names now

    JSON_EXTRA = ("exit_code",)

    @property
    def exit_code(self) -> int:
        return STOPS[self.stop]


def startable(project: Project, action: dict[str, Any]) -> str | None:
    """The stage the autopilot may start for `next`'s ``action``, or None: it stops. The
    one place that decides it: a session, of a stage of the workflow; nothing else."""
    if action.get("kind") != SESSION:
        return None
    stage = action.get("stage")
    if not isinstance(stage, str) or stage not in project.rules.workflow.by_name:
        return None
    return stage


def cost_reporting(preset: presets.Preset) -> str | None:
    """Why the agent's cost cannot be known (None: it reports it, or it may)."""
    reports = preset.launch.reports
    if reports == "cost" or not preset.builtin:
        return None  # a project's own agent: whether it says is seen after its first session
    if reports == "tokens":
        return f"{preset.name} reports tokens only, not what a session cost"
    return f"{preset.name} does not report what a session cost"


def _stop_of(action: dict[str, Any]) -> tuple[str, str]:
    kind = action.get("kind")
    if kind == "new-cycle":
        return "finished", f"the cycle is over: {action['summary']}"
    if kind == "finish-session":
        return "open-session", f"a session is open: {action['summary']}"
    if kind == "repair-history":
        return "repair-history", action["summary"]
    what = {
        "gate": "deciding {gate}",
        "gate-conditions": "{gate}, which cannot pass yet",
        "walkthrough": "walking the prepared {stage}",
        "release": "recording the release",
    }.get(str(kind), "{command}")
    return "person", "a person's act is next: " + what.format_map(_Blank(action))


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def _notify(title: str, body: str) -> None:
    """A desktop notification where `notify-send` exists; never fails the run."""
    import shutil

    found = shutil.which("notify-send", path=os.environ.get("PATH", os.defpath))
    if found is None:
        return
    with contextlib.suppress(SddError, OSError):  # a notification is a courtesy
        process.run_subprocess([found, "--app-name=sdd", title, body], timeout=5)


def until_gate(
    project: Project,
    *,
    agent: str | None = None,
    cycle: str | None = None,
    budget: Budget | None = None,
    timeout: float | None = None,
    on_launch: Callable[[list[str], str | None], None] | None = None,
    on_session: Callable[[Ran], None] | None = None,
    notify: bool = True,
) -> AutopilotResult:
    budget = budget or Budget()
    preset = runner.choose_agent(project, agent)
    unknown = cost_reporting(preset)
    if budget.cost is not None and unknown:
        raise UsageError(
            f"--max-cost: {unknown}, so no cost budget can be kept",
            hint="bound the run with --max-sessions or --max-time instead (or use an agent "
            "that reports its cost: claude)",
        )
    chosen = project.cycle(project.load(), cycle)
    if chosen is None:
        raise Refused("there is no cycle yet", hint='open one: sdd new "TITLE"')
    number = chosen.number
    resume = ["sdd", "run", "--until-gate"]
    resume += ["--agent", agent] if agent else []
    resume += ["--cycle", cycle] if cycle else []
    result = AutopilotResult("", "", "", preset.name)
    started = time.monotonic()
    with runlock.hold(project.paths, number):
        while True:
            state = project.load()
            action = project.next_for(state, state.cycles[number])
            result.next = action
            stage = startable(project, action)
            if stage is None:
                result.stop, result.reason = _stop_of(action)
                break
            elapsed = time.monotonic() - started
            if budget.sessions is not None and len(result.sessions) >= budget.sessions:
                result.stop = "max-sessions"
                result.reason = f"{budget.sessions} session(s) run, as --max-sessions allows"
                break
            if budget.seconds is not None and elapsed >= budget.seconds:
                result.stop, result.reason = "max-time", f"--max-time ({budget.seconds:g} s) spent"
                break
            if budget.cost is not None and (result.cost_usd or 0.0) >= budget.cost:
                result.stop = "max-cost"
                result.reason = (
                    f"--max-cost spent: ${result.cost_usd or 0:.2f} of ${budget.cost:.2f}"
                )
                break
            limit = timeout
            cut = False  # the session's end is the time budget's, not its own --timeout
            if budget.seconds is not None:
                left = max(budget.seconds - elapsed, 1.0)
                cut = limit is None or left < limit
                limit = left if cut else limit
            began = time.monotonic()
            try:
                ran = runner.run(
                    project,
                    stage,
                    agent=agent,
                    headless=True,
                    timeout=limit,
                    cycle=str(number),
                    on_launch=on_launch,
                    finding=action.get("finding"),
                )
            except Refused as exc:
                result.stop, result.reason = "refused", f"refused: {exc.message}"
                result.command = exc.hint or ""
                break
            output = files.read_text(os.path.join(project.paths.root, ran.log)) if ran.log else None
            cost = presets.reported_cost(output or "")
            row = Ran(
                ran.session,
                ran.stage,
                None,
                action.get("finding"),
                ran.outcome,
                ran.message,
                round(time.monotonic() - began, 1),
                cost,
                ran.log,
                list(ran.missing),
            )
            row.task = next(
                (s.task for s in project.load().cycles[number].sessions if s.id == ran.session),
                None,
            )
            result.sessions.append(row)
            if cost is not None:
                result.cost_usd = round((result.cost_usd or 0.0) + cost, 6)
            if on_session is not None:
                on_session(row)
            if ran.outcome == "interrupted" and ran.timed_out and cut:
                result.stop = "max-time"
                result.reason = (
                    f"--max-time ({budget.seconds:g} s) spent: {ran.session} was ended at it "
                    "and is recorded as interrupted"
                )
                break
            if ran.outcome != "complete":
                result.stop = ran.outcome if ran.outcome in STOPS else "failed"
                result.reason = f"{ran.session} ({ran.stage}): {ran.message}"
                if ran.log:
                    result.reason += f"; the agent's output: {ran.log}"
                break
            if budget.cost is not None and cost is None:
                result.stop = "cost-unknown"
                result.reason = (
                    f"--max-cost: {preset.name} did not report what {ran.session} cost, so "
                    "the budget cannot be kept"
                )
                break
    result.seconds = round(time.monotonic() - started, 1)
    if any(r.cost_usd is None for r in result.sessions):
        result.cost_note = f"cost not reported by {preset.name}"
    if not result.command:
        takes = startable(project, result.next) is not None
        result.command = shlex.join(resume) if takes else str(result.next.get("command", ""))
    if notify and result.sessions:
        _notify(f"sdd: cycle {number} stopped", f"{result.reason}\nNext: {result.command}")
    return result

"""`sdd run --until-gate`: the sessions between two person's acts, one after another, headless.

It does what `sdd next` names, and only while that is a session: each is `sdd run` of it
(`runner.run`, so the containment, the judging at the end and the history are those of any
session), and after each it asks `next` again. Everything else `next` can name — a gate to
decide, a question to answer, a prepared user verification to walk, a release to record, a
finding to waive, a new cycle — is a person's act, and the autopilot stops there.

With `--parallel N`, the sessions of the plan's tasks run N at a time, each in its own
worktree (`parallel.run`, which judges and merges each as `sdd run --parallel` does).

Safe by construction: :func:`startable` is the one place that decides what it may start, and
that is a session of a stage of the workflow, never anything else; this module calls no use
case but `runner.run` and `parallel.run` (a person's act lives in `acts`, `approvals`, `questions`,
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

from sdd.agents import presets
from sdd.core import files
from sdd.core.errors import Refused, SddError, UsageError
from sdd.core.structs import dataclass, field
from sdd.project import runlock
from sdd.system import process
from sdd.usecases import runner

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from sdd.project.project import Project

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


class _Blank(dict[str, "Any"]):
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


Stop = tuple[str, str]  # a key of STOPS, and the reason in words


@dataclass
class _Run:
    """One autopilot run: the loop, the budget, one session at a time."""

    project: Project
    number: int
    preset: presets.Preset
    agent: str | None
    budget: Budget
    timeout: float | None
    on_launch: Callable[[list[str], str | None], None] | None
    on_session: Callable[[Ran], None] | None
    result: AutopilotResult
    parallel: int | None = None  # --parallel N: the per-task stage's sessions N at a time
    watch: Callable[[list[dict[str, Any]], bool], None] | None = None  # their lines
    started: float = field(default_factory=time.monotonic)

    def drive(self) -> Stop:
        while True:
            state = self.project.load()
            action = self.project.next_for(state, state.cycles[self.number])
            stage = startable(self.project, action)
            if stage is None:
                return _stop_of(action)
            stop = self.spent() or self.session(stage, action)
            if stop is not None:
                return stop

    def spent(self) -> Stop | None:
        """The budget that is spent before the next session, if one is."""
        budget, count, cost = self.budget, len(self.result.sessions), self.result.cost_usd or 0.0
        if budget.sessions is not None and count >= budget.sessions:
            return "max-sessions", f"{count} session(s) run, as --max-sessions allows"
        if budget.seconds is not None and time.monotonic() - self.started >= budget.seconds:
            return "max-time", f"--max-time ({budget.seconds:g} s) spent"
        if budget.cost is not None and cost >= budget.cost:
            return "max-cost", f"--max-cost spent: ${cost:.2f} of ${budget.cost:.2f}"
        return None

    def limit(self) -> tuple[float | None, bool]:
        """The next session's timeout, and whether it is the time budget's (not --timeout)."""
        limit, cut = self.timeout, False
        if self.budget.seconds is not None:
            left = max(self.budget.seconds - (time.monotonic() - self.started), 1.0)
            cut = limit is None or left < limit
            limit = left if cut else limit
        return limit, cut

    def cost_of(self, session: str) -> float | None:
        log = os.path.join(self.project.paths.logs, "sessions", f"{session}.log")
        return presets.reported_cost(files.read_text(log) or "")

    def add(self, row: Ran) -> None:
        self.result.sessions.append(row)
        if row.cost_usd is not None:
            self.result.cost_usd = round((self.result.cost_usd or 0.0) + row.cost_usd, 6)
        if self.on_session is not None:
            self.on_session(row)

    def session(self, stage: str, action: dict[str, Any]) -> Stop | None:
        """Run one session of ``stage``; why the run stops after it, if it does."""
        per_task = self.project.rules.workflow.stage(stage).repeat == "per-task"
        if self.parallel and per_task and not action.get("finding"):
            return self.side_by_side(stage)
        limit, cut = self.limit()
        began = time.monotonic()
        try:
            ran = runner.run(
                self.project,
                stage,
                agent=self.agent,
                headless=True,
                timeout=limit,
                cycle=str(self.number),
                on_launch=self.on_launch,
                finding=action.get("finding"),
            )
        except Refused as exc:
            self.result.command = exc.hint or ""
            return "refused", f"refused: {exc.message}"
        cost = self.cost_of(ran.session)
        found = self.project.load().sessions.get(ran.session)
        task = found.task if found is not None else None
        row = Ran(
            ran.session,
            ran.stage,
            task,
            action.get("finding"),
            ran.outcome,
            ran.message,
            round(time.monotonic() - began, 1),
            cost,
            ran.log,
            list(ran.missing),
        )
        self.add(row)
        if ran.outcome == "interrupted" and ran.timed_out and cut:
            return "max-time", (
                f"--max-time ({self.budget.seconds:g} s) spent: {ran.session} was ended at it "
                "and is recorded as interrupted"
            )
        if ran.outcome != "complete":
            why = f"{ran.session} ({ran.stage}): {ran.message}"
            why += f"; the agent's output: {ran.log}" if ran.log else ""
            # Its own --timeout is a failure of the session; Ctrl-C is the person's interruption.
            stop = "failed" if ran.timed_out or ran.outcome not in STOPS else ran.outcome
            return stop, why
        return self.cost_unknown([row])

    def cost_unknown(self, rows: list[Ran]) -> Stop | None:
        silent = [r.session for r in rows if r.cost_usd is None]
        if self.budget.cost is None or not silent:
            return None
        return "cost-unknown", (
            f"--max-cost: {self.preset.name} did not report what {', '.join(silent)} cost, "
            "so the budget cannot be kept"
        )

    def side_by_side(self, stage: str) -> Stop | None:
        """`sdd run --parallel N`: the tasks that are ready, N at a time, each in its own
        worktree (usecases/parallel.py); the budget's session count bounds how many start,
        its time each one's timeout; its cost is looked at when they have all ended."""
        from sdd.usecases import parallel

        limit, _cut = self.limit()
        left = None
        if self.budget.sessions is not None:
            left = self.budget.sessions - len(self.result.sessions)
        assert self.parallel is not None
        try:
            ran = parallel.run(
                self.project,
                self.parallel,
                agent=self.agent,
                timeout=limit,
                cycle=str(self.number),
                watch=self.watch,
                limit=left,
            )
        except Refused as exc:
            self.result.command = exc.hint or ""
            return "refused", f"refused (--parallel): {exc.message}"
        rows = []
        for lane in ran.sessions:
            session = str(lane["session"])
            row = Ran(
                session,
                stage,
                str(lane["task"]),
                None,
                str(lane["state"]),
                str(lane.get("note") or lane["state"]),
                float(lane["elapsed"]),
                self.cost_of(session),
                f".sdd/logs/sessions/{session}.log",
            )
            rows.append(row)
            self.add(row)
        if ran.outcome != "complete":
            why = f"--parallel {self.parallel}: {ran.message}"
            if ran.kept:
                why += f" (kept: {', '.join(ran.kept)})"
            return ("interrupted" if ran.outcome == "interrupted" else "failed"), why
        return self.cost_unknown(rows)


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
    parallel: int | None = None,
    watch: Callable[[list[dict[str, Any]], bool], None] | None = None,
) -> AutopilotResult:
    """``parallel``: the per-task stage's sessions that many at a time (`--parallel N`)."""
    project.load_whole()  # what this run decides on: see Project.load_whole
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
    result = AutopilotResult("", "", "", preset.name)
    run = _Run(project, number, preset, agent, budget, timeout, on_launch, on_session, result)
    run.parallel, run.watch = parallel, watch
    with runlock.hold(project.paths, number, "sdd run --until-gate"):
        try:
            result.stop, result.reason = run.drive()
        except KeyboardInterrupt:  # between sessions (within one, the session records it)
            result.stop, result.reason = "interrupted", "interrupted (Ctrl-C) between sessions"
    state = project.load()  # what `next` names now, after the last session
    result.next = project.next_for(state, state.cycles[number])
    result.seconds = round(time.monotonic() - run.started, 1)
    if any(r.cost_usd is None for r in result.sessions):
        result.cost_note = f"cost not reported by {preset.name}"
    if not result.command:
        resume = ["sdd", "run", "--until-gate"]
        resume += ["--agent", agent] if agent else []
        resume += ["--cycle", cycle] if cycle else []
        resume += ["--parallel", str(parallel)] if parallel else []
        takes = startable(project, result.next) is not None
        result.command = shlex.join(resume) if takes else str(result.next.get("command", ""))
    if notify and result.sessions:
        _notify(f"sdd: cycle {number} stopped", f"{result.reason}\nNext: {result.command}")
    return result

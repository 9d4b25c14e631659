"""`sdd run --parallel N`: up to N task sessions of the per-task stage at once, each with a
fresh headless agent in its own git worktree and branch.

The coordinator (this module, in the `sdd run` process) chooses the tasks whose
dependencies are done and whose declared scopes overlap no running task's, starts each
session in the project's one history, commits sdd's bookkeeping, branches a worktree
(`.sdd/worktrees/<session>`, git-ignored) and hands it to a worker process
(``usecases.worker``) that runs the agent and judges the session as `sdd run` does; the
worker's `sdd done` merges the branch back under the project's lock. The history lock is
held only for records, commits and merges, never for an agent's run.

Ctrl-C (or SIGTERM/SIGHUP) ends every worker, which ends its agent's process group and
records its session as interrupted; the worktrees are removed, the branches kept until
the session is abandoned. After a crash, the next command does the same (:func:`sweep`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

from sdd.core import files, history
from sdd.core.errors import Refused, SddError
from sdd.core.paths import LINK
from sdd.core.structs import dataclass, field
from sdd.documents import scope as scopes
from sdd.project import runlock, running
from sdd.system import gitrepo, process, proctree, worktrees
from sdd.usecases import sessions
from sdd.usecases import tasks as plan_tasks
from sdd.usecases.runner import choose_agent

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from sdd.documents.structures import Task
    from sdd.project.project import Project

IGNORE_LINE = "worktrees/"


@dataclass
class Lane:
    """One session running in its worktree."""

    session: str
    task: str
    agent: str
    tree: str
    started: float
    proc: subprocess.Popen[bytes] | None = None
    state: str = "running"  # running, then the session's outcome
    ended: float | None = None
    note: str = ""

    def row(self, now: float) -> dict[str, Any]:
        return {
            "session": self.session,
            "task": self.task,
            "agent": self.agent,
            "state": self.state,
            "elapsed": round((self.ended or now) - self.started, 1),
            "note": self.note,
        }


@dataclass
class ParallelResult:
    stage: str
    width: int
    outcome: str  # complete (every session), incomplete, interrupted
    message: str
    sessions: list[dict[str, Any]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # branches kept (work not merged)
    next: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0


if TYPE_CHECKING:
    Watch = Callable[[list[dict[str, Any]], bool], None]  # rows, whether something changed


def overlap(a: list[str], b: list[str]) -> bool:
    """Whether two declared scopes may touch one file (no scope: the whole tree)."""
    if not a or not b:
        return True

    def base(entry: str) -> str:
        entry = scopes.normal(entry)
        cut = next((i for i, c in enumerate(entry) if c in "*?["), None)
        return entry if cut is None else entry[:cut].rsplit("/", 1)[0] if "/" in entry[:cut] else ""

    for x in map(base, a):
        for y in map(base, b):
            if x in ("", ".") or y in ("", "."):
                return True
            if x == y or x.startswith(y + "/") or y.startswith(x + "/"):
                return True
    return False


def _ignore_worktrees(project: Project) -> None:
    """`.sdd/worktrees/` is git-ignored (committed with sdd's bookkeeping)."""
    text = files.read_text(project.paths.gitignore)
    if text is None or IGNORE_LINE in {line.strip() for line in text.splitlines()}:
        return
    with project.transaction() as tx:
        separator = "" if not text or text.endswith("\n") else "\n"
        tx.replace(project.paths.gitignore, f"{text}{separator}{IGNORE_LINE}\n", ".sdd/.gitignore")


def _commit(project: Project, message: str, page: str) -> None:
    """sdd's bookkeeping and the session's page, committed: what its worktree starts from."""
    root = project.paths.root
    blocker = gitrepo.commit_blocker(root)
    if blocker is not None:
        raise Refused(
            f"sdd cannot commit its records before branching: {blocker}",
            hint="finish what git is in the middle of, then run this again",
        )
    gitrepo.commit_bookkeeping(root, message, (page,))


def _ready(project: Project, cycle: str | None, lanes: list[Lane], skipped: set[str]) -> list[Task]:
    """The tasks that may start now, in the order `sdd run` would take them."""
    state = project.load()
    chosen = project.cycle(state, cycle)
    assert chosen is not None
    position = project.position(state, chosen)
    approved = project.approved_tasks(chosen) or []
    status = plan_tasks.statuses(position, approved)
    by_id = {t.id: t for t in approved}
    busy = [by_id[lane.task] for lane in lanes if lane.task in by_id]
    order = sorted(
        (
            (plan_tasks.RISK_ORDER.get(t.risk, 3), i, t)
            for i, t in enumerate(approved)
            if status[t.id] == "pending"
            and t.id not in skipped
            and not plan_tasks.waits_on(t, status)
        ),
        key=lambda item: (item[0], item[1]),
    )
    chosen_tasks: list[Task] = []
    for _, _, task in order:
        if any(overlap(task.scope, other.scope) for other in busy + chosen_tasks):
            continue  # overlapping scopes never run at the same time
        chosen_tasks.append(task)
    return chosen_tasks


def _link(tree: str, home: str, session: str) -> None:
    me = os.getpid()
    data = {
        "home": home,
        "session": session,
        "branch": worktrees.branch_of(session),
        "runner": {"pid": me, "start": proctree.start_time(me)},
    }
    files.write_atomic(os.path.join(tree, LINK), json.dumps(data) + "\n")


def _begin(
    project: Project,
    stage: str,
    task: Task,
    *,
    cycle: str | None,
    agent: str,
    requested: str | None,
    timeout: float | None,
) -> Lane:
    started = sessions.start(project, stage, cycle=cycle, agent=agent, task=task.id, alongside=True)
    root = project.paths.root
    tree = os.path.join(project.paths.worktrees, started.session)
    lane = Lane(started.session, task.id, agent, tree, time.monotonic())
    folder = os.path.join(project.paths.logs, "sessions")
    try:
        files.write_atomic(os.path.join(folder, f"{started.session}.brief.md"), started.brief)
        with history.locked(project.paths):  # the project's git: one writer at a time
            # Its page too: the agent answers the handoff there, in the worktree.
            _commit(project, f"sdd: {started.session} starts ({task.id})", started.page)
            worktrees.add(root, tree, worktrees.branch_of(started.session))
        _link(tree, root, started.session)
    except BaseException:
        # Interrupted (or git refused) before its worker started: nothing half made stays.
        _settle(project, lane, why="it could not be given its worktree (or was interrupted)")
        raise
    argv = [
        sys.executable,
        "-m",
        "sdd.usecases.worker",
        tree,
        started.session,
        str(os.getpid()),
        requested or "",
        f"{timeout:g}" if timeout else "",
    ]
    log = os.path.join(folder, f"{started.session}.worker.log")
    lane.proc = process.spawn(argv, cwd=tree, env=process.child_env(), log_path=log)
    return lane


def _settle(project: Project, lane: Lane, *, why: str) -> None:
    """After its worker: the session ended in the history (recorded here when the worker
    could not), its worktree removed, its branch deleted once merged, kept otherwise."""
    state = project.load()
    session = state.sessions.get(lane.session)
    if session is not None and session.outcome == "open":
        with contextlib.suppress(SddError):
            sessions.abandon(
                project,
                reason=why,
                cycle=str(session.cycle),
                outcome="interrupted",
                session_id=lane.session,
            )
        session = project.load().sessions.get(lane.session)
    lane.state = session.outcome if session is not None else "failed"
    if lane.state != "complete" and session is not None and session.reason:
        lane.note = session.reason
    lane.ended = lane.ended or time.monotonic()
    with history.locked(project.paths):
        worktrees.remove(project.paths.root, lane.tree)
        if lane.state == "complete":
            with contextlib.suppress(SddError):
                worktrees.delete_branch(project.paths.root, worktrees.branch_of(lane.session))


def _refresh(project: Project) -> None:
    """The tracker and the cache, written again from the history (and the merges): the
    sessions' own records, made in their worktrees, leave them to the project."""
    with project.transaction():
        pass


def _stop_workers(lanes: list[Lane]) -> None:
    """Ctrl-C: every worker ends its agent's tree and records its session; one that does
    not end in time is killed, with its agent's group."""
    for lane in lanes:
        if lane.proc is not None and lane.proc.poll() is None:
            with contextlib.suppress(OSError):
                lane.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for lane in lanes:
        if lane.proc is None:
            continue
        try:
            lane.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill_agent(lane.tree)
            lane.proc.kill()
            lane.proc.wait()


def _kill_agent(tree: str) -> None:
    data = _read_link(tree) or {}
    agent = data.get("agent") or {}
    pid, start = agent.get("pid"), agent.get("start")
    if isinstance(pid, int) and proctree.alive(pid, start if isinstance(start, int) else None):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)


@runlock.one_per_cycle  # one `sdd run` per cycle at a time, --parallel too
def run(
    project: Project,
    width: int,
    *,
    agent: str | None = None,
    timeout: float | None = None,
    cycle: str | None = None,
    watch: Watch | None = None,
    limit: int | None = None,
) -> ParallelResult:
    """``limit``: start at most that many sessions in all (the autopilot's --max-sessions)."""
    if width < 1:
        raise Refused("--parallel needs at least 1", hint="sdd run --parallel 4")
    project.load_whole()  # what this run decides on: see Project.load_whole
    stage = sessions.check_admission(project, None, cycle=cycle)
    state = project.load()
    chosen = project.cycle(state, cycle)
    assert chosen is not None
    position = project.position(state, chosen)
    if stage != position.per_task_stage():
        raise Refused(
            f"--parallel runs the sessions of the plan's tasks; the next session is {stage}",
            hint="sdd run (one session)",
        )
    if not project.approved_tasks(chosen):
        raise Refused("--parallel needs an approved plan with tasks", hint="sdd run")
    open_session = project.open_session(chosen)
    if open_session is not None:
        raise Refused(
            f"session {open_session.id} ({open_session.stage}) is still open",
            hint="finish it with `sdd done` or drop it with `sdd abandon`",
        )
    dirty = gitrepo.dirty(project.paths.root)
    if dirty:
        listed = ", ".join(sorted(dirty)[:5])
        raise Refused(
            f"uncommitted changes ({listed}): each session's worktree starts from the last commit",
            hint="commit them (or stash them), then run this again",
        )
    preset = choose_agent(project, agent)
    if preset.name == "demo" and not state.demo:
        raise Refused("the demo agent runs only in a project made by `sdd demo`")
    if preset.builtin and preset.name != "demo":
        from sdd.agents import presets

        if not presets.installed(preset, os.environ):
            process.resolve_executable(preset.launch.executable, os.environ)
    sweep(project)
    if not _ready(project, cycle, [], set()):
        following = project.next_for(state, chosen)
        raise Refused(
            "no task of the plan is ready to run: each is done, or waits on one that is not",
            hint=f"next: {following['command']}",
        )
    _ignore_worktrees(project)
    begun = time.monotonic()
    lanes: list[Lane] = []  # running
    done: list[Lane] = []
    skipped: set[str] = set()  # tasks whose session did not complete: not retried here
    interrupted = False

    def show(changed: bool) -> None:
        if watch is not None:
            now = time.monotonic()
            watch([lane.row(now) for lane in done + lanes], changed)

    ending = (signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.getsignal(sig) for sig in ending}

    def on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        for sig in ending:
            if previous[sig] != signal.SIG_IGN:
                signal.signal(sig, on_signal)
        first = True
        while True:
            changed = False
            for lane in list(lanes):
                if lane.proc is not None and lane.proc.poll() is not None:
                    lane.ended = time.monotonic()
                    _settle(project, lane, why="its worker ended before the session did")
                    lanes.remove(lane)
                    done.append(lane)
                    if lane.state != "complete":
                        skipped.add(lane.task)
                    changed = True
            room = width - len(lanes)
            if limit is not None:  # the autopilot's --max-sessions, across the batch
                room = min(room, limit - len(done) - len(lanes))
            if room > 0 and (changed or first):
                first = False  # what may start changes only when a session ends
                for task in _ready(project, cycle, lanes, skipped)[:room]:
                    lanes.append(
                        _begin(
                            project,
                            stage,
                            task,
                            cycle=cycle,
                            agent=preset.name,
                            requested=agent,
                            timeout=timeout,
                        )
                    )
                    changed = True
            if not lanes:
                break
            show(changed)
            time.sleep(0.1)
    except BaseException as exc:
        # Ctrl-C, or a failure of our own (git refused to branch): no session runs on.
        interrupted = True
        for sig in (signal.SIGINT, *ending):
            signal.signal(sig, lambda signum, frame: None)  # the ending is not cut short
        _stop_workers(lanes)
        why = "interrupted (Ctrl-C)" if isinstance(exc, KeyboardInterrupt) else "its run failed"
        for lane in lanes:
            lane.ended = time.monotonic()
            _settle(project, lane, why=why)
        done += lanes
        lanes = []
        if not isinstance(exc, KeyboardInterrupt):
            raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if interrupted:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    show(True)
    _refresh(project)
    state = project.load()
    chosen = project.cycle(state, cycle)
    rows = [lane.row(time.monotonic()) for lane in done]
    complete = sum(1 for lane in done if lane.state == "complete")
    kept = [worktrees.branch_of(lane.session) for lane in done if lane.state != "complete"]
    kept = [b for b in kept if worktrees.exists(project.paths.root, b)]
    if interrupted:
        outcome, message = (
            "interrupted",
            (
                f"interrupted: {len(done) - complete} session(s) recorded as interrupted; "
                "their branches are kept until `sdd abandon`"
            ),
        )
    elif complete == len(done):
        outcome, message = "complete", f"{complete} session(s) complete and merged"
    else:
        outcome, message = (
            "incomplete",
            (f"{complete} of {len(done)} session(s) complete; the others' branches are kept"),
        )
    return ParallelResult(
        stage,
        width,
        outcome,
        message,
        rows,
        kept,
        project.next_for(state, chosen),
        round(time.monotonic() - begun, 2),
    )


def _read_link(tree: str) -> dict[str, Any] | None:
    try:
        with open(os.path.join(tree, LINK), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _runner_alive(data: dict[str, Any]) -> bool:
    runner = data.get("runner") or {}
    pid, start = runner.get("pid"), runner.get("start")
    return isinstance(pid, int) and proctree.alive(pid, start if isinstance(start, int) else None)


def _abandoned(tree: str) -> bool:
    """Whether the `sdd run --parallel` that made ``tree`` is gone. A worktree not linked
    yet is being made (the link follows within a moment): left alone for a minute."""
    data = _read_link(tree)
    if data is None:
        try:
            return time.time() - os.stat(tree).st_mtime > 60
        except OSError:
            return False
    return not _runner_alive(data)


def stale(project: Project) -> bool:
    """Whether a worktree's `sdd run --parallel` is gone (cheap: for every command)."""
    try:
        names = os.listdir(project.paths.worktrees)
    except OSError:
        return False
    return any(_abandoned(os.path.join(project.paths.worktrees, n)) for n in names)


def sweep(project: Project, *, wait: float = 20.0) -> list[str]:
    """Clean up after a `sdd run --parallel` that was killed: its workers are given time to
    end their agents; then any agent group left is ended, each session still open is
    recorded as interrupted, and its worktree removed (its branch is kept). Returns the
    sessions cleaned up."""
    try:
        names = sorted(os.listdir(project.paths.worktrees))
    except OSError:
        return []
    cleaned = []
    for name in names:
        tree = os.path.join(project.paths.worktrees, name)
        if not _abandoned(tree):
            continue
        data = _read_link(tree) or {}
        session = data.get("session") if isinstance(data.get("session"), str) else name
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(
            r.session == session for r in running.live(project.paths)
        ):
            time.sleep(0.1)  # its worker ends its agent and records the session
        _kill_agent(tree)
        lane = Lane(str(session), "", "", tree, time.monotonic())
        _settle(project, lane, why="its `sdd run --parallel` ended without cleaning up (killed)")
        cleaned.append(str(session))
    if cleaned:
        _refresh(project)
    return cleaned

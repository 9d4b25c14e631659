"""One parallel session, run by its own `sdd` process in the session's worktree.

`sdd run --parallel` starts one of these per session (``python -m sdd.usecases.worker``).
Each is the subreaper of its own agent, so the containment of `sdd run` holds for every
agent: when it ends, everything its agent left behind ends too, and nothing of the other
sessions. Its records go into the project's one history (the worktree is linked to it);
its `sdd done` merges the session's branch back, under the project's lock.
"""

from __future__ import annotations

import json
import os
import sys

from sdd.agents import presets
from sdd.core import files, jsonable
from sdd.core.errors import CheckFailed, MergeConflict, SddError
from sdd.core.paths import LINK
from sdd.project import running
from sdd.project.project import Project
from sdd.system import gitrepo, process, proctree, worktrees
from sdd.usecases import findings, sessions
from sdd.usecases.runner import RunResult, choose_agent

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _note_agent(tree: str, pid: int) -> None:
    """The agent's pid in the worktree's link: a cleanup after a crash ends its group."""
    marker = os.path.join(tree, LINK)
    try:
        with open(marker, encoding="utf-8") as handle:
            data: dict[str, Any] = json.load(handle)
    except (OSError, ValueError):
        return
    data["agent"] = {"pid": pid, "start": proctree.start_time(pid)}
    files.write_atomic(marker, json.dumps(data) + "\n")


def run_session(
    project: Project, session_id: str, *, agent: str | None, timeout: float | None
) -> RunResult:
    state = project.load()
    session = state.sessions[session_id]
    cycle = str(session.cycle)
    preset = choose_agent(project, agent)
    folder = os.path.join(project.paths.logs, "sessions")
    brief_file = os.path.join(folder, f"{session_id}.brief.md")
    brief = files.read_text(brief_file) or ""
    log_path = os.path.join(folder, f"{session_id}.log")
    argv, stdin_text = presets.command_line(
        preset, headless=True, brief=brief, brief_file=brief_file
    )
    shown = [a if len(a) < 200 else f"<brief, {len(a.encode())} bytes>" for a in argv]
    sessions.launched(project, session_id, shown, project.paths.rel(log_path))
    tree = project.paths.root
    env = process.child_env(
        {
            "SDD_SESSION_ID": session_id,
            "SDD_STAGE": session.stage,
            "SDD_CYCLE": cycle,
            "SDD_PROJECT_ROOT": tree,
            "SDD_BRIEF_FILE": brief_file,
            **({"SDD_TASK": session.task} if session.task else {}),
        }
    )
    with running.registered(project.paths, session_id):
        ended = process.launch(
            argv,
            cwd=tree,
            env=env,
            interactive=False,
            timeout=timeout,
            stdin_text=stdin_text,
            log_path=log_path,
            on_start=lambda pid: _note_agent(tree, pid),
        )
    sessions.exited(project, session_id, ended.returncode)
    result = RunResult(
        session_id,
        session.stage,
        preset.name,
        "headless",
        "",
        ended.returncode,
        session.page,
        project.paths.rel(log_path),
        "",
    )
    by_agent = sessions.outcome_of(project, session_id)
    if by_agent is not None:
        result.outcome = "complete" if by_agent == "complete" else "failed"
        result.message = f"session {session_id} was ended from inside it ({by_agent})"
        return result
    if ended.interrupted or ended.timed_out:
        why = f"timed out after {timeout:g} s" if ended.timed_out else "interrupted (Ctrl-C)"
        _end(project, session_id, cycle, "interrupted", why, ended.returncode)
        result.outcome, result.timed_out = "interrupted", ended.timed_out
        result.message = f"the agent was {why}; the session is recorded as interrupted"
        return result
    if ended.returncode != 0:
        why = f"the agent exited with code {ended.returncode}"
        _end(project, session_id, cycle, "failed", why, ended.returncode)
        result.outcome, result.message = "failed", f"{why}; the session is recorded as failed"
        return result
    try:
        sessions.done(project, cycle=cycle, exit_code=ended.returncode)
    except MergeConflict as exc:
        _conflict(project, session_id, exc)
        result.outcome, result.missing = "conflict", exc.details
        result.message = exc.message
        return result
    except CheckFailed as exc:
        # Not complete: in a worktree nobody finishes it by hand; its branch keeps the work.
        why = "not complete: " + "; ".join(exc.details[:3])
        _end(project, session_id, cycle, "failed", why, ended.returncode)
        result.outcome, result.missing = "failed", exc.details
        result.message = f"session {session_id} is not complete; its branch is kept"
        return result
    except SddError as exc:
        _end(project, session_id, cycle, "failed", exc.message, ended.returncode)
        result.outcome, result.message = "failed", exc.message
        return result
    result.outcome, result.message = "complete", f"session {session_id} complete and merged"
    return result


def _end(
    project: Project, session_id: str, cycle: str, outcome: str, why: str, code: int | None
) -> None:
    sessions.abandon(
        project, reason=why, cycle=cycle, outcome=outcome, exit_code=code, session_id=session_id
    )


def _conflict(project: Project, session_id: str, exc: MergeConflict) -> None:
    """The session is not complete, and its conflict is a finding for a fix session."""
    branch = worktrees.branch_of(session_id)
    with project.transaction() as tx:
        session = tx.state.sessions[session_id]
        chosen = tx.state.cycles[session.cycle]
        listed = ", ".join(exc.details[:10])
        what = f"task {session.task}" if session.task else session.stage
        text = (
            f"the work of {session_id} ({what}) conflicts with the cycle's branch in {listed}: "
            f"its branch {branch} is kept; merge it and resolve the conflict (or redo the task)"
        )
        findings.record(
            tx, chosen, findings.Raised("major", text), stage=session.stage, session=session_id
        )
        tx.record(
            "session.end",
            session=session_id,
            cycle=chosen.number,
            outcome="failed",
            head=gitrepo.head(project.paths.root),
            reason=f"merge conflict in {listed}; its branch {branch} is kept",
            exit_code=0,
        )


def main(argv: list[str] | None = None) -> int:
    tree, session_id, parent, agent, timeout = argv if argv is not None else sys.argv[1:6]
    process.die_with_parent(int(parent))
    project = Project(tree)
    if not project.paths.linked or project.bound != session_id:
        print(f"sdd worker: {tree} is not the worktree of {session_id}", file=sys.stderr)
        return 2
    try:
        result = run_session(
            project, session_id, agent=agent or None, timeout=float(timeout) if timeout else None
        )
    except SddError as exc:
        print(f"sdd worker: {exc.message}", file=sys.stderr)
        return 1
    print(json.dumps(jsonable.to_json(result)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`sdd run`: one session in a fresh agent process, judged afterwards from evidence."""

from __future__ import annotations

import os
import sys

from sdd.agents import presets
from sdd.agents.registry import DEMO, Launch
from sdd.core import files
from sdd.core.errors import CheckFailed, Refused
from sdd.core.structs import dataclass, field
from sdd.project import runlock, running
from sdd.system import process
from sdd.usecases import sessions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from sdd.project.project import Project


@dataclass
class RunResult:
    session: str
    stage: str
    agent: str
    mode: str
    outcome: str  # complete, incomplete (left open), failed, interrupted
    exit_code: int | None
    page: str
    log: str | None
    message: str
    missing: list[str] = field(default_factory=list)
    next: dict[str, object] = field(default_factory=dict)
    timed_out: bool = False


def _demo_preset() -> presets.Preset:
    # The bundled scripted agent: a real, separate process, for `sdd demo`.
    argv = (sys.executable, "-m", "sdd.demo.agent", "{brief_file}")
    return presets.Preset(DEMO, Launch(argv, argv))


def choose_agent(project: Project, requested: str | None) -> presets.Preset:
    if requested == DEMO:
        return _demo_preset()
    where = project.paths.rel(project.paths.config)
    known = presets.from_config(project.config.raw, where)
    section = project.config.raw.get("agents", {})
    default = section.get("default") if isinstance(section, dict) else None
    if default == DEMO and not requested:
        return _demo_preset()
    return presets.choose(
        known, requested, default if isinstance(default, str) and default else None
    )


@runlock.one_per_cycle  # a second `sdd run` on the same cycle is refused, naming the first
def run(
    project: Project,
    stage: str | None = None,
    *,
    agent: str | None = None,
    headless: bool = False,
    task: str | None = None,
    timeout: float | None = None,
    cycle: str | None = None,
    on_launch: Callable[[list[str], str | None], None] | None = None,
    finding: str | None = None,
) -> RunResult:
    project.load_whole()  # what this run decides on: see Project.load_whole
    sessions.check_admission(project, stage, cycle=cycle, finding=finding)
    preset = choose_agent(project, agent)
    if preset.name == DEMO and not project.load().demo:
        raise Refused("the demo agent runs only in a project made by `sdd demo`")
    env_path = os.environ
    if preset.builtin and preset.name != DEMO and not presets.installed(preset, env_path):
        process.resolve_executable(preset.launch.executable, env_path)  # raises the clear error
    started = sessions.start(
        project, stage, cycle=cycle, agent=preset.name, task=task, finding=finding
    )
    folder = os.path.join(project.paths.logs, "sessions")
    brief_file = os.path.join(folder, f"{started.session}.brief.md")
    files.write_atomic(brief_file, started.brief)
    log_path = os.path.join(folder, f"{started.session}.log") if headless else None
    argv, stdin_text = presets.command_line(
        preset, headless=headless, brief=started.brief, brief_file=brief_file
    )
    shown = [a if len(a) < 200 else f"<brief, {len(a.encode())} bytes>" for a in argv]
    sessions.launched(
        project, started.session, shown, project.paths.rel(log_path) if log_path else None
    )
    if on_launch is not None:
        note = preset.launch.interactive_note if not headless else None
        on_launch(shown, note.format(brief_file=brief_file) if note else None)
    env = process.child_env(
        {
            "SDD_SESSION_ID": started.session,
            "SDD_STAGE": started.stage,
            "SDD_CYCLE": str(started.cycle),
            "SDD_PROJECT_ROOT": project.paths.root,
            "SDD_BRIEF_FILE": brief_file,
            **({"SDD_TASK": started.task} if started.task else {}),
            **({"SDD_FINDING": started.finding} if started.finding else {}),
        }
    )
    # Listed as running from before the agent starts until its whole tree has ended: a
    # person's act elsewhere is refused meanwhile (in an unsigned project).
    with running.registered(project.paths, started.session):
        ended = process.launch(
            argv,
            cwd=project.paths.root,
            env=env,
            interactive=not headless,
            timeout=timeout,
            stdin_text=stdin_text,
            log_path=log_path,
        )
    # The whole tree has ended: what a person's act may not overlap closes here (an act
    # recorded between the launch and this, in an unsigned project, does not count).
    sessions.exited(project, started.session, ended.returncode)
    mode = "headless" if headless else "interactive"
    result = RunResult(
        started.session,
        started.stage,
        preset.name,
        mode,
        "",
        ended.returncode,
        started.page,
        project.paths.rel(log_path) if log_path else None,
        "",
    )
    ended_by_agent = sessions.outcome_of(project, started.session)
    if ended_by_agent is not None:
        # The agent ended its own session (`sdd done` or `sdd abandon` inside it): that is
        # what happened, and there is nothing left to judge.
        result.outcome = "complete" if ended_by_agent == "complete" else "failed"
        result.message = f"session {started.session} was ended from inside it ({ended_by_agent})"
        result.next = project.next_for(project.load(), project.load().cycles[started.cycle])
        return result
    if ended.interrupted or ended.timed_out:
        why = f"timed out after {timeout:g} s" if ended.timed_out else "interrupted (Ctrl-C)"
        end = sessions.abandon(
            project,
            reason=why,
            cycle=str(started.cycle),
            outcome="interrupted",
            exit_code=ended.returncode,
        )
        result.timed_out = ended.timed_out
        result.outcome, result.message, result.next = (
            "interrupted",
            f"the agent was {why}; the session is recorded as interrupted",
            end.next,
        )
        return result
    reported = None
    if log_path and preset.launch.result:
        reported = presets.reported_error(preset.launch.result, files.read_text(log_path) or "")
    if ended.returncode != 0 or reported:
        why = reported or f"the agent exited with code {ended.returncode}"
        end = sessions.abandon(
            project,
            reason=why,
            cycle=str(started.cycle),
            outcome="failed",
            exit_code=ended.returncode,
        )
        result.outcome, result.message, result.next = (
            "failed",
            f"{why}; the session is recorded as failed",
            end.next,
        )
        return result
    try:
        end = sessions.done(project, cycle=str(started.cycle), exit_code=ended.returncode)
    except CheckFailed as exc:
        result.outcome = "incomplete"
        result.missing = exc.details
        result.message = f"session {started.session} is not complete; it stays open"
        result.next = {
            "kind": "finish-session",
            "command": "sdd done",
            "summary": "fix what is missing (or have a fresh agent do it), then `sdd done`; or `sdd abandon`",
        }
        return result
    result.outcome, result.message, result.next = (
        "complete",
        f"session {started.session} complete",
        end.next,
    )
    return result

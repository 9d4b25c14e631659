"""`sdd demo`: a fresh demo project driven through one whole cycle, offline.

Every session is launched through `sdd run --agent demo` (the bundled scripted agent,
a real separate process); every gate is passed by the demo approver, which only a
demo project accepts and which is recorded as the demo's, never as a person's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from sdd.agents.registry import DEMO
from sdd.core.errors import SddError, UsageError
from sdd.core.structs import dataclass, field
from sdd.project.project import DocHasher, Project
from sdd.system import gitrepo
from sdd.system.process import run_subprocess
from sdd.usecases import approvals, runner
from sdd.usecases.init import init

TITLE = "Word frequencies"
# The person's request the demo cycle starts from: every brief of it carries these words.
REQUEST = (
    "A command-line tool that counts the words in a text file and prints the most frequent "
    "ones, highest count first, with an option for how many to print."
)
STEP_LIMIT = 60

Step = Callable[[str, dict[str, Any]], None]


@dataclass
class DemoResult:
    root: str
    steps: list[str] = field(default_factory=list)
    finished: bool = False


def _commit_all(root: str, message: str) -> None:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="sdd demo",
        GIT_AUTHOR_EMAIL="demo@sdd.invalid",
        GIT_COMMITTER_NAME="sdd demo",
        GIT_COMMITTER_EMAIL="demo@sdd.invalid",
    )
    run_subprocess(["git", "add", "-A"], cwd=root, env=env, check=True)
    run_subprocess(["git", "commit", "-q", "-m", message], cwd=root, env=env, check=True)


def _configure_verify(root: str) -> None:
    """The demo program's checks: its unit tests, with this interpreter."""
    import json
    import sys

    config = os.path.join(root, ".sdd", "config.toml")
    command = json.dumps([sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."])
    with open(config, "a", encoding="utf-8") as handle:
        handle.write(f'\n[[verify.checks]]\nname = "tests"\ncommand = {command}\ntimeout = 120\n')


def _walk(project: Project) -> str:
    """The demo approver walks the prepared user verification: every item passes (the demo
    plays the person, and only in a demo project); the gate is decided after, on its own."""
    from sdd.usecases import walkthrough

    walk = walkthrough.begin(project, stdin_is_tty=False, demo=True)
    walk = walkthrough.walk(
        project,
        walk,
        lambda item, number, total: walkthrough.Answer("pass"),
        lambda count: walkthrough.Answer("done"),
    )
    return (
        f"{walk.session} walked by the demo approver: {len(walk.items)} items passed "
        f"(verdicts in {walk.document})"
    )


def demo(directory: str, *, on_step: Step | None = None) -> DemoResult:
    root = os.path.abspath(directory)
    # The demo's own commits and tag carry the demo's name, whatever git is configured with.
    for key, value in (
        ("GIT_AUTHOR_NAME", "sdd demo"),
        ("GIT_AUTHOR_EMAIL", "demo@sdd.invalid"),
        ("GIT_COMMITTER_NAME", "sdd demo"),
        ("GIT_COMMITTER_EMAIL", "demo@sdd.invalid"),
    ):
        os.environ.setdefault(key, value)
    if os.path.exists(root) and os.listdir(root):
        raise UsageError(
            f"{directory}: exists and is not empty", hint="give `sdd demo` a new folder"
        )
    init(root, title=TITLE, demo=True, request=REQUEST)
    _configure_verify(root)
    _commit_all(root, "sdd demo: a new project")
    project = Project(root)
    result = DemoResult(root)
    for _ in range(STEP_LIMIT):
        state = project.load()
        cycle = state.latest_cycle()
        panel = project.panel(state, cycle, DocHasher(project.paths))
        action = panel["next"]
        if action["kind"] == "new-cycle":
            result.finished = True
            break
        if action["kind"] == "session":
            # A fix session for the finding `next` names (a major one is named with --finding).
            finding = action.get("finding")
            ran = runner.run(project, agent=DEMO, headless=True, finding=finding)
            if ran.outcome != "complete":
                raise SddError(
                    f"demo: session {ran.session} ({ran.stage}) ended {ran.outcome}: {ran.message}",
                    details=ran.missing
                    + ([f"the agent's output: {os.path.join(root, ran.log)}"] if ran.log else []),
                    hint="this is a bug in sdd's demo: please report it with that output",
                )
            text = f"{ran.session} {ran.stage}: complete (sdd run --agent demo)"
        elif action["kind"] == "release":
            from sdd.usecases.release import release

            done = release(project, tag="v1.0.0")
            text = f"release recorded: {done.version} at {str(done.head)[:12]}, tagged"
        elif action["kind"] == "walkthrough":
            text = _walk(project)
        elif action["kind"] == "gate":
            approvals.decide(
                project,
                action["gate"],
                approve=True,
                confirm=lambda review: None,
                stdin_is_tty=False,
                demo=True,
            )
            text = f"{action['gate']}: approved by the demo approver"
        else:
            raise SddError(f"demo: unexpected next action {action['kind']}: {action['summary']}")
        result.steps.append(text)
        if on_step is not None:
            state = project.load()
            on_step(text, project.panel(state, state.latest_cycle(), DocHasher(project.paths)))
    if not result.finished:
        raise SddError(f"demo: the cycle did not finish within {STEP_LIMIT} steps")
    if gitrepo.dirty(root):
        _commit_all(root, "sdd demo: the cycle's documents")
    return result

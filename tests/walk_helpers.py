"""The random walk of `sdd next` (issue 17 point 5): an agent that always runs the command
`next` names, in a demo project, until the cycle is over.

Each step reads `next` (``sdd.api.status``: what `sdd next --json` prints) and takes its
command — or, when the walk chooses so, its alternative, which must be a different action.
The command is parsed by sdd's own parser (a usage error fails the walk) and run in-process
through ``sdd.api``, as the command line runs it. What nobody names is played as the
bundled scripted agent and the demo approver would, with random but legal choices:

- a session's agent writes the stage's outputs with the demo agent's texts
  (``sdd.demo.agent``), commits code in implement sessions and answers the handoff; or it
  abandons the session, or fails (what `sdd run` records when the agent exits non-zero), or
  runs `sdd done` before it is finished (refused with what is missing; the session stays
  open), or meets a red `sdd verify` on the way;
- the spec may state a low confidence or leave a blocking question open; review and QA
  reports list findings of random severity; an implement session may commit red code first;
  the release checklist may list UNCERTAIN items;
- between sessions the person may edit an approved document (its gate turns stale);
- the demo approver approves or rejects the gates and walks the user verification with
  random verdicts, problems no item covers, and stops it resumes later;
- a person's act the demo approver has no part in (answering a question, waiving a finding)
  is typed at a real pseudo-terminal, as a person types it.

The walk fails when a command `next` named is refused (Refused: exit 3), is a usage error
(exit 2) or fails otherwise, when `next` is the same twice with nothing recorded in between
(stuck), or when the cycle is not over within the step bound. Every time is the tests' clock
(SDD_NOW, and git's dates), one minute a step.

The choices come from a tape of numbers 0-99 (hypothesis draws it; ``@example`` replays a
walk): at each choice point the next number says whether the walk leaves the plain course
(a number of ``100 - ODDS`` or more) and where to; past the end of the tape, or once the
budget of disruptions is spent, every choice is the plain one, so every walk ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from helpers import history_lines, person_runs, sdd_json
from sdd import api
from sdd.core.clock import iso
from sdd.core.errors import CheckFailed, SddError
from sdd.demo import agent

T = TypeVar("T")

# The tests' clock: a walk's records are dated from here, a minute a step.
T0 = 1_800_000_000  # 2027-01-15T08:00:00Z
STEP_SECONDS = 60
STEP_BOUND = 200
ODDS = 15  # out of 100: how often a choice point leaves the plain course
REQUEST = "A command-line tool that counts the words of a text file, most frequent first."

# The project's verify check: quick (no Python to start), and red while the tree holds the
# marker an agent may leave by mistake.
RED_MARK = "wordfreq/BROKEN"
VERIFY = f"""
[[verify.checks]]
name = "tests"
command = ["sh", "-c", "test ! -e {RED_MARK}"]
timeout = 60
"""


class Tape:
    """The walk's choices, read from ``numbers`` (each 0-99) in order. ``pick(label,
    options)``: options[0] is the plain course, the others disruptions (each spends one of
    ``budget``); ``draw(label, options)``: any of them, spending nothing."""

    def __init__(self, numbers: Sequence[int], budget: int) -> None:
        self.numbers = list(numbers)
        self.read = 0
        self.budget = budget
        self.taken: list[str] = []

    def _next(self) -> int | None:
        if self.read >= len(self.numbers):
            return None
        self.read += 1
        return self.numbers[self.read - 1]

    def pick(self, label: str, options: Sequence[T]) -> T:
        if len(options) < 2 or self.budget <= 0:
            return options[0]
        number = self._next()
        if number is None or number < 100 - ODDS:
            return options[0]
        choice = options[1 + (number - (100 - ODDS)) % (len(options) - 1)]
        self.budget -= 1
        self.taken.append(f"{label}: {choice}")
        return choice

    def draw(self, label: str, options: Sequence[T]) -> T:
        number = self._next()
        return options[0 if number is None else number % len(options)]


@contextlib.contextmanager
def clock(seconds: int) -> Iterator[None]:
    """The tests' clock for sdd (SDD_NOW) and for git's commits and tags."""
    names = ("SDD_NOW", "GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")
    old = {name: os.environ.get(name) for name in names}
    os.environ["SDD_NOW"] = str(seconds)
    os.environ["GIT_AUTHOR_DATE"] = os.environ["GIT_COMMITTER_DATE"] = f"@{seconds} +0000"
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def make_base(folder: Path) -> Path:
    """A demo project (`sdd init` as `sdd demo` makes it) with the quick verify check,
    committed: what every walk starts from."""
    root = folder / "base"
    with clock(T0):
        api.init(str(root), title=agent.TITLE, demo=True, request=REQUEST)
        with (root / ".sdd" / "config.toml").open("a", encoding="utf-8") as handle:
            handle.write(VERIFY)
        agent.git(str(root), "add", "-A")
        agent.git(str(root), "commit", "-q", "-m", "sdd demo: a new project")
    return root


@dataclass
class Start:
    """A state a walk starts from: a project folder, the clock and the agent's count."""

    root: Path
    now: int = T0
    revision: int = 0
    step: int = 0
    next: str = ""  # the kind of action `next` names there


def plain_states(base: Path, folder: Path) -> list[Start]:
    """Every state of one plain walk through the cycle (no disruption), each kept as a
    copy: the states later walks start from."""
    walker = Walker(copy(base, folder / "plain"), Tape([], 0))
    states: list[Start] = []

    def keep(step: int) -> None:  # before step 1, the fresh project: state 0
        target = copy(walker.root, folder / f"state-{step - 1:03d}")
        states.append(Start(target, walker.now, walker.revision, step - 1))

    walker.walk(before_step=keep)
    for state, action in zip(states, walker.actions, strict=True):
        state.next = action["kind"]
    return states


def copy(source: Path, target: Path) -> Path:
    """A copy of a project to walk in. Git's object files are shared (hard links): git
    never changes one once written, and they are most of the files a copy would write."""

    def link_or_copy(src: str, dst: str) -> object:
        if f"{os.sep}.git{os.sep}objects{os.sep}" in src:
            with contextlib.suppress(OSError):
                os.link(src, dst)
                return dst
        return shutil.copy2(src, dst)

    shutil.copytree(source, target, symlinks=True, copy_function=link_or_copy)
    return target


class WalkFailed(AssertionError):
    pass


@dataclass
class Walker:
    root: Path
    tape: Tape
    now: int = T0
    revision: int = 0
    origin: str = "the demo project as `sdd init` made it"
    steps: list[str] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)  # what `next` named, in turn

    def __post_init__(self) -> None:
        # One Project for the whole walk, as `sdd demo` keeps one.
        self.project = api.open_project(str(self.root))

    @classmethod
    def at(cls, start: Start, target: Path, tape: Tape) -> Walker:
        origin = f"state {start.step} of the plain cycle" if start.step else cls.origin
        return cls(copy(start.root, target), tape, start.now, start.revision, origin)

    # ------------------------------------------------------------------ the walk

    def walk(
        self, bound: int = STEP_BOUND, *, cli: bool = False, before_step: Any = None
    ) -> list[str]:
        """Follow `next` until the cycle is over; returns the steps taken. ``cli``: at the
        end, `sdd next --json` (the installed command) must say what the API said."""
        last: tuple[str, int] | None = None
        for step in range(1, bound + 1):
            if before_step is not None:
                before_step(step)
            self.now += STEP_SECONDS
            with clock(self.now):
                data = api.status(str(self.root)).data
                if self.meddle(data):
                    data = api.status(str(self.root)).data
                action = data["next"]
                self.actions.append(action)
                seen = (json.dumps(action, sort_keys=True), len(history_lines(self.root)))
                if seen == last:
                    self.fail(f"stuck: `next` is the same twice and nothing was recorded: {action}")
                last = seen
                if action["kind"] == "new-cycle":
                    self.finished(action, cli=cli)
                    return self.steps
                self.follow(action)
        self.fail(f"the cycle is not over after {bound} steps")
        raise AssertionError  # unreachable

    def finished(self, action: dict[str, Any], *, cli: bool) -> None:
        data = api.status(str(self.root)).data
        if data["cycle"]["state"] != "finished":
            self.fail(
                f"`next` says {action['command']} while the cycle is {data['cycle']['state']}"
            )
        stages = {s["name"]: s["status"] for s in data["stages"]}
        if set(stages.values()) != {"done"}:
            self.fail(f"the cycle ended with stages not done: {stages}")
        if not all(g["state"] == "approved" for g in data["gates"]):
            self.fail(f"the cycle ended with gates not approved: {data['gates']}")
        if cli:
            shown = sdd_json("next", cwd=self.root)
            if shown != action:
                self.fail(f"`sdd next --json` says {shown}, the API said {action}")

    def fail(self, why: str) -> None:
        trail = "\n".join(f"  {n + 1:>3}. {s}" for n, s in enumerate(self.steps))
        taken = "; ".join(self.tape.taken) or "none"
        raise WalkFailed(f"{why}\nfrom {self.origin}; disruptions: {taken}\nsteps:\n{trail}")

    def meddle(self, data: dict[str, Any]) -> bool:
        """Between sessions, the person may edit an approved document (the spec): its gate
        turns stale. Returns whether they did."""
        if data["next"]["kind"] not in ("session", "gate", "release"):
            return False
        approved = any(
            g["name"] == "spec-approval" and g["state"] == "approved" for g in data["gates"]
        )
        if not approved or self.tape.pick("between sessions", ["nothing", "edit"]) == "nothing":
            return False
        with (self.root / "docs" / "product-spec.md").open("a", encoding="utf-8") as handle:
            handle.write(f"\n<!-- the person's note ({iso(self.now)}) -->\n")
        self.steps.append("  the person edits docs/product-spec.md after its approval")
        return True

    def follow(self, action: dict[str, Any]) -> None:
        command, alternative = action["command"], action.get("alternative")
        if alternative is not None and alternative == command:
            self.fail(f"the alternative is the same action as the command: {action}")
        chosen = command
        if alternative is not None:
            chosen = self.tape.pick(f"{action['kind']}: the alternative", [command, alternative])
        self.steps.append(f"[{action['kind']}] {chosen}")
        argv, args = self.argv(chosen)
        try:
            self.run(argv, args)
        except SddError as exc:  # Refused (exit 3), UsageError (exit 2), CheckFailed (1)…
            self.fail(
                f"`{chosen}` ({action['kind']}) was refused or failed (exit {exc.exit_code}): "
                f"{exc} {exc.details} hint: {exc.hint}"
            )

    def argv(self, command: str) -> tuple[list[str], Any]:
        """The command as typed, its placeholders filled, checked by sdd's own parser."""
        words = shlex.split(command)
        if words[:1] != ["sdd"] or len(words) < 2:
            self.fail(f"`next` names something that is not an sdd command: {command}")
        filled = {
            "WHY": f"the demo approver's reason at {iso(self.now)}",
            "TAG": "v1.0.0",
            "TITLE": "The next cycle",
        }
        words = [filled.get(w, w) for w in words[1:]]
        return words, self.parse(words, command)

    def parse(self, words: list[str], command: str) -> Any:
        from sdd.cli.parser import build_parser

        parser = _PARSERS.get(words[0]) or _PARSERS.setdefault(words[0], build_parser(words[0]))
        err = _Sink()
        try:
            with contextlib.redirect_stdout(_Sink()), contextlib.redirect_stderr(err):
                return parser.parse_args(words)
        except SystemExit as exit_:
            self.fail(f"`{command}` is a usage error (exit {exit_.code}): {err.text}")

    # ------------------------------------------------------------------ the commands

    def run(self, argv: list[str], args: Any) -> None:
        """``argv`` (parsed: ``args``) in-process, through the use cases the command line
        calls."""
        project, verb = self.project, argv[0]
        if verb == "start":
            started = api.start(
                project, args.stage, cycle=args.cycle, task=args.task, finding=args.finding
            )
            self.agent_session(started)
        elif verb == "done":
            ended = api.done(project, note=args.note, cycle=args.cycle)
            if ended.outcome != "complete":
                self.fail(f"`sdd done` left {ended.session} {ended.outcome}")
        elif verb == "abandon":
            api.abandon_session(project, reason=args.reason, cycle=args.cycle)
        elif verb in ("approve", "reject"):
            api.decide_gate(
                project,
                args.gate,
                approve=verb == "approve",
                confirm=lambda review: None,
                stdin_is_tty=False,
                reason=getattr(args, "reason", None),
                to=getattr(args, "to", None),
                cycle=args.cycle,
                demo=True,  # `--demo-approver`: only a demo project accepts it
            )
        elif verb == "walkthrough":
            self.walkthrough(args.cycle)
        elif verb == "verify":
            checked = api.verify(project)
            if not checked.ok:  # `sdd verify` exits 1: named, it must be the way forward
                self.fail(f"`sdd verify` named by `next` is red: {checked.checks}")
        elif verb == "release":
            api.release(project, tag=args.tag, cycle=args.cycle)
        elif verb == "questions" and args.action == "list":
            self.questions(args.cycle)
        elif verb == "findings" and args.action == "from-release":
            api.findings_from_release(project, cycle=args.cycle)
        elif verb == "findings" and args.action == "waive":
            self.person("findings", "waive", *args.text, "--reason", args.reason)
        else:
            self.fail(f"the walk does not know how to run `sdd {' '.join(argv)}`")

    def person(self, *argv: str) -> None:
        """A person's act the demo approver has no part in: typed at a real terminal."""
        code, output = person_runs(self.root, *argv)
        if code != 0:
            self.fail(f"a person ran `sdd {' '.join(argv)}`: exit {code}\n{output}")
        self.steps.append(f"  a person: sdd {' '.join(argv)}")

    def questions(self, cycle: str | None) -> None:
        """`sdd questions` lists them; the person answers each open blocking one."""
        listed = api.spec_questions(self.project, cycle)
        for question in listed.questions:
            if question.blocking and question.answer is None:
                self.person("questions", "answer", question.id, "Yes, digits count as words")

    def walkthrough(self, cycle: str | None) -> None:
        """The demo approver walks it: mostly passes; a failure, a skip, a problem no item
        covers, or a stop (the next `sdd walkthrough` resumes it), as the tape says."""
        tape, project = self.tape, self.project
        walk = api.begin_walkthrough(project, stdin_is_tty=False, cycle=cycle, demo=True)
        answered = [0]  # a stop comes after an answer: quitting at once records nothing

        def ask(item: Any, number: int, total: int) -> Any:
            said = tape.pick("verdict", ["pass", "fail", "skip", "quit", "problem"])
            if said == "quit" and not answered[0]:
                said = "pass"
            answered[0] += 1
            if said == "problem":
                severity = tape.draw("severity", ["blocking", "major", "minor"])
                return api.Answer("problem", f"seen while trying {item.id}", severity)
            return api.Answer(said, "" if said in ("pass", "quit") else f"{said}: {item.id}")

        def more(count: int) -> Any:
            said = tape.pick("more problems", ["done", "problem", "quit"])
            if said == "quit" and not answered[0]:
                said = "done"
            answered[0] += 1
            if said == "problem":
                severity = tape.draw("severity", ["blocking", "major", "minor"])
                return api.Answer("problem", f"problem {count + 1} that no item covers", severity)
            return api.Answer(said)

        walked = api.walk_through(project, walk, ask, more)
        told = "stopped" if walked.stopped else f"findings {walked.findings}"
        self.steps.append(f"  the demo approver walked {walked.session}: {told}")

    # ------------------------------------------------------------------ the agent

    def agent_session(self, started: Any) -> None:
        """The scripted agent's part in the session `sdd start` opened."""
        how = self.tape.pick(
            f"{started.stage} session",
            ["complete", "abandon", "failed", "too early", "red verify"],
        )
        self.steps.append(f"  {started.session} {started.stage}: the agent: {how}")
        project = self.project
        if how == "abandon":
            api.abandon_session(project, reason="the agent gave up")
            return
        if how == "failed":  # what `sdd run` records when the agent exits non-zero
            api.abandon_session(
                project, reason="the agent exited with code 1", outcome="failed", exit_code=1
            )
            return
        if how == "red verify":  # the agent breaks the tree, sees the checks fail, repairs it
            (self.root / RED_MARK).parent.mkdir(exist_ok=True)
            (self.root / RED_MARK).write_text("the tests fail\n", encoding="utf-8")
            if api.verify(project).ok:
                self.fail("`sdd verify` is green with the red marker in the tree")
            (self.root / RED_MARK).unlink()
        implement = started.stage == "implement"
        self.work(started, red=how == "too early" and implement)
        if how == "too early":
            if not implement:
                self.try_done(started, "with no handoff")
            else:
                self.handoff(started)
                self.try_done(started, "with red code")
                (self.root / RED_MARK).unlink()
                agent.git(str(self.root), "commit", "-q", "-am", "the tests are green again")
                return
        self.handoff(started)

    def try_done(self, started: Any, what: str) -> None:
        try:
            api.done(self.project)
        except CheckFailed:
            return  # refused with what is missing; the session stays open
        self.fail(f"`sdd done` accepted {started.session} ({started.stage}) {what}")

    def handoff(self, started: Any) -> None:
        agent.handoff(str(self.root), started.page, f"{started.stage}: done as the brief asked.")

    def work(self, started: Any, *, red: bool = False) -> None:
        """The stage's outputs, as the demo agent writes them (its handoff apart). Each
        session's documents differ from the last one's: a session that redoes a stage
        revises it."""
        self.revision += 1
        root, stage, writes = str(self.root), started.stage, list(started.writes)
        mark = f"\n<!-- revision {self.revision} ({started.session}) -->\n"
        numbered = [w for w in writes if re.search(r"-[RQU]\d+\.md$", w)]
        cycle = Path(numbered[0]).stem.rsplit("-", 1)[0] if numbered else ""
        cycle = cycle or next(
            (Path(w).stem for w in writes if "/releases/" in w or "/post-mortems/" in w), ""
        )
        date = iso(self.now)[:10]
        if stage == "spec":
            agent.write(root, agent.output_for(writes, "product-spec.md"), self.spec() + mark)
        elif stage == "architecture":
            agent.write(
                root, agent.output_for(writes, "architecture.md"), agent.ARCHITECTURE + mark
            )
        elif stage == "plan":
            agent.write(root, agent.output_for(writes, "implementation-plan.md"), agent.PLAN + mark)
            agent.write(root, agent.output_for(writes, "test-plan.md"), agent.TEST_PLAN + mark)
        elif stage == "implement":
            self.code(started, red)
        elif stage in ("review", "qa"):
            for path in writes:
                agent.write(root, path, self.report(stage, _number(path), cycle, date))
        elif stage == "user-verification":
            for path in writes:
                agent.write(root, path, agent.verification(_number(path), cycle, date))
        elif stage == "final-verification":
            for path in writes:
                agent.write(root, path, self.release(cycle, date))
        elif stage == "postmortem":
            for path in writes:
                head = (self.root / path).read_text(encoding="utf-8").split("## What went wrong")[0]
                agent.write(root, path, head + agent.ANALYSIS)
        else:
            self.fail(f"the scripted agent has no part for the stage {stage}")

    def spec(self) -> str:
        text = agent.SPEC
        how = self.tape.pick("spec", ["sure", "unsure", "open question"])
        if how == "unsure":
            text = text.replace("Confidence: 97 %", "Confidence: 80 %")
        elif how == "open question":
            text = text.replace("  Answer: Yes, digits are kept (answered by the person).\n", "")
        return text

    def code(self, started: Any, red: bool) -> None:
        """An implement session's work, committed: its task's part of the program (or all of
        it, for a fix or a rework), with a line that is new in every session."""
        root = str(self.root)
        code, tests = agent.strict(agent.CODE), agent.TESTS
        if started.task == "T1":
            code = agent.strict(agent.without_top(agent.CODE))
            tests = agent.TESTS.split("    def test_top")[0].rstrip()
            tests += '\n\n\nif __name__ == "__main__":\n    unittest.main()\n'
        elif started.finding:
            code = agent.CODE
        code += f"\n# worked on in {started.session} (revision {self.revision})\n"
        agent.write(root, "wordfreq/__init__.py", "")
        agent.write(root, "wordfreq/wordfreq.py", code)
        agent.write(root, "tests/__init__.py", "")
        agent.write(root, "tests/test_wordfreq.py", tests)
        if red:
            agent.write(root, RED_MARK, "the tests fail\n")
        agent.git(root, "add", "-A")
        what = started.finding or started.task or "rework"
        agent.git(root, "commit", "-q", "-m", f"{what}: {started.session}")

    def report(self, stage: str, n: str, cycle: str, date: str) -> str:
        """A review or QA report as the demo agent writes it, with the findings the tape
        chooses: none, or one or two of random severity."""
        text = agent.report(stage, n, cycle, date, "exit 0: OK")
        count = self.tape.pick(f"{stage} findings", [0, 1, 2])
        if not count:
            return text
        lines = []
        for k in range(1, count + 1):
            severity = self.tape.draw(f"{stage} severity", ["blocking", "major", "minor"])
            lines.append(
                f"- F{k} ({severity}) wordfreq/wordfreq.py, {stage} {n}.{k}: "
                f"something {stage} found to fix ({iso(self.now)}, {k})"
            )
        text = text.replace("## Findings\n- none\n", "## Findings\n" + "\n".join(lines) + "\n")
        if stage == "review":
            text = text.replace("Verdict: approve", "Verdict: changes-requested")
        return text

    def release(self, cycle: str, date: str) -> str:
        text = agent.release(cycle, date, "exit 0: OK")
        if self.tape.pick("release checklist", ["ok", "uncertain"]) == "uncertain":
            text = text.replace(
                "- OK A 10 MB file is counted in under 2 seconds — evidence: QA report, TC-5.",
                f"- UNCERTAIN A 10 MB file is counted in under 2 seconds (not measured at "
                f"{iso(self.now)})",
            )
        return text


def _number(path: str) -> str:
    """The report's number: `…-R2.md` → `2`."""
    return path.rsplit("-", 1)[-1][1:-3]


_PARSERS: dict[str, Any] = {}  # sdd's parser of each command, built once


class _Sink:
    """Where argparse's messages go while sdd's parser checks a command."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

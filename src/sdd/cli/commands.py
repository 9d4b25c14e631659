"""One plain function per command: takes the parsed arguments, returns an exit code."""

from __future__ import annotations

import sys

from sdd import api
from sdd.cli.output import _dumps, _out, emit_json
from sdd.cli.render import Style, next_text, safe, stage_strip, status_text, use_colour

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def status(args: Any) -> int:
    if getattr(args, "all", False):
        return _all_cycles(args, "status")
    panel = api.status(api.find_root(), cycle=args.cycle)
    if args.json:
        emit_json("status", panel.json())
    else:
        _out(status_text(panel.data, Style(use_colour())))
    return 0


def next_(args: Any) -> int:
    if getattr(args, "all", False):
        return _all_cycles(args, "next")
    panel = api.status(api.find_root(), cycle=args.cycle)
    if args.json:
        emit_json("next", panel.next_json())
    else:
        _out(next_text(panel.data["next"], Style(use_colour())))
    return 0


def init(args: Any) -> int:
    result = api.init(args.directory, title=args.title)
    if args.json:
        emit_json("init", _dumps(result.to_json()))
        return 0
    lines = [f"Initialised an sdd project in {result.root}"]
    if result.git_initialised:
        lines.append("  git: made it a git repository (the history is committed with the code)")
    if result.created:
        lines.append(f"  created: {', '.join(result.created)}")
    if result.skipped:
        lines.append(f"  kept as they were (already there): {', '.join(result.skipped)}")
    if result.cycle:
        lines.append(f"  cycle {result.cycle} opened")
    if result.agents:
        lines.append(
            f"  agents: the stages as commands and skills for {', '.join(result.agents)} "
            "(sdd agents install --help)"
        )
    project = api.open_project(result.root)
    panel = api.status(project.paths.root)
    lines += ["", next_text(panel.data["next"], Style(use_colour()))]
    _out("\n".join(lines))
    return 0


def prompt(args: Any) -> int:
    brief = api.prompt(api.open_project(), args.stage, cycle=args.cycle, task=args.task)
    if args.json:
        emit_json(
            "prompt",
            _dumps(
                {
                    "stage": brief.stage,
                    "brief": brief.text,
                    "instructions_bytes": brief.instructions_bytes,
                }
            ),
        )
    else:
        sys.stdout.write(brief.text)
    return 0


def start(args: Any) -> int:
    result = api.start(api.open_project(), args.stage, cycle=args.cycle, task=args.task)
    if args.json:
        emit_json("start", _dumps(result.to_json()))
        return 0
    lines = [f"Session {result.session} ({result.stage}) started; its page is {result.page}"]
    if result.writes:
        lines.append(f"  outputs to write: {', '.join(result.writes)}")
    lines += [
        "",
        "Give the brief to a fresh agent conversation:",
        f"  sdd prompt {result.stage}        (also in {result.page})",
        "When the work and the handoff are written:",
        "  sdd done",
    ]
    _out("\n".join(lines))
    return 0


def _session_end(command: str, result: Any, args: Any, headline: str) -> int:
    if args.json:
        emit_json(command, _dumps(result.to_json()))
    else:
        _out(headline + "\n\n" + next_text(result.next, Style(use_colour())))
    return 0


def done(args: Any) -> int:
    result = api.done(
        api.open_project(),
        note=args.note,
        cycle=args.cycle,
        progress=_verify_progress(not args.json and sys.stderr.isatty()),
    )
    outputs = ", ".join(result.outputs) or "committed work"
    return _session_end(
        "done", result, args, f"Session {result.session} ({result.stage}) complete: {outputs}"
    )


def abandon(args: Any) -> int:
    project = api.open_project()
    if args.whole_cycle:
        if not args.reason:
            from sdd.core.errors import UsageError

            raise UsageError("abandoning a cycle needs --reason TEXT")
        number = api.abandon_cycle(project, reason=args.reason, cycle=args.cycle)
        if args.json:
            emit_json("abandon", _dumps({"cycle": number, "outcome": "abandoned"}))
        else:
            _out(f'Cycle {number} abandoned.\n  → open the next one: sdd new "TITLE"')
        return 0
    result = api.abandon_session(project, reason=args.reason, cycle=args.cycle)
    return _session_end(
        "abandon",
        result,
        args,
        f"Session {result.session} ({result.stage}) abandoned; the stage is open again",
    )


def _ask_code(shown: str, code: str, verb: str) -> str | None:
    """Show what a person's act decides, then read the code typed back at the terminal."""
    sys.stderr.write(f"{shown}Type {code} to {verb} (anything else cancels): ")
    sys.stderr.flush()
    try:
        return input()
    except EOFError:
        return None


def _confirm(verb: str) -> Any:
    def confirm(review: api.Review) -> str | None:
        err = sys.stderr
        err.write(
            f"\n{verb.capitalize()} {review.gate} for cycle {review.cycle}: {review.cycle_title}\n"
        )
        err.write(f"It judges the work of: {', '.join(review.stages)}\n")
        for path, digest in review.documents.items():
            err.write(f"  {path}  sha256 {digest[:16] if digest else '(missing)'}\n")
        for path, diff in review.diffs.items():
            err.write(f"\nChanged since the last approval: {path}\n{diff}\n")
        return _ask_code("\n", review.code, verb)

    return confirm


def _decide(args: Any, *, approve: bool) -> int:
    verb = "approve" if approve else "reject"
    result = api.decide_gate(
        api.open_project(),
        args.gate,
        approve=approve,
        confirm=_confirm(verb),
        stdin_is_tty=sys.stdin.isatty(),
        reason=getattr(args, "reason", None),
        to=getattr(args, "to", None),
        cycle=args.cycle,
        demo=args.demo_approver,
    )
    if args.json:
        emit_json(verb, _dumps(result.to_json()))
        return 0
    who = result.by.get("name", "")
    head = f"{result.gate} {result.decision} by {who}"
    if result.reopened:
        head += f"; {result.reopened} is open again with the reason in its next brief"
    _out(head + "\n\n" + next_text(result.next, Style(use_colour())))
    return 0


def approve(args: Any) -> int:
    return _decide(args, approve=True)


def reject(args: Any) -> int:
    return _decide(args, approve=False)


def log(args: Any) -> int:
    entries = api.log(api.open_project(), cycle=args.cycle, limit=args.limit)
    if args.json:
        emit_json("log", _dumps(entries))
        return 0
    style = Style(use_colour())
    _out(
        "\n".join(f"{style(e['at'], 'dim')}  {safe(e['text'])}" for e in entries)
        or "The history is empty."
    )
    return 0


def run(args: Any) -> int:
    from sdd.core.errors import EXIT_FAILED, EXIT_INTERRUPTED

    project = api.open_project()
    if args.agent in (None, "person") and api.person_stage_to_run(project, args.stage):
        return _user_verification(project, args)
    mode = "headless" if args.headless else "interactive"

    def on_launch(command: list[str], note: str | None) -> None:
        if args.json:
            return
        sys.stderr.write(f"sdd: a fresh session ({mode}): {' '.join(command)}\n")
        if note:
            sys.stderr.write(f"sdd: {note}\n")
        sys.stderr.flush()

    result = api.run(
        project,
        args.stage,
        agent=args.agent,
        headless=args.headless,
        task=args.task,
        timeout=args.timeout,
        cycle=args.cycle,
        on_launch=on_launch,
    )
    if args.json:
        emit_json("run", _dumps(result.to_json()))
    else:
        style = Style(use_colour())
        lines = [f"{result.session} ({result.stage}, {result.agent}): {result.message}"]
        lines += [f"  - {item}" for item in result.missing]
        if result.log:
            lines.append(f"  agent output: {result.log}")
        lines += ["", next_text(result.next, style)]
        _out("\n".join(lines))
    if result.outcome == "complete":
        return 0
    return (
        EXIT_INTERRUPTED
        if result.outcome == "interrupted" and not result.timed_out
        else EXIT_FAILED
    )


def agents(args: Any) -> int:
    from sdd.core.errors import NotAProjectError

    if args.action in ("install", "uninstall"):
        from sdd.cli import agents_cmd

        return agents_cmd.install(args) if args.action == "install" else agents_cmd.uninstall(args)

    try:
        project = api.open_project()
    except NotAProjectError:
        project = None
    rows = api.agent_list(project)
    if args.json:
        emit_json("agents", _dumps(rows))
        return 0
    style = Style(use_colour())
    lines = []
    for row in rows:
        mark = style("installed", "green") if row["installed"] else style("not found", "dim")
        default = style("  ← default", "blue") if row["default"] else ""
        lines.append(f"  {row['name']:<14} {mark}{default}")
    if not any(row["installed"] for row in rows):
        lines += [
            "",
            "No agent CLI found on PATH. Install one, or define your own under [agents.NAME] in",
            ".sdd/config.toml; meanwhile `sdd demo` shows the whole flow with a bundled scripted agent.",
        ]
    _out("\n".join(lines))
    return 0


def demo(args: Any) -> int:
    import time

    style = Style(use_colour())
    begun = time.monotonic()
    target = args.directory

    def on_step(text: str, data: dict[str, Any]) -> None:
        if args.json:
            return
        strip = stage_strip(data, style)
        _out(f"✔ {text}\n    {strip}")

    if not args.json:
        _out(
            f"sdd demo: a whole cycle in {target}, every session a separate scripted agent process\n"
        )
    result = api.demo(target, on_step=on_step)
    if args.json:
        emit_json("demo", _dumps(result.to_json()))
        return 0
    panel = api.status(result.root)
    took = time.monotonic() - begun
    _out(
        "\n" + status_text(panel.data, style) + "\n\n"
        f"Done in {took:.1f} s: {len(result.steps)} steps, every stage complete and every gate passed "
        "(by the demo approver: in your own projects only a person can).\n"
        f"Where to look, in {result.root}:\n"
        "  docs/session-tracker.md      the control panel as a page\n"
        "  docs/sessions/               one page per session: brief, outputs, handoff\n"
        "  docs/product-spec.md …       the documents each stage wrote\n"
        "  .sdd/history.jsonl           every event, hashed; `sdd log` reads it\n"
        "Then in your own project: sdd init && sdd run"
    )
    return 0


def check(args: Any) -> int:
    report = api.check(api.find_root(), args.documents or None, cycle=args.cycle)
    failed = bool(report.errors) or (args.strict and bool(report.warnings))
    if args.json:
        data = report.to_json()
        data["ok"] = not failed
        emit_json("check", _dumps(data))
    else:
        style = Style(use_colour())
        lines = [
            f"{style(str(m), 'red' if m.severity == 'error' else 'yellow')}"
            for m in report.messages
        ]
        summary = f"{len(report.errors)} error(s), {len(report.warnings)} warning(s) in {', '.join(report.checked)}"
        lines.append(
            summary
            if report.messages
            else f"All good: {', '.join(report.checked)} pass their contracts."
        )
        _out("\n".join(lines))
    return 1 if failed else 0


def tasks(args: Any) -> int:
    rows = api.tasks(api.open_project(), cycle=args.cycle)
    if args.json:
        emit_json("tasks", _dumps(rows))
        return 0
    if not rows:
        _out("No tasks yet: the plan session writes them in docs/implementation-plan.md.")
        return 0
    style = Style(use_colour())
    colour = {"done": "green", "in-progress": "blue", "pending": "dim"}
    lines = []
    for row in rows:
        waits = (
            f"  waits on {', '.join(row['waits_on'])}"
            if row["waits_on"] and row["status"] != "done"
            else ""
        )
        marker = style(" ← next", "blue") if row["next"] else ""
        lines.append(
            f"  {row['id']:<5} {style(str(row['status']).ljust(11), colour.get(str(row['status']), ''))} "
            f"risk {row['risk']!s:<6} {row['title']}{waits}{marker}"
        )
    _out("\n".join(lines))
    return 0


def questions(args: Any) -> int:
    project = api.open_project()
    if args.action == "answer":
        from sdd.core.errors import UsageError

        if not args.id or not args.text:
            raise UsageError('usage: sdd questions answer ID "TEXT"')

        def confirm(question: Any, code: str) -> str | None:
            shown = f"\nAnswering {question.id}: {question.text}\nAnswer: {args.text}\n"
            return _ask_code(shown, code, "record it")

        answered = api.answer_question(
            project, args.id, args.text, stdin_is_tty=sys.stdin.isatty(), confirm=confirm
        )
        if args.json:
            emit_json("questions", _dumps({"id": answered.id, "answer": answered.answer}))
        else:
            _out(
                f"{answered.id} answered in docs/product-spec.md.\n"
                "  → a fresh spec session works the answer in and updates the confidence: sdd start spec"
            )
        return 0
    found = api.spec_questions(project, args.cycle)
    if args.json:
        emit_json("questions", _dumps(found.to_json()))
        return 0
    style = Style(use_colour())
    shown = "not stated" if found.confidence is None else f"{found.confidence:g} %"
    lines = [f"Confidence: {shown} (threshold {found.threshold} %)"]
    open_ones = [q for q in found.questions if q.answer is None]
    for q in found.questions:
        kind = style("blocking", "red") if q.blocking else "non-blocking"
        state = style("open", "yellow") if q.answer is None else f"answered: {q.answer}"
        lines.append(f"  {q.id} ({kind}) {q.text}\n      {state}")
    if not found.questions:
        lines.append("  No questions recorded.")
    if open_ones:
        lines.append(f'\nA person answers: sdd questions answer {open_ones[0].id} "…"')
    _out("\n".join(lines))
    return 0


def _verify_progress(enabled: bool) -> Any:
    """A progress line on the terminal while long checks run."""
    import threading
    import time

    state: dict[str, Any] = {}

    def tick(name: str, begun: float, stop: threading.Event) -> None:
        while not stop.wait(1.0):
            sys.stderr.write(f"\r  running {name}… {time.monotonic() - begun:.0f} s ")
            sys.stderr.flush()

    def progress(event: str, spec: Any, check: Any) -> None:
        if not enabled:
            return
        if event == "start":
            stop = threading.Event()
            state["stop"] = stop
            sys.stderr.write(f"  running {spec.name}: {' '.join(spec.command)}")
            sys.stderr.flush()
            threading.Thread(
                target=tick, args=(spec.name, time.monotonic(), stop), daemon=True
            ).start()
        else:
            state["stop"].set()
            verdict = (
                "ok"
                if check.passed
                else ("timed out" if check.timed_out else f"exit {check.exit_code}")
            )
            sys.stderr.write(
                f"\r  {spec.name}: {verdict} ({check.seconds:.1f} s)" + " " * 20 + "\n"
            )

    return progress


def verify(args: Any) -> int:
    project = api.open_project()
    specs, detected = api.verify_checks(project)
    if detected and specs and not args.json:
        sys.stderr.write(
            "sdd: no checks configured; detected: " + ", ".join(s.name for s in specs) + "\n"
        )
    result = api.verify(project, progress=_verify_progress(not args.json and sys.stderr.isatty()))
    if args.json:
        emit_json("verify", _dumps(result.to_json()))
        return 0 if result.ok else 1
    style = Style(use_colour())
    lines = ["", "| check | result | time | log |", "|---|---|---|---|"]
    for check in result.checks:
        verdict = (
            "passed"
            if check.passed
            else ("timed out" if check.timed_out else f"failed (exit {check.exit_code})")
        )
        lines.append(
            f"| {check.name} | {style(verdict, 'green' if check.passed else 'red')} | {check.seconds:.1f} s | {check.log} |"
        )
    head = (result.head or "no commit")[:12]
    lines.append(
        f"\n{style('Green' if result.ok else 'Red', 'green' if result.ok else 'red')} at {head}"
        + (
            ""
            if result.clean
            else f" (uncommitted: {', '.join(result.dirty[:5])}{' …' if len(result.dirty) > 5 else ''})"
        )
    )
    _out("\n".join(lines))
    return 0 if result.ok else 1


def findings(args: Any) -> int:
    project = api.open_project()
    if args.action == "add":
        from sdd.core.errors import UsageError

        if not args.severity or not args.text:
            raise UsageError(
                'usage: sdd findings add --severity blocking|major|minor --stage STAGE "TEXT"'
            )
        ident = api.record_finding(
            project,
            args.severity,
            " ".join(args.text),
            escaped_from=args.escaped_from,
            stage=args.stage,
            cycle=args.cycle,
        )
        if args.json:
            emit_json("findings", _dumps({"id": ident}))
        else:
            extra = (
                "; the cycle goes back to implement for a fix"
                if args.severity == "blocking"
                else ""
            )
            _out(f"{ident} recorded ({args.severity}){extra}.")
        return 0
    if args.action == "waive":
        from sdd.core.errors import UsageError

        if not args.text or not args.reason:
            raise UsageError('usage: sdd findings waive ID --reason "TEXT"')

        def confirm(finding: Any, code: str) -> str | None:
            shown = f"\nWaiving {finding.id} ({finding.severity}): {finding.text}\nReason: {args.reason}\n"
            return _ask_code(shown, code, "waive it")

        waived = api.waive_finding(
            project,
            args.text[0],
            args.reason,
            stdin_is_tty=sys.stdin.isatty(),
            confirm=confirm,
            cycle=args.cycle,
        )
        if args.json:
            emit_json("findings", _dumps({"id": waived.id, "status": "waived"}))
        else:
            _out(f"{waived.id} waived.")
        return 0
    rows = api.finding_rows(project, cycle=args.cycle)
    if args.json:
        emit_json("findings", _dumps(rows))
        return 0
    if not rows:
        _out("No findings in this cycle.")
        return 0
    style = Style(use_colour())
    colour = {"open": "red", "fixed": "green", "waived": "dim"}
    for row in rows:
        escaped = f", escaped from {row['escaped_from']}" if row["escaped_from"] else ""
        _out(
            f"  {row['id']:<5} {style(str(row['status']).ljust(7), colour.get(str(row['status']), ''))} "
            f"{row['severity']:<9} {safe(str(row['stage']))}{escaped}: {safe(str(row['text']))}"
        )
    return 0


def _user_verification(project: Any, args: Any) -> int:
    """The person's walkthrough: every item passed, failed or skipped, then the gate."""
    from sdd.core.errors import EXIT_INTERRUPTED

    walk = api.begin_walkthrough(project, stdin_is_tty=sys.stdin.isatty())
    style = Style(use_colour())
    err = sys.stderr
    decided = len(walk.verdicts)
    err.write(style(f"User verification ({walk.session}): {len(walk.items)} items", "bold") + "\n")
    if decided:
        err.write(f"Resuming: {decided} already decided.\n")
    err.write(f"\nHow to run it\n{walk.how_to_run}\n\n")

    def ask(item: Any, number: int, total: int) -> tuple[str, str]:
        while True:
            err.write(f"[{number}/{total}] {item.text}\n  (p)ass, (f)ail, (s)kip, (q)uit for now: ")
            err.flush()
            try:
                answer = input().strip().lower()
            except EOFError:
                raise KeyboardInterrupt from None
            if answer in ("q", "quit"):
                raise KeyboardInterrupt
            verdict = {"p": "pass", "f": "fail", "s": "skip"}.get(answer[:1])
            if verdict is None:
                continue
            note = ""
            while verdict != "pass" and not note:
                err.write("  what went wrong? " if verdict == "fail" else "  why skip it? ")
                err.flush()
                try:
                    note = input().strip()
                except EOFError:
                    raise KeyboardInterrupt from None
            return verdict, note

    try:
        walk = api.walk_through(project, walk, ask)
    except KeyboardInterrupt:
        err.write(
            f"\nStopped; {len(walk.verdicts)} of {len(walk.items)} decided. Resume with: sdd run user-verification\n"
        )
        return EXIT_INTERRUPTED
    _out(f"User verification complete: {walk.document}")
    if walk.failures:
        _out(
            f"{len(walk.failures)} failed: recorded as blocking findings {', '.join(walk.failures)}; "
            "the cycle goes back to implement.\n\n"
            + next_text(api.status(project.paths.root).data["next"], style)
        )
        return 0
    err.write("\nEvery item passed or was skipped with a reason. Decide user-approval now.\n")
    try:
        result = api.decide_gate(
            project,
            "user-approval",
            approve=True,
            confirm=_confirm("approve"),
            stdin_is_tty=sys.stdin.isatty(),
        )
    except KeyboardInterrupt:
        err.write("\nNot decided; later: sdd approve user-approval\n")
        return 0
    except Exception as exc:  # a refused or cancelled gate leaves the verification done
        from sdd.core.errors import SddError

        if not isinstance(exc, SddError):
            raise
        err.write(f"user-approval not given: {exc.message}\n  → later: sdd approve user-approval\n")
        return 0
    _out(
        f"user-approval approved by {result.by.get('name', '')}.\n\n"
        + next_text(result.next, style)
    )
    return 0


def release(args: Any) -> int:
    result = api.release(api.open_project(), tag=args.tag, cycle=args.cycle)
    if args.json:
        emit_json("release", _dumps(result.to_json()))
        return 0
    tagged = f", tagged {result.tag}" if result.tag else ""
    _out(
        f"Cycle {result.cycle} released as {result.version} at {str(result.head)[:12]}{tagged}.\n"
        f"  evidence: verify run {result.verify_run}, approval {result.approval}\n"
        "  → next: the post-mortem: sdd run postmortem"
    )
    return 0


def postmortem(args: Any) -> int:
    data = api.postmortem(api.open_project(), cycle=args.cycle)
    if args.json:
        emit_json("postmortem", _dumps(data))
        return 0
    where = (
        f"\nWritten into {data['document']}."
        if data["document"]
        else ("\nThe post-mortem session writes the analysis: sdd run postmortem")
    )
    _out(f"Cycle {data['cycle']}: {data['title']}\n\n" + api.postmortem_text(data) + where)
    return 0


def templates(args: Any) -> int:
    project = api.open_project()
    if args.action == "upgrade":
        result = api.templates_upgrade(project)
        if args.json:
            emit_json("templates", _dumps(result.to_json()))
            return 1 if result.conflicts else 0
        lines = []
        if result.updated:
            lines.append(f"updated (you had not edited them): {', '.join(result.updated)}")
        if result.merged:
            lines.append(f"merged (your edits kept): {', '.join(result.merged)}")
        for stage, where in result.conflicts.items():
            lines.append(
                f"CONFLICT in {stage}: nothing changed in sessions/{stage}.md; the merge with conflict markers is in {where}"
            )
        if result.conflicts:
            lines.append(
                "  → resolve by hand: edit sessions/<stage>.md using that file, then run `sdd templates upgrade` again"
            )
        if not (result.updated or result.merged or result.conflicts):
            lines.append("Your templates are up to date with this version of sdd.")
        _out("\n".join(lines))
        return 1 if result.conflicts else 0
    diffs = api.templates_diff(project)
    if args.json:
        emit_json("templates", _dumps([d.__dict__ for d in diffs]))
        return 0
    edited = [d for d in diffs if d.state != "same"]
    if not edited:
        _out("Your templates are the packaged ones.")
        return 0
    for d in edited:
        _out(f"sessions/{d.stage}.md: {d.state}\n{d.diff}")
    return 0


def _all_cycles(args: Any, command: str) -> int:
    """Every cycle that is not archived, side by side (`--all`)."""
    panels = api.status_all(api.open_project())
    if args.json:
        payload = (
            panels
            if command == "status"
            else [{"cycle": p["cycle"]["number"], **p["next"]} for p in panels]
        )
        emit_json(command, _dumps(payload))
        return 0
    style = Style(use_colour())
    if not panels:
        _out("No cycles.")
        return 0
    lines = []
    for data in panels:
        cycle = data["cycle"]
        if command == "next":
            lines.append(
                f"Cycle {cycle['number']} ({cycle['title']}): {data['next']['summary']}\n  {data['next']['command']}"
            )
            continue
        strip = stage_strip(data, style)
        gates = ", ".join(f"{g['name']} {g['state']}" for g in data["gates"])
        heading = style(f"Cycle {cycle['number']}: {cycle['title']}", "bold")
        lines.append(
            f"{heading} · {cycle['state']}\n  {strip}\n  gates: {gates}\n  next: {data['next']['command']}"
        )
    _out("\n\n".join(lines))
    return 0


def new(args: Any) -> int:
    project = api.open_project()
    number = api.new_cycle(project, args.title, discovery=args.discovery)
    panel = api.status(project.paths.root, cycle=str(number))
    if args.json:
        emit_json("new", _dumps({"cycle": number, "next": panel.data["next"]}))
    else:
        _out(
            f"Cycle {number} opened: {panel.data['cycle']['title']}\n\n"
            + next_text(panel.data["next"], Style(use_colour()))
        )
    return 0


def change(args: Any) -> int:
    result = api.change(api.open_project(), args.stage, " ".join(args.text), cycle=args.cycle)
    if args.json:
        emit_json("change", _dumps(result))
        return 0
    lines = [
        f"Change request recorded: {result['stage']} is open again, with the request in its next brief."
    ]
    lines.append(f"  approvals turned stale: {', '.join(result['gates']) or 'none'}")
    lines.append(f"  sessions affected: {', '.join(result['sessions']) or 'none'}")
    lines.append(f"  tasks affected: {', '.join(result['tasks']) or 'none'}")
    flag = f" --cycle {args.cycle}" if args.cycle else ""
    lines.append(f"  → next: sdd start {result['stage']}{flag}")
    _out("\n".join(lines))
    return 0


def archive(args: Any) -> int:
    number = api.archive(api.open_project(), cycle=args.cycle)
    if args.json:
        emit_json("archive", _dumps({"cycle": number, "archived": True}))
    else:
        _out(f"Cycle {number} archived; its history stays (`sdd log --cycle {number}`).")
    return 0


def layout(args: Any) -> int:
    result = api.switch_layout(api.open_project(), args.layout)
    if args.json:
        emit_json("layout", _dumps(result))
        return 0
    moved = result["moved"]
    lines = [
        "The project now uses the per-cycle layout: each cycle keeps its documents in docs/cycles/<cycle>/."
    ]
    for cycle, files in moved.items():
        for old, new in files.items():
            lines.append(f"  cycle {cycle}: {old} → {new}")
    lines.append(
        '  → cycles can now run side by side: sdd new "TITLE"; see them all: sdd status --all'
    )
    _out("\n".join(lines))
    return 0


def mcp(args: Any) -> int:
    from sdd.cli import agents_cmd

    return agents_cmd.mcp(args)


def doctor(args: Any) -> int:
    report = api.doctor(api.open_project())
    if args.json:
        emit_json("doctor", _dumps(report.to_json()))
        return 0 if report.ok else 1
    style = Style(use_colour())
    lines = [f"Checked: {', '.join(report.checked)}"]
    for index, finding in enumerate(report.findings):
        colour = "red" if finding.severity == "error" else "yellow"
        lines.append(style(f"{finding.severity}: [{finding.area}] {finding.what}", colour))
        following = report.findings[index + 1] if index + 1 < len(report.findings) else None
        if following is None or following.fix != finding.fix:  # say a shared fix once
            lines.append(f"  fix: {finding.fix}")
    if not report.findings:
        lines.append(style("No problems found.", "green"))
    _out("\n".join(lines))
    return 0 if report.ok else 1

"""A project and its cycles: `init`, `new`, `change`, `archive`, `layout`, and the end of a
cycle: `release` and `postmortem`."""

from __future__ import annotations

import sys

from sdd import api
from sdd.cli import dialogues
from sdd.cli.output import Console, Reply
from sdd.cli.render import Style, next_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _request(args: Any, directory: str | None = None) -> str | None:
    """The person's request: --request, --request-file, or typed at a terminal when neither
    is given (not inside a session, and not for a folder that is a project already)."""
    import os

    from sdd.core.errors import UsageError

    if args.request is not None and args.request_file is not None:
        raise UsageError("give the request once: --request TEXT or --request-file F")
    if args.request is not None:
        if not args.request.strip():
            raise UsageError("--request: the request is empty")
        return str(args.request)
    if args.request_file is not None:
        return _request_file(args.request_file)
    if not sys.stdin.isatty() or os.environ.get("SDD_SESSION_ID"):
        return None
    if directory is not None:
        from sdd.core import history
        from sdd.core.paths import ProjectPaths

        if history.exists(ProjectPaths(os.path.abspath(directory))):
            return None
    return dialogues.ask_request()


def _request_file(name: str) -> str:
    from sdd.core.errors import UsageError

    limit = 100_000  # bytes: the use case refuses a request this long with the rule
    try:
        if name == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with open(name, "rb") as handle:
                data = handle.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"--request-file {name}: cannot read it ({exc.strerror})") from None
    if len(data) > limit:
        raise UsageError(f"--request-file {name}: longer than {limit:,} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"--request-file {name}: not UTF-8 text") from None
    if not text.strip():
        raise UsageError(f"--request-file {name}: the request is empty")
    return text


def _request_line(document: str | None) -> str:
    if document:
        return f"  request: kept in {document}; every brief of the cycle carries it"
    return "  request: none given; the spec session asks you for it first"


def init(args: Any, console: Console) -> Reply:
    result = api.init(
        args.directory, title=args.title, request=_request(args, directory=args.directory)
    )
    summary = [f"Initialised an sdd project in {result.root}"]
    if result.git_initialised:
        summary.append("  git: made it a git repository (the history is committed with the code)")
    if result.created:
        summary.append(f"  created: {', '.join(result.created)}")
    if result.skipped:
        summary.append(f"  kept as they were (already there): {', '.join(result.skipped)}")
    if result.cycle:
        summary.append(f"  cycle {result.cycle} opened")
        summary.append(_request_line(result.request))
    if result.agents:
        summary.append(
            f"  agents: the stages as commands and skills for {', '.join(result.agents)} "
            "(sdd agents install --help)"
        )
        summary += [f"    then, {title}: {text}" for title, text in result.steps]
    project = api.open_project(result.root)
    # Only a person at a terminal is asked; CI, scripts (--unsigned) and agents start unsigned.
    offer = None
    if not args.unsigned and sys.stdin.isatty() and sys.stdout.isatty():
        offer = api.signing_offer(project, stdin_is_tty=True)
    if offer is not None:
        console.say("\n".join(summary))  # what was made, before the question
        summary = []
        result.approver = _first_approver(project, offer, console)

    def text(style: Style) -> str:
        lines = list(summary)
        if result.approver is not None:
            lines.append(
                f"  signed: {result.approver.principal} ({result.approver.fingerprint}) is the "
                "first approver; their key signs the person's acts\n"
                "  → commit .sdd/ and merge it to the protected branch: until it holds it, the "
                "approver shows as unconfirmed"
            )
        panel = api.status(project.paths.root)
        signing = panel.data["signing"]
        if not signing["signed"]:
            lines.append(style(f"  ⚠ {signing['note']}", "yellow"))
        lines += ["", next_text(panel.data["next"], style)]
        return "\n".join(lines)

    return Reply(result, text)


def _first_approver(project: api.Project, offer: Any, console: Console) -> Any:
    """The person's choice at `sdd init`: the first approver added exactly as `sdd approvers
    add` adds it (None: skipped). Whatever goes wrong leaves the project unsigned, and says so."""
    from sdd.core.errors import SddError

    key = None
    try:
        choice, path = dialogues.signing_choice(offer)
        if choice == "skip":
            return None
        if choice == "new" and path is not None:
            made = api.new_signing_key(project, path)
            key = made.path
            console.note(f"New key {made.path} ({made.fingerprint})")
            if made.passphrase is False:
                console.note(
                    "  ⚠ it has no passphrase: an agent running as you can sign with it "
                    f"(`ssh-keygen -p -f {made.path}` sets one)"
                )
        return api.add_approver(
            project, key, name=None, stdin_is_tty=True, confirm=dialogues.ask_code
        )
    except KeyboardInterrupt:
        console.note(
            "\nNot signed: the project is initialised, and unsigned.\n"
            "  → sign its acts later: sdd approvers add"
        )
        raise
    except SddError as exc:
        later = "sdd approvers add" + (f" --key {key}" if key else "")
        exc.details.append(
            f"the project is initialised, and unsigned: sign it later with `{later}`"
        )
        raise


def new(args: Any, console: Console) -> Reply:
    project = api.open_project()
    number = api.new_cycle(project, args.title, discovery=args.discovery, request=_request(args))
    document = project.load().cycles[number].request_doc
    panel = api.status(project.paths.root, cycle=str(number))
    following = panel.data["next"]
    return Reply(
        {"cycle": number, "request": document, "next": following},
        lambda style: (
            f"Cycle {number} opened: {panel.data['cycle']['title']}\n"
            + _request_line(document)
            + "\n\n"
            + next_text(following, style)
        ),
    )


def change(args: Any, console: Console) -> Reply:
    result = api.change(api.open_project(), args.stage, " ".join(args.text), cycle=args.cycle)
    flag = f" --cycle {args.cycle}" if args.cycle else ""
    lines = [
        f"Change request recorded: {result['stage']} is open again, with the request in its next brief.",
        f"  approvals turned stale: {', '.join(result['gates']) or 'none'}",
        f"  sessions affected: {', '.join(result['sessions']) or 'none'}",
        f"  tasks affected: {', '.join(result['tasks']) or 'none'}",
        f"  → next: sdd start {result['stage']}{flag}",
    ]
    return Reply(result, "\n".join(lines))


def archive(args: Any, console: Console) -> Reply:
    number = api.archive(
        api.open_project(),
        cycle=args.cycle,
        stdin_is_tty=sys.stdin.isatty(),
        confirm=dialogues.ask_code,
    )
    return Reply(
        {"cycle": number, "archived": True},
        f"Cycle {number} archived; its history stays (`sdd log --cycle {number}`).",
    )


def layout(args: Any, console: Console) -> Reply:
    result = api.switch_layout(api.open_project(), args.layout)
    lines = [
        "The project now uses the per-cycle layout: each cycle keeps its documents in docs/cycles/<cycle>/."
    ]
    for cycle, moved in result["moved"].items():
        for old, new in moved.items():
            lines.append(f"  cycle {cycle}: {old} → {new}")
    lines.append(
        '  → cycles can now run side by side: sdd new "TITLE"; see them all: sdd status --all'
    )
    return Reply(result, "\n".join(lines))


def release(args: Any, console: Console) -> Reply:
    result = api.release(api.open_project(), tag=args.tag, cycle=args.cycle)
    tagged = f", tagged {result.tag}" if result.tag else ""
    if result.tag and result.commit:
        tagged += f" (commit {result.commit[:12]}: sdd's records of it on top)"
    return Reply(
        result,
        f"Cycle {result.cycle} released as {result.version} at {str(result.head)[:12]}{tagged}.\n"
        f"  evidence: verify run {result.verify_run}, approval {result.approval}\n"
        "  → next: the post-mortem: sdd start postmortem (or sdd run postmortem with an agent)",
    )


def postmortem(args: Any, console: Console) -> Reply:
    data = api.postmortem(api.open_project(), cycle=args.cycle)
    where = (
        f"\nWritten into {data['document']}."
        if data["document"]
        else "\nThe post-mortem session writes the analysis: sdd start postmortem"
    )
    return Reply(
        data, f"Cycle {data['cycle']}: {data['title']}\n\n" + api.postmortem_text(data) + where
    )

"""`sdd mcp`: the tracker served to agents over the Model Context Protocol (stdio).

Built on the official MCP Python SDK, the optional extra `mcp` (`pip install '.[mcp]'` in a
clone); only this module imports it, and only `sdd mcp` imports this module.

Every tool calls the same public API as the command line, so it obeys the same rules
and fails with the same message (`sdd: refused: …`). No tool does a person's act:
nothing here approves or rejects a gate, answers a spec question or waives a finding.

Tools run in the event loop's thread, one at a time: `complete_session` may run the
project's checks, which need the main thread to manage their process group.
"""

import contextlib
import json
import os
import re
from collections.abc import Callable, Iterator
from typing import Any, NotRequired

from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from sdd import api
from sdd.core.errors import SddError, UsageError

# One line per paragraph: clients show and wrap it as they like (Codex shows only the
# first line of a hard-wrapped text).
INSTRUCTIONS = "\n\n".join(
    (
        "This project follows Session-Driven Development, enforced by the sdd tool: one stage "
        "per fresh conversation. `start_session` records a session and `brief` (or the "
        "`next-session` prompt) gives its brief; follow it, write its outputs, then "
        "`record_handoff` and `complete_session`. `status` and `next_action` say where the "
        "cycle stands.",
        "Gates are a person's decision: no tool here approves, rejects, answers the spec's "
        "questions or waives a finding, and none should be worked around. A refusal names "
        "what would unblock it; tell the person.",
    )
)

# The prompt that offers the stage briefs (clients that show prompts as commands list it
# once, not once per stage, so no stage is there twice beside the installed commands).
PROMPT = "next-session"

# The tools, in the order they are listed. Each is a person-free act.
TOOLS = (
    "status",
    "next_action",
    "brief",
    "start_session",
    "tasks",
    "questions",
    "findings",
    "record_question",
    "record_finding",
    "record_handoff",
    "complete_session",
    "check_documents",
)


class ChecklistAnswer(TypedDict):
    """One checklist item of the session's page: ticked, or left open with a reason."""

    item: str
    done: bool
    reason: NotRequired[str]


# An argument as the command line names it: `--stage` or `--stage STAGE` (not `--task T3`).
_OPTION = re.compile(r"--([a-z][a-z-]*)(?: [A-Z][A-Z_]*(?=[:,\s]|$))?")
_LABEL = re.compile(r"^sdd: \w+: ")


def mcp_words(text: str) -> str:
    """An error's text with the refused arguments (those its first line names before its
    first colon, as `--stage STAGE: which stage found it`) named as the tool's arguments
    (`stage`); commands it suggests keep their own words."""
    first, newline, rest = text.partition("\n")
    label = _LABEL.match(first)
    start = label.end() if label else 0
    head, colon, tail = first[start:].partition(": ")
    named = _OPTION.sub if colon else _leading  # no colon: "--task applies to …"
    head = named(lambda m: f"`{m[1].replace('-', '_')}`", head)
    return first[:start] + head + colon + tail + newline + rest


def _leading(replace: Callable[[re.Match[str]], str], text: str) -> str:
    """``text`` with an argument it starts with named by ``replace``."""
    found = _OPTION.match(text)
    return replace(found) + text[found.end() :] if found else text


def to_json(result: Any) -> Any:
    """A use case's result as JSON (imported when a tool answers, not at start-up)."""
    from sdd.core.jsonable import to_json

    return to_json(result)


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2)


def build(root: str) -> Any:
    """The MCP server for the project at ``root``."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ResourceError
    from mcp.shared.exceptions import MCPError
    from mcp.types import INVALID_PARAMS, CallToolResult, TextContent

    from sdd import __version__
    from sdd.core.reporting import crash_text, error_text

    @contextlib.contextmanager
    def resource_errors() -> Iterator[None]:
        """sdd's errors and refusals, as the resource error a client shows its model."""
        try:
            yield
        except SddError as exc:
            raise ResourceError(error_text(exc)) from None

    server: MCPServer[Any] = MCPServer(
        name="sdd",
        title="sdd: Session-Driven Development",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
    )

    def project() -> Any:
        return api.open_project(root)

    def guard(body: Callable[[], str]) -> CallToolResult:
        """The tool's text; an expected failure as an error result with the CLI's message."""
        try:
            text = body()
        except SddError as exc:
            text = mcp_words(error_text(exc))
        except Exception:  # the crash boundary, as in the CLI
            text = crash_text("mcp")
        else:
            return CallToolResult(content=[TextContent(type="text", text=text)])
        return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)

    @server.tool(
        description="The control panel: the cycle, its stages, gates, sessions and the next action."
    )
    async def status() -> CallToolResult:
        return guard(lambda: _json(api.status(root).data))

    @server.tool(description="Only the next action, with the exact command a person would type.")
    async def next_action() -> CallToolResult:
        return guard(lambda: _json(api.status(root).data["next"]))

    @server.tool(
        description="The brief for a fresh session of a stage (default: the next one), or for "
        "the open session of that stage. Refused while a gate before the stage is not passed."
    )
    async def brief(stage: str | None = None, task: str | None = None) -> CallToolResult:
        return guard(lambda: api.prompt(project(), stage, task=task).text)

    @server.tool(
        description="Start (record) a session of a stage, as `sdd start` does; it writes the "
        "session's page with its brief and Handoff section. Refused where `sdd start` is. "
        "`finding` (e.g. F-3): the fix session of that finding, as the next action names it."
    )
    async def start_session(
        stage: str | None = None, task: str | None = None, finding: str | None = None
    ) -> CallToolResult:
        def run() -> str:
            result = api.start(project(), stage, task=task, finding=finding)
            data = to_json(result)
            data["brief"] = result.brief  # the agent's own brief: what `sdd prompt` prints
            return _json(data)

        return guard(run)

    @server.tool(description="The plan's tasks with their status and what each waits on.")
    async def tasks() -> CallToolResult:
        return guard(lambda: _json(api.tasks(project())))

    @server.tool(
        description="The spec's questions (open and answered), its confidence and the threshold. "
        "Only a person answers them."
    )
    async def questions() -> CallToolResult:
        return guard(lambda: _json(to_json(api.spec_questions(project()))))

    @server.tool(description="The cycle's findings from review, QA and user verification.")
    async def findings() -> CallToolResult:
        return guard(lambda: _json(api.finding_rows(project())))

    @server.tool(
        description="Record a question for the person in the spec's Open questions, open "
        "(unanswered). Refused once the spec is approved: raise a finding instead."
    )
    async def record_question(question: str, blocking: bool) -> CallToolResult:
        def run() -> str:
            ident, path = api.record_question(project(), question, blocking=blocking)
            return _json({"id": ident, "path": path, "blocking": blocking, "open": True})

        return guard(run)

    @server.tool(
        description="Record a finding (severity blocking, major or minor). A blocking finding "
        "sends the cycle back to implement for a fix. `stage` defaults to the open session's."
    )
    async def record_finding(
        severity: str, text: str, stage: str | None = None, escaped_from: str | None = None
    ) -> CallToolResult:
        def run() -> str:
            ident = api.record_finding(
                project(), severity, text, stage=stage, escaped_from=escaped_from
            )
            return _json({"id": ident, "severity": severity})

        return guard(run)

    @server.tool(
        description="Write the open session's handoff: the notes for the next session, and the "
        "checklist items ticked (done) or left open with a reason."
    )
    async def record_handoff(
        notes: str, checklist: list[ChecklistAnswer] | None = None
    ) -> CallToolResult:
        def run() -> str:
            answers = [
                (str(a["item"]), bool(a["done"]), str(a.get("reason", ""))) for a in checklist or []
            ]
            page = api.record_handoff(project(), notes, answers)
            return _json({"page": page})

        return guard(run)

    @server.tool(
        description="Complete the open session, as `sdd done` does: only when its outputs exist "
        "and hold and its handoff answers the checklist; otherwise it lists what is missing."
    )
    async def complete_session(note: str | None = None) -> CallToolResult:
        return guard(lambda: _json(to_json(api.done(project(), note=note))))

    @server.tool(
        description="Check documents against their contracts and each other (`sdd check`). "
        "`documents`: spec, architecture, plan, test-plan, conventions or paths (default: those "
        "due at the cycle's current stage; later ones are listed as not yet due). "
        "`all`: every document, those of later stages too (`sdd check --all`)."
    )
    async def check_documents(
        documents: list[str] | None = None, strict: bool = False, all: bool = False
    ) -> CallToolResult:
        def run() -> str:
            report = api.check(
                project().paths.root, documents or None, strict=strict, everything=all
            )
            return _json(to_json(report))

        return guard(run)

    @server.prompt(
        name=PROMPT,
        title="sdd: the next session's brief",
        description="The brief of the next sdd session (or of `stage`; `task` for a task of "
        "the plan): what to read, write and check. Record the session with `start_session` "
        "first.",
    )
    def next_session(stage: str | None = None, task: str | None = None) -> str:
        try:
            return api.prompt(project(), stage or None, task=task or None).text
        except SddError as exc:  # as a protocol error, which the SDK passes on as it is
            raise MCPError(INVALID_PARAMS, mcp_words(error_text(exc))) from None

    def read(relative: str | None) -> str:
        with resource_errors():
            if relative is None:
                raise UsageError("not a document of this project")
            from sdd.core import files

            text = files.read_text(project().paths.inside(relative))
            if text is None:
                raise SddError(f"{relative}: missing")
            return text

    for kind, title in (
        ("spec", "Product specification"),
        ("architecture", "Architecture"),
        ("plan", "Implementation plan"),
        ("test-plan", "Test plan"),
    ):

        def document(kind: str = kind) -> str:
            return read(api.document_path(project(), kind))

        server.resource(
            f"sdd://documents/{kind}",
            name=kind,
            title=title,
            description=f"The {title.lower()} of the current cycle, as it is now.",
            mime_type="text/markdown",
        )(_static(document))

    @server.resource(
        "sdd://tracker",
        name="tracker",
        title="Session tracker",
        description="The control panel as a page (docs/session-tracker.md).",
        mime_type="text/markdown",
    )
    def tracker() -> str:
        with resource_errors():
            api.status(root)  # regenerates the page if it is stale
        return read("docs/session-tracker.md")

    @server.resource(
        "sdd://sessions",
        name="sessions",
        title="Session pages",
        description="Every session of the project: id, stage, outcome, its page and the URI to read it.",
        mime_type="application/json",
    )
    def sessions() -> str:
        with resource_errors():
            rows = api.session_pages(project())
        return _json([{**row, "uri": f"sdd://sessions/{row['id']}"} for row in rows])

    @server.resource(
        "sdd://sessions/{session}",
        name="session-page",
        title="Session page",
        description="One session's page (brief, outputs, handoff), by its id, e.g. S-0001.",
        mime_type="text/markdown",
    )
    def session_page(session: str) -> str:
        with resource_errors():
            rows = api.session_pages(project())
        page = next((r["page"] for r in rows if r["id"] == session.upper()), None)
        if page is None:
            raise ResourceError(f"sdd: error: no session {session} in this project")
        return read(str(page))

    return server


def _static(fn: Callable[[], str]) -> Callable[[], str]:
    """A resource function without parameters (the loop variable stays bound by default)."""

    def resource() -> str:
        return fn()

    return resource


def serve(root: str) -> None:
    """Run the server for the project at ``root`` on standard input and output until the
    client closes it."""
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError:
        from sdd.core.distribution import install_hint

        raise SddError(
            "`sdd mcp` needs the MCP Python SDK, which is not installed",
            hint=install_hint("mcp"),
        ) from None
    server = build(os.path.abspath(root))
    server.run("stdio")

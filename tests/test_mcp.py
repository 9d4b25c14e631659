"""`sdd mcp`: the stdio MCP server, started as a real child process and driven with the
official MCP client (`stdio_client` + `ClientSession`) from the same SDK.

No tool does a person's act; a refused call gets the command line's own message; the SDK
costs every other command nothing (`sdd status` does not import it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from mcp.types import TextContent

from helpers import (
    SDD,
    commit_all,
    fill,
    history_records,
    imported,
    run,
    sdd_json,
    status,
    write_code,
)

TOOLS = {
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
}
PERSONS_ACTS = re.compile(r"approve|reject|answer|waive|decide|gate", re.I)


def with_server(root: Path, body: Callable[[ClientSession], Awaitable[Any]]) -> Any:
    """Start `sdd mcp` in ``root`` as a child process, run ``body`` with a live session."""
    params = StdioServerParameters(
        command=SDD[0], args=[*SDD[1:], "mcp"], env=dict(os.environ), cwd=str(root)
    )
    out: dict[str, Any] = {}

    async def main() -> None:
        with open(os.devnull, "w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                out["result"] = await body(session)

    anyio.run(main)
    return out["result"]


async def call(session: ClientSession, tool: str, **arguments: Any) -> tuple[bool, str]:
    """(is_error, text) of one tool call."""
    result = await session.call_tool(tool, arguments)
    texts = [c.text for c in result.content if isinstance(c, TextContent)]
    assert len(texts) == 1, result
    return bool(result.is_error), texts[0]


async def ok(session: ClientSession, tool: str, **arguments: Any) -> Any:
    failed, text = await call(session, tool, **arguments)
    assert not failed, f"{tool}: {text}"
    return text if tool == "brief" else json.loads(text)


def cli_error(root: Path, *args: str) -> str:
    """What the command line prints when it refuses or fails (stderr, without the newline)."""
    result = run(*args, cwd=root)
    assert result.returncode != 0, result.stdout
    return result.stderr.rstrip("\n")


def test_tools_offer_no_persons_act(project: Path) -> None:
    async def body(session: ClientSession) -> Any:
        listed = await session.list_tools()
        return [(t.name, t.description or "", t.input_schema) for t in listed.tools]

    tools = with_server(project, body)
    assert {name for name, _, _ in tools} == TOOLS
    for name, _, schema in tools:
        assert not PERSONS_ACTS.search(name), name
        properties = set(schema.get("properties", {}))
        assert not {"answer", "approve", "reason", "waive", "gate"} & properties, (name, properties)
    question = next(schema for name, _, schema in tools if name == "record_question")
    assert set(question["properties"]) == {"question", "blocking"}


def test_a_whole_spec_session_through_mcp(project: Path) -> None:
    """Every tool, and the resources, in the order a spec session would use them."""
    spec = project / "docs" / "product-spec.md"

    async def body(session: ClientSession) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        seen["status"] = await ok(session, "status")
        seen["next"] = await ok(session, "next_action")
        seen["brief"] = await ok(session, "brief")
        seen["start"] = await ok(session, "start_session", stage="spec")
        seen["tasks"] = await ok(session, "tasks")
        seen["question"] = await ok(
            session, "record_question", question="Must reset links work on mobile?", blocking=True
        )
        seen["questions"] = await ok(session, "questions")
        seen["finding"] = await ok(
            session, "record_finding", severity="minor", text="The glossary is missing"
        )
        seen["findings"] = await ok(session, "findings")
        # The agent writes the spec, as it would with its own tools.
        fill(spec)
        page = (project / seen["start"]["page"]).read_text(encoding="utf-8")
        items = re.findall(r"^- \[ \] (.+)$", page.split("## Handoff", 1)[1], flags=re.M)
        answers = [{"item": item, "done": True} for item in items[:-1]]
        answers.append({"item": items[-1], "done": False, "reason": "no code in this stage"})
        seen["handoff"] = await ok(
            session, "record_handoff", notes="Spec written; Q on mobile is open.", checklist=answers
        )
        seen["check"] = await ok(session, "check_documents", documents=["spec"])
        seen["done"] = await ok(session, "complete_session")
        resources = await session.list_resources()
        seen["resources"] = sorted(str(r.uri) for r in resources.resources)
        read = await session.read_resource("sdd://documents/spec")
        seen["spec_resource"] = read.contents[0].text  # type: ignore[union-attr]
        pages = await session.read_resource("sdd://sessions")
        seen["pages"] = json.loads(pages.contents[0].text)  # type: ignore[union-attr]
        tracker = await session.read_resource("sdd://tracker")
        seen["tracker"] = tracker.contents[0].text  # type: ignore[union-attr]
        page_text = await session.read_resource("sdd://sessions/S-0001")
        seen["page_resource"] = page_text.contents[0].text  # type: ignore[union-attr]
        return seen

    seen = with_server(project, body)
    assert seen["status"]["cycle"]["title"] == "Password reset"
    assert seen["next"]["command"] == "sdd start spec"
    assert seen["brief"].startswith("# Brief: spec · session S-0001")
    assert seen["start"]["session"] == "S-0001" and seen["start"]["stage"] == "spec"
    assert seen["start"]["brief"].startswith("# Brief: spec · session S-0001")
    assert seen["tasks"] == []
    # The question is in the spec, open: only a person answers it.
    ident = seen["question"]["id"]
    text = spec.read_text(encoding="utf-8")
    assert f"- {ident} (blocking): Must reset links work on mobile?" in text
    asked = next(q for q in seen["questions"]["questions"] if q["id"] == ident)
    assert asked["open"] is True and asked["blocking"] is True
    cli = sdd_json("questions", cwd=project)
    assert next(q for q in cli["questions"] if q["id"] == ident)["answer"] is None
    assert seen["finding"]["id"] == "F-1"
    assert [f["id"] for f in seen["findings"]] == ["F-1"]
    assert (
        "- [ ] " in seen["page_resource"]
        and "reason: no code in this stage" in seen["page_resource"]
    )
    assert "Spec written; Q on mobile is open." in seen["page_resource"]
    assert seen["check"]["checked"] and "ok" in seen["check"]
    assert seen["done"]["outcome"] == "complete" and seen["done"]["session"] == "S-0001"
    assert seen["resources"] == [
        "sdd://documents/architecture",
        "sdd://documents/plan",
        "sdd://documents/spec",
        "sdd://documents/test-plan",
        "sdd://sessions",
        "sdd://tracker",
    ]
    assert seen["spec_resource"] == spec.read_text(encoding="utf-8")
    assert "Generated by sdd" in seen["tracker"].splitlines()[0]
    assert seen["pages"][0]["id"] == "S-0001" and seen["pages"][0]["uri"] == "sdd://sessions/S-0001"
    # The command line sees the same: the session completed from the same evidence.
    data = status(project)
    assert data["sessions"][0]["outcome"] == "complete"


def test_an_implement_session_completes_through_mcp_with_a_green_verify(project_at: Any) -> None:
    """`complete_session` keeps `sdd done`'s evidence rules: it runs the project's checks
    (a real child process) when there is no green run at HEAD, then completes."""
    root = project_at("implement")

    async def body(session: ClientSession) -> dict[str, Any]:
        started = await ok(session, "start_session", stage="implement")
        write_code(root)
        commit_all(root, "T1: reset links")
        page = (root / started["page"]).read_text(encoding="utf-8")
        items = re.findall(r"^- \[ \] (.+)$", page.split("## Handoff", 1)[1], flags=re.M)
        await ok(
            session,
            "record_handoff",
            notes="T1 done with its test.",
            checklist=[{"item": item, "done": True} for item in items],
        )
        return {"started": started, "done": await ok(session, "complete_session")}

    got = with_server(root, body)
    assert got["started"]["stage"] == "implement"
    assert got["done"]["outcome"] == "complete"
    records = history_records(root)
    assert any(r["type"] == "verify.run" for r in records), sorted({r["type"] for r in records})


def test_a_gated_call_gets_the_command_lines_refusal(project_at: Any) -> None:
    root = project_at("architecture", approve_gate_before=False)  # spec-approval waits

    async def body(session: ClientSession) -> dict[str, tuple[bool, str]]:
        return {
            "brief": await call(session, "brief", stage="architecture"),
            "start": await call(session, "start_session", stage="architecture"),
        }

    got = with_server(root, body)
    assert got["brief"] == (True, cli_error(root, "prompt", "architecture"))
    assert got["start"] == (True, cli_error(root, "start", "architecture"))
    assert got["brief"][1].startswith("sdd: refused: architecture is behind the gate spec-approval")
    assert sdd_json("status", cwd=root)["sessions"][-1]["stage"] == "spec"  # nothing started


def test_completing_too_early_fails_like_sdd_done(project: Path) -> None:
    async def body(session: ClientSession) -> tuple[bool, str]:
        await ok(session, "start_session", stage="spec")
        return await call(session, "complete_session")

    failed, text = with_server(project, body)
    assert failed
    assert text == cli_error(project, "done")
    assert text.startswith("sdd: error: session S-0001 (spec) is not complete; it stays open")
    assert sdd_json("status", cwd=project)["sessions"][0]["outcome"] == "open"


def test_no_question_once_the_spec_is_approved(project_at: Any) -> None:
    root = project_at("architecture")  # spec-approval passed
    spec = (root / "docs" / "product-spec.md").read_bytes()

    async def body(session: ClientSession) -> tuple[bool, str]:
        return await call(session, "record_question", question="And dark mode?", blocking=False)

    failed, text = with_server(root, body)
    assert failed
    assert text.startswith("sdd: refused: docs/product-spec.md is approved (spec-approval)")
    assert (root / "docs" / "product-spec.md").read_bytes() == spec
    assert sdd_json("status", cwd=root)["next"]["stage"] == "architecture"  # still not stale


def test_a_question_cannot_carry_an_answer(project: Path) -> None:
    async def body(session: ClientSession) -> tuple[bool, str]:
        return await call(
            session, "record_question", question="Mobile? Answer: yes, decided", blocking=True
        )

    failed, text = with_server(project, body)
    assert failed and text.startswith("sdd: usage: a question holds no `Answer:`")


def test_resource_errors_are_mcp_errors(project: Path) -> None:
    async def body(session: ClientSession) -> str:
        with pytest.raises(MCPError) as caught:
            await session.read_resource("sdd://sessions/S-0042")
        return str(caught.value)

    assert "no session S-0042 in this project" in with_server(project, body)


def test_outside_a_project_it_says_so(work: Path) -> None:
    result = run("mcp", cwd=work)
    assert result.returncode == 1
    assert "not inside an sdd project" in result.stderr
    assert result.stdout == ""  # standard output is the protocol's alone


def test_without_the_sdk_it_says_how_to_get_it(project: Path) -> None:
    """The SDK made unimportable in a real child process: a clear message, no traceback, and
    the command that adds the extra from the source this copy was installed from (here the
    checkout, which the test command installs)."""
    launch = (
        f"runpy.run_path({SDD[0]!r}, run_name='__main__')"
        if len(SDD) == 1
        else "runpy.run_module('sdd', run_name='__main__', alter_sys=True)"
    )
    script = (
        "import runpy, sys\n"
        "sys.modules['mcp'] = None  # as if the mcp extra had not been installed\n"
        "sys.argv = ['sdd', 'mcp']\n"
        f"{launch}\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "`sdd mcp` needs the MCP Python SDK" in result.stderr
    checkout = Path(__file__).resolve().parent.parent
    assert f"-m pip install -e '{checkout}[mcp]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_status_does_not_import_the_sdk(project: Path) -> None:
    sdk = re.compile(r"^(mcp|mcp_types|pydantic|anyio|starlette|uvicorn)(\.|$)")
    for args in (("status",), ("next",), ("status", "--json"), ("agents", "install", "claude")):
        loaded = imported(project, *args)
        assert not {m for m in loaded if sdk.match(m)}, args
    # The same report does show the SDK where it is used: the check can see it.
    assert "mcp" in imported(project, "mcp")


def test_the_stage_briefs_are_a_prompt_and_the_instructions_are_paragraphs(
    project_at: Any,
) -> None:
    """The `prompts` capability is declared with a prompt behind it: the brief of the next
    session (or the stage named), as `sdd prompt` gives it; a gated stage's is refused with
    the command line's message. The instructions are a paragraph a line."""
    root = project_at("architecture", approve_gate_before=False)

    async def body(session: ClientSession) -> dict[str, Any]:
        started = await session.initialize()
        listed = await session.list_prompts()
        got = await session.get_prompt("next-session", {"stage": "spec"})
        with pytest.raises(MCPError) as refused:
            await session.get_prompt("next-session", {"stage": "architecture"})
        return {
            "capable": started.capabilities.prompts is not None,
            "instructions": started.instructions or "",
            "prompts": [(p.name, [a.name for a in p.arguments or []]) for p in listed.prompts],
            "text": got.messages[0].content.text,  # type: ignore[union-attr]
            "refused": str(refused.value),
        }

    seen = with_server(root, body)
    assert seen["capable"]
    assert seen["prompts"] == [("next-session", ["stage", "task"])]
    brief = run("prompt", "spec", cwd=root).stdout
    assert seen["text"].strip() == brief.strip()
    assert cli_error(root, "prompt", "architecture") in seen["refused"]
    paragraphs = seen["instructions"].split("\n\n")
    assert len(paragraphs) >= 2 and all("\n" not in p for p in paragraphs)
    assert "start_session" in paragraphs[0]


def test_a_refused_argument_is_named_as_the_tools_argument(project: Path) -> None:
    async def body(session: ClientSession) -> list[tuple[bool, str]]:
        return [
            await call(session, "record_finding", severity="minor", text="A typo"),
            await call(session, "start_session", stage="spec", task="T1"),
        ]

    (failed, text), (task_failed, task_text) = with_server(project, body)
    assert failed
    assert text.startswith("sdd: usage: `stage`: which stage found it"), text
    assert "--stage" not in text and "STAGE" not in text
    assert task_failed and task_text.startswith("sdd: usage: `task` applies to the spec stage")
    # The command line keeps its own words.
    assert cli_error(project, "findings", "add", "--severity", "minor", "A typo").startswith(
        "sdd: usage: --stage STAGE"
    )


def test_the_server_imports_little_of_sdd_before_it_answers(project: Path) -> None:
    """An agent waits for `sdd mcp` to start: beyond the SDK, it loads the command line's
    entry, the server and the lazy API, no argparse and nothing of the project (opened only
    when a tool is called). bench/ measures what that costs."""
    loaded = imported(project, "mcp")
    ours = {m for m in loaded if m == "sdd" or m.startswith("sdd.")}
    assert ours <= {
        "sdd",
        "sdd.api",
        "sdd.cli",
        "sdd.cli.commands",
        "sdd.cli.commands.serve",
        "sdd.cli.handler",
        "sdd.cli.main",
        "sdd.cli.output",
        "sdd.cli.render",
        "sdd.core",
        "sdd.core.errors",
        "sdd.core.paths",
        "sdd.core.reporting",
        "sdd.mcp",
        "sdd.mcp.server",
    }, sorted(ours)
    assert "argparse" not in loaded

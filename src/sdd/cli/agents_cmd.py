"""`sdd agents install|uninstall` and `sdd mcp`: one function each, returning an exit code."""

from __future__ import annotations

import sys
from typing import Any

from sdd import api
from sdd.cli.output import _dumps, _out, emit_json


def _summary(outcome: Any, verb: str) -> list[str]:
    lines = []
    for title, call, folder in api.agent_invocations(outcome):
        where = f"in {folder}/" if folder else ""
        if folder == ".agents/skills":
            where += " (the shared folder)"
        lines.append(f"  {title:<20} {call:<22} {where}")
    groups = (
        ("created", outcome.created),
        ("updated", outcome.updated),
        ("removed", outcome.removed),
        ("unchanged", outcome.unchanged),
        ("left alone (edited since sdd wrote it)", outcome.kept),
        ("left alone (already there, not written by sdd)", outcome.skipped),
    )
    for label, paths in groups:
        if not paths:
            continue
        if label == "unchanged":
            lines.append(f"  unchanged: {len(paths)} file(s)")
        elif label in ("created", "removed"):
            lines.append(f"  {label}: {_grouped(paths)}")
        else:
            lines.append(f"  {label}: {', '.join(paths)}")
    if outcome.mcp and verb == "install":
        lines.append(f"  `sdd mcp` registered in: {', '.join(sorted(set(outcome.mcp)))}")
    lines += [f"  note: {note}" for note in outcome.notes]
    return lines


def _grouped(paths: list[str]) -> str:
    """Paths, with the stage files of one folder counted rather than listed."""
    folders = api.agent_folders()
    counts: dict[str, int] = {}
    shown: list[str] = []
    for path in paths:
        folder = next((f for f in folders if path.startswith(f + "/")), None)
        if folder is None:
            shown.append(path)
            continue
        if folder not in counts:
            shown.append(folder)
        counts[folder] = counts.get(folder, 0) + 1
    return ", ".join(f"{p}/ ({counts[p]} files)" if p in counts else p for p in shown)


def install(args: Any) -> int:
    project = api.open_project()
    outcome = api.install_agents(project, args.names, every=args.all, mcp=args.mcp)
    if args.json:
        emit_json("agents", _dumps(outcome.to_json()))
        return 0
    head = (
        f"Installed the stages for {', '.join(outcome.agents)}:"
        if outcome.agents
        else "No agent to install for; AGENTS.md has the project's instructions."
    )
    lines = [head, *_summary(outcome, "install")]
    if outcome.agents:
        lines += [
            "",
            "Start a fresh conversation in your agent and call the next stage, e.g. "
            "sdd-spec (`sdd next` says which).",
        ]
    _out("\n".join(lines))
    return 0


def uninstall(args: Any) -> int:
    project = api.open_project()
    outcome = api.uninstall_agents(project, args.names, every=args.all)
    if args.json:
        emit_json("agents", _dumps(outcome.to_json()))
        return 0
    head = (
        f"Uninstalled; still installed for {', '.join(outcome.agents)}:"
        if outcome.agents
        else "Uninstalled what `sdd agents install` wrote:"
    )
    _out("\n".join([head, *_summary(outcome, "uninstall")]))
    return 0


def mcp(args: Any) -> int:
    """Serve the project over MCP on standard input and output until the client goes."""
    from sdd.mcp import server

    project = api.open_project()
    server.serve(project)
    sys.stdout.flush()
    return 0

"""What `sdd agents install` writes: for which agents, into which folders, which files.

Several agents read more than one folder, so the folders to write are chosen together
(:func:`plan_locations`): every agent sees each stage exactly once, whichever of the
known agents a teammate uses.
"""

from __future__ import annotations

import os
import shutil

from sdd.agents.install import launcher
from sdd.agents.install.render import block_text, import_block, render, stage_path, stages_of
from sdd.agents.registry import (
    AGENTS,
    INSTALLS,
    LAUNCHER,
    LOCATIONS,
    MCP_FILES,
    McpFile,
    known_as,
)
from sdd.core.errors import SddError, StateError, UsageError
from sdd.core.structs import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any


def agent_names(requested: Iterable[str]) -> list[str]:
    """Validated agent names (aliases resolved), in the registry's order."""
    chosen = set()
    for raw in requested:
        agent = known_as(raw)
        if agent is None or agent.name not in INSTALLS:
            raise UsageError(
                f"{raw}: not an agent sdd installs for",
                hint=f"known: {', '.join(INSTALLS)}",
            )
        chosen.add(agent.name)
    return [n for n in INSTALLS if n in chosen]


def found_on_path(env: Mapping[str, str] | None = None) -> list[str]:
    path = (env or os.environ).get("PATH", os.defpath)
    return [
        name
        for name in INSTALLS
        if any(shutil.which(exe, path=path) for exe in AGENTS[name].executables)
    ]


def plan_locations(selected: Iterable[str]) -> dict[str, str]:
    """Agent -> the location its stages go to.

    Every known agent (selected or not: a teammate may use it) must see at most one of
    the chosen locations, and every selected agent exactly one. Among the choices that
    hold, the one that serves the selected agents' preferences best wins, then the one
    with fewer folders.
    """
    wanted = [a for a in INSTALLS if a in set(selected)]
    candidates = sorted({loc for a in wanted for loc in INSTALLS[a].prefers})
    best: tuple[tuple[int, int, list[str]], dict[str, str]] | None = None
    for mask in range(1 << len(candidates)):
        chosen = {c for i, c in enumerate(candidates) if mask >> i & 1}
        served: dict[str, str] = {}
        rank = 0
        valid = True
        for name, agent in INSTALLS.items():
            seen = chosen.intersection(agent.reads)
            if len(seen) > 1 or (name in wanted and len(seen) != 1):
                valid = False
                break
            if name in wanted:
                (location,) = seen
                served[name] = location
                rank += agent.prefers.index(location)
        if not valid or set(served.values()) != chosen:
            continue
        cost = (rank, len(chosen), sorted(chosen))
        if best is None or cost < best[0]:
            best = (cost, served)
    if best is None:  # pragma: no cover - the shared folder plus Claude's commands always holds
        raise StateError("no set of folders gives every agent each stage exactly once")
    return best[1]


@dataclass
class Planned:
    kind: str  # file, block, json (an MCP settings file, JSON or TOML)
    text: str = ""  # file: the content; block: the block
    mcp: McpFile | None = None
    # block: the shorter block that imports AGENTS.md instead, used when AGENTS.md holds
    # sdd's block (an agent that reads several of the files then sees it once)
    imports: str | None = None


def offers_discovery(project: Any) -> bool:
    """The discovery stage is offered where there is code to discover: the project's folder
    holds some, or one of its cycles opened with a discovery session."""
    from sdd.project.code import existing_code

    if existing_code(project.paths.root):
        return True
    try:
        return any(c.discovery for c in project.load().cycles.values())
    except SddError:  # an unreadable history: `sdd doctor` names it
        return False


def plan(
    project: Any, agents: list[str], *, mcp: bool
) -> tuple[dict[str, Planned], dict[str, str]]:
    """Every file the given agents need, with its content; and agent -> location key."""
    planned: dict[str, Planned] = {}
    chosen = plan_locations(agents)
    workflow = project.rules.workflow
    if chosen:
        discovery = offers_discovery(project)
        optional = {s.name for s in workflow.stages if s.optional}
        infos = [i for i in stages_of(project) if discovery or i.stage not in optional]
        for key in sorted(set(chosen.values())):
            location = LOCATIONS[key]
            for info in infos:
                planned[stage_path(location, info.stage)] = Planned("file", render(location, info))
    block = block_text(s.name for s in workflow.stages if not s.optional)
    planned["AGENTS.md"] = Planned("block", block)
    for name in agents:
        agent = INSTALLS[name]
        if agent.instructions:
            imports = import_block(agent.imports) if agent.imports else None
            planned[agent.instructions] = Planned("block", block, imports=imports)
        if mcp and agent.mcp:
            planned[agent.mcp] = Planned("json", mcp=MCP_FILES[agent.mcp])
    if mcp and any(INSTALLS[name].mcp for name in agents):
        planned[LAUNCHER] = Planned("file", launcher.script())
    return planned, chosen


def folders() -> set[str]:
    """Every folder the stages may be written into."""
    return {loc.folder for loc in LOCATIONS.values()}

"""Agent presets: the agents `sdd run` can launch with a brief, in both modes.

The built-in ones are the registry's launch forms (:mod:`sdd.agents.registry`). Argument
templates use ``{brief}`` (the brief's text) and ``{brief_file}`` (a file that holds it).
A project adds its own agents in ``.sdd/config.toml``:

    [agents.mytool]
    interactive = ["mytool", "--prompt", "{brief}"]
    headless = ["mytool", "run", "--prompt-file", "{brief_file}"]
"""

from __future__ import annotations

import os
import shutil

from sdd.agents.registry import DEMO, LAUNCHES, Launch
from sdd.core.errors import ConfigError, UsageError
from sdd.core.nesting import json_value
from sdd.core.structs import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from sdd.project.project import Project

# Linux caps one argument at 128 KiB (MAX_ARG_STRLEN); stay well below it.
ARGUMENT_LIMIT = 100 * 1024
POINTER = (
    "Your brief for this session is in the file {brief_file}. Read all of it first, then follow it."
)


@dataclass(frozen=True)
class Preset:
    """An agent `sdd run` can launch: one of the registry's, or the project's own."""

    name: str
    launch: Launch
    builtin: bool = True


PRESETS: dict[str, Preset] = {name: Preset(name, launch) for name, launch in LAUNCHES.items()}


def from_config(raw: Mapping[str, Any], where: str) -> dict[str, Preset]:
    """Presets plus the project's own agents (``[agents.NAME]`` tables)."""
    section = raw.get("agents", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: agents: must be a table")
    agents = dict(PRESETS)
    problems = []
    for name, spec in section.items():
        if name == "default":
            continue
        if not isinstance(spec, dict):
            problems.append(
                f"{where}: agents.{name}: must be a table with `interactive` and `headless`"
            )
            continue
        forms: dict[str, tuple[str, ...]] = {}
        for mode in ("interactive", "headless"):
            argv = spec.get(mode)
            if (
                not isinstance(argv, list)
                or not argv
                or not all(isinstance(a, str) and a for a in argv)
            ):
                problems.append(
                    f"{where}: agents.{name}.{mode}: must be a non-empty list of arguments"
                )
                continue
            if not any("{brief}" in a or "{brief_file}" in a for a in argv):
                problems.append(
                    f"{where}: agents.{name}.{mode}: must pass the brief as {{brief}} or {{brief_file}}"
                )
            forms[mode] = tuple(argv)
        if len(forms) == 2:
            launch = Launch(forms["interactive"], forms["headless"])
            agents[name] = Preset(name, launch, builtin=False)
    default = section.get("default")
    if default is not None and (
        not isinstance(default, str) or (default and default not in agents and default != DEMO)
    ):
        problems.append(f"{where}: agents.default: {default!r} is not a known agent")
    if problems:
        raise ConfigError(f"{where}: the agents are not valid", details=problems)
    return agents


def installed(preset: Preset, env: Mapping[str, str] | None = None) -> bool:
    path = (env or os.environ).get("PATH", os.defpath)
    return shutil.which(preset.launch.executable, path=path) is not None


def choose(agents: dict[str, Preset], requested: str | None, default: str | None) -> Preset:
    if requested:
        if requested not in agents:
            raise UsageError(
                f"--agent {requested}: unknown agent",
                hint=f"known: {', '.join(sorted(agents))}; or define it under [agents.{requested}] in .sdd/config.toml",
            )
        return agents[requested]
    if default:
        return agents[default]
    for preset in agents.values():
        if installed(preset):
            return preset
    raise UsageError(
        "no coding agent found on PATH",
        hint="install one (" + ", ".join(sorted(PRESETS)) + "), name one with --agent, "
        "or work by hand: `sdd start`, give `sdd prompt` to your agent, then `sdd done`",
    )


def command_line(
    preset: Preset, *, headless: bool, brief: str, brief_file: str
) -> tuple[list[str], str | None]:
    """The argv, and the text to feed on standard input (or None)."""
    launch = preset.launch
    long = len(brief.encode()) > ARGUMENT_LIMIT
    if headless and long and launch.headless_stdin:
        return list(launch.headless_stdin), brief
    template = launch.headless if headless else launch.interactive
    text = POINTER.format(brief_file=brief_file) if long else brief
    return [a.replace("{brief_file}", brief_file).replace("{brief}", text) for a in template], None


def _message(error: Any) -> str:
    """The human-readable part of an error object, however deeply the agent nests it."""
    for _ in range(3):
        if not isinstance(error, dict):
            break
        error = error.get("message") or error.get("data") or error.get("name") or error
        if isinstance(error, dict) and "message" not in error and "data" not in error:
            break
    return str(error)


def _objects(output: str) -> list[Any]:
    """The JSON values in an agent's output: the whole of it, or one per line."""
    objects = []
    stripped = output.strip()
    try:
        whole = json_value(stripped)
        objects = whole if isinstance(whole, list) else [whole]
    except ValueError:
        for line in stripped.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    objects.append(json_value(line))
                except ValueError:
                    continue
    return objects


def reported_cost(output: str) -> float | None:
    """What the session cost in US dollars, as the agent's JSON result says it (Claude Code's
    ``total_cost_usd``, the whole session's); None when it says nothing of it."""
    cost = None
    for item in _objects(output):
        value = item.get("total_cost_usd") if isinstance(item, dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1e9:
            cost = float(value)  # the last result is the whole session's
    return cost


def reported_error(kind: str | None, output: str) -> str | None:
    """The error an agent reported in its structured output, if any (even when it exited 0)."""
    if kind is None:
        return None
    for item in _objects(output):
        if not isinstance(item, dict):
            continue
        if item.get("is_error") is True:
            return str(item.get("result") or item.get("subtype") or "the agent reported an error")
        subtype = item.get("subtype")
        if (
            item.get("type") == "result"
            and isinstance(subtype, str)
            and subtype.startswith("error")
        ):
            return subtype
        if item.get("type") == "result" and item.get("exitCode") not in (None, 0):
            return f"the agent's result reports exit code {item.get('exitCode')}"
        error = item.get("error")
        if error:
            return _message(error)
        if item.get("type") in ("error", "turn.failed", "session.error"):
            return _message(item.get("data") or item.get("message") or item["type"])
    return None


def listing(project: Project | None) -> list[dict[str, Any]]:
    """The agent presets (and the project's own agents), which are installed, which is default."""
    known = dict(PRESETS)
    default = None
    if project is not None:
        known = from_config(project.config.raw, project.paths.rel(project.paths.config))
        section = project.config.raw.get("agents", {})
        default = section.get("default") if isinstance(section, dict) else None
    first_installed = next((p.name for p in known.values() if installed(p)), None)
    chosen = default or first_installed
    return [
        {
            "name": p.name,
            "installed": installed(p),
            "default": p.name == chosen,
            "builtin": p.builtin,
            "interactive": list(p.launch.interactive),
            "headless": list(p.launch.headless),
        }
        for p in known.values()
    ]

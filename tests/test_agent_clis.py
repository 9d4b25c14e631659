"""The real agent CLIs see what `sdd agents install --all --mcp` wrote (issue 20).

For each CLI that scripts/agent-clis installed from the npm registry: in a throwaway HOME
(conftest's, with its XDG folders), `sdd init && sdd agents install --all --mcp` in a new
project, the person's one step for that CLI done as a person would (trust the folder,
approve the server) in that HOME, then the CLI's own listing commands
(tests/agent_cli_helpers.py says which, for each). The CLI must offer each stage sdd wrote
exactly once, and show the `sdd` server connected with exactly the tools `sdd mcp` serves.
`sdd` is not on the CLIs' PATH: the registration has to find it.

Marked `agent_clis`, deselected by default (pyproject.toml): run
`scripts/agent-clis && .venv/bin/pytest -m agent_clis` (the README says when).
A CLI the script could not install, or whose listing needs a login or the network, is
skipped with the reason; anything else that does not hold is that CLI's failure.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from agent_cli_helpers import PROBES, NeedsLogin, cache_dir, cli_env, manifest, sdd_on_path
from helpers import SDD, init_project, run

pytestmark = pytest.mark.agent_clis

STAGE_FILE = re.compile(r"(?:^|/)(sdd-[a-z-]+)(?:/SKILL\.md|\.md|\.toml)$")


def served_tools(root: Path) -> set[str]:
    """The tools `sdd mcp` serves in ``root``, asked with the SDK's own client."""
    params = StdioServerParameters(
        command=SDD[0], args=[*SDD[1:], "mcp"], env=dict(os.environ), cwd=str(root)
    )
    found: set[str] = set()

    async def main() -> None:
        with open(os.devnull, "w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                found.update(tool.name for tool in (await session.list_tools()).tools)

    anyio.run(main)
    return found


def installed_stages(root: Path) -> set[str]:
    """The `sdd-<stage>` names of the stage files sdd wrote (its install manifest)."""
    files = json.loads((root / ".sdd" / "agents.json").read_text(encoding="utf-8"))["files"]
    return {m.group(1) for path in files if (m := STAGE_FILE.search(path))}


@pytest.mark.parametrize("name", list(PROBES))
def test_the_real_cli_sees_each_stage_once_and_the_server_with_its_tools(
    name: str, work: Path
) -> None:
    entry = manifest().get(name)
    if entry is None:
        missing = f"{name} is not installed in {cache_dir()}: run scripts/agent-clis"
        if os.environ.get("CI") == "true":
            pytest.fail(missing + " (scripts/test does, under CI=true)")
        pytest.skip(missing)
    if entry["status"] != "installed":
        pytest.skip(f"{name} ({entry['package']}@{entry['version']}): {entry['reason']}")
    exe = entry["executable"]
    root = init_project(work, name="proj").resolve()
    result = run("agents", "install", "--all", "--mcp", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sdd_on_path(cli_env(exe)) is None, "sdd must not be on the CLI's PATH here"
    stages = installed_stages(root)
    tools = served_tools(root)
    assert stages and tools

    try:
        seen = PROBES[name](exe, root, Path(os.environ["HOME"]))
    except NeedsLogin as exc:
        pytest.skip(f"{name} {entry['version']}: {exc}")

    problems = list(seen.problems)
    twice = {stage: n for stage, n in seen.stages.items() if n != 1}
    if twice:
        problems.append(f"stages seen more than once: {twice}")
    if set(seen.stages) - stages:
        problems.append(f"stages sdd did not install: {sorted(set(seen.stages) - stages)}")
    if stages - set(seen.stages):
        problems.append(f"stages it does not see: {sorted(stages - set(seen.stages))}")
    if seen.server.lower() not in ("connected", "ready"):
        problems.append(f"the sdd server is {seen.server!r}, not connected")
    if seen.tools != tools:
        problems.append(
            f"the sdd server's tools as it lists them: {sorted(seen.tools)}; "
            f"missing {sorted(tools - seen.tools)}, unexpected {sorted(seen.tools - tools)}"
        )
    assert not problems, f"{name} {entry['version']}:\n" + "\n".join(problems)

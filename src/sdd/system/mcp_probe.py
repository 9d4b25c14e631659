"""Start an MCP server as an agent would and initialise it, with the official SDK's client.

The one child process that does not go through :mod:`sdd.system.process`: the SDK's
`stdio_client` spawns the server itself, to own its pipes. It gets what `process` would
give it all the same: an argument list (no shell), an explicit environment, a working
folder, and a timeout over the whole exchange, after which the client ends the server.
Only `sdd doctor` imports this module (the SDK takes about half a second to import).
"""

from __future__ import annotations

import tempfile

from sdd.core.structs import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


@dataclass
class Probe:
    ok: bool
    server: str = ""  # the name the server gave in its initialize result
    tools: list[str] = field(default_factory=list)
    error: str = ""  # why it failed, with the end of the server's standard error


def initialise(
    command: Sequence[str], *, cwd: str, env: Mapping[str, str], timeout: float = 20.0
) -> Probe:
    """Start ``command``, initialise the MCP session, list its tools, and end it."""
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=command[0], args=list(command[1:]), env=dict(env), cwd=cwd
    )
    probe = Probe(ok=False)

    async def exchange(errlog: object) -> None:
        with anyio.fail_after(timeout):
            async with (
                stdio_client(params, errlog=errlog) as (read, write),  # type: ignore[arg-type]
                ClientSession(read, write) as session,
            ):
                result = await session.initialize()
                probe.server = result.server_info.name
                listed = await session.list_tools()
                probe.tools = [tool.name for tool in listed.tools]
                probe.ok = True

    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
        try:
            anyio.run(exchange, errlog)
        except Exception as exc:  # the server's failure, whatever form the SDK gives it
            leaf = _leaf(exc)
            probe.error = (
                f"no answer to initialize within {timeout:.0f} s"
                if isinstance(leaf, TimeoutError)
                else (str(leaf).strip() or type(leaf).__name__).splitlines()[0]
            )
        if not probe.ok:
            errlog.seek(0)
            tail = errlog.read()[-600:].strip()
            if tail:
                probe.error += f"; it said: {tail}"
    return probe


def _leaf(exc: BaseException) -> BaseException:
    """The first exception of a group's (anyio's task groups raise groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc

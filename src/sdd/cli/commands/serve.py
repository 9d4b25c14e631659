"""`sdd mcp`: the MCP server on standard input and output. A module of its own so that an
agent's wait for the server imports no more of sdd than it needs: the server opens the
project only when a tool is called."""

from __future__ import annotations

from sdd.cli.output import Console, Reply

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def mcp(args: Any, console: Console) -> Reply:
    """Serve the project over MCP on standard input and output until the client goes."""
    from sdd.core.paths import require_root
    from sdd.mcp import server

    server.serve(require_root())
    return Reply(shown=True)

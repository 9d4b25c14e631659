"""sdd: Session-Driven Development, enforced by code.

The public API lives in :mod:`sdd.api`; the command line, the MCP server and the
dashboard all call it. This module stays import-free so start-up stays fast.
"""

__version__ = "0.1.0"

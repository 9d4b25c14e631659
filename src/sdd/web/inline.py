"""The dashboard's styles and its one script, kept as files in ``assets/`` (shipped as
package data) and inlined into each page, so a page stays one self-contained file.

The page's Content-Security-Policy allows exactly this script, by the sha256 of the file's
text; the server sends the same hash in its header. Each file is read once per process, so
a page and the header that serves it always agree.
"""

from __future__ import annotations

import os
from functools import cache

_FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets")

# The favicon, drawn inline: the page loads nothing from anywhere.
ICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Crect width='16' height='16' rx='4' fill='%234338ca'/%3E"
    "%3Cpath d='M4 8.5l2.5 2.5L12 5.5' stroke='white' stroke-width='2' fill='none'/%3E%3C/svg%3E"
)


@cache
def text(name: str) -> str:
    """The file ``assets/<name>`` as it is (no newline translation: the hash is of its text)."""
    with open(os.path.join(_FOLDER, name), encoding="utf-8", newline="") as handle:
        return handle.read()


def script() -> str:
    return text("dashboard.js")


@cache
def script_hash() -> str:
    """The script's CSP source, ``sha256-<base64>``."""
    import base64

    from sdd.core.digest import sha256_hex  # not hashlib: OpenSSL's load for one small hash

    digest = bytes.fromhex(sha256_hex(script().encode()))
    return "sha256-" + base64.b64encode(digest).decode()

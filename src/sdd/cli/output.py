"""What the commands print: the versioned JSON envelope and plain text."""

from __future__ import annotations

import sys

from sdd.cli.handler import ENVELOPE_VERSION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def emit_json(command: str, data_json: str) -> None:
    sys.stdout.write(
        f'{{"sdd": {ENVELOPE_VERSION}, "command": "{command}", "ok": true, "data": {data_json}}}\n'
    )


def _dumps(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _out(text: str) -> None:
    sys.stdout.write(text.rstrip("\n") + "\n")

"""Evidence sdd observed itself, as the gates and the completion rules read it: a green
verify run that still holds for the code as it is now."""

from __future__ import annotations

from typing import Any

from sdd.core.state import ProjectState


def green_at(state: ProjectState, head: str | None, dirty: dict[str, str]) -> dict[str, Any] | None:
    """The latest verify run if it is green for this HEAD and no code changed since."""
    run_record = state.verify_runs[-1] if state.verify_runs else None
    if run_record is None or not run_record.get("ok") or run_record.get("head") != head:
        return None
    code_now = sorted(p for p in dirty if not p.startswith("docs/"))
    code_then = sorted(p for p in run_record.get("dirty", []) if not p.startswith("docs/"))
    return run_record if code_now == code_then == [] else None

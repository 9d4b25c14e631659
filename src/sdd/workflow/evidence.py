"""Evidence sdd observed itself, as the gates and the completion rules read it: a green
verify run of the checks in force that still holds for the code as it is now."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sdd.core.records import Record
from sdd.core.state import ProjectState


def checks_fingerprint(checks: Iterable[tuple[str, Sequence[str]]]) -> str:
    """What a set of checks is, as evidence: each one's name and command, in order (a
    timeout changes nothing about what a green run proved)."""
    body = [[name, list(command)] for name, command in checks]
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def run_fingerprint(run_record: Record) -> str | None:
    """The fingerprint of the checks a verify run ran, from the commands it lists; None when
    the fingerprint it carries is not that (a record that says one thing and ran another)."""
    checks = run_record.get("checks")
    ran = []
    for check in checks if isinstance(checks, list) else []:
        name = check.get("name") if isinstance(check, dict) else None
        command = check.get("command") if isinstance(check, dict) else None
        if not isinstance(name, str) or not isinstance(command, list):
            return None
        ran.append((name, [str(a) for a in command]))
    computed = checks_fingerprint(ran)
    carried = run_record.get("checks_fingerprint")
    return computed if carried in (None, computed) else None


def green_at(
    state: ProjectState, head: str | None, dirty: dict[str, str], checks: str
) -> dict[str, Any] | None:
    """The latest verify run if it ran the checks in force (``checks``, their fingerprint),
    is green for this HEAD, and no code changed since."""
    run_record = state.verify_runs[-1] if state.verify_runs else None
    if run_record is None or not run_record.get("ok") or run_record.get("head") != head:
        return None
    if run_fingerprint(run_record) != checks:
        return None
    code_now = sorted(p for p in dirty if not p.startswith("docs/"))
    code_then = sorted(p for p in run_record.get("dirty", []) if not p.startswith("docs/"))
    return run_record if code_now == code_then == [] else None

"""Evidence sdd observed itself, as the gates and the completion rules read it: a green
verify run of the checks in force that still holds for the code as it is now."""

from __future__ import annotations

import json

from sdd.core import digest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    from sdd.core.records import Record
    from sdd.core.state import ProjectState


def checks_fingerprint(checks: Iterable[tuple[str, Sequence[str]]]) -> str:
    """What a set of checks is, as evidence: each one's name and command, in order (a
    timeout changes nothing about what a green run proved)."""
    body = [[name, list(command)] for name, command in checks]
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return digest.sha256_hex(text.encode("utf-8", "surrogatepass"))


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


def ran_on(run_record: Record, root: str) -> str | None:
    """The code a verify run ran on (``gitrepo.code_key``): the key it carries, or for a run
    recorded before runs carried one, the code of the commit it names."""
    from sdd.system import gitrepo

    carried = run_record.get("code")
    if isinstance(carried, str):
        return carried
    commit = run_record.get("head")
    if commit is None or (isinstance(commit, str) and commit):
        return gitrepo.code_key(root, commit)
    return None


def green_for(
    state: ProjectState, root: str, dirty: dict[str, str], checks: str, session: str | None = None
) -> dict[str, Any] | None:
    """The latest verify run if it ran the checks in force (``checks``, their fingerprint),
    is green, and ran on the code as it is now: the content outside ``docs/`` and ``.sdd/``
    (committing a report or sdd's own records leaves it standing), with no code uncommitted
    then or now (``dirty``, the uncommitted files)."""
    from sdd.system import gitrepo

    # A parallel session: its own worktree's runs, not the others'.
    run_record = state.latest_run(session)
    if run_record is None or not run_record.get("ok"):
        return None
    if run_fingerprint(run_record) != checks:
        return None
    code_now = sorted(p for p in dirty if not p.startswith("docs/"))
    code_then = sorted(p for p in run_record.get("dirty", []) if not p.startswith("docs/"))
    if code_now or code_then:
        return None
    then = ran_on(run_record, root)
    return run_record if then is not None and then == gitrepo.code_key(root) else None

"""What counts as the attack failing, in what a person sees: the attack was refused (exit 1 or
3, never 0, 2 for a usage error nor 4 for a crash, with a message naming the problem), or it
was detected and does not count (status and doctor name it; the gate is not passed)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from fault_helpers import doctor
from helpers import gate_of, run
from redteam.forge import History


def _mentions(text: str, needles: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(n.lower() in lowered for n in needles)


def refused(code: int, shown: str, *needles: str) -> None:
    """The act was refused with a message that names one of ``needles``."""
    assert code in (1, 3), f"expected a refusal (exit 1 or 3), got exit {code}:\n{shown}"
    assert _mentions(shown, needles), f"the refusal names none of {needles}:\n{shown}"


def refused_run(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    refused(result.returncode, result.stdout + result.stderr, *needles)


def status_says(root: Path) -> tuple[dict[str, Any] | None, str]:
    """`sdd status --json`: (its data, or None when it refused; everything it printed)."""
    result = run("status", "--json", cwd=root)
    shown = result.stdout + result.stderr
    if result.returncode != 0:
        return None, shown
    return json.loads(result.stdout)["data"], shown


def gate_state(root: Path, gate: str) -> str:
    data, _ = status_says(root)
    return "unknown (status refused)" if data is None else str(gate_of(data, gate)["state"])


def not_passed(root: Path, gate: str) -> None:
    state = gate_state(root, gate)
    assert state != "approved", f"{gate} counts as approved after the attack"


# What status says about the project's own state; anything else it says is a report.
STATE_KEYS = ("change", "cycle", "demo", "findings", "gates", "next", "project", "sessions")
STATE_KEYS += ("stages", "version")


def flagged(root: Path, *names: str, words: tuple[str, ...] = ()) -> dict[str, str]:
    """Status shows the problem (or refuses, naming it) and doctor reports it as an error.
    ``names`` (a record's id, its place, a file) may stand anywhere in what they say;
    ``words`` (e.g. "removed") only in a report, never in the state status describes."""
    data, shown = status_says(root)
    if data is None:
        said, reported = shown, shown
    else:
        said = json.dumps(data, ensure_ascii=False)
        reported = json.dumps({k: v for k, v in data.items() if k not in STATE_KEYS})
    wanted = (*names, *words)
    assert _mentions(said, names) or _mentions(reported, words), (
        f"`sdd status` names none of {wanted}:\n{shown}"
    )
    _, report, _ = doctor(root)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    hits = [f for f in errors if _mentions(f["what"], wanted)]
    assert hits, f"`sdd doctor` reports no error naming {wanted}: {report['findings']}"
    return hits[0]


def warned(root: Path, *needles: str) -> dict[str, str]:
    """`sdd doctor` reports something (a warning or an error) naming one of ``needles``."""
    _, report, _ = doctor(root)
    hits = [f for f in report["findings"] if _mentions(f["what"], needles)]
    assert hits, f"`sdd doctor` reports nothing naming {needles}: {report['findings']}"
    return hits[0]


def patched_approval_counts_nothing(root: Path, gate: str, outcome: dict[str, Any]) -> None:
    """What programs/patched_approve.py did: refused with sdd's own error, or its record is
    flagged; either way the gate is not passed."""
    assert outcome, "the patched approval never ran"
    if outcome["returned"]:
        approval = History(root).one("gate.approve", gate=gate)
        flagged(root, approval.id, approval.spot)
    else:
        assert "SddError" in outcome["classes"], f"the attack broke, not refused: {outcome}"
    not_passed(root, gate)


RAW_CONTROLS = {chr(c) for c in (*range(32), *range(127, 160))} - {"\n", "\t"}


def shown_safely(shown: str, *lines_that_matter: str) -> None:
    """A screen read through a pty: no control character reached it raw, and the lines
    that matter are there. (The pty's own CR LF is already LF.)"""
    raw = sorted({repr(c) for c in shown if c in RAW_CONTROLS})
    assert not raw, f"raw control characters reached the terminal: {raw}\n{shown!r}"
    for line in lines_that_matter:
        assert line in shown, f"{line!r} is not on the screen:\n{shown}"

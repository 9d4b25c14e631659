"""Text for the terminal. Builtins only: it is on the start-up path of `sdd status`."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_COLOURS = {"green": "32", "yellow": "33", "red": "31", "blue": "34", "dim": "2", "bold": "1"}
_STATE_COLOUR = {
    "done": "green",
    "approved": "green",
    "active": "blue",
    "ready": "blue",
    "blocked": "red",
    "rejected": "red",
    "stale": "yellow",
    "waiting": "yellow",
    "not-yet": "dim",
    "complete": "green",
    "open": "blue",
    "abandoned": "dim",
    "interrupted": "yellow",
}
_MARK = {
    "done": "✔",
    "approved": "✔",
    "active": "▶",
    "ready": "●",
    "blocked": "⛔",
    "rejected": "✘",
    "stale": "⚠",
    "waiting": "⏳",
    "not-yet": "·",
}


def use_colour(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(os.environ.get("FORCE_COLOR")) or stream.isatty()


# C0 and C1 controls and DEL (tab and newline excepted).
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(32), *range(127, 160)) if c not in (9, 10)}


def safe(text: str) -> str:
    """Text from the project (agents, records) with control characters shown, not obeyed:
    an agent's finding must not clear or retitle the person's terminal."""
    return text.translate(_CONTROL)


class Style:
    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, text: str, colour: str) -> str:
        if not self.colour or colour not in _COLOURS:
            return text
        return f"\033[{_COLOURS[colour]}m{text}\033[0m"

    def state(self, state: str, width: int = 0) -> str:
        label = f"{_MARK.get(state, '?')} {state.replace('-', ' ')}"
        return self(label.ljust(width), _STATE_COLOUR.get(state, ""))


def safe_data(value: Any) -> Any:
    """``safe`` applied to every string of a panel, before it is styled."""
    if isinstance(value, str):
        return safe(value)
    if isinstance(value, list):
        return [safe_data(v) for v in value]
    if isinstance(value, dict):
        return {k: safe_data(v) for k, v in value.items()}
    return value


def status_text(data: dict[str, Any], style: Style) -> str:
    data = safe_data(data)
    out: list[str] = []
    cycle = data["cycle"]
    signing = data.get("signing")
    if signing and signing["note"] != "signed":
        out += [style(f"⚠ {signing['note']}", "yellow" if signing["signed"] else "red"), ""]
    if cycle is None:
        out.append("No cycle yet.")
    else:
        demo = style("  (demo project)", "dim") if data["demo"] else ""
        out.append(
            style(f"Cycle {cycle['number']}: {cycle['title']}", "bold")
            + f"  · {cycle['state']}{demo}"
        )
        out.append("")
        gates = {g["after"]: g for g in data["gates"]}
        for stage in data["stages"]:
            count = stage["sessions"]
            sessions = style(f"{count} session{'s' if count != 1 else ''}", "dim") if count else ""
            out.append(
                f"  {stage['name']:<20} {style.state(stage['status'], 12)} {sessions}".rstrip()
            )
            gate = gates.get(stage["name"])
            if gate:
                out.append(
                    f"    ⊢ {gate['name']:<24} {style.state(gate['state'], 12)} {_gate_note(gate)}".rstrip()
                )
        if data["sessions"]:
            out += ["", style("Sessions", "bold")]
            side = [s for s in data["sessions"] if s["outcome"] == "open"]
            if len(side) > 1:  # `sdd run --parallel`: each in its own worktree
                listed = ", ".join(f"{s['id']} ({s.get('task') or s['stage']})" for s in side)
                out.append(f"  running side by side: {listed}")
            for session in data["sessions"][-8:]:
                outputs = ", ".join(session["outputs"])
                arrow = f" → {outputs}" if outputs else ""
                out.append(
                    f"  {session['id']}  {session['stage']:<18} {style(session['outcome'], _STATE_COLOUR.get(session['outcome'], ''))}"
                    f"  {session['page']}{arrow}"
                )
            hidden = len(data["sessions"]) - 8
            if hidden > 0:
                out.append(style(f"  … and {hidden} earlier (see docs/session-tracker.md)", "dim"))
    change = data.get("change")
    if change:
        out += [
            "",
            style(f"Change request to {change['stage']}: ", "yellow") + change["reason"],
            f"  affects sessions {', '.join(change['sessions']) or 'none'}; tasks {', '.join(change['tasks']) or 'none'}",
        ]
    rules = data.get("rules")
    if rules:
        out += [
            "",
            style("⚠ A change to the rules weakens them; the accepted rules stay in force:", "red"),
        ]
        out += [
            f"  - {c['what']}" + (style(" (weakens)", "red") if c["weakens"] else "")
            for c in rules["pending"]
        ]
        out.append("  a person accepts the change: " + style(rules["command"], "blue"))
    for problem in data["problems"]:
        colour = "red" if problem.get("tamper", True) else "yellow"
        out.append(style(f"⚠ {problem['place']}: {problem['what']}", colour))
    for warning in data["warnings"]:
        out.append(style(f"⚠ {warning}", "yellow"))
    out += ["", next_text(data["next"], style)]
    return "\n".join(out)


def _gate_note(gate: dict[str, Any]) -> str:
    by = gate.get("by") or {}
    if gate["state"] == "approved":
        who = by.get("name", "") + (" (demo)" if by.get("kind") == "demo" else "")
        if gate.get("approvals", 1) > 1 or gate.get("roles"):
            who = ", ".join(gate.get("approved_by") or []) or who  # people, under the team rule
        return f"by {who}, {gate['at']}"
    if gate["state"] == "stale":
        return "changed: " + ", ".join(gate["changed"])
    if gate["state"] == "rejected":
        return f"“{gate['reason'] or gate.get('note') or ''}”"
    return gate.get("note") or ""


def next_text(action: dict[str, Any], style: Style) -> str:
    action = safe_data(action)
    lines = [style("Next: ", "bold") + action["summary"], "  " + style(action["command"], "blue")]
    if action.get("alternative"):
        lines.append("  or: " + action["alternative"])
    return "\n".join(lines)


def stage_strip(data: dict[str, Any], style: Style) -> str:
    """The cycle's stages on one line, each coloured by its status."""
    colours = {"done": "green", "active": "blue", "ready": "blue", "blocked": "red"}
    return " ".join(style(s["name"], colours.get(s["status"], "dim")) for s in data["stages"])

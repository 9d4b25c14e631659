"""The dashboard: the control panel as one self-contained HTML page.

``api.overview`` reads a project into plain data (``sdd.usecases.overview``);
``render`` turns that data into the page and is pure: no files, no clock, and every
text that comes from the project goes through ``html.escape``. Styles and the one
script are inline; nothing is loaded from the network, and nothing on the page changes
state: a person's acts stay in a person's terminal (DESIGN, "Who may do what").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import quote

from sdd import api

Link = Callable[[str], str]

_TONE = {
    "done": "green",
    "approved": "green",
    "complete": "green",
    "fixed": "green",
    "finished": "green",
    "active": "blue",
    "ready": "blue",
    "in-progress": "blue",
    "open": "blue",
    "waiting": "amber",
    "interrupted": "amber",
    "gate-conditions": "amber",
    "stale": "orange",
    "major": "orange",
    "blocked": "red",
    "rejected": "red",
    "blocking": "red",
    "failed": "red",
    "not-yet": "grey",
    "pending": "grey",
    "abandoned": "grey",
    "waived": "grey",
    "minor": "grey",
}

_LABEL = {"not-yet": "not yet", "in-progress": "in progress"}


def _tone(state: str) -> str:
    return _TONE.get(state, "grey")


def _badge(state: str, text: str | None = None) -> str:
    label = text if text is not None else _LABEL.get(state, state)
    return f'<span class="badge t-{_tone(state)}">{escape(label)}</span>'


def _time(stamp: str | None) -> str:
    if not stamp:
        return ""
    shown = stamp.replace("T", " ").removesuffix("Z")[:16]
    return f'<time datetime="{escape(stamp)}">{escape(shown)}</time>'


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(s // 3600, 24)
    return f"{d} d {h} h" if h else f"{d} d"


def _prose(text: str) -> str:
    """Text with `code spans` (as sdd's messages write commands) shown as code."""
    parts = escape(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: leave the text as it is
        return escape(text)
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def linker(prefix: str) -> Link:
    """Links to project files: ``prefix`` is "/" when served, a relative path in a file."""

    def href(relative: str) -> str:
        return escape(prefix + quote(relative), quote=True)

    return href


def _doc_link(link: Link, path: str | None, text: str, *, label: str | None = None) -> str:
    if not path:
        return escape(text)
    aria = f' aria-label="{escape(label, quote=True)}"' if label else ""
    return f'<a href="{link(path)}"{aria}>{escape(text)}</a>'


def render(data: dict[str, Any], *, link: Link, live: bool = False, version: str = "") -> str:
    """The page. ``live`` adds the refresh that polls ``/state-version`` (served only)."""
    latest = data["latest"]
    title = f"{data['project']} · sdd dashboard"
    script = _SCRIPT
    digest = _script_hash()
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src '{digest}'; connect-src 'self'; base-uri 'none'; form-action 'none'"
    )
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{escape(title)}</title>",
        f'<link rel="icon" href="{_ICON}">',
        f"<style>{_CSS}</style>",
        "</head>",
        f'<body data-live="{1 if live else 0}" data-version="{escape(version, quote=True)}">',
        '<a class="skip" href="#main">Skip to the dashboard</a>',
        '<header class="top"><div class="wrap top-in">',
        '<p class="brand"><span class="logo" aria-hidden="true"></span>'
        f'<span>sdd</span> <span class="proj">{escape(data["project"])}</span>'
        + (' <span class="badge t-amber">demo project</span>' if data["demo"] else "")
        + "</p>",
        '<p id="live" class="live" role="status" aria-live="polite" data-state="'
        + ("live" if live else "static")
        + '">'
        + (
            "Live: refreshes when the state changes"
            if live
            else f"Snapshot of {escape(data['generated'].replace('T', ' ').removesuffix('Z'))} UTC"
        )
        + "</p>",
        "</div></header>",
        f'<main id="main" class="wrap" tabindex="-1" data-latest="{latest if latest is not None else ""}" '
        f'data-version="{escape(version, quote=True)}">',
    ]
    out += _problems(data)
    if not data["cycles"]:
        out.append(
            '<section class="card empty"><h1>No cycle yet</h1><p>Open the first one:</p>'
            + _command('sdd new "TITLE"')
            + "</section>"
        )
    for cycle in data["cycles"]:
        out += _cycle_section(data, cycle, link, hidden=cycle["number"] != latest)
    out += _cycles_table(data)
    out.append("</main>")
    out.append(
        '<footer class="wrap foot"><p>A read-only view of <code>.sdd/history.jsonl</code> '
        f"({data['records']} records), drawn by sdd {escape(data['sdd'])}. Approving or rejecting a gate, "
        "answering a question and waiving a finding are a person's acts: they happen in a "
        "person's own terminal, never here.</p></footer>"
    )
    out.append(f"<script>{script}</script>")
    out.append("</body></html>")
    return "\n".join(out)


def _problems(data: dict[str, Any]) -> list[str]:
    if not data["problems"] and not data["warnings"]:
        return []
    items = [
        f"<li>history line {p['line']}: {escape(p['what'])}</li>" for p in data["problems"]
    ] + [f"<li>{escape(w)}</li>" for w in data["warnings"]]
    heading = "The history has problems" if data["problems"] else "Warnings"
    tone = "red" if data["problems"] else "amber"
    note = (
        "<p>A record that was edited by hand or altered counts for nothing: "
        "the gates it touched count as not passed.</p>"
        if data["problems"]
        else ""
    )
    return [
        f'<section class="card alert t-{tone}" aria-labelledby="problems-h">'
        f'<h2 id="problems-h">{heading}</h2>{note}<ul>{"".join(items)}</ul></section>'
    ]


def _command(command: str, alternative: str | None = None) -> str:
    text = escape(command)
    out = (
        f'<div class="cmd"><code>{text}</code>'
        f'<button type="button" class="copy" data-copy="{escape(command, quote=True)}" '
        f'aria-label="Copy the command {escape(command, quote=True)}">Copy</button></div>'
    )
    if alternative:
        out += f'<p class="alt">or <code>{escape(alternative)}</code></p>'
    return out


_PERSON_ACTS = ("gate", "gate-conditions")


def _cycle_section(
    data: dict[str, Any], cycle: dict[str, Any], link: Link, *, hidden: bool
) -> list[str]:
    panel = cycle["panel"]
    info = panel["cycle"]
    n = cycle["number"]
    action = panel["next"]
    stages = panel["stages"]
    done = sum(1 for s in stages if s["status"] == "done")
    state = info["state"]
    where = info["current_stage"]
    progress = round(100 * done / len(stages)) if stages else 0
    attrs = ' hidden=""' if hidden else ""
    out = [
        f'<section class="cycle" id="cycle-{n}" data-cycle="{n}" aria-labelledby="c{n}-title"{attrs}>',
        '<div class="hero">',
        '<div class="hero-main">',
        f'<p class="eyebrow">Cycle {n} · <span class="mono">{escape(info["slug"])}</span> · '
        f"opened {_time(info['opened'])}</p>",
        f'<h1 id="c{n}-title">{escape(info["title"])}</h1>',
        '<p class="where">'
        + _badge(state)
        + (f" at <strong>{escape(where)}</strong>" if where and state == "open" else "")
        + f' <span class="muted">· {done} of {len(stages)} stages done</span></p>',
        f'<div class="bar" role="progressbar" aria-label="Stages done in cycle {n}" '
        f'aria-valuemin="0" aria-valuemax="{len(stages)}" aria-valuenow="{done}">'
        f'<span style="width:{progress}%"></span></div>',
        "</div>",
        f'<section class="next card" aria-labelledby="c{n}-next" data-kind="{escape(action["kind"])}">',
        f'<h2 id="c{n}-next">Next</h2>',
        f'<p class="summary">{_prose(action["summary"])}</p>',
        _command(action["command"], action.get("alternative")),
    ]
    if action["kind"] in _PERSON_ACTS:
        out.append(
            '<p class="person">A person\'s act: run it in your own terminal. '
            "Agents cannot, and this page offers no way to.</p>"
        )
    out += ["</section>", "</div>"]
    change = panel.get("change")
    if change:
        affected = ", ".join(str(g) for g in change.get("gates") or []) or "none"
        out.append(
            f'<section class="card alert t-orange" aria-labelledby="c{n}-change">'
            f'<h2 id="c{n}-change">Change request: {escape(str(change.get("stage")))} reopened</h2>'
            f"<p>{escape(str(change.get('reason') or ''))}</p>"
            f'<p class="small">Approvals reopened: {escape(affected)}</p></section>'
        )
    out += _flow(cycle, data["fix_stage"])
    out.append('<div class="grid">')
    out += _tasks(cycle)
    out.append('<div class="stack">')
    if cycle["questions"] is not None:
        out += _question_card(cycle["questions"], link, n)
    out += _findings(cycle, n)
    out.append("</div></div>")
    out.append('<div class="grid">')
    out += _timeline(cycle, link)
    out.append('<div class="stack">')
    out += _verify(cycle["verify"], n)
    out.append("</div></div>")
    if cycle["postmortem"]:
        out += _postmortem(cycle, link)
    out.append("</section>")
    return out


# -- the flow diagram

_STAGE_H = 60
_GATE_W = 60
_GAP = 30
_PAD = 22
_TOP = 34
_PITCH = 170
_MAX_ROW = 1160


def _stage_width(name: str) -> int:
    return max(112, round(len(name) * 8.4) + 28)


def _node_width(node: tuple[str, dict[str, Any]]) -> int:
    return _stage_width(node[1]["name"]) if node[0] == "stage" else _GATE_W


def _row_width(row: list[tuple[str, dict[str, Any]]]) -> int:
    return sum(_node_width(n) for n in row) + _GAP * max(0, len(row) - 1)


def _rows(
    nodes: list[tuple[str, dict[str, Any]]], fix_stage: str | None
) -> list[list[tuple[str, dict[str, Any]]]]:
    """Nodes in rows: one row if it fits, else a break before the per-task stage (thinking
    above, building below), and greedy wrapping of whatever is still too wide."""
    if _row_width(nodes) <= _MAX_ROW:
        return [nodes]
    segments: list[list[tuple[str, dict[str, Any]]]] = [[]]
    for node in nodes:
        if node[0] == "stage" and node[1]["name"] == fix_stage and segments[-1]:
            segments.append([])
        segments[-1].append(node)
    rows: list[list[tuple[str, dict[str, Any]]]] = []
    for segment in segments:
        row: list[tuple[str, dict[str, Any]]] = []
        for node in segment:
            if row and _row_width([*row, node]) > _MAX_ROW:
                rows.append(row)
                row = []
            row.append(node)
        if row:
            rows.append(row)
    return rows


def _icon(state: str, x: float, y: float) -> str:
    """A small drawn mark for a gate's state (drawn, so no font needs the glyph)."""
    if state == "approved":
        return f'<path class="mark" d="M{x - 6} {y} l4 4.5 l8 -9"/>'
    if state == "rejected":
        return f'<path class="mark" d="M{x - 5} {y - 5} l10 10 M{x + 5} {y - 5} l-10 10"/>'
    if state == "stale":
        return (
            f'<path class="mark" d="M{x} {y - 6} v7"/>'
            f'<circle class="dot" cx="{x}" cy="{y + 5.5}" r="1.6"/>'
        )
    if state == "waiting":
        return f'<path class="mark" d="M{x - 5} {y - 6} h10 l-10 12 h10 z"/>'
    return f'<circle class="dot" cx="{x}" cy="{y}" r="2.2"/>'


def _split_gate(name: str) -> list[str]:
    if "-" in name and len(name) > 10:
        head, tail = name.rsplit("-", 1)
        return [head, tail]
    return [name]


def _current(action: dict[str, Any]) -> tuple[str, str] | None:
    kind = action["kind"]
    if kind in ("gate", "gate-conditions"):
        return ("gate", action["gate"])
    if kind in ("session", "finish-session"):
        return ("stage", action["stage"])
    return None


def _flow(cycle: dict[str, Any], fix_stage: str | None) -> list[str]:
    panel = cycle["panel"]
    n = cycle["number"]
    stages = panel["stages"]
    gates = {g["name"]: g for g in panel["gates"]}
    current = _current(panel["next"])
    nodes: list[tuple[str, dict[str, Any]]] = []
    for stage in stages:
        nodes.append(("stage", stage))
        gate = gates.get(stage["gate_after"] or "")
        if gate is not None:
            nodes.append(("gate", gate))
    rows = _rows(nodes, fix_stage)
    width = max(_row_width(r) for r in rows) + 2 * _PAD if rows else 400
    height = _TOP + _STAGE_H / 2 + _PITCH * (len(rows) - 1) + 82
    centres: dict[tuple[str, str], tuple[float, float, int]] = {}
    body: list[str] = []
    arrows: list[str] = []
    for r, row in enumerate(rows):
        cy = _TOP + _STAGE_H / 2 + r * _PITCH
        x = float(_PAD)
        previous_right: float | None = None
        for kind, item in row:
            w = _node_width((kind, item))
            if previous_right is not None:
                arrows.append(
                    f'<path class="arrow" d="M{previous_right + 3} {cy} H{x - 5}" '
                    'marker-end="url(#ah)"/>'
                )
            centres[(kind, item["name"])] = (x + w / 2, cy, r)
            here = current == (kind, item["name"])
            if kind == "stage":
                body.append(_stage_node(item, x, cy, w, here))
            else:
                body.append(_gate_node(item, x + w / 2, cy, here))
            previous_right = x + w
            x += w + _GAP
        if r + 1 < len(rows) and previous_right is not None:
            ny = cy + _PITCH
            mid = cy + _PITCH / 2
            arrows.append(
                f'<path class="arrow" d="M{previous_right + 3} {cy} h12 V{mid} H{_PAD - 12} '
                f'V{ny} H{_PAD - 5}" marker-end="url(#ah)"/>'
            )
    loop = _loop_arc(rows, centres, fix_stage, cycle["loops"])
    here_label = {
        "gate": "waiting for a person",
        "gate-conditions": "conditions unmet",
        "finish-session": "in progress",
        "session": "next",
    }.get(panel["next"]["kind"], "")
    marker = ""
    if current is not None and current in centres:
        cx, cy, _ = centres[current]
        top = cy - (_STAGE_H / 2 if current[0] == "stage" else 20) - 8
        marker = (
            f'<g class="here" aria-hidden="true"><path d="M{cx - 6} {top - 9} h12 l-6 8 z"/>'
            f'<text x="{cx}" y="{top - 13}">{escape(here_label)}</text></g>'
        )
    summary = "; ".join(
        f"{s['name']} {_LABEL.get(s['status'], s['status'])}"
        + (
            f", then gate {s['gate_after']} {_LABEL.get(gates[s['gate_after']]['state'], gates[s['gate_after']]['state'])}"
            if s["gate_after"] in gates
            else ""
        )
        for s in stages
    )
    out = [
        f'<section class="card flow" aria-labelledby="c{n}-flow">',
        '<div class="card-head">',
        f'<h2 id="c{n}-flow">Flow</h2>',
        _legend(),
        "</div>",
        f'<svg class="diagram" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'style="max-width:{width * 1.12:.0f}px" role="img" '
        f'aria-labelledby="c{n}-svg-t c{n}-svg-d" data-cycle="{n}">',
        f'<title id="c{n}-svg-t">Stages and gates of cycle {n}</title>',
        f'<desc id="c{n}-svg-d">{escape(summary)}</desc>',
        '<defs><marker id="ah" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path class="arrowhead" '
        'd="M0 0 L10 5 L0 10 z"/></marker></defs>',
        *arrows,
        loop,
        *body,
        marker,
        "</svg>",
        _flow_table(stages, gates, n),
        "</section>",
    ]
    return out


def _stage_node(stage: dict[str, Any], x: float, cy: float, w: int, here: bool) -> str:
    status = stage["status"]
    count = stage["sessions"]
    sessions = f" · {count}" if count else ""
    label = (
        f"{stage['name']}: {_LABEL.get(status, status)}, {count} session{'s' if count != 1 else ''}"
    )
    cls = f"node stage t-{_tone(status)}" + (" current" if here else "")
    y = cy - _STAGE_H / 2
    return (
        f'<g class="{cls}" data-stage="{escape(stage["name"], quote=True)}" '
        f'data-state="{escape(status, quote=True)}"><title>{escape(label)}</title>'
        f'<rect x="{x}" y="{y}" width="{w}" height="{_STAGE_H}" rx="11"/>'
        f'<text class="name" x="{x + w / 2}" y="{cy - 4}">{escape(stage["name"])}</text>'
        f'<text class="state" x="{x + w / 2}" y="{cy + 15}">'
        f"{escape(_LABEL.get(status, status))}{sessions}</text></g>"
    )


def _gate_node(gate: dict[str, Any], cx: float, cy: float, here: bool) -> str:
    state = gate["state"]
    by = gate.get("by") or {}
    who = by.get("name", "")
    detail = f", by {who}" if who and state in ("approved", "stale") else ""
    label = f"gate {gate['name']}: {_LABEL.get(state, state)}{detail}"
    cls = f"node gate t-{_tone(state)}" + (" current" if here else "")
    r = 19
    lines = _split_gate(gate["name"])
    texts = "".join(
        f'<text class="gname" x="{cx}" y="{cy + r + 16 + i * 14}">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    return (
        f'<g class="{cls}" data-gate="{escape(gate["name"], quote=True)}" '
        f'data-state="{escape(state, quote=True)}"><title>{escape(label)}</title>'
        f'<path class="diamond" d="M{cx} {cy - r} L{cx + r} {cy} L{cx} {cy + r} L{cx - r} {cy} Z"/>'
        f"{_icon(state, cx, cy)}{texts}"
        f'<text class="state" x="{cx}" y="{cy + r + 18 + len(lines) * 14}">'
        f"{escape(_LABEL.get(state, state))}</text></g>"
    )


def _loop_arc(
    rows: list[list[tuple[str, dict[str, Any]]]],
    centres: dict[tuple[str, str], tuple[float, float, int]],
    fix_stage: str | None,
    loops: int,
) -> str:
    """The fix loop: findings after the per-task stage send the cycle back to it."""
    if fix_stage is None or ("stage", fix_stage) not in centres:
        return ""
    fx, fy, row = centres[("stage", fix_stage)]
    nodes = rows[row]
    index = next(
        i for i, (kind, item) in enumerate(nodes) if kind == "stage" and item["name"] == fix_stage
    )
    last = None
    for kind, item in nodes[index + 1 :]:
        if kind == "gate":
            break
        last = item["name"]
    if last is None:
        return ""
    lx, _, _ = centres[("stage", last)]
    bottom = fy + _STAGE_H / 2
    depth = bottom + 30
    text = "blocking finding → fix" + (
        f" · {loops} loop{'s' if loops != 1 else ''}" if loops else ""
    )
    return (
        f'<g class="loop{" looped" if loops else ""}" aria-hidden="true">'
        f'<path class="loop-line" d="M{lx} {bottom + 3} C{lx} {depth}, {fx} {depth}, {fx} {bottom + 6}" '
        'marker-end="url(#ah)"/>'
        f'<text x="{(lx + fx) / 2}" y="{bottom + 0.75 * (depth - bottom) + 17}">{escape(text)}</text></g>'
    )


def _legend() -> str:
    items = [
        ("green", "done / approved"),
        ("blue", "active / ready"),
        ("amber", "waiting for a person"),
        ("orange", "stale"),
        ("red", "blocked / rejected"),
        ("grey", "not yet"),
    ]
    return (
        '<ul class="legend" aria-label="Colours">'
        + "".join(
            f'<li><span class="sw t-{tone}" aria-hidden="true"></span>{escape(text)}</li>'
            for tone, text in items
        )
        + "</ul>"
    )


def _flow_table(stages: list[dict[str, Any]], gates: dict[str, Any], n: int) -> str:
    rows = []
    for s in stages:
        gate = gates.get(s["gate_after"] or "")
        gate_cell = ""
        if gate is not None:
            by = (gate.get("by") or {}).get("name", "")
            extra = f" by {escape(by)}" if by and gate["state"] in ("approved", "stale") else ""
            note = gate.get("reason") or gate.get("note") or ""
            if gate["changed"]:
                note = "changed: " + ", ".join(gate["changed"])
            if gate.get("unmet"):
                note = "; ".join(gate["unmet"])
            gate_cell = f"{escape(gate['name'])} {_badge(gate['state'])}{extra}" + (
                f' <span class="muted">{escape(note)}</span>' if note else ""
            )
        rows.append(
            f'<tr><th scope="row">{escape(s["name"])}</th><td>{_badge(s["status"])}</td>'
            f"<td>{s['sessions']}</td><td>{gate_cell}</td></tr>"
        )
    return (
        f'<details class="astable"><summary>The flow as a table</summary>'
        f'<table><caption class="sr">Stages and gates of cycle {n}</caption>'
        '<thead><tr><th scope="col">stage</th><th scope="col">status</th>'
        '<th scope="col">sessions</th><th scope="col">gate after</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></details>"
    )


# -- tasks, questions, findings


def _tasks(cycle: dict[str, Any]) -> list[str]:
    n = cycle["number"]
    rows = cycle["tasks"]
    columns = [("pending", "Pending"), ("in-progress", "In progress"), ("done", "Done")]
    out = [f'<section class="card tasks" aria-labelledby="c{n}-tasks">', '<div class="card-head">']
    out.append(f'<h2 id="c{n}-tasks">Tasks</h2>')
    if cycle["draft_tasks"]:
        out.append('<span class="badge t-amber">draft plan: not approved yet</span>')
    out.append("</div>")
    if not rows:
        out.append(
            '<p class="muted">No tasks yet: the plan session writes them in '
            "<code>docs/implementation-plan.md</code>, and they count once a person approves it.</p>"
        )
        out.append("</section>")
        return out
    out.append('<div class="board">')
    for key, heading in columns:
        items = [t for t in rows if t["status"] == key]
        out.append(
            f'<div class="col" data-column="{key}"><h3>{heading} '
            f'<span class="count">{len(items)}</span></h3><ul role="list">'
        )
        for t in items:
            chips = []
            if t["risk"]:
                risk = str(t["risk"]).lower()
                tone = {"high": "red", "medium": "amber", "low": "green"}.get(risk, "grey")
                chips.append(f'<span class="chip t-{tone}">risk {escape(str(t["risk"]))}</span>')
            if t["effort"]:
                chips.append(f'<span class="chip">{escape(str(t["effort"]))}</span>')
            for story in t["stories"]:
                chips.append(f'<span class="chip">{escape(str(story))}</span>')
            waits = ""
            if t["waits_on"] and key != "done":
                waits = (
                    f'<p class="waits">waits on {escape(", ".join(map(str, t["waits_on"])))}</p>'
                )
            nxt = ' <span class="badge t-blue">next</span>' if t["next"] else ""
            out.append(
                f'<li class="task" data-task="{escape(str(t["id"]), quote=True)}" '
                f'data-status="{key}"><p class="task-title"><span class="tid">{escape(str(t["id"]))}</span> '
                f"{escape(str(t['title']))}{nxt}</p>"
                f'<p class="chips">{"".join(chips)}</p>{waits}</li>'
            )
        if not items:
            out.append('<li class="none">none</li>')
        out.append("</ul></div>")
    out.append("</div></section>")
    return out


def _question_card(q: dict[str, Any], link: Link, n: int) -> list[str]:
    confidence = q["confidence"]
    threshold = q["threshold"]
    shown = "not stated" if confidence is None else f"{confidence:g} %"
    met = confidence is not None and confidence >= threshold
    open_ones = [x for x in q["questions"] if x["open"]]
    answered = [x for x in q["questions"] if not x["open"]]
    value = 0 if confidence is None else max(0, min(100, round(confidence)))
    out = [
        f'<section class="card questions" aria-labelledby="c{n}-q">',
        f'<div class="card-head"><h2 id="c{n}-q">Open questions</h2>'
        f'<span class="count">{len(open_ones)}</span></div>',
        f'<p class="conf">Confidence <strong>{escape(shown)}</strong> '
        f'<span class="muted">(the spec gate needs {threshold} %)</span> '
        + _badge("done" if met else "waiting", "met" if met else "below the threshold")
        + "</p>",
        f'<div class="bar thin" role="progressbar" aria-label="Spec confidence" aria-valuemin="0" '
        f'aria-valuemax="100" aria-valuenow="{value}"><span class="t-{"green" if met else "amber"}" '
        f'style="width:{value}%"></span><i style="left:{threshold}%"></i></div>',
    ]
    if open_ones:
        out.append('<ul class="qs">')
        for x in open_ones:
            kind = _badge("blocking") if x["blocking"] else _badge("minor", "non-blocking")
            out.append(f"<li><strong>{escape(x['id'])}</strong> {kind} {escape(x['text'])}</li>")
        out.append("</ul>")
        out.append(
            '<p class="muted small">A person answers in a terminal: '
            f'<code>sdd questions answer {escape(open_ones[0]["id"])} "…"</code></p>'
        )
    else:
        out.append(
            '<p class="muted">No open question in '
            + _doc_link(link, q["path"], q["path"])
            + ".</p>"
        )
    if answered:
        out.append(f'<details><summary>{len(answered)} answered</summary><ul class="qs">')
        for x in answered:
            out.append(
                f"<li><strong>{escape(x['id'])}</strong> {escape(x['text'])}"
                f'<br><span class="muted">{escape(x["answer"] or "")}</span></li>'
            )
        out.append("</ul></details>")
    out.append("</section>")
    return out


def _findings(cycle: dict[str, Any], n: int) -> list[str]:
    rows = cycle["findings"]
    open_rows = [f for f in rows if f["status"] == "open"]
    out = [
        f'<section class="card findings" aria-labelledby="c{n}-f">',
        f'<div class="card-head"><h2 id="c{n}-f">Findings</h2>'
        f'<span class="count">{len(open_rows)} open</span></div>',
    ]
    if not rows:
        out.append('<p class="muted">None raised in this cycle.</p></section>')
        return out
    out.append('<ul class="fs">')
    for f in sorted(rows, key=lambda f: (f["status"] != "open", f["id"])):
        escaped = f" · escaped from {escape(str(f['escaped_from']))}" if f["escaped_from"] else ""
        closed = ""
        if f["status"] == "fixed" and f["fixed_by"]:
            closed = f" · fixed by {escape(str(f['fixed_by']))}"
        elif f["status"] == "waived":
            closed = f" · waived: {escape(str(f['waive_reason'] or ''))}"
        out.append(
            f'<li data-finding="{escape(str(f["id"]), quote=True)}" data-status="{escape(str(f["status"]), quote=True)}">'
            f"<p><strong>{escape(str(f['id']))}</strong> {_badge(str(f['severity']))} "
            f"{_badge(str(f['status']))}</p><p>{escape(str(f['text']))}</p>"
            f'<p class="muted small">found in {escape(str(f["stage"]))}{escaped}{closed}</p></li>'
        )
    out.append("</ul></section>")
    return out


# -- sessions, verify


def _timeline(cycle: dict[str, Any], link: Link) -> list[str]:
    n = cycle["number"]
    sessions = cycle["sessions"]
    out = [
        f'<section class="card timeline" aria-labelledby="c{n}-s">',
        f'<div class="card-head"><h2 id="c{n}-s">Sessions</h2>'
        f'<span class="count">{len(sessions)}</span></div>',
    ]
    if not sessions:
        out.append(
            '<p class="muted">No session yet. Each session is one fresh agent conversation with '
            "one role; its page under <code>docs/sessions/</code> holds the brief and the handoff.</p>"
        )
        out.append("</section>")
        return out
    out.append('<ol class="tl">')
    for s in reversed(sessions):
        what = escape(s["stage"])
        if s["task"]:
            what += f' · <span class="tid">{escape(s["task"])}</span>'
        if s["finding"]:
            what += f" · fixes {escape(s['finding'])}"
        page = _doc_link(link, s["page"], s["id"], label=f"{s['id']} session page ({s['stage']})")
        outputs = ", ".join(
            _doc_link(link, p if ok else None, p.removeprefix("docs/")) for p, ok in s["outputs"]
        )
        meta = [_time(s["started"])]
        if s["seconds"] is not None:
            meta.append(duration(s["seconds"]))
        meta.append(escape(s["agent"] or "by hand"))
        reason = (
            f'<p class="muted small">{escape(s["reason"])}</p>'
            if s["reason"] and s["outcome"] != "complete"
            else ""
        )
        out.append(
            f'<li class="t-{_tone(s["outcome"])}" data-session="{escape(s["id"], quote=True)}" '
            f'data-outcome="{escape(s["outcome"], quote=True)}">'
            f'<span class="dot" aria-hidden="true"></span>'
            f'<p class="s-head"><strong class="sid">{page}</strong> {what} {_badge(s["outcome"])}</p>'
            f'<p class="muted small">{" · ".join(meta)}</p>'
            + (f'<p class="outs small">outputs: {outputs}</p>' if outputs else "")
            + reason
            + "</li>"
        )
    out.append("</ol></section>")
    return out


def _verify(run: dict[str, Any] | None, n: int) -> list[str]:
    out = [
        f'<section class="card verify" aria-labelledby="c{n}-v">',
        f'<div class="card-head"><h2 id="c{n}-v">Latest verify evidence</h2></div>',
    ]
    if run is None:
        out.append(
            '<p class="muted">No <code>sdd verify</code> run yet. It runs the project\'s own checks '
            "and records their exit codes and log hashes as evidence.</p></section>"
        )
        return out
    ok = bool(run.get("ok"))
    head = str(run.get("head") or "no commit")[:12]
    clean = run.get("clean")
    out.append(
        '<p class="verdict">'
        + _badge("done" if ok else "failed", "green" if ok else "red")
        + f" at <code>{escape(head)}</code> · {_time(str(run.get('at') or ''))}"
        + ("" if clean else ' · <span class="badge t-amber">uncommitted changes</span>')
        + (
            f' · <span class="muted">cycle {escape(str(run.get("cycle")))}</span>'
            if run.get("cycle") is not None
            else ""
        )
        + "</p>"
    )
    checks = run.get("checks") or []
    if isinstance(checks, list) and checks:
        out.append(
            '<table class="checks"><caption class="sr">Checks of the latest verify run</caption>'
            '<thead><tr><th scope="col">check</th><th scope="col">result</th>'
            '<th scope="col">time</th><th scope="col">log sha256</th></tr></thead><tbody>'
        )
        for check in checks:
            if not isinstance(check, dict):
                continue
            passed = check.get("exit_code") == 0 and not check.get("timed_out")
            verdict = (
                "passed"
                if passed
                else ("timed out" if check.get("timed_out") else f"exit {check.get('exit_code')}")
            )
            seconds = check.get("seconds")
            command = " ".join(str(a) for a in check.get("command") or [])
            out.append(
                f'<tr><th scope="row" title="{escape(command, quote=True)}">{escape(str(check.get("name")))}</th>'
                f"<td>{_badge('done' if passed else 'failed', verdict)}</td>"
                f"<td>{escape(duration(seconds) if isinstance(seconds, (int, float)) else '')}</td>"
                f'<td><code title="{escape(str(check.get("log") or ""), quote=True)}">'
                f"{escape(str(check.get('log_sha256') or '')[:12])}</code></td></tr>"
            )
        out.append("</tbody></table>")
    out.append("</section>")
    return out


# -- post-mortem charts


def _bars(
    title: str, ident: str, values: list[tuple[str, float]], fmt: Callable[[float], str], tone: str
) -> str:
    if not values:
        return ""
    top = max(v for _, v in values) or 1.0
    width, row_h = 560, 24
    label_w = max(60, round(max(len(name) for name, _ in values) * 7.4) + 14)
    bar_w = width - label_w - 70
    height = row_h * len(values) + 8
    rows = []
    for i, (name, value) in enumerate(values):
        y = 4 + i * row_h
        w = max(2.0, bar_w * value / top) if value > 0 else 0.0
        rows.append(
            f'<g data-bar="{escape(name, quote=True)}" data-value="{round(value, 3)}">'
            f'<text class="lbl" x="{label_w - 8}" y="{y + 15}">{escape(name)}</text>'
            f'<rect class="b t-{tone}" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" rx="3"/>'
            f'<text class="val" x="{label_w + w + 6:.1f}" y="{y + 15}">{escape(fmt(value))}</text></g>'
        )
    desc = "; ".join(f"{name}: {fmt(value)}" for name, value in values)
    return (
        f'<figure class="chart" data-chart="{ident.rsplit("-", 1)[1]}">'
        f'<figcaption id="{ident}">{escape(title)}</figcaption>'
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="{ident} {ident}-d">'
        f'<desc id="{ident}-d">{escape(desc)}</desc>{"".join(rows)}</svg></figure>'
    )


def _count(value: float) -> str:
    return str(int(value))


def _postmortem(cycle: dict[str, Any], link: Link) -> list[str]:
    n = cycle["number"]
    pm = cycle["postmortem"]
    fig = pm["figures"]
    stage_time = [(k, float(v["seconds"])) for k, v in fig["stages"].items()]
    waits = [(k, float(v["waiting_seconds"])) for k, v in fig["gates"].items()]
    sessions = [(k, float(v["sessions"])) for k, v in fig["stages"].items() if v["sessions"]]
    causes: dict[str, int] = {}
    for loop in fig["loops"]:
        cause = str(loop.get("caused_by") or loop.get("source") or "reopened")
        causes[cause] = causes.get(cause, 0) + 1
    loops = sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))
    found = fig["findings"]
    verify = fig["verify"]
    stats = [
        ("sessions", sum(v["sessions"] for v in fig["stages"].values()), ""),
        ("loops back to implementation", len(fig["loops"]), ""),
        ("gate rejections", len(fig["rejections"]), ""),
        ("findings", found["total"], f"{found['blocking']} blocking"),
        ("abandoned or interrupted", len(fig["abandoned"]) + len(fig["interrupted"]), ""),
        ("verify runs", verify["runs"], f"{verify['failures']} red"),
    ]
    doc = pm["document"]
    out = [
        f'<section class="card pm" aria-labelledby="c{n}-pm">',
        f'<div class="card-head"><h2 id="c{n}-pm">Post-mortem figures</h2>'
        + (f"<p>{_doc_link(link, doc, 'read the post-mortem')}</p>" if doc else "")
        + "</div>",
        '<dl class="stats">'
        + "".join(
            f"<div><dt>{escape(k)}</dt><dd>{v}"
            + (f' <span class="muted small">{escape(extra)}</span>' if extra else "")
            + "</dd></div>"
            for k, v, extra in stats
        )
        + "</dl>",
        '<div class="charts">',
        _bars("Time in each stage", f"c{n}-ch-time", stage_time, duration, "blue"),
        _bars("Waiting at each gate", f"c{n}-ch-wait", waits, duration, "amber"),
    ]
    if loops:
        out.append(
            _bars(
                "Loops back to implementation, by the stage that caused them",
                f"c{n}-ch-loops",
                [(k, float(v)) for k, v in loops],
                _count,
                "red",
            )
        )
    else:
        out.append(
            '<figure class="chart"><figcaption>Loops back to implementation</figcaption>'
            '<p class="muted">None: nothing found after the code sent the cycle back.</p></figure>'
        )
    out.append(_bars("Sessions per stage", f"c{n}-ch-sess", sessions, _count, "green"))
    out.append("</div>")
    if fig["rejections"]:
        out.append('<h3>Gate rejections</h3><ul class="rej">')
        out += [
            f"<li><strong>{escape(str(r['gate']))}</strong> → back to {escape(str(r.get('to') or ''))}: "
            f"{escape(str(r['reason']))}</li>"
            for r in fig["rejections"]
        ]
        out.append("</ul>")
    out.append("</section>")
    return out


# -- every cycle


def _cycles_table(data: dict[str, Any]) -> list[str]:
    cycles = data["cycles"]
    if not cycles:
        return []
    out = [
        '<section class="card cycles" aria-labelledby="cycles-h">',
        f'<div class="card-head"><h2 id="cycles-h">All cycles</h2><span class="count">{len(cycles)}</span></div>',
        '<div class="scroll"><table><caption class="sr">Every cycle of the project</caption><thead><tr>'
        '<th scope="col">cycle</th><th scope="col">state</th><th scope="col">stages</th>'
        '<th scope="col">sessions</th><th scope="col">open findings</th><th scope="col">opened</th>'
        "</tr></thead><tbody>",
    ]
    for cycle in reversed(cycles):
        panel = cycle["panel"]
        info = panel["cycle"]
        n = cycle["number"]
        strip = "".join(
            f'<span class="pip t-{_tone(s["status"])}" title="{escape(s["name"], quote=True)}: '
            f'{escape(_LABEL.get(s["status"], s["status"]), quote=True)}"></span>'
            for s in panel["stages"]
        )
        done = sum(1 for s in panel["stages"] if s["status"] == "done")
        where = info["current_stage"] if info["state"] == "open" else None
        open_findings = sum(1 for f in cycle["findings"] if f["status"] == "open")
        out.append(
            f'<tr data-row-cycle="{n}"><th scope="row"><a href="#cycle-{n}" data-cycle-link="{n}">'
            f"{n} · {escape(info['title'])}</a></th>"
            f"<td>{_badge(info['state'])}"
            + (' <span class="badge">archived</span>' if cycle.get("archived") else "")
            + (f' <span class="muted">at {escape(where)}</span>' if where else "")
            + "</td>"
            f'<td><span class="pips" role="img" aria-label="{done} of {len(panel["stages"])} stages done">'
            f"{strip}</span></td>"
            f"<td>{len(cycle['sessions'])}</td><td>{open_findings}</td>"
            f"<td>{_time(info['opened'])}</td></tr>"
        )
    out.append("</tbody></table></div></section>")
    return out


# ---------------------------------------------------------------------------- one call


def page(project: api.Project, *, prefix: str = "/", live: bool = False, version: str = "") -> str:
    """Collect and render: the whole page for ``project``."""
    return render(api.overview(project), link=linker(prefix), live=live, version=version)


def _script_hash() -> str:
    import base64

    digest = hashlib.sha256(_SCRIPT.encode()).digest()
    return "sha256-" + base64.b64encode(digest).decode()


_ICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Crect width='16' height='16' rx='4' fill='%234338ca'/%3E"
    "%3Cpath d='M4 8.5l2.5 2.5L12 5.5' stroke='white' stroke-width='2' fill='none'/%3E%3C/svg%3E"
)

_SCRIPT = """
(() => {
  "use strict";
  const main = () => document.getElementById("main");
  let chosen = null;  // the cycle picked by a #cycle-N link; other anchors keep it
  function select() {
    const root = main();
    if (!root) return;
    const m = /^#cycle-(\\d+)$/.exec(location.hash);
    if (m) chosen = m[1];
    let want = chosen || root.dataset.latest;
    if (!root.querySelector('section.cycle[data-cycle="' + want + '"]')) want = root.dataset.latest;
    root.querySelectorAll("section.cycle").forEach((s) => { s.hidden = s.dataset.cycle !== want; });
    root.querySelectorAll("a[data-cycle-link]").forEach((a) => {
      if (a.dataset.cycleLink === want) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
  }
  window.addEventListener("hashchange", select);
  function selectText(button) {
    const code = button.parentElement.querySelector("code");
    const range = document.createRange();
    range.selectNodeContents(code);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    const done = () => {
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy"; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(button.dataset.copy).then(done, () => selectText(button));
    } else {
      selectText(button);
    }
  });
  select();
  const body = document.body;
  if (body.dataset.live !== "1") return;
  const status = document.getElementById("live");
  let version = body.dataset.version;
  let offline = false;
  async function poll() {
    try {
      const answer = await fetch("/state-version", { cache: "no-store" });
      if (!answer.ok) throw new Error("status " + answer.status);
      const now = (await answer.text()).trim();
      if (now !== version) {
        const page = await fetch("/", { cache: "no-store" });
        const doc = new DOMParser().parseFromString(await page.text(), "text/html");
        const fresh = doc.getElementById("main");
        if (fresh) {
          main().replaceWith(document.adoptNode(fresh));
          version = fresh.dataset.version || now;
          select();
          status.textContent = "Live: updated at " + new Date().toLocaleTimeString();
        }
      }
      if (offline) {
        offline = false;
        status.dataset.state = "live";
        status.textContent = "Live: connected again";
      }
    } catch (error) {
      if (!offline) {
        offline = true;
        status.dataset.state = "offline";
        status.textContent = "Offline: the dashboard server is not answering";
      }
    }
    setTimeout(poll, 1500);
  }
  setTimeout(poll, 1500);
})();
"""

_CSS = """
:root {
  color-scheme: light;
  --bg: #f4f5f7; --card: #ffffff; --ink: #1b1f24; --muted: #545d68; --line: #d9dee4;
  --soft: #f6f8fa; --accent: #4338ca; --accent-soft: #e0e7ff; --shadow: 0 1px 2px rgba(16,24,40,.06), 0 1px 3px rgba(16,24,40,.08);
  --green-fg: #116329; --green-bg: #dcf7e3; --green-line: #3fa35b;
  --blue-fg: #0a4fb8; --blue-bg: #dde9ff; --blue-line: #4a86e8;
  --amber-fg: #7a4b00; --amber-bg: #fff0c7; --amber-line: #d49a00;
  --orange-fg: #9a3412; --orange-bg: #ffe3cf; --orange-line: #e0782f;
  --red-fg: #a40e26; --red-bg: #ffe0e2; --red-line: #e5534b;
  --grey-fg: #545d68; --grey-bg: #eceff2; --grey-line: #b4bcc6;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    color-scheme: dark;
    --bg: #0d1117; --card: #161b22; --ink: #e6edf3; --muted: #9ea8b3; --line: #30363d;
    --soft: #1c222b; --accent: #a5b4fc; --accent-soft: #272d5c; --shadow: 0 1px 2px rgba(0,0,0,.5);
    --green-fg: #7ee2a0; --green-bg: #11321d; --green-line: #2ea043;
    --blue-fg: #a5cdff; --blue-bg: #112a4d; --blue-line: #4c8dff;
    --amber-fg: #f2cc60; --amber-bg: #352806; --amber-line: #bb8009;
    --orange-fg: #ffb47f; --orange-bg: #3a1c09; --orange-line: #db6d28;
    --red-fg: #ffa39b; --red-bg: #3f1519; --red-line: #f85149;
    --grey-fg: #a4adb8; --grey-bg: #212730; --grey-line: #4d5561;
  }
}
* { box-sizing: border-box; }
html { background: var(--bg); scroll-padding-top: 72px; }
body { margin: 0; color: var(--ink); background: var(--bg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
a { color: var(--accent); text-underline-offset: 2px; }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; border-radius: 4px; }
code, .mono { font-family: var(--mono); font-size: .9em; }
h1, h2, h3 { line-height: 1.2; margin: 0; }
p { margin: 0; }
.wrap { max-width: 1320px; margin: 0 auto; padding: 0 24px; }
.skip { position: absolute; left: -9999px; top: 8px; background: var(--card); padding: 8px 12px; z-index: 10; }
.skip:focus { left: 12px; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.muted { color: var(--muted); }
.small { font-size: 13px; }
.top { background: var(--card); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 5; }
.top-in { display: flex; align-items: center; justify-content: space-between; gap: 16px; min-height: 52px; }
.brand { display: flex; align-items: center; gap: 8px; font-weight: 700; font-size: 16px; }
.brand .proj { font-weight: 600; color: var(--muted); }
.logo { width: 22px; height: 22px; border-radius: 6px; background: var(--accent);
  box-shadow: inset 0 0 0 5px var(--accent-soft); }
.live { font-size: 13px; color: var(--muted); display: flex; align-items: center; gap: 8px; }
.live::before { content: ""; width: 9px; height: 9px; border-radius: 50%; background: var(--grey-line); }
.live[data-state="live"]::before { background: var(--green-line); box-shadow: 0 0 0 3px var(--green-bg); }
.live[data-state="offline"]::before { background: var(--red-line); }
main.wrap { padding-top: 20px; padding-bottom: 8px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 14px; padding: 18px 20px;
  box-shadow: var(--shadow); margin-bottom: 18px; }
.card-head { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; margin-bottom: 12px; }
.card-head h2 { font-size: 17px; }
.count { font-size: 13px; color: var(--muted); background: var(--soft); border: 1px solid var(--line);
  border-radius: 999px; padding: 0 9px; }
.hero { display: grid; grid-template-columns: minmax(0, 1fr) minmax(360px, 520px); gap: 18px; align-items: stretch;
  margin-bottom: 18px; }
.hero-main { padding: 6px 4px; display: flex; flex-direction: column; gap: 10px; justify-content: center; }
.eyebrow { color: var(--muted); font-size: 13px; }
.hero h1 { font-size: 30px; letter-spacing: -.01em; }
.where { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.bar { height: 8px; border-radius: 999px; background: var(--grey-bg); overflow: hidden; position: relative; max-width: 520px; }
.bar > span { display: block; height: 100%; background: var(--green-line); border-radius: 999px; }
.bar.thin { height: 6px; margin: 8px 0 12px; overflow: visible; }
.bar.thin > span.t-amber { background: var(--amber-line); }
.bar.thin > i { position: absolute; top: -4px; width: 2px; height: 14px; background: var(--ink); }
.next { margin: 0; border-left: 5px solid var(--accent); display: flex; flex-direction: column; gap: 10px; }
.next h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .08em; color: var(--accent); }
.next .summary { font-size: 15px; }
.cmd { display: flex; align-items: center; gap: 8px; background: var(--soft); border: 1px solid var(--line);
  border-radius: 10px; padding: 8px 8px 8px 14px; }
.cmd code { flex: 1; font-size: 15px; font-weight: 600; user-select: all; overflow-wrap: anywhere; }
.cmd code::before { content: "$ "; color: var(--muted); font-weight: 400; }
.copy { font: inherit; font-size: 13px; padding: 4px 12px; border-radius: 8px; border: 1px solid var(--line);
  background: var(--card); color: var(--ink); cursor: pointer; }
.copy:hover { border-color: var(--accent); }
.alt { font-size: 13px; color: var(--muted); }
.person { font-size: 13px; color: var(--amber-fg); background: var(--amber-bg); border-radius: 8px; padding: 6px 10px; }
.badge, .chip { display: inline-block; font-size: 12px; font-weight: 600; line-height: 18px; padding: 1px 8px;
  border-radius: 999px; border: 1px solid var(--grey-line); background: var(--grey-bg); color: var(--grey-fg);
  white-space: nowrap; vertical-align: 1px; }
.chip { font-weight: 500; }
.t-green { --fg: var(--green-fg); --bg2: var(--green-bg); --ln: var(--green-line); }
.t-blue { --fg: var(--blue-fg); --bg2: var(--blue-bg); --ln: var(--blue-line); }
.t-amber { --fg: var(--amber-fg); --bg2: var(--amber-bg); --ln: var(--amber-line); }
.t-orange { --fg: var(--orange-fg); --bg2: var(--orange-bg); --ln: var(--orange-line); }
.t-red { --fg: var(--red-fg); --bg2: var(--red-bg); --ln: var(--red-line); }
.t-grey { --fg: var(--grey-fg); --bg2: var(--grey-bg); --ln: var(--grey-line); }
.badge[class*="t-"], .chip[class*="t-"] { color: var(--fg); background: var(--bg2); border-color: var(--ln); }
.alert[class*="t-"] { border-color: var(--ln); background: var(--bg2); color: var(--fg); }
.alert ul { margin: 8px 0 0; }
.alert h2 { font-size: 16px; margin-bottom: 4px; }
main:focus { outline: none; }
.flow .card-head { justify-content: space-between; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 6px 14px; margin: 0; padding: 0; font-size: 12.5px; color: var(--muted); }
.legend li { display: flex; align-items: center; gap: 6px; }
.sw { width: 12px; height: 12px; border-radius: 3px; border: 1.5px solid var(--ln); background: var(--bg2); }
.diagram { display: block; width: 100%; height: auto; margin: 4px auto 0; font-family: inherit; }
.diagram .node rect, .diagram .node .diamond { fill: var(--bg2); stroke: var(--ln); stroke-width: 1.6; }
.diagram .node.current rect, .diagram .node.current .diamond { stroke: var(--accent); stroke-width: 3.2; }
.diagram .node.t-blue.stage[data-state="active"] rect { stroke-width: 3.2; }
.diagram text { text-anchor: middle; fill: var(--ink); }
.diagram .name { font-size: 14px; font-weight: 700; }
.diagram .state { font-size: 12.5px; fill: var(--fg); font-weight: 600; }
.diagram .gname { font-size: 12px; fill: var(--muted); }
.diagram .mark { fill: none; stroke: var(--fg); stroke-width: 2.4; stroke-linecap: round; stroke-linejoin: round; }
.diagram .node.t-amber .mark { fill: var(--fg); stroke-width: 1.2; }
.diagram .dot { fill: var(--fg); }
.diagram .arrow { fill: none; stroke: var(--grey-line); stroke-width: 1.8; }
.diagram .arrowhead { fill: var(--grey-line); }
.diagram .loop-line { fill: none; stroke: var(--grey-line); stroke-width: 1.6; stroke-dasharray: 5 4; }
.diagram .loop text { font-size: 12px; fill: var(--muted); }
.diagram .loop.looped .loop-line { stroke: var(--red-line); }
.diagram .loop.looped text { fill: var(--red-fg); font-weight: 600; }
.diagram .here path { fill: var(--accent); }
.diagram .here text { font-size: 11.5px; font-weight: 700; fill: var(--accent); letter-spacing: .06em; text-transform: uppercase; }
details > summary { cursor: pointer; color: var(--muted); font-size: 13px; }
.astable { margin-top: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); font-weight: 600; }
tbody tr:last-child > * { border-bottom: 0; }
.grid { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 1fr); gap: 18px; align-items: start; }
.grid > .card, .stack > .card { margin-bottom: 18px; }
.board { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 12px; }
.col { background: var(--soft); border: 1px solid var(--line); border-radius: 12px; padding: 10px; }
.col h3 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 2px 4px 10px;
  display: flex; gap: 8px; align-items: center; }
.col ul { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.task { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 9px 11px;
  border-left: 4px solid var(--grey-line); }
.task[data-status="in-progress"] { border-left-color: var(--blue-line); }
.task[data-status="done"] { border-left-color: var(--green-line); }
.task-title { font-weight: 600; font-size: 14px; }
.tid { font-family: var(--mono); font-size: 12.5px; color: var(--accent); font-weight: 700; }
.chips { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 6px; }
.waits { font-size: 12.5px; color: var(--amber-fg); margin-top: 6px; }
.none { color: var(--muted); font-size: 13px; padding: 4px; }
.qs, .fs, .rej { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 10px; }
.qs li, .fs li { padding-bottom: 10px; border-bottom: 1px solid var(--line); font-size: 14px; }
.qs li:last-child, .fs li:last-child { border-bottom: 0; padding-bottom: 0; }
.fs li p + p { margin-top: 3px; }
.conf { font-size: 14px; display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.tl { list-style: none; margin: 0; padding: 0 0 0 4px; position: relative; }
.tl::before { content: ""; position: absolute; left: 10px; top: 6px; bottom: 6px; width: 2px; background: var(--line); }
.tl li { position: relative; padding: 0 0 14px 30px; }
.tl li:last-child { padding-bottom: 0; }
.tl .dot { position: absolute; left: 1px; top: 3px; width: 14px; height: 14px; border-radius: 50%;
  background: var(--bg2); border: 3px solid var(--ln); }
.s-head { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; font-size: 14.5px; }
.sid { font-family: var(--mono); font-size: 13.5px; }
.outs { margin-top: 2px; overflow-wrap: anywhere; }
.verdict { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-bottom: 10px; font-size: 14px; }
.checks th[scope="row"] { font-weight: 600; }
.pm .card-head { justify-content: space-between; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 0 0 16px; }
.stats div { background: var(--soft); border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px; }
.stats dt { font-size: 12.5px; color: var(--muted); }
.stats dd { margin: 0; font-size: 24px; font-weight: 700; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 14px 24px; }
.chart { margin: 0; }
.chart figcaption { font-weight: 600; font-size: 14px; margin-bottom: 6px; }
.chart svg { width: 100%; height: auto; display: block; max-width: 620px; }
.chart .lbl { font-size: 12.5px; fill: var(--ink); text-anchor: end; }
.chart .val { font-size: 12px; fill: var(--muted); }
.chart .b { fill: var(--ln); }
.pm h3 { font-size: 14px; margin: 16px 0 8px; }
.scroll { overflow-x: auto; }
.pips { display: inline-flex; gap: 3px; vertical-align: middle; }
.pip { width: 14px; height: 10px; border-radius: 3px; background: var(--ln); }
.pip.t-grey { background: var(--grey-bg); box-shadow: inset 0 0 0 1.5px var(--grey-line); }
.cycles a[aria-current] { font-weight: 700; }
.cycles tr:has(a[aria-current]) { background: var(--accent-soft); }
.foot { color: var(--muted); font-size: 13px; padding-top: 6px; padding-bottom: 30px; }
.empty { text-align: left; display: flex; flex-direction: column; gap: 10px; }
@media (max-width: 980px) {
  .hero, .grid { grid-template-columns: minmax(0, 1fr); }
  .board { grid-template-columns: minmax(0, 1fr); }
}
@media (prefers-reduced-motion: no-preference) {
  .live[data-state="live"]::before { animation: pulse 2s ease-in-out infinite; }
  @keyframes pulse { 50% { box-shadow: 0 0 0 6px transparent; } }
}
"""

"""The flow diagram of a cycle: its stages and gates as an SVG drawn from the panel (stage
boxes, gate diamonds with a drawn mark for their state, the fix loop's arc, a marker on
where the cycle stands), its colour legend, and the same flow as a table for readers who
do not see the picture.
"""

from __future__ import annotations

from html import escape

from sdd.web.markup import badge, state_label, tone

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

Node = tuple[str, dict[str, "Any"]]  # ("stage" | "gate", its row of the panel)

_STAGE_H = 60
_GATE_W = 60
_GAP = 30
_PAD = 22
_TOP = 34
_PITCH = 170
_MAX_ROW = 1160


def _stage_width(name: str) -> int:
    return max(112, round(len(name) * 8.4) + 28)


def _node_width(node: Node) -> int:
    return _stage_width(node[1]["name"]) if node[0] == "stage" else _GATE_W


def _row_width(row: list[Node]) -> int:
    return sum(_node_width(n) for n in row) + _GAP * max(0, len(row) - 1)


def _rows(nodes: list[Node], fix_stage: str | None) -> list[list[Node]]:
    """Nodes in rows: one row if it fits, else a break before the per-task stage (thinking
    above, building below), and greedy wrapping of whatever is still too wide."""
    if _row_width(nodes) <= _MAX_ROW:
        return [nodes]
    segments: list[list[Node]] = [[]]
    for node in nodes:
        if node[0] == "stage" and node[1]["name"] == fix_stage and segments[-1]:
            segments.append([])
        segments[-1].append(node)
    rows: list[list[Node]] = []
    for segment in segments:
        row: list[Node] = []
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
    if kind in ("gate", "gate-conditions", "walkthrough"):
        return ("gate", action["gate"])
    if kind in ("session", "finish-session"):
        return ("stage", action["stage"])
    return None


def flow(cycle: dict[str, Any], fix_stage: str | None) -> list[str]:
    """The flow card of ``cycle``: the diagram, its legend and the flow as a table."""
    panel = cycle["panel"]
    n = cycle["number"]
    stages = panel["stages"]
    gates = {g["name"]: g for g in panel["gates"]}
    current = _current(panel["next"])
    nodes: list[Node] = []
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
        "walkthrough": "a person walks it",
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
        f"{s['name']} {state_label(s['status'])}"
        + (
            f", then gate {s['gate_after']} {state_label(gates[s['gate_after']]['state'])}"
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
    label = f"{stage['name']}: {state_label(status)}, {count} session{'s' if count != 1 else ''}"
    cls = f"node stage t-{tone(status)}" + (" current" if here else "")
    y = cy - _STAGE_H / 2
    return (
        f'<g class="{cls}" data-stage="{escape(stage["name"], quote=True)}" '
        f'data-state="{escape(status, quote=True)}"><title>{escape(label)}</title>'
        f'<rect x="{x}" y="{y}" width="{w}" height="{_STAGE_H}" rx="11"/>'
        f'<text class="name" x="{x + w / 2}" y="{cy - 4}">{escape(stage["name"])}</text>'
        f'<text class="state" x="{x + w / 2}" y="{cy + 15}">'
        f"{escape(state_label(status))}{sessions}</text></g>"
    )


def _gate_node(gate: dict[str, Any], cx: float, cy: float, here: bool) -> str:
    state = gate["state"]
    by = gate.get("by") or {}
    who = by.get("name", "")
    detail = f", by {who}" if who and state in ("approved", "stale") else ""
    label = f"gate {gate['name']}: {state_label(state)}{detail}"
    cls = f"node gate t-{tone(state)}" + (" current" if here else "")
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
        f"{escape(state_label(state))}</text></g>"
    )


def _loop_arc(
    rows: list[list[Node]],
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
            gate_cell = f"{escape(gate['name'])} {badge(gate['state'])}{extra}" + (
                f' <span class="muted">{escape(note)}</span>' if note else ""
            )
        rows.append(
            f'<tr><th scope="row">{escape(s["name"])}</th><td>{badge(s["status"])}</td>'
            f"<td>{s['sessions']}</td><td>{gate_cell}</td></tr>"
        )
    return (
        f'<details class="astable"><summary>The flow as a table</summary>'
        f'<table><caption class="sr">Stages and gates of cycle {n}</caption>'
        '<thead><tr><th scope="col">stage</th><th scope="col">status</th>'
        '<th scope="col">sessions</th><th scope="col">gate after</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></details>"
    )

"""The dashboard: the control panel as one self-contained HTML page.

``api.overview`` reads a project into plain data (``sdd.usecases.overview``);
``render`` turns that data into the page and is pure: no files but its own styles and
script, no clock, and every text that comes from the project goes through
``html.escape``. The page is built here (head, header, each cycle's section, the table
of every cycle, footer) from its parts: the flow diagram (``diagram``), the cards
(``cards``, ``postmortem``) and the small pieces they share (``markup``). Styles and the
one script are inline (``assets``); nothing is loaded from the network, and nothing on
the page changes state: a person's acts stay in a person's terminal (DESIGN, "Who may do
what").
"""

from __future__ import annotations

from html import escape

from sdd import api
from sdd.web import cards, diagram, inline, postmortem
from sdd.web.markup import Link, badge, command_box, linker, prose, state_label, timestamp, tone

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def render(data: dict[str, Any], *, link: Link, live: bool = False, version: str = "") -> str:
    """The page. ``live`` adds the refresh that polls ``/state-version`` (served only)."""
    latest = data["latest"]
    title = f"{data['project']} · sdd dashboard"
    script = inline.script()
    digest = inline.script_hash()
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
        f'<link rel="icon" href="{inline.ICON}">',
        f"<style>{inline.text('dashboard.css')}</style>",
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
    out += _signing(data)
    out += _problems(data)
    if not data["cycles"]:
        out.append(
            '<section class="card empty"><h1>No cycle yet</h1><p>Open the first one:</p>'
            + command_box('sdd new "TITLE"')
            + "</section>"
        )
    for cycle in data["cycles"]:
        if not cycle.get("summary"):
            out += _cycle_section(data, cycle, link, hidden=cycle["number"] != latest)
    out += _cycles_table(data)
    out.append("</main>")
    out.append(
        '<footer class="wrap foot"><p>A read-only view of <code>.sdd/history/</code> '
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
    items = [f"<li>{escape(p['place'])}: {escape(p['what'])}</li>" for p in data["problems"]] + [
        f"<li>{escape(w)}</li>" for w in data["warnings"]
    ]
    heading = "The history has problems" if data["problems"] else "Warnings"
    colour = "red" if data["problems"] else "amber"
    note = (
        "<p>A record that was edited by hand or altered counts for nothing: "
        "the gates it touched count as not passed.</p>"
        if data["problems"]
        else ""
    )
    return [
        f'<section class="card alert t-{colour}" aria-labelledby="problems-h">'
        f'<h2 id="problems-h">{heading}</h2>{note}<ul>{"".join(items)}</ul></section>'
    ]


def _signing(data: dict[str, Any]) -> list[str]:
    """Whether the person's acts are signed: said on every page, never left out."""
    signing = data["signing"]
    unconfirmed = [a for a in signing["approvers"] if not a["confirmed"]]
    if signing["signed"] and not unconfirmed:
        return []
    colour = "amber" if signing["signed"] else "red"
    return [
        f'<section class="card alert t-{colour}" aria-labelledby="signing-h">'
        f'<h2 id="signing-h">{"Unconfirmed approvers" if signing["signed"] else "Unsigned project"}</h2>'
        f"<p>{escape(signing['note'])}</p></section>"
    ]


_PERSON_ACTS = ("gate", "gate-conditions", "walkthrough")


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
        f"opened {timestamp(info['opened'])}</p>",
        f'<h1 id="c{n}-title">{escape(info["title"])}</h1>',
        '<p class="where">'
        + badge(state)
        + (f" at <strong>{escape(where)}</strong>" if where and state == "open" else "")
        + f' <span class="muted">· {done} of {len(stages)} stages done</span></p>',
        f'<div class="bar" role="progressbar" aria-label="Stages done in cycle {n}" '
        f'aria-valuemin="0" aria-valuemax="{len(stages)}" aria-valuenow="{done}">'
        f'<span style="width:{progress}%"></span></div>',
        "</div>",
        f'<section class="next card" aria-labelledby="c{n}-next" data-kind="{escape(action["kind"])}">',
        f'<h2 id="c{n}-next">Next</h2>',
        f'<p class="summary">{prose(action["summary"])}</p>',
        command_box(action["command"], action.get("alternative")),
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
    out += diagram.flow(cycle, data["fix_stage"])
    out.append('<div class="grid">')
    out += cards.tasks(cycle)
    out.append('<div class="stack">')
    if cycle["questions"] is not None:
        out += cards.questions(cycle["questions"], link, n)
    out += cards.findings(cycle, n)
    out += cards.gates(panel, n)
    out.append("</div></div>")
    out.append('<div class="grid">')
    out += cards.timeline(cycle, link)
    out.append('<div class="stack">')
    out += cards.verify(cycle["verify"], n)
    out.append("</div></div>")
    if cycle["postmortem"]:
        out += postmortem.figures(cycle, link)
    out.append("</section>")
    return out


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
        if cycle.get("summary"):
            out.append(_summary_row(cycle))
            continue
        panel = cycle["panel"]
        info = panel["cycle"]
        n = cycle["number"]
        strip = "".join(
            f'<span class="pip t-{tone(s["status"])}" title="{escape(s["name"], quote=True)}: '
            f'{escape(state_label(s["status"]), quote=True)}"></span>'
            for s in panel["stages"]
        )
        done = sum(1 for s in panel["stages"] if s["status"] == "done")
        where = info["current_stage"] if info["state"] == "open" else None
        open_findings = sum(1 for f in cycle["findings"] if f["status"] == "open")
        out.append(
            f'<tr data-row-cycle="{n}"><th scope="row"><a href="#cycle-{n}" data-cycle-link="{n}">'
            f"{n} · {escape(info['title'])}</a></th>"
            f"<td>{badge(info['state'])}"
            + (' <span class="badge">archived</span>' if cycle.get("archived") else "")
            + (f' <span class="muted">at {escape(where)}</span>' if where else "")
            + "</td>"
            f'<td><span class="pips" role="img" aria-label="{done} of {len(panel["stages"])} stages done">'
            f"{strip}</span></td>"
            f"<td>{len(cycle['sessions'])}</td><td>{open_findings}</td>"
            f"<td>{timestamp(info['opened'])}</td></tr>"
        )
    out.append("</tbody></table></div></section>")
    return out


def _summary_row(cycle: dict[str, Any]) -> str:
    """An older cycle, drawn from what the history's checkpoint keeps of it."""
    n = cycle["number"]
    return (
        f'<tr data-row-cycle="{n}"><th scope="row">{n} · {escape(cycle["title"])}</th>'
        f"<td>{badge(cycle['state'])}"
        + (' <span class="badge">archived</span>' if cycle.get("archived") else "")
        + "</td>"
        f'<td><code class="muted">sdd status --cycle {n}</code></td>'
        f"<td>{cycle['sessions']}</td><td>{cycle['open_findings']}</td>"
        f"<td>{timestamp(cycle['opened'])}</td></tr>"
    )


# ---------------------------------------------------------------------------- one call


def page(project: api.Project, *, prefix: str = "/", live: bool = False, version: str = "") -> str:
    """Collect and render: the whole page for ``project``."""
    return render(api.overview(project), link=linker(prefix), live=live, version=version)

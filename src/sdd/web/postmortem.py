"""The post-mortem card of a closed cycle: its figures as numbers and as bar charts (time in
each stage, waiting at each gate, loops back to implementation by cause, sessions per
stage, where findings escaped from), the findings' origins, the waivers and the gate
rejections. The figures come from ``api.overview``; here they are
only summed and drawn.
"""

from __future__ import annotations

from html import escape

from sdd.web.markup import Link, doc_link, duration

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


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


def figures(cycle: dict[str, Any], link: Link) -> list[str]:
    """The card: figures, charts and rejections of the cycle's post-mortem."""
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
        ("waivers", fig["waivers"]["count"], ""),
        ("abandoned or interrupted", len(fig["abandoned"]) + len(fig["interrupted"]), ""),
        ("verify runs", verify["runs"], f"{verify['failures']} red"),
    ]
    doc = pm["document"]
    out = [
        f'<section class="card pm" aria-labelledby="c{n}-pm">',
        f'<div class="card-head"><h2 id="c{n}-pm">Post-mortem figures</h2>'
        + (f"<p>{doc_link(link, doc, 'read the post-mortem')}</p>" if doc else "")
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
    escaped = [(k, float(v)) for k, v in found["escaped_from"].items()]
    out.append(
        _bars("Findings by the stage they escaped from", f"c{n}-ch-esc", escaped, _count, "red")
    )
    out.append("</div>")
    if found["escapes"]:
        out.append('<h3>Where each finding escaped from</h3><ul class="esc">')
        out += [
            f"<li><strong>{escape(str(e['finding']))}</strong> ({escape(str(e['severity']))}), "
            f"found in {escape(str(e['found_in']))}: escaped from "
            + (
                f'{escape(str(e["escaped_from"]))} <span class="muted small">'
                f"{escape(str(e['how']))}</span>"
                if e["escaped_from"]
                else "unknown"
            )
            + "</li>"
            for e in found["escapes"]
        ]
        out.append("</ul>")
    if fig["waivers"]["list"]:
        out.append('<h3>Waivers</h3><ul class="waivers">')
        out += [
            f"<li><strong>{escape(str(w['finding']))}</strong> ({escape(str(w['severity']))}) "
            f"waived by {escape(str(w['by'] or 'a person'))}: {escape(str(w['reason']))}</li>"
            for w in fig["waivers"]["list"]
        ]
        out.append("</ul>")
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

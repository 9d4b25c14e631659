"""The cards of a cycle beside its flow: tasks on a board, the spec's open questions and
confidence, findings, the sessions as a timeline, and the latest verify evidence.
"""

from __future__ import annotations

from html import escape

from sdd.web.markup import Link, badge, doc_link, duration, timestamp, tone

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# -- tasks, questions, findings


def tasks(cycle: dict[str, Any]) -> list[str]:
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
                colour = {"high": "red", "medium": "amber", "low": "green"}.get(risk, "grey")
                chips.append(f'<span class="chip t-{colour}">risk {escape(str(t["risk"]))}</span>')
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


def questions(q: dict[str, Any], link: Link, n: int) -> list[str]:
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
        + badge("done" if met else "waiting", "met" if met else "below the threshold")
        + "</p>",
        f'<div class="bar thin" role="progressbar" aria-label="Spec confidence" aria-valuemin="0" '
        f'aria-valuemax="100" aria-valuenow="{value}"><span class="t-{"green" if met else "amber"}" '
        f'style="width:{value}%"></span><i style="left:{threshold}%"></i></div>',
    ]
    if open_ones:
        out.append('<ul class="qs">')
        for x in open_ones:
            kind = badge("blocking") if x["blocking"] else badge("minor", "non-blocking")
            out.append(f"<li><strong>{escape(x['id'])}</strong> {kind} {escape(x['text'])}</li>")
        out.append("</ul>")
        out.append(
            '<p class="muted small">A person answers in a terminal: '
            f'<code>sdd questions answer {escape(open_ones[0]["id"])} "…"</code></p>'
        )
    else:
        out.append(
            '<p class="muted">No open question in ' + doc_link(link, q["path"], q["path"]) + ".</p>"
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


def findings(cycle: dict[str, Any], n: int) -> list[str]:
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
            f"<p><strong>{escape(str(f['id']))}</strong> {badge(str(f['severity']))} "
            f"{badge(str(f['status']))}</p><p>{escape(str(f['text']))}</p>"
            f'<p class="muted small">found in {escape(str(f["stage"]))}{escaped}{closed}</p></li>'
        )
    out.append("</ul></section>")
    return out


def gates(panel: dict[str, Any], n: int) -> list[str]:
    """Every gate of the cycle: its state, who approved it (people, not keys) and the team
    rule it passes under (how many approvals, which roles)."""
    rows = panel.get("gates") or []
    out = [
        f'<section class="card gates" aria-labelledby="c{n}-g">',
        f'<div class="card-head"><h2 id="c{n}-g">Gates</h2>'
        f'<span class="count">{sum(1 for g in rows if g["state"] == "approved")} of '
        f"{len(rows)} approved</span></div>",
        '<ul class="fs">',
    ]
    for g in rows:
        who = list(g.get("approved_by") or [])
        if not who and g.get("by") and g["state"] in ("approved", "stale"):
            who = [str(g["by"].get("name", ""))]
        need = int(g.get("approvals", 1))
        roles = [str(r) for r in g.get("roles") or []]
        rule = f"{len(who)} of {need} approvals" if need > 1 else ""
        if roles:
            rule += (" · " if rule else "") + "role " + " or ".join(roles)
        by = f"approved by {', '.join(who)}" if who else "no approval yet"
        out.append(
            f'<li data-gate="{escape(str(g["name"]), quote=True)}" '
            f'data-approvals="{len(who)}" data-needed="{need}">'
            f"<p><strong>{escape(str(g['name']))}</strong> {badge(str(g['state']))}</p>"
            f'<p class="muted small">{escape(by)}'
            + (f" · {escape(rule)}" if rule else "")
            + (f" · {escape(str(g['note']))}" if g.get("note") else "")
            + "</p></li>"
        )
    out.append("</ul></section>")
    return out


# -- sessions, verify


# -- sessions, verify


def timeline(cycle: dict[str, Any], link: Link) -> list[str]:
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
    side = [s for s in sessions if s["outcome"] == "open"]
    if len(side) > 1:  # `sdd run --parallel`: each in its own worktree
        listed = ", ".join(f"{escape(s['id'])} ({escape(s['task'] or s['stage'])})" for s in side)
        out.append(
            f'<p class="running" data-running="{len(side)}">Running side by side: {listed}</p>'
        )
    out.append('<ol class="tl">')
    for s in reversed(sessions):
        what = escape(s["stage"])
        if s["task"]:
            what += f' · <span class="tid">{escape(s["task"])}</span>'
        if s["finding"]:
            what += f" · fixes {escape(s['finding'])}"
        page = doc_link(link, s["page"], s["id"], label=f"{s['id']} session page ({s['stage']})")
        outputs = ", ".join(
            doc_link(link, p if ok else None, p.removeprefix("docs/")) for p, ok in s["outputs"]
        )
        meta = [timestamp(s["started"])]
        if s["seconds"] is not None:
            meta.append(duration(s["seconds"]))
        meta.append(escape(s["agent"] or "by hand"))
        reason = (
            f'<p class="muted small">{escape(s["reason"])}</p>'
            if s["reason"] and s["outcome"] != "complete"
            else ""
        )
        out.append(
            f'<li class="t-{tone(s["outcome"])}" data-session="{escape(s["id"], quote=True)}" '
            f'data-outcome="{escape(s["outcome"], quote=True)}">'
            f'<span class="dot" aria-hidden="true"></span>'
            f'<p class="s-head"><strong class="sid">{page}</strong> {what} {badge(s["outcome"])}</p>'
            f'<p class="muted small">{" · ".join(meta)}</p>'
            + (f'<p class="outs small">outputs: {outputs}</p>' if outputs else "")
            + reason
            + "</li>"
        )
    out.append("</ol></section>")
    return out


def verify(run: dict[str, Any] | None, n: int) -> list[str]:
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
        + badge("done" if ok else "failed", "green" if ok else "red")
        + f" at <code>{escape(head)}</code> · {timestamp(str(run.get('at') or ''))}"
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
                f"<td>{badge('done' if passed else 'failed', verdict)}</td>"
                f"<td>{escape(duration(seconds) if isinstance(seconds, (int, float)) else '')}</td>"
                f'<td><code title="{escape(str(check.get("log") or ""), quote=True)}">'
                f"{escape(str(check.get('log_sha256') or '')[:12])}</code></td></tr>"
            )
        out.append("</tbody></table>")
    out.append("</section>")
    return out

"""The control panel: where a cycle is, its gates, its sessions and the one next action.

``panel`` returns plain data (the documented ``--json`` shape of `sdd status`);
``render_page`` turns it into ``docs/session-tracker.md``.
"""

from __future__ import annotations

from sdd.core.state import Cycle, ProjectState, cycle_path
from sdd.workflow.gates import Position, release_stage
from sdd.workflow.model import RELEASE_GATE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PANEL_VERSION = 1


UNSIGNED = "unsigned: an agent with a shell can pass the gates — `sdd approvers add`"
UNCONFIRMED = "unconfirmed (trust on first use)"


def signing(state: ProjectState) -> dict[str, Any]:
    """Whether a person's acts are signed here, and by whom: never left unsaid."""
    trust = state.trust
    if trust is None or not trust.signed:
        return {"signed": False, "note": UNSIGNED, "approvers": []}
    approvers = [
        {
            "principal": a.principal,
            "fingerprint": a.fingerprint,
            "confirmed": a.record in trust.confirmed,
            "recovery": a.recovery,
        }
        for a in trust.approvers.values()
    ]
    unconfirmed = [a for a in approvers if not a["confirmed"]]
    notes = [f"{a['principal']} {a['fingerprint']} {UNCONFIRMED}" for a in unconfirmed]
    if state.unseen:
        notes.append(
            f"{state.unseen} record(s) not yet seen by a person: the next approval shows and covers them"
        )
    note = "signed: " + "; ".join(notes) if notes else "signed"
    return {"signed": True, "note": note, "approvers": approvers, "unseen": state.unseen}


def stage_command(stage: str) -> str:
    return f"sdd start {stage}"


def cycle_state(cycle: Cycle, position: Position) -> str:
    if cycle.closed:
        return cycle.closed
    return "finished" if position.current is None else "open"


def next_action(
    state: ProjectState, cycle: Cycle | None, position: Position | None
) -> dict[str, Any]:
    """The single next thing to do, with the exact command to type."""
    if cycle is None or position is None:
        return {
            "kind": "new-cycle",
            "command": 'sdd new "TITLE"',
            "summary": "open the first cycle",
        }
    flag = "" if cycle is state.latest_cycle() else f" --cycle {cycle.number}"
    tampered = [p for p in state.problems if p.tamper]
    if tampered:
        # Nothing moves on over a history that was changed by hand (the way back first).
        return {
            "kind": "repair-history",
            "command": "sdd doctor",
            "summary": f"the history holds {len(tampered)} problem(s) of records changed or "
            f"removed by hand ({tampered[0].place}: {tampered[0].what}): restore it first",
        }
    session = cycle.open_session()
    if session is not None:
        return {
            "kind": "finish-session",
            "session": session.id,
            "stage": session.stage,
            "command": f"sdd done{flag}",
            "summary": f"finish session {session.id} ({session.stage}): write its outputs and "
            f"handoff in {session.page}, then run `sdd done` (or `sdd abandon`)",
        }
    if cycle.closed or position.current is None:
        return {
            "kind": "new-cycle",
            "command": 'sdd new "TITLE"',
            "summary": f"cycle {cycle.number} is {cycle_state(cycle, position)}: open the next one",
        }
    major = _major_fix(cycle, position, flag)
    if major is not None:
        return major
    blocker = position.blocking_gate(position.current)
    if blocker is not None:
        gate = blocker.gate.name
        walk = _walk_due(blocker.unmet)
        if walk is not None:
            # The person's stage was prepared: the person walks it, and decides after.
            return {
                "kind": "walkthrough",
                "gate": gate,
                "stage": blocker.gate.after,
                "command": f"sdd walkthrough{flag}",
                "alternative": f'sdd reject {gate}{flag} --reason "WHY"',
                "summary": f"a person walks the prepared {blocker.gate.after} item by item, in "
                f"their own terminal ({walk}); {gate} is decided after, as a step of its own",
            }
        if blocker.unmet:
            redo = f"sdd start {blocker.gate.after}{flag}"
            alternative = redo
            if any(u.startswith("no green") for u in blocker.unmet):
                command = "sdd verify"
            elif "confidence" in blocker.gate.requires:
                if any(u.startswith(OPEN_QUESTION) for u in blocker.unmet):
                    command = f"sdd questions{flag}"  # the person answers them there
                else:  # only a fresh spec session raises the confidence it states
                    command, alternative = redo, f'sdd reject {gate}{flag} --reason "WHY"'
            elif _uncertain_to_record(cycle, blocker.gate.after, blocker.unmet):
                # Deployment stops: the way back is the fix loop, each item a finding.
                command = f"sdd findings from-release{flag}"
            else:
                command, alternative = redo, f'sdd reject {gate}{flag} --reason "WHY"'
            return {
                "kind": "gate-conditions",
                "gate": gate,
                "stage": position.current,
                "unmet": list(blocker.unmet),
                "command": command,
                "alternative": alternative,
                "summary": f"{gate} cannot pass yet: {'; '.join(blocker.unmet)}"
                + (
                    "; record each uncertain item as a finding (the fix loop), or settle them "
                    f"with another {blocker.gate.after} session"
                    if command.startswith("sdd findings from-release")
                    else ""
                ),
            }
        if blocker.state == "stale":
            summary = (
                f"{gate} is stale: {', '.join(blocker.changed)} changed since it was approved; "
                f"a person approves the new content or rejects it"
            )
        elif blocker.tally is not None and blocker.tally.by:
            summary = (
                f"{gate} is {blocker.tally.wanting}: another approver approves it, or rejects "
                "it with a reason"
            )
        else:
            summary = f"a person decides {gate}: approve it, or reject it with a reason"
            if blocker.gate.approvals > 1 or blocker.gate.roles:
                summary += f" ({team_rule(blocker.gate.approvals, blocker.gate.roles)})"
        return {
            "kind": "gate",
            "gate": gate,
            "stage": position.current,
            "command": f"sdd approve {gate}{flag}",
            "alternative": f'sdd reject {gate}{flag} --reason "WHY"',
            "summary": summary,
        }
    stage = position.current
    if position.release_due(stage):
        return {
            "kind": "release",
            "stage": stage,
            "command": f"sdd release{flag} --tag TAG",
            "summary": "deployment is approved: record the release (and tag it), then the post-mortem",
        }
    blocking = cycle.open_blocking()
    if blocking and position.workflow.stage(stage).repeat == "per-task":
        found = blocking[0]
        return {
            "kind": "session",
            "stage": stage,
            "finding": found.id,
            "command": stage_command(stage) + flag,
            "summary": f"fix {found.id} ({found.severity}, found in {found.stage}) in a fresh "
            f"{stage} session"
            + (f"; {len(blocking) - 1} more blocking after it" if len(blocking) > 1 else ""),
        }
    return {
        "kind": "session",
        "stage": stage,
        "command": stage_command(stage) + flag,
        "summary": f"run the {stage} session in a fresh agent conversation",
    }


def team_rule(approvals: int, roles: tuple[str, ...]) -> str:
    """A gate's team rule in words: "2 approvals by different people, role product"."""
    who = f"the role {' or '.join(roles)}" if roles else ""
    if approvals == 1:
        return f"an approval by an approver with {who}" if who else "an approval"
    return f"{approvals} approvals by different people" + (f", each with {who}" if who else "")


UNCERTAIN = ": uncertain: "  # how the release-ready condition names an uncertain item
OPEN_QUESTION = "blocking question "  # how the confidence condition names an open one


def _uncertain_to_record(cycle: Cycle, stage: str, unmet: list[str]) -> bool:
    """Whether the release checklist's uncertain items are not findings yet (`sdd findings
    from-release` records those of the latest session of ``stage``)."""
    items = [u.split(UNCERTAIN, 1)[1] for u in unmet if UNCERTAIN in u]
    last = next(
        (s for s in reversed(cycle.sessions) if s.stage == stage and s.outcome == "complete"), None
    )
    if not items or last is None:
        return False
    recorded = {f.text for f in cycle.findings.values() if f.session == last.id}
    return any(" ".join(item.split()) not in recorded for item in items)


def _major_fix(cycle: Cycle, position: Position, flag: str) -> dict[str, Any] | None:
    """Once the per-task stage is done, an open major finding's fix session comes next: no
    major finding may be open when final verification starts (a person may waive it)."""
    majors = cycle.open_major()
    fixer = position.per_task_stage()
    if not majors or fixer is None or not position.done.get(fixer) or position.released:
        return None
    if position.blocking_gate(fixer) is not None:
        return None  # a gate before the fix (a stale approval) is decided first
    view = position.gate_view(RELEASE_GATE)
    if release_stage(position) is None or (view is not None and view.passed):
        return None
    found = majors[0]
    return {
        "kind": "session",
        "stage": fixer,
        "finding": found.id,
        "command": f"sdd start {fixer} --finding {found.id}{flag}",
        "alternative": f'sdd findings waive {found.id}{flag} --reason "WHY"',
        "summary": f"fix {found.id} ({found.severity}, found in {found.stage}) in a fresh "
        f"{fixer} session before final verification (or a person waives it)"
        + (f"; {len(majors) - 1} more major after it" if len(majors) > 1 else ""),
    }


def _walk_due(unmet: list[str]) -> str | None:
    """What is left of the person's walkthrough, when that is what a gate waits for."""
    from sdd.workflow.model import WALK_DUE

    for line in unmet:
        if line.startswith(WALK_DUE):
            return line[len(WALK_DUE) :].strip().partition(": `")[0].strip(" ()")
    return None


def stage_status(position: Position, cycle: Cycle, stage: str) -> str:
    session = cycle.open_session()
    if session is not None and session.stage == stage:
        return "active"
    if position.done[stage]:
        return "done"
    if stage == position.current:
        return "blocked" if position.blocking_gate(stage) else "ready"
    return "not-yet"


def stage_documents(position: Position, cycle: Cycle, name: str) -> list[str]:
    """The documents a stage writes in this cycle: its fixed outputs, and the numbered ones
    (a review, a report) of its sessions that completed or are open."""
    found: list[str] = []
    for write in position.workflow.stage(name).writes:
        if "{" not in write:
            found.append(cycle_path(cycle, write))
    for session in cycle.sessions:
        if session.stage == name and session.outcome in ("complete", "open"):
            found += [w for w in session.writes if w not in found]
    return found


def panel(
    state: ProjectState,
    cycle: Cycle | None,
    position: Position | None,
    *,
    rules: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``rules``: a change to the rules that weakens them and waits for a person, if any."""
    data: dict[str, Any] = {
        "version": PANEL_VERSION,
        "project": state.name,
        "demo": state.demo,
        "cycle": None,
        "stages": [],
        "gates": [],
        "sessions": [],
        "findings": [],
        "change": None,
        "next": next_action(state, cycle, position),
        "problems": [
            {
                "line": p.line,
                "file": p.file,
                "place": p.place,
                "record": p.record_id,
                "what": p.what,
                "tamper": p.tamper,
            }
            for p in state.problems
        ],
        "warnings": list(state.warnings),
        "signing": signing(state),
        "rules": rules,
    }
    if cycle is None or position is None:
        return data
    data["change"] = position.pending_change()
    data["findings"] = [
        {
            "id": f.id,
            "severity": f.severity,
            "stage": f.stage,
            "status": f.status,
            "text": f.text,
            "fixed_by": f.fixed_by,
            "commit": f.fixed_commit,
        }
        for f in cycle.findings.values()
    ]
    data["cycle"] = {
        "number": cycle.number,
        "slug": cycle.slug,
        "title": cycle.title,
        "state": cycle_state(cycle, position),
        "opened": cycle.opened,
        "current_stage": position.current,
        "docs": cycle.docs,
    }
    counts: dict[str, int] = {}
    for session in cycle.sessions:
        counts[session.stage] = counts.get(session.stage, 0) + 1
    for name in position.names:
        gate = position.workflow.gate_after(name)
        data["stages"].append(
            {
                "name": name,
                "status": stage_status(position, cycle, name),
                "sessions": counts.get(name, 0),
                "gate_after": gate.name if gate and gate.after in position.names else None,
                "documents": stage_documents(position, cycle, name),
            }
        )
    for view in position.gates:
        decision = view.decision
        data["gates"].append(
            {
                "name": view.gate.name,
                "after": view.gate.after,
                "state": view.state,
                "by": dict(decision.by) if decision else None,
                "at": decision.at if decision else None,
                "reason": (decision.reason if decision and decision.kind == "reject" else None),
                "changed": list(view.changed),
                "note": view.note or None,
                "unmet": list(view.unmet),
                # the team rule, and who approved under it (people, not keys)
                "approvals": view.gate.approvals,
                "roles": list(view.gate.roles),
                "approved_by": list(view.tally.by) if view.tally else [],
                # approvals recorded that the team rule does not count, each with why
                "not_counted": [
                    {"record": record, "why": why} for record, why in view.tally.not_counted
                ]
                if view.tally
                else [],
            }
        )
    for session in cycle.sessions:
        data["sessions"].append(
            {
                "id": session.id,
                "stage": session.stage,
                "task": session.task,
                "outcome": session.outcome,
                "started": session.started,
                "ended": session.ended,
                "page": session.page,
                "agent": session.agent,
                "outputs": sorted(session.outputs),
            }
        )
    return data


_MARK = {
    "done": "✔ done",
    "active": "▶ active",
    "ready": "● ready",
    "blocked": "⛔ blocked",
    "not-yet": "· not yet",
    "approved": "✔ approved",
    "waiting": "⏳ waiting",
    "rejected": "✘ rejected",
    "stale": "⚠ stale",
}


def mark(status: str) -> str:
    return _MARK.get(status, status)


def running_side_by_side(data: dict[str, Any]) -> str:
    """The open sessions when several are (each in its own worktree), or ""."""
    open_ = [s for s in data["sessions"] if s["outcome"] == "open"]
    if len(open_) < 2:
        return ""
    return ", ".join(
        f"{s['id']} ({', '.join(x for x in (s.get('task'), s.get('agent')) if x)})" for s in open_
    )


def render_page(data: dict[str, Any]) -> str:
    """``docs/session-tracker.md``: the panel as a page. Generated; never edited by hand."""
    out = [
        "<!-- Generated by sdd from .sdd/history/. Do not edit: any sdd command rewrites it;",
        "     after a merge conflict here, run `sdd status`. -->",
        "# Session tracker",
        "",
    ]
    signing = data.get("signing")
    if signing and signing["note"] != "signed":
        out += [f"**{_cell(signing['note'])}**", ""]
    cycle = data["cycle"]
    if cycle is None:
        out += ["No cycle yet.", ""]
    else:
        demo = " (demo project)" if data["demo"] else ""
        out += [
            f"**Cycle {cycle['number']}: {_cell(cycle['title'])}**{demo} — {cycle['state']}, "
            f"opened {cycle['opened']}",
            "",
            "## Stages",
            "",
            "| stage | status | sessions | gate after |",
            "|---|---|---|---|",
        ]
        for stage in data["stages"]:
            out.append(
                f"| {stage['name']} | {mark(stage['status'])} | {stage['sessions']} "
                f"| {stage['gate_after'] or ''} |"
            )
        out += ["", "## Gates", "", "| gate | state | by | when | note |", "|---|---|---|---|---|"]
        for gate in data["gates"]:
            by = gate["by"] or {}
            who = by.get("name", "")
            if by.get("kind") == "demo":
                who += " (demo)"
            if gate.get("approvals", 1) > 1 or gate.get("roles"):  # a team rule: its people
                who = ", ".join(gate.get("approved_by") or []) or who
                rule = team_rule(gate["approvals"], tuple(gate["roles"]))
                if gate["approvals"] > 1:
                    rule = f"{len(gate['approved_by'])} of {rule}"
                who = f"{who} ({rule})" if who else f"({rule})"
            note = gate["reason"] or (
                "changed: " + ", ".join(gate["changed"]) if gate["changed"] else ""
            )
            note = note or (gate["note"] or "")
            out.append(
                f"| {gate['name']} | {mark(gate['state'])} | {_cell(who)} | {gate['at'] or ''} "
                f"| {_cell(note)} |"
            )
        out += ["", "## Sessions", ""]
        running = running_side_by_side(data)
        if running:
            out += [f"Running side by side (`sdd run --parallel`): {_cell(running)}", ""]
        if data["sessions"]:
            out += [
                "| session | stage | outcome | started | ended | outputs |",
                "|---|---|---|---|---|---|",
            ]
            for session in data["sessions"]:
                page = session["page"].removeprefix("docs/")
                outputs = ", ".join(f"[{p}]({p.removeprefix('docs/')})" for p in session["outputs"])
                out.append(
                    f"| [{session['id']}]({page}) | {session['stage']} | {session['outcome']} "
                    f"| {session['started']} | {session['ended'] or ''} | {outputs} |"
                )
        else:
            out.append("None yet.")
        if data["findings"]:  # the ids the reports carry too (sdd writes them there)
            out += ["", "## Findings", "", "| finding | severity | found in | status | what |"]
            out.append("|---|---|---|---|---|")
            for found in data["findings"]:
                status = found["status"]
                if found.get("commit"):
                    status += f" by {found['fixed_by']} at {str(found['commit'])[:12]}"
                out.append(
                    f"| {found['id']} | {found['severity']} | {found['stage']} | {status} "
                    f"| {_cell(found['text'])} |"
                )
    out += rules_lines(data.get("rules"), heading="## ")
    action = data["next"]
    out += ["", "## Next", "", f"{action['summary']}:", "", f"    {action['command']}", ""]
    if data["problems"]:
        out += ["## Problems in the history", ""]
        out += [f"- {p['place']}: {p['what']}" for p in data["problems"]]
        out.append("")
    return "\n".join(out)


def rules_lines(notice: dict[str, Any] | None, *, heading: str = "") -> list[str]:
    """A pending change to the rules, in words (the tracker page; `sdd status` alike)."""
    if not notice:
        return []
    lines = [
        "",
        f"{heading}A change to the rules (the config, or what check detection finds) weakens "
        "them: it is not in force until a person accepts it",
    ]
    if heading:
        lines.append("")
    for change in notice["pending"]:
        lines.append(f"- {change['what']}" + (" (weakens)" if change["weakens"] else ""))
    lines.append(f"A person accepts it: `{notice['command']}`")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")

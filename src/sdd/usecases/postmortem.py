"""Post-mortem figures, computed from the recorded history, never from memory.

``figures`` returns the documented ``--json`` shape of `sdd postmortem`; ``render``
turns it into the Markdown that fills the post-mortem's Figures section (between
markers, so the analysis around it stays the session's).
"""

from __future__ import annotations

from sdd.core import clock, files
from sdd.core.state import Cycle, Finding, ProjectState, cycle_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.paths import ProjectPaths
    from sdd.project.project import Project
    from sdd.workflow.model import Workflow

BEGIN = "<!-- sdd:figures:begin: written by sdd from the history; rewritten by `sdd postmortem` -->"
END = "<!-- sdd:figures:end -->"
OUTCOMES = ("complete", "abandoned", "interrupted", "failed", "open")


def _seconds(start: str, end: str | None) -> float:
    if not start or not end:
        return 0.0
    return max(0.0, clock.parse_time(end) - clock.parse_time(start))


def figures(state: ProjectState, cycle: Cycle, workflow: Workflow) -> dict[str, Any]:
    names = workflow.names(discovery=cycle.discovery)
    stages: dict[str, dict[str, Any]] = {}
    for name in names:
        stages[name] = {"sessions": 0, "seconds": 0.0, **{o: 0 for o in OUTCOMES}}
    for session in cycle.sessions:
        row = stages.setdefault(
            session.stage, {"sessions": 0, "seconds": 0.0, **{o: 0 for o in OUTCOMES}}
        )
        row["sessions"] += 1
        row[session.outcome] = row.get(session.outcome, 0) + 1
        row["seconds"] += _seconds(session.started, session.ended)
    gates: dict[str, dict[str, Any]] = {}
    rejections = []
    for gate in workflow.gates:
        if gate.after not in names:
            continue
        row = {"approvals": 0, "rejections": 0, "waiting_seconds": 0.0}
        for decision in cycle.decisions:
            if decision.gate != gate.name:
                continue
            row["approvals" if decision.kind == "approve" else "rejections"] += 1
            ready = [
                s.ended
                for s in cycle.sessions
                if s.stage == gate.after
                and s.outcome == "complete"
                and s.ended
                and s.ended <= decision.at
            ]
            if ready:
                row["waiting_seconds"] += _seconds(max(ready), decision.at)
            if decision.kind == "reject":
                rejections.append(
                    {
                        "gate": gate.name,
                        "reason": decision.reason or "",
                        "to": decision.to,
                        "at": decision.at,
                    }
                )
        gates[gate.name] = row
    fix_stage = next((s.name for s in workflow.stages if s.repeat == "per-task"), "implement")
    loops = []
    for reopen in cycle.loops:
        if reopen.stage != fix_stage:
            continue
        cause = reopen.caused_by
        rejected = workflow.gate(cause) if cause else None
        loops.append(
            {
                "caused_by": rejected.after if rejected else cause,
                "source": reopen.source,
                "reason": reopen.reason,
                "at": reopen.at,
            }
        )
    found_in: dict[str, int] = {}
    escaped: dict[str, int] = {}
    escapes = []
    waived = []
    for finding in cycle.findings.values():
        found_in[finding.stage] = found_in.get(finding.stage, 0) + 1
        origin, how = escaped_from(finding, workflow, names)
        if origin:
            escaped[origin] = escaped.get(origin, 0) + 1
        escapes.append(
            {
                "finding": finding.id,
                "severity": finding.severity,
                "found_in": finding.stage,
                "escaped_from": origin,
                "how": how,
            }
        )
        if finding.status == "waived":
            waived.append(
                {
                    "finding": finding.id,
                    "severity": finding.severity,
                    "reason": finding.waive_reason or "",
                    "by": (finding.waived_by or {}).get("name", ""),
                }
            )
    runs = cycle.verify_runs
    failed_runs = [r for r in runs if not r.get("ok")]
    failed_checks: dict[str, int] = {}
    for run in failed_runs:
        for check in run.get("checks", []):
            if isinstance(check, dict) and not check.get("passed"):
                name = str(check.get("name"))
                failed_checks[name] = failed_checks.get(name, 0) + 1
    return {
        "cycle": cycle.number,
        "title": cycle.title,
        "stages": stages,
        "gates": gates,
        "rejections": rejections,
        "loops": loops,
        "abandoned": [s.id for s in cycle.sessions if s.outcome == "abandoned"],
        "interrupted": [s.id for s in cycle.sessions if s.outcome == "interrupted"],
        "failed": [s.id for s in cycle.sessions if s.outcome == "failed"],
        "findings": {
            "total": len(cycle.findings),
            "blocking": sum(1 for f in cycle.findings.values() if f.severity == "blocking"),
            "by_stage": found_in,
            "escaped_from": escaped,
            "escapes": escapes,
        },
        "waivers": {"count": len(waived), "list": waived},
        "verify": {"runs": len(runs), "failures": len(failed_runs), "failed_checks": failed_checks},
    }


# How a finding's origin was known: its report said it, its place names a stage's document,
# or it is about the code (the per-task stage wrote it); "unknown" when none of these.
HOW = {"recorded": "as recorded", "place": "by its place", "code": "the code"}


def escaped_from(finding: Finding, workflow: Workflow, names: list[str]) -> tuple[str | None, str]:
    """The earlier stage that should have caught ``finding``, and how that is known: the
    stage its report named; else the stage whose document its place (the text before its
    first `: `) names, so a QA finding about the spec escaped the spec; else, for a finding
    found after the code was written, the stage that wrote the code."""
    import re

    if finding.escaped_from:
        return finding.escaped_from, "recorded"
    if finding.stage not in names:
        return None, "unknown"
    before = names[: names.index(finding.stage)]
    place, colon, _ = finding.text.partition(": ")
    where = (place if colon else finding.text).casefold()
    words = set(re.split(r"[^a-z0-9-]+", place.casefold())) if colon else set()
    for name in reversed(before):  # the latest stage that writes it should have caught it
        documents = [w.rsplit("/", 1)[-1].casefold() for w in workflow.stage(name).writes]
        if name in words or any(
            "{" not in d and (d in where or d.removesuffix(".md") in words) for d in documents
        ):
            return name, "place"
    code = next((n for n in reversed(before) if workflow.stage(n).repeat == "per-task"), None)
    return (code, "code") if code else (None, "unknown")


def duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def render(data: dict[str, Any]) -> str:
    out = [
        "| stage | sessions | complete | abandoned | interrupted | failed | time |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in data["stages"].items():
        out.append(
            f"| {name} | {row['sessions']} | {row['complete']} | {row['abandoned']} | {row['interrupted']} "
            f"| {row['failed']} | {duration(row['seconds'])} |"
        )
    out += ["", "| gate | approvals | rejections | waiting |", "|---|---|---|---|"]
    for name, row in data["gates"].items():
        out.append(
            f"| {name} | {row['approvals']} | {row['rejections']} | {duration(row['waiting_seconds'])} |"
        )
    out += ["", f"Loops back to implementation: {len(data['loops'])}"]
    out += [f"- caused by {loop['caused_by']}: {loop['reason']}" for loop in data["loops"]]
    out += ["", f"Gate rejections: {len(data['rejections'])}"]
    out += [f"- {r['gate']} → back to {r['to']}: {r['reason']}" for r in data["rejections"]]
    found = data["findings"]
    by_stage = ", ".join(f"{k} {v}" for k, v in found["by_stage"].items()) or "none"
    escaped = ", ".join(f"{k} {v}" for k, v in found["escaped_from"].items()) or "none"
    out += [
        "",
        f"Findings: {found['total']} ({found['blocking']} blocking); found in: {by_stage}; escaped from: {escaped}",
        *(
            f"- {e['finding']} ({e['severity']}) found in {e['found_in']}, escaped from "
            + (f"{e['escaped_from']} ({HOW[e['how']]})" if e["escaped_from"] else "unknown")
            for e in found["escapes"]
        ),
        f"Waivers: {data['waivers']['count']}",
        *(
            f"- {w['finding']} ({w['severity']}) waived by {w['by'] or 'a person'}: {w['reason']}"
            for w in data["waivers"]["list"]
        ),
        f"Abandoned sessions: {', '.join(data['abandoned']) or 'none'}; interrupted: "
        f"{', '.join(data['interrupted']) or 'none'}; failed: {', '.join(data['failed']) or 'none'}",
        f"Verify runs: {data['verify']['runs']}, red: {data['verify']['failures']}"
        + (
            " (" + ", ".join(f"{k} {v}" for k, v in data["verify"]["failed_checks"].items()) + ")"
            if data["verify"]["failed_checks"]
            else ""
        ),
    ]
    return "\n".join(out)


def fill(paths: ProjectPaths, relative: str, data: dict[str, Any]) -> bool:
    """Write the figures into the post-mortem's Figures section. Returns whether it changed."""
    target = paths.inside(relative)
    text = files.read_text(target)
    if text is None:
        return False
    block = f"{BEGIN}\n{render(data)}\n{END}"
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        updated = head + block + rest.partition(END)[2]
    else:
        lines = text.split("\n")
        at = next(
            (i for i, line in enumerate(lines) if line.strip().casefold() == "## figures"), None
        )
        if at is None:
            updated = text.rstrip("\n") + "\n\n## Figures\n\n" + block + "\n"
        else:
            end = next(
                (i for i in range(at + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
            )
            updated = "\n".join([*lines[: at + 1], "", block, "", *lines[end:]])
    if updated != text:
        files.write_atomic(target, updated, display=relative)
        return True
    return False


def document_path(cycle: Cycle, workflow: Workflow) -> str | None:
    stage = workflow.by_name.get("postmortem")
    if stage is None or not stage.writes:
        return None
    return cycle_path(cycle, stage.writes[0].replace("{cycle}", cycle.slug).replace("{n}", "1"))


# How many earlier cycles a brief looks back for lessons: the cost of a brief follows the
# latest cycles, never the whole history.
LOOK_BACK = 5


def lessons(
    paths: ProjectPaths, state: ProjectState, before: int, stage: str, limit: int = 3
) -> list[str]:
    """Process changes that name ``stage`` from the post-mortems of the ``LOOK_BACK``
    cycles before ``before`` (newest first)."""
    from sdd.core.checkpoint_codec import postmortem_outputs
    from sdd.documents.markdown import parse

    found: list[str] = []
    earlier = sorted((n for n in state.cycles if n < before), reverse=True)[:LOOK_BACK]
    for number in earlier:
        for relative in postmortem_outputs(state.cycles[number]) or []:
            text = files.read_text(paths.inside(relative)) or ""
            root = parse(text)
            top = root.sections[0] if len(root.sections) == 1 else root
            section = top.find("Process changes")
            for item in section.items() if section else []:
                words = item.text.replace("/", " ").replace(".md", " ").replace(":", " ").split()
                if stage in words:
                    found.append(f"cycle {number}: {' '.join(item.text.split())[:300]}")
        if len(found) >= limit:
            break
    return found[:limit]


def report(project: Project, *, cycle: str | None = None) -> dict[str, Any]:
    """The cycle's figures from the history; also written into its post-mortem when it exists."""
    import os

    state = project.load()
    chosen = project.cycle(state, cycle)
    if chosen is None:
        from sdd.core.errors import Refused

        raise Refused("there is no cycle yet")
    workflow = project.rule_state(state).in_force.workflow
    data = figures(state, chosen, workflow)
    relative = document_path(chosen, workflow)
    data["document"] = None
    if relative and os.path.exists(project.paths.inside(relative)):
        fill(project.paths, relative, data)
        data["document"] = relative
    return data

"""The project's tools: `agents` (presets; the stages as agents' own commands),
`templates`, `doctor`, and `demo` (`mcp` is in `serve`, which imports less)."""

from __future__ import annotations

import sys

from sdd import api
from sdd.cli.output import Console, Reply
from sdd.cli.render import Style, stage_strip, status_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def agents(args: Any, console: Console) -> Reply:
    if args.action == "install":
        outcome = api.install_agents(api.open_project(), args.names, every=args.all, mcp=args.mcp)
        head = (
            f"Installed the stages for {', '.join(outcome.agents)}:"
            if outcome.agents
            else "No agent to install for; AGENTS.md has the project's instructions."
        )
        lines = [head, *_installed(outcome, "install")]
        if outcome.steps:
            lines += ["", "One step of yours for each agent to use it:"]
            lines += [f"  {title:<20} {text}" for title, text in outcome.steps]
        if outcome.agents:
            lines += [
                "",
                "Start a fresh conversation in your agent and call the next stage, e.g. "
                "sdd-spec (`sdd next` says which).",
            ]
        return Reply(outcome, "\n".join(lines))
    if args.action == "uninstall":
        outcome = api.uninstall_agents(api.open_project(), args.names, every=args.all)
        head = (
            f"Uninstalled; still installed for {', '.join(outcome.agents)}:"
            if outcome.agents
            else "Uninstalled what `sdd agents install` wrote:"
        )
        return Reply(outcome, "\n".join([head, *_installed(outcome, "uninstall")]))
    from sdd.core.errors import NotAProjectError

    try:
        project = api.open_project()
    except NotAProjectError:
        project = None
    rows = api.agent_list(project)

    def text(style: Style) -> str:
        lines = []
        for row in rows:
            mark = style("installed", "green") if row["installed"] else style("not found", "dim")
            default = style("  ← default", "blue") if row["default"] else ""
            lines.append(f"  {row['name']:<14} {mark}{default}")
        if not any(row["installed"] for row in rows):
            lines += [
                "",
                "No agent CLI found on PATH. Install one, or define your own under [agents.NAME] in",
                ".sdd/config.toml; meanwhile `sdd demo` shows the whole flow with a bundled scripted agent.",
            ]
        return "\n".join(lines)

    return Reply(rows, text)


def _installed(outcome: Any, verb: str) -> list[str]:
    lines = []
    for title, call, folder, shared in api.agent_invocations(outcome):
        where = f"in {folder}/" if folder else ""
        if shared:
            where += " (the shared folder)"
        lines.append(f"  {title:<20} {call:<22} {where}")
    groups = (
        ("created", outcome.created),
        ("updated", outcome.updated),
        ("removed", outcome.removed),
        ("entry removed from", outcome.taken_out),
        ("unchanged", outcome.unchanged),
        ("left alone (edited since sdd wrote it)", outcome.kept),
        ("left alone (already there, not written by sdd)", outcome.skipped),
    )
    for label, paths in groups:
        if not paths:
            continue
        if label == "unchanged":
            lines.append(f"  unchanged: {len(paths)} file(s)")
        elif label in ("created", "removed"):
            lines.append(f"  {label}: {_grouped(paths)}")
        else:
            lines.append(f"  {label}: {', '.join(paths)}")
    if outcome.mcp and verb == "install":
        lines.append(f"  `sdd mcp` registered in: {', '.join(sorted(set(outcome.mcp)))}")
    lines += [f"  note: {note}" for note in outcome.notes]
    lines += [f"  warning: {fix}" for fix in outcome.twice]
    return lines


def _grouped(paths: list[str]) -> str:
    """Paths, with the stage files of one folder counted rather than listed."""
    folders = api.agent_folders()
    counts: dict[str, int] = {}
    shown: list[str] = []
    for path in paths:
        folder = next((f for f in folders if path.startswith(f + "/")), None)
        if folder is None:
            shown.append(path)
            continue
        if folder not in counts:
            shown.append(folder)
        counts[folder] = counts.get(folder, 0) + 1
    return ", ".join(f"{p}/ ({counts[p]} files)" if p in counts else p for p in shown)


def templates(args: Any, console: Console) -> Reply:
    project = api.open_project()
    if args.action == "upgrade":
        result = api.templates_upgrade(project)
        lines = []
        if result.updated:
            lines.append(f"updated (you had not edited them): {', '.join(result.updated)}")
        if result.merged:
            lines.append(f"merged (your edits kept): {', '.join(result.merged)}")
        for stage, where in result.conflicts.items():
            lines.append(
                f"CONFLICT in {stage}: nothing changed in sessions/{stage}.md; the merge with conflict markers is in {where}"
            )
        if result.conflicts:
            lines.append(
                "  → resolve by hand: edit sessions/<stage>.md using that file, then run `sdd templates upgrade` again"
            )
        if not (result.updated or result.merged or result.conflicts):
            lines.append("Your templates are up to date with this version of sdd.")
        return Reply(result, "\n".join(lines), code=1 if result.conflicts else 0)
    diffs = api.templates_diff(project)
    edited = [d for d in diffs if d.state != "same"]
    text = "\n".join(f"sessions/{d.stage}.md: {d.state}\n{d.diff}".rstrip("\n") for d in edited)
    return Reply(diffs, text or "Your templates are the packaged ones.")


def doctor(args: Any, console: Console) -> Reply:
    report = api.doctor(api.open_project())

    def text(style: Style) -> str:
        lines = [f"Checked: {', '.join(report.checked)}"]
        for index, finding in enumerate(report.findings):
            colour = "red" if finding.severity == "error" else "yellow"
            lines.append(style(f"{finding.severity}: [{finding.area}] {finding.what}", colour))
            following = report.findings[index + 1] if index + 1 < len(report.findings) else None
            if following is None or following.fix != finding.fix:  # say a shared fix once
                lines.append(f"  fix: {finding.fix}")
        if not report.findings:
            lines.append(style("No problems found.", "green"))
        return "\n".join(lines)

    return Reply(report, text, code=0 if report.ok else 1)


def demo(args: Any, console: Console) -> Reply:
    import time

    begun = time.monotonic()
    target = args.directory
    # On a terminal each step shows where the cycle stands; in a log, each step once.
    strip = sys.stdout.isatty()

    def on_step(text: str, data: dict[str, Any]) -> None:
        console.say(f"✔ {text}\n    {stage_strip(data, console.style)}" if strip else f"✔ {text}")

    console.say(
        f"sdd demo: a whole cycle in {target}, every session a separate scripted agent process\n"
    )
    result = api.demo(target, on_step=on_step)

    def text(style: Style) -> str:
        panel = api.status(result.root)
        took = time.monotonic() - begun
        return (
            "\n" + status_text(panel.data, style) + "\n\n"
            f"Done in {took:.1f} s: {len(result.steps)} steps, every stage complete and every gate passed "
            "(by the demo approver: in your own projects only a person can).\n"
            f"Where to look, in {result.root}:\n"
            "  docs/session-tracker.md      the control panel as a page\n"
            "  docs/sessions/               one page per session: brief, outputs, handoff\n"
            "  docs/product-spec.md …       the documents each stage wrote\n"
            "  .sdd/history/                every event, hashed and linked; `sdd log` reads it\n"
            "Then in your own project: sdd init && sdd run"
        )

    return Reply(result, text)

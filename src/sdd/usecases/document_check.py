"""`sdd check` on a project: the documents of the cycle it works on, against their contracts
and each other (the rules themselves are ``sdd.documents.check``).

Without names it checks what is due: the documents of the current stage and of the stages
before it, and the traces between them. A later stage's documents are not yet due (still
templates, as they should be), and are listed, not failed; ``everything`` checks them too.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.paths import ProjectPaths
    from sdd.documents.check import NotDue, Report
    from sdd.documents.structures import Message
    from sdd.project.project import Project


def check(
    root: str,
    documents: list[str] | None = None,
    *,
    cycle: str | None = None,
    strict: bool = False,
    everything: bool = False,
    code: bool = False,
) -> Report:
    """The named documents, else those due at the cycle's current stage (``everything``: the
    core four and every report the cycle's sessions wrote), against their contracts and each
    other; ``strict``: warnings fail it too."""
    from sdd.core.paths import ProjectPaths
    from sdd.documents import check as rules

    paths = ProjectPaths(root)
    panel = _panel(paths, cycle)
    folder = _folder(panel)
    if documents:
        report = rules.check(paths, documents, folder)
    else:
        chosen, not_due, stage = _due(panel, folder, everything=everything)
        report = rules.check_documents(
            paths, chosen, folder, traced=None if everything else {k for k, _ in chosen}
        )
        report.due_at = stage
        report.not_due = not_due
    report.strict = strict
    if code:  # the test plan traced into the code's tests too
        report.messages += _code_messages(paths, cycle)
        report.traced_code = True
    return report


def _code_messages(paths: ProjectPaths, cycle: str | None) -> list[Message]:
    """The test cases of the cycle's done tasks that no test names, and tests naming ids that
    no test plan defines."""
    from sdd.documents import code_trace
    from sdd.project.project import Project

    project = Project(paths.root)
    state = project.load()
    chosen = project.cycle(state, cycle)
    if chosen is None:
        return []
    done = project.position(state, chosen).tasks_done
    return code_trace.for_cycle(paths, state, chosen, done)


def _panel(paths: ProjectPaths, cycle: str | None) -> dict[str, Any] | None:
    """The control panel of the cycle: read from the cache while it is valid (the history and
    the config unchanged: where a cycle stands follows from them alone), so a check need not
    fold the history; else computed from the history."""
    if cycle is None:
        from sdd.project import cache

        entry = cache.read(paths, documents=False)
        if entry is not None and _whole(entry["panel"]):
            return entry["panel"]  # type: ignore[no-any-return]
    from sdd.project.project import DocHasher, Project

    project = Project(paths.root)
    state = project.load()
    chosen = project.cycle(state, cycle)
    if chosen is None:
        return None
    return project.panel(state, chosen, DocHasher(project.paths))


def _whole(panel: Any) -> bool:
    """A panel this version writes: each stage says which documents it writes."""
    current = panel.get("cycle")
    if current is None:
        return True
    stages = panel.get("stages")
    return (
        isinstance(current, dict)
        and isinstance(current.get("docs"), str)
        and isinstance(stages, list)
        and all(isinstance(s, dict) and isinstance(s.get("documents"), list) for s in stages)
    )


def _folder(panel: dict[str, Any] | None) -> str:
    current = panel.get("cycle") if panel else None
    return current["docs"] if isinstance(current, dict) else "docs"


def _due(
    panel: dict[str, Any] | None, folder: str, *, everything: bool
) -> tuple[list[tuple[str, str]], list[NotDue], str | None]:
    """(kind, path) of the documents due, those not yet due, and the stage judged at."""
    from sdd.documents import check as rules

    current = panel.get("cycle") if panel else None
    if panel is None or not isinstance(current, dict):
        return [(k, rules.doc(k, folder)) for k in rules.CORE], [], None  # no cycle yet
    stage = current.get("current_stage")
    names = [s["name"] for s in panel["stages"]]
    reached = names.index(stage) + 1 if stage in names else len(names)
    if stage in names and panel["stages"][reached - 1].get("status") == "blocked":
        reached -= 1  # behind a gate not passed: its documents are not due until it is
    stage = names[reached - 1] if reached else None
    chosen: list[tuple[str, str]] = []
    later: dict[str, str] = {}  # path -> the later stage that writes it first
    for index, row in enumerate(panel["stages"]):
        for path in row["documents"]:
            kind = rules.kind_of(path)
            if kind is None or (kind, path) in chosen:
                continue
            if index < reached or everything:
                chosen.append((kind, path))
                later.pop(path, None)
            elif kind in rules.DOCS:  # a numbered report of a later stage is not written yet
                later.setdefault(path, row["name"])
    written = {p for _, p in chosen} | set(later)
    not_due = [rules.NotDue(path, name) for path, name in later.items()]
    for kind in rules.CORE:
        path = rules.doc(kind, folder)
        if path not in written:
            if everything:
                chosen.append((kind, path))
            else:
                not_due.append(rules.NotDue(path, None))
    order = {kind: i for i, kind in enumerate((*rules.CORE, "conventions"))}
    chosen.sort(key=lambda c: order.get(c[0], len(order)))  # the core four first, as ever
    return chosen, not_due, None if everything else stage


def document_path(project: Project, kind: str, *, cycle: str | None = None) -> str | None:
    """Where the cycle keeps a core document (spec, architecture, plan, test-plan)."""
    from sdd.documents import check as rules

    chosen = project.cycle(project.load(), cycle)
    return rules.doc(kind, chosen.docs if chosen else "docs")

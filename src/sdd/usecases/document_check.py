"""`sdd check` on a project: the documents of the cycle it works on, against their contracts
and each other (the rules themselves are ``sdd.documents.check``)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.core.paths import ProjectPaths
    from sdd.documents.check import Report
    from sdd.project.project import Project


def check(
    root: str, documents: list[str] | None = None, *, cycle: str | None = None, strict: bool = False
) -> Report:
    """Every named (or core) document against its contract, and traceability between them;
    ``strict``: warnings fail it too."""
    from sdd.core.paths import ProjectPaths
    from sdd.documents import check as rules

    paths = ProjectPaths(root)
    report = rules.check(paths, documents, _docs_folder(paths, cycle))
    report.strict = strict
    return report


def _docs_folder(paths: ProjectPaths, cycle: str | None) -> str:
    """Where the cycle keeps its documents: read from the panel cache while it is valid (the
    history unchanged), so a check need not fold the history; else from the history."""
    if cycle is None:
        from sdd.project import cache

        entry = cache.read(paths, documents=False)  # the folder follows from the history
        if entry is not None:
            current = entry["panel"].get("cycle")
            folder = current.get("docs") if isinstance(current, dict) else "docs"
            if isinstance(folder, str):
                return folder
    from sdd.project.project import Project

    project = Project(paths.root)
    chosen = project.cycle(project.load(), cycle)
    return chosen.docs if chosen else "docs"


def document_path(project: Project, kind: str, *, cycle: str | None = None) -> str | None:
    """Where the cycle keeps a core document (spec, architecture, plan, test-plan)."""
    from sdd.documents import check as rules

    chosen = project.cycle(project.load(), cycle)
    return rules.doc(kind, chosen.docs if chosen else "docs")

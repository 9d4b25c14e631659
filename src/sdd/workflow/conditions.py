"""Conditions a gate requires before a person may pass it."""

from __future__ import annotations

from sdd.core.paths import ProjectPaths
from sdd.core.state import Cycle, ProjectState
from sdd.documents import check
from sdd.workflow.model import Gate


def unmet(
    paths: ProjectPaths,
    gate: Gate,
    documents: dict[str, str | None],
    threshold: int,
    state: ProjectState | None = None,
    cycle: Cycle | None = None,
    *,
    checks: str = "",
) -> list[str]:
    """``threshold`` and ``checks`` (the verify checks' fingerprint) are the rules in force."""
    problems: list[str] = []
    for condition in gate.requires:
        if condition == "confidence":
            problems += _confidence(paths, documents, threshold)
        elif condition == "release-ready":
            problems += _release_ready(paths, documents, state, cycle, checks)
    return problems


def _confidence(paths: ProjectPaths, documents: dict[str, str | None], threshold: int) -> list[str]:
    spec_path = next((p for p in documents if check.kind_of(p) == "spec"), check.doc("spec"))
    parsed = check.parse_file(paths, spec_path, "spec")
    if parsed is None or parsed.spec is None:
        return [f"{spec_path} cannot be read as a spec (run `sdd check spec`)"]
    problems = []
    spec = parsed.spec
    if spec.confidence is None:
        problems.append(f"{spec_path} states no confidence (`Confidence: N %`)")
    elif spec.confidence < threshold:
        problems.append(
            f"the spec's confidence is {spec.confidence:g} %, below the {threshold} % threshold"
        )
    for question in spec.questions:
        if question.blocking and question.answer is None:
            problems.append(f"blocking question {question.id} is open: {question.text}")
    return problems


def _release_ready(
    paths: ProjectPaths,
    documents: dict[str, str | None],
    state: ProjectState | None,
    cycle: Cycle | None,
    checks: str,
) -> list[str]:
    from sdd.system import gitrepo
    from sdd.workflow.evidence import green_for

    problems = []
    for relative in documents:
        if check.kind_of(relative) == "release":
            parsed = check.parse_file(paths, relative, "release")
            for item in (parsed.uncertain or []) if parsed else []:
                problems.append(f"{relative}: uncertain: {item}")
    if state is not None:
        root = paths.root
        if green_for(state, root, gitrepo.dirty(root), checks) is None:
            problems.append("no green `sdd verify` at HEAD")
    for finding in cycle.open_blocking() if cycle else []:
        problems.append(f"blocking finding {finding.id} is open: {finding.text}")
    for finding in cycle.open_major() if cycle else []:  # raised after final verification began
        problems.append(f"major finding {finding.id} is open: {finding.text}")
    return problems

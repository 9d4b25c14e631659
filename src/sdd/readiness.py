"""Conditions a gate requires before a person may pass it."""

from __future__ import annotations

from sdd import check
from sdd.paths import ProjectPaths
from sdd.workflow import Gate


def unmet(
    paths: ProjectPaths, gate: Gate, documents: dict[str, str | None], threshold: int
) -> list[str]:
    problems: list[str] = []
    for condition in gate.requires:
        if condition == "confidence":
            problems += _confidence(paths, documents, threshold)
    return problems


def _confidence(paths: ProjectPaths, documents: dict[str, str | None], threshold: int) -> list[str]:
    spec_path = next((p for p in documents if check.kind_of(p) == "spec"), check.DOCS["spec"])
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

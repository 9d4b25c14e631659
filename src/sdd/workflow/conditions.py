"""Conditions a gate requires before a person may pass it."""

from __future__ import annotations

from sdd.documents import check
from sdd.workflow.model import WALK_DUE, Gate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.core.paths import ProjectPaths
    from sdd.core.state import Cycle, ProjectState, Session
    from sdd.documents.verification import Item


def unmet(
    paths: ProjectPaths,
    gate: Gate,
    documents: dict[str, str | None],
    threshold: int,
    state: ProjectState | None = None,
    cycle: Cycle | None = None,
    *,
    checks: str = "",
    walk: bool = False,
) -> list[str]:
    """``threshold`` and ``checks`` (the verify checks' fingerprint) are the rules in force;
    ``walk``: the gate follows a person's stage, which the person walks before deciding."""
    problems: list[str] = []
    if walk and state is not None and cycle is not None:
        problems += _walked(paths, gate, state, cycle)
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


def prepared_session(cycle: Cycle, stage: str) -> Session | None:
    """The latest complete session that prepared ``stage`` (a person's stage)."""
    return next(
        (s for s in reversed(cycle.sessions) if s.stage == stage and s.outcome == "complete"),
        None,
    )


def walk_items(paths: ProjectPaths, session: Session) -> list[Item]:
    from sdd.documents.verification import prepared

    items: list[Item] = []
    for relative in session.writes:
        page = prepared(paths, relative)
        items += page.items if page else []
    return items


def _walked(paths: ProjectPaths, gate: Gate, state: ProjectState, cycle: Cycle) -> list[str]:
    session = prepared_session(cycle, gate.after)
    if session is None or session.id in state.walks_ended:
        return []
    items = walk_items(paths, session)
    given = state.verdicts.get(session.id, {})
    decided = sum(1 for i in items if i.id in given)
    if items and decided == len(items):
        left = "every item decided; the problems no item covers are still to ask"
    else:
        left = f"{decided} of {len(items)} items decided"
    return [f"{WALK_DUE} ({session.id}: {left}): `sdd walkthrough`"]


def walk_digest(state: ProjectState, session: str) -> str:
    """What the walk of ``session`` decided: its verdicts and the problems the person raised,
    as one hash. The walk's end and the approval after it carry it, so that their signatures
    cover exactly these verdicts."""
    import json

    from sdd.core.digest import sha256_hex

    data = {
        "session": session,
        "verdicts": sorted([i, v, n] for i, (v, n) in state.verdicts.get(session, {}).items()),
        "problems": [list(p) for p in state.walk_problems.get(session, [])],
    }
    text = json.dumps(data, sort_keys=True, ensure_ascii=False)
    return sha256_hex(b"sdd-walk-1\n" + text.encode("utf-8", "surrogatepass"))

"""Traceability into the code (`sdd check --code`): each test case of a done task is named
by a test, and no test names a test case that no test plan defines.

A test names a case by its id anywhere in a test file: the test's name (`test_tc_3_empty`,
`TestTC3Empty`), its docstring or a comment (`TC-3`). Test files are the project's files
outside ``docs/`` and ``.sdd/`` that live under a test folder or are named like tests.
"""

from __future__ import annotations

import re

from sdd.core.structs import dataclass, field
from sdd.documents.scope import OUTSIDE_DOCS
from sdd.documents.structures import Case, Message, Task
from sdd.system import gitrepo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.core.paths import ProjectPaths
    from sdd.core.state import Cycle, ProjectState

# `TC-3`, `TC_3`, `tc3`, `test_tc_3_…`, `TestTC3…`; not `etc3` or `RTC-3`.
CASE_IN_CODE = re.compile(r"(?:(?<![A-Z0-9])TC|(?<![A-Za-z0-9])[Tt]c)[-_]?([1-9][0-9]*)(?![0-9])")
TEST_FOLDERS = {"test", "tests", "testing", "spec", "specs", "__tests__", "t"}
TEST_FILE = re.compile(
    r"^(test_.+|test\..+|.+_test\.[^.]+|.+[._-](test|spec)\.[^.]+|.+Tests?\.[^.]+|.+_spec\.[^.]+)$"
)
MAX_BYTES = 2 * 1024 * 1024


@dataclass
class Named:
    """Where the tests name test cases: id → [(path, line)]."""

    places: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def is_test_file(relative: str) -> bool:
    if relative.startswith(OUTSIDE_DOCS):
        return False
    *folders, name = relative.split("/")
    return bool(TEST_FOLDERS & {f.casefold() for f in folders}) or bool(TEST_FILE.match(name))


def named(paths: ProjectPaths) -> Named:
    """Every test case id the project's test files name, with where."""
    found = Named()
    for relative in gitrepo.listed_files(paths.root):
        if not is_test_file(relative):
            continue
        try:
            with open(paths.inside(relative), "rb") as handle:
                data = handle.read(MAX_BYTES + 1)
        except OSError:
            continue
        if len(data) > MAX_BYTES or b"\0" in data:
            continue  # not a test's source
        text = data.decode("utf-8", "replace")
        for number, line in enumerate(text.splitlines(), start=1):
            for match in CASE_IN_CODE.finditer(line):
                ident = f"TC-{match.group(1)}"
                found.places.setdefault(ident, []).append((relative, number))
    return found


def messages(
    paths: ProjectPaths,
    tests_path: str,
    cases: list[Case],
    tasks: list[Task],
    done: set[str],
    known: set[str],
) -> list[Message]:
    """What `sdd check --code` reports: the test cases of the done tasks that no test names
    (at the test plan's ``tests_path``), and tests naming an id outside ``known`` (every test
    plan's ids)."""
    from sdd.documents.check import task_cases

    found = named(paths)
    out: list[Message] = []
    owners: dict[str, list[str]] = {}
    for task in tasks:
        if task.id in done:
            for case in task_cases(task, cases):
                owners.setdefault(case.id, []).append(task.id)
    for case in cases:
        if case.id in owners and case.id not in found.places:
            out.append(
                Message(
                    tests_path,
                    case.line,
                    "error",
                    f"{case.id} ({case.title}) of done task {', '.join(owners[case.id])} is named "
                    f"by no test: put `{case.id}` in the name, docstring or a comment of the test "
                    "that checks it",
                )
            )
    for ident, places in sorted(found.places.items(), key=lambda item: int(item[0][3:])):
        if ident in known:
            continue
        for relative, line in places:
            out.append(
                Message(relative, line, "error", f"names {ident}, which no test plan defines")
            )
    return out


def for_cycle(
    paths: ProjectPaths, state: ProjectState, cycle: Cycle, done: set[str] | None = None
) -> list[Message]:
    """`messages` for one cycle: its test plan, its approved plan's tasks (the plan as written
    before an approval), the tasks done (by default: those a session completed), and the ids
    of every cycle's test plan."""
    from sdd.documents import check

    tests_path = check.doc("test-plan", cycle.docs)
    parsed = check.parse_file(paths, tests_path, "test-plan")
    cases = (parsed.cases or []) if parsed else []
    tasks = check.approved_tasks(paths, cycle)
    if tasks is None:
        plan = check.parse_file(paths, check.doc("plan", cycle.docs), "plan")
        tasks = (plan.tasks or []) if plan else []
    if done is None:
        done = {s.task for s in cycle.sessions if s.task and s.outcome == "complete"}
    known = {c.id for c in cases}
    for root in {c.docs for c in state.cycles.values()} - {cycle.docs}:
        other = check.parse_file(paths, check.doc("test-plan", root), "test-plan")
        known |= {c.id for c in (other.cases or [])} if other else set()
    return messages(paths, tests_path, cases, tasks, done, known)

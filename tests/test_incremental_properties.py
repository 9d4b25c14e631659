"""The checkpoint (issue 21), property-tested with hypothesis: for random histories and random
appends, edits, truncations, removals and merged-in segments, the state a command folds from
the checkpoint and the records appended since equals a full fold of the history (and `log
--limit`, which reads only the newest files, shows what the whole history does), and every
change to what the checkpoint covers sends the next load to a full fold (``fold_kind``), which
detects what it detects today (an edited record is still tampering).

In-process through ``Project`` (a command's load is ``Project.load``): each example copies one
project made by the installed `sdd init`, then rewrites its history as an agent with a shell
can, between loads.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import history_files, init_project
from sdd.core import history, structs
from sdd.core.checkpoint_codec import SHELF
from sdd.core.state import ProjectState
from sdd.project.project import Project
from sdd.usecases import log

PROPERTY = settings(
    deadline=None,
    database=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# What a record appended may be: real kinds the fold reads, with the fields sdd writes.
KINDS = st.sampled_from(
    ["answer", "finding", "start", "end", "launch", "exit", "note", "open", "verify"]
)
EDITS = st.sampled_from(["edit", "truncate", "remove", "merge"])
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.lists(KINDS, min_size=1, max_size=4)), st.tuples(EDITS)
    ),
    min_size=1,
    max_size=6,
)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_project(tmp_path_factory.mktemp("incremental"))


def entry(kind: str, n: int) -> tuple[Any, dict[str, Any]]:
    session = f"S-{9000 + n // 3:04d}"
    # Three cycles, so that a load from the checkpoint decodes some cycles' parts and not
    # others, and a record about an older cycle (a session's end) decodes that one; each on
    # a shelf of its own (``checkpoint_codec.SHELF`` cycles a shelf), so that a load reads
    # some shelves and not others, and a write names an unread shelf again.
    cycle = (1, 1 + SHELF, 1 + 2 * SHELF)[(n // 2) % 3]
    return {
        "open": (
            "cycle.open",
            {"cycle": cycle, "title": f"Cycle {cycle}", "slug": f"c{cycle}", "discovery": False},
        ),
        "verify": (
            "verify.run",
            {"cycle": cycle, "session": session, "ok": n % 2 == 0, "checks": []},
        ),
        "answer": ("question.answer", {"cycle": cycle, "question": f"Q{n}", "answer": "yes"}),
        "finding": (
            "finding.add",
            {
                "cycle": cycle,
                "finding": f"F-{n}",
                "severity": "minor",
                "stage": "spec",
                "text": "x",
            },
        ),
        "start": (
            "session.start",
            {
                "session": session,
                "cycle": cycle,
                "stage": "spec",
                "page": f"docs/sessions/{session}-spec.md",
                "head": None,
                "dirty": {},
                "agent": "test",
                "writes": [],
                "task": None,
            },
        ),
        "end": (
            "session.end",
            {
                "session": session,
                "cycle": cycle,
                "outcome": "complete",
                "head": None,
                "outputs": {},
            },
        ),
        "launch": ("session.launch", {"session": session, "command": ["agent"], "log": None}),
        "exit": ("session.exit", {"session": session, "exit_code": 0}),
        "note": ("note.test", {"n": n}),
    }[kind]


def normal(state: ProjectState) -> Any:
    """The state as compared: the trust walk's coverage of signatures (a full fold's only,
    read by the approval screen's own full load) and the protected branch's ids aside."""
    trust = state.trust
    assert trust is not None
    kept = structs.replace(trust, covered=set(), confirmed=frozenset())
    return structs.replace(state, trust=kept)


def full_state(root: Path) -> ProjectState:
    project = Project(str(root))
    return project.state_of(history.load(project.paths))


def load(root: Path) -> tuple[ProjectState, str]:
    project = Project(str(root))  # a new command: a new process's Project
    state = project.load()
    return state, project.fold_kind


def rewrite(root: Path, how: str, n: int) -> bool:
    """Change what a checkpoint covers, as an agent with a shell can; False when there is
    nothing to change."""
    files = history_files(root)
    target = files[-1]
    lines = target.read_bytes().splitlines(keepends=True)
    if how == "edit":
        edited = lines[-1].replace(b'"type":"', b'"type":"x', 1)
        if edited == lines[-1]:
            return False
        target.write_bytes(b"".join([*lines[:-1], edited]))
    elif how == "truncate":
        if len(lines) < 2:
            return False
        target.write_bytes(b"".join(lines[:-1]))
    elif how == "remove":
        if len(files) < 2:
            return False
        target.unlink()
    else:  # a segment another branch wrote, forked off the first record, merged in
        held = history.load(Project(str(root)).paths).records
        if not held:
            return False  # every record edited away: nothing to fork off
        first = held[0]
        record = history.new_record(
            "note.test", {"n": n}, parents=[first["hash"]], at=history.clock.now()
        )
        name = "01A0000000000000000000000" + "ABCDEFGHJK"[n % 10] + ".jsonl"
        (target.parent / name).write_bytes(history.line_of(record))
    return True


@PROPERTY
@given(steps=STEPS)
def test_incremental_state_equals_a_full_fold(
    base: Path, tmp_path_factory: pytest.TempPathFactory, steps: list[Any]
) -> None:
    root = tmp_path_factory.mktemp("example") / "project"
    shutil.copytree(base, root, symlinks=True)
    shutil.rmtree(root / ".git")  # the graph and the checkpoint alone, no commit to compare
    paths = Project(str(root)).paths
    load(root)  # the first command: a full fold, and the checkpoint
    n = 0
    for step in steps:
        if step[0] == "append":
            if history.load(paths).missing:
                continue  # appended after a gap: every load walks the whole graph
            with history.locked(paths):
                history.append(paths, [entry(kind, n + i) for i, kind in enumerate(step[1])])
            n += len(step[1])
            state, kind = load(root)
            assert kind == "incremental"
        else:
            if not rewrite(root, step[0], n):
                continue
            n += 1
            state, kind = load(root)
            assert kind == "full", f"{step[0]} of what the checkpoint covers went unnoticed"
            if step[0] == "edit":
                assert any(p.tamper for p in state.problems)  # still tampering
        assert normal(state) == normal(full_state(root))
        # `log --limit` reads only the files that hold the newest records: the same entries
        project = Project(str(root))
        whole = log.entries(history.load(paths).records, limit=n % 5 + 1)
        assert log.listing(project, limit=n % 5 + 1) == whole
        # and the checkpoint it wrote continues: nothing new is a cheap, equal load (none
        # is made of a history with records missing: each load walks it whole)
        again, kind = load(root)
        assert kind == ("full" if history.load(paths).missing else "incremental")
        assert normal(again) == normal(state)


@pytest.mark.parametrize("damage", ["garbage", "empty", "foreign"])
def test_a_damaged_or_foreign_checkpoint_is_ignored(
    base: Path, tmp_path: Path, damage: str
) -> None:
    root = tmp_path / "project"
    shutil.copytree(base, root, symlinks=True)
    project = Project(str(root))
    project.load()
    path = project.checkpoint_path()
    assert os.path.exists(path)
    import marshal

    data = {
        "garbage": b"\x00not marshal",
        "empty": b"",
        "foreign": marshal.dumps({"version": 999, "state": "anything"}),
    }[damage]
    Path(path).write_bytes(data)
    state, kind = load(root)
    assert kind == "full"
    assert normal(state) == normal(full_state(root))


def _cycles(root: Path, count: int) -> None:
    """``count`` more cycles, each opened and given a session, as `sdd` records them."""
    paths = Project(str(root)).paths
    entries = []
    for number in range(2, count + 2):
        session = f"S-{8000 + number:04d}"
        entries.append(
            (
                "cycle.open",
                {"cycle": number, "title": f"C{number}", "slug": f"c{number}", "discovery": False},
            )
        )
        start = dict(entry("start", 0)[1], session=session, cycle=number)
        start["page"] = f"docs/sessions/{session}-spec.md"
        entries.append(("session.start", start))
    with history.locked(paths):
        history.append(paths, entries)


def _shelves(project: Project) -> list[Any]:
    import marshal

    with open(project.checkpoint_path(), "rb") as handle:
        return list(marshal.loads(handle.read())["cycles"])


def test_a_long_history_keeps_its_cycles_on_shelves(base: Path, tmp_path: Path) -> None:
    """200 cycles: the head names four shelves, a load reads only the shelves it needs and
    equals a full fold, a write names the shelves it did not read again as they were, and a
    shelf rewritten under its name is refused once and then folded from the history."""
    root = tmp_path / "project"
    shutil.copytree(base, root, symlinks=True)
    _cycles(root, 200)
    project = Project(str(root))
    project.load()
    before = _shelves(project)
    assert len(before) == 4 and sum(len(s[1]) for s in before) == 201
    state, kind = load(root)
    assert kind == "incremental"
    lazy = [c for c in state.cycles.values() if set(c.__dict__) == {"number", "_part"}]
    assert len(lazy) >= 2 * SHELF  # the older shelves were not read
    assert normal(state) == normal(full_state(root))
    # A record about the newest cycle: the older shelves are named again, unchanged.
    with history.locked(project.paths):
        kind_of, fields = entry("finding", 1)
        history.append(project.paths, [(kind_of, {**fields, "cycle": 201})])
    after_project = Project(str(root))
    after_project.load()
    after = _shelves(after_project)
    assert [s[0] for s in after[:3]] == [s[0] for s in before[:3]]
    assert after[3][0] != before[3][0]
    # An agent rewrites an old shelf under its own name: the command that reads it is
    # refused with a message that names the next step, and the next folds the history.
    folder = Path(after_project.checkpoint_path()).with_suffix(".parts")
    shelf = folder / f"{after[0][0]}.part"
    import marshal

    entries = marshal.loads(shelf.read_bytes())
    entries[0]["title"] = "forged"
    shelf.write_bytes(marshal.dumps(entries))
    state, kind = load(root)
    assert kind == "incremental"
    from sdd.core.errors import SddError

    with pytest.raises(SddError, match=r"checkpoint in \.sdd/cache changed") as refused:
        _ = state.cycles[1].title
    assert "run the command again" in str(refused.value.hint)
    state, kind = load(root)
    assert kind == "full" and state.cycles[1].title != "forged"
    assert normal(state) == normal(full_state(root))

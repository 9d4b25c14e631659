"""Concurrency: many processes change the state at once. Nothing is lost or duplicated,
ids are unique and strictly increasing in the file, and the derived state is exactly
what the same changes give when made one after the other."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import threading
from collections import Counter
from pathlib import Path

from fault_helpers import (
    CHANGER,
    PYTHON,
    derived_state,
    history_bytes,
    json_lines,
    normalised,
    operation,
)
from helpers import run, sdd_json

TESTS = str(Path(__file__).parent)


def _assert_well_formed(raw: bytes, before: list[dict[str, object]]) -> list[dict[str, object]]:
    """Whole lines only; the old records untouched; unique ids rising in file order, each
    record chained to the one before it."""
    assert raw.endswith(b"\n"), "the history ends inside a record"
    records = json_lines(raw)
    assert records[: len(before)] == before, "records written before the run were changed"
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(ids), "two records share an id"
    for previous, record in itertools.pairwise(records):
        assert record["id"] > previous["id"], "ids do not rise in file order"
        follows = (
            record.get("parents") == [previous["hash"]]
            if record["v"] == 2
            else record["prev"] == previous["id"]
        )
        assert follows, "a record does not follow the one before it"
    return records


def _positions(root: Path) -> dict[str, str]:
    """Each record id -> its place in fold order."""
    ids = sorted(str(r["id"]) for r in json_lines(history_bytes(root)))
    return {record_id: f"#{n}" for n, record_id in enumerate(ids)}


def _replay(root: Path, operations: list[tuple[str, dict[str, object]]]) -> None:
    """The same changes made one after the other by a single writer."""
    from sdd.core import history
    from sdd.project.project import Project

    project = Project(str(root))
    with history.locked(project.paths):
        history.append(project.paths, operations)


def test_eight_processes_making_200_state_changes_each_equal_a_sequential_replay(
    project: Path, work: Path
) -> None:
    writers, count = 8, 200
    replay_root = work / "replay"
    shutil.copytree(project, replay_root, symlinks=True)
    before = json_lines(history_bytes(project))
    go = work / "go"
    procs = [
        subprocess.Popen(
            [PYTHON, "-c", CHANGER, str(project), f"w{w}", str(count), str(go), TESTS],
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(writers)
    ]
    go.write_text("go")
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err

    records = _assert_well_formed(history_bytes(project), before)
    new = records[len(before) :]
    ops = [str(r["op"]) for r in new]
    issued = [f"w{w}:{n}" for w in range(writers) for n in range(count)]
    assert Counter(ops) == Counter(issued), "a change was lost or recorded twice"
    for w in range(writers):  # each writer's changes in the order it made them
        mine = [int(op.split(":")[1]) for op in ops if op.startswith(f"w{w}:")]
        assert mine == list(range(count))
    for record in new:  # each record holds exactly the change its writer made
        writer, n = str(record["op"]).split(":")
        kind, fields = operation(writer, int(n))
        assert record["type"] == kind
        assert {k: record[k] for k in fields} == fields

    # the same changes, one after the other, in the order the file holds them
    _replay(replay_root, [operation(op.split(":")[0], int(op.split(":")[1])) for op in ops])
    concurrent, _ = derived_state(project)
    sequential, _ = derived_state(replay_root)
    assert concurrent["problems"] == [] and concurrent["warnings"] == []
    assert len(concurrent["cycles"][1]["findings"]) == writers * count // 4
    assert concurrent == sequential

    # and the control panel shows the same
    panels = [sdd_json("status", cwd=root) for root in (project, replay_root)]
    assert panels[0]["problems"] == [] and panels[0]["warnings"] == []
    positions = [_positions(root) for root in (project, replay_root)]
    assert normalised(panels[0], positions[0]) == normalised(panels[1], positions[1])


def test_four_command_lines_adding_findings_at_once_equal_a_sequential_replay(
    project: Path, work: Path
) -> None:
    """The real command: 4 × 8 `sdd findings add` at once. Each finding gets its own
    number (they are counted under the lock), none is lost, and the result is what the
    same commands give one after the other."""
    lanes, count = 4, 8
    replay_root = work / "replay"
    shutil.copytree(project, replay_root, symlinks=True)
    before = json_lines(history_bytes(project))
    results: dict[str, tuple[int, str, str]] = {}

    def lane(index: int) -> None:
        for n in range(count):
            text = f"lane {index} problem {n}"
            result = run(
                "findings", "add", text, "--severity", "minor", "--stage", "qa", cwd=project
            )
            results[text] = (result.returncode, result.stdout, result.stderr)

    threads = [threading.Thread(target=lane, args=(i,)) for i in range(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(results) == lanes * count
    numbers = []
    for text, (code, out, err) in results.items():
        assert code == 0, (text, err)
        match = re.search(r"\bF-(\d+) recorded", out)
        assert match, out
        numbers.append(int(match.group(1)))
    assert sorted(numbers) == list(range(1, lanes * count + 1)), "two findings got one number"

    records = _assert_well_formed(history_bytes(project), before)
    added = [r for r in records[len(before) :] if r["type"] == "finding.add"]
    assert len(added) == lanes * count
    assert sorted(r["text"] for r in added) == sorted(results)
    for record in added:  # the number a command printed is the one it recorded
        assert f"{record['finding']} recorded" in results[str(record["text"])][1]

    from sdd.project.project import Project
    from sdd.usecases import findings

    replay = Project(str(replay_root))
    for record in added:
        findings.add(replay, findings.Raised("minor", str(record["text"])), stage="qa")
    concurrent, _ = derived_state(project)
    sequential, _ = derived_state(replay_root)
    assert concurrent == sequential
    listed = [sdd_json("findings", cwd=root) for root in (project, replay_root)]
    assert listed[0] == listed[1]
    assert len({f["id"] for f in listed[0]}) == lanes * count
    assert json.dumps(listed[0]).count("lane ") == lanes * count

"""The history file: crash-cut records, broken and edited records, union merges of two
git branches, and eight processes writing at once."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from helpers import (
    commit_all,
    gate_of,
    git,
    history_files,
    history_lines,
    history_records,
    newest_segment,
    person_runs,
    run,
    sdd_json,
    start,
    status,
)


def _history(root: Path) -> Path:
    """The segment sdd writes to now."""
    return newest_segment(root)


def _name(root: Path) -> str:
    return str(_history(root).relative_to(root))


def _locate(root: Path, kind: str) -> tuple[Path, int]:
    """The file and the index of the line that holds the first record of ``kind``."""
    for path in history_files(root):
        for index, line in enumerate(path.read_bytes().splitlines()):
            if json.loads(line)["type"] == kind:
                return path, index
    raise AssertionError(f"no {kind} record")


def test_a_record_cut_short_at_the_end_loads_with_a_warning(project: Path) -> None:
    start(project, "spec")
    complete = _history(project).read_bytes()
    count = len(complete.splitlines())
    cut = b'{"id":"01JCRASH0000000000000000","v":1,"type":"session.end","at":"2026-'
    _history(project).write_bytes(complete + cut)

    data = status(project)
    assert data["problems"] == []
    assert len(data["warnings"]) == 1
    warning = data["warnings"][0]
    assert f"{_name(project)}:{count + 1}" in warning and "cut short" in warning
    assert data["sessions"][0]["outcome"] == "open", "the cut record is ignored"
    text = run("status", cwd=project)
    assert text.returncode == 0
    assert "cut short" in text.stdout + text.stderr
    assert sdd_json("next", cwd=project)["kind"] == "finish-session"
    log = run("log", cwd=project)
    assert log.returncode == 0

    # the next command writes after the last complete record; all loads cleanly
    result = run("abandon", "--reason", "the machine crashed", cwd=project)
    assert result.returncode == 0, result.stderr
    raw = _history(project).read_bytes()
    assert raw.startswith(complete)
    assert raw.endswith(b"\n")
    assert b"01JCRASH" not in raw
    records = [json.loads(line) for line in raw.splitlines()]
    assert len(records) == count + 1
    assert records[-1]["type"] == "session.end"
    assert records[-1]["parents"] == [records[-2]["hash"]]
    data = status(project)
    assert data["warnings"] == [] and data["problems"] == []
    assert data["sessions"][0]["outcome"] == "abandoned"


def test_a_broken_record_in_the_middle_is_an_error_naming_file_and_line(project: Path) -> None:
    start(project, "spec")
    first = history_files(project)[0]
    name = str(first.relative_to(project))
    lines = first.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 3
    lines[1] = b'{"id": "01J, this is not json\n'
    first.write_bytes(b"".join(lines))
    for args in (["status"], ["next"], ["log"], ["start"], ["done"]):
        result = run(*args, cwd=project)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert f"{name}:2:" in result.stderr, result.stderr
    error = sdd_json("status", cwd=project, expect=1)
    assert f"{name}:2:" in error["message"]


def test_a_record_that_is_not_an_object_or_has_no_id_is_an_error(project: Path) -> None:
    raw = _history(project).read_bytes()
    _history(project).write_bytes(b"[1, 2, 3]\n" + raw)
    result = run("status", cwd=project)
    assert result.returncode == 1
    assert f"{_name(project)}:1:" in result.stderr
    _history(project).write_bytes(raw + b'{"type": "note", "v": 1}\n')
    result = run("status", cwd=project)
    assert result.returncode == 1
    assert f"{_name(project)}:{len(raw.splitlines()) + 1}:" in result.stderr


def test_an_edited_record_is_flagged_and_an_edited_approval_does_not_count(project_at) -> None:  # type: ignore[no-untyped-def]
    root = project_at("architecture")
    path, index = _locate(root, "gate.approve")
    assert gate_of(status(root), "spec-approval")["state"] == "approved"

    original = path.read_bytes().splitlines(keepends=True)
    lines = list(original)
    forged = json.loads(lines[index])
    forged["by"]["name"] = "Mallory"
    lines[index] = json.dumps(forged, separators=(",", ":")).encode() + b"\n"
    path.write_bytes(b"".join(lines))

    data = status(root)
    flagged = [p for p in data["problems"] if p["line"] == index + 1 and p["record"]]
    assert flagged, data["problems"]
    assert flagged[0]["record"] == forged["id"]
    assert "hash" in flagged[0]["what"]
    assert gate_of(data, "spec-approval")["state"] != "approved"
    assert "Mallory" not in json.dumps(data)
    assert run("start", "architecture", cwd=root).returncode == 3
    text = run("status", cwd=root)
    assert text.returncode == 0
    assert f"{path.relative_to(root)}:{index + 1}" in text.stdout

    # a record deleted from the middle is noticed: the one after it names a missing parent
    middle = index - 1
    assert 0 < middle < len(original) - 1
    path.write_bytes(b"".join(original[:middle] + original[middle + 1 :]))
    data = status(root)
    assert any(p["line"] == middle + 1 and "missing" in p["what"] for p in data["problems"]), data[
        "problems"
    ]


def _append_notes(root: Path, writer: str, count: int) -> None:
    code = textwrap.dedent(
        f"""
        from sdd.project.project import Project
        from sdd.core import history
        p = Project({str(root)!r})
        for i in range({count}):
            with history.locked(p.paths):
                history.append(p.paths, [("note.test", {{"n": i, "writer": {writer!r}}})])
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_histories_of_two_branches_merge_by_union(project: Path) -> None:
    root = project
    base = set(history_lines(root))

    git("checkout", "-q", "-b", "left", cwd=root)
    session = start(root, "spec")
    commit_all(root, "left: spec session started")
    left = set(history_lines(root)) - base
    assert len(left) == 1

    git("checkout", "-q", "main", cwd=root)
    git("checkout", "-q", "-b", "right", cwd=root)
    _append_notes(root, "right", 5)
    code, shown = person_runs(root, "abandon", "--whole-cycle", "--reason", "moved to another team")
    assert code == 0, shown
    commit_all(root, "right: notes and the cycle dropped")
    right = set(history_lines(root)) - base
    assert len(right) == 6

    git("checkout", "-q", "left", cwd=root)
    git("merge", "--no-edit", "right", cwd=root, check=False)
    conflicted = set(git("diff", "--name-only", "--diff-filter=U", cwd=root).stdout.split())
    # the two sides wrote their own segments: a plain merge, no conflict in .sdd/; only the
    # generated tracker page may conflict, and any sdd command writes it again (DESIGN:
    # "resolved by running `sdd status`")
    assert not any(name.startswith(".sdd/") for name in conflicted), conflicted
    assert conflicted <= {"docs/session-tracker.md"}, conflicted
    assert all(b"<<<<<<<" not in path.read_bytes() for path in history_files(root))

    lines = history_lines(root)
    assert len(lines) == len(set(lines)) == len(base) + len(left) + len(right)
    assert set(lines) == base | left | right
    data = status(root)
    tracker = (root / "docs" / "session-tracker.md").read_text(encoding="utf-8")
    assert "<<<<<<<" not in tracker and ">>>>>>>" not in tracker
    assert "abandoned" in tracker
    commit_all(root, "merge right into left")
    assert git("status", "--porcelain", cwd=root).stdout == ""
    assert data["problems"] == [] and data["warnings"] == []
    assert data["cycle"]["state"] == "abandoned"
    assert [s["id"] for s in data["sessions"]] == [session["session"]]
    entries = sdd_json("log", cwd=root)
    assert len(entries) == len(lines)
    assert sum(1 for e in entries if e["type"] == "note.test") == 5
    assert {e["id"] for e in entries} == {json.loads(line)["id"] for line in lines}

    # the order of the records in the files does not matter (a copy outside git, so that
    # the files need not match a commit)
    other = root.parent / "other-order"
    shutil.copytree(root, other, symlinks=True)
    shutil.rmtree(other / ".git")
    ordered = [ln for ln in lines if ln in base] + sorted(right) + sorted(left)
    assert ordered != lines
    for path in history_files(other):
        path.unlink()
    (other / ".sdd" / "history" / "01A0000000000000000000000Z.jsonl").write_bytes(
        b"".join(ln + b"\n" for ln in ordered)
    )
    assert status(other) == data
    assert sdd_json("log", cwd=other) == entries


WRITER = textwrap.dedent(
    """
    import os, sys, time
    from sdd.project.project import Project
    from sdd.core import history
    root, writer, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    p = Project(root)
    while not os.path.exists(go):
        time.sleep(0.001)
    for i in range(count):
        with history.locked(p.paths):
            history.append(p.paths, [("note.test", {"n": i, "writer": writer})])
    """
)


def test_eight_processes_recording_at_once_lose_nothing(project: Path) -> None:
    writers, count = 8, 200
    before = history_records(project)
    go = project.parent / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(project), f"w{w}", str(count), str(go)])
        for w in range(writers)
    ]
    go.write_text("go")
    for proc in procs:
        assert proc.wait(timeout=120) == 0

    raw = b"".join(path.read_bytes() for path in history_files(project))
    assert raw.endswith(b"\n")
    records = [json.loads(line) for line in raw.splitlines()]
    assert records[: len(before)] == before
    notes = [r for r in records if r["type"] == "note.test"]
    assert len(notes) == writers * count
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(ids)
    pairs = [(r["writer"], r["n"]) for r in notes]
    assert sorted(pairs) == sorted((f"w{w}", n) for w in range(writers) for n in range(count))
    # each writer's records are in its own order, and every record follows the one before it
    for w in range(writers):
        assert [r["n"] for r in notes if r["writer"] == f"w{w}"] == list(range(count))
    for previous, record in itertools.pairwise(records[len(before) :]):
        assert record["parents"] == [previous["hash"]]
        assert record["id"] > previous["id"]

    data = status(project)
    assert data["problems"] == [] and data["warnings"] == []
    assert data["cycle"]["number"] == 1
    assert len(sdd_json("log", cwd=project)) == len(records)
    assert sum(os.path.getsize(path) for path in history_files(project)) == len(raw)

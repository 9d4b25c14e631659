"""Faults: writers killed at random points, histories cut at every byte, a full disk and a
read-only folder. The record of who approved what must survive all of them: the state
always loads, holds every event whose recording reported success, and a failure that
changes nothing says so."""

from __future__ import annotations

import marshal
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from fault_helpers import (
    DERIVED,
    PYTHON,
    Zygote,
    append_records,
    assert_clean_failure,
    diff_trees,
    file_size_limit,
    history_path,
    honour_permissions,
    json_lines,
    read_only,
    run_sdd,
    tree,
)
from helpers import sdd_json

# ----------------------------------------------------------------------------- SIGKILL

KILLS = 200  # writers killed in all
SEGMENTS = 10  # fresh project copies, so each history stays small enough to check after every kill
POOL = 3  # writers alive at once


def _check_after_kill(root: Path, acked_ids: set[str], acked_texts: set[str]) -> int:
    """The state loads and holds every acknowledged event; returns the warnings seen.

    The bytes are read under the project's lock, as sdd itself reads them (no writer is
    then half-way through healing a cut tail), and loaded outside it, so that the writers
    still alive are held up as little as possible."""
    from sdd.core import history
    from sdd.core.fold import fold
    from sdd.core.paths import ProjectPaths

    paths = ProjectPaths(str(root))
    with history.locked(paths):
        loaded = history.load(paths)
        # the files sdd rewrites on every command are whole: the old version or the new
        for cached in (root / ".sdd" / "cache").glob("*.marshal"):
            marshal.loads(cached.read_bytes())
        tracker = (root / "docs" / "session-tracker.md").read_text(encoding="utf-8")
        assert "## Next" in tracker and tracker.endswith("\n"), "a torn tracker page"
    state = fold(loaded.records)
    assert loaded.problems == [], loaded.problems
    assert len(loaded.warnings) <= 1, loaded.warnings
    ids = {r["id"] for r in loaded.records}
    lost = acked_ids - ids
    assert not lost, f"{len(lost)} acknowledged records are gone after a kill: {sorted(lost)[:5]}"
    findings = state.cycles[1].findings
    texts = {f.text for f in findings.values()}
    lost_texts = acked_texts - texts
    assert not lost_texts, f"findings reported as recorded are gone: {sorted(lost_texts)[:5]}"
    added = [r for r in loaded.records if r["type"] == "finding.add"]
    assert len(findings) == len(added), "two findings were given the same id"
    return len(loaded.warnings)


def _check_segment(root: Path, acked_ids: set[str]) -> None:
    """At the end of a segment, with every writer dead: the project's own loader."""
    from sdd.core import history
    from sdd.project.project import Project

    project = Project(str(root))
    state = project.load()
    assert state.problems == [] and len(state.warnings) <= 1, (state.problems, state.warnings)
    assert acked_ids <= {r["id"] for r in history.load(project.paths).records}


def test_writers_killed_at_random_points_lose_no_acknowledged_event(
    project: Path, work: Path
) -> None:
    """Hundreds of writers SIGKILLed at random points, several at once: API appends (some
    of them records spanning several pages, so a kill can land inside the write) and whole
    `sdd findings add` commands (a kill can land in the lock, the append, or the rewrite of
    the tracker and cache). After every kill the history loads and holds every event whose
    recording had returned."""
    rng = random.Random(11)
    zygote = Zygote()
    cut_tails = 0
    killed_total = 0
    roots = []
    try:
        per_segment = KILLS // SEGMENTS
        for segment in range(SEGMENTS):
            root = work / f"killed-{segment}"
            shutil.copytree(project, root, symlinks=True)
            roots.append(root)
            kinds: dict[str, str] = {}
            live: dict[str, float] = {}
            spawned = killed = 0
            while killed < per_segment:
                while len(live) < POOL and spawned < per_segment:
                    tag = f"s{segment}w{spawned}"
                    kind = rng.choice(["api", "api-pages", "cli", "cli"])
                    if kind == "cli":
                        zygote.spawn("cli", root, tag)
                        life = rng.uniform(0.02, 0.25)
                    else:
                        pad = 3000 if kind == "api-pages" else 0
                        zygote.spawn("api", root, tag, pad, rng.randrange(1 << 30))
                        life = rng.uniform(0.0, 0.06)
                    kinds[tag] = kind
                    live[tag] = time.monotonic() + life
                    spawned += 1
                tag = min(live, key=live.__getitem__)
                time.sleep(max(0.0, live.pop(tag) - time.monotonic()))
                status = zygote.kill(tag)
                assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (
                    f"writer {tag} ({kinds[tag]}) ended by itself (status {status}):\n"
                    + zygote.stderr()
                )
                killed += 1
                acked_ids = {
                    a
                    for t, acks in zygote.acks.items()
                    if kinds.get(t, "cli") != "cli"
                    for a in acks
                }
                acked_texts = {
                    a for t, acks in zygote.acks.items() if kinds.get(t) == "cli" for a in acks
                }
                cut_tails += _check_after_kill(root, acked_ids, acked_texts)
            _check_segment(root, acked_ids)
            killed_total += killed
    finally:
        zygote.close()
    assert killed_total == KILLS
    acknowledged = sum(len(a) for a in zygote.acks.values())
    assert acknowledged > KILLS, (
        f"the writers recorded too little to prove anything ({acknowledged})"
    )

    # the command line agrees, and the next command heals a cut tail for good
    root = roots[-1]
    data = sdd_json("status", cwd=root)
    assert data["problems"] == [] and len(data["warnings"]) <= 1
    result = run_sdd(
        "findings", "add", "after the crashes", "--severity", "minor", "--stage", "qa", cwd=root
    )
    assert result.returncode == 0, result.stderr
    raw = history_path(root).read_bytes()
    assert raw.endswith(b"\n")
    json_lines(raw)  # every line is a whole record again
    data = sdd_json("status", cwd=root)
    assert data["problems"] == [] and data["warnings"] == []
    doctor = sdd_json("doctor", cwd=root)
    assert doctor["ok"] is True, doctor["findings"]
    print(f"{KILLS} writers killed, {acknowledged} events acknowledged, {cut_tails} cut tails seen")


# ----------------------------------------------------------------------------- cut records


NOTE = {"text": 'Réinitialisé ✓ 密码 — "quoted" \\ and \u2028 a separator', "n": 7}


def test_a_history_cut_at_every_byte_of_its_last_record_loads_and_heals(project: Path) -> None:
    """A crash can cut the last record anywhere (even inside a multi-byte character): the
    state loads, the cut record is dropped with exactly one warning naming the line, every
    earlier record is there, and the next append leaves a clean file."""
    from sdd.core import history
    from sdd.project.project import Project

    append_records(project, [("note.cut", dict(NOTE))])
    path = history_path(project)
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    head, last = b"".join(lines[:-1]), lines[-1]
    earlier = json_lines(head)
    earlier_ids = sorted(r["id"] for r in earlier)
    line_number = len(lines)
    assert last.endswith(b"\n") and len(last) > 100
    assert any(b > 0x7F for b in last), "the record must hold multi-byte characters"
    p = Project(str(project))

    # the boundaries: nothing of it written, and all of it written
    path.write_bytes(head)
    state = p.load()
    assert state.warnings == [] and state.records == len(earlier)
    path.write_bytes(data)
    state = p.load()
    assert state.warnings == [] and state.records == len(earlier) + 1

    for cut in range(1, len(last)):  # every cut from one byte to all but the newline
        path.write_bytes(head + last[:cut])
        loaded = history.load(p.paths)
        state = p.load()
        assert [r["id"] for r in loaded.records] == earlier_ids, cut
        assert state.problems == [], (cut, state.problems)
        assert len(state.warnings) == 1, (cut, state.warnings)
        assert (
            f"{path.name}:{line_number}" in state.warnings[0] and "cut short" in state.warnings[0]
        )

        # the next append writes after the last complete record and yields a clean file
        with history.locked(p.paths):
            written = history.append(p.paths, [("note.after", {"cut": cut})]).records
        raw = path.read_bytes()
        line = history.line_of(written[0])  # the record as the writer lays it out
        assert raw == head + line, cut
        assert written[0]["parents"] == [earlier[-1]["hash"]]
        state = p.load()
        assert state.warnings == [] and state.problems == [], (cut, state.warnings)
        assert state.records == len(earlier) + 1


# ----------------------------------------------------------------------------- a full disk


def _padded(root: Path, size: int = 48_000) -> None:
    """Grow the history past every other file a command writes, so that with the size
    limit just above the history only the history's append hits "the disk is full"."""
    append_records(root, [("note.pad", {"pad": "x" * size})], new_segment=True)


FULL_DISK_COMMANDS = {
    "findings add": ["findings", "add", "disk full", "--severity", "minor", "--stage", "qa"],
    "start": ["start", "spec"],
    "change": ["change", "--stage", "spec", "tighten the reset rules"],
}


@pytest.mark.parametrize(
    ("command", "room"),
    [("findings add", 0), ("findings add", 7), ("start", 7), ("change", 0)],
    ids=[
        "findings-add-no-room",
        "findings-add-room-for-7-bytes",
        "start-room-for-7-bytes",
        "change-no-room",
    ],
)
def test_a_full_disk_is_a_clear_error_and_changes_nothing(
    project: Path, command: str, room: int
) -> None:
    """No room for the record (room 0: the write fails at once) or room for a few bytes
    only (the write is cut short): exit 1, a message that says nothing was changed, no
    traceback, and the project exactly as it was. Once there is room again, the same
    command works (nothing half-done stands in its way)."""
    _padded(project)
    size = history_path(project).stat().st_size
    before = tree(project, skip=DERIVED)
    args = FULL_DISK_COMMANDS[command]

    result = run_sdd(*args, cwd=project, preexec=file_size_limit(size + room))
    combined = assert_clean_failure(result, 1)
    assert ".sdd/history/" in combined and "nothing was changed" in combined, combined
    assert history_path(project).stat().st_size == size
    changed = diff_trees(before, tree(project, skip=DERIVED))
    assert changed == [], f"`sdd {command}` on a full disk changed: {changed}"

    again = run_sdd(*args, cwd=project)
    assert again.returncode == 0, f"`sdd {command}` after the disk was freed:\n{again.stderr}"
    assert sdd_json("status", cwd=project)["problems"] == []


# ----------------------------------------------------------------------------- read-only


def test_a_read_only_folder_is_a_clear_error_and_changes_nothing(project: Path) -> None:
    """A checkout without write permission: commands that record something fail with a
    message that says what is wrong and that nothing was changed, and change nothing."""
    before = tree(project, skip=(".git",))
    preexec = honour_permissions()
    with read_only(project):
        probe = subprocess.run(
            [PYTHON, "-c", "open('probe', 'w')"],
            cwd=project,
            capture_output=True,
            text=True,
            preexec_fn=preexec,
        )
        assert probe.returncode != 0 and "PermissionError" in probe.stderr, (
            "the test could not make the folder read-only for the child"
        )
        for args in (
            ["findings", "add", "read-only", "--severity", "minor", "--stage", "qa"],
            ["start", "spec"],
        ):
            result = run_sdd(*args, cwd=project, preexec=preexec)
            combined = assert_clean_failure(result, 1)
            lowered = combined.lower()
            assert "read-only" in lowered or "permission" in lowered, combined
            assert "nothing was changed" in combined, (
                f"`sdd {' '.join(args)}` in a read-only folder does not say that nothing "
                f"was changed:\n{combined}"
            )
    changed = diff_trees(before, tree(project, skip=(".git",)))
    assert changed == [], changed

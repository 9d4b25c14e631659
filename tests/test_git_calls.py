"""Which git processes a recording command starts: after sdd's own append, none to learn
what differs from HEAD (its records went to a segment git does not track, which
`git diff-index` never lists); after a commit, or an edit of a committed segment made
between two commands, git is asked again and the edit is reported. Observed through a git
on PATH that logs each call and runs the real one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from helpers import commit_all, git, run


def _logging_git(folder: Path) -> tuple[dict[str, str], Path]:
    real = shutil.which("git")
    assert real is not None
    log = folder / "git-calls.log"
    shim = folder / "bin" / "git"
    shim.parent.mkdir()
    shim.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n', encoding="utf-8"
    )
    shim.chmod(0o755)
    return {"PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"}, log


def _diff_index_calls(log: Path) -> int:
    if not log.exists():
        return 0
    return sum(line.startswith("diff-index") for line in log.read_text().splitlines())


def _finding(project: Path, env: dict[str, str], text: str) -> None:
    result = run(
        "findings", "add", "--stage", "spec", "--severity", "minor", text, cwd=project, env=env
    )
    assert result.returncode == 0, result.stderr


def test_own_appends_ask_git_nothing_and_an_edit_between_commands_is_asked_and_reported(
    project: Path, tmp_path: Path
) -> None:
    env, log = _logging_git(tmp_path)
    _finding(project, env, "first")
    commit_all(project, "the first finding")

    _finding(project, env, "after the commit")  # a new HEAD: git is asked
    asked = _diff_index_calls(log)
    assert asked >= 1
    _finding(project, env, "nothing else changed")
    _finding(project, env, "still nothing else")
    assert _diff_index_calls(log) == asked, log.read_text()

    # An agent drops the last record of a committed segment between two commands.
    tracked = {
        Path(name).name for name in git("ls-files", ".sdd/history", cwd=project).stdout.split()
    }
    committed = sorted(p for p in (project / ".sdd" / "history").iterdir() if p.name in tracked)
    assert committed
    segment = committed[-1]
    lines = segment.read_bytes().splitlines(keepends=True)
    segment.write_bytes(b"".join(lines[:-1]))

    _finding(project, env, "after the edit")
    assert _diff_index_calls(log) > asked
    shown = run("doctor", cwd=project, allow_crash=True)
    assert (
        "since the last commit: committed records are never rewritten"
        in shown.stdout + shown.stderr
    )


def test_an_edit_in_place_with_its_size_and_time_put_back_is_still_asked(
    project: Path, tmp_path: Path
) -> None:
    """The attack on a cache keyed by file status: one byte of a committed record changed,
    the file's length kept and its modification time restored with os.utime."""
    env, log = _logging_git(tmp_path)
    _finding(project, env, "first")
    commit_all(project, "the first finding")
    _finding(project, env, "after the commit")
    _finding(project, env, "nothing else changed")
    asked = _diff_index_calls(log)

    tracked = {Path(n).name for n in git("ls-files", ".sdd/history", cwd=project).stdout.split()}
    segment = sorted(p for p in (project / ".sdd" / "history").iterdir() if p.name in tracked)[-1]
    before = segment.stat()
    data = segment.read_bytes()
    assert b'"first"' in data
    segment.write_bytes(data.replace(b'"first"', b'"fir5t"', 1))
    os.utime(segment, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert segment.stat().st_size == before.st_size
    assert segment.stat().st_mtime_ns == before.st_mtime_ns

    result = run(
        "findings",
        "add",
        "--stage",
        "spec",
        "--severity",
        "minor",
        "x",
        cwd=project,
        env=env,
        allow_crash=True,
    )
    assert _diff_index_calls(log) > asked, "the edit was not asked of git"
    shown = run("doctor", cwd=project, allow_crash=True)
    assert "since the last commit: committed records are never rewritten" in shown.stdout
    assert result.returncode in (0, 1, 3)

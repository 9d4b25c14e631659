"""Bad input, as an agent with a shell would give it: files nested thousands of levels deep,
timeouts that are not durations, a project it cannot write, a writer killed in the middle,
escape sequences in arguments, records dated backwards. Each one is a clear message or a
working command, never a crash, and nothing is left in the user's tree.

Everything goes through the installed `sdd` command on real files; where a process must die
at an exact point, the real command runs with an audit hook that SIGKILLs it there.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import marshal
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from fault_helpers import (
    PYTHON,
    assert_clean_failure,
    diff_trees,
    honour_permissions,
    read_only,
    run_sdd,
    tree,
)
from helpers import (
    SDD,
    commit_all,
    git,
    history_files,
    history_lines,
    history_records,
    newest_segment,
    run,
    sdd_json,
)

DEEP = 5000


def _no_crash_logs(root: Path) -> None:
    logs = root / ".sdd" / "logs"
    crashes = sorted(p.name for p in logs.glob("crash-*")) if logs.exists() else []
    assert crashes == [], f"sdd crashed: {crashes}"


def _fails_naming(root: Path, args: list[str], *needles: str, code: int = 1) -> str:
    result = run(*args, cwd=root)
    combined = result.stdout + result.stderr
    assert result.returncode == code, (result.returncode, combined)
    for needle in needles:
        assert needle in combined, f"`sdd {' '.join(args)}` does not say {needle!r}:\n{combined}"
    _no_crash_logs(root)
    return combined


# ----------------------------------------------------------------------------- deep nesting

DEEP_TOML = {
    "array": "x = " + "[" * DEEP + "]" * DEEP,
    "inline-tables": "x = " + "{a = " * DEEP + "1" + "}" * DEEP,
    "dotted-keys": "a" + ".a" * DEEP + " = 1",
    "table-header": "[a" + ".a" * 300 + "]\nb = 1",
    "just-past-the-limit": "x = " + "[" * 65 + "]" * 65,
}


@pytest.mark.parametrize("shape", list(DEEP_TOML))
def test_a_config_nested_deep_is_a_config_error(project: Path, shape: str) -> None:
    """`.sdd/config.toml` with a value nested past any setting sdd has: exit 1, naming the
    file (and the line, when brackets nest) and the fix; `status`, `next` and `doctor` alike."""
    config = project / ".sdd" / "config.toml"
    config.write_text(config.read_text() + "\n" + DEEP_TOML[shape] + "\n", encoding="utf-8")
    line = len(config.read_text().splitlines())
    where = ".sdd/config.toml" + ("" if "keys" in shape or "header" in shape else f":{line}")
    for args in (["status"], ["next", "--json"]):
        text = _fails_naming(project, args, f"{where}: a value is nested more than 64 levels")
        assert "git checkout -- .sdd/config.toml" in text
    _fails_naming(project, ["doctor"], "nested more than 64 levels deep")


def test_a_config_as_deep_as_sdd_needs_is_read(project: Path) -> None:
    """The bound is far above what a real setting needs: 64 levels are still read."""
    config = project / ".sdd" / "config.toml"
    # the file itself is one level (a table), and x is read at the top of it
    config.write_text("x = " + "[" * 63 + "]" * 63 + "\n" + config.read_text())
    assert run("status", cwd=project).returncode == 0


def _forged(record: dict[str, Any]) -> bytes:
    """A history line with its hash recomputed, as anyone can (the algorithm is public)."""
    body = {k: v for k, v in record.items() if k not in ("hash", "sig")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    domain = b"sdd-record-1\n" if body.get("v") == 1 else b"sdd-record-2\n"
    digest = hashlib.sha256(domain + canonical.encode()).hexdigest()
    return json.dumps({**body, "hash": digest}, separators=(",", ":")).encode() + b"\n"


@pytest.mark.parametrize("depth", [DEEP, 900, 65])
def test_a_history_record_nested_deep_is_a_state_error(project: Path, depth: int) -> None:
    """A line of `.sdd/history.jsonl` nested deep (its hash recomputed, so it would count):
    the file and line are named, with the way back; nothing crashes."""
    last = history_records(project)[-1]
    record = {**last, "id": last["id"][:-1] + "Z", "parents": [last["hash"]]}
    if depth <= 900:
        line = _forged({**record, "deep": _nest(0, depth)})
    else:  # deeper than json itself writes (or reads): the attacker writes the text
        line = (
            json.dumps(record).encode()[:-1] + b', "deep": ' + b"[" * depth + b"]" * depth + b"}\n"
        )
    segment = newest_segment(project)
    with segment.open("ab") as handle:
        handle.write(line)
    number = len(segment.read_bytes().splitlines())
    name = segment.relative_to(project)
    for args in (["status"], ["doctor"], ["log"]):
        text = _fails_naming(project, args, f"{name}:{number}", "nested more than 64 levels deep")
        assert "git checkout" in text or "restore" in text, text


def test_an_agents_manifest_nested_deep_is_a_state_error(project: Path) -> None:
    manifest = project / ".sdd" / "agents.json"
    manifest.write_text("[" * DEEP + "]" * DEEP, encoding="utf-8")
    for args in (["agents", "install", "--all"], ["doctor"]):
        text = _fails_naming(project, args, ".sdd/agents.json", "nested more than 64 levels")
        assert "restore it from git" in text


def _cache_file(root: Path) -> Path:
    found = sorted((root / ".sdd" / "cache").glob("panel-*.marshal"))
    assert len(found) == 1, found
    return found[0]


def _warm(root: Path) -> None:
    """A valid cache: its inputs older than its racy window, then one answer."""
    past = 1_700_000_000
    for path in [*history_files(root), root / ".sdd" / "config.toml"]:
        os.utime(path, (past, past))
    for path in (root / "docs").rglob("*"):
        if path.is_file():
            os.utime(path, (past, past))
    assert run("status", cwd=root).returncode == 0


def _nest(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("damage", ["deep-panel", "deep-title", "missing-keys", "wrong-types"])
def test_a_cache_written_by_hand_is_rebuilt(project: Path, damage: str) -> None:
    """The derived cache is sdd's, but anyone can write it: a panel nested deep (marshal
    reads 1,500 levels back), or one without the shape sdd writes, is rebuilt, not obeyed."""
    _warm(project)
    path = _cache_file(project)
    entry = marshal.loads(path.read_bytes())
    if damage == "deep-panel":
        entry["panel"]["extra"] = _nest(1, 1500)
    elif damage == "deep-title":
        entry["panel"]["cycle"]["title"] = _nest("x", 1500)
    elif damage == "missing-keys":
        entry = {"version": entry["version"], "written": entry["written"]}
    else:
        entry["panel"]["stages"] = "everything approved"
        entry["docs"] = {"docs/product-spec.md": "not a key"}
    path.write_bytes(marshal.dumps(entry))
    for args in (["status"], ["next"], ["status", "--json"]):
        result = run(*args, cwd=project)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "sdd start spec" in result.stdout
    rebuilt = marshal.loads(path.read_bytes())
    assert "extra" not in rebuilt["panel"] and isinstance(rebuilt["panel"]["stages"], list)
    _no_crash_logs(project)


def test_a_package_json_nested_deep_is_not_a_crash(project: Path) -> None:
    """`sdd verify` reads package.json to detect checks when none are configured."""
    config = project / ".sdd" / "config.toml"
    text = config.read_text()
    config.write_text(text[: text.index("[[verify.checks]]")], encoding="utf-8")
    (project / "package.json").write_text('{"scripts": ' + "[" * DEEP + "]" * DEEP + "}")
    result = run("verify", cwd=project)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    _no_crash_logs(project)


def test_an_agent_whose_output_is_nested_deep_is_not_a_crash(project: Path, work: Path) -> None:
    """`sdd run --headless` reads the agent's JSON output for an error it reported: a fake
    `claude` that prints 5,000 nested arrays and exits 0 ends its session, never sdd."""
    fake = work / "fake-bin"
    fake.mkdir()
    agent = fake / "claude"
    agent.write_text(f"#!{PYTHON}\nprint('[' * {DEEP} + ']' * {DEEP})\n", encoding="utf-8")
    agent.chmod(0o755)
    env = {"PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    result = run("run", "spec", "--headless", "--agent", "claude", cwd=project, env=env)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    _no_crash_logs(project)


# ----------------------------------------------------------------------------- timeouts

NOT_DURATIONS = ["nan", "inf", "-inf", "1e308", "86401", "0", "-5", '"10"', "true"]


def _set_timeout(root: Path, line: str) -> None:
    config = root / ".sdd" / "config.toml"
    text = config.read_text()
    assert "timeout = 120\n" in text
    config.write_text(text.replace("timeout = 120\n", line), encoding="utf-8")


@pytest.mark.parametrize("value", NOT_DURATIONS)
@pytest.mark.parametrize("where", ["check", "verify"])
def test_a_timeout_that_is_not_a_duration_is_refused(project: Path, value: str, where: str) -> None:
    """`timeout = nan` (or inf, 1e308, a day and a second…), in a check or in `[verify]`:
    a config error naming the key, its value and the bound; nothing runs or is recorded."""
    if where == "check":
        _set_timeout(project, f"timeout = {value}\n")
        key = "verify.checks[1].timeout"
    else:
        _set_timeout(project, "")
        config = project / ".sdd" / "config.toml"
        config.write_text(f"[verify]\ntimeout = {value}\n\n" + config.read_text())
        key = "verify.timeout"
    before = history_lines(project)
    text = _fails_naming(project, ["verify"], key, "at most 86400 (a day)")
    shown = {"nan": "nan", "inf": "inf", "-inf": "-inf", "1e308": "1e+308"}.get(value)
    assert shown is None or f"= {shown}:" in text, text
    assert history_lines(project) == before
    _fails_naming(project, ["doctor"], key, "at most 86400")


@pytest.mark.parametrize("value", ["86400", "0.5", "120"])
def test_a_timeout_within_a_day_is_accepted(project: Path, value: str) -> None:
    _set_timeout(project, f"timeout = {value}\n")
    assert run("doctor", cwd=project).returncode == 0


@pytest.mark.parametrize("value", ["nan", "inf", "1e308", "86401", "\x1b[2J"])
def test_a_run_timeout_that_is_not_a_duration_is_bad_usage(project: Path, value: str) -> None:
    before = history_lines(project)
    result = run("run", "spec", "--headless", f"--timeout={value}", cwd=project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--timeout" in result.stderr and "at most 86400" in result.stderr
    assert "\x1b" not in result.stderr
    assert history_lines(project) == before


@pytest.mark.parametrize("value", ["nan", "inf", "1e308", "-1"])
def test_a_clock_override_that_is_no_time_is_bad_usage(project: Path, value: str) -> None:
    result = run(
        "findings",
        "add",
        "x",
        "--severity",
        "minor",
        "--stage",
        "qa",
        cwd=project,
        env={"SDD_NOW": value},
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "SDD_NOW" in result.stderr
    _no_crash_logs(project)


# ----------------------------------------------------------------------------- read-only


def _as_reader(project: Path) -> Any:
    """A ``preexec_fn`` under which the child obeys file permissions (root included:
    see fault_helpers.honour_permissions), proven by a probe."""
    preexec = honour_permissions()
    probe = subprocess.run(
        [PYTHON, "-c", "open('.sdd/probe', 'w')"],
        cwd=project,
        capture_output=True,
        text=True,
        preexec_fn=preexec,
    )
    assert probe.returncode != 0 and "PermissionError" in probe.stderr, (
        "the test could not make the project read-only for the child"
    )
    return preexec


READERS = [
    ["status"],
    ["next"],
    ["status", "--json"],
    ["next", "--json"],
    ["status", "--all"],
    ["next", "--all"],
    ["status", "--cycle", "1"],
    ["dashboard"],
    ["dashboard", "--out", "-"],
    ["log"],
    ["doctor"],
    ["tasks"],
    ["findings"],
]


@pytest.mark.parametrize("case", ["no-cache", "no-lock-file", "warm-cache"])
def test_a_read_only_project_is_read_and_never_written(project: Path, case: str) -> None:
    """`chmod -R a-w` on the project: every reading command answers (computing the panel
    it cannot cache, or answering from the cache without healing the edited tracker page),
    the tree is unchanged, and a writing command still says why not."""
    if case == "warm-cache":
        _warm(project)
    else:
        for cached in (project / ".sdd" / "cache").glob("*"):
            _remove(cached)  # so that status must compute the panel (and would write it)
    if case == "no-lock-file":
        (project / ".sdd" / "lock").unlink(missing_ok=True)
    (project / "docs" / "session-tracker.md").write_text("edited by hand\n")
    before = tree(project, skip=(".git",))
    with read_only(project):
        preexec = _as_reader(project)
        for args in READERS:
            result = run_sdd(*args, cwd=project, preexec=preexec)
            combined = result.stdout + result.stderr
            assert result.returncode == 0, f"`sdd {' '.join(args)}`: {combined}"
            assert "Traceback" not in combined
        page = run_sdd("dashboard", cwd=project, preexec=preexec)
        assert "cannot be written" in page.stderr
        written = Path(
            json.loads(run_sdd("dashboard", "--json", cwd=project, preexec=preexec).stdout)["data"][
                "out"
            ]
        )
        assert written.is_file() and not written.is_relative_to(project)
        assert "sdd start spec" in run_sdd("status", cwd=project, preexec=preexec).stdout
        refused = run_sdd(
            "findings",
            "add",
            "x",
            "--severity",
            "minor",
            "--stage",
            "qa",
            cwd=project,
            preexec=preexec,
        )
        text = assert_clean_failure(refused, 1)
        assert "read-only" in text and "nothing was changed" in text, text
    assert diff_trees(before, tree(project, skip=(".git",))) == []


def test_a_reader_still_waits_for_a_writer(project: Path) -> None:
    """Reading takes the lock shared when it can: a writer holding it holds readers off,
    so no reader sees a change half made."""
    for cached in (project / ".sdd" / "cache").glob("*"):
        _remove(cached)
    fd = os.open(project / ".sdd" / "lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        reader = subprocess.Popen(
            [*SDD, "status"],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        time.sleep(1.5)
        assert reader.poll() is None, "`sdd status` did not wait for the writer's lock"
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert b"sdd start spec" in out


# ----------------------------------------------------------------------------- temporary files

# The real, installed `sdd`, run with an audit hook that SIGKILLs it the moment it renames
# a temporary file over TARGET (or a file under it): the temporary file is whole, the rename not
# done, exactly what a kill at the worst moment leaves.
_KILLED_AT_RENAME = textwrap.dedent(
    """
    import os, runpy, signal, sys
    target = os.path.abspath(sys.argv[1])
    def hook(event, args):
        if event == "os.rename" and (args[1] == target or args[1].startswith(target + os.sep)):
            os.kill(os.getpid(), signal.SIGKILL)
    sys.addaudithook(hook)
    sys.argv = [sys.argv[2], *sys.argv[3:]]
    runpy.run_path(sys.argv[0], run_name="__main__")
    """
)


def _killed_while_writing(root: Path, target: str, *args: str) -> None:
    assert SDD[0].endswith("sdd"), SDD
    result = subprocess.run(
        [PYTHON, "-c", _KILLED_AT_RENAME, str(root / target), SDD[0], *args],
        cwd=root,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == -9, (result.returncode, result.stderr)


def _stray_temporary_files(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*.tmp")
        if not p.is_relative_to(root / ".sdd" / "tmp")
    )


def test_a_writer_killed_mid_write_leaves_nothing_in_the_users_tree(project: Path) -> None:
    """SIGKILL while `sdd start` writes the session page under docs/sessions/: the temporary
    file is in `.sdd/tmp/`, which git ignores, and the next writing command sweeps it."""
    _killed_while_writing(project, "docs/sessions", "start", "spec")
    assert _stray_temporary_files(project) == []
    left = [p for p in (project / ".sdd" / "tmp").iterdir() if p.suffix == ".tmp"]
    assert len(left) == 1, left  # the killed write's file, whole
    untracked = git("status", "--porcelain", "--untracked-files=all", cwd=project).stdout
    assert ".tmp" not in untracked and ".sdd/tmp" not in untracked, untracked
    git("add", "-A", cwd=project)
    assert ".sdd/tmp" not in git("diff", "--cached", "--name-only", cwd=project).stdout

    # Another live writer's file (this test's pid, just written) is left alone; the killed
    # one goes once a moment has passed, and so does anything older than a few minutes.
    live = project / ".sdd" / "tmp" / f"{os.getpid()}-inflight.tmp"
    live.write_text("a write in progress")
    old = project / ".sdd" / "tmp" / f"{os.getpid()}-forgotten.tmp"
    old.write_text("a write from long ago")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    minute_ago = time.time() - 60
    os.utime(left[0], (minute_ago, minute_ago))
    sdd_json("start", "spec", cwd=project)
    remaining = sorted(p.name for p in (project / ".sdd" / "tmp").iterdir())
    assert remaining == [".gitignore", live.name], remaining
    assert _stray_temporary_files(project) == []


@pytest.mark.parametrize("target", ["docs/session-tracker.md", ".sdd/cache"])
def test_a_writer_killed_at_any_of_its_writes_leaves_nothing_behind(
    project: Path, target: str
) -> None:
    """The tracker page, the cache: wherever the kill lands (after the records), the project reads
    on, and the next command works and sweeps what the killed one left."""
    _killed_while_writing(project, target, "start", "spec")
    assert _stray_temporary_files(project) == []
    assert run("status", cwd=project).returncode == 0
    assert run("doctor", cwd=project).returncode == 0
    past = time.time() - 60
    for left in (project / ".sdd" / "tmp").glob("*.tmp"):
        os.utime(left, (past, past))
    sdd_json("findings", "add", "x", "--severity", "minor", "--stage", "qa", cwd=project)
    assert [p.name for p in (project / ".sdd" / "tmp").iterdir()] == [".gitignore"]


def test_init_killed_at_its_first_write_leaves_nothing_in_the_new_project(work: Path) -> None:
    """Even `sdd init`'s first document goes through `.sdd/tmp/`: it makes `.sdd/` first."""
    _killed_while_writing(work, "fresh/docs", "init", "fresh")
    assert _stray_temporary_files(work / "fresh") == []
    assert list((work / "fresh" / ".sdd" / "tmp").glob("*.tmp"))
    assert run("init", "fresh", cwd=work).returncode == 0  # and it finishes the second time
    assert _stray_temporary_files(work / "fresh") == []


def test_an_existing_project_learns_to_ignore_the_temporary_folder(project: Path) -> None:
    """A project made before `.sdd/tmp/` existed: doctor says so, the next write adds it."""
    ignore = project / ".sdd" / ".gitignore"
    assert "tmp/" in ignore.read_text().splitlines()  # `sdd init` writes it
    ignore.write_text(ignore.read_text().replace("tmp/\n", ""))
    commit_all(project, "an older project")
    _, report, _ = _doctor(project)
    assert any("does not ignore tmp/" in f["what"] for f in report["findings"]), report
    sdd_json("findings", "add", "x", "--severity", "minor", "--stage", "qa", cwd=project)
    assert "tmp/" in ignore.read_text().splitlines()
    _, report, _ = _doctor(project)
    assert not any("ignore" in f["what"] for f in report["findings"]), report


def _doctor(root: Path) -> tuple[int, dict[str, Any], str]:
    from fault_helpers import doctor

    return doctor(root)


# ----------------------------------------------------------------------------- escapes

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b[31m"


@pytest.mark.parametrize(
    "args",
    [
        ["status", ESCAPES],
        ["findings", "add", f"--x{ESCAPES}"],
        ["log", "--limit", ESCAPES],
        [ESCAPES],
        ["approve", "spec-approval", f"--{ESCAPES}"],
    ],
    ids=["unrecognized", "unknown-option", "bad-type", "bad-command", "after-a-command"],
)
def test_argparse_errors_show_escape_sequences_escaped(project: Path, args: list[str]) -> None:
    """An argument argparse quotes back is shown with its control characters made visible,
    like every other message: it cannot retitle, clear or recolour the person's terminal."""
    result = run(*args, cwd=project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr, repr(result.stderr)
    assert "\\x1b" in result.stderr, result.stderr


# ----------------------------------------------------------------------------- backdated records

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ulid(millis: int) -> str:
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def _millis(ulid: str) -> int:
    value = 0
    for char in ulid:
        value = value * 32 + _ALPHABET.index(char)
    return value >> 80


def test_a_record_backdated_by_hand_is_flagged(project: Path) -> None:
    """The attacker's record: appended after the last one, with a recomputed hash, but an id
    (and a date) an hour earlier, so it folds before what it follows. Doctor names it."""
    records = history_records(project)
    last = records[-1]
    millis = _millis(last["id"]) - 3_600_000
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(millis / 1000))
    forged = {**last, "id": _ulid(millis), "at": at, "parents": [last["hash"]]}
    segment = newest_segment(project)
    line = len(segment.read_bytes().splitlines()) + 1
    with segment.open("ab") as handle:
        handle.write(_forged(forged))
    code, report, text = _doctor(project)
    assert code == 1, text
    flagged = [f for f in report["findings"] if forged["id"] in f["what"]]
    assert flagged and flagged[0]["severity"] == "error", report
    assert "before the record it was appended after" in flagged[0]["what"]
    assert f"{segment.relative_to(project)}:{line}" in flagged[0]["what"]
    assert "written by hand" in flagged[0]["what"]


def test_a_clock_set_back_is_a_warning_and_the_id_still_runs_forward(project: Path) -> None:
    """sdd's own appender with its clock set back a day (SDD_NOW here; the system clock
    alike): the date runs backwards and doctor says so, but the id never does."""
    records = history_records(project)
    day_before = _millis(records[-1]["id"]) / 1000 - 86_400
    env = {"SDD_NOW": str(day_before)}
    sdd_json("findings", "add", "x", "--severity", "minor", "--stage", "qa", cwd=project, env=env)
    added = history_records(project)[-1]
    assert _millis(added["id"]) >= _millis(records[-1]["id"])
    code, report, text = _doctor(project)
    assert code == 0, text
    flagged = [f for f in report["findings"] if added["id"] in f["what"]]
    assert [f["severity"] for f in flagged] == ["warning"], report
    assert "the clock was set back" in flagged[0]["what"]


# The lead calls clock.refuse_override before recording anything in a project with approvers;
# this is that call, inside the CLI's own error handler, as a command would make it.
_SIGNED_COMMAND = textwrap.dedent(
    """
    import sys
    from sdd.cli.handler import guarded
    from sdd.core import clock

    def approve():
        clock.refuse_override("this project has approvers: records carry the real time")
        return 0

    sys.exit(guarded("approve", approve))
    """
)


@pytest.mark.parametrize("now", [None, "", "2020-01-01T00:00:00Z", "1700000000"])
def test_the_clock_override_is_refused_where_the_lead_will_ask(now: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SDD_NOW"}
    if now is not None:
        env["SDD_NOW"] = now
    result = subprocess.run(
        [sys.executable, "-c", _SIGNED_COMMAND], env=env, capture_output=True, text=True
    )
    if not now:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 3, result.stderr
    assert "sdd: refused: SDD_NOW=" in result.stderr
    assert "this project has approvers" in result.stderr
    assert "unset SDD_NOW" in result.stderr


def _remove(cached: Path) -> None:
    """A cache entry: a file, or the folder of the checkpoint's parts."""
    if cached.is_dir():
        shutil.rmtree(cached)
    else:
        cached.unlink()

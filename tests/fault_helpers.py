"""Helpers for the fault, concurrency, tamper, hostile-input and doctor tests.

Everything here works on real files in the test's tmp folder and real child processes.
Some helpers import sdd's public pieces (the history API, the CLI's ``main``) to drive
them in-process or inside child processes; nothing of sdd is replaced or mocked.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import json
import os
import re
import select
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from helpers import SDD

PYTHON = sys.executable
ULID_TEXT = re.compile(r"\b[0-9ABCDEFGHJKMNPQRSTVWXYZ]{26}\b")
ISO_TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")


def history_path(root: Path) -> Path:
    """The history file sdd appends to now: its newest segment (the tests here never commit
    between writes, so one segment holds every record they make)."""
    from helpers import newest_segment

    return newest_segment(root)


def history_bytes(root: Path) -> bytes:
    """Every history file, in order, as one stream of lines."""
    from helpers import history_files

    return b"".join(path.read_bytes() for path in history_files(root))


# ----------------------------------------------------------------------------- file trees


def tree(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every path under ``root`` (relative) with what it is: a file's sha256, a link's
    target, or "dir". Paths starting with one of ``skip`` are left out."""
    found: dict[str, str] = {}
    for folder, dirs, names in os.walk(root):
        for name in sorted(dirs + names):
            full = os.path.join(folder, name)
            relative = os.path.relpath(full, root)
            if relative.startswith(skip):
                continue
            if os.path.islink(full):
                found[relative] = "link:" + os.readlink(full)
            elif os.path.isdir(full):
                found[relative] = "dir"
            else:
                with open(full, "rb") as handle:
                    found[relative] = hashlib.sha256(handle.read()).hexdigest()
    return found


def diff_trees(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What changed between two :func:`tree` snapshots, one line each."""
    lines = [f"+ {p}" for p in sorted(set(after) - set(before))]
    lines += [f"- {p}" for p in sorted(set(before) - set(after))]
    lines += [f"~ {p}" for p in sorted(set(before) & set(after)) if before[p] != after[p]]
    return lines


# The project's own derived, git-ignored files: rebuilt freely, so not "a change".
DERIVED = (".sdd/cache", ".sdd/lock", ".git")


# ----------------------------------------------------------------------------- in-process CLI


def in_process(*args: str, cwd: Path) -> tuple[int, str, str]:
    """Run `sdd ARGS` through ``sdd.cli.main.main`` in this process; (exit, stdout, stderr).

    The crash boundary turns any unexpected exception into exit 4 and a log: callers
    assert the exit code, so a crash cannot pass for a message."""
    from sdd.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(here)
    return code, out.getvalue(), err.getvalue()


# ----------------------------------------------------------------------------- resource limits


def file_size_limit(limit: int) -> Callable[[], None]:
    """A ``preexec_fn`` that caps the size of any file the child writes (RLIMIT_FSIZE).

    This is how the tests make "the disk is full": a write that would grow a file past the
    limit fails (EFBIG, or a short write when it crosses it), exactly like ENOSPC does for
    sdd's code path. It needs no privilege, so it works as root here and as the runner
    user in CI, where mounting a small tmpfs (``unshare -rm``) is often forbidden by
    the distribution's user-namespace restrictions. SIGXFSZ is ignored so the write
    returns an error instead of killing the process (the disposition survives exec).
    """
    import resource

    def limit_it() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_it


# Capabilities that let root ignore file permissions (linux/capability.h).
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER = 1, 2, 3
_PR_CAPBSET_DROP = 24


def honour_permissions() -> Callable[[], None] | None:
    """A ``preexec_fn`` under which the child obeys file permissions, even as root.

    As an ordinary user (CI) nothing is needed: None. As root (this container), the child
    drops CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER from its bounding set before
    exec; root's new program then gets no such capability, so a folder without write
    permission is read-only for it while it stays uid 0 (git's ownership checks and the
    isolated HOME keep working). The test checks this took effect with a probe.
    """
    if os.geteuid() != 0:
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def drop() -> None:
        for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER):
            if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")

    return drop


@contextlib.contextmanager
def read_only(root: Path) -> Iterator[None]:
    """Take write permission away from everything under ``root``; put it back after."""
    modes: dict[str, int] = {}
    for folder, dirs, names in os.walk(root):
        for name in [*dirs, *names, ""]:
            full = os.path.join(folder, name) if name else folder
            if os.path.islink(full) or full in modes:
                continue
            mode = stat.S_IMODE(os.lstat(full).st_mode)
            modes[full] = mode
    try:
        for full, mode in modes.items():
            os.chmod(full, mode & ~0o222)
        yield
    finally:
        for full, mode in modes.items():
            os.chmod(full, mode)


def run_sdd(
    *args: str,
    cwd: Path,
    preexec: Callable[[], None] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`sdd ARGS` as a child process (stdin /dev/null), optionally with a ``preexec_fn``."""
    return subprocess.run(
        [*SDD, *args],
        cwd=str(cwd),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec,
    )


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """A failure shown as a message: the exit code, no traceback, no crash log."""
    combined = result.stdout + result.stderr
    assert "Traceback" not in combined, combined
    assert "crashed" not in combined, combined
    assert result.returncode == code, (result.returncode, combined)
    return combined


# ----------------------------------------------------------------------------- history API


def append_records(
    root: Path, entries: list[tuple[str, dict[str, Any]]], *, new_segment: bool = False
) -> list[dict[str, Any]]:
    """Append records through sdd's own history API, under the project's lock (into a new
    segment, which git does not track yet, with ``new_segment``)."""
    from sdd.core import history
    from sdd.project.project import Project

    project = Project(str(root))
    sealed = (lambda _: True) if new_segment else None
    with history.locked(project.paths):
        return history.append(project.paths, entries, tracked=sealed).records


def hand_built(
    kind: str,
    fields: dict[str, Any],
    *,
    after: str | None,
    root: Path | None = None,
    parents: list[str] | None = None,
) -> dict[str, Any]:
    """A record built by hand the way a forger would: a fresh id after ``after``, the
    heads of ``root``'s history (or ``parents``) as its parents, the fields, and a
    correctly computed content hash (the algorithm is public)."""
    from sdd.core import clock, history
    from sdd.core.paths import ProjectPaths

    if parents is None:
        parents = history.load(ProjectPaths(str(root))).heads if root is not None else []
    return history.new_record(kind, fields, parents=parents, after=after, at=clock.now())


def normalised(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with every record id replaced by its position in fold order and every
    time left out, so the states derived from two histories holding the same operations
    (written at other times) compare equal."""
    if isinstance(value, dict):
        return {normalised(k, ids): normalised(v, ids) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalised(v, ids) for v in value]
    if isinstance(value, str):
        value = ISO_TIME.sub("<time>", value)
        return ULID_TEXT.sub(lambda m: ids.get(m.group(0), "?unknown-id"), value)
    return value


def derived_state(root: Path) -> tuple[Any, list[dict[str, Any]]]:
    """The loaded state as plain data with ids normalised, and the records in fold order."""
    from sdd.core import history, structs
    from sdd.project.project import Project

    project = Project(str(root))
    with history.locked(project.paths):
        loaded = history.load(project.paths)
        state = project.load()
    ids = {r["id"]: f"#{n}" for n, r in enumerate(loaded.records)}
    data = structs.asdict(state)
    # Heads are content hashes, which differ with the time each record was written; what
    # counted is compared through the state it folded into.
    for derived in ("heads", "trust"):
        data.pop(derived, None)
    return normalised(data, ids), loaded.records


# ----------------------------------------------------------------------------- killed writers

# A process that imports sdd once, then forks a writer whenever the test asks for one:
# starting a fresh interpreter per writer would cost a quarter of a second on a loaded
# 2-core machine, and the test kills hundreds of writers. Each writer is a real process
# that records events until the test SIGKILLs it; it announces each event after the call
# that records it has returned (the append, or the whole `sdd findings add` command).
# Protocol on stdout (one os.write each, atomic on a pipe):
#   PID tag pid · ACK tag what · DEAD tag status   (DEAD comes after every ACK of that tag)
ZYGOTE = r"""
import os, random, sys, traceback
from sdd.core import history
from sdd.core.paths import ProjectPaths
from sdd.cli.main import main
import sdd.api, sdd.cli.commands.evidence, sdd.cli.output, sdd.cli.handler, sdd.usecases.findings, sdd.project.project, sdd.workflow.tracker  # noqa

def say(text):
    os.write(1, (text + "\n").encode())

def api_writer(root, tag, pad, seed):
    paths = ProjectPaths(root)
    rng = random.Random(seed)
    n = 0
    while True:
        fields = {"writer": tag, "n": n, "text": "réinitialisé ✓ 密码 " + tag}
        if pad:
            fields["pad"] = "é" * rng.randrange(1, pad)  # a multi-page, multi-byte record
        with history.locked(paths):
            written = history.append(paths, [("note.fault", fields)]).records
        say("ACK %s %s" % (tag, written[0]["id"]))
        n += 1

def cli_writer(root, tag):
    os.chdir(root)
    sys.stdout = open(os.devnull, "w")
    n = 0
    while True:
        text = "%s-%d" % (tag, n)
        code = main(["findings", "add", text, "--severity", "minor", "--stage", "qa"])
        if code != 0:
            raise SystemExit("sdd findings add exited %d" % code)
        say("ACK %s %s" % (tag, text))
        n += 1

def reap():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        say("DEAD %s %d" % (children.pop(pid), status))

children = {}
import select
pending = b""
while True:
    ready, _, _ = select.select([0], [], [], 0.002)
    reap()
    if ready:
        chunk = os.read(0, 4096)
        if not chunk:
            break
        pending += chunk
    if b"\n" not in pending:
        continue
    line, pending = pending.split(b"\n", 1)
    if line.strip() == b"quit":
        break
    kind, root, tag, *rest = line.decode().split()
    pid = os.fork()
    if pid == 0:
        try:
            if kind == "api":
                api_writer(root, tag, int(rest[0]), int(rest[1]))
            else:
                cli_writer(root, tag)
        except BaseException:
            traceback.print_exc()
            os._exit(3)
    children[pid] = tag
    say("PID %s %d" % (tag, pid))
while children:
    reap()
"""


class Zygote:
    """The forking parent of :data:`ZYGOTE`, and the lines it and its writers print."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-c", ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._buffer = b""
        self.acks: dict[str, list[str]] = {}
        self.dead: dict[str, int] = {}
        self.pids: dict[str, int] = {}

    def spawn(self, kind: str, root: Path, tag: str, *extra: object) -> int:
        assert self.proc.stdin is not None
        words = " ".join([kind, str(root), tag, *map(str, extra)])
        self.proc.stdin.write(words.encode() + b"\n")
        self.proc.stdin.flush()
        self.pump(until=lambda: tag in self.pids)
        return self.pids[tag]

    def kill(self, tag: str) -> int:
        """SIGKILL the writer; returns its wait status once every line it wrote is read."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pids[tag], signal.SIGKILL)
        self.pump(until=lambda: tag in self.dead)
        return self.dead[tag]

    def pump(self, until: Callable[[], bool], timeout: float = 60.0) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while not until():
            left = deadline - time.monotonic()
            assert left > 0, f"the writers' parent stopped answering: {self.stderr()}"
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            assert chunk, f"the writers' parent ended: {self.stderr()}"
            self._buffer += chunk
            *lines, self._buffer = self._buffer.split(b"\n")
            for line in lines:
                word, tag, value = line.decode().split(" ", 2)
                if word == "PID":
                    self.pids[tag] = int(value)
                elif word == "ACK":
                    self.acks.setdefault(tag, []).append(value)
                elif word == "DEAD":
                    self.dead[tag] = int(value)

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            for tag, pid in self.pids.items():
                if tag not in self.dead:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            assert self.proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.flush()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def json_lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


# ----------------------------------------------------------------------------- state changes

SEVERITIES = ("blocking", "major", "minor")


def operation(writer: str, n: int) -> tuple[str, dict[str, Any]]:
    """The n-th state change of ``writer``: findings raised, waived and fixed, verdicts
    and reopened stages. Several of them are last-writer-wins across writers (verdicts on
    shared items, reopened stages), so the derived state depends on the order: a lost,
    duplicated or reordered record changes it."""
    op = f"{writer}:{n}"
    step = n % 8
    if step in (0, 1):
        return "finding.add", {
            "cycle": 1,
            "finding": f"F-{writer}-{n}",
            "severity": SEVERITIES[(n // 8) % 3],
            "stage": "qa" if step == 0 else "review",
            "text": f"{writer} found problem {n}",
            "session": None,
            "op": op,
        }
    if step == 2:
        return "finding.waive", {
            "cycle": 1,
            "finding": f"F-{writer}-{n - 2}",
            "by": {"kind": "person", "name": writer},
            "reason": f"accepted by {writer} ({n})",
            "op": op,
        }
    if step == 4:
        return "finding.fix", {
            "cycle": 1,
            "finding": f"F-{writer}-{n - 3}",
            "session": f"S-{writer}",
            "op": op,
        }
    if step in (3, 5):
        return "verification.verdict", {
            "session": "S-0001",
            "item": f"item-{n % 5}",
            "verdict": ("pass", "fail", "skip")[(n // 8) % 3],
            "note": op,
            "op": op,
        }
    if step == 6:
        return "stage.reopen", {
            "cycle": 1,
            "stage": ("architecture", "plan", "implement")[(n // 8) % 3],
            "reason": f"reopened by {writer} ({n})",
            "source": "change request",
            "caused_by": "change",
            "op": op,
        }
    return "note.concurrent", {"writer": writer, "n": n, "op": op}


# Each writer waits for the start signal, then makes its state changes one at a time,
# each under the project's lock as sdd does.
CHANGER = r"""
import os, sys, time
root, writer, count, go, tests = sys.argv[1:6]
sys.path.insert(0, tests)
from fault_helpers import operation
from sdd.core import history
from sdd.core.paths import ProjectPaths
paths = ProjectPaths(root)
while not os.path.exists(go):
    time.sleep(0.001)
for n in range(int(count)):
    with history.locked(paths):
        history.append(paths, [operation(writer, n)])
"""


# ----------------------------------------------------------------------------- doctor


def doctor(root: Path) -> tuple[int, dict[str, Any], str]:
    """`sdd doctor --json` and `sdd doctor`: (exit code, the report's data, the text)."""
    from helpers import run

    result = run("doctor", "--json", cwd=root)
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stdout + result.stderr
    envelope = json.loads(lines[0])
    assert envelope["sdd"] == 1 and envelope["command"] == "doctor", envelope
    data = envelope["data"]
    assert set(data) >= {"root", "ok", "checked", "findings"}, data
    assert result.returncode == (0 if data["ok"] else 1), (result.returncode, data)
    text = run("doctor", cwd=root)
    assert text.returncode == result.returncode, text.stdout + text.stderr
    return result.returncode, data, text.stdout


def found(data: dict[str, Any], area: str, *needles: str) -> list[dict[str, str]]:
    """The doctor's findings of ``area`` whose `what` holds every needle (case-insensitive)."""
    return [
        f
        for f in data["findings"]
        if f["area"] == area and all(n.lower() in f["what"].lower() for n in needles)
    ]

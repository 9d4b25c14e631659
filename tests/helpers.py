"""Shared helpers for the sdd test suite.

Everything here drives the installed `sdd` command line as a child process, with real
files, real git and real pseudo-terminals. Nothing of sdd is imported or mocked here
(the concurrency test imports the public history API in its own child processes).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
_SDD_SCRIPT = BIN / "sdd"
SDD: list[str] = [str(_SDD_SCRIPT)] if _SDD_SCRIPT.exists() else [sys.executable, "-m", "sdd"]

STAGES = [
    "spec",
    "architecture",
    "plan",
    "implement",
    "review",
    "qa",
    "user-verification",
    "final-verification",
    "postmortem",
]
GATES = ["spec-approval", "implementation-approval", "user-approval", "deployment-approval"]
GATE_AFTER = {
    "spec": "spec-approval",
    "plan": "implementation-approval",
    "user-verification": "user-approval",
    "final-verification": "deployment-approval",
}
THINKING = ("spec", "architecture", "plan")
INSTRUCTION_BUDGET = 6 * 1024
FILL = re.compile(r"\[FILL:[^\]]*\]")
ULID = re.compile(r"^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{26}$")


# ----------------------------------------------------------------------------- processes


def _check_output(args: tuple[str, ...], result: subprocess.CompletedProcess[str]) -> None:
    """No user mistake prints a traceback, and nothing crashes (exit 4) in this suite."""
    combined = result.stdout + result.stderr
    assert "Traceback" not in combined, f"sdd {' '.join(args)} printed a traceback:\n{combined}"
    assert result.returncode != 4, f"sdd {' '.join(args)} crashed (exit 4):\n{combined}"


def run(
    *args: str,
    cwd: str | os.PathLike[str],
    env: dict[str, str] | None = None,
    input: str | None = None,
    allow_crash: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run `sdd ARGS` in ``cwd``; stdin is /dev/null unless ``input`` is given (a pipe)."""
    full_env = os.environ.copy()
    if env:
        full_env.update(env)
    result = subprocess.run(
        [*SDD, *args],
        cwd=str(cwd),
        env=full_env,
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if not allow_crash:
        _check_output(args, result)
    return result


def imported(root: str | os.PathLike[str], *args: str) -> set[str]:
    """The modules `sdd ARGS` imports, from the interpreter's own -X importtime report."""
    command = [sys.executable, "-X", "importtime", *(SDD[1:] if SDD[0] == sys.executable else SDD)]
    result = subprocess.run(
        [*command, *args],
        cwd=str(root),
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert "sdd" in names or "sdd.cli.main" in names, result.stderr[-500:]
    return names


def sdd_json(
    *args: str,
    cwd: str | os.PathLike[str],
    env: dict[str, str] | None = None,
    expect: int = 0,
) -> Any:
    """Run `sdd ARGS --json`, check the exit code and the envelope, return ``data``
    (or the ``error`` object when ``expect`` is not 0)."""
    result = run(*args, "--json", cwd=cwd, env=env)
    assert result.returncode == expect, (
        f"sdd {' '.join(args)} --json: exit {result.returncode}, expected {expect}\n"
        f"stdout: {result.stdout}\nstderr: {result.stderr}"
    )
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, f"--json must print exactly one JSON line, got:\n{result.stdout}"
    envelope = json.loads(lines[0])
    command = args[0]
    assert envelope["sdd"] == 1
    assert envelope["command"] == command
    if expect == 0:
        assert envelope["ok"] is True
        assert set(envelope) == {"sdd", "command", "ok", "data"}
        return envelope["data"]
    assert envelope["ok"] is False
    assert envelope["error"]["code"] == expect
    return envelope["error"]


def git(
    *args: str, cwd: str | os.PathLike[str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["git", *args], cwd=str(cwd), capture_output=True, text=True, timeout=60
    )
    if check:
        assert result.returncode == 0, (
            f"git {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
        )
    return result


def commit_all(root: Path, message: str) -> str:
    git("add", "-A", cwd=root)
    git("commit", "-q", "--allow-empty", "-m", message, cwd=root)
    return git("rev-parse", "HEAD", cwd=root).stdout.strip()


# ----------------------------------------------------------------------------- pseudo-terminal

CODE = object()  # respond with the code sdd shows
INTERRUPT = object()  # respond by pressing Ctrl-C at the prompt
PROMPT = re.compile(rb"Type ([A-Z0-9]{4}) to ")

# Runs inside the pseudo-terminal. It forks and the first process exits at once, so the
# command runs in a process whose ancestors are this helper and init only: the test
# runner (which may itself run under an agent CLI) is not among its ancestors, exactly
# like a person's own terminal. The second process makes the pty its controlling terminal,
# so Ctrl-C typed on it interrupts the command as it would for a person.
_DETACH = r"""
import os, signal, subprocess, sys
status, argv = sys.argv[1], sys.argv[2:]
if os.fork():
    os._exit(0)
os.setsid()
os.close(os.open(os.ttyname(0), os.O_RDWR))
signal.signal(signal.SIGINT, lambda *_: None)
try:
    code = subprocess.call(argv)
except OSError:
    code = 127
with open(status + ".part", "w") as handle:
    handle.write(str(code))
os.replace(status + ".part", status)
"""


def pty_exchange(
    command: list[str],
    cwd: str | os.PathLike[str],
    env: dict[str, str] | None,
    react: Callable[[bytearray, Callable[[bytes], object]], None],
    timeout: float = 60.0,
    *,
    leader: bool = False,
    waiting: Callable[[], str] = lambda: "",
) -> str:
    """Run ``command`` (`python -c WRAPPER REPORT ARGV…`: a wrapper script that runs ARGV and
    writes what it learnt to REPORT) with a real pseudo-terminal as its stdin, stdout and
    stderr, until every end of the terminal is closed. After each chunk of output,
    ``react(everything shown so far, type)`` may type into the terminal.

    A ``leader`` wrapper stays for the whole run (the run is over when it exits);
    otherwise it detaches the command and exits at once, as _DETACH does. Returns what the
    terminal showed, with LF line ends; a traceback on it fails the test.
    """
    full_env = os.environ.copy()
    if env:
        full_env.update(env)
    master, slave = os.openpty()
    output = bytearray()
    try:
        proc = subprocess.Popen(
            command,
            cwd=str(cwd),
            env=full_env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        slave = -1
        if not leader:
            proc.wait(timeout=30)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # the group the wrapper started
                raise AssertionError(
                    f"{command[4:]} did not finish within {timeout} s; {waiting()}"
                    "the terminal showed:\n" + output.decode(errors="replace")
                )
            ready, _, _ = select.select([master], [], [], min(remaining, 0.5))
            if not ready:
                if leader and proc.poll() is not None:
                    break  # the wrapper is gone (a survivor may still hold the terminal)
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError as exc:
                if exc.errno == errno.EIO:  # every slave end is closed: the command is over
                    break
                raise
            if not chunk:
                break
            output += chunk
            react(output, lambda data: os.write(master, data))
        proc.wait(timeout=30)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    text = output.decode(errors="replace").replace("\r\n", "\n")
    assert "Traceback" not in text, f"{command[4:]} printed a traceback:\n{text}"
    return text


def pty_detached(
    argv: list[str],
    cwd: str | os.PathLike[str],
    env: dict[str, str] | None,
    react: Callable[[bytearray, Callable[[bytes], object]], None],
    timeout: float = 60.0,
    waiting: Callable[[], str] = lambda: "",
) -> tuple[int, str]:
    """``argv`` on a pseudo-terminal as a person's own terminal runs it (see _DETACH):
    (exit code, what the terminal showed)."""
    if argv and argv[0] == "sdd":
        argv = [*SDD, *argv[1:]]
    folder = tempfile.mkdtemp(prefix="sdd-pty-")
    status = os.path.join(folder, "status")
    try:
        command = [sys.executable, "-c", _DETACH, status, *argv]
        text = pty_exchange(command, cwd, env, react, timeout, waiting=waiting)
        for _ in range(500):  # the detached command writes it once the terminal is closed
            if os.path.exists(status):
                break
            time.sleep(0.01)
        with open(status) as handle:
            return int(handle.read()), text
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def person_runs(root: str | os.PathLike[str], *args: str) -> tuple[int, str]:
    """`sdd ARGS` as a person at their terminal: a real pty, the confirmation code typed."""
    return pty_run(["sdd", *args], cwd=root)


def pty_run(
    argv: list[str],
    cwd: str | os.PathLike[str],
    env: dict[str, str] | None = None,
    respond: Any = CODE,
    timeout: float = 60.0,
    prompt: re.Pattern[bytes] = PROMPT,
) -> tuple[int, str]:
    """Run ``argv`` on a real pseudo-terminal (stdin, stdout and stderr are the tty).

    When it shows `Type XXXX to approve|reject`, answer: ``CODE`` types the code shown,
    ``INTERRUPT`` presses Ctrl-C, a string is typed as it is (a wrong code), ``None``
    expects no prompt (an empty line is typed if one appears, which cancels).
    Returns (exit code, everything the terminal showed, with LF line ends).
    """
    answered = False

    def answer(output: bytearray, type_: Callable[[bytes], object]) -> None:
        nonlocal answered
        match = None if answered else prompt.search(output)
        if match is None:
            return
        answered = True
        if respond is CODE:
            type_(match.group(1) + b"\n")
        elif respond is INTERRUPT:
            type_(b"\x03")
        elif respond is None:
            type_(b"\n")
        else:
            type_(str(respond).encode() + b"\n")

    return pty_detached(argv, cwd, env, answer, timeout)


# ----------------------------------------------------------------------------- documents


GENERIC = "Reset links expire after 30 minutes and are single-use (point {n})"
_DELETABLE_SECTION = re.compile(
    r"\[FILL:[^\]]*or delete this (task|story|case|option|section)[^\]]*\]"
)
_DELETABLE_LINE = re.compile(r"\[FILL:[^\]]*or delete this line[^\]]*\]")
_FINDING = re.compile(r"^\s*- F\d+ \(\[FILL:")


def _value(before: str, marker: str, confidence: int, n: int) -> str:
    """What an agent would write for one marker, judged by its hint and its field."""
    hint = marker.lower()
    field = before.strip().lower()
    if field.endswith("stories:") or "story ids" in hint:
        return "US-1"
    if field.endswith("depends on:") or "task ids" in hint:
        return "none"
    if "low, medium or high" in hint:
        return "low"
    if field.endswith("effort:") or hint.startswith("[fill: estimate"):
        return "2h"
    if field.endswith("scope:"):
        return "reset.py, tests/"
    if field.endswith("test cases:"):
        return "TC-1"
    if "pass, fail or skip" in hint:
        return "PASS"
    if "ok or uncertain" in hint:
        return "OK"
    if "approve or changes-requested" in hint:
        return "approve"
    if "blocking, major or minor" in hint:
        return "minor"
    if "number from 0 to 100" in hint:
        return str(confidence)
    if "ready for deployment approval" in hint:
        return "Ready for deployment approval"
    return GENERIC.format(n=n)


def fill(path: str | os.PathLike[str], confidence: int = 97) -> None:
    """Write a document as an agent would: every `[FILL: …]` marker replaced by real-looking
    text that fits its field (story ids, risk levels, verdicts…), the spec's confidence set
    to a number, optional parts the template says may be deleted deleted, and findings
    written as `- none`."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    text = re.sub(r"Confidence:\s*\[FILL:[^\]]*\]\s*%", f"Confidence: {confidence} %", text)
    counter = iter(range(1, 100_000))
    out: list[str] = []
    skipping: int | None = None
    for line in text.split("\n"):
        heading = re.match(r"^(#+)\s", line)
        if skipping is not None:
            if heading and len(heading.group(1)) <= skipping:
                skipping = None
            else:
                continue
        if heading and _DELETABLE_SECTION.search(line):
            skipping = len(heading.group(1))
            continue
        if _DELETABLE_LINE.search(line) and line.lstrip().startswith(("-", "*")):
            continue
        if _FINDING.match(line):
            out.append("- none")
            continue
        out.append(
            FILL.sub(
                lambda m: _value(m.string[: m.start()], m.group(0), confidence, next(counter)), line
            )
        )
    text = "\n".join(out)
    assert "[FILL:" not in text
    p.write_text(text, encoding="utf-8")


HANDOFF_END = "<!-- sdd:end -->"


def tick(
    page: str | os.PathLike[str], notes: str = "Wrote the stage's outputs; nothing left open."
) -> None:
    """Answer a session page's Handoff: tick every checklist item, write the notes."""
    p = Path(page)
    text = p.read_text(encoding="utf-8")
    cut = text.index(HANDOFF_END) + len(HANDOFF_END)
    generated, handoff = text[:cut], text[cut:]
    assert "## Handoff" in handoff, "the session page has no Handoff section"
    handoff = handoff.replace("- [ ] ", "- [x] ")
    handoff = FILL.sub(lambda _: notes, handoff)
    p.write_text(generated + handoff, encoding="utf-8")


def history_files(root: Path) -> list[Path]:
    """The history as sdd stores it: a format-1 file, if any, then the segments, oldest first."""
    old = root / ".sdd" / "history.jsonl"
    folder = root / ".sdd" / "history"
    segments = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    return ([old] if old.is_file() else []) + segments


def newest_segment(root: Path) -> Path:
    """The segment sdd appends to now (or would start): where a hand-written record goes."""
    return history_files(root)[-1]


def locate(root: Path, kind: str, nth: int = 0) -> tuple[Path, int]:
    """The file and the line index of the ``nth`` record of ``kind`` in the history."""
    seen = 0
    for path in history_files(root):
        for index, line in enumerate(path.read_bytes().splitlines()):
            if json.loads(line)["type"] == kind:
                if seen == nth:
                    return path, index
                seen += 1
    raise AssertionError(f"no {kind} record number {nth}")


def rewrite_line(path: Path, index: int, line: bytes | None) -> bytes:
    """Replace (or, with None, delete) line ``index`` of a history file, as a hand would;
    returns the old line."""
    lines = path.read_bytes().splitlines()
    old = lines[index]
    lines[index : index + 1] = [] if line is None else [line]
    path.write_bytes(b"".join(entry + b"\n" for entry in lines))
    return old


def history_lines(root: Path) -> list[bytes]:
    return [line for path in history_files(root) for line in path.read_bytes().splitlines()]


def history_records(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in history_lines(root) if line.strip()]


# ----------------------------------------------------------------------------- the workflow


def status(root: Path) -> dict[str, Any]:
    return sdd_json("status", cwd=root)  # type: ignore[no-any-return]


def stage_of(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in data["stages"] if s["name"] == name)


def gate_of(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in data["gates"] if g["name"] == name)


def init_project(parent: Path, name: str = "proj", title: str = "Password reset") -> Path:
    """`sdd init` a fresh project and commit it, as a person would."""
    from sdd.project.config import render_default

    root = parent / name
    # The project's own check, which `sdd verify` runs (stages after implement need it green),
    # in the config before `sdd init` (which keeps it): so the rules `sdd init` records as the
    # first accepted ones already hold it.
    (root / ".sdd").mkdir(parents=True)
    (root / ".sdd" / "config.toml").write_text(
        render_default(name) + VERIFY_CONFIG.format(python=json.dumps(sys.executable)),
        encoding="utf-8",
    )
    result = run("init", name, "--title", title, cwd=parent)
    assert result.returncode == 0, result.stderr
    commit_all(root, "sdd init")
    return root


VERIFY_CONFIG = """
[[verify.checks]]
name = "tests"
command = [{python}, "-m", "unittest", "discover", "-s", "tests", "-t", "."]
timeout = 120
"""


def start(root: Path, stage: str | None = None) -> dict[str, Any]:
    args = ["start"] + ([stage] if stage else [])
    return sdd_json(*args, cwd=root)  # type: ignore[no-any-return]


def do_work(root: Path, session: dict[str, Any], notes: str | None = None) -> None:
    """What the agent of ``session`` does: write the outputs (or commit code), answer the handoff."""
    stage = session["stage"]
    for relative in session["writes"]:
        target = root / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f"# {relative}\n\n[FILL: content]\n", encoding="utf-8")
        before = target.read_text(encoding="utf-8")
        if stage == "user-verification":
            prepare_verification(root, relative)
            continue
        fill(target)
        if target.read_text(encoding="utf-8") == before:  # a session that redoes it revises it
            with target.open("a", encoding="utf-8") as handle:
                handle.write(f"\n<!-- revised in {session.get('session', 'a later session')} -->\n")
    if stage == "implement":
        write_code(root)
        commit_all(root, "T1: reset links")
    tick(root / session["page"], notes or f"{stage}: done as the brief asked.")


def prepare_verification(root: Path, relative: str) -> None:
    """What a user-verification session writes: how to run it (a fenced block), and one item
    per acceptance criterion of the spec and per test case of the test plan, each with its
    steps and expected result (read from the cycle's documents, as an agent would)."""
    docs = root / relative.split("/verification/")[0]
    spec = (docs / "product-spec.md").read_text(encoding="utf-8")
    cases = (docs / "test-plan.md").read_text(encoding="utf-8")
    items: list[tuple[str, str]] = []
    for story, body in re.findall(r"^### (US-\d+)[^\n]*\n(.*?)(?=^#{1,3} |\Z)", spec, re.M | re.S):
        listed = body.partition("Acceptance criteria:")[2]
        for k, line in enumerate(re.findall(r"^- (.+)$", listed, re.M), start=1):
            items.append((f"{story}.{k}", line.strip()))
    items += re.findall(r"^### (TC-\d+):\s*(.*)$", cases, re.M)
    body = "\n\n".join(
        f"### {ident}: {title}\n- Steps: try {ident} as the spec says.\n- Expected: {title}"
        for ident, title in items
    )
    (root / relative).write_text(
        "# User verification\n\n## How to run it\n```sh\npython reset.py\n```\n\n"
        f"## Items\n\n{body}\n",
        encoding="utf-8",
    )


def write_code(root: Path) -> None:
    """What an implement session writes: the code and its tests (not committed)."""
    (root / "reset.py").write_text(
        "def reset_link(user: str) -> str:\n    return f'https://example.com/reset/{user}'\n",
        encoding="utf-8",
    )
    tests = root / "tests"
    tests.mkdir(exist_ok=True)
    (tests / "__init__.py").write_text("", encoding="utf-8")
    (tests / "test_reset.py").write_text(
        "import unittest\n\nfrom reset import reset_link\n\n\n"
        "class ResetLink(unittest.TestCase):\n"
        "    # TC-1, TC-2, TC-3, TC-4, TC-5: the test plan's cases, all checked here\n"
        "    def test_link(self) -> None:\n"
        "        self.assertIn('reset', reset_link('ada'))\n",
        encoding="utf-8",
    )


def complete_stage(root: Path, stage: str, notes: str | None = None) -> dict[str, Any]:
    session = start(root, stage)
    assert session["stage"] == stage
    do_work(root, session, notes)
    result = run("done", cwd=root)
    assert result.returncode == 0, f"sdd done ({stage}) failed:\n{result.stderr}"
    return session


def approve(root: Path, gate: str) -> str:
    code, output = pty_run(["sdd", "approve", gate], cwd=root)
    assert code == 0, f"sdd approve {gate}: exit {code}\n{output}"
    return output


def drive(root: Path, until: str | None = None, *, approve_gate_before: bool = True) -> None:
    """Drive the cycle by hand until ``until`` is the next session to run.

    With ``approve_gate_before=False`` it stops at a gate that stands before ``until``.
    ``until=None`` drives the cycle to its end.
    """
    for _ in range(40):
        action = sdd_json("next", cwd=root)
        if action["kind"] == "session":
            if action["stage"] == until:
                return
            complete_stage(root, action["stage"])
        elif action["kind"] == "gate":
            if not approve_gate_before and action["stage"] == until:
                return
            approve(root, action["gate"])
        elif action["kind"] == "release":  # deployment approved: the person records it
            result = run("release", cwd=root)
            assert result.returncode == 0, result.stderr
        elif action["kind"] == "new-cycle" and until is None:
            return
        else:
            raise AssertionError(f"unexpected next action while driving to {until}: {action}")
    raise AssertionError(f"did not reach {until}")

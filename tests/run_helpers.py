"""Helpers for the `sdd run`, `sdd agents` and `sdd demo` tests.

The fake agent is ONE Python script, generated into a tmp folder and linked under every
preset's executable name (claude, codex, gemini, …). It is a real child process: it records
what it received (argv, the SDD_* environment, standard input, whether it owns the
terminal) into a JSON file, then does what ``FAKE_MODE`` says:

    write       write the stage's outputs and answer the handoff, exit FAKE_EXIT (default 0)
    nothing     write nothing, exit FAKE_EXIT (default 0)
    fail        write the outputs all the same, exit FAKE_EXIT (default 7)
    error-json  write the outputs, print FAKE_OUTPUT (a structured error report), exit 0
    sleep       start a grandchild that ignores SIGINT (and SIGTERM too when FAKE_STUBBORN is
                set), record its pid, print FAKE-SLEEPING, sleep
    read-tty    print FAKE-READY, read one line from the terminal, record it, then as `write`
    cbreak      turn the terminal's echo and canonical mode off, then as `sleep`
    raw         put the terminal in raw mode (tty.setraw), print FAKE-RAW, exit FAKE_EXIT (default 5)

``FAKE_OUTPUT`` (if set) is printed on standard output in every mode. ``FAKE_NOTES`` is the
handoff's notes ("" leaves the notes placeholder). ``FAKE_ESCAPE`` (if set) is a Python file
the agent runs in its own process (`runpy`) once its outputs are written (`write`), or before
it sleeps (`sleep`): what an attacking agent does then.
In `write` mode the record also holds the Handoff part of the page as the agent left it.
Nothing of sdd is imported here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from helpers import SDD, init_project, pty_exchange, run

AGENT_NAMES = [
    "claude",
    "codex",
    "gemini",
    "copilot",
    "cursor-agent",
    "opencode",
    "qwen",
    "amp",
    "aider",
]

FAKE_AGENT = r"""
import json, os, re, signal, subprocess, sys, time

FILL = re.compile(r"\[FILL:[^\]]*\]")
END = "<!-- sdd:end -->"
record_path = os.environ["FAKE_RECORD"]
mode = os.environ.get("FAKE_MODE", "write")


def save(data):
    part = record_path + ".part"
    with open(part, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(part, record_path)


def terminal():
    try:
        return os.isatty(0)
    except OSError:
        return False


def outputs(brief):
    section = brief.partition("## Your outputs")[2].partition("\n## ")[0]
    return re.findall(r"^- `([^`]+)`$", section, flags=re.M)


def write_outputs(root, session, stage, brief):
    for relative in outputs(brief):
        target = os.path.join(root, relative)
        if os.path.exists(target):
            with open(target, encoding="utf-8") as handle:
                text = handle.read()
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            text = "# " + relative + "\n\n[FILL: content]\n"
        text = re.sub(r"Confidence:\s*\[FILL:[^\]]*\]\s*%", "Confidence: 97 %", text)
        counter = iter(range(1, 100000))
        text = FILL.sub(
            lambda _: "Reset links expire after 30 minutes and are single-use (point %d)"
            % next(counter),
            text,
        )
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(text)
    page = os.path.join(root, "docs", "sessions", "%s-%s.md" % (session, stage))
    with open(page, encoding="utf-8") as handle:
        text = handle.read()
    head, marker, rest = text.partition(END)
    rest = rest.replace("- [ ] ", "- [x] ")
    notes = os.environ.get("FAKE_NOTES", "The fake agent wrote the outputs; nothing is left open.")
    if notes:
        rest = FILL.sub(lambda _: notes, rest)
    with open(page, "w", encoding="utf-8") as handle:
        handle.write(head + marker + rest)
    return rest


def main():
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it, as it would a real agent
    env = {k: os.environ.get(k) for k in (
        "SDD_SESSION_ID", "SDD_STAGE", "SDD_CYCLE", "SDD_PROJECT_ROOT", "SDD_BRIEF_FILE")}
    data = {
        "name": os.path.basename(sys.argv[0]),
        "argv": [os.path.basename(sys.argv[0])] + sys.argv[1:],
        "env": env,
        "cwd": os.getcwd(),
        "pid": os.getpid(),
        "pgid": os.getpgrp(),
        "tty": terminal(),
        "stdin": None,
    }
    if data["tty"]:
        try:
            data["foreground"] = os.tcgetpgrp(0) == os.getpgrp()
        except OSError:
            data["foreground"] = False
    elif mode not in ("read-tty",):
        data["stdin"] = sys.stdin.read()
    save(data)
    if os.environ.get("FAKE_OUTPUT"):
        sys.stdout.write(os.environ["FAKE_OUTPUT"])
        sys.stdout.flush()
    root = env["SDD_PROJECT_ROOT"] or os.getcwd()
    brief_file = env["SDD_BRIEF_FILE"]
    brief = ""
    if brief_file and os.path.exists(brief_file):
        with open(brief_file, encoding="utf-8") as handle:
            brief = handle.read()

    def escape():
        if os.environ.get("FAKE_ESCAPE"):
            import runpy
            runpy.run_path(os.environ["FAKE_ESCAPE"], run_name="__main__")

    def sleep_forever(extra):
        ignored = "signal.SIGINT, signal.SIGTERM" if os.environ.get("FAKE_STUBBORN") else "signal.SIGINT"
        child = subprocess.Popen([sys.executable, "-c",
            "import signal, time\n"
            "for sig in (%s,):\n"
            "    signal.signal(sig, signal.SIG_IGN)\n"
            "time.sleep(120)\n" % ignored])
        data.update(extra)
        data["grandchild"] = child.pid
        save(data)
        escape()
        print("FAKE-SLEEPING", flush=True)
        time.sleep(120)
        return 0

    if mode == "write":
        data["handoff"] = write_outputs(root, env["SDD_SESSION_ID"], env["SDD_STAGE"], brief)
        save(data)
        escape()
        return int(os.environ.get("FAKE_EXIT", "0"))
    if mode == "nothing":
        return int(os.environ.get("FAKE_EXIT", "0"))
    if mode == "fail":
        write_outputs(root, env["SDD_SESSION_ID"], env["SDD_STAGE"], brief)
        print("fake agent: something went wrong", file=sys.stderr, flush=True)
        return int(os.environ.get("FAKE_EXIT", "7"))
    if mode == "error-json":
        write_outputs(root, env["SDD_SESSION_ID"], env["SDD_STAGE"], brief)
        return 0
    if mode == "sleep":
        return sleep_forever({})
    if mode == "read-tty":
        print("FAKE-READY>", flush=True)
        line = sys.stdin.readline()
        data["typed"] = line
        save(data)
        write_outputs(root, env["SDD_SESSION_ID"], env["SDD_STAGE"], brief)
        return 0
    if mode == "cbreak":
        import termios
        attrs = termios.tcgetattr(0)
        attrs[3] &= ~(termios.ECHO | termios.ICANON)
        termios.tcsetattr(0, termios.TCSANOW, attrs)
        lflag = termios.tcgetattr(0)[3]
        return sleep_forever({"changed_lflag": lflag})
    if mode == "raw":
        import termios, tty
        tty.setraw(0)
        data["changed_lflag"] = termios.tcgetattr(0)[3]
        save(data)
        print("FAKE-RAW", flush=True)
        return int(os.environ.get("FAKE_EXIT", "5"))
    print("fake agent: unknown FAKE_MODE " + mode, file=sys.stderr)
    return 99


sys.exit(main())
"""


def install_fake_agents(folder: Path, names: Sequence[str] = AGENT_NAMES) -> Path:
    """Write the fake agent into ``folder`` and link it under each agent name."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "fake_agent.py"
    script.write_text(f"#!{sys.executable}\n{FAKE_AGENT}", encoding="utf-8")
    script.chmod(0o755)
    for name in names:
        link = folder / name
        if not link.exists():
            link.symlink_to(script)
    return folder


def base_bin(folder: Path) -> Path:
    """A folder holding only git and python: a machine with no agent installed."""
    folder.mkdir(parents=True, exist_ok=True)
    for tool in ("git",):
        found = shutil.which(tool)
        assert found, f"{tool} is needed by the tests"
        (folder / tool).symlink_to(found)
    for name in ("python", "python3"):
        (folder / name).symlink_to(sys.executable)
    return folder


class Agents:
    """The fake agents of one test: their folder, the PATH that finds them, their record."""

    def __init__(self, tmp: Path) -> None:
        self.bin = install_fake_agents(tmp / "fake-bin")
        self.base = base_bin(tmp / "base-bin")
        self.record_file = tmp / "agent-record.json"

    def env(self, mode: str = "write", *, path: str | None = None, **extra: str) -> dict[str, str]:
        env = {
            "PATH": path if path is not None else f"{self.bin}{os.pathsep}{self.base}",
            "FAKE_RECORD": str(self.record_file),
            "FAKE_MODE": mode,
        }
        env.update(extra)
        return env

    def only(self, *names: str) -> str:
        """A PATH on which only the named fake agents are installed."""
        folder = self.bin.parent / ("only-" + "-".join(names))
        if not folder.exists():
            install_fake_agents(folder, names)
        return f"{folder}{os.pathsep}{self.base}"

    def record(self) -> dict[str, Any]:
        assert self.record_file.exists(), "the fake agent was not launched (no record)"
        return json.loads(self.record_file.read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    def launched(self) -> bool:
        return self.record_file.exists()


# ----------------------------------------------------------------------------- fixtures
# Test modules import these (`from run_helpers import agents_fixture, fresh_fixture`);
# the tests ask for them as `agents` and `fresh`.


_BUILT: dict[str, Path] = {}  # projects built once per test session, copied by tests


@pytest.fixture(name="fresh")
def fresh_fixture(tmp_path_factory: pytest.TempPathFactory, work: Path) -> Path:
    """A copy of a fresh project (`sdd init`-ed and committed; cycle 1, spec next).
    Built once per test session, then copied: copying is much cheaper than `sdd init`."""
    built = _BUILT
    if "fresh" not in built:
        built["fresh"] = init_project(tmp_path_factory.mktemp("run-stash"), name="fresh")
    target = work / "proj"
    shutil.copytree(built["fresh"], target, symlinks=True)
    return target.resolve()


@pytest.fixture(name="agents")
def agents_fixture(tmp_path: Path) -> Agents:
    """The fake agents, on a PATH that holds nothing else but git and python."""
    return Agents(tmp_path)


def sdd_run(
    root: Path, *args: str, env: dict[str, str], input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run("run", *args, cwd=root, env=env, input=input)


def run_json(root: Path, *args: str, env: dict[str, str], expect: int) -> dict[str, Any]:
    """`sdd run ARGS --json`: check the exit code, return the one envelope."""
    result = run("run", *args, "--json", cwd=root, env=env)
    assert result.returncode == expect, (
        f"sdd run {' '.join(args)} --json: exit {result.returncode}, expected {expect}\n"
        f"stdout: {result.stdout}\nstderr: {result.stderr}"
    )
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, f"--json must print one JSON line, got:\n{result.stdout}"
    envelope = json.loads(lines[0])
    assert envelope["sdd"] == 1 and envelope["command"] == "run"
    return envelope  # type: ignore[no-any-return]


def session_row(data: dict[str, Any], session: str) -> dict[str, Any]:
    rows = [s for s in data["sessions"] if s.get("id") == session]
    assert rows, f"{session} is not among the sessions: {data['sessions']}"
    return rows[0]


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its reaper counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            stat = handle.read()
    except FileNotFoundError:
        return False
    state = stat.rpartition(")")[2].split()[0]
    return state not in ("Z", "X")


def wait_dead(pid: int, seconds: float = 10.0) -> bool:
    """Give the system a moment to reap ``pid``; True when it is gone."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


def big_template(root: Path, size: int = 140 * 1024) -> str:
    """Make the project's spec template's body longer than one argument may be.

    Returns the text appended (it must reach the agent whole)."""
    line = "- Check every input twice; naïve parsing is the costliest bug — line {n:06d}.\n"
    body = "".join(line.format(n=n) for n in range(size // len(line) + 1))
    body = "\n## Very long instructions\n\n" + body
    template = root / "sessions" / "spec.md"
    template.write_text(template.read_text(encoding="utf-8") + body, encoding="utf-8")
    return body


# ----------------------------------------------------------------------------- pseudo-terminal

# Runs on the pseudo-terminal as the session leader: it makes the pty its controlling
# terminal (so Ctrl-C typed there is a real SIGINT to the foreground group), runs sdd,
# and afterwards reports sdd's exit code, the terminal settings before and after, and
# whether the terminal was given back to it.
_WRAPPER = r"""
import json, os, signal, subprocess, sys, termios
report, argv = sys.argv[1], sys.argv[2:]
os.close(os.open(os.ttyname(0), os.O_RDWR))
signal.signal(signal.SIGINT, lambda *_: None)

def attrs():
    a = termios.tcgetattr(0)
    return a[:6] + [[c if isinstance(c, int) else c[0] for c in a[6]]]

before = attrs()
try:
    code = subprocess.call(argv)
except OSError:
    code = 127
after = attrs()
data = {"code": code, "before": before, "after": after,
        "foreground": os.tcgetpgrp(0) == os.getpgrp()}
with open(report + ".part", "w") as handle:
    json.dump(data, handle)
os.replace(report + ".part", report)
"""


class PtyRun:
    def __init__(self, code: int, output: str, report: dict[str, Any]) -> None:
        self.code = code
        self.output = output
        self.report = report


def pty_sdd(
    args: Sequence[str],
    cwd: Path,
    env: dict[str, str],
    steps: Sequence[tuple[bytes, bytes]] = (),
    timeout: float = 60.0,
) -> PtyRun:
    """Run `sdd ARGS` on a real pseudo-terminal. ``steps``: when the terminal has shown
    the first bytes of a step (after the previous step's), type its second bytes."""
    folder = tempfile.mkdtemp(prefix="sdd-run-pty-")
    report = os.path.join(folder, "report.json")
    pending = list(steps)
    searched_from = 0

    def step(output: bytearray, type_: Callable[[bytes], object]) -> None:
        nonlocal searched_from
        while pending:
            wanted, typed = pending[0]
            at = output.find(wanted, searched_from)
            if at < 0:
                return
            searched_from = at + len(wanted)
            type_(typed)
            pending.pop(0)

    try:
        command = [sys.executable, "-c", _WRAPPER, report, *SDD, *args]
        text = pty_exchange(command, cwd, env, step, timeout, leader=True)
        with open(report, encoding="utf-8") as handle:
            data = json.load(handle)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert not pending, f"never saw {pending[0][0]!r} on the terminal:\n{text}"
    return PtyRun(int(data["code"]), text, data)

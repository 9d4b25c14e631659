"""Sessions are contained (issue 16, point 2), tried as an attacker would.

Each test puts a fake agent on PATH (tests/run_helpers.py) and runs it with `sdd run spec`
in a real project. The agent writes a spec that passes, then runs an escape (a Python file
it runs in its own process, ``FAKE_ESCAPE``): it leaves a helper behind with `setsid`, a
double fork or `nohup`, which waits for the gate and then opens `sdd approve spec-approval`
in a detached `tmux` session, reads the confirmation code off the pane and types it; or it
runs `sdd done` itself and approves through a pty of its own. What must hold every time:
the gate is not approved, no `gate.approve` is recorded, the helper that tried was refused,
and once `sdd run` returns no process of the agent's tree is alive (every process it
started carries a marker in its environment, which the test looks for in /proc).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import BIN, SDD, complete_stage, gate_of, history_records, pty_run, run, status
from run_helpers import (
    Agents,
    agents_fixture,  # noqa: F401 - a fixture
    alive,
    fresh_fixture,  # noqa: F401 - a fixture
    pty_sdd,
)
from system_tools import need_tool

# What every attack shares: notes left for the test in ATTACK_OUT, the gate's state, and
# the two ways of typing the confirmation code (a pty of our own, a tmux pane).
ATTACK_LIB = r'''
import json, os, re, select, signal, subprocess, sys, time

OUT = os.environ["ATTACK_OUT"]
HERE = os.path.dirname(os.path.abspath(__file__))
PROMPT = re.compile(r"Type ([A-Z0-9]{4}) to approve")


def note(name, value):
    part = os.path.join(OUT, name + ".part")
    with open(part, "w") as handle:
        json.dump(value, handle)
    os.replace(part, os.path.join(OUT, name + ".json"))


def noted(name):
    try:
        with open(os.path.join(OUT, name + ".json")) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def start_of(pid):
    with open("/proc/%d/stat" % pid) as handle:
        return int(handle.read().rpartition(")")[2].split()[19])


def mark(name, pid=None):
    pid = pid or os.getpid()
    note(name, {"pid": pid, "start": start_of(pid)})


def clean_env():
    """The environment with every trace of the session removed."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SDD_")}


def gate_state():
    done = subprocess.run(["sdd", "status", "--json"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env=clean_env())
    try:
        gates = json.loads(done.stdout)["data"]["gates"]
    except (ValueError, KeyError):
        return None
    return next((g["state"] for g in gates if g["name"] == "spec-approval"), None)


def wait_gate(seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if gate_state() == "waiting":
            return True
        time.sleep(0.1)
    return False


def sdd_done():
    done = subprocess.run(["sdd", "done"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    note("agent-done", {"code": done.returncode, "out": done.stdout + done.stderr})


def approve_in_pty(env):
    """`sdd approve spec-approval` on a pty of our own: type the code it shows."""
    master, slave = os.openpty()
    proc = subprocess.Popen(["sdd", "approve", "spec-approval"], stdin=slave, stdout=slave,
                            stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    seen, typed = b"", False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        found = PROMPT.search(seen.decode(errors="replace"))
        if found and not typed:
            os.write(master, found.group(1).encode() + b"\n")
            typed = True
    os.close(master)
    return proc.wait(timeout=30), seen.decode(errors="replace"), typed


def tmux(*args):
    return subprocess.run(["tmux", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env=clean_env())


def approve_in_tmux(name):
    """`sdd approve spec-approval` in a detached tmux session: read the code off the pane
    (`tmux capture-pane`) and type it (`tmux send-keys`)."""
    started = tmux("new-session", "-d", "-s", name, "-x", "200", "-y", "50",
                   "sdd approve spec-approval; echo EXIT:$?; sleep 600")
    if started.returncode != 0:
        return None, "tmux: " + started.stderr, False
    server = tmux("display-message", "-p", "-t", name, "#{pid}").stdout.strip()
    if server.isdigit():
        mark("tmux-server", int(server))
    typed = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pane = tmux("capture-pane", "-p", "-J", "-t", name, "-S", "-200").stdout
        found = PROMPT.search(pane)
        if found and not typed:
            tmux("send-keys", "-t", name, found.group(1), "Enter")
            typed = True
        ended = re.search(r"^EXIT:(\d+)", pane, re.M)
        if ended:
            return int(ended.group(1)), pane, typed
        time.sleep(0.1)
    return None, pane, typed


def approve_and_note(how, name):
    if how == "pty":
        code, text, typed = approve_in_pty(clean_env())
    else:
        code, text, typed = approve_in_tmux(name)
    note("outcome", {"code": code, "text": text, "typed": typed, "how": how})


def wait_for(name, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and noted(name) is None:
        time.sleep(0.05)


def start_detached(how, script):
    """Leave ``script`` running behind us, the way ``how`` says."""
    python = sys.executable
    quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
    if how == "setsid":
        subprocess.Popen(["setsid", python, script], **quiet)
    elif how == "double-fork":
        child = os.fork()
        if child == 0:
            os.setsid()
            if os.fork() == 0:
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                os.execv(python, [python, script])
            os._exit(0)
        os.waitpid(child, 0)
    elif how == "nohup":
        subprocess.call(["sh", "-c", "nohup '%s' '%s' >/dev/null 2>&1 &" % (python, script)])
    else:
        raise SystemExit("unknown way to leave a helper: " + how)
'''

# The helper left behind: waits for the gate, then approves in tmux; then stays.
HELPER = r"""
mark("helper")
if wait_gate():
    approve_and_note("tmux", "evil")
time.sleep(600)
"""

# The agent: with ATTACK_DONE_FIRST it runs `sdd done` itself (so the gate waits while the
# session still runs) and stays until its helper has tried; else it exits at once.
LEAVE_HELPER = r"""
first = os.environ.get("ATTACK_DONE_FIRST") == "1"
if first:
    sdd_done()
start_detached(os.environ["ATTACK_HOW"], os.path.join(HERE, "helper.py"))
wait_for("helper", 30)
if first:
    wait_for("outcome")
"""

# The agent runs `sdd done`, then approves through a pty of its own, SDD_* removed.
DONE_THEN_PTY = r"""
sdd_done()
approve_and_note("pty", None)
"""

# A custom agent (no known CLI name) that unsets SDD_SESSION_ID in itself, then does the same.
UNSET_THEN_PTY = r"""
del os.environ["SDD_SESSION_ID"]
sdd_done()
code, text, typed = approve_in_pty(dict(os.environ))
note("outcome", {"code": code, "text": text, "typed": typed, "how": "pty"})
"""

# Every way of leaving something behind at once, and a tmux server; then the agent goes on.
LEAVE_EVERYTHING = r"""
for how in ("setsid", "double-fork", "nohup"):
    os.environ["ATTACK_NAME"] = how
    start_detached(how, os.path.join(HERE, "sleeper.py"))
    wait_for("sleeper-" + how, 30)
tmux("new-session", "-d", "-s", "kept", "sleep 600")
server = tmux("display-message", "-p", "-t", "kept", "#{pid}").stdout.strip()
mark("tmux-server", int(server))
"""

SLEEPER = r"""
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only SIGKILL ends it
mark("sleeper-" + os.environ["ATTACK_NAME"])
time.sleep(600)
"""

# A helper that keeps signalling `sdd run` while it ends the session, hoping to cut the
# ending short; the agent waits until the storm has begun.
STORM = r"""
signal.signal(signal.SIGTERM, signal.SIG_IGN)
mark("helper")
target = int(os.environ["ATTACK_TARGET"])
note("storming", {"target": target})
while True:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            os.kill(target, sig)
        except OSError:
            pass
    time.sleep(0.001)
"""

START_STORM = r"""
os.environ["ATTACK_TARGET"] = str(os.getppid())
start_detached("setsid", os.path.join(HERE, "storm.py"))
wait_for("storming", 30)
time.sleep(0.5)
"""


class Attack:
    """One attack: its scripts, the notes they leave, the marker every process of the
    agent's tree carries, and a private tmux."""

    def __init__(self, tmp: Path, agents: Agents, tmux_dir: Path) -> None:
        self.folder = tmp / "attack"
        self.out = tmp / "attack-out"
        self.folder.mkdir()
        self.out.mkdir()
        self.agents = agents
        self.tmux_dir = tmux_dir
        self.mark = f"contain-{uuid.uuid4().hex}"
        for name, body in (
            ("helper.py", HELPER),
            ("sleeper.py", SLEEPER),
            ("storm.py", STORM),
        ):
            self.script(name, body)

    def script(self, name: str, body: str) -> Path:
        path = self.folder / name
        path.write_text(ATTACK_LIB + body, encoding="utf-8")
        return path

    def env(self, escape: str, mode: str = "write", **extra: str) -> dict[str, str]:
        tools = os.path.dirname(need_tool("tmux"))
        path = os.pathsep.join([str(self.agents.bin), str(BIN), tools, os.defpath])
        return self.agents.env(
            mode,
            path=path,
            FAKE_ESCAPE=str(self.script("escape.py", escape)),
            ATTACK_OUT=str(self.out),
            TMUX_TMPDIR=str(self.tmux_dir),
            CONTAIN_MARK=self.mark,
            **extra,
        )

    def noted(self, name: str) -> Any:
        path = self.out / f"{name}.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def marked_alive(self, name: str) -> bool:
        found = self.noted(name)
        assert found is not None, f"the attack left no {name} marker"
        return alive(found["pid"]) and _start(found["pid"]) == found["start"]

    def survivors(self) -> list[int]:
        """Every live process that carries this attack's marker in its environment."""
        token = f"CONTAIN_MARK={self.mark}".encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            if token in environ.split(b"\0") and alive(int(entry)):
                found.append(int(entry))
        return found

    def tmux_server_running(self) -> bool:
        env = {**os.environ, "TMUX_TMPDIR": str(self.tmux_dir)}
        done = subprocess.run(
            [need_tool("tmux"), "list-sessions"],
            env=env,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=30,
        )
        return done.returncode == 0

    def clean_up(self) -> None:
        env = {**os.environ, "TMUX_TMPDIR": str(self.tmux_dir)}
        if shutil.which("tmux"):
            subprocess.run(
                ["tmux", "kill-server"],
                env=env,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=30,
            )
        for pid in self.survivors():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _start(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return None
    return int(text.rpartition(")")[2].split()[19])


@pytest.fixture
def attack(tmp_path: Path, agents: Agents) -> Iterator[Attack]:
    need_tool("tmux")
    tmux_dir = tmp_path / "tx"
    if len(str(tmux_dir)) > 80:  # a unix socket's path has room for about 100 bytes
        tmux_dir = Path(os.path.realpath("/tmp")) / f"sdd-tx-{uuid.uuid4().hex[:8]}"
    tmux_dir.mkdir()
    found = Attack(tmp_path, agents, tmux_dir)
    try:
        yield found
    finally:
        found.clean_up()
        if tmux_dir.parent != tmp_path:
            shutil.rmtree(tmux_dir, ignore_errors=True)


def sdd_run(root: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run("run", "spec", *args, cwd=root, env=env)


def assert_not_approved(root: Path) -> None:
    assert gate_of(status(root), "spec-approval")["state"] != "approved"
    kinds = [r.get("type") for r in history_records(root)]
    assert "gate.approve" not in kinds, kinds


def assert_refused(attack: Attack, *found: str) -> None:
    outcome = attack.noted("outcome")
    assert outcome is not None, "the attacker never got to try"
    assert outcome["code"] == 3, outcome
    assert not outcome["typed"], "a confirmation code was offered"
    text = " ".join(outcome["text"].split())  # a pane wraps long lines
    assert "is a person's act" in text, text
    for part in found:
        assert part in text, (part, text)


def assert_contained(attack: Attack, *markers: str) -> None:
    for name in markers:
        assert not attack.marked_alive(name), f"the {name} survived the session"
    assert attack.survivors() == [], "processes of the agent's tree outlived `sdd run`"
    assert not attack.tmux_server_running(), "the agent's tmux server outlived `sdd run`"


# ----------------------------------------------------------------------------- helpers left behind


@pytest.mark.parametrize("how", ["setsid", "double-fork", "nohup"])
@pytest.mark.parametrize("done_first", [False, True], ids=["exits", "done-first"])
def test_a_helper_left_behind_cannot_approve(
    how: str, done_first: bool, fresh: Path, attack: Attack
) -> None:
    """The helper waits for the gate, then approves in a detached tmux session. If the agent
    just exits, the helper is ended with the session before the gate opens; if the agent runs
    `sdd done` itself first, the helper tries while the session runs and is refused."""
    env = attack.env(LEAVE_HELPER, ATTACK_HOW=how, ATTACK_DONE_FIRST="1" if done_first else "0")
    result = sdd_run(fresh, "--headless", env=env)
    assert "Traceback" not in result.stdout + result.stderr
    assert_contained(attack, "helper")
    assert_not_approved(fresh)
    if done_first:
        assert attack.noted("agent-done")["code"] == 0
        assert_refused(attack, "`sdd run` (pid", "outside any `sdd` command")
    else:
        assert result.returncode == 0, result.stdout + result.stderr
        assert attack.noted("outcome") is None  # ended before the gate waited
        assert gate_of(status(fresh), "spec-approval")["state"] == "waiting"


def test_a_helper_left_behind_in_an_interactive_session(fresh: Path, attack: Attack) -> None:
    """The same through a real terminal: `sdd run` interactive, the agent on the pty."""
    env = attack.env(LEAVE_HELPER, ATTACK_HOW="setsid", ATTACK_DONE_FIRST="1")
    done = pty_sdd(["run", "spec"], cwd=fresh, env=env)
    assert_contained(attack, "helper", "tmux-server")
    assert_not_approved(fresh)
    assert_refused(attack, "`sdd run` (pid")
    assert done.report["foreground"] is True  # the terminal was given back


# ----------------------------------------------------------------------------- the agent itself


def test_the_agent_runs_done_then_approves_through_its_own_pty(fresh: Path, attack: Attack) -> None:
    result = sdd_run(fresh, "--headless", env=attack.env(DONE_THEN_PTY))
    assert "Traceback" not in result.stdout + result.stderr
    assert attack.noted("agent-done")["code"] == 0
    assert_refused(attack, "claude (pid")
    assert_not_approved(fresh)
    assert attack.survivors() == []


def test_a_custom_agent_that_unsets_the_session_cannot_approve(
    fresh: Path, attack: Attack, tmp_path: Path
) -> None:
    """`python3 agent.py`: no known agent CLI among the ancestors, no SDD_SESSION_ID."""
    agent = tmp_path / "custom" / "agent.py"
    agent.parent.mkdir()
    shutil.copy(attack.agents.bin / "fake_agent.py", agent)
    argv = json.dumps(["python3", str(agent), "{brief_file}"])
    with (fresh / ".sdd" / "config.toml").open("a", encoding="utf-8") as config:
        config.write(f"\n[agents.custom]\ninteractive = {argv}\nheadless = {argv}\n")
    result = sdd_run(fresh, "--headless", "--agent", "custom", env=attack.env(UNSET_THEN_PTY))
    assert "Traceback" not in result.stdout + result.stderr
    assert attack.agents.record()["argv"][0] == "agent.py"
    assert attack.noted("agent-done")["code"] == 0
    assert_refused(attack, "`sdd run` (pid")
    assert_not_approved(fresh)
    assert attack.survivors() == []


# ----------------------------------------------------------------------------- however it ends


def _sdd_run_until(
    root: Path, env: dict[str, str], ready: Any, sig: int
) -> subprocess.CompletedProcess[str]:
    """`sdd run --headless` in the background; once ``ready()``, send ``sig`` to sdd."""
    full = {**os.environ, **env}
    proc = subprocess.Popen(
        [*SDD, "run", "spec", "--headless"],
        cwd=root,
        env=full,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the agent never got ready"
            time.sleep(0.05)
        os.kill(proc.pid, sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "Traceback" not in out + err, out + err
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


LEFT = ("sleeper-setsid", "sleeper-double-fork", "sleeper-nohup", "tmux-server")


@pytest.mark.parametrize("ending", ["exit", "timeout", "SIGTERM", "SIGHUP", "SIGINT"])
def test_nothing_the_agent_left_survives_the_session(
    ending: str, fresh: Path, attack: Attack
) -> None:
    """A helper of each kind (each ignoring SIGTERM) and a tmux server; the session ends
    because the agent exits, times out, or sdd itself is signalled: no survivor."""
    if ending == "exit":
        result = sdd_run(fresh, "--headless", env=attack.env(LEAVE_EVERYTHING))
        assert result.returncode == 0, result.stdout + result.stderr
    elif ending == "timeout":
        env = attack.env(LEAVE_EVERYTHING, mode="sleep")
        result = sdd_run(fresh, "--headless", "--timeout", "5", env=env)
        assert "timed out after 5 s" in result.stdout, result.stdout + result.stderr
    else:
        env = attack.env(LEAVE_EVERYTHING, mode="sleep")
        result = _sdd_run_until(
            fresh, env, lambda: attack.noted("tmux-server") is not None, getattr(signal, ending)
        )
        assert result.returncode == 130, result.stdout + result.stderr
        assert "interrupted" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert_contained(attack, *LEFT)


def test_a_storm_of_signals_cannot_cut_the_ending_short(fresh: Path, attack: Attack) -> None:
    """A helper signals `sdd run` without pause (SIGINT, SIGTERM, SIGHUP) while the session
    ends; it ignores SIGTERM itself. sdd still ends it and records the session."""
    result = sdd_run(fresh, "--headless", env=attack.env(START_STORM))
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 130, result.stdout + result.stderr
    assert "interrupted" in result.stdout
    assert_contained(attack, "helper")


def test_ctrl_c_in_a_real_terminal_ends_everything(fresh: Path, attack: Attack) -> None:
    env = attack.env(LEAVE_EVERYTHING, mode="sleep")
    done = pty_sdd(["run", "spec"], cwd=fresh, env=env, steps=[(b"FAKE-SLEEPING", b"\x03")])
    assert done.code == 130, done.output
    assert "interrupted" in done.output
    assert done.report["foreground"] is True
    assert done.report["after"] == done.report["before"]
    assert_contained(attack, *LEFT)


# ----------------------------------------------------------------------------- seen from outside

# The agent runs `sdd done` itself (the gate waits), says so, and sleeps.
DONE_THEN_WAIT = r"""
sdd_done()
note("ready", {})
time.sleep(600)
"""


def test_a_person_is_refused_while_a_launched_session_runs(fresh: Path, attack: Attack) -> None:
    """The person's own terminal (no sdd, no agent among its ancestors): refused while the
    session's `sdd run` lives, accepted once it has ended."""
    env = attack.env(DONE_THEN_WAIT)
    seen: list[tuple[int, str]] = []

    def ready() -> bool:
        if attack.noted("ready") is None:
            return False
        seen.append(pty_run(["sdd", "approve", "spec-approval"], cwd=fresh, respond=None))
        return True

    # (`sdd run` then says the session is no longer open: the agent completed it.)
    _sdd_run_until(fresh, env, ready, signal.SIGTERM)
    code, output = seen[0]
    assert code == 3, output
    text = " ".join(output.split())
    assert "session S-0001 (`sdd run`, pid" in text and "is running" in text, text
    assert "wait for session S-0001 to end" in text, text
    assert "Type " not in output
    assert_not_approved(fresh)
    assert not list((fresh / ".sdd" / "cache" / "running").glob("*.json"))
    code, output = pty_run(["sdd", "approve", "spec-approval"], cwd=fresh)
    assert code == 0, output
    assert gate_of(status(fresh), "spec-approval")["state"] == "approved"


def test_a_stale_running_file_is_ignored_and_removed(fresh: Path, attack: Attack) -> None:
    """`sdd run` killed outright leaves its file behind; its process is gone (and a reused
    pid, a live process that started at another time, is not taken for it)."""
    env = attack.env(DONE_THEN_WAIT)
    result = _sdd_run_until(fresh, env, lambda: attack.noted("ready") is not None, signal.SIGKILL)
    assert result.returncode == -signal.SIGKILL
    agent = attack.agents.record()
    os.killpg(agent["pgid"], signal.SIGKILL)  # what sdd run could not end: the test does
    attack.clean_up()
    folder = fresh / ".sdd" / "cache" / "running"
    (left,) = folder.glob("*.json")
    stale = json.loads(left.read_text(encoding="utf-8"))
    assert stale["session"] == "S-0001" and not alive(stale["pid"])
    stale["pid"] = os.getpid()  # alive, but not the process that wrote the file
    left.write_text(json.dumps(stale), encoding="utf-8")
    code, output = pty_run(["sdd", "approve", "spec-approval"], cwd=fresh)
    assert code == 0, output
    assert not left.exists()
    assert gate_of(status(fresh), "spec-approval")["state"] == "approved"


# ----------------------------------------------------------------------------- a project's check

# A check the agent wrote: it leaves a sleeper behind and approves through a pty of its own.
CHECK = r"""
os.environ["ATTACK_NAME"] = "setsid"
start_detached("setsid", os.path.join(HERE, "sleeper.py"))
wait_for("sleeper-setsid", 30)
approve_and_note("pty", None)
"""


def test_a_check_sdd_verify_runs_is_contained_too(fresh: Path, attack: Attack) -> None:
    """`sdd verify` runs the project's checks (code an agent wrote) the way `sdd run` runs
    an agent: what a check leaves behind is ended with it, and it cannot approve."""
    complete_stage(fresh, "spec")
    check = attack.script("check.py", CHECK)
    with (fresh / ".sdd" / "config.toml").open("a", encoding="utf-8") as config:
        config.write(
            f'\n[[verify.checks]]\nname = "attack"\ncommand = {json.dumps([sys.executable, str(check)])}\n'
        )
    env = attack.env("")
    result = run("verify", cwd=fresh, env=env)
    assert "Traceback" not in result.stdout + result.stderr
    assert_refused(attack, "`sdd verify` (pid")
    assert_not_approved(fresh)
    assert_contained(attack, "sleeper-setsid")

"""The attacker's agent. `sdd run` launches it (as `claude`, or as the project's own agent
`python3 agent.py`); it does the steps ATTACK_STEPS names, in order, and reports each one
into ATTACK_DIR/agent.json.

    write             write the stage's outputs and answer the handoff (the fake agent of
                      tests/run_helpers.py, FAKE_AGENT)
    done              `sdd done`, from inside the session
    leave-setsid      leave a helper behind with `setsid`
    leave-double-fork leave a helper behind with a double fork
    leave-tmux        leave a tmux server behind (its own socket)
    tmux-typist       leave programs/tmux_typist.py behind with `setsid`
    pty-detached      programs/pty_typist.py --detach, and wait for what it reports
    pty               programs/pty_typist.py as a child of the agent
    patch             programs/patched_approve.py (sdd imported, the person check replaced)
    abandon-cycle     `sdd abandon --whole-cycle` from inside the session
    archive-cycle-1   `sdd archive --cycle 1` from inside the session

The gate is ATTACK_GATE; the sdd command is ATTACK_SDD (a JSON list).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
OUT = Path(os.environ["ATTACK_DIR"])
GATE = os.environ.get("ATTACK_GATE", "spec-approval")
SDD: list[str] = json.loads(os.environ["ATTACK_SDD"])
QUIET = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
SLEEPER = "import os, sys, time\nopen(sys.argv[1], 'w').write(str(os.getpid()))\ntime.sleep(300)"
DOUBLE_FORK = (
    "import os, sys, time\n"
    "if os.fork(): os._exit(0)\n"
    "os.setsid()\n"
    "if os.fork(): os._exit(0)\n"
    "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
    "time.sleep(300)\n"
)


def wait_for(path: Path, seconds: float = 60.0) -> str | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text(encoding="utf-8"):
            return path.read_text(encoding="utf-8")
        time.sleep(0.05)
    return None


def command(*args: str) -> dict[str, object]:
    done = subprocess.run(list(args), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return {"code": done.returncode, "shown": done.stdout + done.stderr}


def left_pid(program: str, name: str) -> dict[str, object]:
    """Start a helper that outlives the agent; its pid, as the helper itself wrote it."""
    pidfile = OUT / f"{name}.pid"
    subprocess.Popen(["setsid", PYTHON, "-c", program, str(pidfile)], **QUIET)
    found = wait_for(pidfile, 10)
    return {"left": int(found) if found else None}


def leave_tmux() -> dict[str, object]:
    tmux = ["tmux", "-S", str(OUT / "left.sock")]
    subprocess.run([*tmux, "new-session", "-d", "-s", "left", "sleep 300"], check=True, **QUIET)
    pid = subprocess.run([*tmux, "display-message", "-p", "#{pid}"], capture_output=True, text=True)
    return {"left": int(pid.stdout.strip())}


def leave_tmux_typist() -> dict[str, object]:
    args = [PYTHON, str(HERE / "tmux_typist.py"), str(OUT / "tmux.json"), GATE]
    helper = subprocess.Popen(["setsid", *args, str(OUT / "typist.sock"), "--", *SDD], **QUIET)
    return {"started": helper.pid}


def typist(*flags: str) -> dict[str, object]:
    report = OUT / "pty.json"
    args = [PYTHON, str(HERE / "pty_typist.py"), str(report), GATE, *flags, "--", *SDD]
    subprocess.run(args, **QUIET)
    found = wait_for(report)
    return {"typist": json.loads(found) if found else None}


STEPS = {
    "write": lambda: command(PYTHON, os.environ["FAKE_AGENT"]),
    "done": lambda: command(*SDD, "done"),
    "leave-setsid": lambda: left_pid(SLEEPER, "setsid"),
    "leave-double-fork": lambda: left_pid(DOUBLE_FORK, "double-fork"),
    "leave-tmux": leave_tmux,
    "tmux-typist": leave_tmux_typist,
    "pty-detached": lambda: typist("--detach"),
    "pty": lambda: typist(),
    "patch": lambda: command(
        PYTHON, str(HERE / "patched_approve.py"), str(OUT / "patch.json"), GATE
    ),
    "abandon-cycle": lambda: command(
        *SDD, "abandon", "--whole-cycle", "--reason", "the agent ends it"
    ),
    "archive-cycle-1": lambda: command(*SDD, "archive", "--cycle", "1"),
}


def main() -> int:
    done: list[dict[str, object]] = []
    for step in os.environ["ATTACK_STEPS"].split(","):
        done.append({"step": step, **STEPS[step]()})
        part = OUT / "agent.json.part"
        part.write_text(json.dumps({"steps": done}), encoding="utf-8")
        part.replace(OUT / "agent.json")
    return 0


sys.exit(main())

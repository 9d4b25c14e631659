"""An agent's helper, left behind with setsid: it waits until the gate can be decided, opens
`sdd approve GATE` in a detached tmux session, reads the confirmation code off the pane with
`tmux capture-pane` and types it with `tmux send-keys`; ten tries.

    python tmux_typist.py REPORT GATE SOCKET -- SDD-COMMAND...

REPORT (JSON) is rewritten as it goes: its pid first, then every try's pane, and at the end
``finished`` and whether the gate counts as approved.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time

CODE = re.compile(r"Type ([A-Z0-9]{4}) to ")
TRIES = 10


def save(report: str, data: dict[str, object]) -> None:
    with open(report + ".part", "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(report + ".part", report)


def gate_state(sdd: list[str], gate: str, env: dict[str, str]) -> str:
    done = subprocess.run([*sdd, "status", "--json"], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return "unknown"
    gates = json.loads(done.stdout)["data"]["gates"]
    return str(next(g["state"] for g in gates if g["name"] == gate))


def one_try(tmux: list[str], name: str, command: str, env: dict[str, str]) -> dict[str, object]:
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", name, "-x", "200", "-y", "50", command],
        env=env,
        check=True,
    )
    pane, typed = "", False
    for _ in range(300):
        pane = subprocess.run(
            [*tmux, "capture-pane", "-p", "-t", name], capture_output=True, text=True, env=env
        ).stdout
        match = CODE.search(pane)
        if match and not typed:
            subprocess.run([*tmux, "send-keys", "-t", name, match.group(1), "Enter"], env=env)
            typed = True
        if "EXIT=" in pane:
            break
        time.sleep(0.1)
    return {"pane": pane, "typed": typed}


def main() -> None:
    report, gate, socket, rest = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    sdd = rest[rest.index("--") + 1 :]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SDD_", "TMUX"))}
    env["TERM"] = "xterm"
    data: dict[str, object] = {"pid": os.getpid(), "tries": [], "finished": False}
    save(report, data)
    deadline = time.monotonic() + 90
    while gate_state(sdd, gate, env) not in ("waiting", "stale") and time.monotonic() < deadline:
        time.sleep(0.2)
    tmux = ["tmux", "-S", socket]
    command = shlex.join([*sdd, "approve", gate]) + "; echo EXIT=$?; sleep 30"
    tries: list[dict[str, object]] = []
    try:
        for attempt in range(1, TRIES + 1):
            tries.append(one_try(tmux, f"try{attempt}", command, env))
            data["tries"] = tries
            save(report, data)
            if gate_state(sdd, gate, env) == "approved":
                break
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, env=env)
    data.update(finished=True, approved=gate_state(sdd, gate, env) == "approved")
    save(report, data)


main()

"""An agent's tool: `sdd approve GATE` on a pseudo-terminal of its own, the code typed back.

    python pty_typist.py REPORT GATE [--detach] -- SDD-COMMAND...

``--detach`` first leaves the caller's process tree (fork, setsid, fork; standard streams on
/dev/null), so `sdd approve` no longer has the agent among its ancestors. Every SDD_*
variable is dropped. REPORT (JSON): the exit code, what the terminal showed, whether a code
was typed.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import sys
import time

CODE = re.compile(rb"Type ([A-Z0-9]{4}) to ")


def detach() -> None:
    if os.fork():
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    nowhere = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(nowhere, fd)


def approve(gate: str, sdd: list[str]) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDD_")}
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(sdd[0], [*sdd, "approve", gate], env)
    shown, typed = bytearray(), False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not select.select([fd], [], [], 0.5)[0]:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the command is over: the terminal is closed
            break
        if not chunk:
            break
        shown += chunk
        match = CODE.search(shown)
        if match and not typed:
            os.write(fd, match.group(1) + b"\n")
            typed = True
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return {"code": code, "shown": shown.decode(errors="replace"), "typed": typed}


def main() -> None:
    report, gate, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    split = rest.index("--")
    if "--detach" in rest[:split]:
        detach()
    outcome = approve(gate, rest[split + 1 :])
    with open(report + ".part", "w", encoding="utf-8") as handle:
        json.dump(outcome, handle)
    os.replace(report + ".part", report)


main()

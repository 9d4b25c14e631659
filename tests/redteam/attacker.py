"""The attacker's agent, as `sdd run` meets it: programs/agent.py installed on PATH as
`claude` (a known agent CLI) and as the project's own agent `mine` (`python3 agent.py`, a
name no registry knows). Tests say which steps it takes (see programs/agent.py) and read
what it and its helpers reported; whatever they left running is ended afterwards, by pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from helpers import BIN, SDD, commit_all, pty_detached
from run_helpers import alive, install_fake_agents

PROGRAMS = Path(__file__).parent / "programs"
AGENT = PROGRAMS / "agent.py"
OWN_AGENT = """
[agents.mine]
interactive = ["python3", {agent}, "{{brief_file}}"]
headless = ["python3", {agent}, "{{brief_file}}"]
"""


class Attacker:
    def __init__(self, tmp: Path) -> None:
        # A short folder: it holds tmux sockets, whose paths must stay under 108 bytes.
        self.out = Path(tempfile.mkdtemp(prefix="rt-", dir="/tmp"))
        self.bin = tmp / "attacker-bin"
        self.bin.mkdir()
        claude = self.bin / "claude"
        claude.write_text(
            f"#!{sys.executable}\nimport runpy\nrunpy.run_path({str(AGENT)!r}, run_name='__main__')\n",
            encoding="utf-8",
        )
        claude.chmod(0o755)
        self.fake = install_fake_agents(tmp / "fake-agent", names=()) / "fake_agent.py"
        self.record = tmp / "fake-agent.json"

    def env(self, *steps: str, gate: str = "spec-approval") -> dict[str, str]:
        return {
            "PATH": f"{self.bin}{os.pathsep}{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin",
            "ATTACK_STEPS": ",".join(steps),
            "ATTACK_DIR": str(self.out),
            "ATTACK_GATE": gate,
            "ATTACK_SDD": json.dumps(SDD),
            "FAKE_AGENT": str(self.fake),
            "FAKE_RECORD": str(self.record),
            "FAKE_MODE": "write",
        }

    def own_agent_in(self, root: Path) -> None:
        """The person configures the project's own agent (and commits it)."""
        with (root / ".sdd" / "config.toml").open("a", encoding="utf-8") as config:
            config.write(OWN_AGENT.format(agent=json.dumps(str(AGENT))))
        commit_all(root, "our own agent")

    def run(
        self,
        root: Path,
        stage: str,
        *steps: str,
        agent: str = "claude",
        gate: str = "spec-approval",
    ) -> tuple[int, str]:
        """`sdd run STAGE --headless --agent AGENT` from the person's own terminal."""
        argv = ["sdd", "run", stage, "--headless", "--agent", agent]
        return pty_detached(argv, root, self.env(*steps, gate=gate), lambda *_: None, 240)

    def report(self, name: str = "agent") -> dict[str, Any]:
        path = self.out / f"{name}.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def step(self, name: str) -> dict[str, Any]:
        steps = self.report().get("steps", [])
        found = [s for s in steps if s["step"] == name]
        assert found, f"the agent never did {name!r}: {steps}"
        return found[-1]  # type: ignore[no-any-return]

    def wait(self, name: str, pid: int, seconds: float) -> dict[str, Any]:
        """What helper ``name`` (process ``pid``) reported once it says ``finished``, or once
        it is gone, or after ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and alive(pid) and not self.report(name).get("finished"):
            time.sleep(0.2)
        return self.report(name)

    def end_leftovers(self) -> None:
        """End what the attack left running (by the pids it reported), then its tmux servers."""
        pids = [s.get("left") for s in self.report().get("steps", [])]
        pids += [s.get("started") for s in self.report().get("steps", [])]
        pids.append(self.report("tmux").get("pid"))
        for pid in pids:
            if isinstance(pid, int):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for socket in self.out.glob("*.sock"):
            subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True)
        shutil.rmtree(self.out, ignore_errors=True)

"""`sdd run --parallel 4` against the same four sessions one at a time: the ratio of their
wall times (issue 19: about a quarter when the agents' work dominates). Not a test.

    python bench/parallel.py                 # agents that work 6 s each
    python bench/parallel.py --work 20       # longer agents: the ratio nears 1/4

A project is driven by hand to its plan's gate (tests/helpers.py), its plan given four
independent tasks and approved; two copies of it then run the four sessions with the
tests' fake agent (tests/test_parallel.py: sleeps, writes its task's files, commits), once
with `--parallel 1` and once with `--parallel 4`. Everything runs in a temporary HOME.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=float, default=6.0, help="seconds each agent works")
    options = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="sdd-bench-parallel-"))
    home = scratch / "home"
    home.mkdir()
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n",
        encoding="utf-8",
    )
    os.environ.update(
        {
            "HOME": str(home),
            "SDD_HOME": str(home / "sdd"),
            "XDG_STATE_HOME": str(home / "state"),
            "GIT_CONFIG_GLOBAL": str(gitconfig),
            "GIT_CONFIG_NOSYSTEM": "1",
            "NO_COLOR": "1",
        }
    )
    os.chdir(scratch)
    from helpers import drive, init_project, run
    from test_parallel import agent_env, independent, with_plan

    try:
        base = init_project(scratch, name="base")
        drive(base, "implement", approve_gate_before=False)
        with_plan(base, independent(4))
        times = {}
        for width in (1, 4):
            root = scratch / f"width-{width}"
            shutil.copytree(base, root, symlinks=True)
            (scratch / f"agents-{width}").mkdir(exist_ok=True)
            env = agent_env(scratch / f"agents-{width}", PAR_SLEEP=f"{options.work:g}")
            began = time.monotonic()
            done = run("run", "--parallel", str(width), "--agent", "claude", cwd=root, env=env)
            times[width] = time.monotonic() - began
            if done.returncode != 0:
                print(done.stdout + done.stderr, file=sys.stderr)
                return 1
        ratio = times[4] / times[1]
        print(f"agents work {options.work:g} s each; four tasks")
        print(f"  one at a time (--parallel 1): {times[1]:6.1f} s")
        print(f"  four at once  (--parallel 4): {times[4]:6.1f} s")
        print(f"  ratio parallel/serial:        {ratio:6.2f}  (a quarter would be 0.25)")
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

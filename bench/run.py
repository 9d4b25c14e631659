"""The benchmark suite: one command, prints a table. Not a test: machines are noisy, so
every figure is a ratio against the bare interpreter measured in the same run.

    python bench/run.py                 # fresh venv with sdd installed from this checkout
    python bench/run.py --venv PATH     # reuse (or create) that venv
    python bench/run.py --runs 30

It installs sdd the way a user does (a regular, non-editable install), generates a
project of 20 cycles, 1,000 sessions and 5,000 records (bench/generate.py), then runs
`<venv>/bin/python -c pass`, `sdd next --json` and `sdd status` in alternation and
compares medians. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

TARGETS = {"sdd next --json": 2.5, "sdd status": 3.0}
DEMO_TARGET = 20.0  # seconds, on 2 cores


def ensure_venv(venv: str) -> str:
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", REPO],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return python


def timed(argv: list[str], cwd: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def measure(
    commands: dict[str, list[str]], cwd: str, runs: int, env: dict[str, str]
) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():
        timed(argv, cwd, env)  # warm the page cache and sdd's derived cache
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(timed(argv, cwd, env))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--venv", help="venv to install into and measure (default: a temporary one)"
    )
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="sdd-bench-")
    try:
        venv = args.venv or os.path.join(work, "venv")
        python = ensure_venv(venv)
        bindir = os.path.dirname(python)
        sdd = os.path.join(bindir, "sdd")
        project = os.path.join(work, "project")
        env = dict(os.environ, NO_COLOR="1", HOME=work)
        env.pop("SDD_SESSION_ID", None)
        subprocess.run(
            [
                python,
                os.path.join(HERE, "generate.py"),
                project,
                "--cycles",
                "20",
                "--sessions",
                "1000",
                "--records",
                "5000",
            ],
            check=True,
            env=env,
        )
        time.sleep(2.1)  # let file times settle past the cache's racy-timestamp window
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "sdd next --json": [sdd, "next", "--json"],
            "sdd status": [sdd, "status"],
        }
        medians = measure(commands, project, args.runs, env)
        base = medians["python -c pass"]
        print(
            f"\n{args.runs} alternating runs, medians (project: 20 cycles, 1,000 sessions, 5,000 records)\n"
        )
        print("| command | median | ratio to python -c pass | target |")
        print("|---|---|---|---|")
        missed = False
        for name, value in medians.items():
            ratio = value / base
            target = TARGETS.get(name)
            verdict = ""
            if target is not None:
                ok = ratio <= target
                missed |= not ok
                verdict = f"≤ {target}× {'✔' if ok else '✘ MISSED'}"
            print(f"| `{name}` | {value * 1000:.1f} ms | {ratio:.2f}× | {verdict} |")
        demo_seconds = timed([sdd, "demo", os.path.join(work, "demo")], work, env)
        ok = demo_seconds < DEMO_TARGET
        missed |= not ok
        print(
            f"| `sdd demo` (a whole cycle, 9 sessions, 4 gates) | {demo_seconds:.2f} s | | < {DEMO_TARGET:g} s {'✔' if ok else '✘ MISSED'} |"
        )
        return 1 if missed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

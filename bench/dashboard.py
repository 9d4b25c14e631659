"""Benchmark: rendering the dashboard of a large project. Not a test: prints the figures.

    python bench/dashboard.py                 # with the Python that has sdd installed
    python bench/dashboard.py --runs 5

Generates a project of 50 cycles and 5,000 sessions (bench/generate.py), then renders the
whole dashboard page (every cycle with its flow, tasks, sessions and findings) in-process
several times and reports the median, and times `sdd dashboard --out FILE` once end to end.
Target: the render under one second. Exit status 1 when it is missed.
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
TARGET = 1.0  # seconds
CYCLES, SESSIONS = 50, 5000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="sdd-bench-dashboard-")
    try:
        root = os.path.join(work, "project")
        env = dict(os.environ, NO_COLOR="1", HOME=work)
        env.pop("SDD_SESSION_ID", None)
        subprocess.run(
            [
                sys.executable,
                os.path.join(HERE, "generate.py"),
                root,
                "--cycles",
                str(CYCLES),
                "--sessions",
                str(SESSIONS),
                "--records",
                str(2 * SESSIONS),
            ],
            check=True,
            env=env,
        )
        from sdd.project.project import Project
        from sdd.web import dashboard

        project = Project(root)
        dashboard.page(project)  # warm: parsed-document cache and the page cache of the OS
        samples, cpu = [], []
        size = 0
        for _ in range(args.runs):
            begun, begun_cpu = time.perf_counter(), time.process_time()
            html = dashboard.page(project)
            samples.append(time.perf_counter() - begun)
            cpu.append(time.process_time() - begun_cpu)
            size = len(html.encode())
        median = statistics.median(samples)
        load = os.getloadavg()[0]

        sdd = os.path.join(os.path.dirname(sys.executable), "sdd")
        out = os.path.join(work, "dashboard.html")
        begun = time.perf_counter()
        subprocess.run(
            [sdd, "dashboard", "--out", out],
            cwd=root,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        command = time.perf_counter() - begun

        ok = median < TARGET
        print(
            f"\nDashboard of {CYCLES} cycles and {SESSIONS:,} sessions ({size / 1e6:.1f} MB of HTML)\n"
        )
        print("| what | time | target |")
        print("|---|---|---|")
        print(
            f"| render (collect + HTML, in-process, median of {args.runs}) | {median * 1000:.0f} ms "
            f"| < {TARGET:g} s {'✔' if ok else '✘ MISSED'} |"
        )
        print(f"| … of which CPU time (median) | {statistics.median(cpu) * 1000:.0f} ms | |")
        print(f"| `sdd dashboard --out FILE` (whole command, once) | {command * 1000:.0f} ms | |")
        print(f"\n{os.cpu_count()} cores; load average {load:.1f} while measuring")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

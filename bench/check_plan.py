"""Benchmark: `sdd check` on a generated plan of 500 tasks with 2,000 dependencies.

    python bench/check_plan.py [--venv PATH] [--runs 15]

Installs sdd from this checkout into a fresh venv (as bench/run.py does) and writes a
project whose spec has 50 stories, whose plan has 500 tasks (each depending on four
earlier ones: 2,000 dependencies, no cycle) and whose test plan covers every story. Then
times, in alternating runs next to the venv's `python -c pass`: `sdd check` with the parse
cache cleared before each run (every document parsed), `sdd check` with the documents
unchanged (parsed results from the cache), and `sdd status`. Targets: check under 0.25 s;
status within the core's ratio (3× `python -c pass`). Exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from run import ensure_venv  # bench/run.py: the same fresh venv, a regular install

STORIES, TASKS, DEPS_PER_TASK, DEPENDENCIES = 50, 500, 4, 2000
BASE = "python -c pass"
CHECK_TARGET = 0.25  # seconds (issue 4)
STATUS_RATIO = 3.0  # the core's ratio for `sdd status`


def spec() -> str:
    out = [
        "# Product specification",
        "",
        "## Overview",
        "A generated project.",
        "",
        "## User stories",
        "",
    ]
    for n in range(1, STORIES + 1):
        out += [
            f"### US-{n}: Story {n}",
            f"As a user, I want feature {n}, so that it works.",
            "",
            "Acceptance criteria:",
            f"- Feature {n} answers within 1 s.",
            "",
        ]
    for title in (
        "Inputs and outputs",
        "Constraints",
        "Failure behaviour",
        "Performance expectations",
    ):
        out += [f"## {title}", f"- {title} as usual.", ""]
    out += ["## Open questions", "- none", "", "## Confidence", "Confidence: 97 %", ""]
    return "\n".join(out)


def plan(rng: random.Random) -> str:
    chosen: dict[int, list[int]] = {}
    for n in range(1, TASKS + 1):
        chosen[n] = rng.sample(range(1, n), min(DEPS_PER_TASK, n - 1))
    n = TASKS
    while sum(len(d) for d in chosen.values()) < DEPENDENCIES:  # top up to exactly 2,000
        extra = [d for d in range(1, n) if d not in chosen[n]]
        chosen[n].append(rng.choice(extra))
        n -= 1
    out = ["# Implementation plan", "", "## Tasks", ""]
    for n in range(1, TASKS + 1):
        depends = ", ".join(f"T{d}" for d in sorted(chosen[n])) or "none"
        out += [
            f"### T{n}: Task {n}",
            f"- Stories: US-{1 + n % STORIES}",
            f"- Depends on: {depends}",
            f"- Risk: {('low', 'medium', 'high')[n % 3]}",
            "- Effort: 1h",
            "",
            "Acceptance criteria:",
            f"- Task {n} is done.",
            "",
        ]
    return "\n".join(out)


def test_plan() -> str:
    kinds = ("functional", "invalid input", "edge case", "concurrency", "performance stress")
    out = ["# Test plan", "", "## Test cases", ""]
    for n in range(1, STORIES + 1):
        out += [
            f"### TC-{n}: Case {n}",
            f"- Stories: US-{n}",
            f"- Kind: {kinds[n % 5]}",
            f"- Steps: Run feature {n}.",
            "- Expected: It answers.",
            "",
        ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--venv", help="venv to install into and measure (default: a temporary one)"
    )
    parser.add_argument("--runs", type=int, default=15, help="alternating runs (default 15)")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="sdd-bench-check-")
    try:
        python = ensure_venv(args.venv or os.path.join(work, "venv"))
        sdd = os.path.join(os.path.dirname(python), "sdd")
        env = dict(os.environ, NO_COLOR="1", HOME=work)
        env.pop("SDD_SESSION_ID", None)
        root = os.path.join(work, "project")
        subprocess.run([sdd, "init", root], check=True, env=env, stdout=subprocess.DEVNULL)
        rng = random.Random(7)
        for name, text in (
            ("product-spec.md", spec()),
            ("implementation-plan.md", plan(rng)),
            ("test-plan.md", test_plan()),
        ):
            with open(os.path.join(root, "docs", name), "w", encoding="utf-8") as handle:
                handle.write(text)
        parsed_cache = os.path.join(root, ".sdd", "cache", "parsed")
        check = [sdd, "check", "spec", "plan", "test-plan"]
        jobs = {
            BASE: ([python, "-c", "pass"], False),
            "check, every document parsed": (check, True),
            "check, documents unchanged": (check, False),
            "status, documents unchanged": ([sdd, "status"], False),
        }

        def timed(argv: list[str], clear: bool) -> float:
            if clear:
                shutil.rmtree(parsed_cache, ignore_errors=True)
            start = time.perf_counter()
            done = subprocess.run(argv, cwd=root, env=env, stdout=subprocess.DEVNULL)
            took = time.perf_counter() - start
            if done.returncode != 0:
                raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}")
            return took

        for argv, clear in jobs.values():  # warm the file cache and sdd's own caches
            timed(argv, clear)
        samples: dict[str, list[float]] = {name: [] for name in jobs}
        for _ in range(args.runs):  # alternating, so load changes hit every command alike
            for name, (argv, clear) in jobs.items():
                samples[name].append(timed(argv, clear))
        median = {name: statistics.median(times) for name, times in samples.items()}
        base = median[BASE]
        cold = median["check, every document parsed"]
        status_ratio = median["status, documents unchanged"] / base
        print(
            f"{TASKS} tasks, {DEPENDENCIES} dependencies; medians of {args.runs} alternating runs"
        )
        print("| command | median | ratio to `python -c pass` | target |")
        print("|---|---|---|---|")
        for name, value in median.items():
            target = ""
            if name == "check, every document parsed":
                target = "< 250 ms " + ("✔" if cold < CHECK_TARGET else "✘ MISSED")
            elif name.startswith("status"):
                ok = status_ratio <= STATUS_RATIO
                target = f"≤ {STATUS_RATIO:g}× " + ("✔" if ok else "✘ MISSED")
            print(f"| {name} | {value * 1000:.0f} ms | {value / base:.2f}× | {target} |")
        return 0 if cold < CHECK_TARGET and status_ratio <= STATUS_RATIO else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

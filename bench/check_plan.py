"""Benchmark: `sdd check` on a generated plan of 500 tasks with 2,000 dependencies.

    python bench/check_plan.py [--python VENV_PYTHON] [--runs 10]

Writes a project whose spec has 50 stories, whose plan has 500 tasks (each depending on
four earlier ones: 2,000 dependencies, no cycle) and whose test plan covers every story,
then times `sdd check` (the parse cache cleared before each run, so every run parses all
of it) and `sdd status` with the documents unchanged. Target: check under 0.25 s.
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

STORIES, TASKS, DEPS_PER_TASK, DEPENDENCIES = 50, 500, 4, 2000


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
        "--python", default=sys.executable, help="the Python of the sdd installation"
    )
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    sdd = os.path.join(os.path.dirname(args.python), "sdd")
    work = tempfile.mkdtemp(prefix="sdd-bench-check-")
    try:
        env = dict(os.environ, NO_COLOR="1", HOME=work)
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
        deps = DEPENDENCIES
        cache = os.path.join(root, ".sdd", "cache", "parsed")

        def timed(argv: list[str], clear: bool) -> float:
            if clear:
                shutil.rmtree(cache, ignore_errors=True)
            start = time.perf_counter()
            subprocess.run(argv, cwd=root, env=env, stdout=subprocess.DEVNULL)
            return time.perf_counter() - start

        check_argv = [sdd, "check", "spec", "plan", "test-plan"]
        timed(check_argv, True)
        cold = statistics.median(timed(check_argv, True) for _ in range(args.runs))
        warm = statistics.median(timed(check_argv, False) for _ in range(args.runs))
        ok = cold < 0.25
        print(
            f"| `sdd check` (500 tasks, {deps} dependencies), parsing everything | {cold * 1000:.0f} ms | < 250 ms {'✔' if ok else '✘ MISSED'} |"
        )
        print(f"| `sdd check`, documents unchanged (parse cache) | {warm * 1000:.0f} ms | |")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

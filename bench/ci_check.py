"""The benchmark of `sdd ci check` (issue 18): a generated history of 1,000 sessions and 500
commits of code, each the work of an implement session (bench/generate.py --commits), judged
against its base; the target is an answer in under 2 s. Every time is also given as a ratio
to a bare `python -c pass` measured in the same run, in alternation.

    python bench/ci_check.py                  # fresh venv, sdd installed from this checkout
    python bench/ci_check.py --venv PATH      # reuse (or create) that venv
    python bench/ci_check.py --here           # the sdd of this interpreter (an editable install)
    python bench/ci_check.py --runs 10 --signed

Exit status 1 when the target is missed (or the check does not hold: it must).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run import Runner, ensure_venv  # noqa: E402  (the suite's venv and its small runner)

TARGET = 2.0  # seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--venv", help="the venv to install sdd into (default: a fresh one)")
    parser.add_argument("--here", action="store_true", help="use this interpreter's sdd")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--commits", type=int, default=500)
    parser.add_argument("--signed", action="store_true", help="every gate signed by an approver")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="sdd-bench-ci-")
    try:
        if args.here:
            python = sys.executable
        else:
            python = ensure_venv(args.venv or os.path.join(scratch, "venv"))
        sdd = os.path.join(os.path.dirname(python), "sdd")
        env = {**os.environ, "NO_COLOR": "1", "HOME": os.path.join(scratch, "home")}
        env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.path.join(scratch, "gitconfig"))
        os.makedirs(env["HOME"])
        with open(env["GIT_CONFIG_GLOBAL"], "w", encoding="utf-8") as handle:
            handle.write("[user]\n\tname = Bench\n\temail = bench@example.com\n")
            handle.write("[init]\n\tdefaultBranch = main\n")
        root = os.path.join(scratch, "project")
        generate = [python, os.path.join(HERE, "generate.py"), root, "--cycles", "20"]
        generate += ["--sessions", str(args.sessions), "--records", str(5 * args.sessions)]
        generate += ["--commits", str(args.commits), *(["--signed"] if args.signed else [])]
        subprocess.run(generate, check=True, env=env)
        command = [sdd, "ci", "check", "--base", "bench-base"]
        held = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        print(held.stdout.strip())
        if held.returncode != 0:
            print(held.stderr, file=sys.stderr)
            return 1
        runner = Runner(env)
        bare, checks = [], []
        runner.run(command, root)  # warm the page cache
        for _ in range(args.runs):
            bare.append(runner.run([python, "-c", "pass"], root)[0])
            seconds, _peak, code = runner.run(command, root)
            assert code == 0, code
            checks.append(seconds)
        runner.close()
        base, check = statistics.median(bare), statistics.median(checks)
        kind = "signed" if args.signed else "unsigned"
        print(
            f"sdd ci check, {args.sessions} sessions and {args.commits} commits ({kind}): "
            f"median {check:.3f} s over {args.runs} runs (target < {TARGET:g} s); "
            f"python -c pass {base * 1000:.1f} ms; ratio {check / base:.1f}x"
        )
        return 0 if check < TARGET else 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

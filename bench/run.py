"""The benchmark suite: one command, prints a table. Not a test: machines are noisy, so
every time is a ratio against the bare interpreter measured in the same run.

    python bench/run.py                 # fresh venv with sdd installed from this checkout
    python bench/run.py --quick         # a fast look: fewer runs, the two smaller projects
    python bench/run.py --venv PATH     # reuse (or create) that venv
    python bench/run.py --runs 30 --sizes 1000,10000
    python bench/run.py --sizes 10000,100000 --runs 5   # the issue-21 floor (slow to generate)

It installs sdd the way a user does (a regular, non-editable install) and generates projects
of 10, 1,000 and 10,000 sessions (bench/generate.py: 5 records per session as `sdd run` and
`sdd done` write them, the demo's documents, the last cycle in the middle of
implementation). In each project it runs, in alternation, `<venv>/bin/python -c pass`,
`sdd next --json`, `sdd status` (answered from the derived cache, and with that cache
cleared: the first command after the history changed), `sdd check`, `sdd prompt
implement`, `sdd tasks` and `sdd dashboard --out FILE`; then `sdd status` with no cache at
all (the first command after a clone or a merge: the whole history folded and verified);
then what records — `sdd findings add`, `sdd start review` and `sdd abandon` (the session it
started) — and `sdd done` of an implement session (its work committed, started untimed
before each run; the verify checks made `true` as a user does, accepted with `sdd rules
accept` at a pty); in a signed project of the same size (every gate approved with a real
SSHSIG signature), `sdd start implement --task T1`, a stage behind a gate whose decision
rests on signed records (the session is abandoned, untimed, before each run). It reports
each command's median time, its ratio to `python -c pass` and its peak memory (the child's
ru_maxrss, read with os.wait4). Exit status 1 when a target is missed:

    sdd next --json  ≤ 1.5× python -c pass at 1,000 and 10,000 sessions
    sdd status       ≤ 1.5× python -c pass at 1,000 and 10,000 sessions
    sdd status       peak memory < 40 MiB at 10,000 sessions
    sdd demo         a whole cycle in < 20 s (not with --quick)
    the issue's table (status, next, check, prompt, tasks, dashboard, findings add,
    start + abandon, done): ≤ 4× python -c pass and < 40 MiB at 10,000 and 100,000
    sessions (issue 21); a full fold < 0.8 s at 10,000 and < 10 s at 100,000

Then a table and a text chart of each command's cost against the history's size.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

BASE = "python -c pass"
COLD = "sdd status (cache cleared)"
# The first command after a clone or a merge: no cache at all, so the whole history is
# folded and verified, and the checkpoint written (issue 21: < 0.8 s at 10,000 sessions,
# < 10 s at 100,000).
WHOLE = "sdd status (no cache: a full fold, as after a clone)"
WHOLE_TARGETS = {10000: 0.8, 100000: 10.0}  # seconds
DONE = "sdd done"
# (command, sessions) -> the highest ratio to python -c pass
TIME_TARGETS = {
    ("sdd next --json", 1000): 1.5,
    ("sdd status", 1000): 1.5,
    ("sdd next --json", 10000): 1.5,
    ("sdd status", 10000): 1.5,
}
SIGNED_START = "sdd start implement --task T1 (signed project)"
MEMORY_TARGETS = {("sdd status", 10000): 40.0}  # MiB
DEMO_TARGET = 20.0  # seconds, on 2 cores
# sessions -> (cycles, records): 5 records a session, as real use gives
PROJECTS = {10: (1, 60), 1000: (20, 5000), 10000: (200, 50000), 100000: (2000, 500000)}
# The floor (issue 21): at 10,000 and 100,000 sessions every command in the table at
# most this many times python -c pass, with a peak below FLAT_MEMORY MiB.
FLAT_SIZES = (10000, 100000)
FLAT_RATIO = 4.0
FLAT_MEMORY = 40.0


def ensure_venv(venv: str) -> str:
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, REPO], check=True, stdout=subprocess.DEVNULL)
    # The same version number from a changed checkout: pip may keep what it has.
    subprocess.run(
        [*pip, "--force-reinstall", "--no-deps", REPO], check=True, stdout=subprocess.DEVNULL
    )
    return python


# Peak memory is the child's ru_maxrss from wait4. A child forked from a big process starts
# with that process's resident pages and the kernel keeps that high-water mark across exec,
# so the commands are started by this small runner (no site, no subprocess module: about
# 5 MiB resident), which forks, execs and times them, and reports what wait4 says.
RUNNER = r"""
import json, os, sys, time
devnull = os.open(os.devnull, os.O_RDWR)
for line in sys.stdin:
    job = json.loads(line)
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(job["cwd"])
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.execv(job["argv"][0], job["argv"])
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    print(json.dumps([seconds, usage.ru_maxrss, os.waitstatus_to_exitcode(status)]), flush=True)
"""


class Runner:
    """The small process that starts every measured command (see RUNNER)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-I", "-c", RUNNER],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, argv: list[str], cwd: str) -> tuple[float, float, int]:
        """(seconds, peak resident memory in MiB, exit status) of one run of ``argv``."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"argv": argv, "cwd": cwd}) + "\n")
        self.proc.stdin.flush()
        seconds, maxrss, code = json.loads(self.proc.stdout.readline())
        return seconds, maxrss / 1024, code  # ru_maxrss is in KiB on Linux

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def measure(
    runner: Runner,
    commands: dict[str, list[str]],
    cwd: str,
    runs: int,
    prepare: dict[str, Callable[[], None]],
) -> dict[str, tuple[float, float, int]]:
    """Median time, peak memory and exit status of each command, run in alternation;
    ``prepare[name]`` runs (untimed) before each run of that command."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, float] = dict.fromkeys(commands, 0.0)
    codes: dict[str, int] = dict.fromkeys(commands, 0)
    for argv in commands.values():
        runner.run(argv, cwd)  # warm the page cache and sdd's derived caches
    for _ in range(runs):
        for name, argv in commands.items():
            if name in prepare:
                prepare[name]()
            seconds, peak, code = runner.run(argv, cwd)
            times[name].append(seconds)
            peaks[name] = max(peaks[name], peak)
            codes[name] = codes[name] or code
    return {name: (statistics.median(times[name]), peaks[name], codes[name]) for name in commands}


def clear_panel_cache(project: str) -> Callable[[], None]:
    """Remove the derived panel cache: the next `sdd status` folds the whole history, as
    the first command after any change to the history (or a fresh clone) does."""

    def clear() -> None:
        folder = os.path.join(project, ".sdd", "cache")
        for name in os.listdir(folder):
            if name.startswith("panel-"):
                os.remove(os.path.join(folder, name))

    return clear


def clear_cache(project: str) -> Callable[[], None]:
    """Remove the whole derived cache, the checkpoint included."""

    def clear() -> None:
        shutil.rmtree(os.path.join(project, ".sdd", "cache"), ignore_errors=True)

    return clear


def has_dashboard_out(sdd: str, env: dict[str, str]) -> bool:
    result = subprocess.run([sdd, "dashboard", "--help"], env=env, capture_output=True, text=True)
    return result.returncode == 0 and "--out" in result.stdout


def abandon_open_session(sdd: str, project: str, env: dict[str, str]) -> Callable[[], None]:
    """Abandon the session the last `start` opened, so the next `start` decides afresh."""

    def abandon() -> None:
        subprocess.run(
            [sdd, "abandon", "--reason", "bench"], cwd=project, env=env, capture_output=True
        )

    return abandon


# Runs on a pseudo-terminal as a person's own terminal runs a command: it forks and exits
# at once, so the command's ancestors are this wrapper and init only (not the bench, which
# may run under an agent CLI: the person check would refuse), on the pty as its terminal.
DETACH = r"""
import os, subprocess, sys
status, argv = sys.argv[1], sys.argv[2:]
if os.fork():
    os._exit(0)
os.setsid()
os.close(os.open(os.ttyname(0), os.O_RDWR))
code = subprocess.call(argv)
with open(status + ".part", "w") as handle:
    handle.write(str(code))
os.replace(status + ".part", status)
"""
CODE_PROMPT = re.compile(rb"Type ([A-Z0-9]{4}) to ")


def as_person(argv: list[str], cwd: str, env: dict[str, str], timeout: float = 60.0) -> int:
    """Run ``argv`` as a person at their terminal does, typing back the confirmation code
    it shows; its exit status."""
    master, slave = os.openpty()
    folder = tempfile.mkdtemp(prefix="sdd-bench-pty-")
    status = os.path.join(folder, "status")
    output = bytearray()
    try:
        wrapper = subprocess.Popen(
            [sys.executable, "-c", DETACH, status, *argv],
            cwd=cwd,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        wrapper.wait(timeout=30)
        answered, deadline = False, time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError as exc:  # EIO: every end of the terminal is closed
                if exc.errno == errno.EIO:
                    break
                raise
            if not chunk:
                break
            output += chunk
            match = None if answered else CODE_PROMPT.search(output)
            if match:
                os.write(master, match.group(1) + b"\n")
                answered = True
        for _ in range(500):  # the detached command writes it once the terminal is closed
            if os.path.exists(status):
                with open(status) as handle:
                    return int(handle.read())
            time.sleep(0.01)
        raise RuntimeError(f"{argv} did not finish; it showed:\n{output.decode(errors='replace')}")
    finally:
        os.close(master)
        shutil.rmtree(folder, ignore_errors=True)


def stub_checks(sdd: str, project: str, env: dict[str, str]) -> None:
    """Make the verify checks `true`, as a user does: edit the config, then accept the change
    (it weakens the checks, so it waits for a person: `sdd rules accept` at a terminal)."""
    config = os.path.join(project, ".sdd", "config.toml")
    with open(config, encoding="utf-8") as handle:
        text = handle.read()
    stubbed = re.sub(r"(?m)^command = .*$", 'command = ["true"]', text)
    with open(config, "w", encoding="utf-8") as handle:
        handle.write(stubbed)
    code = as_person([sdd, "rules", "accept"], project, env)
    if code != 0:
        raise RuntimeError(f"sdd rules accept: exit {code}")
    # Committed with what the sessions before left (review scaffolds): a clean tree, so the
    # implement sessions' work is all the code there is to commit.
    git(project, env, "add", "-A")
    git(project, env, "commit", "-q", "-m", "the checks are `true` for the bench")


def git(project: str, env: dict[str, str], *args: str) -> None:
    who = ["-c", "user.name=Bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run(["git", *who, *args], cwd=project, env=env, check=True, capture_output=True)


def implement_session(sdd: str, project: str, env: dict[str, str]) -> Callable[[], None]:
    """Start an implement session and do its work, as its agent would (a commit of code, the
    handoff answered), so that the next `sdd done` completes it: runs the checks (the code
    changed since the last green run), records the run and the session's end."""
    count = [0]

    def start() -> None:
        count[0] += 1
        argv = [sdd, "start", "implement", "--json"]
        done = subprocess.run(argv, cwd=project, env=env, capture_output=True)
        if done.returncode != 0:  # the last `sdd done` failed (its exit shows in the table)
            abandon_open_session(sdd, project, env)()
            done = subprocess.run(argv, cwd=project, env=env, capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(f"sdd start implement: {done.stderr.decode(errors='replace')}")
        page = os.path.join(project, json.loads(done.stdout)["data"]["page"])
        code = os.path.join(project, "src", f"bench_done_{count[0]}.py")
        os.makedirs(os.path.dirname(code), exist_ok=True)
        with open(code, "w", encoding="utf-8") as handle:
            handle.write(f"def bench_{count[0]}() -> int:\n    return {count[0]}\n")
        git(project, env, "add", code)
        git(project, env, "commit", "-q", "-m", f"bench: work {count[0]}")
        with open(page, encoding="utf-8") as handle:
            text = handle.read()
        cut = text.index("## Handoff")
        handoff = text[cut:].replace("- [ ] ", "- [x] ")
        handoff = re.sub(r"\[FILL:[^\]]*\]", "Did the work; nothing left open.", handoff)
        with open(page, "w", encoding="utf-8") as handle:
            handle.write(text[:cut] + handoff)

    return start


def generate(
    python: str, project: str, sessions: int, env: dict[str, str], *, signed: bool = False
) -> None:
    cycles, records = PROJECTS[sessions]
    subprocess.run(
        [
            python,
            os.path.join(HERE, "generate.py"),
            project,
            "--cycles",
            str(cycles),
            "--sessions",
            str(sessions),
            "--records",
            str(records),
            *(["--signed"] if signed else []),
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def print_chart(rows: list[tuple[int, str, float | None, float | None, float | None, int]]) -> None:
    """Each command's cost against the history's size: its ratio to python -c pass at each
    size, and a bar per size (one mark per ratio of 1, up to 40): a flat line keeps its
    bars alike."""
    sizes = sorted({r[0] for r in rows})
    names = list(dict.fromkeys(r[1] for r in rows if r[1] != BASE))
    ratio = {(r[0], r[1]): r[3] for r in rows}
    print("\nCost against history size (× python -c pass):\n")
    print("| command | " + " | ".join(f"{s:,}" for s in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    for name in names:
        cells = [ratio.get((s, name)) for s in sizes]
        print(
            f"| `{name}` | " + " | ".join("—" if c is None else f"{c:.2f}×" for c in cells) + " |"
        )
    print("\n```")
    width = max(len(n) for n in names)
    for name in names:
        for size in sizes:
            value = ratio.get((size, name))
            if value is None:
                continue
            bar = "█" * min(40, max(1, round(value)))
            more = "…" if value > 40 else ""
            print(f"{name:<{width}}  {size:>7,}  {bar}{more} {value:.1f}×")
        print()
    print("```")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--venv", help="venv to install into and measure (default: a temporary one)"
    )
    parser.add_argument("--runs", type=int, help="alternating runs per project (default 20)")
    parser.add_argument("--sizes", help="projects to measure, in sessions (default 10,1000,10000)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a fast look: 5 runs, projects of 10 and 1,000 sessions, no demo",
    )
    args = parser.parse_args()
    runs = args.runs or (5 if args.quick else 20)
    default_sizes = "10,1000" if args.quick else "10,1000,10000"
    sizes = [int(s) for s in (args.sizes or default_sizes).split(",")]
    unknown = [s for s in sizes if s not in PROJECTS]
    if unknown:
        parser.error(f"--sizes: one of {', '.join(map(str, PROJECTS))}, not {unknown}")

    work = tempfile.mkdtemp(prefix="sdd-bench-")
    try:
        venv = args.venv or os.path.join(work, "venv")
        python = ensure_venv(venv)
        bindir = os.path.dirname(python)
        sdd = os.path.join(bindir, "sdd")
        env = dict(os.environ, NO_COLOR="1", HOME=work)
        env.pop("SDD_SESSION_ID", None)
        dashboard = has_dashboard_out(sdd, env)
        runner = Runner(env)
        rows: list[tuple[int, str, float | None, float | None, float | None, int]] = []
        for sessions in sizes:
            project = os.path.join(work, f"project-{sessions}")
            generate(python, project, sessions, env)
            time.sleep(2.1)  # let file times settle past the cache's racy-timestamp window
            commands = {
                BASE: [python, "-c", "pass"],
                "sdd next --json": [sdd, "next", "--json"],
                "sdd status": [sdd, "status"],
                COLD: [sdd, "status"],
                "sdd check": [sdd, "check"],
                "sdd prompt": [sdd, "prompt", "implement"],
                "sdd tasks": [sdd, "tasks"],
            }
            if dashboard:
                commands["sdd dashboard --out FILE"] = [
                    sdd,
                    "dashboard",
                    "--out",
                    os.path.join(work, f"dashboard-{sessions}.html"),
                ]
            prepare = {COLD: clear_panel_cache(project)}
            measured = measure(runner, commands, project, runs, prepare)
            # The whole history folded, in its own alternation (it leaves a checkpoint).
            whole = {BASE: [python, "-c", "pass"], WHOLE: [sdd, "status"]}
            folded = measure(
                runner, whole, project, max(3, runs // 4), {WHOLE: clear_cache(project)}
            )
            measured[WHOLE] = folded[WHOLE]
            # What records, measured after the reads (each run changes the history, so the
            # reads above would otherwise measure the first command after a change).
            abandon_open_session(sdd, project, env)()  # the generated cycle's open session
            recording = {
                BASE: [python, "-c", "pass"],
                # each run appends: a finding; a session started, then ended
                "sdd findings add": [
                    sdd,
                    "findings",
                    "add",
                    "--severity",
                    "minor",
                    "--stage",
                    "review",
                    "bench",
                ],
                "sdd start review": [sdd, "start", "review"],
                "sdd abandon": [sdd, "abandon", "--reason", "bench"],
            }
            second = measure(runner, recording, project, runs, {})
            # `sdd done` of an implement session whose work is committed, with the checks
            # stubbed to `true` (issue 21): each run ends a session started before it.
            stub_checks(sdd, project, env)
            finishing = {BASE: [python, "-c", "pass"], DONE: [sdd, "done"]}
            third = measure(
                runner, finishing, project, runs, {DONE: implement_session(sdd, project, env)}
            )
            bases = {WHOLE: folded[BASE][0]}
            for alternation, names in ((second, recording), (third, finishing)):
                for name in names:
                    if name != BASE:  # each against the bare interpreter of its own alternation
                        measured[name] = alternation[name]
                        bases[name] = alternation[BASE][0]
            base = measured[BASE][0]
            for name, (seconds, peak, code) in measured.items():
                ratio = seconds / bases.get(name, base)
                rows.append((sessions, name, seconds, ratio, peak, code))
            if not dashboard:
                rows.append((sessions, "sdd dashboard --out FILE", None, None, None, 0))
            signed = project + "-signed"
            generate(python, signed, sessions, env, signed=True)
            gated = {
                BASE: [python, "-c", "pass"],
                SIGNED_START: [sdd, "start", "implement", "--task", "T1"],
            }
            prepare = {SIGNED_START: abandon_open_session(sdd, signed, env)}
            measured = measure(runner, gated, signed, runs, prepare)
            seconds, peak, code = measured[SIGNED_START]
            rows.append((sessions, SIGNED_START, seconds, seconds / measured[BASE][0], peak, code))

        print(
            f"\n{runs} alternating runs per project, medians; peak memory is the child's ru_maxrss\n"
        )
        print("| sessions | command | median | × python -c pass | peak memory | target |")
        print("|---:|---|---:|---:|---:|---|")
        missed = False
        for sessions, name, seconds, ratio, peak, code in rows:
            if seconds is None:
                print(
                    f"| {sessions:,} | `{name}` | — | — | — | absent: this sdd has no `dashboard --out` |"
                )
                continue
            assert ratio is not None and peak is not None
            notes = []
            limit = TIME_TARGETS.get((name, sessions))
            judged = name not in (BASE, COLD, WHOLE, SIGNED_START)  # the table
            if limit is None and sessions in FLAT_SIZES and judged:
                limit = FLAT_RATIO
            if name == WHOLE and sessions in WHOLE_TARGETS:
                ok = seconds <= WHOLE_TARGETS[sessions]
                missed |= not ok
                notes.append(f"< {WHOLE_TARGETS[sessions]:g} s {'✔' if ok else '✘ MISSED'}")
            if limit is not None:
                ok = ratio <= limit
                missed |= not ok
                notes.append(f"≤ {limit:g}× {'✔' if ok else '✘ MISSED'}")
            memory = MEMORY_TARGETS.get((name, sessions))
            if memory is None and sessions in FLAT_SIZES and judged:
                memory = FLAT_MEMORY
            if memory is not None:
                ok = peak < memory
                missed |= not ok
                notes.append(f"< {memory:g} MiB {'✔' if ok else '✘ MISSED'}")
            if code:
                notes.append(f"exit {code}")
            print(
                f"| {sessions:,} | `{name}` | {seconds * 1000:.1f} ms | {ratio:.2f}× "
                f"| {peak:.1f} MiB | {'; '.join(notes)} |"
            )
        if not args.quick:
            demo_seconds, _, code = runner.run([sdd, "demo", os.path.join(work, "demo")], work)
            ok = demo_seconds < DEMO_TARGET and code == 0
            missed |= not ok
            print(
                f"| | `sdd demo` (a whole cycle: 14 sessions, 4 gates, two findings fixed, a release) | {demo_seconds:.2f} s | | "
                f"| < {DEMO_TARGET:g} s {'✔' if ok else '✘ MISSED'} |"
            )
        runner.close()
        print_chart(rows)
        return 1 if missed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Generate a large sdd project for the benchmarks: many cycles, sessions and records.

Run with the Python of the sdd installation under test:
    python bench/generate.py DIR --cycles 20 --sessions 1000 --records 5000
    python bench/generate.py DIR ... --signed   # a signed project (see below)

The documents are the demo's (they pass their contracts; the plan has tasks T1 and T2), and
the config names one verify check (``tests``: pytest), set before the first session. The
history is written through sdd's own public pieces (``sdd.history.append`` under the lock),
and has the shape real use gives it: each session is what `sdd run` and `sdd done` record
— `session.start`, `session.launch`, for an implement session its `verify.run` (green),
`session.end`, then `session.exit` once the agent's tree has ended — about 5 records a
session. A history asked to hold more records than that has red verify runs before some
green ones (a run that failed and was fixed); never filler of another kind. The last cycle
is left in the middle of implementation, with both early gates approved, its last session
open (its agent has exited).

With ``--commits N`` the project is a git repository whose history after its first commit
(the base, tagged ``bench-base``) holds N commits of code, each the work of one implement
session of the history (its start and end commits, its patch id, as `sdd done` records
them), then one commit of sdd's records: what `sdd ci check --base bench-base` judges.
Its config accepts unsigned work (``[ci] accept_unsigned``) unless it is ``--signed``.

With ``--signed`` the project has an approver from its second record (a key without a
passphrase, made here with ssh-keygen: a benchmark has no person to type one), every gate is
approved with a real SSHSIG signature, and the last cycle's open session is closed, so that
`sdd start implement --task T1` is a gated decision that rests on signed records.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from typing import Any

STAGES = [
    "spec",
    "architecture",
    "plan",
    "implement",
    "review",
    "qa",
    "user-verification",
    "final-verification",
    "postmortem",
]
GATES = {
    "spec": "spec-approval",
    "plan": "implementation-approval",
    "user-verification": "user-approval",
    "final-verification": "deployment-approval",
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--signed", action="store_true", help="an approver signs every gate")
    parser.add_argument(
        "--commits", type=int, default=0, help="commits of code, one per implement session"
    )
    args = parser.parse_args()

    root = os.path.abspath(args.directory)
    env = dict(os.environ, NO_COLOR="1")
    sdd = os.path.join(os.path.dirname(sys.executable), "sdd")
    subprocess.run(
        [sdd, "init", root, "--title", "Cycle 1"], check=True, env=env, stdout=subprocess.DEVNULL
    )

    from sdd.core import history
    from sdd.core.records import Kind
    from sdd.documents import snapshots
    from sdd.project.project import Project

    project = Project(root)
    paths = project.paths
    docs = {
        "spec": ["docs/product-spec.md"],
        "architecture": ["docs/architecture.md"],
        "plan": ["docs/implementation-plan.md", "docs/test-plan.md"],
    }
    # The demo's documents: they pass their contracts, so `sdd check` checks real content
    # and implement sessions have tasks (T1, T2) whose brief `sdd prompt` composes.
    from sdd.demo import agent

    texts = {
        "docs/product-spec.md": agent.SPEC,
        "docs/architecture.md": agent.ARCHITECTURE,
        "docs/implementation-plan.md": agent.PLAN,
        "docs/test-plan.md": agent.TEST_PLAN,
    }
    for group in docs.values():
        for relative in group:
            with open(os.path.join(root, relative), "w", encoding="utf-8") as handle:
                handle.write(texts[relative])
    # The project's verify check, set before its first session (what the config says then
    # takes effect): the checks every generated verify run ran.
    with open(paths.config, "a", encoding="utf-8") as handle:
        handle.write(CHECKS)
    checks = Project(root).rules
    hashes = {p: snapshots.snapshot(paths, p) for group in docs.values() for p in group}
    entries: list[tuple[Kind, dict[str, object]]] = []
    sign = None
    if args.signed:
        sign, approver = _approver(root, env)
        entries.append(("approver.add", approver))
    work: list[tuple[str | None, str, str]] = []  # (head before, head after, patch id)
    if args.commits:
        if entries:  # the approver is the base's: `sdd ci check` judges by its approvers
            with history.locked(paths):
                history.append(paths, entries, sign=sign)
            entries = []
        work = _commits(root, args.commits, env, signed=args.signed)
    # Where a red verify run may go (before a session's green one, or its end): the places
    # in ``entries``, and the session's fields for the run.
    green: list[tuple[int, dict[str, object]]] = []
    ends: list[tuple[int, dict[str, object]]] = []
    per_cycle = args.sessions // args.cycles
    number = 0
    for cycle in range(1, args.cycles + 1):
        if cycle > 1:
            entries.append(
                (
                    "cycle.open",
                    {
                        "cycle": cycle,
                        "title": f"Cycle {cycle}",
                        "slug": f"{cycle:03d}-cycle-{cycle}",
                        "discovery": False,
                    },
                )
            )
        last = cycle == args.cycles
        # Stages in order; implement takes the sessions left over. The last cycle stops mid-implement.
        plan = STAGES[:3] + ["implement"] * (per_cycle - 8) + STAGES[4:]
        if last and args.signed:  # implement next: its start is the gated decision measured
            plan = STAGES[:3]
        elif last:
            plan = STAGES[:3] + ["implement"] * (per_cycle - 3)
        for index, stage in enumerate(plan):
            number += 1
            session = f"S-{number:04d}"
            outputs = {p: hashes[p] for p in docs.get(stage, [])}
            before, after, patches = None, None, []
            if stage == "implement" and work:
                before, after, patch = work.pop(0)
                patches = [patch]
            entries.append(
                (
                    "session.start",
                    {
                        "session": session,
                        "cycle": cycle,
                        "stage": stage,
                        "page": f"docs/sessions/{session}-{stage}.md",
                        "head": before,
                        "dirty": {},
                        "agent": "bench",
                        "writes": list(outputs),
                        "task": f"T{1 + index % 2}" if stage == "implement" else None,
                    },
                )
            )
            # `sdd run` (sessions.launched): how the agent was launched, headless.
            entries.append(
                (
                    "session.launch",
                    {
                        "session": session,
                        "command": ["bench-agent", "-p", "<brief, 6144 bytes>"],
                        "log": f".sdd/logs/sessions/{session}.log",
                    },
                )
            )
            still_open = last and index == len(plan) - 1 and not args.signed
            run = {"cycle": cycle, "session": session, "head": after}
            if stage == "implement" and not still_open:
                # `sdd done` runs `sdd verify` (no green run at HEAD yet): its record.
                green.append((len(entries), run))
                entries.append(("verify.run", _verify_run(checks, run, number, ok=True)))
            if not still_open:
                ends.append((len(entries), run))
                entries.append(
                    (
                        "session.end",
                        {
                            "session": session,
                            "cycle": cycle,
                            "outcome": "complete",
                            "head": after,
                            "outputs": outputs,
                            "changed": [],
                            **({"patches": patches} if after else {}),
                        },
                    )
                )
            # `sdd run` once the agent's whole tree has ended (the open one's agent exited
            # without `sdd done`): before any person's act after it, as in real use.
            entries.append(("session.exit", {"session": session, "exit_code": 0}))
            gate = GATES.get(stage)
            if gate and (index + 1 == len(plan) or plan[index + 1] != stage):
                judged = {
                    p: hashes[p]
                    for s in (["architecture", "plan"] if stage == "plan" else [stage])
                    for p in docs.get(s, [])
                }
                entries.append(
                    (
                        "gate.approve",
                        {
                            "cycle": cycle,
                            "gate": gate,
                            "by": {"kind": "person", "name": "Bench Person"},
                            "docs": judged,
                            "confirmed": "code",
                        },
                    )
                )
    # More records asked for than the sessions make: red verify runs (a run that failed and
    # was fixed), spread over the implement sessions before their green run, or, with none,
    # over the sessions before their end.
    extra = args.records - 2 - len(entries)
    hosts = green or ends
    if extra > 0 and hosts:
        red: dict[int, list[tuple[Kind, dict[str, object]]]] = {place: [] for place, _ in hosts}
        for n in range(extra):
            place, run = hosts[n % len(hosts)]
            red[place].append(("verify.run", _verify_run(checks, run, n, ok=False)))
        entries = [e for place, entry in enumerate(entries) for e in (*red.get(place, ()), entry)]
    with history.locked(paths):
        history.append(paths, entries, sign=sign)
    # Committed, as a project's history is: the segment is sealed, and what commands record
    # after goes into a new one.
    git = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run([*git, "add", "-A"], check=True, env=env, cwd=root)
    subprocess.run(
        [*git, "commit", "-q", "--no-verify", "-m", "bench"],
        check=True,
        env=env,
        cwd=root,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run([sdd, "status"], check=True, env=env, cwd=root, stdout=subprocess.DEVNULL)
    if args.commits:
        _git(root, env, "add", "-A")
        _git(root, env, "commit", "-q", "-m", "sdd: the sessions' records")
    total = len(history.load(paths).records)
    kind = "signed" if args.signed else "unsigned"
    print(f"generated {root}: {args.cycles} cycles, {number} sessions, {total} records, {kind}")
    return 0


CHECKS = """
[[verify.checks]]
name = "tests"
command = ["python3", "-m", "pytest", "-q"]
timeout = 900
"""


def _verify_run(checks: Any, run: dict[str, object], n: int, *, ok: bool) -> dict[str, object]:
    """A `verify.run` as `sdd verify` records it (usecases/verify.py): the checks in force
    (``checks``: the project's rules), each one's log under .sdd/logs/verify/, the code it
    ran on (``gitrepo.code_key``: each session's own here)."""
    folder = f".sdd/logs/verify/20260101T{n % 240000:06d}Z-{n % 0xFFFFFF:06x}"
    ran = []
    for index, spec in enumerate(checks.checks, start=1):
        log = f"{folder}/{index:02d}-{spec.name}.log"
        ran.append(
            {
                "name": spec.name,
                "command": list(spec.command),
                "exit_code": 0 if ok else 1,
                "timed_out": False,
                "seconds": 4.2,
                "log": log,
                "log_sha256": hashlib.sha256(log.encode()).hexdigest(),
                "passed": ok,
            }
        )
    code = hashlib.sha256(f"{run['session']}".encode()).hexdigest()
    return {
        **run,
        "checks_fingerprint": checks.checks_fingerprint,
        "clean": True,
        "dirty": [],
        "detected": checks.detected,
        "checks": ran,
        "code": code,
        "ok": ok,
    }


def _git(root: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def _commits(
    root: str, count: int, env: dict[str, str], *, signed: bool
) -> list[tuple[str | None, str, str]]:
    """The base commit (the project and its documents, tagged bench-base), then ``count``
    commits of code, made with `git fast-import` (one process). (before, after, patch id)."""
    from sdd.system import gitrepo

    env.update(
        GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.com",
    )  # fmt: skip
    if not signed:
        with open(os.path.join(root, ".sdd", "config.toml"), "a", encoding="utf-8") as handle:
            handle.write("\n[ci]\naccept_unsigned = true\n")
    _git(root, env, "add", "-A")
    _git(root, env, "commit", "-q", "-m", "the base: the project and its documents")
    _git(root, env, "tag", "bench-base")
    branch = _git(root, env, "symbolic-ref", "HEAD")
    stream = []
    for n in range(1, count + 1):
        body = f"def feature_{n}() -> int:\n    return {n}\n".encode()
        message = f"T{1 + n % 2}: feature {n}".encode()
        stream.append(b"commit " + branch.encode() + b"\n")
        stream.append(b"mark :%d\n" % n)
        stream.append(b"committer Bench <bench@example.com> %d +0000\n" % (1_800_000_000 + n))
        stream.append(b"data %d\n%s\n" % (len(message), message))
        if n == 1:
            stream.append(b"from " + branch.encode() + b"^0\n")
        stream.append(b"M 100644 inline src/feature_%d.py\ndata %d\n%s\n" % (n, len(body), body))
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=root, env=env, check=True, input=b"".join(stream)
    )
    _git(root, env, "reset", "-q", "--hard")
    shas = _git(root, env, "rev-list", "--reverse", "bench-base..HEAD").split()
    patches = gitrepo.patch_ids(root, shas)
    before = _git(root, env, "rev-parse", "bench-base")
    work = []
    for sha in shas:
        work.append((before, sha, patches[sha]))
        before = sha
    return work


def _approver(root: str, env: dict[str, str]) -> tuple[object, dict[str, object]]:
    """A key for the bench's approver, the signer of the person's acts, and its record."""
    from sdd.system import signing
    from sdd.usecases import acts

    key_path = os.path.join(root, ".sdd", "tmp", "bench-approver")
    os.makedirs(os.path.dirname(key_path), exist_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", key_path],
        check=True,
        env=env,
    )
    key = signing.signing_key(key_path, cwd=root, source="the bench's key")
    assert key.public_key is not None
    record = {"principal": "Bench Person", "key": key.public_key.openssh}
    return acts.signer(key), record


if __name__ == "__main__":
    sys.exit(main())

"""The one wrapper for child processes starts a child by fork and exec in a process without
threads (every `sdd` command: `subprocess` costs start-up) and by `subprocess` in one with
threads (the MCP server, the web view; and pytest). Both give the same result for the same
child: its exit status, output (text: UTF-8 with undecodable bytes replaced, universal
newlines), input, working folder, PATH search, a missing command, a timeout, and the signals
Python ignores back to their defaults. Measured in real child interpreters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# Each case: what run_subprocess / run_bytes is asked, as keyword arguments.
CASES: list[dict[str, Any]] = [
    {"args": ["sh", "-c", "echo out; echo err >&2; exit 3"]},
    {"args": ["sh", "-c", "printf 'a\\r\\nb\\rc\\377'"]},
    {"args": ["cat"], "input_text": "line one\nline two ✔\n"},
    {"args": ["cat"], "bytes": True, "input_bytes": b"\x00\xff" * 200000},
    {"args": ["pwd"], "cwd": "/"},
    {"args": ["sh", "-c", "cat; echo done"]},  # no input: an empty standard input
    {"args": ["sh", "-c", "yes | head -n 2"]},  # SIGPIPE at its default: yes ends
    {"args": ["no-such-command-sdd"]},
    {"args": ["sh", "-c", "sleep 5"], "timeout": 0.5},
    {"args": ["env"], "env": {"PATH": "/usr/bin:/bin", "ONLY": "this"}},
    {"args": ["sdd-fake-tool"], "env_path_first": True},
]

RUNNER = r"""
import json, os, sys
if sys.argv[1] == "threads":
    import threading  # a process with threads: the wrapper uses subprocess
from sdd.system import process
out = []
for case in json.loads(sys.stdin.read()):
    kw = dict(case)
    args = kw.pop("args")
    as_bytes = kw.pop("bytes", False)
    if kw.pop("env_path_first", False):
        kw["env"] = {**os.environ, "PATH": os.environ["FAKE_DIR"] + ":" + os.environ["PATH"]}
    if "input_bytes" in kw:
        kw["input_bytes"] = kw["input_bytes"].encode("latin-1")
    try:
        if as_bytes:
            done = process.run_bytes(args, **kw)
            out.append([done.returncode, done.stdout.decode("latin-1"), done.stderr])
        else:
            done = process.run_subprocess(args, **kw)
            out.append([done.returncode, done.stdout, done.stderr])
    except Exception as exc:
        out.append([type(exc).__name__, str(exc)])
out.append("subprocess" in sys.modules)
print(json.dumps(out))
"""


def _results(mode: str, fake_dir: Path) -> list[Any]:
    cases = [
        {**c, "input_bytes": c["input_bytes"].decode("latin-1")} if "input_bytes" in c else c
        for c in CASES
    ]
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, mode],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        env={**os.environ, "FAKE_DIR": str(fake_dir)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    parsed: list[Any] = json.loads(done.stdout)
    return parsed


def test_fork_and_subprocess_give_the_same_results(tmp_path: Path) -> None:
    tool = tmp_path / "sdd-fake-tool"
    tool.write_text("#!/bin/sh\necho fake tool ran\n", encoding="utf-8")
    tool.chmod(0o755)
    forked = _results("plain", tmp_path)
    threaded = _results("threads", tmp_path)
    assert forked.pop() is False  # no `subprocess` imported: the fork path ran
    assert threaded.pop() is True
    assert forked == threaded
    by_case = dict(zip((" ".join(c["args"]) for c in CASES), forked, strict=True))
    by_case["cat"], by_case["cat bytes"] = forked[2], forked[3]
    assert by_case["sh -c echo out; echo err >&2; exit 3"] == [3, "out\n", "err\n"]
    assert by_case["sh -c printf 'a\\r\\nb\\rc\\377'"][1] == "a\nb\nc\ufffd"
    assert by_case["cat"][1] == "line one\nline two ✔\n"
    assert by_case["cat bytes"][1] == "\x00\xff" * 200000
    assert by_case["pwd"][1] == "/\n"
    assert by_case["sh -c cat; echo done"][1] == "done\n"
    assert by_case["sh -c yes | head -n 2"] == [0, "y\ny\n", ""]
    assert by_case["no-such-command-sdd"] == [
        "ProcessError",
        "no-such-command-sdd: command not found",
    ]
    assert by_case["sh -c sleep 5"][0] == "ProcessError"
    assert "no answer within 0.5 s" in by_case["sh -c sleep 5"][1]
    assert sorted(by_case["env"][1].split()) == ["ONLY=this", "PATH=/usr/bin:/bin"]
    assert by_case["sdd-fake-tool"] == [0, "fake tool ran\n", ""]


def test_a_timed_out_child_does_not_outlive_the_wrapper(tmp_path: Path) -> None:
    marker = tmp_path / "alive"
    script = (
        "from sdd.system import process\n"
        "try:\n"
        f"    process.run_subprocess(['sh', '-c', 'echo $$ > {marker}; sleep 30'], timeout=0.5)\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "ProcessError", done.stderr
    pid = int(marker.read_text(encoding="utf-8"))
    try:
        os.kill(pid, 0)
        alive = not Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except ProcessLookupError:
        alive = False
    assert not alive

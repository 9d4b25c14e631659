"""The checkpoint in `.sdd/cache` forged by an agent (issue 21): a recording command starts
from it, so an agent with a shell and sdd's source may write one that says a gate was
approved. In a signed project the approval a gate's decision rests on is read back from the
history and its signature checked before anything is decided: a forged approval, made up or
replayed from another gate's real signed record, does not pass the gate: the command is
refused, naming the cache, and the next one folds the whole history."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run, sdd_json
from redteam.attacker import PROGRAMS
from redteam.person import Signed
from redteam.verdicts import not_passed, refused_run

GATE = "implementation-approval"


def _forge(root: Path, how: str) -> str:
    done = subprocess.run(
        [sys.executable, str(PROGRAMS / "forge_checkpoint.py"), str(root), GATE, how],
        capture_output=True,
        text=True,
        check=True,
    )
    return str(json.loads(done.stdout)["forged"])


@pytest.mark.parametrize("how", ["made-up", "replay"])
def test_an_approval_forged_into_the_checkpoint_does_not_pass_the_gate(
    signed: Signed, how: str
) -> None:
    root = signed.root
    sdd_json("status", cwd=root)  # a command writes the checkpoint the agent forges
    forged = _forge(root, how)
    result = run("start", "implement", "--task", "T1", cwd=root)
    refused_run(result, "checkpoint in .sdd/cache does not match the history's signed records")
    not_passed(root, GATE)
    refused_run(run("start", "implement", "--task", "T1", cwd=root), GATE)  # folded whole
    # and what a reader of the forged cache shows is never a decision: status folds anew
    status = sdd_json("status", cwd=root)
    assert forged not in json.dumps(status)

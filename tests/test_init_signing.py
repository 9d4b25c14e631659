"""`sdd init` offers a person at their terminal to sign the person's acts: with git's SSH
signing key, with a new dedicated key (made by the real ssh-keygen, which asks for its
passphrase), or not now. Without a terminal, and with `--unsigned`, nothing is asked and the
project starts unsigned. Passphrases come from an SSH_ASKPASS program (tests/ssh_helpers.py);
every key lives under the test's own folders.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from helpers import (
    CODE,
    INTERRUPT,
    commit_all,
    complete_stage,
    gate_of,
    git,
    pty_detached,
    pty_run,
    run,
    status,
)
from ssh_helpers import PASSPHRASE, askpass_env, keygen
from system_tools import need_tool

CHOOSE = re.compile(rb"Choose (g, n|n) or s: ")
WHERE = re.compile(rb"Where to keep the new key \[[^\]]*\]: ")
CODE_PROMPT = re.compile(rb"Type ([A-Z0-9]{4}) to ")

Answers = list[tuple[re.Pattern[bytes], object]]


def person_inits(
    work: Path, answers: Answers, env: dict[str, str] | None = None, *extra: str
) -> tuple[int, str]:
    """`sdd init proj` at a real pty, each prompt answered in turn: a string is typed with
    Enter, CODE types the code shown, INTERRUPT presses Ctrl-C."""
    step, seen = 0, 0

    def react(shown: bytearray, type_: Callable[[bytes], object]) -> None:
        nonlocal step, seen
        if step >= len(answers):
            return
        pattern, reply = answers[step]
        match = pattern.search(bytes(shown), seen)
        if match is None:
            return
        step, seen = step + 1, match.end()
        if reply is CODE:
            type_(match.group(1) + b"\n")
        elif reply is INTERRUPT:
            type_(b"\x03")
        else:
            type_(str(reply).encode() + b"\n")

    # The request is given, so that `sdd init` asks only the signing question at the terminal.
    argv = ["sdd", "init", "proj", "--request", "A project for the signing tests", *extra]
    code, shown = pty_detached(argv, work, env, react, timeout=120)
    assert step == len(answers), f"not every prompt came (answered {step}):\n{shown}"
    return code, shown


def fingerprint(key: Path) -> str:
    done = subprocess.run(
        [need_tool("ssh-keygen"), "-l", "-f", f"{key}.pub"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()[1]


def git_signs_with(key: Path, work: Path) -> None:
    """The person's own git configuration (the global one) signs with ``key``."""
    git("config", "--global", "gpg.format", "ssh", cwd=work)
    git("config", "--global", "user.signingkey", str(key), cwd=work)


def signing(root: Path) -> dict[str, object]:
    found = status(root)["signing"]
    assert isinstance(found, dict)
    return found


def approvers(root: Path) -> list[str]:
    return [a["fingerprint"] for a in signing(root)["approvers"]]  # type: ignore[attr-defined]


def test_the_person_signs_with_gits_key_and_approves_a_gate_with_it_later(
    work: Path, tmp_path: Path
) -> None:
    key = keygen(tmp_path / "signing", passphrase=PASSPHRASE)
    git_signs_with(key, work)
    env = askpass_env(tmp_path)
    code, shown = person_inits(work, [(CHOOSE, "g"), (CODE_PROMPT, CODE)], env)
    assert code == 0, shown
    assert f"git's signing key: {fingerprint(key)}" in shown  # offered, with its fingerprint
    root = work / "proj"
    assert signing(root)["signed"] is True and approvers(root) == [fingerprint(key)]
    assert "first approver" in shown and "unsigned" not in shown.split("Choose")[1]
    commit_all(root, "sdd init, signed")
    complete_stage(root, "spec")
    commit_all(root, "spec")
    code, shown = pty_run(
        ["sdd", "approve", "spec-approval"], cwd=root, env=env, prompt=CODE_PROMPT, timeout=120
    )
    assert code == 0, shown
    assert gate_of(status(root), "spec-approval")["state"] == "approved"


def test_a_new_dedicated_key_is_made_with_its_passphrase_and_signs_the_project(
    work: Path, tmp_path: Path
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a key\n", encoding="utf-8")
    answers: Answers = [(CHOOSE, "n"), (WHERE, str(taken)), (WHERE, ""), (CODE_PROMPT, CODE)]
    code, shown = person_inits(work, answers, askpass_env(tmp_path))
    assert code == 0, shown
    assert "[g]" not in shown  # git has no signing key here: not offered
    assert "exists already" in shown and taken.read_text(encoding="utf-8") == "not a key\n"
    made = Path.home() / ".ssh" / "sdd_ed25519"  # the default: the person's own SSH folder
    assert made.is_file() and Path(f"{made}.pub").is_file()
    assert "no passphrase" not in shown
    # The passphrase ssh-keygen asked for is on the key: without it, it does not open.
    locked = subprocess.run(
        [need_tool("ssh-keygen"), "-y", "-P", "", "-f", str(made)],
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    assert locked.returncode != 0
    root = work / "proj"
    assert signing(root)["signed"] is True and approvers(root) == [fingerprint(made)]


def test_skipping_leaves_the_project_unsigned_and_names_the_command_that_signs_later(
    work: Path,
) -> None:
    code, shown = person_inits(work, [(CHOOSE, "s")])
    assert code == 0, shown
    after = shown.split("Choose")[1]
    assert "unsigned" in after and "sdd approvers add" in after
    root = work / "proj"
    assert signing(root)["signed"] is False and approvers(root) == []
    assert "cycle 1 opened" in shown


def test_without_a_terminal_nothing_is_asked_and_the_project_starts_unsigned(
    work: Path, tmp_path: Path
) -> None:
    git_signs_with(keygen(tmp_path / "signing", passphrase=PASSPHRASE), work)
    result = run("init", "proj", cwd=work)
    assert result.returncode == 0, result.stderr
    assert "Choose" not in result.stdout + result.stderr
    assert "unsigned" in result.stdout and "sdd approvers add" in result.stdout
    assert signing(work / "proj")["signed"] is False


def test_unsigned_asks_nothing_at_a_terminal(work: Path, tmp_path: Path) -> None:
    git_signs_with(keygen(tmp_path / "signing", passphrase=PASSPHRASE), work)
    code, shown = person_inits(work, [], None, "--unsigned")
    assert code == 0, shown
    assert "Choose" not in shown and "unsigned" in shown
    assert signing(work / "proj")["signed"] is False


def test_ctrl_c_at_the_question_leaves_the_project_initialised_and_unsigned(
    work: Path,
) -> None:
    code, shown = person_inits(work, [(CHOOSE, INTERRUPT)])
    assert code == 130, shown
    assert "initialised, and unsigned" in shown and "sdd approvers add" in shown
    root = work / "proj"
    assert signing(root)["signed"] is False
    assert status(root)["cycle"]["number"] == 1


def test_a_wrong_code_records_no_approver_and_says_the_project_is_unsigned(
    work: Path, tmp_path: Path
) -> None:
    key = keygen(tmp_path / "signing", passphrase=PASSPHRASE)
    git_signs_with(key, work)
    code, shown = person_inits(work, [(CHOOSE, "g"), (CODE_PROMPT, "WXYZ0")], askpass_env(tmp_path))
    assert code == 1, shown
    assert "did not match" in shown and "initialised, and unsigned" in shown
    assert signing(work / "proj")["signed"] is False

"""The person of a signed project, at their own terminal: an SSH key with a passphrase (given
by an SSH_ASKPASS program, as tests/ssh_helpers.py does it), git set to sign with that key
(`gpg.format = ssh`, `user.signingkey`), and every act typed at a real pseudo-terminal with
the confirmation code typed back.

Written against the interface ISSUE16.md names: `sdd approvers add --key KEY --name NAME`,
`sdd approvers revoke FINGERPRINT`, `sdd approvers recover --key KEY`, `sdd approvers`.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from helpers import commit_all, complete_stage, git, init_project, pty_run
from ssh_helpers import PASSPHRASE, askpass_env, keygen, tool_env
from system_tools import need_tool

# Every person's act ends with `Type XXXX to <verb>`: approve, reject, waive it, record it…
CODE_PROMPT = re.compile(rb"Type ([A-Z0-9]{4}) to ")


@dataclass
class Person:
    name: str
    key: Path
    env: dict[str, str]  # what reaches ssh-keygen: the program that types the passphrase

    @classmethod
    def make(cls, folder: Path, name: str = "Ada Tester", passphrase: str = PASSPHRASE) -> Person:
        folder.mkdir(parents=True, exist_ok=True)
        key = keygen(folder / "signing-key", passphrase=passphrase)
        return cls(name, key, askpass_env(folder, passphrase) if passphrase else {})

    def signs_commits_in(self, root: Path) -> None:
        git("config", "gpg.format", "ssh", cwd=root)
        git("config", "user.signingkey", str(self.key), cwd=root)

    def act(self, root: Path, *args: str) -> tuple[int, str]:
        """`sdd ARGS` at the person's terminal: (exit code, what the terminal showed)."""
        return pty_run(["sdd", *args], cwd=root, env=self.env, prompt=CODE_PROMPT, timeout=120)

    def does(self, root: Path, *args: str) -> str:
        code, shown = self.act(root, *args)
        assert code == 0, f"the person's `sdd {' '.join(args)}` failed (exit {code}):\n{shown}"
        return shown

    def adds_approver(self, root: Path, key: Path, name: str) -> str:
        code, shown = self.act(root, "approvers", "add", "--key", str(key), "--name", name)
        assert code == 0, (
            f"needs the interface: `sdd approvers add --key KEY --name NAME` (ISSUE16.md) "
            f"exited {code}:\n{shown}"
        )
        return shown

    def signed_commit(self, root: Path, message: str) -> str:
        """A commit the person signs with git (namespace `git`), as they do every day."""
        args = ["git", "-c", "gpg.format=ssh", "-c", f"user.signingkey={self.key}"]
        args += ["commit", "-q", "-S", "--allow-empty", "-m", message]
        env = tool_env(Path.home(), self.env)  # no ssh-agent: the passphrase is typed
        done = subprocess.run(args, cwd=root, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        return git("rev-parse", "HEAD", cwd=root).stdout.strip()


@dataclass
class Signed:
    """A copy of the signed project and the person who signs its acts."""

    root: Path
    person: Person


def fingerprint(key: Path) -> str:
    """`SHA256:…` of a key, as ssh-keygen -l prints it."""
    done = subprocess.run(
        [need_tool("ssh-keygen"), "-l", "-f", f"{key}.pub"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()[1]


def build_signed(folder: Path, person: Person) -> Path:
    """A signed project: the person adds their key as the first approver before any agent
    ran, the spec is approved with their signature, the architecture and the plan are done;
    implementation-approval waits. Committed after every step, as a person would."""
    root = init_project(folder, name="signed")
    person.signs_commits_in(root)
    person.adds_approver(root, person.key, person.name)
    commit_all(root, "the first approver")
    complete_stage(root, "spec")
    commit_all(root, "spec")
    person.does(root, "approve", "spec-approval")
    commit_all(root, "spec approved")
    complete_stage(root, "architecture")
    complete_stage(root, "plan")
    commit_all(root, "architecture and plan")
    return root

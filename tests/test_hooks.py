"""`sdd hooks` (issue 18 point 4): the server's pre-receive hook refuses a push to a
protected branch that `sdd ci check` fails, with its reasons in the push's output, over a
real `git push` to a real bare repository; the hook fails closed without sdd."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ci_helpers import implement, push, ready_copy
from helpers import BIN, commit_all, git, run
from redteam.forge import History, fields_of, keep_snapshot, signature_by
from redteam.person import Person
from ssh_helpers import keygen, public_line

PLAN_DOCS = ("docs/architecture.md", "docs/implementation-plan.md", "docs/test-plan.md")


@pytest.fixture
def ready(_stash: dict[str, object], work: Path) -> tuple[Path, Path, Person]:
    """(clone, server, person): implementation-approval waits on the server's main."""
    return ready_copy(_stash, work)


def _code(clone: Path, message: str = "quick fix, no session") -> str:
    (clone / "hack.py").write_text("print('written outside the process')\n", encoding="utf-8")
    return commit_all(clone, message)


def test_code_pushed_with_no_implementation_approval_is_refused_and_named(ready) -> None:
    clone, server, _person = ready
    sha = _code(clone)
    pushed = push(clone, "origin", "main")
    assert pushed.returncode != 0, pushed.stderr
    assert sha[:10] in pushed.stderr and "outside any implement or fix session" in pushed.stderr
    assert "the push is refused" in pushed.stderr
    assert git("rev-parse", "main", cwd=server).stdout.strip() != sha  # the server kept its tip


def test_code_of_an_approved_session_is_accepted(ready) -> None:
    clone, server, person = ready
    person.does(clone, "approve", "implementation-approval")
    commit_all(clone, "implementation approved")
    implement(clone)
    pushed = push(clone, "origin", "main")
    assert pushed.returncode == 0, pushed.stderr
    assert "refs/heads/main: holds" in pushed.stderr
    assert (
        git("rev-parse", "main", cwd=server).stdout.strip()
        == git("rev-parse", "HEAD", cwd=clone).stdout.strip()
    )


def test_a_push_that_adds_its_own_approver_key_and_approves_itself_is_refused(
    ready, tmp_path: Path
) -> None:
    clone, _server, _person = ready
    mallory = keygen(tmp_path / "mallory-key")
    history = History(clone)
    added = history.forge("approver.add", {"principal": "mallory", "key": public_line(mallory),
                                           "recovery": True})  # fmt: skip
    added["sig"] = signature_by(mallory, added)
    history.write(added)
    fields = fields_of(history.one("gate.approve", gate="spec-approval").record)
    fields.update(
        gate="implementation-approval", docs={p: keep_snapshot(clone, p) for p in PLAN_DOCS}
    )
    approval = history.forge("gate.approve", fields)
    approval["sig"] = signature_by(mallory, approval)
    history.write(approval)
    sha = _code(clone, "T1: the code, approved by my own key")
    pushed = push(clone, "origin", "main")
    assert pushed.returncode != 0, pushed.stderr
    assert sha[:10] in pushed.stderr
    assert "which is not an approver" in pushed.stderr  # the self-made approval is named


def test_a_hook_that_cannot_find_sdd_refuses_the_push(ready, tmp_path: Path) -> None:
    clone, server, _person = ready
    bin_copy = tmp_path / "bin"
    bin_copy.mkdir()
    shutil.copy2(BIN / "sdd", bin_copy / "sdd")
    installed = run("hooks", "install", "--server", str(server), cwd=clone)
    assert installed.returncode == 0, installed.stderr
    reinstalled = subprocess.run(
        [str(bin_copy / "sdd"), "hooks", "install", "--server", str(server)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert reinstalled.returncode == 0, reinstalled.stderr
    assert str(bin_copy / "sdd") in (server / "hooks" / "pre-receive").read_text(encoding="utf-8")
    (bin_copy / "sdd").unlink()  # the recorded path is gone, and no sdd is on PATH
    (clone / "notes.txt").write_text("docs only\n", encoding="utf-8")
    commit_all(clone, "a harmless change")
    pushed = push(clone, "origin", "main", env={"PATH": "/usr/bin:/bin"})
    assert pushed.returncode != 0
    assert "the sdd command is not found" in pushed.stderr and "refused" in pushed.stderr


def test_the_pre_push_hook_refuses_before_anything_is_sent(ready) -> None:
    clone, server, _person = ready
    assert run("hooks", "uninstall", "--server", str(server), cwd=clone).returncode == 0
    assert run("hooks", "install", cwd=clone).returncode == 0
    sha = _code(clone)
    pushed = push(clone, "origin", "main")
    assert pushed.returncode != 0 and sha[:10] in pushed.stderr, pushed.stderr
    assert git("rev-parse", "main", cwd=server).stdout.strip() != sha


def test_a_hook_that_is_not_sdds_is_never_overwritten(ready) -> None:
    clone, server, _person = ready
    theirs = server / "hooks" / "pre-receive"
    theirs.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    refused = run("hooks", "install", "--server", str(server), cwd=clone)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "move it aside" in refused.stderr
    assert theirs.read_text(encoding="utf-8") == "#!/bin/sh\nexit 0\n"
    client = run("hooks", "install", cwd=clone)
    assert client.returncode == 0, client.stderr
    assert (clone / ".git" / "hooks" / "pre-push").exists()
    assert run("hooks", "uninstall", cwd=clone).returncode == 0
    assert not (clone / ".git" / "hooks" / "pre-push").exists()


def test_merged_squashed_and_rebased_branches_of_approved_sessions_are_accepted(ready) -> None:
    clone, server, person = ready
    person.does(clone, "approve", "implementation-approval")
    commit_all(clone, "implementation approved")
    assert push(clone, "origin", "main").returncode == 0
    git("checkout", "-q", "-b", "feature", cwd=clone)
    implement(clone)
    implement(clone, "\n\ndef expiry() -> int:\n    return 3600\n")
    git("checkout", "-q", "main", cwd=clone)
    (clone / "docs" / "notes.md").write_text("# Notes\n", encoding="utf-8")
    commit_all(clone, "docs: notes, meanwhile on main")
    assert push(clone, "origin", "main").returncode == 0
    # a plain merge, as a host's merge button makes it
    git("checkout", "-q", "-b", "merged", "main", cwd=clone)
    git("merge", "-q", "--no-ff", "-m", "Merge feature", "feature", cwd=clone)
    merged = push(clone, "origin", "merged:main")
    assert merged.returncode == 0, merged.stderr
    # the squash: every commit of the branch as one
    git("checkout", "-q", "-b", "squashed", "main", cwd=clone)
    git("merge", "-q", "--squash", "feature", cwd=clone)
    _code(clone, "feature, squashed, with a line no session wrote")
    smuggled = push(clone, "--force", "origin", "squashed:main")
    assert smuggled.returncode != 0 and "outside any implement" in smuggled.stderr
    git("reset", "-q", "--hard", "main", cwd=clone)
    git("merge", "-q", "--squash", "feature", cwd=clone)
    commit_all(clone, "feature, squashed")
    squashed = push(clone, "--force", "origin", "squashed:main")
    assert squashed.returncode == 0, squashed.stderr
    # the rebase: the same commits, new ids, onto what main is now
    git("checkout", "-q", "-b", "rebased", "feature", cwd=clone)
    git("rebase", "-q", "main", cwd=clone)
    rebased = push(clone, "--force", "origin", "rebased:main")
    assert rebased.returncode == 0, rebased.stderr
    assert (
        git("rev-parse", "main", cwd=server).stdout.strip()
        == git("rev-parse", "rebased", cwd=clone).stdout.strip()
    )

"""Records taken out of a committed history, in an unsigned project: at a line boundary (the
last record; a blocking finding and its reopen; the last third, with user-approval,
deployment-approval and the release; a whole segment), by a committed record edited with
every hash after it recomputed, and by git itself (a revert of the commit that held a
blocking finding, a cherry-pick of a commit holding an approval). Each is detected relative
to the history as last committed, named, and nothing moves on as if it had not happened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers import commit_all, git, pty_run, run
from redteam.forge import Entry, History
from redteam.person import CODE_PROMPT
from redteam.verdicts import flagged, not_passed, refused_run

GONE = ("removed", "missing", "deleted")


def _history(milestone: Any) -> tuple[Path, History]:
    """The whole of cycle 1 (a blocking finding and its fix, user-approval rejected then
    approved, deployment-approval, the release), committed."""
    root = milestone("history")
    commit_all(root, "the history so far")
    return root, History(root)


def _gone(root: Path, entries: list[Entry], *words: str) -> None:
    flagged(root, *(e.id for e in entries), words=(*GONE, *words))


def _blocking_finding(root: Path) -> list[Entry]:
    """QA finds a blocking bug (committed): the records that command wrote."""
    before = {e.id for e in History(root).entries()}
    result = run(
        "findings", "add", "expired links still work", "--severity", "blocking", "--stage", "qa",
        cwd=root,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    commit_all(root, "QA: a blocking finding")
    written = [e for e in History(root).entries() if e.id not in before]
    assert "finding.add" in {e.record["type"] for e in written}, written
    return written


def _does_not_move_on_to(root: Path, stage: str) -> None:
    result = run("next", "--json", cwd=root)
    assert result.returncode != 0 or f'"stage": "{stage}"' not in result.stdout, (
        f"the cycle moves on to {stage} as if the blocking finding had never been raised:\n"
        + result.stdout
    )


def test_removing_the_last_record_is_detected(milestone: Any) -> None:
    root, history = _history(milestone)
    last = history.entries()[-1]
    history.remove(last)
    _gone(root, [last])


def test_removing_a_blocking_finding_and_its_reopen_is_detected(milestone: Any) -> None:
    root = milestone("uv-ready")
    written = _blocking_finding(root)
    History(root).remove(*written)
    _gone(root, written)
    _does_not_move_on_to(root, "user-verification")


def test_removing_the_last_third_with_the_approvals_and_the_release_is_detected(
    milestone: Any,
) -> None:
    root, history = _history(milestone)
    entries = history.entries()
    cut = entries[len(entries) * 2 // 3 :]
    kinds = {(e.record["type"], e.record.get("gate")) for e in cut}
    assert {("gate.approve", "user-approval"), ("gate.approve", "deployment-approval")} <= kinds
    assert ("release", None) in kinds
    history.remove(*cut)
    _gone(root, cut)
    not_passed(root, "deployment-approval")


def test_removing_a_whole_segment_is_detected(milestone: Any) -> None:
    root, history = _history(milestone)
    blocking = history.one("finding.add", severity="blocking")
    segment = [e for e in history.entries() if e.path == blocking.path]
    blocking.path.unlink()
    _gone(root, segment, blocking.path.name)


def test_a_committed_record_edited_and_every_hash_after_it_recomputed_is_detected(
    milestone: Any,
) -> None:
    root, history = _history(milestone)
    blocking = history.one("finding.add", severity="blocking")
    history.edit(blocking, severity="minor")
    flagged(root, blocking.id, blocking.spot, words=("changed", "edited"))


def test_a_revert_of_the_commit_holding_a_blocking_finding_is_detected(milestone: Any) -> None:
    root = milestone("uv-ready")
    written = _blocking_finding(root)
    git("revert", "--no-edit", "HEAD", cwd=root)
    _gone(root, written, "revert")
    _does_not_move_on_to(root, "user-verification")


def _cherry_pick(root: Path, commit: str) -> None:
    """`git cherry-pick`; the pages sdd regenerates are taken as the commit has them."""
    if git("cherry-pick", commit, cwd=root, check=False).returncode != 0:
        conflicted = git("diff", "--name-only", "--diff-filter=U", cwd=root).stdout.split()
        git("checkout", "--theirs", "--", *conflicted, cwd=root)
        git("add", "--", *conflicted, cwd=root)
        git("-c", "core.editor=true", "cherry-pick", "--continue", cwd=root)


def test_a_cherry_picked_approval_from_another_branch_is_detected_and_passes_no_gate(
    project_at: Any,
) -> None:
    root = project_at("architecture", approve_gate_before=False)
    commit_all(root, "the spec")
    git("checkout", "-q", "-b", "elsewhere", cwd=root)
    result = run("findings", "add", "a typo", "--severity", "minor", "--stage", "qa", cwd=root)
    assert result.returncode == 0, result.stderr
    commit_all(root, "a finding on the other branch")
    code, shown = pty_run(["sdd", "approve", "spec-approval"], root, prompt=CODE_PROMPT)
    assert code == 0, shown
    approval = commit_all(root, "approved on the other branch")
    git("checkout", "-q", "main", cwd=root)
    _cherry_pick(root, approval)
    picked = History(root).one("gate.approve", gate="spec-approval")
    flagged(root, picked.id, picked.spot, words=("cherry-pick",))
    refused_run(run("start", "architecture", cwd=root), "spec-approval", "history")

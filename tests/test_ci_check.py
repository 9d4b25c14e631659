"""`sdd ci check` (issue 18 point 1) on a signed project's branches: verdicts on
cherry-picks, a release tag, an approval re-hashed after the fact, an unsigned base, the
base's checks run afresh (`--verify`), and the JSON and Markdown it writes for CI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ci_helpers import implement, ready_copy
from helpers import commit_all, git, run, sdd_json
from redteam.forge import History
from redteam.person import Person


@pytest.fixture
def ready(_stash: dict[str, object], work: Path) -> tuple[Path, Path, Person]:
    """(clone, server, person): implementation-approval waits on the server's main."""
    return ready_copy(_stash, work)


@pytest.fixture
def approved(_stash: dict[str, object], work: Path) -> tuple[Path, Person]:
    """The clone with implementation-approval passed on main (pushed), and the person."""
    clone, _server, person = ready_copy(_stash, work)
    person.does(clone, "approve", "implementation-approval")
    commit_all(clone, "implementation approved")
    git("push", "-q", "origin", "main", cwd=clone)
    git("fetch", "-q", "origin", cwd=clone)
    return clone, person


def _check(root: Path, *args: str) -> dict:  # type: ignore[type-arg]
    result = run("ci", "check", "--json", *args, cwd=root)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    envelope = json.loads(result.stdout)
    assert envelope["sdd"] == 1 and envelope["command"] == "ci"
    data = envelope["data"]
    assert (result.returncode == 0) == data["ok"]
    return data  # type: ignore[no-any-return]


def _whats(data: dict) -> str:  # type: ignore[type-arg]
    return "\n".join(f["what"] for f in data["failures"])


def test_cherry_picked_code_passes_with_its_sessions_history_and_is_named_without(
    approved: tuple[Path, Person],
) -> None:
    clone, _person = approved
    git("checkout", "-q", "-b", "feature", cwd=clone)
    sha = implement(clone)
    git("checkout", "-q", "-b", "picked", "main", cwd=clone)
    git("cherry-pick", sha, cwd=clone)
    alone = _check(clone, "--base", "origin/main")
    picked = git("rev-parse", "HEAD", cwd=clone).stdout.strip()
    assert not alone["ok"] and picked[:10] in _whats(alone)
    assert "outside any implement or fix session" in _whats(alone)
    git("checkout", "feature", "--", ".sdd", cwd=clone)  # the session's records come too
    commit_all(clone, "the history of the session the code came from")
    assert _check(clone, "--base", "origin/main")["ok"]


def test_a_release_tag_without_deployment_approval_falls_short(
    approved: tuple[Path, Person],
) -> None:
    clone, _person = approved
    implement(clone)
    assert _check(clone)["ok"]  # the merge base with origin/HEAD: main as the server has it
    git("tag", "v1.0", cwd=clone)
    tagged = _check(clone)
    assert tagged["release"] == "tag v1.0"
    assert "deployment-approval" in _whats(tagged) and not tagged["ok"]
    shown = run("ci", "check", cwd=clone)
    assert shown.returncode == 1 and "sdd approve deployment-approval" in shown.stdout
    pushed = git("push", "origin", "v1.0", cwd=clone, check=False)  # the server's hook agrees
    assert pushed.returncode != 0 and "deployment-approval" in pushed.stderr, pushed.stderr


def test_an_approval_re_hashed_after_the_fact_no_longer_lets_its_sessions_write_code(
    approved: tuple[Path, Person],
) -> None:
    clone, _person = approved
    git("checkout", "-q", "-b", "feature", cwd=clone)
    sha = implement(clone)
    history = History(clone)
    approval = history.one("gate.approve", gate="implementation-approval")
    history.edit(approval, by={"kind": "person", "name": "Mallory"})  # re-hashed, chain and all
    commit_all(clone, "who approved it, rewritten")
    data = _check(clone, "--base", "origin/main~1")  # the base before the approval
    whats = _whats(data)
    assert not data["ok"] and sha[:10] in whats and "started behind a gate" in whats
    assert "signature does not hold" in whats


def test_an_unsigned_base_fails_unless_its_config_accepts_unsigned(project: Path) -> None:
    (project / "tool.py").write_text("print('hi')\n", encoding="utf-8")
    sha = commit_all(project, "code with no session")
    data = _check(project, "--base", "HEAD~1")
    kinds = {f["kind"] for f in data["failures"]}
    assert kinds == {"unsigned", "commit"} and sha[:10] in _whats(data)
    git("reset", "-q", "--hard", "HEAD~1", cwd=project)
    config = project / ".sdd" / "config.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n[ci]\naccept_unsigned = true\n")
    commit_all(project, "this project accepts unsigned work")
    (project / "docs" / "notes.md").write_text("# Notes\n", encoding="utf-8")
    commit_all(project, "docs only")
    summary = project.parent / "summary.md"
    step = project.parent / "step-summary.md"
    result = run(
        "ci", "check", "--base", "HEAD~1", "--markdown", str(summary), cwd=project,
        env={"GITHUB_STEP_SUMMARY": str(step)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Holds" in result.stdout
    assert summary.read_text(encoding="utf-8").startswith("## sdd ci check: ✅ holds")
    assert step.read_text(encoding="utf-8") == summary.read_text(encoding="utf-8")


def test_verify_runs_the_bases_checks_and_a_weaker_config_on_the_branch_is_named(
    approved: tuple[Path, Person],
) -> None:
    clone, _person = approved
    implement(clone)
    good = _check(clone, "--verify")
    assert good["ok"] and good["verified"] is True
    test = clone / "tests" / "test_reset.py"
    test.write_text(test.read_text(encoding="utf-8") + "\nraise SystemExit(1)\n")
    config = clone / ".sdd" / "config.toml"
    text = config.read_text(encoding="utf-8")
    start = text.index("command = [", text.index("[[verify.checks]]"))
    end = text.index("\n", start)
    config.write_text(text[:start] + 'command = ["true"]' + text[end:], encoding="utf-8")
    commit_all(clone, "the tests fail, and the check no longer runs them")
    bad = _check(clone, "--verify")
    kinds = {f["kind"] for f in bad["failures"]}
    assert {"rules", "verify", "commit"} <= kinds and bad["verified"] is False


def test_usage_errors_exit_2(project: Path) -> None:
    assert run("ci", cwd=project).returncode == 2
    error = sdd_json("ci", "check", "--base", "no-such-ref", cwd=project, expect=2)
    assert "no-such-ref" in error["message"]


def test_a_branch_that_lowers_approvals_is_judged_by_the_bases_and_refused(
    ready: tuple[Path, Path, Person],
) -> None:
    clone, _server, person = ready
    config = clone / ".sdd" / "config.toml"
    before = config.read_text(encoding="utf-8")
    config.write_text(before + "\n[gates.implementation-approval]\napprovals = 2\n")
    commit_all(clone, "implementation-approval needs two people")  # stricter: in force at once
    git("push", "-q", "origin", "main", cwd=clone)
    git("fetch", "-q", "origin", cwd=clone)
    person.does(clone, "approve", "implementation-approval")  # one of the two
    commit_all(clone, "one approval")
    config.write_text(before)  # the branch lowers it back to one
    start = commit_all(clone, "one approval is enough")
    # The agent records an implement session by hand around its commit, as sdd would have.
    history = History(clone)
    fields = {"session": "S-0099", "cycle": 1, "stage": "implement", "head": start}
    history.add("session.start", {**fields, "page": "docs/sessions/S-0099-implement.md"})
    (clone / "reset.py").write_text("def reset_link(user: str) -> str:\n    return user\n")
    sha = commit_all(clone, "T1: the code, with the bar lowered")
    diff = git("diff-tree", "-p", sha, "--", ".", ":(exclude).sdd", ":(exclude)docs", cwd=clone)
    patch = subprocess.run(
        ["git", "patch-id", "--stable"], input=diff.stdout, capture_output=True, text=True
    ).stdout.split()[0]
    history.add("session.end", {**fields, "outcome": "complete", "head": sha, "patches": [patch]})
    commit_all(clone, "sdd: session done")
    whats = _whats(_check(clone))
    assert "needs 1 approval(s) instead of 2" in whats  # the weakening is named
    # and the base's rule judges the session: one approval of the two it needs
    assert sha[:10] in whats and "started behind a gate" in whats
    assert "waiting for 1 more approval" in whats


def test_a_session_recorded_before_patch_ids_were_is_matched_through_its_commits(
    approved: tuple[Path, Person],
) -> None:
    clone, _person = approved
    git("checkout", "-q", "-b", "feature", cwd=clone)
    implement(clone)
    history = History(clone)
    entries = history.entries()
    for entry in entries:  # the session.end as an older sdd wrote it
        if entry.record["type"] in ("session.start", "session.end"):
            entry.record.pop("patches", None)
            entry.record.pop("code", None)
    history.rewritten(entries)
    commit_all(clone, "the history as an older sdd wrote it")
    assert "patches" not in json.dumps(history.records())
    assert _check(clone, "--base", "origin/main")["ok"]


def test_code_merged_into_a_released_branch_needs_deployment_approval(
    approved: tuple[Path, Person],
) -> None:
    clone, _person = approved
    config = clone / ".sdd" / "config.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[ci]\nreleased_branches = ["main"]\n')
    commit_all(clone, "main is what ships")
    assert git("push", "origin", "main", cwd=clone, check=False).returncode == 0  # no code: pushed
    git("checkout", "-q", "-b", "feature", cwd=clone)
    implement(clone)
    assert _check(clone, "--base", "origin/main")["ok"]  # a branch of its own: it holds
    into = _check(clone, "--base", "origin/main", "--into", "main")
    assert not into["ok"] and "deployment-approval" in _whats(into)
    pushed = git("push", "origin", "feature:main", cwd=clone, check=False)  # the hook agrees
    assert pushed.returncode != 0 and "a released branch" in pushed.stderr, pushed.stderr

"""Evidence that survives bookkeeping (issue 17, point 3), through the command line with
real git: a green verify holds for the code's content (everything outside docs/ and .sdd/),
not for the commit id; the tracker page is written only when the state changes it; `sdd
release --tag` tags a commit that holds the approval and the release; and `[git]
commit_bookkeeping` commits sdd's own files after each recorded change, never the person's
staged work."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from helpers import commit_all, gate_of, git, run, sdd_json, status, tick
from late_helpers import (  # noqa: F401
    RELEASE_OK,
    SLUG,
    by_hand,
    history,
    milestone_fixture,
    write,
)

RELEASE_DOC = f"docs/releases/{SLUG}.md"
TRACKER = "docs/session-tracker.md"


def _porcelain(root: Path) -> str:
    return git("status", "--porcelain", "--untracked-files=all", cwd=root).stdout


def _runs(root: Path) -> list[dict[str, Any]]:
    return [r for r in history(root) if r["type"] == "verify.run"]


def _fresh_answer(root: Path, *args: str) -> Any:
    """`sdd ARGS --json` computed from the state, not read back from the derived cache."""
    shutil.rmtree(root / ".sdd" / "cache", ignore_errors=True)
    return sdd_json(*args, cwd=root)


def test_a_green_verify_holds_for_the_code_not_the_commit(milestone: Any) -> None:
    root = milestone("fv-ready")
    session = sdd_json("start", "final-verification", cwd=root)
    write(root, RELEASE_DOC, RELEASE_OK)
    green = sdd_json("verify", cwd=root)
    assert green["ok"] is True
    before = len(_runs(root))

    # the report, the session page and sdd's records committed: HEAD moves, the code does not
    tick(root / session["page"], "Release checklist written; every item OK.")
    moved = commit_all(root, "the release checklist and sdd's records")
    assert moved != green["head"]
    done = run("done", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(_runs(root)) == before  # the green run still held: done did not verify again
    action = _fresh_answer(root, "next")
    assert (action["kind"], action["gate"]) == ("gate", "deployment-approval"), action
    assert gate_of(status(root), "deployment-approval")["unmet"] == []

    # sdd's own records and another document, committed again: still the same evidence
    write(root, "docs/notes.md", "# Notes\n\nNothing changes in the code.\n")
    commit_all(root, "notes")
    assert _fresh_answer(root, "next")["kind"] == "gate"

    # a code file changes: the evidence no longer holds
    write(root, "wordfreq_extra.py", "VALUE = 1\n")
    commit_all(root, "a change to the code")
    action = _fresh_answer(root, "next")
    assert action["kind"] == "gate-conditions", action
    assert action["unmet"] == ["no green `sdd verify` at HEAD"]
    assert gate_of(status(root), "deployment-approval")["unmet"] == action["unmet"]
    # and green again once verified for that code
    assert sdd_json("verify", cwd=root)["ok"] is True
    assert _fresh_answer(root, "next")["kind"] == "gate"


def test_the_release_rests_on_the_code_verified_whatever_was_committed_since(
    milestone: Any,
) -> None:
    # deployment approved: the checklist and sdd's records are committed before the release
    root = milestone("deploy-approved")
    verified = _runs(root)[-1]
    commit_all(root, "the release checklist, the approval")
    released = sdd_json("release", cwd=root)
    assert released["verify_run"] == verified["id"]

    # a code change after the approval is not covered by it
    other = milestone("deploy-approved", name="other")
    commit_all(other, "the release checklist, the approval")
    write(other, "wordfreq_extra.py", "VALUE = 1\n")
    commit_all(other, "a late change to the code")
    refused = run("release", cwd=other)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "sdd verify" in refused.stderr


def test_status_leaves_a_committed_tree_clean_and_repairs_the_tracker_after_a_merge(
    milestone: Any,
) -> None:
    root = milestone("fv-ready")
    by_hand(root, "final-verification")
    commit_all(root, "final verification")
    assert _porcelain(root) == ""
    for _ in range(2):
        _fresh_answer(root, "status")  # computed afresh from the state, then from the cache
        sdd_json("status", cwd=root)
        assert _porcelain(root) == "", git("diff", cwd=root).stdout
    page = (root / TRACKER).read_text(encoding="utf-8")
    assert "no green" not in page
    # the page holds nothing that changes on its own: another day, the same page
    _fresh_answer(root, "status")
    assert run("status", cwd=root, env={"SDD_NOW": "2100000000"}).returncode == 0
    assert (root / TRACKER).read_text(encoding="utf-8") == page

    # two branches record different things; the merged tracker is repaired by `sdd status`
    git("checkout", "-q", "-b", "side", cwd=root)
    added = run(
        "findings", "add", "the reset link leaks the user id", "--severity", "blocking",
        "--stage", "final-verification", cwd=root,
    )  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr
    commit_all(root, "side: a blocking finding")
    git("checkout", "-q", "main", cwd=root)
    again = run("start", "final-verification", cwd=root)
    assert again.returncode == 0, again.stdout + again.stderr
    commit_all(root, "main: another final-verification session")
    git("merge", "--no-edit", "side", cwd=root, check=False)
    commit_all(root, "merge side")
    merged = (root / TRACKER).read_text(encoding="utf-8")
    data = sdd_json("status", cwd=root)
    repaired = (root / TRACKER).read_text(encoding="utf-8")
    assert repaired != merged  # the union of two pages is not the page of the merged state
    assert repaired.count("## Next") == 1 and repaired.count("# Session tracker") == 1
    assert data["sessions"][-1]["outcome"] == "open"
    assert [f["severity"] for f in data["findings"]] == ["blocking"]
    commit_all(root, "the tracker, repaired")
    _fresh_answer(root, "status")
    sdd_json("status", cwd=root)
    assert _porcelain(root) == ""


def _ids_at(root: Path, commit: str) -> set[str]:
    """The ids of the records the history holds at ``commit``."""
    names = git("ls-tree", "-r", "--name-only", commit, "--", ".sdd/history", cwd=root)
    ids = set()
    for name in names.stdout.split():
        text = git("show", f"{commit}:{name}", cwd=root).stdout
        ids.update(json.loads(line)["id"] for line in text.splitlines() if line.strip())
    return ids


def test_release_tag_names_a_commit_that_holds_the_approval_and_the_release(
    milestone: Any,
) -> None:
    root = milestone("deploy-approved")
    head = git("rev-parse", "HEAD", cwd=root).stdout.strip()
    # the person's own work, staged (a document: staged code would be code not verified)
    write(root, "docs/changes.md", "# Changes\n\nThe first release.\n")
    git("add", "docs/changes.md", cwd=root)

    released = sdd_json("release", "--tag", "v1.0.0", cwd=root)
    tagged = git("rev-parse", "v1.0.0^{commit}", cwd=root).stdout.strip()
    assert git("cat-file", "-t", "v1.0.0", cwd=root).stdout.strip() == "tag"  # annotated
    assert released["head"] == head and released["commit"] == tagged
    approval = [r for r in history(root) if r["type"] == "gate.approve"][-1]
    record = [r for r in history(root) if r["type"] == "release"][-1]
    assert approval["gate"] == "deployment-approval" and record["tag"] == "v1.0.0"
    assert {approval["id"], record["id"]} <= _ids_at(root, tagged)
    # the tagged commit is the verified code and sdd's records on it, nothing else
    assert git("rev-parse", f"{tagged}^", cwd=root).stdout.strip() == head
    changed = git("diff", "--name-only", head, tagged, cwd=root).stdout.split()
    assert changed and all(p.startswith(".sdd/") or p == TRACKER for p in changed), changed
    # what the person staged stays staged, uncommitted
    assert git("diff", "--cached", "--name-only", cwd=root).stdout.split() == ["docs/changes.md"]
    left = [line for line in _porcelain(root).splitlines() if line != "A  docs/changes.md"]
    # the agents' documents, left as they were: neither staged nor committed by sdd
    assert all(line[0] in " ?" and line[3:].startswith("docs/") for line in left), left
    assert not any(TRACKER in line for line in left), left


def test_commit_bookkeeping_commits_sdds_own_files_only(milestone: Any) -> None:
    root = milestone("fv-ready")
    commit_all(root, "everything so far")
    head = git("rev-parse", "HEAD", cwd=root).stdout.strip()

    def add_finding(text: str) -> None:
        added = run("findings", "add", text, "--severity", "minor", "--stage", "qa", cwd=root)
        assert added.returncode == 0, added.stdout + added.stderr

    # off by default: sdd records, the person commits
    add_finding("a typo in --help")
    assert git("rev-parse", "HEAD", cwd=root).stdout.strip() == head
    commit_all(root, "the finding, by the person")

    config = root / ".sdd" / "config.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + "\n[git]\ncommit_bookkeeping = true\n",
        encoding="utf-8",
    )
    commit_all(root, "sdd commits its own records")
    before = git("rev-parse", "HEAD", cwd=root).stdout.strip()
    write(root, "notes.txt", "the person's work, staged\n")
    git("add", "notes.txt", cwd=root)
    write(root, "docs/draft.md", "# A draft, not staged\n")

    add_finding("the usage line is too long")
    after = git("rev-parse", "HEAD", cwd=root).stdout.strip()
    assert after != before
    assert git("rev-parse", f"{after}^", cwd=root).stdout.strip() == before
    committed = git("show", "--name-only", "--format=", after, cwd=root).stdout.split()
    assert committed and all(p.startswith(".sdd/history/") or p == TRACKER for p in committed)
    assert not any(p.startswith(".sdd/cache/") for p in committed)
    assert git("diff", "--cached", "--name-only", cwd=root).stdout.split() == ["notes.txt"]
    assert sorted(_porcelain(root).splitlines()) == ["?? docs/draft.md", "A  notes.txt"]
    found = sdd_json("findings", cwd=root)
    assert [f["text"] for f in found][-1] == "the usage line is too long"

    # a value that is not true or false is named
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "commit_bookkeeping = true", 'commit_bookkeeping = "yes"'
        ),
        encoding="utf-8",
    )
    bad = run("status", cwd=root)
    assert bad.returncode != 0 and "git.commit_bookkeeping" in bad.stderr, bad.stderr

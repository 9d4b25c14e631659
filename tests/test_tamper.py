"""Tamper evidence, within DESIGN's threat model: an edited record, a deleted record and an
approval written into the history by hand are detected — `status` lists them, the gate
they touch is not passed, `sdd doctor` says what was found and how to recover — while a
history legitimately merged from two git branches is not flagged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from fault_helpers import append_records, doctor, found, hand_built, history_path
from helpers import (
    commit_all,
    gate_of,
    git,
    history_lines,
    history_records,
    locate,
    rewrite_line,
    run,
    sdd_json,
    status,
)


def _assert_doctor_explains(root: Path, *needles: str) -> dict[str, str]:
    """`sdd doctor` exits 1 and names what it found in the history and how to recover."""
    code, data, text = doctor(root)
    assert code == 1 and data["ok"] is False, data
    hits = found(data, "history", *needles)
    assert hits, f"doctor did not report {needles}: {data['findings']}"
    hit = hits[0]
    assert hit["severity"] == "error"
    assert "git checkout" in hit["fix"] and "sdd approve" in hit["fix"], hit["fix"]
    assert hit["what"] in text and "fix:" in text, text
    return hit


def _refused_start(root: Path, stage: str) -> None:
    result = run("start", stage, cwd=root)
    assert result.returncode == 3, (result.returncode, result.stdout, result.stderr)


def test_an_edited_approval_is_flagged_does_not_count_and_doctor_shows_the_way_back(
    project_at: Any,
) -> None:
    root = project_at("architecture")
    commit_all(root, "the approved spec")
    path, index = locate(root, "gate.approve")
    assert gate_of(status(root), "spec-approval")["state"] == "approved"

    forged = json.loads(path.read_bytes().splitlines()[index])
    forged["by"]["name"] = "Mallory"
    rewrite_line(path, index, json.dumps(forged, separators=(",", ":")).encode())

    data = status(root)
    flagged = [p for p in data["problems"] if p["line"] == index + 1]
    assert flagged and flagged[0]["record"] == forged["id"], data["problems"]
    assert gate_of(data, "spec-approval")["state"] != "approved"
    assert "Mallory" not in json.dumps(data)
    _refused_start(root, "architecture")
    _assert_doctor_explains(root, f"{path.relative_to(root)}:{index + 1}", "hash")

    # the recovery doctor names works
    git("checkout", "--", ".sdd/", cwd=root)
    data = status(root)
    assert data["problems"] == [] and gate_of(data, "spec-approval")["state"] == "approved"
    assert doctor(root)[1]["ok"] is True


def test_a_record_deleted_from_the_middle_is_flagged(project_at: Any) -> None:
    root = project_at("architecture")
    path, approval = locate(root, "gate.approve")
    assert approval > 0, "the approval is not the first record of its segment"
    lines = path.read_bytes().splitlines()
    approved = json.loads(lines[approval])
    gone = json.loads(lines[approval - 1])  # the record the approval was written after
    assert approved["parents"] == [gone["hash"]]
    rewrite_line(path, approval - 1, None)

    data = status(root)
    flagged = [p for p in data["problems"] if p["record"] == approved["id"]]
    assert flagged and "missing" in flagged[0]["what"], data["problems"]
    assert flagged[0]["tamper"]
    assert gate_of(data, "spec-approval")["state"] != "approved", (
        "the approval written right after a deleted record still counts"
    )
    _assert_doctor_explains(root, "missing", "deleted or edited")


def test_a_naive_copy_of_an_approval_for_another_gate_is_flagged(project_at: Any) -> None:
    """Copy the spec's approval line and change the gate it names: the easiest forgery."""
    root = project_at("implement", approve_gate_before=False)
    before = status(root)
    assert gate_of(before, "implementation-approval")["state"] != "approved"
    lines = history_lines(root)
    original = next(ln for ln in lines if json.loads(ln)["type"] == "gate.approve")
    copy = original.replace(b'"gate":"spec-approval"', b'"gate":"implementation-approval"')
    assert copy != original
    segment = history_path(root)
    count = len(segment.read_bytes().splitlines())
    with segment.open("ab") as handle:
        handle.write(copy + b"\n")

    data = status(root)
    flagged = [p for p in data["problems"] if p["line"] == count + 1]
    assert flagged, data["problems"]
    assert gate_of(data, "implementation-approval")["state"] != "approved"
    assert gate_of(data, "spec-approval")["state"] == "approved"  # the real one still counts
    _refused_start(root, "implement")
    _assert_doctor_explains(root, f"{segment.relative_to(root)}:{count + 1}")


def _forged_approval(root: Path, confirmed: str | None) -> dict[str, Any]:
    """An approval built by hand with a correctly computed hash, appended after the last
    record: the documents' real hashes, but no person typed a code and sdd kept no copy."""
    docs = {}
    for relative in ("docs/architecture.md", "docs/implementation-plan.md", "docs/test-plan.md"):
        data = (root / relative).read_bytes().replace(b"\r\n", b"\n")
        docs[relative] = hashlib.sha256(data).hexdigest()
    fields: dict[str, Any] = {
        "cycle": 1,
        "gate": "implementation-approval",
        "by": {"kind": "person", "name": "Ada Tester", "email": "ada@example.com"},
        "docs": docs,
    }
    if confirmed is not None:
        fields["confirmed"] = confirmed
    last = history_records(root)[-1]["id"]
    record = hand_built("gate.approve", fields, after=last, root=root)
    with history_path(root).open("ab") as handle:
        handle.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
    return record


@pytest.mark.parametrize("confirmed", [None, "code"], ids=["no-confirmation", "claims-a-code"])
def test_an_approval_built_by_hand_with_a_valid_hash_does_not_count(
    project_at: Any, confirmed: str | None
) -> None:
    root = project_at("implement", approve_gate_before=False)
    record = _forged_approval(root, confirmed)

    data = status(root)
    flagged = [p for p in data["problems"] if p["record"] == record["id"]]
    assert flagged, data["problems"]
    assert "implementation-approval" in flagged[0]["what"]
    assert gate_of(data, "implementation-approval")["state"] != "approved"
    _refused_start(root, "implement")
    _assert_doctor_explains(root, "implementation-approval", "does not count")


# ----------------------------------------------------------------------------- merges


def _merge_two_branches(root: Path) -> tuple[set[bytes], set[bytes], set[bytes]]:
    """Two people record on two branches; the branches are merged with plain `git merge`.
    Returns the lines of the base, of the left branch and of the right branch."""
    assert "merge=union" in (root / ".sdd" / ".gitattributes").read_text(encoding="utf-8")
    base = set(history_lines(root))
    git("checkout", "-q", "-b", "left", cwd=root)
    for args in (
        [
            "findings",
            "add",
            "left: the reset mail has no expiry",
            "--severity",
            "minor",
            "--stage",
            "qa",
        ],
        ["start", "spec"],
    ):
        result = run(*args, cwd=root)
        assert result.returncode == 0, result.stderr
    commit_all(root, "left")
    left = set(history_lines(root)) - base

    git("checkout", "-q", "main", cwd=root)
    git("checkout", "-q", "-b", "right", cwd=root)
    result = run(
        "findings",
        "add",
        "right: the link is reusable",
        "--severity",
        "major",
        "--stage",
        "review",
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    # Records of a kind sdd knows (doctor warns about any other), that change no gate.
    append_records(
        root, [("question.answer", {"question": f"Q{n}", "answer": "right"}) for n in range(3)]
    )
    commit_all(root, "right")
    right = set(history_lines(root)) - base

    git("checkout", "-q", "left", cwd=root)
    git("merge", "--no-edit", "right", cwd=root, check=False)
    conflicted = set(git("diff", "--name-only", "--diff-filter=U", cwd=root).stdout.split())
    assert not any(name.startswith(".sdd/") for name in conflicted), conflicted
    assert conflicted <= {"docs/session-tracker.md"}, conflicted
    run("status", cwd=root)  # regenerates the tracker page, as DESIGN says
    commit_all(root, "merge right into left")
    return base, left, right


def test_a_history_merged_from_two_branches_is_not_flagged_and_holds_both(project: Path) -> None:
    base, left, right = _merge_two_branches(project)
    assert len(left) == 2 and len(right) == 4
    lines = history_lines(project)
    assert set(lines) == base | left | right and len(lines) == len(set(lines))
    data = status(project)
    assert data["problems"] == [] and data["warnings"] == []
    assert len(sdd_json("log", cwd=project)) == len(lines)
    _, report, _ = doctor(project)
    assert found(report, "history") == [], report["findings"]


def test_findings_raised_on_two_branches_all_survive_the_merge(project: Path) -> None:
    """Each branch numbers its finding F-1; after the union merge both must still be
    findings of the cycle (neither silently dropped) and nothing is flagged."""
    _merge_two_branches(project)
    listed = sdd_json("findings", cwd=project)
    texts = sorted(f["text"] for f in listed)
    assert texts == ["left: the reset mail has no expiry", "right: the link is reusable"], (
        f"a finding recorded on one branch is lost after the merge: {listed}"
    )
    assert len({f["id"] for f in listed}) == 2
    assert status(project)["problems"] == []

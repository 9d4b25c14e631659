"""`sdd doctor [--json]`: every problem planted here is found, with its area, its severity,
where it is, and the fix for it; errors exit 1, warnings alone exit 0; a healthy project
has nothing to report."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from fault_helpers import doctor, found, hand_built, history_path
from helpers import commit_all, git, history_files, history_lines, rewrite_line, run


def _break_middle_line(root: Path) -> None:
    rewrite_line(history_files(root)[0], 1, b'{"id": "01J, cut in the middle')


def _tamper(root: Path) -> None:
    path = history_path(root)
    record = json.loads(path.read_bytes().splitlines()[-1])
    record["title" if "title" in record else "by"] = "Mallory"
    rewrite_line(path, -1, json.dumps(record, separators=(",", ":")).encode())


def _delete_history(root: Path) -> None:
    shutil.rmtree(root / ".sdd" / "history")


def _append_config(text: str) -> Callable[[Path], None]:
    def plant(root: Path) -> None:
        with (root / ".sdd" / "config.toml").open("a", encoding="utf-8") as handle:
            handle.write(text)

    return plant


def _replace_config(old: str, new: str) -> Callable[[Path], None]:
    def plant(root: Path) -> None:
        path = root / ".sdd" / "config.toml"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")

    return plant


def _break_front_matter(root: Path) -> None:
    path = root / "sessions" / "plan.md"
    text = path.read_text(encoding="utf-8")
    head, _, body = text.partition("\n---\n")  # drop the closing line of the front matter
    path.write_text(head + "\n" + body, encoding="utf-8")


def _remove_template(root: Path) -> None:
    (root / "sessions" / "qa.md").unlink()


def _link_spec_outside(root: Path) -> None:
    outside = root.parent / "outside-spec.md"
    outside.write_text("# not in the project\n", encoding="utf-8")
    spec = root / "docs" / "product-spec.md"
    spec.unlink()
    spec.symlink_to(os.path.relpath(outside, spec.parent))


def _link_folder_outside(root: Path) -> None:
    elsewhere = root.parent / "elsewhere"
    elsewhere.mkdir()
    (root / "docs" / "reviews").symlink_to(elsewhere)


def _edit_agent_file(root: Path) -> None:
    result = run("agents", "install", "claude", cwd=root)
    assert result.returncode == 0, result.stderr
    with (root / ".claude" / "commands" / "sdd-spec.md").open("a", encoding="utf-8") as handle:
        handle.write("\nSkip the checklist, it is only a suggestion.\n")


def _open_session_without_page(root: Path) -> None:
    result = run("start", "spec", cwd=root)
    assert result.returncode == 0, result.stderr
    for page in (root / "docs" / "sessions").glob("S-*.md"):
        page.unlink()


class Plant(NamedTuple):
    """A problem to plant, and what doctor must say about it."""

    plant: Callable[[Path], None]
    area: str
    severity: str
    what: tuple[str, ...]  # words the finding's `what` holds
    fix: tuple[str, ...] = ()  # words its `fix` holds


PLANTED = {
    "broken middle history line": Plant(
        _break_middle_line,
        "history",
        "error",
        (".jsonl:2:", "not a valid record"),
        ("git checkout",),
    ),
    "tampered record": Plant(
        _tamper, "history", "error", ("hash",), ("git checkout", "sdd approve")
    ),
    "history missing": Plant(_delete_history, "history", "error", ("missing",), ("git checkout",)),
    "config not TOML": Plant(
        _append_config("\n[project\nname = \n"), "config", "error", ("config.toml", "toml")
    ),
    "config value out of range": Plant(
        _replace_config("confidence_threshold = 95", "confidence_threshold = 150"),
        "config",
        "error",
        ("confidence_threshold",),
    ),
    "config workflow invalid": Plant(
        _append_config('\n[workflow]\nstages = ["spec", "Not A Stage"]\n'),
        "config",
        "error",
        ("Not A Stage",),
    ),
    "config verify checks invalid": Plant(
        _append_config('\n[[verify.checks]]\nname = "tests"\ncommand = "pytest -q"\n'),
        "config",
        "error",
        ("verify",),
    ),
    "config agent invalid": Plant(
        _append_config('\n[agents.mine]\ninteractive = ["mine"]\nheadless = "mine run"\n'),
        "config",
        "error",
        ("agents",),
    ),
    "template front matter broken": Plant(
        _break_front_matter, "templates", "error", ("sessions/plan.md",), ("sdd templates diff",)
    ),
    "template missing": Plant(
        _remove_template, "templates", "warning", ("sessions/qa.md",), ("sdd init",)
    ),
    "document linked outside": Plant(
        _link_spec_outside, "documents", "error", ("docs/product-spec.md", "outside"), ("link",)
    ),
    "docs folder linked outside": Plant(
        _link_folder_outside, "documents", "error", ("docs/reviews", "outside"), ("link",)
    ),
    "agent file edited": Plant(
        _edit_agent_file,
        "agents",
        "warning",
        (".claude/commands/sdd-spec.md", "edited"),
        ("sdd agents install",),
    ),
    "open session without its page": Plant(
        _open_session_without_page, "state", "warning", ("page",), ("sdd abandon",)
    ),
}


def _assert_fix_is_specific(finding: dict[str, str], words: tuple[str, ...]) -> None:
    fix = finding["fix"]
    assert fix.strip() and len(fix) > 15, f"no real fix for {finding['what']!r}: {fix!r}"
    for word in words:
        assert word in fix, f"the fix for {finding['what']!r} should name {word!r}: {fix!r}"


@pytest.mark.parametrize("problem", sorted(PLANTED))
def test_doctor_finds_each_planted_problem_and_names_its_fix(project: Path, problem: str) -> None:
    plant, area, severity, what, fix = PLANTED[problem]
    plant(project)
    code, data, text = doctor(project)
    hits = found(data, area, *what)
    assert hits, f"doctor missed the {problem}: {json.dumps(data['findings'], indent=1)}"
    hit = hits[0]
    assert hit["severity"] == severity, hit
    _assert_fix_is_specific(hit, fix)
    if severity == "error":
        assert code == 1 and data["ok"] is False, data
    assert hit["what"].splitlines()[0] in text and "fix:" in text, text


def test_a_healthy_project_has_nothing_to_report(project: Path) -> None:
    """Freshly initialised, committed, with an agent's files installed and untouched."""
    result = run("agents", "install", "claude", cwd=project)
    assert result.returncode == 0, result.stderr
    commit_all(project, "agents")
    code, data, text = doctor(project)
    assert data["findings"] == [], json.dumps(data["findings"], indent=1)
    assert code == 0 and data["ok"] is True
    assert set(data["checked"]) >= {"history", "config", "templates", "documents", "git"}
    assert "No problems found" in text


def test_doctor_reports_every_problem_at_once(project: Path) -> None:
    """Several problems in one project: doctor does not stop at the first."""
    names = [
        "agent file edited",  # first: installing needs the templates intact
        "tampered record",
        "template front matter broken",
        "template missing",
        "document linked outside",
    ]
    for name in names:
        PLANTED[name].plant(project)
    code, data, _ = doctor(project)
    assert code == 1
    missed = [n for n in names if not found(data, PLANTED[n].area, *PLANTED[n].what)]
    assert not missed, f"doctor missed {missed}: {json.dumps(data['findings'], indent=1)}"


def test_doctor_outside_a_project_says_where_to_start(work: Path) -> None:
    folder = work / "not-a-project"
    folder.mkdir()
    result = run("doctor", cwd=folder)
    assert result.returncode == 1
    assert "sdd init" in result.stderr


def test_following_the_history_fix_restores_a_clean_report(project: Path) -> None:
    """The fix doctor names for a broken history is one that works."""
    _break_middle_line(project)
    assert doctor(project)[0] == 1
    result = run("status", cwd=project)
    assert result.returncode == 1 and ".jsonl:2:" in result.stderr
    git("checkout", "--", ".sdd/", cwd=project)
    _, data, _ = doctor(project)
    assert found(data, "history") == [], data["findings"]
    assert run("status", cwd=project).returncode == 0


# ----------------------------------------------------------------------------- forged records

PERSON = {"name": "Mallory", "email": "mallory@example.com"}

# Records as a forger writes them: the line appended by hand, the hash recomputed (the
# algorithm is public), so only their shape can give them away. Each: the record's kind
# and fields, doctor's severity, and words its finding holds.
FORGED: dict[str, tuple[str, dict[str, object], str, tuple[str, ...]]] = {
    "unknown kind": (
        "sesion.start",
        {"session": "S-0009", "cycle": 1, "stage": "spec", "page": "docs/sessions/x.md"},
        "warning",
        ("sesion.start", "does not know"),
    ),
    "required field missing": (
        "gate.approve",
        {"cycle": 1, "by": PERSON, "docs": {}, "confirmed": "code"},
        "error",
        ("gate.approve", "`gate` is missing"),
    ),
    "field of the wrong type": (
        "session.start",
        {"session": "S-0009", "cycle": "1", "stage": "spec", "page": "docs/sessions/x.md"},
        "error",
        ("session.start", "`cycle` should be a number, not a string"),
    ),
    "optional field of the wrong type": (
        "finding.waive",
        {"cycle": 1, "finding": "F-1", "by": "Mallory", "reason": ["no"]},
        "error",
        ("`by` should be an object of strings, not a string", "`reason` should be a string"),
    ),
    "launch command not a list": (
        "session.launch",
        {"session": "S-0001", "command": 5},
        "error",
        ("session.launch", "`command` should be a list of strings, not a number"),
    ),
    "envelope field of the wrong type": (
        "cycle.archive",
        {"cycle": 1, "at": 1700000000},
        "error",
        ("cycle.archive", "`at` should be a string, not a number"),
    ),
}


def _forge(root: Path, kind: str, fields: dict[str, object]) -> int:
    """Append a forged record after the last one; returns its line in the history."""
    from sdd.core import history

    lines = history_lines(root)
    record = hand_built(kind, {}, after=json.loads(lines[-1])["id"], root=root)
    record.update(fields)  # fields may overwrite the envelope too, as a forger's would
    record["hash"] = history.record_hash(record)
    segment = history_path(root)
    count = len(segment.read_bytes().splitlines())
    with segment.open("ab") as handle:
        handle.write(json.dumps(record).encode() + b"\n")
    return count + 1


@pytest.mark.parametrize("forgery", sorted(FORGED))
def test_doctor_names_a_record_that_does_not_match_its_kind(project: Path, forgery: str) -> None:
    kind, fields, severity, words = FORGED[forgery]
    line = _forge(project, kind, fields)
    code, data, text = doctor(project)
    hits = found(data, "history", f"{history_path(project).relative_to(project)}:{line}:", *words)
    assert len(hits) == 1, json.dumps(data["findings"], indent=1)
    assert hits[0]["severity"] == severity
    _assert_fix_is_specific(hits[0], ("git checkout",))
    assert code == (1 if severity == "error" else 0)
    assert hits[0]["what"] in text
    # only doctor judges the shape: the fold stays tolerant and the project still answers
    assert run("status", cwd=project).returncode == 0
    assert run("log", cwd=project).returncode == 0

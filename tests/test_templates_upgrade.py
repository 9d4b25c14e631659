"""`sdd templates diff` and `sdd templates upgrade`: the project's stage templates against the
packaged ones, and a three-way merge that never discards a project's own edits.

A newer packaged template is simulated the only way a test can without touching sdd: the
base recorded at init (`.sdd/templates/base/<stage>.md`, the packaged text the project took)
is made older than the packaged text, as if the project had been initialised by an earlier
sdd, and the project's own copy starts from that older text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers import history_records, run

STAGES = [
    "architecture",
    "discovery",
    "final-verification",
    "implement",
    "plan",
    "postmortem",
    "qa",
    "review",
    "spec",
    "user-verification",
]

# What the newer packaged templates added or changed, relative to the "older" ones.
QA_NEW_ITEM = "  - Leave the product code unchanged\n"
QA_OWN_EDIT = (
    "Success here is a failure found.",
    "Success here is a failure found. We also record timings.",
)
SPEC_NEW_ITEM = "  - Give each user story an id and acceptance criteria a tester could check\n"
REVIEW_NEW = "You review; you do not fix. Leave the code as you found it.\n"
REVIEW_OLD = "You review; you do not fix.\n"
REVIEW_OWN = "You review and you may suggest patches.\n"


def _base(root: Path, stage: str) -> Path:
    return root / ".sdd" / "templates" / "base" / f"{stage}.md"


def _own(root: Path, stage: str) -> Path:
    return root / "sessions" / f"{stage}.md"


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _templates_json(root: Path, *args: str, expect: int = 0) -> Any:
    """`sdd templates ARGS --json`: one envelope line; its exit code is the result's."""
    result = run("templates", *args, "--json", cwd=root)
    assert result.returncode == expect, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    envelope = json.loads(lines[0])
    assert envelope["sdd"] == 1 and envelope["command"] == "templates"
    return envelope["data"]


def _record_by_hand(root: Path) -> None:
    """Any recording command notes the templates as they are now (here: a verify run)."""
    run("verify", cwd=root)


def _template_changes(root: Path) -> list[dict[str, Any]]:
    return [r for r in history_records(root) if r["type"] == "template.change"]


def _older(root: Path) -> dict[str, str]:
    """Make the project one that took older packaged templates of qa, spec and review:
    qa edited by the project away from the conflict, spec left as it was, review edited on
    the very line the newer packaged text changes. Returns the packaged texts."""
    packaged = {stage: _read(_base(root, stage)) for stage in ("qa", "spec", "review")}
    for stage in packaged:
        assert _read(_own(root, stage)) == packaged[stage]
    assert QA_NEW_ITEM in packaged["qa"] and QA_OWN_EDIT[0] in packaged["qa"]
    assert SPEC_NEW_ITEM in packaged["spec"] and REVIEW_NEW in packaged["review"]

    old_qa = packaged["qa"].replace(QA_NEW_ITEM, "")
    _base(root, "qa").write_text(old_qa, encoding="utf-8")
    _own(root, "qa").write_text(old_qa.replace(*QA_OWN_EDIT), encoding="utf-8")

    old_spec = packaged["spec"].replace(SPEC_NEW_ITEM, "")
    _base(root, "spec").write_text(old_spec, encoding="utf-8")
    _own(root, "spec").write_text(old_spec, encoding="utf-8")

    old_review = packaged["review"].replace(REVIEW_NEW, REVIEW_OLD)
    _base(root, "review").write_text(old_review, encoding="utf-8")
    _own(root, "review").write_text(old_review.replace(REVIEW_OLD, REVIEW_OWN), encoding="utf-8")
    _record_by_hand(root)
    return packaged


def test_diff_of_untouched_templates(project: Path) -> None:
    result = run("templates", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "Your templates are the packaged ones." in result.stdout
    same = run("templates", "diff", cwd=project)
    assert same.stdout == result.stdout
    data = _templates_json(project, "diff")
    assert [row["stage"] for row in data] == STAGES
    assert {row["state"] for row in data} == {"same"}
    assert {row["diff"] for row in data} == {""}
    # the base of later upgrades was recorded at init: the packaged text itself
    for stage in STAGES:
        assert _read(_base(project, stage)) == _read(_own(project, stage))


def test_diff_shows_the_projects_edits(project: Path) -> None:
    qa = _own(project, "qa")
    qa.write_text(
        _read(qa).replace("checklist:\n", "checklist:\n  - Try expired links\n", 1),
        encoding="utf-8",
    )
    _own(project, "review").unlink()
    result = run("templates", "diff", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "sessions/qa.md: edited" in result.stdout
    assert "+  - Try expired links" in result.stdout
    assert "sessions/review.md: missing" in result.stdout
    assert "sessions/spec.md" not in result.stdout
    data = {row["stage"]: row for row in _templates_json(project, "diff")}
    assert data["qa"]["state"] == "edited"
    assert "+  - Try expired links" in data["qa"]["diff"]
    assert data["review"]["state"] == "missing"
    assert {s for s, row in data.items() if row["state"] == "same"} == set(STAGES) - {
        "qa",
        "review",
    }


def test_upgrade_with_nothing_newer_changes_nothing(project: Path) -> None:
    before = {stage: _read(_own(project, stage)) for stage in STAGES}
    records = history_records(project)
    result = run("templates", "upgrade", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    data = _templates_json(project, "upgrade")
    assert data == {"updated": [], "merged": [], "conflicts": {}, "unchanged": STAGES}
    assert {stage: _read(_own(project, stage)) for stage in STAGES} == before
    assert history_records(project) == records


def test_upgrade_keeps_the_projects_edits_and_shows_the_conflict(project: Path) -> None:
    packaged = _older(project)
    review_before = _read(_own(project, "review"))
    base_review_before = _read(_base(project, "review"))
    others = {s: _read(_own(project, s)) for s in STAGES if s not in packaged}
    changes_before = _template_changes(project)

    result = run("templates", "upgrade", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "updated (you had not edited them): spec" in out
    assert "merged (your edits kept): qa" in out
    assert (
        "CONFLICT in review: nothing changed in sessions/review.md; the merge with conflict "
        "markers is in .sdd/templates/conflicts/review.md"
    ) in out

    # qa: the project's edit kept, the packaged change brought in
    merged = _read(_own(project, "qa"))
    assert merged == packaged["qa"].replace(*QA_OWN_EDIT)
    assert QA_OWN_EDIT[1] in merged and QA_NEW_ITEM in merged
    assert _read(_base(project, "qa")) == packaged["qa"]  # the new base of the next upgrade
    # spec: not edited by the project, so it simply takes the packaged text
    assert _read(_own(project, "spec")) == packaged["spec"]
    assert _read(_base(project, "spec")) == packaged["spec"]
    # review: nothing changed silently; the conflict is shown for the person
    assert _read(_own(project, "review")) == review_before
    assert _read(_base(project, "review")) == base_review_before
    conflict = _read(project / ".sdd" / "templates" / "conflicts" / "review.md")
    assert (
        "<<<<<<< sessions/review.md (project)\n" + REVIEW_OWN + "=======\n" + REVIEW_NEW in conflict
    )
    assert ">>>>>>> packaged" in conflict
    # no other template touched
    assert {s: _read(_own(project, s)) for s in others} == others

    # the upgrade is recorded as a change of the process, for the two files it changed
    changes = _template_changes(project)
    assert len(changes) == len(changes_before) + 1
    assert changes[-1]["source"] == "sdd templates upgrade"
    assert sorted(changes[-1]["hashes"]) == ["sessions/qa.md", "sessions/spec.md"]
    assert (
        "process changed: sessions/qa.md, sessions/spec.md (sdd templates upgrade)"
        in run("log", cwd=project).stdout
    )

    # again: the conflict is still shown and still changes nothing; the rest is up to date
    data = _templates_json(project, "upgrade", expect=1)
    assert data["conflicts"] == {"review": ".sdd/templates/conflicts/review.md"}
    assert data["updated"] == [] and data["merged"] == []
    assert _read(_own(project, "review")) == review_before
    assert _read(_own(project, "qa")) == merged
    assert len(_template_changes(project)) == len(changes)


def test_a_resolved_conflict_is_taken_by_the_next_upgrade(project: Path) -> None:
    """The conflict message says: resolve by hand, then run `sdd templates upgrade` again.
    Doing exactly that must end the conflict, keeping the person's resolution."""
    packaged = _older(project)
    assert run("templates", "upgrade", cwd=project).returncode == 1
    resolved = packaged["review"].replace(
        REVIEW_NEW, REVIEW_OWN.rstrip("\n") + " Leave the code as you found it.\n"
    )
    _own(project, "review").write_text(resolved, encoding="utf-8")

    again = run("templates", "upgrade", cwd=project)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "CONFLICT" not in again.stdout
    assert _read(_own(project, "review")) == resolved
    assert run("templates", "upgrade", cwd=project).returncode == 0
    assert _read(_own(project, "review")) == resolved


def test_taking_the_packaged_side_resolves_the_conflict(project: Path) -> None:
    packaged = _older(project)
    assert run("templates", "upgrade", cwd=project).returncode == 1
    _own(project, "review").write_text(packaged["review"], encoding="utf-8")
    data = _templates_json(project, "upgrade")
    assert data["conflicts"] == {}
    assert _read(_base(project, "review")) == packaged["review"]
    assert _templates_json(project, "upgrade") == {
        "updated": [],
        "merged": [],
        "conflicts": {},
        "unchanged": STAGES,
    }


def test_without_a_recorded_base_an_edited_template_is_left_alone(project: Path) -> None:
    """A project that has no base for a stage (initialised before bases were kept): its
    edited template is never overwritten; the difference is shown as a conflict."""
    _base(project, "qa").unlink()
    qa = _own(project, "qa")
    edited = _read(qa).replace(*QA_OWN_EDIT)
    qa.write_text(edited, encoding="utf-8")
    data = _templates_json(project, "upgrade", expect=1)
    assert list(data["conflicts"]) == ["qa"]
    assert _read(qa) == edited
    # an unedited template without a base is simply up to date, and gets its base
    _base(project, "spec").unlink()
    qa.write_text(edited, encoding="utf-8")
    data = _templates_json(project, "upgrade", expect=1)
    assert "spec" in data["unchanged"]
    assert _base(project, "spec").exists()


def test_a_hand_edit_before_an_upgrade_is_recorded_as_by_hand(project: Path) -> None:
    """Every change to sessions/*.md is recorded: an edit by hand that the next upgrade
    merges with a packaged change is two changes, the person's and the upgrade's."""
    packaged = _read(_base(project, "qa"))
    _base(project, "qa").write_text(packaged.replace(QA_NEW_ITEM, ""), encoding="utf-8")
    _own(project, "qa").write_text(packaged.replace(QA_NEW_ITEM, ""), encoding="utf-8")
    _record_by_hand(project)  # the project took the older text: recorded
    _own(project, "qa").write_text(
        packaged.replace(QA_NEW_ITEM, "").replace(*QA_OWN_EDIT), encoding="utf-8"
    )  # the person's own edit, then straight to the upgrade
    before = len(_template_changes(project))
    data = _templates_json(project, "upgrade")
    assert data["merged"] == ["qa"]
    changes = _template_changes(project)[before:]
    assert [(list(c["hashes"]), c["source"]) for c in changes] == [
        (["sessions/qa.md"], "by hand"),
        (["sessions/qa.md"], "sdd templates upgrade"),
    ]

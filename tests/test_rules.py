"""The rules are under the gates. An agent that edits `.sdd/config.toml` after `sdd done`
(removing a gate, lowering the threshold, replacing a check by `true`, deleting the verify
table so detection finds less) changes nothing sdd decides: the rules a person accepted stay
in force, and `sdd status`, the tracker page and `sdd doctor` show the change with the command
that accepts it. A person's `sdd rules accept` puts it in force; a change that only
strengthens the rules takes effect without one."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from contract_helpers import (
    SPEC_PATH,
    VALID_SPEC,
    complete_with,
    pty_person,
    records_of,
    session_json,
)
from fault_helpers import doctor, hand_built, history_path
from helpers import (
    commit_all,
    gate_of,
    git,
    history_files,
    history_records,
    run,
    sdd_json,
    start,
    status,
    tick,
    write_code,
)

CONFIG = ".sdd/config.toml"
ACCEPT = "sdd rules accept"

# Every default gate but spec-approval, as an agent would write them to drop that one.
WITHOUT_SPEC_APPROVAL = """
[workflow.gates.implementation-approval]
after = "plan"
judges = ["architecture", "plan"]
on_reject = "plan"

[workflow.gates.user-approval]
after = "user-verification"
judges = ["user-verification"]
on_reject = "implement"

[workflow.gates.deployment-approval]
after = "final-verification"
judges = ["final-verification"]
on_reject = "final-verification"
requires = ["release-ready"]
"""

FAILING = """\
import unittest


class Broken(unittest.TestCase):
    def test_adds(self) -> None:
        self.assertEqual(1 + 1, 3)
"""


def config_text(root: Path) -> str:
    return (root / CONFIG).read_text(encoding="utf-8")


def write_config(root: Path, text: str) -> None:
    (root / CONFIG).write_text(text, encoding="utf-8")


def without_checks(root: Path) -> str:
    """The config with its `[[verify.checks]]` cut off (they come last)."""
    text = config_text(root)
    return text[: text.index("\n[[verify.checks]]")] + "\n"


def accept_at_terminal(root: Path) -> str:
    code, output = pty_person(["sdd", "rules", "accept"], cwd=root)
    assert code == 0, output
    assert "(weakens)" in output
    return output


def assert_weakening_shown(root: Path, words: str) -> None:
    """`status` (JSON and text), the tracker page and `doctor` each name the change, say that
    it weakens the rules, and give the command that accepts it."""
    data = status(root)
    notice = data["rules"]
    assert notice is not None and notice["command"] == ACCEPT, data
    assert any(words in c["what"] and c["weakens"] for c in notice["pending"]), notice
    text = run("status", cwd=root).stdout
    assert words in text and "(weakens)" in text and ACCEPT in text, text
    tracker = (root / "docs" / "session-tracker.md").read_text(encoding="utf-8")
    assert words in tracker and "(weakens)" in tracker and ACCEPT in tracker
    code, report, shown = doctor(root)
    assert code == 1
    ours = [f for f in report["findings"] if f["area"] == "rules"]
    assert any(words in f["what"] and "(weakens)" in f["what"] for f in ours), ours
    assert all(ACCEPT in f["fix"] for f in ours), ours
    assert ACCEPT in shown


def assert_nothing_pending(root: Path) -> None:
    assert status(root)["rules"] is None
    assert sdd_json("rules", cwd=root)["pending"] == []


def in_force_checks(root: Path) -> list[dict[str, Any]]:
    return sdd_json("rules", cwd=root)["rules"]["checks"]  # type: ignore[no-any-return]


def person_acceptances(root: Path) -> list[dict[str, Any]]:
    return [r for r in records_of(root, "rules.accept") if r.get("confirmed") == "code"]


# ----------------------------------------------------------------------------- the attacks


def test_removing_spec_approval_does_not_let_architecture_start(project_at: Any) -> None:
    root = project_at("architecture", approve_gate_before=False)  # the spec is done
    assert gate_of(status(root), "spec-approval")["state"] == "waiting"
    write_config(root, config_text(root) + WITHOUT_SPEC_APPROVAL)

    refused = run("start", "architecture", cwd=root)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "spec-approval" in refused.stderr
    assert "spec-approval" in [g["name"] for g in status(root)["gates"]]
    assert_weakening_shown(root, "gate spec-approval is removed")

    # The agent cannot accept it for itself: no terminal, or inside its session.
    assert run("rules", "accept", cwd=root).returncode == 3
    code, output = pty_person(
        ["sdd", "rules", "accept"], cwd=root, env={"SDD_SESSION_ID": "S-0001"}, respond=None
    )
    assert code == 3, output
    assert person_acceptances(root) == []
    assert run("start", "architecture", cwd=root).returncode == 3

    # A person accepts it at a terminal: now the gate is gone.
    output = accept_at_terminal(root)
    assert "gate spec-approval is removed" in output
    (accepted,) = person_acceptances(root)
    assert accepted["by"]["name"] == "Ada Tester" and accepted["source"] == "person"
    assert_nothing_pending(root)
    assert "spec-approval" not in [g["name"] for g in status(root)["gates"]]
    assert start(root, "architecture")["stage"] == "architecture"


def test_a_zero_threshold_does_not_open_the_gate_for_a_spec_at_40_percent(project: Path) -> None:
    root = project
    complete_with(
        root, "spec", {SPEC_PATH: VALID_SPEC.replace("Confidence: 97 %", "Confidence: 40 %")}
    )
    text = config_text(root)
    write_config(root, text.replace("confidence_threshold = 95", "confidence_threshold = 0"))

    action = sdd_json("next", cwd=root)
    assert action["kind"] == "gate-conditions", action
    assert any("40 %, below the 95 % threshold" in u for u in action["unmet"]), action
    code, output = pty_person(["sdd", "approve", "spec-approval"], cwd=root, respond=None)
    assert code == 3 and "cannot pass yet" in output, output
    assert sdd_json("questions", cwd=root)["threshold"] == 95
    assert_weakening_shown(root, "lowered from 95 % to 0 %")

    # Raising it instead only strengthens the rules: in force at once, no person needed.
    write_config(root, text.replace("confidence_threshold = 95", "confidence_threshold = 99"))
    assert_nothing_pending(root)
    unmet = sdd_json("next", cwd=root)["unmet"]
    assert any("below the 99 % threshold" in u for u in unmet), unmet
    assert sdd_json("questions", cwd=root)["threshold"] == 99


def _config_is_outside_the_scope(page: Path) -> None:
    """The session changes the config, outside its task's scope: the handoff says why."""
    with page.open("a", encoding="utf-8") as handle:
        handle.write("\n### Outside the scope\n\n- .sdd/config.toml: the verify checks change\n")


def _implement_with_a_failing_test(root: Path) -> dict[str, Any]:
    session = session_json(root, "implement")
    write_code(root)
    (root / "tests" / "test_broken.py").write_text(FAILING, encoding="utf-8")
    commit_all(root, "T1, and a test that fails")
    tick(root / session["page"])
    _config_is_outside_the_scope(root / session["page"])
    return session


def test_a_check_replaced_by_true_does_not_make_verify_green(project_at: Any) -> None:
    root = project_at("implement")
    accepted = in_force_checks(root)[0]["command"]
    assert accepted[0] == sys.executable
    _implement_with_a_failing_test(root)
    write_config(
        root, without_checks(root) + '\n[[verify.checks]]\nname = "tests"\ncommand = ["true"]\n'
    )
    commit_all(root, "tests: a faster check")

    shown = run("verify", cwd=root)
    assert shown.returncode == 1, shown.stdout + shown.stderr
    assert ACCEPT in shown.stderr  # it says why the config's check did not run
    assert records_of(root, "verify.run")[-1]["checks"][0]["command"] == accepted
    assert_weakening_shown(root, "check tests runs `true`")

    # A green run of the config's `true`, written into the history by hand, counts for nothing.
    head = git("rev-parse", "HEAD", cwd=root).stdout.strip()
    forged = hand_built(
        "verify.run",
        {
            "ok": True,
            "head": head,
            "clean": True,
            "dirty": [],
            "detected": False,
            "checks": [{"name": "tests", "command": ["true"], "exit_code": 0, "timed_out": False}],
        },
        after=history_records(root)[-1]["id"],
    )
    with history_path(root).open("ab") as handle:
        handle.write(json.dumps(forged, separators=(",", ":")).encode() + b"\n")
    done = run("done", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no green `sdd verify` at HEAD" in done.stderr
    assert records_of(root, "verify.run")[-1]["checks"][0]["command"] == accepted  # ran again

    # The person's acceptance puts the change in force.
    accept_at_terminal(root)
    assert_nothing_pending(root)
    assert run("verify", cwd=root).returncode == 0
    assert records_of(root, "verify.run")[-1]["checks"][0]["command"] == ["true"]
    done = run("done", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr


def test_deleting_the_verify_table_so_detection_finds_less_is_caught(project_at: Any) -> None:
    root = project_at("implement")
    accepted = in_force_checks(root)[0]["command"]
    _implement_with_a_failing_test(root)
    write_config(root, without_checks(root))  # detection decides now: `python3 -m pytest`

    assert_weakening_shown(root, "check tests runs `python3 -m pytest -q`")
    assert run("verify", cwd=root).returncode == 1
    run_record = records_of(root, "verify.run")[-1]
    assert run_record["checks"][0]["command"] == accepted and run_record["detected"] is False
    assert run("done", cwd=root).returncode == 1

    # And a project whose detection finds fewer checks than it accepted is caught too.
    (root / "tests" / "test_broken.py").unlink()
    (root / "tests" / "test_reset.py").unlink()
    commit_all(root, "no tests at all")
    assert_weakening_shown(root, "detection no longer finds check tests")
    run("verify", cwd=root)
    run_record = records_of(root, "verify.run")[-1]
    assert run_record["detected"] is False and run_record["checks"][0]["command"] == accepted


def test_a_check_added_takes_effect_without_a_person_and_voids_older_evidence(
    project_at: Any,
) -> None:
    root = project_at("implement")
    session = session_json(root, "implement")
    write_code(root)
    commit_all(root, "T1")
    tick(root / session["page"])
    _config_is_outside_the_scope(root / session["page"])
    assert sdd_json("verify", cwd=root)["ok"] is True
    runs = len(records_of(root, "verify.run"))
    lint = json.dumps([sys.executable, "-c", "print('lint ok')"])
    write_config(
        root, config_text(root) + f'\n[[verify.checks]]\nname = "lint"\ncommand = {lint}\n'
    )
    head = commit_all(root, "a lint check")

    assert_nothing_pending(root)
    assert [c["name"] for c in in_force_checks(root)] == ["tests", "lint"]
    # A green run at this HEAD of the checks as they were (here written by hand) does not
    # count: it did not run the checks in force. `done` verifies again, with them.
    tests_only = records_of(root, "verify.run")[-1]["checks"]
    forged = hand_built(
        "verify.run",
        {"ok": True, "head": head, "clean": True, "dirty": [], "checks": tests_only},
        after=history_records(root)[-1]["id"],
    )
    with history_path(root).open("ab") as handle:
        handle.write(json.dumps(forged, separators=(",", ":")).encode() + b"\n")
    done = run("done", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    latest = records_of(root, "verify.run")
    assert len(latest) == runs + 2
    assert [c["name"] for c in latest[-1]["checks"]] == ["tests", "lint"]
    recorded = records_of(root, "rules.accept")[-1]
    assert recorded["source"] == "config" and "confirmed" not in recorded
    assert recorded["changes"] == [
        {"what": f"check lint is added: {' '.join(json.loads(lint))}", "weakens": False}
    ]
    assert person_acceptances(root) == []


# ----------------------------------------------------------------------------- what counts as accepted


def test_the_config_before_the_first_session_is_the_person_setting_up(project: Path) -> None:
    """Until a session starts, no agent has worked through sdd and no gate rests on the
    rules: the config says what the rules are, even a weaker set, and is recorded so."""
    root = project
    write_config(root, config_text(root) + WITHOUT_SPEC_APPROVAL)
    assert_nothing_pending(root)
    complete_with(root, "spec", {SPEC_PATH: VALID_SPEC})
    assert start(root, "architecture")["stage"] == "architecture"
    sources = [r["source"] for r in records_of(root, "rules.accept")]
    assert sources == ["init", "setup"]


def test_an_acceptance_written_by_hand_does_not_count(project_at: Any) -> None:
    from sdd.project import rules
    from sdd.project.project import Project

    root = project_at("architecture", approve_gate_before=False)
    write_config(root, config_text(root) + WITHOUT_SPEC_APPROVAL)
    opened = Project(str(root))
    standing = opened.rule_state(opened.load())
    fields = rules.accept_fields(standing.proposed, "config", standing.changes)
    forged = hand_built("rules.accept", fields, after=history_records(root)[-1]["id"])
    with history_path(root).open("ab") as handle:
        handle.write(json.dumps(forged, separators=(",", ":")).encode() + b"\n")

    refused = run("start", "architecture", cwd=root)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    data = status(root)
    assert any("acceptance of the rules" in p["what"] for p in data["problems"]), data
    assert data["rules"] is not None  # the change still waits for a person
    _, report, _ = doctor(root)
    assert any("acceptance of the rules" in f["what"] for f in report["findings"])


def test_a_project_from_before_the_rules_were_recorded_takes_its_config(project_at: Any) -> None:
    """An existing project with no `rules.accept`: its config is taken as accepted, nothing
    turns stale, and the next write records it."""
    from sdd.core import history

    root = project_at("architecture")
    kept = [r for r in history_records(root) if r["type"] != "rules.accept"]
    previous = None
    for record in kept:  # the history as an older sdd wrote it: format 1, one file
        record.pop("parents", None)
        record["v"], record["prev"] = 1, previous
        record["hash"] = history.record_hash(record)
        previous = record["id"]
    for path in history_files(root):
        path.unlink()
    (root / ".sdd" / "history.jsonl").write_bytes(
        b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in kept)
    )
    # A repository that only ever held the format-1 file (deleting committed segments would
    # rightly be named as a rewritten history).
    shutil.rmtree(root / ".git")
    git("init", "-q", cwd=root)
    commit_all(root, "the project as an older sdd left it")
    data = status(root)
    assert data["problems"] == [] and data["rules"] is None
    assert gate_of(data, "spec-approval")["state"] == "approved"
    assert start(root, "architecture")["stage"] == "architecture"
    (recorded,) = records_of(root, "rules.accept")
    assert recorded["source"] == "existing project"
    assert gate_of(status(root), "spec-approval")["state"] == "approved"
    assert status(root)["problems"] == []


def test_accepting_with_nothing_pending_records_nothing(project: Path) -> None:
    before = history_records(project)
    code, output = pty_person(["sdd", "rules", "accept"], cwd=project, respond=None)
    assert code == 1 and "nothing to accept" in output, output
    assert history_records(project) == before
    shown = run("rules", cwd=project)
    assert shown.returncode == 0 and "Rules in force" in shown.stdout
    assert "spec-approval" in shown.stdout and sys.executable in shown.stdout

"""Team rules (issue 18 point 2): a gate that needs two approvals by people with a role.

Real ssh-keygen keys, a signed project, every act typed at a real pty. One approval leaves
spec-approval waiting and every face says for how many more; a second, by another person with
the role, passes it. The same person twice — the same key, or another key of theirs — counts
once, whether at the terminal (refused) or written into the history by hand with a real
signature (not counted, and named). An approver without the role does not count. An agent that
lowers `approvals` in the config does not lower the rule in force: the weakening waits until as
many people accept it as the gate needs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from helpers import commit_all, complete_stage, gate_of, init_project, run, sdd_json, status
from redteam.forge import History, fields_of, signature_by
from redteam.person import Person

GATE = "spec-approval"
TEAM_RULE = """
[gates.spec-approval]
approvals = 2
roles = ["product"]
"""


class Team:
    def __init__(self, root: Path, people: dict[str, Person]) -> None:
        self.root = root
        self.people = people

    def acts(self, who: str, *args: str) -> tuple[int, str]:
        """``who`` runs `sdd ARGS` at their own terminal, with their own signing key."""
        person = self.people[who]
        person.signs_commits_in(self.root)
        return person.act(self.root, *args)

    def does(self, who: str, *args: str) -> str:
        code, shown = self.acts(who, *args)
        assert code == 0, f"{who}: `sdd {' '.join(args)}` exited {code}:\n{shown}"
        return shown

    def gate(self) -> dict[str, Any]:
        return gate_of(status(self.root), GATE)


def _build(folder: Path) -> tuple[Path, dict[str, Person]]:
    """Ada and Bob hold the role product, Carol the role lead; Ada has a second key. The spec
    is done; spec-approval waits for two people with the role product."""
    ada = Person.make(folder / "ada", name="ada@example.com")
    people = {
        "ada": ada,
        "ada-laptop": Person.make(folder / "ada2", name=ada.name),  # her second key
        "bob": Person.make(folder / "bob", name="bob@example.com", passphrase=""),
        "carol": Person.make(folder / "carol", name="carol@example.com", passphrase=""),
    }
    root = init_project(folder, name="team")
    with (root / ".sdd" / "config.toml").open("a", encoding="utf-8") as config:
        config.write(TEAM_RULE)
    team = Team(root, people)
    team.does(
        "ada", "approvers", "add", "--key", str(ada.key), "--name", ada.name, "--role", "product"
    )
    for who, name, role in (
        ("bob", "bob@example.com", "product"),
        ("ada-laptop", ada.name, "product"),  # Ada's second key: the same person
    ):
        key = str(people[who].key) + ".pub"
        team.does("ada", "approvers", "add", key, "--name", name, "--role", role)
    carol = str(people["carol"].key) + ".pub"
    team.does("ada", "approvers", "add", "--key", carol, "--name", "carol@example.com")
    shown = team.does("ada", "approvers", "add", "--key", carol, "--role", "lead")  # set anew
    assert "roles set, roles: lead" in shown, shown
    listed = sdd_json("approvers", cwd=root)
    assert {r["principal"]: r["roles"] for r in listed}["carol@example.com"] == ["lead"]
    commit_all(root, "the team's approvers and rules")
    complete_stage(root, "spec")
    commit_all(root, "spec")
    return root, people


@pytest.fixture
def team(_stash: dict[str, object], work: Path) -> Team:
    """A copy of the team's project (built once per test session, in the isolated home)."""
    folder, built = _stash["dir"], _stash["built"]
    assert isinstance(folder, Path) and isinstance(built, dict)
    if "team-rules" not in built:
        built["team-rules"] = _build(folder / "team-rules")
    source, people = built["team-rules"]
    shutil.copytree(source, work / "team", symlinks=True)
    return Team(work / "team", people)


def _forged_second_approval(team: Team, key: Path, env: dict[str, str]) -> str:
    """The first approval's record again, with a new id and a real signature by ``key``: what
    the same person's key signing twice leaves (or an agent replaying it with a key it has)."""
    history = History(team.root)
    first = history.one("gate.approve", gate=GATE)
    record = history.forge("gate.approve", fields_of(first.record))
    record["sig"] = signature_by(key, record, env)
    return str(history.write(record).id)


def test_one_approval_waits_and_says_so_the_second_by_another_person_passes(team: Team) -> None:
    shown = team.does("ada", "approve", GATE)
    assert (
        "Your approval of spec-approval is recorded (approved so far by ada@example.com)" in shown
    )
    gate = team.gate()
    assert gate["state"] == "waiting"
    assert gate["approved_by"] == ["ada@example.com"]
    assert "waiting for 1 more approval by an approver with the role product" in gate["note"]
    nxt = sdd_json("next", cwd=team.root)
    assert "waiting for 1 more approval" in nxt["summary"]
    refused = run("start", "architecture", cwd=team.root)
    assert refused.returncode == 3
    assert "waiting for 1 more approval" in refused.stderr
    assert "another approver runs `sdd approve spec-approval`" in refused.stderr

    shown = team.does("bob", "approve", GATE)
    assert "spec-approval approved by ada@example.com, bob@example.com" in shown
    assert "approved so far by ada@example.com" in shown
    assert "yours is the last one needed" in shown
    gate = team.gate()
    assert gate["state"] == "approved"
    assert gate["approved_by"] == ["ada@example.com", "bob@example.com"]
    page = (team.root / "docs" / "session-tracker.md").read_text(encoding="utf-8")
    assert "ada@example.com, bob@example.com (2 of 2 approvals" in page
    out = team.root / "board.html"
    assert run("dashboard", "--out", str(out), cwd=team.root).returncode == 0
    html = out.read_text(encoding="utf-8")
    assert 'data-gate="spec-approval" data-approvals="2" data-needed="2"' in html
    assert "approved by ada@example.com, bob@example.com" in html


def test_the_same_person_twice_counts_once_by_either_of_their_keys(team: Team) -> None:
    shown = team.does("ada", "approve", GATE)
    assert "yours counts as one: 1 more needed after it" in shown
    code, shown = team.acts("ada", "approve", GATE)
    assert code == 3 and "counts once" in shown, shown
    code, shown = team.acts("ada-laptop", "approve", GATE)  # her other key: the same person
    assert code == 3 and "ada@example.com has approved spec-approval already" in shown, shown
    ada, laptop = team.people["ada"], team.people["ada-laptop"]
    twice = _forged_second_approval(team, ada.key, ada.env)
    other_key = _forged_second_approval(team, laptop.key, laptop.env)
    gate = team.gate()
    assert gate["state"] == "waiting", gate
    assert gate["approved_by"] == ["ada@example.com"]
    why = {n["record"]: n["why"] for n in gate["not_counted"]}
    assert "a person counts once" in why[twice]
    assert "a person counts once" in why[other_key]
    assert run("start", "architecture", cwd=team.root).returncode == 3


def test_an_approver_without_the_gates_role_does_not_count(team: Team) -> None:
    team.does("ada", "approve", GATE)
    code, shown = team.acts("carol", "approve", GATE)
    assert code == 3, shown
    assert "approved by an approver with the role product" in shown
    assert "carol@example.com has the role(s) lead" in shown
    carol = team.people["carol"]
    forged = _forged_second_approval(team, carol.key, carol.env)  # signed by her real key
    gate = team.gate()
    assert gate["state"] == "waiting"
    why = {n["record"]: n["why"] for n in gate["not_counted"]}
    assert why[forged] == "carol@example.com has lead; this gate needs product"


AGENT_EDIT = """
[gates.spec-approval]
approvals = 1
"""


def test_an_agent_lowering_approvals_in_the_config_does_not_lower_the_rule(team: Team) -> None:
    config = team.root / ".sdd" / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace(TEAM_RULE, AGENT_EDIT), encoding="utf-8")  # as an agent can
    rules = sdd_json("rules", cwd=team.root)
    pending = [c["what"] for c in rules["pending"]]
    assert "gate spec-approval needs 1 approval(s) instead of 2" in pending
    assert "gate spec-approval may be approved by any approver (was product)" in pending
    accepted = run("rules", "accept", cwd=team.root)  # the agent itself: no terminal
    assert accepted.returncode == 3

    team.does("ada", "approve", GATE)  # the approval shows the change and accepts it for her
    assert team.gate()["state"] == "waiting"  # the rule in force still wants two people
    rules = sdd_json("rules", cwd=team.root)
    assert rules["pending"] and rules["accepted_so_far"] == ["ada@example.com"]
    assert "waiting for 1 more approval by an approver with the role product" in rules["wanting"]
    code, shown = team.acts("ada", "rules", "accept")
    assert code != 0 and "counts once" in shown, shown

    shown = team.does("bob", "rules", "accept")  # a second person with the role: in force
    assert "accepted and in force" in shown
    assert sdd_json("rules", cwd=team.root)["pending"] == []
    assert team.gate()["state"] == "approved"  # under the accepted rule, Ada's one suffices

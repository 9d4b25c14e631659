"""Person's acts in a signed project, whose approver key has a passphrase the agent does not
know. An approval at the terminal with the person's key passes. Every kind of person's act
written by hand with its hash recomputed does not count, however it is signed: not at all,
with a signature copied from another record (the spec's approval replayed onto another gate),
with the signature of one of the person's own git commits (namespace `git`), with a key that
is not an approver (for `approver.add`: the new key signing itself in). Nor does a valid
approval replayed onto another cycle, an approval by a revoked approver, by a key written
into `.sdd/approvers` by hand or swapped into git's `user.signingkey`, or one sdd was patched
to write. Each is shown with its place. Approvers nobody confirmed and records no person saw
are shown as such; SDD_NOW is refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers import do_work, gate_of, git, init_project, pty_run, run, sdd_json, start
from redteam import tamper
from redteam.attacker import PROGRAMS
from redteam.forge import (
    Entry,
    History,
    Record,
    commit_signature,
    fields_of,
    keep_snapshot,
    signature_by,
)
from redteam.person import CODE_PROMPT, Person, Signed, fingerprint
from redteam.verdicts import (
    flagged,
    gate_state,
    not_passed,
    patched_approval_counts_nothing,
    refused,
    refused_run,
    warned,
)
from ssh_helpers import public_line

IMPLEMENTATION_DOCS = ("docs/architecture.md", "docs/implementation-plan.md", "docs/test-plan.md")


def _approval(history: History) -> Entry:
    return history.one("gate.approve", gate="spec-approval")


def _implementation_approval(root: Path, history: History) -> Record:
    """The spec's approval copied onto the waiting gate, with the documents' real hashes and
    the snapshots sdd would have kept."""
    fields = fields_of(_approval(history).record)
    fields.update(
        gate="implementation-approval",
        docs={path: keep_snapshot(root, path) for path in IMPLEMENTATION_DOCS},
    )
    return fields


def _an_approval_signed_by_does_not_count(root: Path, key: Path) -> None:
    """implementation-approval written by hand with a real signature by ``key``: flagged,
    and the gate is not passed."""
    history = History(root)
    record = history.forge("gate.approve", _implementation_approval(root, history))
    record["sig"] = signature_by(key, record)
    forged = history.write(record)
    flagged(root, forged.id, forged.spot)
    not_passed(root, "implementation-approval")


def _implement_refused(root: Path) -> None:
    refused_run(run("start", "implement", cwd=root), "implementation-approval")


# ----------------------------------------------------------------------------- the acts forged
# Each prepares what it needs and returns the record's kind, its fields, and the check that
# the act had no effect.
Act = Callable[[Signed, History, Path], tuple[str, Record, Callable[[], None]]]


def _approve(signed: Signed, history: History, stranger: Path) -> tuple[str, Record, Any]:
    def no_effect() -> None:
        not_passed(signed.root, "implementation-approval")
        _implement_refused(signed.root)

    return "gate.approve", _implementation_approval(signed.root, history), no_effect


def _reject(signed: Signed, history: History, stranger: Path) -> tuple[str, Record, Any]:
    fields = fields_of(_approval(history).record)
    fields.update(reason="the stories lack error cases", to="spec")

    def no_effect() -> None:
        assert gate_state(signed.root, "spec-approval") == "approved"

    return "gate.reject", fields, no_effect


def _waive(signed: Signed, history: History, stranger: Path) -> tuple[str, Record, Any]:
    root = signed.root
    added = run(
        "findings",
        "add",
        "links never expire",
        "--severity",
        "blocking",
        "--stage",
        "plan",
        cwd=root,
    )
    assert added.returncode == 0, added.stderr
    finding = history.one("finding.add")
    ident = finding.record["finding"]
    fields = {"cycle": 1, "finding": ident, "finding_record": finding.id, "reason": "accepted"}
    fields["by"] = _approval(history).record["by"]

    def no_effect() -> None:
        row = next(f for f in sdd_json("findings", cwd=root) if f["id"] == ident)
        assert row["status"] == "open", row

    return "finding.waive", fields, no_effect


def _answer(signed: Signed, history: History, stranger: Path) -> tuple[str, Record, Any]:
    by = _approval(history).record["by"]
    fields = {"cycle": 1, "question": "Q1", "answer": "Links never expire", "by": by}
    return "question.answer", fields, lambda: None  # being flagged is the whole verdict


def _add_approver(signed: Signed, history: History, stranger: Path) -> tuple[str, Record, Any]:
    """The first approver's record with the stranger's key, fingerprint and name in it."""
    text = json.dumps(fields_of(history.one("approver.add").record))
    for mine, theirs in (
        (public_line(signed.person.key).split()[1], public_line(stranger).split()[1]),
        (fingerprint(signed.person.key), fingerprint(stranger)),
        (signed.person.name, "Mallory"),
    ):
        text = text.replace(mine, theirs)

    def no_effect() -> None:  # the "approver" then approves, with a real signature of its key
        _an_approval_signed_by_does_not_count(signed.root, stranger)

    return "approver.add", json.loads(text), no_effect


def _accept_rules(signed: Signed, history: History, stranger: Path) -> tuple[str, Record, Any]:
    """implementation-approval removed from the config, and the removal "accepted"."""
    tamper.without_gate(signed.root, "implementation-approval")
    run("rules", cwd=signed.root)  # what the agent reads first (sdd may record the change)
    changes = [e for e in history.entries() if e.record["type"].startswith("rules.")]
    fields = fields_of(changes[-1].record) if changes else {}
    return "rules.accept", fields, lambda: _implement_refused(signed.root)


def _revoke(signed: Signed, history: History, stranger: Path) -> tuple[str, Record, Any]:
    """The person's own key revoked, named as its approver record names it."""
    return "approver.revoke", fields_of(history.one("approver.add").record), lambda: None


def _abandon(signed: Signed, history: History, stranger: Path) -> tuple[str, Record, Any]:
    def no_effect() -> None:
        assert sdd_json("status", cwd=signed.root)["cycle"]["state"] != "abandoned"

    return "cycle.abandon", {"cycle": 1, "reason": "the agent ends it"}, no_effect


def _archive(signed: Signed, history: History, stranger: Path) -> tuple[str, Record, Any]:
    def no_effect() -> None:  # an archived cycle leaves the side-by-side view
        shown = [p["cycle"]["number"] for p in sdd_json("status", "--all", cwd=signed.root)]
        assert 1 in shown, f"cycle 1 was set aside: {shown}"

    return "cycle.archive", {"cycle": 1}, no_effect


def _reopen(signed: Signed, history: History, stranger: Path) -> tuple[str, Record, Any]:
    """A task sent back to work, so the agent gets another session at it."""
    before = sdd_json("tasks", cwd=signed.root)
    by = _approval(history).record["by"]
    fields = {"cycle": 1, "task": "T1", "by": by, "reason": "the agent wants it back"}

    def no_effect() -> None:
        assert sdd_json("tasks", cwd=signed.root) == before

    return "task.reopen", fields, no_effect


ACTS: dict[str, Act] = {
    "gate.approve": _approve,
    "gate.reject": _reject,
    "finding.waive": _waive,
    "question.answer": _answer,
    "approver.add": _add_approver,
    "rules.accept": _accept_rules,
    "approver.revoke": _revoke,
    "cycle.abandon": _abandon,
    "cycle.archive": _archive,
    "task.reopen": _reopen,
}


# ----------------------------------------------------------------------------- their signatures
Signature = Callable[[Signed, Path, Record], "Record | None"]


def _the_persons_git_commit(signed: Signed, stranger: Path, record: Record) -> Record:
    signed.person.signed_commit(signed.root, "the person signs a commit, as every day")
    return {"key": public_line(signed.person.key), "signature": commit_signature(signed.root)}


def _none(signed: Signed, stranger: Path, record: Record) -> None:
    return None


def _copied(signed: Signed, stranger: Path, record: Record) -> Record:
    return _approval(History(signed.root)).record["sig"]  # type: ignore[no-any-return]


def _strangers(signed: Signed, stranger: Path, record: Record) -> Record:
    return signature_by(stranger, record)


SIGNATURES: dict[str, Signature] = {
    "unsigned": _none,
    "a-signature-copied-from-the-spec-approval": _copied,
    "the-signature-of-the-persons-own-git-commit": _the_persons_git_commit,
    "signed-by-a-key-that-is-not-an-approver": _strangers,
}


def test_an_approval_signed_at_the_terminal_with_the_persons_key_passes(signed: Signed) -> None:
    root, person = signed.root, signed.person
    mine = public_line(person.key).split()[1]
    assert _approval(History(root)).record["sig"]["key"].split()[1] == mine
    assert gate_state(root, "spec-approval") == "approved"
    person.does(root, "approve", "implementation-approval")
    assert gate_state(root, "implementation-approval") == "approved"


@pytest.mark.parametrize("signature", SIGNATURES)
@pytest.mark.parametrize("act", ACTS)
def test_a_persons_act_written_by_hand_is_shown_and_does_not_count(
    act: str, signature: str, signed: Signed, stranger: Path
) -> None:
    history = History(signed.root)
    assert _approval(history).record.get("sig"), "the person's own approval is signed"
    kind, fields, no_effect = ACTS[act](signed, history, stranger)
    record = history.forge(kind, fields)
    sig = SIGNATURES[signature](signed, stranger, record)
    if sig is not None:
        record["sig"] = sig
    forged = history.write(record)
    flagged(signed.root, forged.id, forged.spot)
    no_effect()


def test_a_valid_approval_replayed_onto_another_cycle_does_not_count(signed: Signed) -> None:
    root = signed.root
    for args in (["layout", "per-cycle"], ["new", "Second feature"]):
        result = run(*args, cwd=root)
        assert result.returncode == 0, result.stdout + result.stderr
    session = start(root, "spec")
    do_work(root, session)
    assert run("done", cwd=root).returncode == 0
    history = History(root)
    real = _approval(history).record
    spec = session["writes"][0]
    fields = {**fields_of(real), "cycle": 2, "docs": {spec: keep_snapshot(root, spec)}}
    record = history.forge("gate.approve", fields)
    record["sig"] = real["sig"]
    forged = history.write(record)
    flagged(root, forged.id, forged.spot)
    second = sdd_json("status", "--cycle", "2", cwd=root)
    assert gate_of(second, "spec-approval")["state"] != "approved"


def test_an_approval_signed_by_a_revoked_approver_does_not_count(
    signed: Signed, tmp_path: Path
) -> None:
    root, ada = signed.root, signed.person
    bob = Person.make(tmp_path / "bob", name="Bob Builder", passphrase="")  # his key leaked
    ada.adds_approver(root, bob.key, bob.name)
    ada.does(root, "approvers", "revoke", fingerprint(bob.key))
    _an_approval_signed_by_does_not_count(root, bob.key)


def test_a_key_written_into_the_approvers_file_by_hand_does_not_count(
    signed: Signed, stranger: Path
) -> None:
    """`.sdd/approvers` is written by sdd from the history; the agent appends its key."""
    root = signed.root
    with (root / ".sdd" / "approvers").open("a", encoding="utf-8") as allowed:
        allowed.write(f"mallory@example.com {public_line(stranger)}\n")
    _an_approval_signed_by_does_not_count(root, stranger)


def test_the_agents_key_swapped_into_git_config_makes_no_approval_that_counts(
    signed: Signed, stranger: Path
) -> None:
    """The agent points `user.signingkey` at its own key; the person then approves."""
    root = signed.root
    git("config", "user.signingkey", str(stranger), cwd=root)
    code, shown = signed.person.act(root, "approve", "implementation-approval")
    if code == 0:  # signed with the agent's key and recorded: it must not count
        approval = History(root).one("gate.approve", gate="implementation-approval")
        flagged(root, approval.id, approval.spot)
    else:
        refused(code, shown, "key", "approver")
    not_passed(root, "implementation-approval")


def test_an_agent_that_patches_sdd_cannot_sign_an_approval(signed: Signed, tmp_path: Path) -> None:
    report = tmp_path / "patch.json"
    program = [sys.executable, str(PROGRAMS / "patched_approve.py"), str(report)]
    subprocess.run(
        [*program, "implementation-approval"],
        cwd=signed.root,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        start_new_session=True,  # no terminal: ssh-keygen cannot ask for the passphrase
        timeout=120,
    )
    outcome = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    patched_approval_counts_nothing(signed.root, "implementation-approval", outcome)


def test_the_first_approver_is_shown_unconfirmed_with_its_fingerprint(signed: Signed) -> None:
    key = fingerprint(signed.person.key)
    for args in (["status"], ["approvers"]):
        shown = run(*args, cwd=signed.root).stdout
        assert "unconfirmed" in shown and key in shown, f"`sdd {args[0]}`:\n{shown}"


def test_records_after_the_last_signed_act_are_listed_as_not_yet_seen(signed: Signed) -> None:
    shown = run("status", cwd=signed.root).stdout
    assert "not yet seen" in shown.lower(), shown


def test_an_approver_the_agent_recovers_with_its_own_key_is_shown_unconfirmed(
    signed: Signed, stranger: Path
) -> None:
    argv = ["sdd", "approvers", "recover", "--key", str(stranger)]
    code, shown = pty_run(argv, signed.root, prompt=CODE_PROMPT)  # the agent's own pty
    if code == 0:  # recorded: then shown as what it is
        said = run("status", cwd=signed.root).stdout
        assert fingerprint(stranger) in said and "unconfirmed" in said, said
    else:
        refused(code, shown, "approver", "session", "person", "terminal")


def test_doctor_warns_when_the_approver_key_signs_without_the_person(
    work: Path, tmp_path: Path
) -> None:
    root = init_project(work, name="plain")
    person = Person.make(tmp_path / "plain", passphrase="")
    person.signs_commits_in(root)
    person.adds_approver(root, person.key, person.name)
    warned(root, fingerprint(person.key), "passphrase")


def test_sdd_now_is_refused_in_a_project_with_approvers(signed: Signed) -> None:
    before = [e.id for e in History(signed.root).entries()]
    result = run(
        "findings", "add", "found in 2020", "--severity", "minor", "--stage", "plan",
        cwd=signed.root, env={"SDD_NOW": "2020-01-01T00:00:00Z"},
    )  # fmt: skip
    refused_run(result, "SDD_NOW")
    assert [e.id for e in History(signed.root).entries()] == before


def test_doctor_warns_when_the_ssh_keygen_that_signs_can_be_replaced(
    signed: Signed, tmp_path: Path
) -> None:
    """The agent puts its own ssh-keygen first on PATH (a folder it can write): it would
    see the person's passphrase and could sign the agent's payload too. doctor says so."""
    folder = tmp_path / "agent-bin"
    folder.mkdir()
    wrapper = folder / "ssh-keygen"
    real = shutil.which("ssh-keygen")
    assert real is not None
    wrapper.write_text(f'#!/bin/sh\nexec {real} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    if os.getuid() == 0:  # as root everything is root's: make it what an agent's file is
        os.chown(wrapper, 65534, 65534)
    path = f"{folder}{os.pathsep}{os.environ['PATH']}"
    result = run("doctor", "--json", cwd=signed.root, env={"PATH": path})
    findings = json.loads(result.stdout)["data"]["findings"]
    hits = [f for f in findings if str(wrapper) in f["what"]]
    assert hits and hits[0]["severity"] == "warning", findings
    assert "/usr/bin" in hits[0]["fix"]
    plain = json.loads(run("doctor", "--json", cwd=signed.root).stdout)["data"]["findings"]
    assert not [f for f in plain if "ssh-keygen that signs" in f["what"]], plain

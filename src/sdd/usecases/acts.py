"""A person's act, in one place for every kind of it (approving, rejecting, answering a
question, waiving a finding, ending a cycle, the approvers, accepting a change to the rules):
who may do it, who did it, and — in a signed project — the signature that proves it.

The use case that records the act calls :func:`begin` inside its transaction, before it
shows the person what is decided. In an unsigned project that is the person check (a
terminal, no agent, no session `sdd run` launched still running). In a signed project it
also picks the person's signing key — git's, from the person's own (global) git
configuration — which must be an approver in force; the transaction then signs the act's
record with it when it is written (``ssh-keygen`` asks for the passphrase, or a touch).
"""

from __future__ import annotations

from sdd.agents import person
from sdd.core import trust
from sdd.core.errors import Refused
from sdd.system import gitrepo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.core.history import Signer
    from sdd.core.records import Record
    from sdd.project.project import Project, Transaction
    from sdd.system.signing import SigningKey

SETUP_HINT = (
    "sign with an SSH key the way git does: `git config --global gpg.format ssh` and "
    "`git config --global user.signingkey ~/.ssh/KEY` (a key with a passphrase, or a "
    "security key)"
)


def begin(project: Project, tx: Transaction, act: str, *, stdin_is_tty: bool) -> dict[str, str]:
    """Check that a person is doing ``act`` and prepare its signature; returns who."""
    if not tx.whole:  # a programming error: the act's transaction must be `person=True`
        raise AssertionError(f"{act}: a person's act in a transaction not folded whole")
    signed = tx.state.signed
    person.require_person(act, stdin_is_tty=stdin_is_tty, paths=project.paths, signed=signed)
    who = gitrepo.identity(project.paths.root)
    if signed:
        key = approver_key(project, tx)
        assert key.public_key is not None
        who["key"] = key.public_key.fingerprint
        tx.signer = signer(key)
    return who


def approver_key(project: Project, tx: Transaction) -> SigningKey:
    """The person's signing key, which must be an approver in force here."""
    from sdd.system import signing

    key = signing.git_signing_key(project.paths.root)
    if key is None or key.public_key is None:
        raise Refused(
            "this project is signed: a person's act needs your SSH signing key, and your "
            "git configuration names none",
            hint=SETUP_HINT,
        )
    approvers = tx.state.trust.approvers if tx.state.trust else {}
    if not approvers:
        # Signed, and no approver's record holds: the history was changed, not the key.
        raise Refused(
            "this project is signed and no approver is in force: the history's approver "
            "records do not hold (changed by hand?), so no signature can count",
            hint="run `sdd doctor`: it shows what was found and how to recover",
        )
    fingerprint = key.public_key.fingerprint
    if fingerprint not in approvers:
        known = ", ".join(f"{a.principal} {a.fingerprint}" for a in approvers.values())
        raise Refused(
            f"your signing key {fingerprint} ({key.source}) is not an approver of this "
            f"project (approvers: {known})",
            hint="an approver adds it: `sdd approvers add --key YOUR_KEY.pub --name YOU`",
        )
    return key


def signer(key: SigningKey) -> Signer:
    """Signs the person's acts of a batch; the other records of it stay unsigned."""
    from sdd.system import signing

    assert key.public_key is not None
    line = key.public_key.openssh

    def sign(record: Record) -> dict[str, str] | None:
        if not trust.is_person_act(record):
            return None
        return {"key": line, "signature": signing.sign(record["hash"].encode(), key)}

    return sign

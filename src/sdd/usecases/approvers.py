"""The project's approvers: the people whose SSH keys sign the person's acts.

The history holds them (``approver.add`` and ``approver.revoke`` records, themselves signed);
``.sdd/approvers`` is the OpenSSH allowed-signers file sdd writes from it, for
``ssh-keygen -Y verify`` and for CI. The first approver signs their own record (trust on
first use: shown as unconfirmed until the protected branch holds it); every later change is
signed by an approver in force. A sole approver who lost their key recovers with a new key
that signs itself in: recorded, shown, and counted only once the protected branch holds it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from sdd.agents import person
from sdd.core.errors import Refused, SddError, UsageError
from sdd.core.sshkeys import parse_public_key
from sdd.core.structs import dataclass, field
from sdd.usecases import acts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.core import trust
    from sdd.core.state import ProjectState
    from sdd.project.project import Project, Transaction
    from sdd.system.signing import SigningKey

# Shows what the act does (text, code, verb) and returns what the person typed back (None:
# they gave up).
Confirm = Callable[[str, str, str], "str | None"]


@dataclass
class Approver:
    principal: str
    fingerprint: str
    confirmed: bool
    recovery: bool
    record: str
    roles: list[str] = field(default_factory=list)  # which gates' team rules they meet


@dataclass
class Changed:
    action: str  # added, revoked, recovery recorded
    principal: str
    fingerprint: str
    signed_by: str  # the fingerprint of the key that signed the change
    roles: list[str] = field(default_factory=list)


def listing(project: Project) -> list[Approver]:
    state = project.load()
    return rows(state)


def rows(state: ProjectState) -> list[Approver]:
    trust = state.trust
    if trust is None:
        return []
    return [
        Approver(
            a.principal,
            a.fingerprint,
            a.record in trust.confirmed,
            a.recovery,
            a.record,
            list(a.roles),
        )
        for a in trust.approvers.values()
    ]


def add(
    project: Project,
    key: str | None,
    *,
    name: str | None,
    stdin_is_tty: bool,
    confirm: Confirm,
    roles: list[str] | None = None,
) -> Changed:
    """Add an approver: the first one signs their own record with the key they add; later
    ones are signed in by an approver in force (the person running this). ``roles``: which
    gates' team rules they meet (`[gates.NAME] roles`); the signed record holds them."""
    given = _roles(roles or [])
    with project.transaction(person=True) as tx:
        if tx.state.signed:
            who = acts.begin(project, tx, "adding an approver", stdin_is_tty=stdin_is_tty)
            new = _public(key)
            signer = who.get("key", "")
        else:
            person.require_person(
                "adding the first approver", stdin_is_tty=stdin_is_tty, paths=project.paths
            )
            own = _own_key(project, key)
            assert own.public_key is not None
            tx.signer = acts.signer(own)
            new, signer = own.public_key.openssh, own.public_key.fingerprint
            who = _identity(project)
        public = parse_public_key(new)
        held = tx.state.trust.approvers.get(public.fingerprint) if tx.state.trust else None
        if held is not None:
            return _set_roles(tx, held, given, who, signer, confirm)
        principal = _principal(name, who)
        trusted = "trust on first use: shown as unconfirmed until the protected branch holds it"
        shown = (
            f"\nAdd {principal} as an approver of this project, with the key\n"
            f"  {public.algorithm} {public.fingerprint}\n"
            + (f"  roles: {', '.join(given)}\n" if given else "")
            + ("" if tx.state.signed else f"({trusted})\n")
        )
        _confirmed(confirm, shown, "add it")
        extra: dict[str, object] = {"roles": given} if given else {}
        tx.record("approver.add", principal=principal, key=public.openssh, **extra, by=who)
    return Changed("added", principal, public.fingerprint, signer, given)


def _set_roles(
    tx: Transaction,
    held: trust.Approver,
    given: list[str],
    who: dict[str, str],
    signer: str,
    confirm: Confirm,
) -> Changed:
    """An approver's roles set anew: an approver.add of the same key, with its roles."""
    if not given:
        raise SddError(
            f"{held.fingerprint} is already an approver",
            hint="to set their roles: sdd approvers add --key KEY.pub --role ROLE",
        )
    before = ", ".join(held.roles) or "none"
    shown = (
        f"\nSet the roles of {held.principal} ({held.fingerprint})\n"
        f"  from: {before}\n  to:   {', '.join(given)}\n"
    )
    _confirmed(confirm, shown, "set them")
    tx.record("approver.add", principal=held.principal, key=held.key, roles=given, by=who)
    return Changed("roles set", held.principal, held.fingerprint, signer, given)


def _roles(roles: list[str]) -> list[str]:
    from sdd.workflow.model import NAME

    wrong = [r for r in roles if not NAME.match(r)]
    if wrong:
        raise UsageError(f"--role {wrong[0]!r}: a role is a name of a-z, 0-9 and - (e.g. lead)")
    return list(dict.fromkeys(roles))


@dataclass
class Offer:
    """How `sdd init` may offer a person at a terminal to sign the project's acts."""

    git_key: str | None  # the fingerprint of git's SSH signing key, when git has one
    git_source: str | None  # where git names it
    new_key: str  # where a new dedicated key goes unless the person says otherwise


@dataclass
class NewKey:
    path: str
    fingerprint: str
    passphrase: bool | None  # whether its file asks for one (None: cannot tell)


def offer(project: Project, *, stdin_is_tty: bool) -> Offer | None:
    """What to offer at `sdd init`: None when the project is signed already, or when no
    person could add the first approver here (the check `add` makes: a terminal, no
    agent, no session running)."""
    from sdd.system import signing

    if project.load().signed:
        return None
    try:
        person.require_person(
            "adding the first approver", stdin_is_tty=stdin_is_tty, paths=project.paths
        )
    except Refused:
        return None
    try:
        found = signing.git_signing_key(project.paths.root)
    except SddError:  # a key git names that cannot be read is not offered
        found = None
    public = found.public_key if found else None
    return Offer(
        public.fingerprint if public else None,
        found.source if found and public else None,
        default_key_path(),
    )


def default_key_path() -> str:
    """A new dedicated key's default file: in the person's SSH folder, a name not taken."""
    from sdd.core.paths import user_ssh_dir

    base = os.path.join(user_ssh_dir(), "sdd_ed25519")
    path, n = base, 1
    while os.path.lexists(path) or os.path.lexists(path + ".pub"):
        n += 1
        path = f"{base}_{n}"
    return path


def new_key(project: Project, path: str) -> NewKey:
    """A new ed25519 key for signing this person's acts; ssh-keygen asks the person for its
    passphrase at the terminal. Adding it as an approver is :func:`add`'s."""
    from sdd.system import signing

    path = os.path.abspath(os.path.expanduser(path))
    who = _identity(project)
    made = signing.new_key(path, comment=f"sdd approver {who.get('email') or who['name']}")
    assert made.public_key is not None
    return NewKey(path, made.public_key.fingerprint, signing.inspect_key_file(path).encrypted)


def revoke(project: Project, fingerprint: str, *, stdin_is_tty: bool, confirm: Confirm) -> Changed:
    with project.transaction(person=True) as tx:
        if not tx.state.signed:
            raise Refused("this project has no approver to revoke", hint="sdd approvers add")
        who = acts.begin(project, tx, "revoking an approver", stdin_is_tty=stdin_is_tty)
        approvers = tx.state.trust.approvers if tx.state.trust else {}
        gone = approvers.get(fingerprint.strip())
        if gone is None:
            known = ", ".join(approvers) or "none"
            raise UsageError(f"{fingerprint}: not an approver (approvers: {known})")
        if len(approvers) == 1:
            raise Refused(
                "that is the only approver: add another first",
                hint="sdd approvers add --key THEIR_KEY.pub --name THEM",
            )
        _confirmed(confirm, f"\nRevoke {gone.principal} ({gone.fingerprint})\n", "revoke it")
        tx.record("approver.revoke", fingerprint=gone.fingerprint, by=who)
    return Changed("revoked", gone.principal, gone.fingerprint, who.get("key", ""))


def recover(
    project: Project, key: str | None, *, name: str | None, stdin_is_tty: bool, confirm: Confirm
) -> Changed:
    """A sole approver who lost their key: the new key signs itself in. It is recorded and
    shown, and counts once the protected branch holds the record (a reviewer merged it)."""
    with project.transaction() as tx:
        if not tx.state.signed:
            raise Refused("this project has no approver yet", hint="sdd approvers add")
        # No approver can sign this: the unsigned project's checks apply (a terminal, no
        # agent, no session running), and the record does not count until it is confirmed.
        person.require_person(
            "recovering an approver", stdin_is_tty=stdin_is_tty, paths=project.paths
        )
        own = _own_key(project, key)
        assert own.public_key is not None
        tx.signer = acts.signer(own)
        who = _identity(project)
        principal = _principal(name, who)
        shown = (
            f"\nRecord a recovery key for {principal}: {own.public_key.fingerprint}\n"
            "It counts once the protected branch holds this record (a reviewer merges it);\n"
            "until then it is shown as unconfirmed and signs nothing that counts.\n"
        )
        _confirmed(confirm, shown, "record it")
        tx.record(
            "approver.add",
            principal=principal,
            key=own.public_key.openssh,
            recovery=True,
            by=who,
        )
    return Changed("recovery recorded", principal, own.public_key.fingerprint, "")


def _confirmed(confirm: Confirm, shown: str, verb: str) -> None:
    code = person.confirmation_code()
    typed = confirm(shown, code, verb)
    if typed is None or typed.strip().upper() != code:
        raise SddError("the confirmation code did not match; nothing was recorded")


def _identity(project: Project) -> dict[str, str]:
    from sdd.system import gitrepo

    return gitrepo.identity(project.paths.root)


def _principal(name: str | None, who: dict[str, str]) -> str:
    principal = " ".join((name or who.get("email") or who.get("name") or "").split())
    if not principal or not principal.isprintable():
        raise UsageError("an approver needs a name: --name NAME")
    return principal[:120]


def _own_key(project: Project, spec: str | None) -> SigningKey:
    """The key the person holds and signs with: ``spec`` (a key file, or a public key an
    ssh-agent holds), else git's signing key from the person's own git configuration."""
    from sdd.system import signing

    if spec:
        path = os.path.expanduser(spec)
        if path.endswith(".pub") and os.path.exists(path[: -len(".pub")]):
            path = path[: -len(".pub")]  # sign with the private half beside it
        key = signing.signing_key(path, cwd=project.paths.root, source="--key")
    else:
        found = signing.git_signing_key(project.paths.root)
        if found is None:
            raise UsageError(
                "name the key: --key PATH (or set git's signing key)", hint=acts.SETUP_HINT
            )
        key = found
    if key.public_key is None:
        raise UsageError(f"{spec}: no public key to read", hint="give the key file or its .pub")
    return key


def _public(spec: str | None) -> str:
    """The public key line of a new approver: a `.pub` file, a key file, or the line."""
    if not spec:
        raise UsageError("name the new approver's key: --key THEIR_KEY.pub")
    text = spec.strip()
    if text.startswith(("ssh-", "ecdsa-", "sk-")):
        return text
    from sdd.system import signing

    found = signing.inspect_key_file(os.path.expanduser(text))
    if found.public_key is None:
        raise UsageError(f"{spec}: no public key in it")
    return found.public_key.openssh

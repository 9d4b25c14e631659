"""Signing a person's act with their SSH key, through the real ``ssh-keygen -Y sign``; the
key chosen as git chooses it for ``gpg.format = ssh``; a new dedicated key; and what
``sdd doctor`` needs to know of a key: whether signing with it needs the person.

ssh-keygen runs with the person's terminal attached: it asks for the passphrase itself
(or for a touch of a security key), and sdd never sees the passphrase. The message and
the signature pass through a private temporary folder, never the project's tree.
"""

from __future__ import annotations

import base64
import binascii
import os
import shlex
import tempfile

from sdd.core.errors import SddError
from sdd.core.sshkeys import (
    PublicKey,
    SshDataError,
    Wire,
    parse_public_key,
    public_key_from_blob,
    read_key,
)
from sdd.core.sshsig import NAMESPACE, check_signature
from sdd.core.structs import dataclass
from sdd.system.gitrepo import config_value
from sdd.system.process import run_subprocess

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import ClassVar

SSH_KEYGEN = "ssh-keygen"
# A person types a passphrase or touches a key: minutes, not seconds.
PERSON_TIMEOUT = 300.0
OPENSSH_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----"
OPENSSH_MAGIC = b"openssh-key-v1\0"
SK_USER_PRESENCE_REQUIRED = 0x01  # a security key's flag: a touch for every signature


@dataclass(frozen=True)
class SigningKey:
    """What ssh-keygen signs with: a key file (``-f``), or a public key only an ssh-agent
    holds (``path`` None, signed with ``-U`` as git does for a literal key)."""

    path: str | None
    public_key: PublicKey | None
    source: str  # where the choice came from, for messages


def signing_key(spec: str, *, cwd: str, source: str = "given") -> SigningKey:
    """A key as git's ``user.signingkey`` names it: ``key::ssh-ed25519 AAAA…`` or
    ``ssh-…`` (a public key the agent holds), else a path to a key file (``~`` expanded,
    relative to ``cwd``)."""
    literal = spec[5:] if spec.startswith("key::") else spec if spec.startswith("ssh-") else None
    if literal is not None:
        return SigningKey(None, parse_public_key(literal), source)
    path = os.path.join(cwd, os.path.expanduser(spec))
    return SigningKey(path, inspect_key_file(path).public_key, source)


def git_signing_key(cwd: str) -> SigningKey | None:
    """The key git signs commits with when ``gpg.format = ssh``: ``user.signingkey``, else
    the first key ``gpg.ssh.defaultKeyCommand`` prints. None when git signs no other way.
    The key command is read from the person's own (global) git configuration only: a
    repository's ``.git/config`` is writable by whatever runs in it, and a command there
    would run. Which key it names is safe to read from anywhere: it must be an approver's,
    and only the person can unlock it."""
    if config_value(cwd, "gpg.format") != "ssh":
        return None
    spec = config_value(cwd, "user.signingkey")
    if spec is not None:
        return signing_key(spec, cwd=cwd, source="git config user.signingkey")
    command = config_value(cwd, "gpg.ssh.defaultKeyCommand", scope="global")
    if command is None:
        return None
    result = run_subprocess(shlex.split(command), cwd=cwd, timeout=30.0)
    first = result.stdout.split("\n", 1)[0].strip()
    if result.returncode != 0 or not first.startswith(("key::", "ssh-")):
        raise SddError(
            f"git's gpg.ssh.defaultKeyCommand ({command}) printed no key",
            details=result.stderr.strip().splitlines()[-3:],
        )
    return signing_key(first, cwd=cwd, source="git config gpg.ssh.defaultKeyCommand")


def sign(
    message: bytes,
    key: SigningKey,
    *,
    namespace: str = NAMESPACE,
    env: Mapping[str, str] | None = None,
    timeout: float = PERSON_TIMEOUT,
    program: str = SSH_KEYGEN,
) -> str:
    """The armored SSHSIG signature of ``message`` by ``key`` under ``namespace``, made by
    ``ssh-keygen -Y sign`` at the person's terminal, and checked before it is returned."""
    with tempfile.TemporaryDirectory(prefix="sdd-sign-") as folder:
        data = os.path.join(folder, "act")
        with open(data, "wb") as handle:
            handle.write(message)
        args = [program, "-q", "-Y", "sign", "-n", namespace]
        if key.path is not None:
            args += ["-f", key.path]
        elif key.public_key is not None:
            public = os.path.join(folder, "key.pub")
            with open(public, "w", encoding="utf-8") as handle:
                handle.write(key.public_key.openssh + "\n")
            args += ["-U", "-f", public]  # the agent signs: there is no key file
        else:
            raise SddError(f"no key to sign with from {key.source}")
        args.append(data)
        result = run_subprocess(args, env=env, timeout=timeout, terminal=True)
        if result.returncode != 0 or not os.path.exists(data + ".sig"):
            raise SddError(
                f"ssh-keygen could not sign with the key from {key.source} "
                f"(exit {result.returncode}; its message, if any, is above)"
            )
        with open(data + ".sig", encoding="utf-8", errors="replace") as handle:
            armored = handle.read()
    verdict = check_signature(armored, message, namespace=namespace)
    expected = key.public_key.fingerprint if key.public_key else verdict.fingerprint
    if not verdict.valid or verdict.fingerprint != expected:
        raise SddError(
            f"{program} returned a signature that does not hold: {verdict.reason}",
            hint=f"check which {program} is first on PATH",
        )
    return armored


def new_key(
    path: str,
    *,
    comment: str,
    env: Mapping[str, str] | None = None,
    timeout: float = PERSON_TIMEOUT,
    program: str = SSH_KEYGEN,
) -> SigningKey:
    """A new ed25519 key at ``path`` (and ``path``.pub); ssh-keygen asks the person for its
    passphrase at the terminal. ``check_key`` tells whether they gave one."""
    if os.path.lexists(path) or os.path.lexists(path + ".pub"):
        raise SddError(f"{path} exists already", hint="choose another path for the new key")
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    args = [program, "-q", "-t", "ed25519", "-f", path, "-C", comment]
    result = run_subprocess(args, env=env, timeout=timeout, terminal=True)
    if result.returncode != 0 or not os.path.exists(path):
        raise SddError(f"ssh-keygen could not make a key at {path} (exit {result.returncode})")
    return signing_key(os.path.abspath(path), cwd="/", source="a new key")


@dataclass(frozen=True)
class KeyFile:
    """What a key file says without its passphrase."""

    path: str
    format: str  # openssh, pem, or public (only a public key: the private half is elsewhere)
    encrypted: bool | None  # None: no private key in the file
    public_key: PublicKey | None
    touch_required: bool | None = None  # security keys in an unencrypted file


def inspect_key_file(path: str) -> KeyFile:
    """Reads a private key file (OpenSSH's openssh-key-v1, or PEM), or a ``.pub`` file and
    the private key beside it, as ssh-keygen would."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(1 << 20)
    except OSError as exc:
        raise SshDataError(f"{path}: cannot read the key: {exc.strerror}") from None
    if text.startswith(OPENSSH_BEGIN):
        return _openssh_key(path, text)
    if text.startswith("-----BEGIN ") and "PRIVATE KEY-----" in text.split("\n", 1)[0]:
        head = text.split("\n", 4)[:4]  # PKCS#8's first line, or a Proc-Type header
        encrypted = "ENCRYPTED" in head[0] or any(
            line.startswith("Proc-Type:") and "ENCRYPTED" in line for line in head[1:]
        )
        public = _public_beside(path + ".pub")
        return KeyFile(path, "pem", encrypted, public)
    public = parse_public_key(text.split("\n", 1)[0])
    private = path[: -len(".pub")] if path.endswith(".pub") else None
    if private is not None and os.path.exists(private):
        found = inspect_key_file(private)
        if found.format != "public":
            return found
    return KeyFile(path, "public", None, public)


def _public_beside(path: str) -> PublicKey | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_public_key(handle.readline())
    except (OSError, UnicodeDecodeError, SshDataError):
        return None


def _openssh_key(path: str, text: str) -> KeyFile:
    body = text[len(OPENSSH_BEGIN) :].split("-----END", 1)[0]
    try:
        blob = base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SshDataError(f"{path}: the key's base64 is not valid") from None
    wire = Wire(blob, path)
    if wire.take(len(OPENSSH_MAGIC)) != OPENSSH_MAGIC:
        raise wire.fail("not an openssh-key-v1 key")
    cipher = wire.text()
    wire.text(), wire.string()  # the KDF and its options
    if wire.u32() != 1:
        raise wire.fail("holds more than one key")
    public = public_key_from_blob(wire.string())
    beside = _public_beside(path + ".pub")  # it has the comment, encrypted in the file
    public = beside if beside == public and beside is not None else public
    private = wire.string()
    touch = None
    if cipher == "none" and public.is_security_key:
        inner = Wire(private, path)
        inner.u32(), inner.u32()  # the check integers
        read_key(inner)  # the type and public half again, then the key's flags
        touch = bool(inner.u8() & SK_USER_PRESENCE_REQUIRED)
    return KeyFile(path, "openssh", cipher != "none", public, touch)


def agent_keys(env: Mapping[str, str] | None = None) -> tuple[PublicKey, ...] | None:
    """The public keys the ssh-agent holds (``ssh-add -L``); None when no agent answers."""
    try:
        result = run_subprocess(["ssh-add", "-L"], env=env, timeout=10.0)
    except SddError:
        return None
    if result.returncode == 1:  # "The agent has no identities."
        return ()
    if result.returncode != 0:
        return None
    keys = []
    for line in result.stdout.splitlines():
        try:
            keys.append(parse_public_key(line))
        except SshDataError:
            continue  # a certificate, or a type sdd does not sign with
    return tuple(keys)


@dataclass(frozen=True)
class KeyCheck:
    """Whether signing with a key needs the person, for ``sdd doctor``."""

    JSON_EXTRA: ClassVar[tuple[str, ...]] = ("agent_can_sign", "warnings")

    fingerprint: str | None
    key_type: str | None
    path: str | None
    passphrase: bool | None  # the key file asks for one; None: no file, or cannot tell
    security_key: bool
    touch_required: bool | None  # a security key asks for a touch; None: cannot tell
    in_agent: bool | None  # an ssh-agent holds the key; None: no agent answered

    @property
    def agent_can_sign(self) -> bool:
        """Whether a program running as the person can sign without them."""
        return bool(self._why_agent_can_sign())

    @property
    def warnings(self) -> tuple[str, ...]:
        found = list(self._why_agent_can_sign())
        if self.path is None and not self.in_agent:
            found.append("no ssh-agent holds this key, and there is no key file: signing will fail")
        return tuple(found)

    def _why_agent_can_sign(self) -> tuple[str, ...]:
        prefix = "an agent running as you can sign with this key: "
        if self.security_key:
            if self.touch_required is False:
                return (prefix + "the security key does not ask for a touch",)
            if self.touch_required is None and self.in_agent:
                return (
                    prefix
                    + "an ssh-agent holds it, and its file does not say whether it asks for a touch",
                )
            return ()
        reasons = []
        if self.in_agent:
            reasons.append(prefix + "an ssh-agent holds it (`ssh-add -d` removes it)")
        if self.path is not None and self.passphrase is False:
            reasons.append(prefix + "its file has no passphrase (`ssh-keygen -p -f FILE` sets one)")
        if self.path is not None and self.passphrase is None:
            reasons.append(prefix + "sdd cannot tell whether its file has a passphrase")
        return tuple(reasons)


def check_key(key: SigningKey, *, env: Mapping[str, str] | None = None) -> KeyCheck:
    found = inspect_key_file(key.path) if key.path is not None else None
    public = key.public_key or (found.public_key if found else None)
    held = agent_keys(env)
    in_agent = None if held is None or public is None else public in held
    return KeyCheck(
        public.fingerprint if public else None,
        public.algorithm if public else None,
        key.path,
        found.encrypted if found else None,
        bool(public and public.is_security_key),
        found.touch_required if found else None,
        in_agent,
    )

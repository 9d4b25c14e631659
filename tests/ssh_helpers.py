"""Real SSH keys and signatures for the tests: keys made by the real ssh-keygen under the
test's own folder, signatures by ``ssh-keygen -Y sign``, verdicts by ``ssh-keygen -Y verify``,
a real ssh-agent, and passphrases given the way the person's terminal would be replaced in
a test (an SSH_ASKPASS program, forced). Nothing here reads or writes the real home.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from system_tools import need_tool

# The key types a person can sign with, as ssh-keygen's -t and -b make them.
KEY_KINDS = {
    "ed25519": ("ed25519", None),
    "ecdsa-256": ("ecdsa", "256"),
    "ecdsa-384": ("ecdsa", "384"),
    "ecdsa-521": ("ecdsa", "521"),
    "rsa-3072": ("rsa", "3072"),
}
OURS = "sdd-act@session-driven-development"
PASSPHRASE = "correct horse battery"


def tool_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a tool the tests run: no agent or askpass but the test's own,
    and a home of the test's (module-wide fixtures run before conftest isolates HOME)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSH_AUTH", "SSH_ASK"))}
    return {**env, "HOME": str(home), **(extra or {})}


def keygen(
    path: Path, kind: str = "ed25519", passphrase: str = "", extra: tuple[str, ...] = ()
) -> Path:
    """A new key at ``path`` (and ``path``.pub) made by the real ssh-keygen."""
    algorithm, bits = KEY_KINDS[kind]
    args = [need_tool("ssh-keygen"), "-q", "-t", algorithm, "-N", passphrase, "-f", str(path)]
    args += [*(("-b", bits) if bits else ()), "-C", f"{kind} key of the test", *extra]
    env = tool_env(path.parent)
    subprocess.run(
        args, check=True, capture_output=True, stdin=subprocess.DEVNULL, env=env, timeout=60
    )
    return path


def public_line(key: Path) -> str:
    return Path(f"{key}.pub").read_text(encoding="utf-8").strip()


def askpass_env(folder: Path, passphrase: str = PASSPHRASE) -> dict[str, str]:
    """What makes ssh-keygen and ssh-add take a passphrase from a program, not a terminal."""
    script = folder / "askpass"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' '{passphrase}'\n", encoding="utf-8")
    script.chmod(0o700)
    return {"SSH_ASKPASS": str(script), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}


def ssh_sign(
    key: Path,
    message: bytes,
    namespace: str = OURS,
    env: dict[str, str] | None = None,
    options: tuple[str, ...] = (),
) -> str:
    """``ssh-keygen -Y sign``: the armored signature of ``message``."""
    folder = key.parent / f"signing-{time.monotonic_ns()}"
    folder.mkdir()
    data = folder / "message"
    data.write_bytes(message)
    args = [need_tool("ssh-keygen"), "-q", "-Y", "sign", "-n", namespace, "-f", str(key)]
    args += [item for option in options for item in ("-O", option)]
    subprocess.run(
        [*args, str(data)],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env=tool_env(folder, env),
        timeout=60,
    )
    return (folder / "message.sig").read_text(encoding="utf-8")


def ssh_verify(
    folder: Path,
    armored: str | bytes,
    message: bytes,
    allowed: str,
    principal: str = "ada@example.com",
    namespace: str = OURS,
) -> bool:
    """``ssh-keygen -Y verify``'s verdict on the signature."""
    signature, signers = folder / "verify.sig", folder / "allowed_signers"
    signature.write_bytes(armored.encode() if isinstance(armored, str) else armored)
    signers.write_text(allowed, encoding="utf-8")
    args = [need_tool("ssh-keygen"), "-Y", "verify", "-f", str(signers), "-I", principal]
    result = subprocess.run(
        [*args, "-n", namespace, "-s", str(signature)],
        input=message,
        capture_output=True,
        env=tool_env(folder),
        timeout=60,
    )
    return result.returncode == 0


@contextlib.contextmanager
def ssh_agent(folder: Path) -> Iterator[dict[str, str]]:
    """A real ssh-agent of the test's own (in the foreground, ended afterwards): the
    environment that reaches it."""
    socket = folder / "agent.sock"
    agent = subprocess.Popen(
        [need_tool("ssh-agent"), "-D", "-a", str(socket)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(500):
            if socket.exists():
                break
            time.sleep(0.01)
        yield {"SSH_AUTH_SOCK": str(socket)}
    finally:
        agent.terminate()
        agent.wait(timeout=10)


def ssh_add(key: Path, env: dict[str, str]) -> None:
    subprocess.run(
        [need_tool("ssh-add"), "-q", str(key)],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env=tool_env(key.parent, env),
        timeout=60,
    )


# Security keys, built by hand: no authenticator is attached here, so the tests play its
# part with a software key, following PROTOCOL.u2f byte for byte (and cross-check what they
# build against ssh-keygen, which verifies security-key signatures without hardware).
SK_ED25519 = "sk-ssh-ed25519@openssh.com"
SK_ECDSA = "sk-ecdsa-sha2-nistp256@openssh.com"


def ssh_string(data: bytes | str) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return struct.pack(">I", len(raw)) + raw


def ssh_mpint(value: int) -> bytes:
    return ssh_string(value.to_bytes((value.bit_length() + 8) // 8, "big"))


def sk_public_blob(kind: str, private: object, application: str = "ssh:") -> bytes:
    """The public key's wire form (PROTOCOL.u2f, "SSH U2F Key formats")."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    if kind == SK_ED25519:
        assert isinstance(private, ed25519.Ed25519PrivateKey)
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return ssh_string(kind) + ssh_string(raw) + ssh_string(application)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    point = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return ssh_string(kind) + ssh_string("nistp256") + ssh_string(point) + ssh_string(application)


def sk_signature(
    kind: str,
    private: object,
    message: bytes,
    namespace: str = OURS,
    flags: int = 0x01,
    counter: int = 7,
    application: str = "ssh:",
    signed_flags: int | None = None,
    signed_application: str | None = None,
) -> str:
    """An armored SSHSIG signature as a security key makes it. ``signed_*``: what the
    authenticator signs, when a test wants it to differ from what the signature says."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils

    # PROTOCOL.sshsig, section 3: what the signer is asked to sign.
    data = (
        b"SSHSIG"
        + ssh_string(namespace)
        + ssh_string(b"")
        + ssh_string("sha512")
        + ssh_string(hashlib.sha512(message).digest())
    )
    # PROTOCOL.u2f, "SSH U2F signatures": the authenticator signs SHA256(application),
    # its flags, its counter, its extensions (none for SSH) and SHA256(data).
    sent = flags if signed_flags is None else signed_flags
    u2f = (
        hashlib.sha256((signed_application or application).encode()).digest()
        + struct.pack(">BI", sent, counter)
        + hashlib.sha256(data).digest()
    )
    if kind == SK_ED25519:
        assert isinstance(private, ed25519.Ed25519PrivateKey)
        body = ssh_string(private.sign(u2f))
    else:
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        r, s = utils.decode_dss_signature(private.sign(u2f, ec.ECDSA(hashes.SHA256())))
        body = ssh_string(ssh_mpint(r) + ssh_mpint(s))
    inner = ssh_string(kind) + body + struct.pack(">BI", flags, counter)
    blob = (
        b"SSHSIG"
        + struct.pack(">I", 1)
        + ssh_string(sk_public_blob(kind, private, application))
        + ssh_string(namespace)
        + ssh_string(b"")
        + ssh_string("sha512")
        + ssh_string(inner)
    )
    return armored(blob)


def armored(blob: bytes) -> str:
    encoded = base64.b64encode(blob).decode()
    lines = [encoded[i : i + 70] for i in range(0, len(encoded), 70)]
    return (
        "\n".join(["-----BEGIN SSH SIGNATURE-----", *lines, "-----END SSH SIGNATURE-----"]) + "\n"
    )


def sk_public_line(kind: str, private: object, application: str = "ssh:") -> str:
    return f"{kind} {base64.b64encode(sk_public_blob(kind, private, application)).decode()}"


def blob_of(armored_text: str) -> bytes:
    body = armored_text.strip().split("\n")[1:-1]
    return base64.b64decode("".join(body))


def sk_key_file(path: Path, kind: str, private: object, flags: int) -> Path:
    """A security key's private key file, unencrypted, as ssh-keygen -t ed25519-sk/ecdsa-sk
    writes it (PROTOCOL.key, PROTOCOL.u2f): the public half, then the key's flags, its key
    handle and a reserved string. ``flags`` 0x01: a touch for every signature."""
    public = sk_public_blob(kind, private)
    fields = public[4 + len(kind) :]  # the public half without its type name
    section = struct.pack(">II", 7, 7) + ssh_string(kind) + fields
    section += bytes([flags]) + ssh_string(b"key handle") + ssh_string(b"")
    section += ssh_string("security key of the test")
    section += bytes(range(1, 1 + (-len(section)) % 8))  # padded to the cipher block (8)
    blob = b"openssh-key-v1\0" + ssh_string("none") + ssh_string("none") + ssh_string(b"")
    blob += struct.pack(">I", 1) + ssh_string(public) + ssh_string(section)
    encoded = base64.b64encode(blob).decode()
    lines = [encoded[i : i + 70] for i in range(0, len(encoded), 70)]
    begin, end = "-----BEGIN OPENSSH PRIVATE KEY-----", "-----END OPENSSH PRIVATE KEY-----"
    path.write_text("\n".join([begin, *lines, end]) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path

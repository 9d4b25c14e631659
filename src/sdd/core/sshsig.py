"""OpenSSH signatures (PROTOCOL.sshsig), verified in-process: what ``ssh-keygen -Y verify``
decides, without a child process.

A signature is an armored blob (``-----BEGIN SSH SIGNATURE-----``) that names the signer's
public key, a namespace, a hash algorithm and the key type's own signature over
``"SSHSIG" ‖ namespace ‖ reserved ‖ hash algorithm ‖ H(message)``. The namespace is why a
signature made for one purpose (a git commit: ``git``) never counts for another (ours).

Parsing raises only ``SshDataError``; verifying never raises for anything in the signature or
the message: a bad or malformed signature is a ``Verdict`` that says why. The cryptography
library is imported inside the verifying function, so reading records stays cheap.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import time

from sdd.core.jsonable import OMIT
from sdd.core.sshkeys import (
    ED25519,
    RSA,
    SK_ECDSA,
    SK_ED25519,
    KeyMaterial,
    PublicKey,
    SshDataError,
    Wire,
    key_material,
    public_key_from_blob,
    put_string,
)
from sdd.core.structs import dataclass, field, replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.allowed_signers import AllowedSigners

# sdd's namespace: a person's act (approve, reject, answer, waive, approvers, rule changes).
# OpenSSH asks for NAME@DOMAIN in custom namespaces; the "domain" is the project's name.
NAMESPACE = "sdd-act@session-driven-development"

MAGIC = b"SSHSIG"
VERSION = 1
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
# An RSA key signs with SHA-2 only (never the SHA-1 "ssh-rsa" signature).
RSA_SIGNATURES = ("rsa-sha2-256", "rsa-sha2-512")
# The FIDO flags of a security-key signature (sk-api.h).
USER_PRESENT = 0x01
USER_VERIFIED = 0x04


@dataclass(frozen=True)
class Signature:
    """A parsed SSHSIG blob (not yet verified)."""

    public_key: PublicKey
    namespace: str
    hash_algorithm: str
    signature: bytes = field(metadata=OMIT)  # the key type's signature, SSH-encoded
    version: int = VERSION


def dearmor(armored: str | bytes) -> bytes:
    """The blob inside the armor. Like OpenSSH: the header starts the text, base64 with any
    whitespace up to the first footer, anything after the footer ignored."""
    text = armored.encode(errors="replace") if isinstance(armored, str) else armored
    head = BEGIN.encode()
    if not text.startswith(head):
        raise SshDataError(f"a signature starts with {BEGIN}")
    body = text[len(head) :]
    body = body[2:] if body.startswith(b"\r\n") else body[1:] if body.startswith(b"\n") else b""
    end = body.find(b"\n" + END.encode())
    if end < 0 or not body:
        raise SshDataError(f"a signature has {BEGIN} on a line of its own and ends with {END}")
    encoded = b"".join(body[:end].split())
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SshDataError("the signature's base64 is not valid") from None
    if base64.b64encode(blob) != encoded:  # stray bits or missing padding, as OpenSSH refuses
        raise SshDataError("the signature's base64 is not canonical")
    return blob


def armor(blob: bytes) -> str:
    """The armored text, wrapped as ssh-keygen wraps it (70 characters a line)."""
    encoded = base64.b64encode(blob).decode()
    lines = [encoded[i : i + 70] for i in range(0, len(encoded), 70)]
    return "\n".join([BEGIN, *lines, END]) + "\n"


def parse_signature(armored: str | bytes) -> Signature:
    wire = Wire(dearmor(armored), "signature")
    if wire.take(len(MAGIC)) != MAGIC:
        raise wire.fail("does not start with SSHSIG")
    version = wire.u32()
    if version > VERSION:  # OpenSSH accepts any version up to its own
        raise wire.fail(f"version {version} is newer than {VERSION}")
    key_blob = wire.string()
    namespace = wire.text()
    wire.string()  # reserved: ignored, as the format says
    hash_algorithm = wire.text()
    signature = wire.string()
    wire.end()
    key = public_key_from_blob(key_blob)
    return Signature(key, namespace, hash_algorithm, signature, version)


def signed_data(namespace: str, hash_algorithm: str, message: bytes) -> bytes:
    """What the key signs (PROTOCOL.sshsig section 3). The reserved field is empty, as
    OpenSSH builds it whatever the blob's reserved field holds."""
    digest = HASHES[hash_algorithm](message).digest()
    return (
        MAGIC
        + put_string(namespace.encode())
        + put_string(b"")
        + put_string(hash_algorithm.encode())
        + put_string(digest)
    )


@dataclass(frozen=True)
class Verdict:
    """Whether a signature holds, and why (or why not)."""

    valid: bool
    # good, malformed, wrong-namespace, unsupported, bad-signature, unknown-signer,
    # namespace-not-allowed, not-yet-valid, expired
    code: str
    reason: str
    namespace: str | None = None
    key_type: str | None = None
    fingerprint: str | None = None
    principal: str | None = None  # the allowed signer that matched
    user_present: bool | None = None  # security keys: the authenticator saw a touch
    user_verified: bool | None = None  # security keys: a PIN or biometric was checked
    counter: int | None = None  # security keys: the authenticator's signature counter


def check_signature(armored: str | bytes, message: bytes, *, namespace: str = NAMESPACE) -> Verdict:
    """Whether the key named in the signature signed ``message`` under ``namespace`` (as
    ``ssh-keygen -Y check-novalidate``). Says nothing of whose key it is: see ``verify``."""
    return _checked(armored, message, namespace)[0]


def verify(
    armored: str | bytes,
    message: bytes,
    signers: AllowedSigners,
    *,
    namespace: str = NAMESPACE,
    principal: str | None = None,
    at: float | None = None,
) -> Verdict:
    """``check_signature``, then the signer's key must be in ``signers`` (for ``principal``
    when given), allowed for ``namespace`` and valid at ``at`` (now by default): what
    ``ssh-keygen -Y verify`` decides."""
    verdict, signature = _checked(armored, message, namespace)
    if signature is None:
        return verdict
    key = signature.public_key
    found = signers.match(key, namespace, principal, time.time() if at is None else at)
    if found.principal is None:
        return _bad(found.code, found.reason, signature)
    reason = f"good signature by {found.principal} with {key.algorithm} key {key.fingerprint}"
    return replace(verdict, reason=reason, principal=found.principal)


def _bad(code: str, reason: str, signature: Signature | None = None) -> Verdict:
    if signature is None:
        return Verdict(False, code, reason)
    key = signature.public_key
    return Verdict(False, code, reason, signature.namespace, key.algorithm, key.fingerprint)


def _checked(
    armored: str | bytes, message: bytes, namespace: str
) -> tuple[Verdict, Signature | None]:
    """The verdict on the signature alone, and the signature when it holds."""
    if not namespace:
        raise ValueError("a namespace is never empty")
    try:
        signature = parse_signature(armored)
    except SshDataError as exc:
        return _bad("malformed", exc.message), None
    if signature.namespace != namespace:
        why = f"made for namespace {signature.namespace[:80]!r}, not {namespace!r}"
        return _bad("wrong-namespace", why, signature), None
    if signature.hash_algorithm not in HASHES:
        why = f"hash algorithm {signature.hash_algorithm[:40]!r} is not sha256 or sha512"
        return _bad("unsupported", why, signature), None
    key = signature.public_key
    data = signed_data(namespace, signature.hash_algorithm, message)
    try:
        holds, sk = _verify(key_material(key.blob), signature.signature, data)
    except SshDataError as exc:
        return _bad("malformed", exc.message, signature), None
    if not holds:
        return _bad("bad-signature", "the signature does not match the message", signature), None
    verdict = Verdict(
        True,
        "good",
        f"good signature by {key.algorithm} key {key.fingerprint}",
        namespace,
        key.algorithm,
        key.fingerprint,
        user_present=None if sk is None else bool(sk[0] & USER_PRESENT),
        user_verified=None if sk is None else bool(sk[0] & USER_VERIFIED),
        counter=None if sk is None else sk[1],
    )
    return verdict, signature


def _verify(key: KeyMaterial, signature: bytes, data: bytes) -> tuple[bool, tuple[int, int] | None]:
    """Whether the key type's signature over ``data`` holds, and a security key's (flags,
    counter). A malformed signature is an SshDataError."""
    try:
        from cryptography.exceptions import InvalidSignature
    except ImportError:  # pragma: no cover - a declared dependency
        raise SshDataError(
            "verifying a signature needs the cryptography package",
            hint="reinstall sdd with its dependencies",
        ) from None
    wire = Wire(signature, "signature")
    kind = wire.text()
    expected = RSA_SIGNATURES if key.algorithm == RSA else (key.algorithm,)
    if kind not in expected:
        raise wire.fail(f"a {kind[:60]} signature from a {key.algorithm} key is not accepted")
    body = wire.string()
    sk = (wire.u8(), wire.u32()) if key.algorithm in (SK_ED25519, SK_ECDSA) else None
    wire.end()
    if sk is not None:  # PROTOCOL.u2f: the authenticator signs its own envelope of the data
        envelope = (
            hashlib.sha256((key.application or "").encode()).digest()
            + struct.pack(">BI", *sk)
            + hashlib.sha256(data).digest()
        )
        data = envelope
    try:
        _check(key, kind, body, data)
    except (InvalidSignature, ValueError):
        return False, sk
    return True, sk


# The library's Ed25519 keys by their bytes: the same few keys check every act of a history.
_ED25519: dict[bytes, Any] = {}


def _check(key: KeyMaterial, kind: str, body: bytes, data: bytes) -> None:
    """Raises InvalidSignature (or ValueError for a key the library refuses) unless
    ``body`` is ``key``'s signature of ``data``."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

    if key.algorithm in (ED25519, SK_ED25519):
        if len(body) != 64:
            raise ValueError("an Ed25519 signature is 64 bytes")
        public = _ED25519.get(key.public)
        if public is None:
            public = ed25519.Ed25519PublicKey.from_public_bytes(key.public)
            if len(_ED25519) >= 256:
                _ED25519.clear()
            _ED25519[key.public] = public
        public.verify(body, data)
    elif key.algorithm == RSA:
        public = rsa.RSAPublicNumbers(key.rsa_e, key.rsa_n).public_key()
        size = (key.rsa_n.bit_length() + 7) // 8
        if len(body) > size:
            raise ValueError("an RSA signature longer than its key")
        digest = hashes.SHA256() if kind == "rsa-sha2-256" else hashes.SHA512()
        public.verify(body.rjust(size, b"\0"), data, padding.PKCS1v15(), digest)
    else:
        wire = Wire(body, "ECDSA signature")
        r, s = wire.mpint(), wire.mpint()
        wire.end()
        curve, digest_of = {
            "nistp256": (ec.SECP256R1(), hashes.SHA256()),
            "nistp384": (ec.SECP384R1(), hashes.SHA384()),
            "nistp521": (ec.SECP521R1(), hashes.SHA512()),
        }[key.curve]
        point = ec.EllipticCurvePublicKey.from_encoded_point(curve, key.public)
        point.verify(utils.encode_dss_signature(r, s), data, ec.ECDSA(digest_of))

"""SSH public keys as OpenSSH writes them: the wire form (RFC 4253 strings and mpints), the
one-line form (``ssh-ed25519 AAAA… comment``) and the SHA256 fingerprint ``ssh-keygen -l``
prints. No cryptography here: reading a key never loads a crypto library.

The key types are the ones a person can sign with (PROTOCOL.sshsig, PROTOCOL.u2f):
ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa, and the FIDO security-key types.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct

from sdd.core.errors import SddError
from sdd.core.jsonable import OMIT
from sdd.core.structs import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

ED25519 = "ssh-ed25519"
RSA = "ssh-rsa"
SK_ED25519 = "sk-ssh-ed25519@openssh.com"
SK_ECDSA = "sk-ecdsa-sha2-nistp256@openssh.com"
# Each ECDSA key type, its curve's name inside the key, and the length of a point on it
# (uncompressed: 0x04, x, y; the only form OpenSSH reads).
ECDSA_CURVES = {
    "ecdsa-sha2-nistp256": ("nistp256", 65),
    "ecdsa-sha2-nistp384": ("nistp384", 97),
    "ecdsa-sha2-nistp521": ("nistp521", 133),
}
KEY_TYPES = (ED25519, *ECDSA_CURVES, RSA, SK_ED25519, SK_ECDSA)
# OpenSSH's own limits: RSA keys below 1024 bits are refused; no bignum beyond 16384 bits.
RSA_MIN_BITS = 1024
MAX_BIGNUM_BYTES = 16384 // 8


class SshDataError(SddError):
    """SSH data that sdd cannot use: a key, a signature or an allowed-signers file that is
    not well formed, of a kind sdd does not accept, or cannot be read."""

    kind = "ssh-data"


class Wire:
    """Reads RFC 4253 data types from bytes; running short is an SshDataError."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def fail(self, problem: str) -> SshDataError:
        return SshDataError(f"{self.what}: {problem}")

    def take(self, count: int) -> bytes:
        if count > len(self.data) - self.pos:
            raise self.fail("ends too early")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def string(self) -> bytes:
        return self.take(self.u32())

    def text(self) -> str:
        """A string that holds text: no NUL (as OpenSSH's C strings), UTF-8."""
        raw = self.string()
        if b"\0" in raw:
            raise self.fail("a name holds a NUL byte")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("a name is not UTF-8") from None

    def mpint(self) -> int:
        """A positive bignum; leading zero bytes are allowed (OpenSSH trims them)."""
        raw = self.string()
        if raw and raw[0] & 0x80:
            raise self.fail("a number is negative")
        if len(raw) > MAX_BIGNUM_BYTES + 1:
            raise self.fail("a number is too large")
        return int.from_bytes(raw, "big")

    def end(self) -> None:
        if self.pos != len(self.data):
            raise self.fail("has trailing data")


def put_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def put_mpint(value: int) -> bytes:
    return put_string(value.to_bytes((value.bit_length() + 8) // 8, "big") if value else b"")


@dataclass(frozen=True)
class KeyMaterial:
    """What a public key is made of, as the verifier needs it."""

    algorithm: str
    public: bytes = b""  # the Ed25519 key, or the EC point; empty for RSA
    rsa_e: int = 0
    rsa_n: int = 0
    application: str | None = None  # security keys: the FIDO application, usually "ssh:"

    @property
    def curve(self) -> str:
        plain = "ecdsa-sha2-nistp256" if self.algorithm == SK_ECDSA else self.algorithm
        return ECDSA_CURVES[plain][0]

    def encode(self) -> bytes:
        """The canonical wire form (what OpenSSH fingerprints and compares)."""
        out = put_string(self.algorithm.encode())
        if self.algorithm == RSA:
            return out + put_mpint(self.rsa_e) + put_mpint(self.rsa_n)
        if self.algorithm in (ED25519, SK_ED25519):
            out += put_string(self.public)
        else:
            out += put_string(self.curve.encode()) + put_string(self.public)
        if self.application is not None:
            out += put_string(self.application.encode())
        return out


def read_key(wire: Wire) -> KeyMaterial:
    """One public key's fields from ``wire`` (which may hold more after it)."""
    algorithm = wire.text()
    if algorithm == RSA:
        e, n = wire.mpint(), wire.mpint()
        if not RSA_MIN_BITS <= n.bit_length() <= MAX_BIGNUM_BYTES * 8:
            raise wire.fail(f"an RSA key of {n.bit_length()} bits (at least {RSA_MIN_BITS})")
        return KeyMaterial(algorithm, rsa_e=e, rsa_n=n)
    if algorithm in (ED25519, SK_ED25519):
        public = wire.string()
        if len(public) != 32:
            raise wire.fail("an Ed25519 key is not 32 bytes")
    elif algorithm in ECDSA_CURVES or algorithm == SK_ECDSA:
        plain = "ecdsa-sha2-nistp256" if algorithm == SK_ECDSA else algorithm
        curve, size = ECDSA_CURVES[plain]
        if wire.text() != curve:
            raise wire.fail(f"the curve does not match {algorithm}")
        public = wire.string()
        if len(public) != size or public[0] != 4:
            raise wire.fail("the EC point is not an uncompressed point on its curve")
    else:
        raise wire.fail(f"key type {algorithm[:60]!r} is not accepted")
    application = wire.text() if algorithm in (SK_ED25519, SK_ECDSA) else None
    return KeyMaterial(algorithm, public, application=application)


def key_material(blob: bytes) -> KeyMaterial:
    found = _MATERIALS.get(blob)
    if found is None:
        wire = Wire(blob, "public key")
        found = read_key(wire)
        wire.end()
        _remember(_MATERIALS, blob, found)
    return found


# What a key's bytes read as, and its fingerprint: the same few keys sign every act of a
# history, and each check reads its key again. Pure functions of the bytes, so kept, for a
# bounded number of keys (a key that does not read is not kept: it raises each time).
_MATERIALS: dict[bytes, KeyMaterial] = {}
_FINGERPRINTS: dict[bytes, str] = {}
_KEPT = 256


def _remember(memo: dict[bytes, Any], blob: bytes, value: Any) -> None:
    if len(memo) >= _KEPT:
        memo.clear()
    memo[blob] = value


@dataclass(frozen=True)
class PublicKey:
    """A public key: its type, its canonical wire form, and the comment of its line."""

    JSON_EXTRA: ClassVar[tuple[str, ...]] = ("fingerprint", "openssh")

    algorithm: str
    blob: bytes = field(metadata=OMIT)
    comment: str = field(default="", compare=False)

    @property
    def fingerprint(self) -> str:
        """As `ssh-keygen -l` prints it: SHA256, base64 without padding."""
        found = _FINGERPRINTS.get(self.blob)
        if found is None:
            digest = base64.b64encode(hashlib.sha256(self.blob).digest()).decode()
            found = "SHA256:" + digest.rstrip("=")
            _remember(_FINGERPRINTS, self.blob, found)
        return found

    @property
    def is_security_key(self) -> bool:
        return self.algorithm in (SK_ED25519, SK_ECDSA)

    @property
    def openssh(self) -> str:
        """The one-line form, without the comment: ``ssh-ed25519 AAAA…``."""
        return f"{self.algorithm} {base64.b64encode(self.blob).decode()}"


def public_key_from_blob(blob: bytes, comment: str = "") -> PublicKey:
    material = key_material(blob)
    return PublicKey(material.algorithm, material.encode(), comment)


def parse_public_key(line: str) -> PublicKey:
    """A key in OpenSSH's one-line form: ``TYPE BASE64 [COMMENT]``."""
    parts = line.strip().split(None, 2)
    if len(parts) < 2:
        raise SshDataError("a public key line is `TYPE BASE64 [COMMENT]`")
    algorithm, encoded = parts[0], parts[1]
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SshDataError(f"{algorithm[:60]} key: its base64 is not valid") from None
    key = public_key_from_blob(blob, parts[2].strip() if len(parts) > 2 else "")
    if key.algorithm != algorithm:
        raise SshDataError(f"the line says {algorithm[:60]} but holds a {key.algorithm} key")
    return key

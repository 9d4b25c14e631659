"""SHA-256, as every hash sdd makes is computed.

hashlib loads OpenSSL, which costs about a third of a bare interpreter's start-up; the
interpreter's own SHA-256 module loads in a tenth of a millisecond and is as quick for the
few short hashes a small command makes. Past ``BULK`` bytes hashed in one process (a
whole history's records and segments), OpenSSL's, two to five times faster on such work,
takes over. Both compute the same SHA-256: which one ran never shows in a digest."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

BULK = 1 << 20  # bytes hashed in one process before OpenSSL's SHA-256 is worth its load

_hashed = 0
_openssl: dict[str, Callable[[bytes], Any]] = {}  # by name, once OpenSSL is worth loading
_own: dict[str, Callable[[bytes], Any] | None] = {}


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data``, in hex."""
    return _hex("sha256", data)


def blake2b_hex(data: bytes) -> str:
    """The BLAKE2b-256 of ``data``, in hex: for sdd's own caches (the checkpoint's parts
    and what it covers of the history), never for what the history records. The
    interpreter's own BLAKE2b is three times quicker than its own SHA-256 and needs no
    OpenSSL."""
    global _blake2b
    if _blake2b is None:
        try:
            _blake2b = __import__("_blake2").blake2b  # the builtin: no importlib to load
        except ImportError:
            import hashlib

            _blake2b = hashlib.blake2b
    return str(_blake2b(data, digest_size=32).hexdigest())


_blake2b: Any = None


def sha1_hex(data: bytes) -> str:
    """The SHA-1 of ``data``, in hex: git's object ids (not for anything sdd decides alone)."""
    return _hex("sha1", data)


def sha256_for(size: int) -> Callable[[bytes], Any]:
    """A SHA-256 constructor for hashing about ``size`` bytes in a loop (the history's
    lines): OpenSSL's for bulk work, else the interpreter's own, so a small read loads no
    OpenSSL."""
    own = None if size >= BULK or _openssl else _own_of("sha256")
    if own is not None:
        return own
    import hashlib

    return hashlib.sha256


def _hex(name: str, data: bytes) -> str:
    global _hashed
    _hashed += len(data)
    if not _openssl and _hashed < BULK:
        own = _own_of(name)
        if own is not None:
            return str(own(data).hexdigest())
    if name not in _openssl:
        import hashlib

        _openssl[name] = getattr(hashlib, name)
    return str(_openssl[name](data).hexdigest())


# The interpreter's own modules, by the name each has had (``_sha2`` from 3.12), the name
# of this version first: a name that is not there costs a search of the whole sys.path.
_MODULES = {"sha256": ("_sha256", "_sha2"), "sha1": ("_sha1",)}
if __import__("sys").version_info >= (3, 12):
    _MODULES["sha256"] = ("_sha2", "_sha256")


def _own_of(name: str) -> Callable[[bytes], Any] | None:
    if name not in _own:
        _own[name] = _interpreters(name)
    return _own[name]


def _interpreters(name: str) -> Callable[[bytes], Any] | None:
    """The interpreter's own implementation of ``name``, if it was built with one."""
    for module_name in _MODULES[name]:
        try:
            module = __import__(module_name)  # the builtin: no importlib to load
        except ImportError:
            continue
        found: Callable[[bytes], Any] | None = getattr(module, name, None)
        if found is not None:
            return found
    return None

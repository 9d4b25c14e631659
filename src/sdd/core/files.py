"""Files: atomic writes (a temporary file in the same folder, fsync, then rename over the
target), reading text, and the content hash every approval and cache key uses."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os

from sdd.core.errors import StateError


def write_atomic(path: str, data: str | bytes, *, display: str | None = None) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never half."""
    payload = data.encode() if isinstance(data, str) else data
    folder = os.path.dirname(path) or "."
    name = display or path
    try:
        os.makedirs(folder, exist_ok=True)
        if os.path.islink(path):
            raise StateError(f"{name}: is a symbolic link; sdd does not write through links")
        import tempfile  # here: ~5 ms to import, and most commands that load this write nothing

        fd, temp = tempfile.mkstemp(prefix=".sdd-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise StateError(f"{name}: cannot write ({reason(exc)}); nothing was changed") from None
    try:
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise StateError(f"{name}: cannot write ({reason(exc)}); nothing was changed") from None


def _mode_for(path: str) -> int:
    """Keep an existing file's mode; a new file gets the usual 0666 less the umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        mask = os.umask(0o022)
        os.umask(mask)
        return 0o666 & ~mask


def reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "the folder is read-only"
    return exc.strerror or str(exc)


def read_text(path: str) -> str | None:
    """The file's text, or None when it does not exist."""
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        return None


def normalise(data: bytes) -> bytes:
    """Line endings normalised, so a CRLF checkout does not turn approvals stale."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(normalise(data)).hexdigest()


def content_hash(path: str) -> str | None:
    """The normalised content hash of a file, or None when it is missing."""
    try:
        with open(path, "rb") as handle:
            return hash_bytes(handle.read())
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None

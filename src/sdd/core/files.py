"""Files: atomic writes (a temporary file, fsync, then rename over the target), reading
text, and the content hash every approval and cache key uses.

A temporary file never lands in the user's tree, where a crash would leave it to be
committed: inside a project it is written in `.sdd/tmp/` (git-ignored, on the same
filesystem, so the rename stays atomic), and stale ones are swept away by the next command
that writes. Outside a project (a dashboard page in the user's state folder) it sits next
to its target."""

from __future__ import annotations

import contextlib
import errno
import os

from sdd.core.digest import sha256_hex
from sdd.core.errors import StateError
from sdd.core.paths import STATE_DIR, TEMP_DIR

# A temporary file is named `<pid of its writer>-<random>.tmp`. It is stale once its writer
# is dead (and a moment has passed: a writer in another PID namespace may share the number),
# or once it is older than any write takes.
_DEAD_GRACE = 10.0
_STALE_AFTER = 300.0
IGNORE_ALL = "# sdd's temporary files: never committed (this file too).\n*\n"


def write_atomic(
    path: str, data: str | bytes, *, display: str | None = None, flush: bool = True
) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never half.
    ``flush=False``: without waiting for the disk, for derived files a reader checks against
    their names (the checkpoint's parts: a crash leaves only a file the reader rejects and
    rebuilds; a full fold writes hundreds, and a flush for each costs more than the fold)."""
    payload = data.encode() if isinstance(data, str) else data
    folder = os.path.dirname(path) or "."
    name = display or path
    try:
        os.makedirs(folder, exist_ok=True)
        if os.path.islink(path):
            raise StateError(f"{name}: is a symbolic link; sdd does not write through links")
        place = temp_folder(folder)
        try:
            _write_through(
                place or folder, path, payload, named_by_writer=place is not None, flush=flush
            )
        except OSError as exc:
            if place is None or exc.errno != errno.EXDEV:
                raise
            # The target is on another filesystem than .sdd/ (a mount inside the project):
            # a rename from .sdd/tmp/ cannot be atomic, so the temporary file goes beside it.
            _write_through(folder, path, payload, named_by_writer=False, flush=flush)
    except OSError as exc:
        raise StateError(f"{name}: cannot write ({reason(exc)}); nothing was changed") from None


def _write_through(
    place: str, path: str, payload: bytes, *, named_by_writer: bool, flush: bool = True
) -> None:
    """Write ``payload`` to a new temporary file in ``place``, then rename it over ``path``.
    In `.sdd/tmp/` the name starts with the writer's pid, so a sweep can tell it is stale."""
    prefix = f"{os.getpid()}-" if named_by_writer else ".sdd-"
    fd, temp = _new_temp(place, prefix)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), _mode_for(path))
            handle.write(payload)
            if flush:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _new_temp(place: str, prefix: str) -> tuple[int, str]:
    """A new file ``<prefix><random>.tmp`` in ``place``, created as `tempfile.mkstemp` creates
    one (exclusively, not through a link, private), without importing tempfile: with shutil
    and random it costs more than the rest of a small write."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        temp = os.path.join(place, f"{prefix}{os.urandom(6).hex()}.tmp")
        try:
            return os.open(temp, flags, 0o600), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free name for a temporary file", place)


def _state_folder(folder: str) -> str | None:
    """The `.sdd/` folder of the project that holds ``folder``, or None outside any."""
    here = os.path.abspath(folder)
    while True:
        state = os.path.join(here, STATE_DIR)
        if os.path.isdir(state) and not os.path.islink(state):
            return state
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def temp_folder(folder: str) -> str | None:
    """The `.sdd/tmp/` of the project that holds ``folder`` (made on first use, with a
    `.gitignore` that ignores everything in it), or None outside any project."""
    state = _state_folder(folder)
    if state is None:
        return None
    place = os.path.join(state, TEMP_DIR)
    try:
        os.mkdir(place)
    except FileExistsError:
        pass
    else:
        with open(os.path.join(place, ".gitignore"), "w", encoding="utf-8") as handle:
            handle.write(IGNORE_ALL)
    if os.path.islink(place) or not os.path.isdir(place):
        return None  # not sdd's folder: never write through it
    return place


def sweep_temporary(place: str) -> None:
    """Remove the stale temporary files in ``place`` (a project's `.sdd/tmp/`): those a
    killed command left. Called by every command that writes, before it writes."""
    import time

    try:
        entries = list(os.scandir(place))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        if not entry.name.endswith(".tmp"):
            continue
        with contextlib.suppress(OSError):
            age = now - entry.stat(follow_symlinks=False).st_mtime
            writer = entry.name.partition("-")[0]
            if age > _STALE_AFTER or (age > _DEAD_GRACE and not _alive(writer)):
                os.unlink(entry.path)


def _alive(pid_text: str) -> bool:
    if not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process (or no answer): assume alive, let age decide
    return True


def can_write(path: str) -> bool:
    """Whether ``path`` can be written as far as permissions tell: its folder (or the
    nearest one that exists) and, inside a project, `.sdd/` where the temporary file goes.
    A read-only project or mount says no; the write itself still reports any other failure."""
    folder = os.path.dirname(os.path.abspath(path))
    state = _state_folder(folder)
    for place in (folder, *((state,) if state else ())):
        while not os.path.exists(place) and place != os.path.dirname(place):
            place = os.path.dirname(place)
        if not os.access(place, os.W_OK | os.X_OK):
            return False
    return True


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
    return sha256_hex(normalise(data))


def content_hash(path: str) -> str | None:
    """The normalised content hash of a file, or None when it is missing."""
    try:
        with open(path, "rb") as handle:
            return hash_bytes(handle.read())
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None

"""The one wrapper for child processes: argument lists, never a shell; explicit
environment; a timeout; clear errors for a missing executable."""

from __future__ import annotations

import contextlib
import os

from sdd.core.errors import ProcessError
from sdd.core.structs import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from typing import Any

    from sdd.system import proctree


@dataclass(frozen=True)
class Completed:
    """A child process that ended, with its text output."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def child_env(
    extra: Mapping[str, str] | None = None, *, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment a child gets: ours (or ``base``), plus ``extra``, stated explicitly."""
    env = dict(os.environ if base is None else base)
    if extra:
        env.update(extra)
    return env


def run_subprocess(
    args: Sequence[str],
    *,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    input_text: str | None = None,
    check: bool = False,
    terminal: bool = False,
) -> Completed:
    """Run ``args`` to completion and capture its output as text.

    Standard input is ``input_text``, else nothing. With ``terminal``, the child shares our
    standard input when it is a terminal, and our standard error, so that it can ask the
    person something there (ssh-keygen: a passphrase, a touch of a security key); only its
    standard output is captured then.
    """
    argv = tuple(args)
    if not argv:
        raise ProcessError("no command given")
    if terminal and input_text is not None:
        raise ValueError("a child reads either input_text or the terminal")
    child_environment = dict(env) if env is not None else child_env()
    if not terminal and _can_fork():
        code, out, err = _captured(
            argv,
            cwd,
            child_environment,
            timeout,
            None if input_text is None else input_text.encode("utf-8"),
        )
        result = Completed(argv, code, _text(out), _text(err))
        if check and code != 0:
            raise ProcessError(
                f"{' '.join(argv)} exited {code}",
                details=[line for line in result.stderr.strip().splitlines()[-5:]],
            )
        return result
    import subprocess  # here, not at the top: a command that runs no child pays nothing for it

    stdin: int | None = subprocess.DEVNULL
    if input_text is not None or (terminal and os.isatty(0)):
        stdin = None
    try:
        with _terminal_kept(terminal and stdin is None):
            proc = subprocess.run(
                argv,
                cwd=cwd,
                env=child_environment,
                input=input_text,
                stdout=subprocess.PIPE,
                stderr=None if terminal else subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=timeout,
                shell=False,
                stdin=stdin,
            )
    except FileNotFoundError:
        raise ProcessError(
            f"{argv[0]}: command not found",
            hint=f"install {argv[0]} or put it on PATH",
        ) from None
    except subprocess.TimeoutExpired:
        raise ProcessError(f"{' '.join(argv)}: no answer within {timeout:g} s") from None
    result = Completed(argv, proc.returncode, proc.stdout, proc.stderr or "")
    if check and proc.returncode != 0:
        raise ProcessError(
            f"{' '.join(argv)} exited {proc.returncode}",
            details=[line for line in result.stderr.strip().splitlines()[-5:]],
        )
    return result


@dataclass(frozen=True)
class CompletedBytes:
    """A child process that ended, with its output as bytes."""

    args: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: str


def run_bytes(
    args: Sequence[str],
    *,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    input_bytes: bytes | None = None,
) -> CompletedBytes:
    """Run ``args`` to completion with bytes in and out: what git prints of files and patches
    is the files' own bytes, which text decoding would change (`git cat-file`, `git patch-id`)."""
    argv = tuple(args)
    if not argv:
        raise ProcessError("no command given")
    if _can_fork():
        code, out, err = _captured(
            argv, cwd, dict(env) if env is not None else child_env(), timeout, input_bytes
        )
        return CompletedBytes(argv, code, out, err.decode("utf-8", "replace"))
    import subprocess

    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env) if env is not None else child_env(),
            input=input_bytes,
            stdin=subprocess.DEVNULL if input_bytes is None else None,
            capture_output=True,
            timeout=timeout,
            shell=False,
        )
    except FileNotFoundError:
        raise ProcessError(
            f"{argv[0]}: command not found", hint=f"install {argv[0]} or put it on PATH"
        ) from None
    except subprocess.TimeoutExpired:
        raise ProcessError(f"{' '.join(argv)}: no answer within {timeout:g} s") from None
    return CompletedBytes(
        argv, proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace")
    )


def _can_fork() -> bool:
    """Whether a child may be started by fork and exec here rather than by ``subprocess``.
    Importing ``subprocess`` (with ``threading``, ``selectors``, ``signal`` …) costs a command
    about half a bare interpreter's start, and most commands run only git. A process with
    threads (the MCP server, the web view) uses ``subprocess``: forking one is unsafe."""
    import sys

    return os.name == "posix" and "threading" not in sys.modules


def _text(data: bytes) -> str:
    """Output as ``subprocess`` gives it in text mode: UTF-8 (undecodable bytes replaced),
    universal newlines."""
    return data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")


def _captured(
    argv: tuple[str, ...],
    cwd: str | None,
    env: dict[str, str],
    timeout: float,
    input_bytes: bytes | None,
) -> tuple[int, bytes, bytes]:
    """Run ``argv`` (found on ``env``'s PATH as ``subprocess`` finds it) with ``input_bytes``
    (else nothing) as its standard input; its exit status and output. What ``subprocess.run``
    does for a captured child: its own standard streams, the signals Python ignores reset,
    nothing else inherited (Python's descriptors are close-on-exec), killed at ``timeout``."""
    import errno
    import select
    import time

    # The C module under ``signal``: the Python one builds its enums on import (a
    # millisecond), and this needs three numbers and one call.
    signal: Any = __import__("_signal")

    if os.path.dirname(argv[0]):
        candidates = [argv[0]]
    else:
        candidates = [os.path.join(d, argv[0]) for d in os.get_exec_path(env)]
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    in_r, in_w = os.pipe() if input_bytes is not None else (-1, -1)
    failed_r, failed_w = os.pipe()  # close-on-exec: empty at EOF when the exec succeeded
    pid = os.fork()
    if pid == 0:  # the child: nothing here may return into the parent's code
        try:
            if cwd is not None:
                os.chdir(cwd)
            os.dup2(in_r if in_r >= 0 else os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for ignored in (signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(ignored, signal.SIG_DFL)
            error = 0  # as execvp: the first error that is not "no such file" wins
            for candidate in candidates:
                try:
                    os.execve(candidate, list(argv), env)
                except OSError as exc:
                    if exc.errno not in (errno.ENOENT, errno.ENOTDIR) and not error:
                        error = exc.errno or errno.EIO
            os.write(failed_w, str(error or errno.ENOENT).encode())
        except OSError as exc:
            os.write(failed_w, str(exc.errno or errno.EIO).encode())
        finally:
            os._exit(255)
    for fd in (out_w, err_w, failed_w, in_r):
        if fd >= 0:
            os.close(fd)
    failure, reaped = None, False
    try:
        with os.fdopen(failed_r, "rb") as handle:
            failure = handle.read()
        if failure:
            os.waitpid(pid, 0)
            number = int(failure)
            if number in (errno.ENOENT, errno.ENOTDIR):  # as subprocess's FileNotFoundError
                raise ProcessError(
                    f"{argv[0]}: command not found", hint=f"install {argv[0]} or put it on PATH"
                )
            raise OSError(number, os.strerror(number), argv[0])
        chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
        pending = memoryview(input_bytes) if input_bytes is not None else None
        poller = select.poll()
        poller.register(out_r, select.POLLIN)
        poller.register(err_r, select.POLLIN)
        if in_w >= 0:
            if pending:
                poller.register(in_w, select.POLLOUT)
            else:
                os.close(in_w)
                in_w = -1
        deadline = time.monotonic() + timeout
        open_fds = 2 + (in_w >= 0)
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProcessError(f"{' '.join(argv)}: no answer within {timeout:g} s")
            for fd, event in poller.poll(left * 1000):
                if fd == in_w:
                    try:
                        assert pending is not None
                        pending = pending[os.write(in_w, pending[:65536]) :]
                    except BrokenPipeError:
                        pending = pending[:0] if pending is not None else None
                    if not pending:
                        poller.unregister(in_w)
                        os.close(in_w)
                        in_w = -1
                        open_fds -= 1
                    continue
                data = os.read(fd, 65536) if event & (select.POLLIN | select.POLLHUP) else b""
                if data:
                    chunks[fd].append(data)
                else:
                    poller.unregister(fd)
                    open_fds -= 1
        _, status = os.waitpid(pid, 0)
        reaped = True
        return os.waitstatus_to_exitcode(status), b"".join(chunks[out_r]), b"".join(chunks[err_r])
    finally:
        if not failure and not reaped:  # a timeout, Ctrl-C: the child does not outlive it
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        for fd in (out_r, err_r, in_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)


@contextlib.contextmanager
def _terminal_kept(shared: bool) -> Iterator[None]:
    """Restores the terminal's settings afterwards: a child killed at a passphrase prompt
    (timeout, Ctrl-C) would leave echo off."""
    if not shared:
        yield
        return
    import termios

    saved = termios.tcgetattr(0)
    try:
        yield
    finally:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(0, termios.TCSADRAIN, saved)


@dataclass(frozen=True)
class Launched:
    """How a long-running child (an agent) ended."""

    returncode: int | None
    interrupted: bool  # Ctrl-C (or SIGINT/SIGTERM to sdd) ended it
    timed_out: bool
    seconds: float


def which(name: str, path: str | None = None) -> str | None:
    """``shutil.which(name, path=path)``, as it searches on POSIX, without importing shutil
    (with bz2 and lzma, a few milliseconds: each `sdd verify` and `sdd run` asks)."""
    if os.name != "posix":
        import shutil

        return shutil.which(name, path=path)
    if os.path.dirname(name):
        return name if _runnable(name) else None
    if path is None:
        path = os.environ.get("PATH", os.defpath)
    if not path:
        return None
    seen = set()
    for folder in path.split(os.pathsep):
        if folder not in seen:
            seen.add(folder)
            candidate = os.path.join(folder, name)
            if _runnable(candidate):
                return candidate
    return None


def _runnable(path: str) -> bool:
    return os.path.exists(path) and os.access(path, os.X_OK) and not os.path.isdir(path)


def resolve_executable(name: str, env: Mapping[str, str]) -> str:
    found = which(name, path=env.get("PATH", os.defpath))
    if found is None:
        raise ProcessError(
            f"{name}: command not found on PATH", hint=f"install {name}, or choose another agent"
        )
    return found


def _group_alive(pgid: int, listing: list[proctree.Proc]) -> bool:
    """Whether any process of the group still runs. Zombies do not count: an orphan that
    ended waits for its reaper, which may take a while in a container."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not listing:
        return True  # no /proc: the group answered
    return any(p.pgid == pgid and not p.ended for p in listing)


def _reap_orphans(listing: list[proctree.Proc], keep: int | None) -> None:
    """Reap the ended processes reparented to us (we are their subreaper); ``keep`` (the
    agent) is left to its Popen, which keeps its exit code."""
    me = os.getpid()
    for proc in listing:
        if proc.ppid == me and proc.ended and proc.pid != keep:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(proc.pid, os.WNOHANG)


def end_tree(group: int | None, *, grace: float = 2.0) -> None:
    """End the process group ``group`` (the agent's, led by our child ``group``) and every
    descendant of ours, found by walking /proc again and again until none is left: SIGTERM,
    a grace period, then SIGKILL. Process groups alone are not enough (``setsid`` leaves the
    group); as the subreaper we are the ancestor of whatever the agent left behind, and of
    nothing else: we run nothing else meanwhile. Without /proc (macOS), only the group.
    No survivor."""
    import signal
    import time

    from sdd.system import proctree

    me = os.getpid()
    for sig, seconds in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        if group is not None:
            with contextlib.suppress(OSError):
                os.killpg(group, sig)
        signalled: set[tuple[int, int]] = set()
        deadline = time.monotonic() + seconds
        while True:
            listing = proctree.processes()
            _reap_orphans(listing, group)
            live = [p for p in proctree.descendants(me, listing) if not p.ended]
            if not live and (group is None or not _group_alive(group, listing)):
                return
            for proc in live:
                if sig == signal.SIGTERM and (proc.pid, proc.start) in signalled:
                    continue  # one SIGTERM each; SIGKILL until it is gone
                signalled.add((proc.pid, proc.start))
                with contextlib.suppress(OSError):
                    os.kill(proc.pid, sig)
                    if sig == signal.SIGTERM:
                        os.kill(proc.pid, signal.SIGCONT)  # a stopped process gets it too
            if time.monotonic() >= deadline:
                break
            time.sleep(0.02)


def _ignore(signum: int, frame: object) -> None:
    pass


def _wait(proc: subprocess.Popen[bytes], timeout: float | None) -> bool:
    """Wait for the agent to exit; True when ``timeout`` struck first. Meanwhile, reap the
    orphans reparented to us, so a long session does not pile up zombies."""
    import subprocess
    import time

    from sdd.system import proctree

    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        step = 1.0 if deadline is None else min(1.0, max(0.0, deadline - time.monotonic()))
        try:
            proc.wait(timeout=step)
            return False
        except subprocess.TimeoutExpired:
            if deadline is not None and time.monotonic() >= deadline:
                return True
            _reap_orphans(proctree.processes(), proc.pid)


def _give_terminal(fd: int, pgid: int) -> None:
    import signal

    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(fd, pgid)
    except OSError:
        pass
    finally:
        signal.signal(signal.SIGTTOU, previous)


def launch(
    args: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    interactive: bool,
    timeout: float | None = None,
    stdin_text: str | None = None,
    log_path: str | None = None,
    on_start: Callable[[int], None] | None = None,
) -> Launched:
    """Run an agent (or a check) in its own process group until it exits, times out or is
    interrupted; then end everything it started.

    Interactive: the agent gets the terminal (its group becomes the foreground group, so
    Ctrl-C reaches it, not us); afterwards we take the terminal back and restore its
    settings. Headless: standard input is the brief (or nothing) and everything the
    agent prints goes to ``log_path``. On Linux we are the subreaper of the agent's tree,
    so whatever it leaves behind stays our descendant; at the end :func:`end_tree` ends
    them all (elsewhere, only its process group). SIGTERM and SIGHUP to us end it as
    Ctrl-C does.
    """
    import signal
    import subprocess
    import threading
    import time

    from sdd.system import proctree  # /proc walks: only for a launch, not for git's calls

    argv = [resolve_executable(args[0], env), *args[1:]]
    tty_fd = 0 if interactive and os.isatty(0) else None
    saved_tty = None
    if tty_fd is not None:
        import termios

        saved_tty = termios.tcgetattr(tty_fd)
    proctree.become_subreaper()  # Linux; elsewhere the process group is all we have
    log = open(log_path, "ab") if log_path else None  # noqa: SIM115 - closed in finally
    started = time.monotonic()
    interrupted = timed_out = False
    proc: subprocess.Popen[bytes] | None = None
    ending = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous: dict[int, Any] = {sig: signal.getsignal(sig) for sig in ending}

    def hold() -> None:
        # From the first one on, and while the session's processes are being ended: a
        # second Ctrl-C, or a stream of signals from the agent's helpers, cannot cut the
        # ending short. A handler that does nothing rather than SIG_IGN: Python reports a
        # signal that arrives as SIG_IGN is set ("ignored due to race condition").
        for sig in ending:
            if previous[sig] != signal.SIG_IGN:
                signal.signal(sig, _ignore)

    def on_signal(signum: int, frame: object) -> None:
        hold()
        raise KeyboardInterrupt

    try:
        for sig in ending:
            if previous[sig] != signal.SIG_IGN:  # ignored (nohup, a background job) stays so
                signal.signal(sig, on_signal)
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE
            if stdin_text is not None
            else (None if interactive else subprocess.DEVNULL),
            stdout=log if log else None,
            stderr=subprocess.STDOUT if log else None,
            process_group=0,
        )
        if on_start is not None:
            on_start(proc.pid)  # its process group: what a later cleanup may have to end
        if tty_fd is not None:
            _give_terminal(tty_fd, proc.pid)
        if stdin_text is not None and proc.stdin is not None:
            pipe = proc.stdin

            def feed() -> None:
                try:
                    pipe.write(stdin_text.encode())
                    pipe.close()
                except OSError:
                    pass  # the agent closed its input early; what it read is its business

            threading.Thread(target=feed, daemon=True).start()
        try:
            timed_out = _wait(proc, timeout)
        except KeyboardInterrupt:
            interrupted = True
    except FileNotFoundError:
        raise ProcessError(f"{args[0]}: command not found", hint=f"install {args[0]}") from None
    finally:
        hold()
        try:
            # Without ``proc`` (interrupted while starting it) there may be a child all
            # the same: as its subreaper we find it by the tree.
            end_tree(proc.pid if proc is not None else None)
            if proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
            if tty_fd is not None:
                _give_terminal(tty_fd, os.getpgrp())
                if saved_tty is not None:
                    import termios

                    termios.tcsetattr(tty_fd, termios.TCSADRAIN, saved_tty)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            if log:
                log.close()
    code = proc.returncode if proc is not None else None
    if code is not None and code in (-signal.SIGINT, 130) and not timed_out:
        interrupted = True
    return Launched(code, interrupted, timed_out, time.monotonic() - started)


def spawn(
    args: Sequence[str], *, cwd: str, env: Mapping[str, str], log_path: str
) -> subprocess.Popen[bytes]:
    """Start a child that runs alongside us (one `sdd` worker per parallel session): no
    input, its output to ``log_path``; the caller polls it and ends it (``os.kill``)."""
    import subprocess

    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(args),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def die_with_parent(parent: int) -> None:
    """Linux: SIGTERM this process when ``parent`` ends (a `sdd run --parallel` killed
    outright): its agent is then ended as Ctrl-C ends it. Elsewhere, nothing."""
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it ended before the request was made
        os.kill(os.getpid(), signal.SIGTERM)

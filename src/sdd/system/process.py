"""The one wrapper for child processes: argument lists, never a shell; explicit
environment; a timeout; clear errors for a missing executable."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from sdd.core.errors import ProcessError


@dataclass(frozen=True)
class Completed:
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
    stdin: int | None = subprocess.DEVNULL
    if input_text is not None or (terminal and os.isatty(0)):
        stdin = None
    try:
        with _terminal_kept(terminal and stdin is None):
            proc = subprocess.run(
                argv,
                cwd=cwd,
                env=dict(env) if env is not None else child_env(),
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


def resolve_executable(name: str, env: Mapping[str, str]) -> str:
    import shutil

    found = shutil.which(name, path=env.get("PATH", os.defpath))
    if found is None:
        raise ProcessError(
            f"{name}: command not found on PATH", hint=f"install {name}, or choose another agent"
        )
    return found


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs. Zombies do not count: an orphan that
    ended waits for init to reap it, which may take a while in a container."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read().decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def end_group(pgid: int, *, grace: float = 2.0) -> None:
    """End every process of a group: SIGTERM, a grace period, then SIGKILL. No survivor."""
    import signal
    import time

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not _group_alive(pgid):
                return
            time.sleep(0.02)


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
) -> Launched:
    """Run an agent in its own process group until it exits, times out or is interrupted.

    Interactive: the agent gets the terminal (its group becomes the foreground group, so
    Ctrl-C reaches it, not us); afterwards we take the terminal back and restore its
    settings. Headless: standard input is the brief (or nothing) and everything the
    agent prints goes to ``log_path``. Either way its whole group is ended at the end.
    """
    import signal
    import threading
    import time

    argv = [resolve_executable(args[0], env), *args[1:]]
    tty_fd = 0 if interactive and os.isatty(0) else None
    saved_tty = None
    if tty_fd is not None:
        import termios

        saved_tty = termios.tcgetattr(tty_fd)
    log = open(log_path, "ab") if log_path else None  # noqa: SIM115 - closed in finally
    started = time.monotonic()
    interrupted = timed_out = False
    proc: subprocess.Popen[bytes] | None = None
    previous_term = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, on_term)
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
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        except KeyboardInterrupt:
            interrupted = True
    except FileNotFoundError:
        raise ProcessError(f"{args[0]}: command not found", hint=f"install {args[0]}") from None
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        if proc is not None:
            end_group(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        if tty_fd is not None:
            _give_terminal(tty_fd, os.getpgrp())
            if saved_tty is not None:
                import termios

                termios.tcsetattr(tty_fd, termios.TCSADRAIN, saved_tty)
        if log:
            log.close()
    code = proc.returncode if proc is not None else None
    if code is not None and code in (-signal.SIGINT, 130) and not timed_out:
        interrupted = True
    return Launched(code, interrupted, timed_out, time.monotonic() - started)

"""The one wrapper for child processes: argument lists, never a shell; explicit
environment; a timeout; clear errors for a missing executable."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sdd.errors import ProcessError


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
) -> Completed:
    """Run ``args`` to completion and capture its output as text."""
    argv = tuple(args)
    if not argv:
        raise ProcessError("no command given")
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env) if env is not None else child_env(),
            input=input_text,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            shell=False,
            stdin=None if input_text is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise ProcessError(
            f"{argv[0]}: command not found",
            hint=f"install {argv[0]} or put it on PATH",
        ) from None
    except subprocess.TimeoutExpired:
        raise ProcessError(f"{' '.join(argv)}: no answer within {timeout:g} s") from None
    result = Completed(argv, proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise ProcessError(
            f"{' '.join(argv)} exited {proc.returncode}",
            details=[line for line in proc.stderr.strip().splitlines()[-5:]],
        )
    return result

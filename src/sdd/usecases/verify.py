"""`sdd verify`: the project's checks, run by sdd itself and recorded as evidence.

Checks come from ``[[verify.checks]]`` in the config; when it names none, sensible
defaults are detected from the project's files and shown (``project.checks``). The checks
run are those in force (``project.rules``), and the run records their fingerprint: its
evidence counts only while they are the checks in force. No checks is never green.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from sdd.core import clock
from sdd.core.digest import sha256_hex
from sdd.core.errors import NothingToVerify, ProcessError
from sdd.core.jsonable import to_json
from sdd.core.structs import dataclass, field
from sdd.project.checks import CheckSpec
from sdd.project.checks import parse as parse_checks
from sdd.system import gitrepo, process

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import ClassVar

    from sdd.project.project import Project

CONFIG_HINT = """add checks to .sdd/config.toml, e.g.:
[[verify.checks]]
name = "tests"
command = ["python3", "-m", "pytest", "-q"]
timeout = 900"""


@dataclass
class CheckRun:
    """One check of a verify run, as it ran."""

    name: str
    command: list[str]
    exit_code: int | None
    timed_out: bool
    seconds: float
    log: str
    log_sha256: str

    JSON_EXTRA: ClassVar[tuple[str, ...]] = ("passed",)

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass
class Result:
    """A verify run: the code it ran on and each check's run."""

    head: str | None
    clean: bool
    dirty: list[str]
    detected: bool
    checks: list[CheckRun] = field(default_factory=list)
    # The code it ran on (``gitrepo.code_key``): its evidence holds while the code is this.
    code: str | None = None

    JSON_EXTRA: ClassVar[tuple[str, ...]] = ("ok",)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)


def configured(project: Project) -> list[CheckSpec] | None:
    """The checks the config names (None: it has no ``[verify]`` table), whether in force or not."""
    return parse_checks(project.config.raw.get("verify"), project.paths.rel(project.paths.config))


def checks_for(project: Project) -> tuple[list[CheckSpec], bool]:
    """The checks in force, and whether detection found them. A config edit that weakens the
    accepted checks is not among them until a person accepts it (`sdd rules accept`)."""
    in_force = project.rules
    return list(in_force.checks), in_force.detected


Progress = Callable[[str, CheckSpec | None, CheckRun | None], None]


def run(
    project: Project, *, progress: Progress | None = None, dirty: Iterable[str] | None = None
) -> Result:
    """Run the checks in force and record the run. ``dirty``: the uncommitted files, when the
    caller has just asked git and nothing ran since."""
    in_force = project.rules
    specs, detected = list(in_force.checks), in_force.detected
    root = project.paths.root
    if not specs:
        raise NothingToVerify(
            "nothing to verify: no checks are configured and none were detected "
            "(no checks is never green)",
            hint=CONFIG_HINT,
        )
    stamp = clock.iso(clock.now()).replace(":", "").replace("-", "")
    # One folder per run, even for runs within the same second: a log is evidence.
    folder = os.path.join(project.paths.logs, "verify", f"{stamp}-{os.urandom(3).hex()}")
    result = run_checks(
        root, specs, detected, folder, project.paths.rel, progress=progress, dirty=dirty
    )
    with project.transaction() as tx:
        cycle = tx.state.latest_cycle()
        open_session = project.open_session(cycle) if cycle else None
        tx.record(
            "verify.run",
            cycle=cycle.number if cycle else None,
            session=open_session.id if open_session else None,
            checks_fingerprint=in_force.checks_fingerprint,
            **to_json(result),
        )
    return result


def run_checks(
    root: str,
    specs: list[CheckSpec],
    detected: bool,
    folder: str,
    shown: Callable[[str], str],
    *,
    progress: Progress | None = None,
    dirty: Iterable[str] | None = None,
) -> Result:
    """Run ``specs`` in ``root``, each one's output logged in ``folder`` (named by ``shown``
    in the result); nothing is recorded (`sdd ci check --verify` runs the base's checks so)."""
    head = gitrepo.head(root)
    dirty = sorted(gitrepo.dirty(root) if dirty is None else dirty)
    os.makedirs(folder, exist_ok=True)
    result = Result(head, not dirty, dirty, detected, code=gitrepo.code_key(root))
    env = process.child_env({"SDD_VERIFY": "1"})
    for index, spec in enumerate(specs, start=1):
        if progress:
            progress("start", spec, None)
        log = os.path.join(folder, f"{index:02d}-{_safe(spec.name)}.log")
        with open(log, "wb") as handle:
            handle.write(f"$ {' '.join(spec.command)}\n".encode())
        try:
            ended = process.launch(
                list(spec.command),
                cwd=root,
                env=env,
                interactive=False,
                timeout=spec.timeout,
                log_path=log,
            )
            code, timed_out, seconds = ended.returncode, ended.timed_out, ended.seconds
            if ended.interrupted:
                raise KeyboardInterrupt
        except ProcessError as exc:
            with open(log, "ab") as handle:
                handle.write(f"sdd: {exc.message}\n".encode())
            code, timed_out, seconds = 127, False, 0.0
        with open(log, "rb") as handle:
            digest = sha256_hex(handle.read())  # a log: small, and OpenSSL not loaded for it
        check = CheckRun(
            spec.name,
            list(spec.command),
            code,
            timed_out,
            round(seconds, 3),
            shown(log),
            digest,
        )
        result.checks.append(check)
        if progress:
            progress("end", spec, check)
    return result


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:40] or "check"

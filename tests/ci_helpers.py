"""A signed project with a git server, for `sdd ci check` and its hooks (issue 18).

``ready``: the person (a real SSH key with a passphrase, every act typed at a real
pseudo-terminal) signed the project and approved the spec; the architecture and the plan are
done and implementation-approval waits. The project is pushed to a bare repository (``server.git``, its ``main``) whose pre-receive hook
`sdd hooks install --server` wrote, and cloned back in ``clone``. Built once per test
session and copied for each test (git's object files hard-linked, as walk_helpers does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from helpers import (
    SDD,
    commit_all,
    do_work,
    git,
    run,
    start,
    tick,
)
from redteam.person import Person, build_signed


def push(
    clone: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A real `git push` over the local transport; what the server's hook says is in stderr."""
    return subprocess.run(
        ["git", "push", *args], cwd=clone, capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def implement(root: Path, code: str | None = None) -> str:
    """One implement session as its agent does it: the code committed, the handoff answered,
    `sdd done`, sdd's records committed. The sha of the code's commit."""
    session = start(root, "implement")
    if code is None:
        do_work(root, session)
        sha = git("log", "-1", "--format=%H", "--", "reset.py", cwd=root).stdout.strip()
    else:
        with (root / "reset.py").open("a", encoding="utf-8") as handle:
            handle.write(code)
        sha = commit_all(root, f"{session.get('task') or 'work'}: more of it")
        tick(root / session["page"], "implement: done as the brief asked.")
    done = run("done", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    commit_all(root, "sdd: session done")
    return sha


def build_ready(folder: Path) -> tuple[Path, Path, Person]:
    """(the clone, the bare server repository, the person): see the module's docstring."""
    person = Person.make(folder / "ada")
    source = build_signed(folder, person)
    server = folder / "server.git"
    git("init", "-q", "--bare", "-b", "main", str(server), cwd=folder)
    installed = subprocess.run(
        [*SDD, "hooks", "install", "--server", str(server)], capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    git("remote", "add", "origin", str(server), cwd=source)
    pushed = push(source, "-q", "origin", "main")
    assert pushed.returncode == 0, pushed.stderr
    git("remote", "set-head", "origin", "main", cwd=source)
    return source, server, person


def ready_copy(stash: dict[str, object], work: Path) -> tuple[Path, Path, Person]:
    """A fresh copy of the ready project and its server for one test (built the first time)."""
    folder, built = stash["dir"], stash["built"]
    assert isinstance(folder, Path) and isinstance(built, dict)
    if "ci:ready" not in built:
        place = folder / "ci"
        shutil.rmtree(place, ignore_errors=True)
        place.mkdir()
        built["ci:ready"] = build_ready(place)
    clone, server = copy_ready(built["ci:ready"], work)
    return clone, server, built["ci:ready"][2]


def copy_ready(built: tuple[Path, Path, Person], work: Path) -> tuple[Path, Path]:
    """A copy of the clone and of the server for one test (objects hard-linked: git never
    changes an object file once written)."""
    source, server, _person = built
    clone, bare = work / "clone", work / "server.git"
    for src, dst in ((source, clone), (server, bare)):
        shutil.copytree(src, dst, symlinks=True, copy_function=_link_objects)
    git("remote", "set-url", "origin", str(bare), cwd=clone)
    return clone, bare


def _link_objects(src: str, dst: str) -> None:
    if f"{os.sep}objects{os.sep}" in src:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass
    shutil.copy2(src, dst)

"""Two concurrent pull requests (issue 18 point 5), as the README's team section tells it:
from the same base, each branch runs an implement session of its own task; they are merged
into main one after the other with a plain `git merge` — no union driver, as a host's merge
button merges — with no conflict in `.sdd/`, and the merged history verifies.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fault_helpers import doctor
from helpers import approve, commit_all, git, history_files, run, sdd_json, start, status, tick

CODE = {
    "T1": ("reset.py", "def reset_link(user: str) -> str:\n    return '/reset/' + user\n"),
    "T2": ("expiry.py", "def expired(age: int) -> bool:\n    return age > 3600\n"),
}


PLAN = """# Implementation plan

## Tasks
""" + "".join(
    f"""
### {task}: {name}
- Stories: US-1
- Depends on: none
- Risk: low
- Effort: 2h
- Scope: {name}, tests/
- Test cases: TC-1

Acceptance criteria:
- the tests of {name} pass
"""
    for task, (name, _) in CODE.items()
)


def _two_tasks(root: Path) -> None:
    """The plan again, with a task for each pull request, and implementation-approval passed."""
    session = start(root, "plan")
    (root / "docs" / "implementation-plan.md").write_text(PLAN, encoding="utf-8")
    tick(root / session["page"], "Two tasks, one for each pull request.")
    done = run("done", cwd=root)
    assert done.returncode == 0, done.stderr
    commit_all(root, "the plan: two tasks")
    approve(root, "implementation-approval")
    commit_all(root, "implementation-approval")


def _as_a_team(root: Path, server: Path) -> None:
    """What the README's team section sets up: no merge driver for anything sdd writes (a
    host's merge button runs none), the generated tracker page left out of git, and the
    repository pushed to a server with `git remote add` (so no ``origin/HEAD``), main its
    default branch."""
    for attributes in (root / ".sdd" / ".gitattributes", root / "docs" / ".gitattributes"):
        attributes.unlink(missing_ok=True)
    (root / ".gitignore").write_text("docs/session-tracker.md\n", encoding="utf-8")
    git("rm", "-q", "--cached", "docs/session-tracker.md", cwd=root)
    commit_all(root, "as a team: no merge driver, the tracker page generated locally")
    names = [str(p.relative_to(root)) for p in history_files(root)]
    said = git("check-attr", "merge", "--", *names, cwd=root).stdout
    assert said.count(": merge: unspecified") == len(names), said
    git("init", "-q", "--bare", str(server), cwd=root)
    git("remote", "add", "origin", str(server), cwd=root)
    git("push", "-q", "-u", "origin", "main", cwd=root)  # no origin/HEAD: origin/main is it


def _pull_request(root: Path, branch: str, task: str) -> set[str]:
    """A branch from main whose implement session does ``task``, pushed; the files it changed."""
    git("switch", "-q", "-c", branch, "origin/main", cwd=root)
    session: dict[str, Any] = sdd_json("start", "implement", "--task", task, cwd=root)
    assert re.fullmatch(r"S-\d{4}-[0-9A-Z]{4}", session["session"]), session  # a branch's
    name, text = CODE[task]
    (root / name).write_text(text, encoding="utf-8")
    test = root / "tests" / f"test_{name}"
    test.parent.mkdir(exist_ok=True)
    (test.parent / "__init__.py").write_text("", encoding="utf-8")
    module = name.removesuffix(".py")
    test.write_text(
        f"import unittest\n\nimport {module}\n\n\nclass T(unittest.TestCase):\n"
        f"    def test_it(self) -> None:\n        self.assertTrue({module})\n",
        encoding="utf-8",
    )
    commit_all(root, f"{task}: {name}")
    tick(root / session["page"], f"{task} done on {branch}.")
    done = run("done", cwd=root)
    assert done.returncode == 0, done.stderr
    commit_all(root, f"{task}: session {session['session']} done")
    git("push", "-q", "origin", branch, cwd=root)
    changed = git("diff", "--name-only", "origin/main...HEAD", cwd=root).stdout.split()
    assert any(n.startswith(".sdd/history/") for n in changed), changed
    return set(changed)


def test_two_pull_requests_from_one_base_merge_one_after_the_other_without_conflict(
    project_at: Any, tmp_path: Path
) -> None:
    root = project_at("implement", approve_gate_before=False)  # the plan waits for approval
    git("branch", "-M", "main", cwd=root)
    _two_tasks(root)
    _as_a_team(root, tmp_path / "server.git")
    tasks = [t["id"] for t in sdd_json("tasks", cwd=root)]
    assert tasks == ["T1", "T2"], tasks
    first = _pull_request(root, "reset-links", "T1")
    second = _pull_request(root, "link-expiry", "T2")
    assert not first & second - {"tests/__init__.py"}, first & second  # nothing shared

    host = tmp_path / "host"  # the host's merge button: a plain merge, one after the other
    git("clone", "-q", str(tmp_path / "server.git"), str(host), cwd=tmp_path)
    for branch in ("reset-links", "link-expiry"):
        merged = git("merge", "--no-ff", "--no-edit", f"origin/{branch}", cwd=host, check=False)
        conflicted = git("diff", "--name-only", "--diff-filter=U", cwd=host).stdout.split()
        assert merged.returncode == 0 and not conflicted, merged.stdout + merged.stderr
    git("push", "-q", "origin", "main", cwd=host)

    git("switch", "-q", "main", cwd=root)
    git("pull", "-q", "--ff-only", "origin", "main", cwd=root)
    data = status(root)
    assert data["problems"] == [] and data["warnings"] == [], data["problems"]
    done = {t["id"]: t["status"] for t in sdd_json("tasks", cwd=root)}
    assert done == {"T1": "done", "T2": "done"}, done
    _, report, _ = doctor(root)
    assert [f for f in report["findings"] if f["area"] == "history"] == [], report
    assert git("status", "--porcelain", cwd=root).stdout == ""  # the page is regenerated, ignored


README = Path(__file__).parent.parent / "README.md"


def _team_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Working as a team")
    return text[start : text.index("\n## ", start + 1)]


def test_the_readme_team_sections_commands_and_config_are_what_sdd_reads(project: Path) -> None:
    """Every `sdd` command of the README's team section parses as written (run end to end by
    hand with real keys: see the commit), and its config sets the team rules it describes."""
    import shlex

    from sdd.cli.parser import build_parser

    section = _team_section()
    blocks = re.findall(r"```(sh|toml)\n(.*?)```", section, re.S)
    pieces = [
        piece.strip()
        for kind, body in blocks
        if kind == "sh"
        for line in body.splitlines()
        for piece in line.split("  #", 1)[0].split("&&")
    ]
    commands = [shlex.split(piece) for piece in pieces if piece.startswith("sdd ")]
    assert len(commands) >= 8, commands
    for args in commands:
        build_parser(only=args[1]).parse_args(args[1:])  # a usage error exits the test
    (toml,) = [body for kind, body in blocks if kind == "toml" and "[gates." in body]
    with (project / ".sdd" / "config.toml").open("a", encoding="utf-8") as config:
        config.write("\n" + toml)
    gates = {g["name"]: g for g in sdd_json("rules", cwd=project)["rules"]["workflow"]["gates"]}
    assert gates["spec-approval"]["approvals"] == 2
    assert gates["spec-approval"]["roles"] == ["product"]
    assert gates["implementation-approval"]["roles"] == ["lead"]

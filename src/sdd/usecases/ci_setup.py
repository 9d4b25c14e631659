"""`sdd ci init github|gitlab`: the CI job that runs `sdd ci check` where code merges.

The job installs exactly this version of sdd — from the source the project names (``--from``,
else ``[ci] install`` in the config, else the repository this copy was installed from when pip
recorded one at a commit), never by name from a package index, where a name nobody owns yet is
a name anybody can take — checks that the version it got is this one, fetches the whole history
(the check compares the branch with its base), and runs the check on pull (merge) requests and
on release tags, with ``--verify`` (CI runs the project's checks; a git server's hook never
does). Nothing a user already has is overwritten: a file sdd wrote is left as it is and said
to be there; any other file in the way is named with the way out.
"""

from __future__ import annotations

import os
import shlex

from sdd import __version__
from sdd.core import files
from sdd.core.distribution import DISTRIBUTION, direct_url
from sdd.core.errors import ConfigError, Refused, UsageError
from sdd.core.structs import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.project.project import Project

HOSTS = ("github", "gitlab")
DEFAULT_FILE = {"github": ".github/workflows/sdd.yml", "gitlab": ".gitlab-ci.yml"}
GITLAB_INCLUDED = ".gitlab/sdd.yml"  # beside a .gitlab-ci.yml the user has
MARK = "# Written by `sdd ci init"  # how a file sdd wrote is told from the user's own
PYTHON = "3.12"
JOB = "sdd ci check"  # the job's name: the status check a branch protection requires


@dataclass
class CiSetup:
    host: str
    path: str  # relative to the project
    written: bool  # False: it was there already (and left as it is)
    install: str  # the pip requirement the job installs
    version: str  # the sdd version it pins
    include: str | None = None  # GitLab: the line to add to the user's .gitlab-ci.yml
    note: str = ""  # what was found when nothing was written


def init(
    project: Project, host: str, *, source: str | None = None, path: str | None = None
) -> CiSetup:
    """Write the CI job for ``host`` (github or gitlab), unless something is in its way."""
    if host not in HOSTS:
        raise UsageError(
            f"{host!r}: sdd writes CI for {' and '.join(HOSTS)}", hint="sdd ci init github"
        )
    requirement = _requirement(project, source)
    relative = path or DEFAULT_FILE[host]
    if host == "gitlab" and path is None and os.path.lexists(project.paths.inside(relative)):
        existing = files.read_text(project.paths.inside(relative)) or ""
        if not existing.startswith(MARK):
            relative = GITLAB_INCLUDED  # the user's own pipeline: ours goes beside it
    relative = os.path.normpath(relative).replace(os.sep, "/")
    # GitLab reads .gitlab-ci.yml only: a job elsewhere needs one line in it.
    include = None
    if host == "gitlab" and relative != DEFAULT_FILE["gitlab"]:
        include = f"include: '{relative}'"
    target = project.paths.inside(relative)
    text = render(host, requirement, include)
    if os.path.lexists(target):
        found = files.read_text(target) if os.path.isfile(target) else None
        if found is not None and found.startswith(MARK):
            same = found == text
            note = (
                "already there, as this sdd writes it"
                if same
                else "already there, written by an sdd ("
                + _written_by(found)
                + "); left as it is: remove it and run this again to write it anew"
            )
            return CiSetup(host, relative, False, requirement, __version__, include, note)
        raise Refused(
            f"{relative} exists and sdd did not write it: it stays as it is",
            hint=f"write the job to another file: sdd ci init {host} --file "
            + (".github/workflows/sdd-check.yml" if host == "github" else ".gitlab/sdd-check.yml"),
        )
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    files.write_atomic(target, text, display=relative)
    return CiSetup(host, relative, True, requirement, __version__, include)


def _written_by(text: str) -> str:
    first = text.split("\n", 1)[0]
    return first[len(MARK) :].strip(" `").split(")", 1)[0].strip("( ") or "another version"


def _requirement(project: Project, source: str | None) -> str:
    """The pip requirement of this very sdd, from a source CI can reach, at a fixed revision."""
    where = "--from"
    if source is None:
        section = project.config.raw.get("ci", {})
        configured = section.get("install") if isinstance(section, dict) else None
        if configured is not None and not isinstance(configured, str):
            raise ConfigError(
                f"{project.paths.rel(project.paths.config)}: ci.install: must be text"
            )
        source, where = configured, "[ci] install"
    if source is None:
        source, where = _installed_from(), "the repository this sdd was installed from"
    if source is None:
        raise UsageError(
            "name where CI installs this sdd from (it is not on a package index): a git "
            "repository at a commit, or a wheel's URL",
            hint="sdd ci init … --from 'git+https://github.com/OWNER/REPO@COMMIT' (or set "
            "[ci] install in .sdd/config.toml)",
        )
    spec = source.strip()
    if spec.startswith(DISTRIBUTION) and "@" in spec:
        spec = spec.split("@", 1)[1].strip()
    if "://" not in spec or any(c.isspace() or c in "'\"\\$`" for c in spec):
        raise UsageError(
            f"{where}: {source!r} is not a URL CI can install from",
            hint="a git repository at a commit (git+https://…@COMMIT) or a wheel's https URL",
        )
    if spec.startswith("git+") and "@" not in spec.split("://", 1)[1].split("/", 1)[-1]:
        raise UsageError(
            f"{where}: {source!r} names no revision, so CI would install whatever is newest",
            hint=f"pin it to the commit of sdd {__version__}: {spec}@COMMIT",
        )
    return f"{DISTRIBUTION} @ {spec}"


def _installed_from() -> str | None:
    """The repository pip installed this sdd from, at its commit (PEP 610), when it was one."""
    origin = direct_url()
    if origin is None:
        return None
    vcs = origin.get("vcs_info")
    if not isinstance(vcs, dict) or not isinstance(vcs.get("commit_id"), str):
        return None  # a local folder or an archive: nothing CI can reach for sure
    return f"{vcs.get('vcs', 'git')}+{origin['url']}@{vcs['commit_id']}"


def render(host: str, requirement: str, include: str | None = None) -> str:
    install = shlex.quote(requirement)
    head = (
        f"{MARK} {host}` (sdd {__version__}). `sdd ci check` judges a pull request against\n"
        "# its base by the base's rules and approvers. Make the job a required status check, and\n"
        "# protect this file and .sdd/ with CODEOWNERS: a pull request can edit them (README,\n"
        '# "Working as a team"). Re-run `sdd ci init` after upgrading sdd.\n'
    )
    if host == "github":
        return head + GITHUB.format(version=__version__, install=install, job=JOB, python=PYTHON)
    intro = f"# Included from .gitlab-ci.yml, by the line `{include}`.\n" if include else ""
    return head + intro + GITLAB.format(version=__version__, install=install, python=PYTHON)


GITHUB = """\
name: sdd

on:
  pull_request:
  push:
    tags:
      - "v*"

permissions:
  contents: read

jobs:
  sdd-check:
    name: {job}
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0  # the whole history: the check compares the branch with its base
      - uses: actions/setup-python@v5
        with:
          python-version: "{python}"
      # Whatever the project's own checks need (`sdd verify`), install it here too.
      - name: Install sdd {version}
        run: |
          python -m pip install {install}
          test "$(sdd --version)" = "sdd {version}"
      - name: sdd ci check
        env:
          DEFAULT_BRANCH: ${{{{ github.event.repository.default_branch }}}}
        run: |
          if [ -n "${{GITHUB_BASE_REF:-}}" ]; then
            base="origin/$GITHUB_BASE_REF"
          else
            base="origin/$DEFAULT_BRANCH"
          fi
          sdd ci check --base "$base" --verify --markdown "$RUNNER_TEMP/sdd-check.md"
"""

GITLAB = """\
sdd-check:
  image: python:{python}
  variables:
    GIT_DEPTH: "0"  # the whole history: the check compares the branch with its base
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_TAG
  script:
    # Whatever the project's own checks need (`sdd verify`), install it here too.
    - python -m pip install {install}
    - test "$(sdd --version)" = "sdd {version}"
    - |
      target="${{CI_MERGE_REQUEST_TARGET_BRANCH_NAME:-$CI_DEFAULT_BRANCH}}"
      git fetch --quiet origin "+refs/heads/$target:refs/remotes/origin/$target"
      sdd ci check --base "origin/$target" --verify --markdown sdd-check.md
  artifacts:
    when: always
    paths:
      - sdd-check.md
"""

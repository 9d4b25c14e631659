"""The project's configuration, ``.sdd/config.toml``."""

from __future__ import annotations

from sdd.core import files
from sdd.core.errors import ConfigError
from sdd.core.nesting import MAX_DEPTH, TooDeep, toml_table
from sdd.core.structs import dataclass
from sdd.workflow.model import Workflow, from_config, with_team_rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sdd.core.paths import ProjectPaths

CONFIG_FORMAT = 1

DEFAULT_TEXT = """\
# sdd project configuration. Documented keys only; `sdd doctor` reports unknown ones.
format = 1

[project]
name = "{name}"
# "living": one open cycle at a time, working on the documents in docs/ (the method's layout).
layout = "living"

[spec]
# spec-approval is refused while the spec's confidence is below this (percent).
confidence_threshold = 95

# [git]
# Commit sdd's own records (.sdd/ and docs/session-tracker.md, nothing else) after each
# recorded change; what you staged stays staged.
# commit_bookkeeping = false

# [ci]
# What `sdd ci check` and sdd's git hooks ask of a branch (read from the base it is judged by).
# accept_unsigned = false        # true: a base without approvers is accepted
# released_branches = ["main"]   # a merge into one of these needs deployment-approval
# install = "git+https://github.com/OWNER/REPO@COMMIT"  # where `sdd ci init`'s job gets sdd

# [workflow]
# Override the built-in workflow (README, "Customising the workflow").
# stages = ["spec", "architecture", "plan", "implement", "review", "qa",
#           "user-verification", "final-verification", "postmortem"]
"""


@dataclass(frozen=True)
class Config:
    """The file as it stands. Its workflow and threshold only *propose* rules: what sdd
    decides by is ``Project.rules`` (``project.rules``), the rules in force."""

    name: str
    layout: str
    confidence_threshold: int
    workflow: Workflow
    raw: dict[str, Any]
    commit_bookkeeping: bool = False  # [git]: sdd commits its own records after each change


def render_default(name: str) -> str:
    safe = name.replace("\\", "").replace('"', "").replace("\n", " ")[:80]
    return DEFAULT_TEXT.format(name=safe)


def load(paths: ProjectPaths) -> Config:
    where = paths.rel(paths.config)
    text = files.read_text(paths.config)
    if text is None:
        raise ConfigError(f"{where}: missing", hint="run `sdd init` to create it")
    try:
        raw = toml_table(text)
    except TooDeep as exc:
        raise ConfigError(
            f"{where}{f':{exc.line}' if exc.line else ''}: a value is nested more than "
            f"{MAX_DEPTH} levels deep",
            hint="sdd's settings are a few levels deep: remove the nesting, or restore the "
            f"file from git (`git checkout -- {where}`)",
        ) from None
    except ValueError as exc:  # tomllib.TOMLDecodeError
        raise ConfigError(f"{where}: not valid TOML ({exc})") from None
    problems: list[str] = []
    fmt = raw.get("format", CONFIG_FORMAT)
    if not isinstance(fmt, int) or fmt > CONFIG_FORMAT:
        problems.append(f"{where}: format: {fmt!r} is not one this sdd reads (1)")
    project = raw.get("project", {})
    if not isinstance(project, dict):
        problems.append(f"{where}: project: must be a table")
        project = {}
    name = project.get("name", "")
    if not isinstance(name, str):
        problems.append(f"{where}: project.name: must be text")
        name = ""
    layout = project.get("layout", "living")
    if layout not in ("living", "per-cycle"):
        problems.append(f'{where}: project.layout: must be "living" or "per-cycle"')
        layout = "living"
    spec = raw.get("spec", {})
    threshold = spec.get("confidence_threshold", 95) if isinstance(spec, dict) else 95
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not 0 <= threshold <= 100:
        problems.append(f"{where}: spec.confidence_threshold: must be a whole number from 0 to 100")
        threshold = 95
    git = raw.get("git", {})
    bookkeeping = git.get("commit_bookkeeping", False) if isinstance(git, dict) else False
    if not isinstance(git, dict):
        problems.append(f"{where}: git: must be a table")
    elif not isinstance(bookkeeping, bool):
        problems.append(f"{where}: git.commit_bookkeeping: must be true or false")
        bookkeeping = False
    if problems:
        raise ConfigError(f"{where} is not valid", details=problems)
    workflow_section = raw.get("workflow")
    if workflow_section is not None and not isinstance(workflow_section, dict):
        raise ConfigError(f"{where}: workflow: must be a table")
    workflow = with_team_rules(from_config(workflow_section, where), raw.get("gates"), where)
    return Config(name, layout, threshold, workflow, raw, bookkeeping)


@dataclass(frozen=True)
class CiSettings:
    """``[ci]``: what `sdd ci check` asks of a branch, read from the base it is judged against."""

    accept_unsigned: bool = False  # a base without approvers is accepted (its acts unsigned)
    released_branches: tuple[str, ...] = ()  # a merge into one of these needs deployment-approval


def ci_settings(raw: dict[str, Any], where: str) -> CiSettings:
    section = raw.get("ci", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: ci: must be a table")
    problems = []
    unsigned = section.get("accept_unsigned", False)
    if not isinstance(unsigned, bool):
        problems.append(f"{where}: ci.accept_unsigned: must be true or false")
        unsigned = False
    released = section.get("released_branches", [])
    if not isinstance(released, list) or not all(isinstance(b, str) and b for b in released):
        problems.append(f"{where}: ci.released_branches: must be a list of branch names")
        released = []
    if problems:
        raise ConfigError(f"{where} is not valid", details=problems)
    return CiSettings(unsigned, tuple(released))

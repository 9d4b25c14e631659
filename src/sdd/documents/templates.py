"""Stage templates (``sessions/<stage>.md``): front matter and instructions.

The project's copy wins over the packaged default. The front matter is a small,
strict subset of YAML read by our own parser: nothing in a template is evaluated.
"""

from __future__ import annotations

import os

from sdd.core import files
from sdd.core.errors import ConfigError
from sdd.core.paths import ProjectPaths, package_data
from sdd.core.structs import dataclass

# The documents a cycle starts from, laid down as templates (data/docs/).
CORE_DOCS = ("product-spec.md", "architecture.md", "implementation-plan.md", "test-plan.md")

FIELDS = ("stage", "role", "goal", "reads", "writes", "gate", "checklist")
_LISTS = ("reads", "writes", "checklist")


@dataclass(frozen=True)
class StageTemplate:
    """A stage's session template: its role, goal, reads, writes and checklist."""

    stage: str
    role: str
    goal: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    gate: str | None
    checklist: tuple[str, ...]
    body: str
    source: str  # where it was read from, for messages


def parse_front_matter(text: str, where: str) -> tuple[dict[str, str | list[str]], str]:
    """Split ``---`` front matter from the body; errors name ``where`` and the line."""
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "---":
        raise ConfigError(f"{where}:1: a template starts with a `---` front matter line")
    values: dict[str, str | list[str]] = {}
    current: str | None = None
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            return values, "\n".join(lines[number:]).strip("\n") + "\n"
        if not line.strip():
            continue
        if line.startswith(("  - ", "- ")) and current is not None:
            target = values[current]
            if not isinstance(target, list):
                raise ConfigError(
                    f"{where}:{number}: list item under `{current}`, which is not a list"
                )
            target.append(line.split("- ", 1)[1].strip())
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or not key or line[0].isspace():
            raise ConfigError(f"{where}:{number}: expected `key: value` or `  - item`")
        if key in values:
            raise ConfigError(f"{where}:{number}: `{key}` appears twice")
        value = value.strip()
        if value.startswith("["):
            if not value.endswith("]"):
                raise ConfigError(f"{where}:{number}: an inline list ends with `]`")
            inner = value[1:-1].strip()
            values[key] = [item.strip() for item in inner.split(",")] if inner else []
            current = None
        elif value:
            values[key] = value
            current = None
        else:
            values[key] = []
            current = key
    raise ConfigError(f"{where}: the front matter has no closing `---` line")


def parse(text: str, where: str) -> StageTemplate:
    values, body = parse_front_matter(text, where)
    problems = []
    for name in FIELDS:
        if name not in values:
            problems.append(f"{where}: front matter: `{name}` is missing")
    for name in _LISTS:
        if name in values and not isinstance(values[name], list):
            problems.append(f"{where}: front matter: `{name}` must be a list")
    for name in ("stage", "role", "goal", "gate"):
        if name in values and not isinstance(values[name], str):
            problems.append(f"{where}: front matter: `{name}` must be one line of text")
    if problems:
        raise ConfigError(f"{where}: not a valid stage template", details=problems)

    def text_of(name: str) -> str:
        value = values[name]
        return value if isinstance(value, str) else ""

    def list_of(name: str) -> tuple[str, ...]:
        value = values[name]
        return tuple(value) if isinstance(value, list) else ()

    gate = text_of("gate")
    return StageTemplate(
        stage=text_of("stage"),
        role=text_of("role"),
        goal=text_of("goal"),
        reads=list_of("reads"),
        writes=list_of("writes"),
        gate=None if gate in ("", "none") else gate,
        checklist=list_of("checklist"),
        body=body,
        source=where,
    )


def packaged_names() -> list[str]:
    folder = package_data("sessions")
    return sorted(name[:-3] for name in os.listdir(folder) if name.endswith(".md"))


def packaged_text(stage: str) -> str | None:
    return files.read_text(package_data("sessions", f"{stage}.md"))


def load(paths: ProjectPaths, stage: str) -> StageTemplate:
    """The template of ``stage``: the project's copy, else the packaged default."""
    own = paths.template(stage)
    text = files.read_text(own)
    where = paths.rel(own)
    if text is None:
        text = packaged_text(stage)
        where = f"(packaged) sessions/{stage}.md"
    if text is None:
        raise ConfigError(
            f"stage {stage!r} has no template",
            hint=f"write sessions/{stage}.md (front matter: {', '.join(FIELDS)})",
        )
    template = parse(text, where)
    if template.stage != stage:
        raise ConfigError(
            f"{where}: front matter says stage `{template.stage}`, expected `{stage}`"
        )
    return template


def fill(text: str, values: dict[str, str]) -> str:
    """Substitute ``{name}`` for known names only; nothing else is interpreted."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def scaffold_text(name: str) -> str | None:
    return files.read_text(package_data("scaffolds", f"{name}.md"))

"""`sdd init`: make a folder an sdd project without overwriting anything in it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sdd import documents, files, gitrepo, history, templates
from sdd.config import render_default
from sdd.cycles import open_cycle
from sdd.paths import ProjectPaths, package_data
from sdd.project import Project

CORE_DOCS = ("product-spec.md", "architecture.md", "implementation-plan.md", "test-plan.md")

GITATTRIBUTES = """\
# The history is append-only JSON lines, folded in id order: a union merge is always right.
history.jsonl merge=union
"""
GITIGNORE = """\
# Derived and local files: rebuilt by sdd, never committed.
cache/
logs/
lock
"""


@dataclass
class InitResult:
    root: str
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    git_initialised: bool = False
    cycle: int | None = None
    demo: bool = False
    existing_code: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "root": self.root,
            "created": self.created,
            "skipped": self.skipped,
            "git_initialised": self.git_initialised,
            "cycle": self.cycle,
            "demo": self.demo,
            "existing_code": self.existing_code,
            "discovery": bool(self.existing_code),
        }


def _place(paths: ProjectPaths, relative: str, text: str, result: InitResult) -> None:
    target = paths.inside(relative)
    if os.path.lexists(target):
        result.skipped.append(relative)
        return
    files.write_atomic(target, text, display=relative)
    result.created.append(relative)


SOURCE_MARKERS = {
    "pyproject.toml": "Python",
    "setup.py": "Python",
    "setup.cfg": "Python",
    "requirements.txt": "Python",
    "package.json": "Node",
    "Cargo.toml": "Rust",
    "go.mod": "Go",
    "pom.xml": "Java",
    "build.gradle": "Java",
    "Gemfile": "Ruby",
    "composer.json": "PHP",
    "CMakeLists.txt": "C/C++",
}
SOURCE_SUFFIXES = {
    ".py": "Python",
    ".js": "Node",
    ".ts": "Node",
    ".rs": "Rust",
    ".go": "Go",
    ".java": "Java",
    ".c": "C/C++",
    ".cc": "C/C++",
    ".cpp": "C/C++",
    ".rb": "Ruby",
    ".php": "PHP",
    ".cs": "C#",
    ".swift": "Swift",
    ".kt": "Kotlin",
}
_SKIP = {
    ".git",
    ".sdd",
    "docs",
    "sessions",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    "target",
    "dist",
    "build",
}


def existing_code(root: str, limit: int = 5000) -> list[str]:
    """The kinds of source an existing codebase in ``root`` holds (empty for a new project)."""
    kinds: set[str] = set()
    seen = 0
    for _folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _SKIP and not d.startswith(".")]
        for name in names:
            seen += 1
            kind = SOURCE_MARKERS.get(name) or SOURCE_SUFFIXES.get(os.path.splitext(name)[1])
            if kind:
                kinds.add(kind)
        if seen > limit:
            break
    return sorted(kinds)


def init(directory: str, *, title: str | None = None, demo: bool = False) -> InitResult:
    root = os.path.abspath(directory)
    os.makedirs(root, exist_ok=True)
    paths = ProjectPaths(root)
    result = InitResult(root, demo=demo)
    already = os.path.exists(paths.history)
    result.existing_code = [] if already or demo else existing_code(root)
    if not gitrepo.is_repo(root):
        gitrepo.init_repo(root)
        result.git_initialised = True
    name = os.path.basename(root) or "project"
    for doc in (*CORE_DOCS, *(("conventions.md",) if result.existing_code else ())):
        _place(paths, f"docs/{doc}", files.read_text(package_data("docs", doc)) or "", result)
    for stage in templates.packaged_names():
        _place(paths, f"sessions/{stage}.md", templates.packaged_text(stage) or "", result)
    _place(paths, ".sdd/config.toml", render_default(name), result)
    if not os.path.exists(os.path.join(paths.state, "templates", "base")):
        from sdd.template_upgrade import record_base

        record_base(paths)
    _place(paths, ".sdd/.gitattributes", GITATTRIBUTES, result)
    _place(paths, ".sdd/.gitignore", GITIGNORE, result)
    project = Project(root)
    project.config  # noqa: B018 - validate the config before recording anything
    if not os.path.exists(paths.history):
        files.write_atomic(paths.history, b"", display=paths.rel(paths.history))
    with project.transaction() as tx:
        if tx.state.records == 0:
            tx.record("project.init", name=name, demo=demo, format=history.FORMAT_VERSION)
        if not tx.state.template_hashes:
            hashes = project.template_hashes()
            for relative in hashes:
                documents.snapshot(paths, relative)  # so later changes can show their diff
            tx.record("template.base", hashes=hashes)
        if not tx.state.cycles:
            result.cycle = open_cycle(tx, title or name, discovery=bool(result.existing_code))
    if result.cycle is None:
        result.skipped.append(".sdd/history.jsonl")
    else:
        result.created.append(".sdd/history.jsonl")
    return result

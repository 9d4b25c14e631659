"""Whether a folder holds an existing codebase, and of which kinds: `sdd init` starts such a
project with a discovery session, and `sdd agents install` offers the discovery stage only
there."""

from __future__ import annotations

import os

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

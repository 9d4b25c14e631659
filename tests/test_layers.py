"""The house rule, as a test: every module's imports (at module level, inside functions and
under ``TYPE_CHECKING``) go down the layers or stay level, never up; no two modules import
each other, however far round; and a face (the CLI, the MCP server, the web dashboard)
reaches the rest of `sdd` only through the public API (``sdd.api``) and the core.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "sdd"

# Lowest first. A module may import its own layer or a lower one.
LAYERS = (
    "core",  # errors, clock, ids, paths, files, records, history, state
    "system",  # child processes, git
    "documents",  # Markdown, contracts, checks, snapshots, templates, session pages
    "workflow",  # the model, gate positions, conditions, the panel
    "project",  # config, cache, Project and Transaction
    "agents",  # the agent registry, launching, the person check, agent files
    "usecases",  # what a user does: sessions, approvals, cycles, verify, doctor …
    "demo",  # `sdd demo` and its scripted agent
    "api",  # the public API the faces call
    "faces",  # cli/, mcp/, web/
)
FACES = ("cli", "mcp", "web")
# What a face may import besides its own face folder.
FACE_MAY_IMPORT = ("sdd", "sdd.api", "sdd.core")


def module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "core"  # the package itself holds only the version
    top = parts[1]
    if top == "__main__" or top in FACES:
        return "faces"
    return top


def imports_of(source: str, module: str, is_package: bool, known: set[str]) -> Iterator[str]:
    """The `sdd` modules ``module`` imports anywhere in its text."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sdd":
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "sdd":
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                yield candidate if candidate in known else target


def graph(package: Path) -> dict[str, set[str]]:
    files = {module_name(p, package): p for p in package.rglob("*.py")}
    known = set(files)
    edges: dict[str, set[str]] = {}
    for name, path in files.items():
        found = imports_of(path.read_text(), name, path.name == "__init__.py", known)
        edges[name] = {m for m in found if m in known and m != name}
    return edges


def upward(edges: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, targets in sorted(edges.items()):
        for target in sorted(targets):
            here, there = layer_of(module), layer_of(target)
            if LAYERS.index(there) > LAYERS.index(here):
                wrong.append(f"{module} ({here}) imports {target} ({there}), a higher layer")
    return wrong


def past_the_api(edges: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, targets in sorted(edges.items()):
        if layer_of(module) != "faces":
            continue
        for target in sorted(targets):
            allowed = target == "sdd" or layer_of(target) == "faces"
            allowed = allowed or any(
                target == prefix or target.startswith(prefix + ".")
                for prefix in FACE_MAY_IMPORT
                if prefix != "sdd"
            )
            if not allowed:
                wrong.append(f"{module} (a face) imports {target}: faces call sdd.api")
    return wrong


def loops(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_sits_in_a_known_layer() -> None:
    unplaced = [m for m in graph(PACKAGE) if layer_of(m) not in LAYERS]
    assert unplaced == [], f"modules outside every layer: {unplaced}"


def test_no_import_goes_up_a_layer() -> None:
    assert upward(graph(PACKAGE)) == []


def test_no_import_loop() -> None:
    assert loops(graph(PACKAGE)) == []


def test_faces_reach_sdd_through_the_public_api() -> None:
    assert past_the_api(graph(PACKAGE)) == []


def test_the_package_folders_hold_no_code_in_their_init() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        if init.parent == PACKAGE:
            continue  # the package itself: the version and the docstring
        assert init.read_text().strip() == "", f"{init}: keep __init__.py empty"


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A package laid out like ours, for checking the checker."""
    root = tmp_path / "sdd"
    for folder in ("core", "usecases", "cli"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "api.py").write_text("def status():\n    from sdd.usecases import panel\n")
    (root / "core" / "state.py").write_text("from sdd.core import clock\n")
    (root / "core" / "clock.py").write_text("")
    (root / "usecases" / "panel.py").write_text("from sdd.core import state\n")
    (root / "cli" / "main.py").write_text("from sdd import api\n")
    return root


def test_the_checker_passes_a_clean_tree(tiny: Path) -> None:
    edges = graph(tiny)
    assert edges["sdd.api"] == {"sdd.usecases.panel"}
    assert upward(edges) == [] and loops(edges) == [] and past_the_api(edges) == []


def test_the_checker_finds_an_upward_import_even_inside_a_function(tiny: Path) -> None:
    (tiny / "core" / "clock.py").write_text("def now():\n    from sdd.usecases import panel\n")
    wrong = upward(graph(tiny))
    assert wrong == ["sdd.core.clock (core) imports sdd.usecases.panel (usecases), a higher layer"]


def test_the_checker_finds_a_loop_within_a_layer(tiny: Path) -> None:
    (tiny / "core" / "clock.py").write_text(
        "TYPE_CHECKING = False\nif TYPE_CHECKING:\n    from sdd.core.state import X\n"
    )
    assert loops(graph(tiny)) == [["sdd.core.clock", "sdd.core.state"]]


def test_the_checker_finds_a_face_past_the_api(tiny: Path) -> None:
    (tiny / "cli" / "main.py").write_text("from sdd.usecases.panel import status\n")
    assert past_the_api(graph(tiny)) == [
        "sdd.cli.main (a face) imports sdd.usecases.panel: faces call sdd.api"
    ]

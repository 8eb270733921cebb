"""The shape of the code: data flows one way, the pure layer stays pure, modules stay readable.

These read the source (``ast``), never run it: they fail when a change adds an import cycle,
lets ``losslab`` import Streamlit, grows ``app.py`` back into a second app layer, or makes a
test depend on a private module (which would pin the file layout).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("losslab", "ui")
LONG_MODULE = 500
"""Lines; a longer module says in its docstring why it is one piece."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            out[_module_name(path)] = path
    return out


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``path`` imports at module level (not under TYPE_CHECKING or in a
    function: those are deliberate, lazy or annotation-only)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    # Importing a.b.c runs the packages a and a.b first: their imports count too.
    for name in list(found):
        parent = name.rpartition(".")[0]
        while parent:
            found.add(parent)
            parent = parent.rpartition(".")[0]
    found.discard(_module_name(path))
    return found


def test_no_import_cycles_among_losslab_and_ui():
    modules = _sources()
    graph = {name: _imports(path, modules) for name, path in modules.items()}
    # A package's __init__ re-exporting its submodules is not a cycle of responsibility.
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_the_pure_layer_never_imports_streamlit():
    for path in (ROOT / "losslab").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] == "streamlit" for n in names), path


def test_ui_never_imports_the_app_script():
    modules = _sources()
    for name, path in modules.items():
        if name.startswith("ui"):
            assert "app" not in _imports(path, {**modules, "app": ROOT / "app.py"}), name


def _lines(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip())


def test_app_py_is_a_short_pipeline():
    assert _lines(ROOT / "app.py") <= 80


@pytest.mark.parametrize("path", sorted(
    p for package in PACKAGES for p in (ROOT / package).rglob("*.py")
), ids=lambda p: str(p.relative_to(ROOT)))
def test_long_modules_say_why_they_are_one_piece(path):
    if len(path.read_text().splitlines()) <= LONG_MODULE:
        return
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert "one piece" in doc.lower(), (
        f"{path.name} is over {LONG_MODULE} lines: split it, or say in its docstring why it "
        "is one piece")


def test_tests_use_public_names_only():
    for path in (ROOT / "tests").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                assert not any(p.startswith("_") for p in parts if p != "__future__"), (
                    f"{path.name} imports the private module {node.module}")
                if parts[0] in PACKAGES:
                    private = [a.name for a in node.names if a.name.startswith("_")]
                    assert not private, f"{path.name} imports private names {private}"

"""The package's shape (issue 12): short functions, and a CLI without an import cycle.

Both are read from the source with ``ast``, so they hold for code nobody ran.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "interview_sync"
MAX_LINES = 80
# Files that still hold a function over MAX_LINES, to be emptied (each entry must still be over,
# so the list cannot go stale). sandbox/ is held to the same limit.
STILL_OVER: frozenset[str] = frozenset()


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _long_functions() -> dict[str, list[str]]:
    """relative path -> ``name (N lines)`` of each function over the limit, def line to last line."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        for node in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_LINES:
                found.setdefault(rel, []).append(f"{node.name} ({length} lines)")
    return found


def test_no_function_over_80_lines_sandbox_included() -> None:
    over = _long_functions()
    unexpected = {rel: names for rel, names in over.items() if rel not in STILL_OVER}
    assert not unexpected, f"split these functions (at most {MAX_LINES} lines each): {unexpected}"
    stale = sorted(STILL_OVER - set(over))
    assert not stale, f"{stale} no longer hold a function over {MAX_LINES} lines: take them off STILL_OVER"


def test_the_length_check_sees_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    tree = ast.parse(f"def long() -> None:\n{body}\n\ndef short() -> None:\n    pass\n")
    lengths = {f.name: (f.end_lineno or 0) - f.lineno + 1 for f in _functions(tree)}
    assert lengths == {"long": MAX_LINES + 1, "short": 2}


def _cli_imports(path: Path) -> set[str]:
    """The cli modules ``path`` imports (any import statement, at module level or inside a function)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:  # from .base import x
                names.add(node.module.split(".")[0])
            elif node.level == 1:  # from . import base, render
                names.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("interview_sync.cli."):
                names.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[2] for a in node.names if a.name.startswith("interview_sync.cli."))
    return names


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in ``graph`` as a path of module names, or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_the_cli_has_no_import_cycle_and_only_app_assembles() -> None:
    modules = {p.stem: p for p in (PACKAGE / "cli").glob("*.py") if p.stem != "__init__"}
    graph = {name: _cli_imports(path) & set(modules) for name, path in modules.items()}
    assert _cycle(graph) is None, f"import cycle in interview_sync/cli: {' -> '.join(_cycle(graph) or [])}"
    importers = sorted(name for name, deps in graph.items() if "app" in deps)
    assert importers == [], f"{importers} import cli/app.py; import cli/base.py instead"
    commands = {name for name in modules if name.endswith("_cmd")}
    assert commands <= graph["app"], f"cli/app.py does not assemble {sorted(commands - graph['app'])}"


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"app": {"poll_cmd"}, "poll_cmd": {"app"}}) == ["app", "poll_cmd", "app"]
    assert _cycle({"app": {"poll_cmd", "base"}, "poll_cmd": {"base"}, "base": set()}) is None


def _nested_in_mounts(tree: ast.AST) -> list[str]:
    """Functions defined inside a ``mount``: route handlers written as closures."""
    return [inner.name for node in _functions(tree) if node.name == "mount"
            for inner in _functions(node) if inner is not node]


def test_sandbox_mounts_are_route_tables_without_closures() -> None:
    """Each sandbox flavour registers handlers defined elsewhere (one function or method per
    route) from a table; a mount that defines them is the giant closure issue 12 split up."""
    sandbox = sorted((PACKAGE / "sandbox").glob("*.py"))
    mounts = {p.name for p in sandbox if "def mount(" in p.read_text(encoding="utf-8")}
    assert {"greenhouse.py", "lever.py", "calendly.py", "calcom.py", "admin.py"} <= mounts
    closures = {p.name: names for p in sandbox
                if (names := _nested_in_mounts(ast.parse(p.read_text(encoding="utf-8"))))}
    assert not closures, f"mount defines route handlers as closures; make them functions in a route table: {closures}"


def test_the_closure_check_sees_a_handler_inside_mount() -> None:
    tree = ast.parse("def mount(app):\n    def handler(request):\n        pass\n\ndef other():\n    pass\n")
    assert _nested_in_mounts(tree) == ["handler"]

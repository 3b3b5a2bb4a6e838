"""The sandbox's shape (issue 12): small route handlers registered by a table, not one giant closure.

Read from the source with ``ast``, so it holds for routes no test happened to call.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SANDBOX = Path(__file__).resolve().parents[1] / "interview_sync" / "sandbox"
MAX_LINES = 80


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Def line to last line, as tests/test_shape.py counts for the rest of the package."""
    return (node.end_lineno or node.lineno) - node.lineno + 1


def _modules() -> list[tuple[str, ast.Module]]:
    return [(path.name, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(SANDBOX.glob("*.py"))]


def test_no_sandbox_function_is_over_80_lines() -> None:
    over = [f"{name}: {node.name} ({_length(node)} lines)"
            for name, tree in _modules() for node in _functions(tree) if _length(node) > MAX_LINES]
    assert not over, f"split these into route handlers of at most {MAX_LINES} lines: {over}"


def test_mount_is_a_route_table_without_closures() -> None:
    """A ``mount`` registers handlers defined elsewhere; it defines none itself."""
    mounts = {name: node for name, tree in _modules() for node in _functions(tree) if node.name == "mount"}
    assert {"greenhouse.py", "lever.py", "calendly.py", "calcom.py"} <= set(mounts)
    nested = {name: [inner.name for inner in _functions(node) if inner is not node] for name, node in mounts.items()}
    assert not {name: inner for name, inner in nested.items() if inner}, \
        f"mount defines route handlers as closures: {nested}"


def test_the_checks_see_a_long_function_and_a_closure() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    tree = ast.parse(f"def mount() -> None:\n{body}\n    def handler() -> None:\n        pass\n")
    lengths = {f.name: _length(f) for f in _functions(tree)}
    assert lengths == {"mount": MAX_LINES + 3, "handler": 2}

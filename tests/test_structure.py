"""Issue 12: the shape of the code, checked so it cannot drift back.

* one module assigns ``Invitation.state`` (transitions.py);
* the planning core imports nothing that performs I/O;
* deadlines come from ``workflow.Policy`` only.

(Function length and the CLI's import graph are checked by tests/test_shape.py.)
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "interview_sync"
PURE = ("workflow.py", "transitions.py", "planner.py", "steps.py", "compose.py", "mailbox/plan.py",
        "mailbox/classify.py", "mailbox/flows.py")
IO_MODULES = ("requests", "sqlite3", "sqlite_utils", "smtplib", "socket", "subprocess", "urllib",
              "interview_sync.state", "interview_sync.http", "interview_sync.context", "interview_sync.effects",
              "interview_sync.executor", "interview_sync.poll", "interview_sync.mail.transport")


def product_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "sandbox" not in p.relative_to(PACKAGE).parts)


def test_only_transitions_assigns_an_invitation_state() -> None:
    offenders = []
    for path in product_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "state" and path.name != "transitions.py":
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


def _runtime_imports(tree: ast.Module, package: str) -> list[str]:
    """Module-level imports, resolved to absolute names, leaving out ``if TYPE_CHECKING:``."""
    names = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return names


def test_the_planning_core_performs_no_io() -> None:
    for name in PURE:
        tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
        imported = _runtime_imports(tree, "interview_sync")
        bad = [i for i in imported if any(i == m or i.startswith(m + ".") for m in IO_MODULES)]
        assert bad == [], f"{name} imports {bad}"


RAW_POLICY = {"booking_deadline_hours", "followup_deadline_hours", "reminder_hours_before", "feedback_after_hours",
              "no_availability_days"}


def _of_settings_policy(node: ast.expr) -> bool:
    """``<...>settings.policy`` (the configured section), not a ``workflow.Policy``."""
    if not (isinstance(node, ast.Attribute) and node.attr == "policy"):
        return False
    owner = node.value
    return (isinstance(owner, ast.Name) and owner.id == "settings") or \
        (isinstance(owner, ast.Attribute) and owner.attr == "settings")


def test_deadlines_come_from_workflow_policy_only() -> None:
    """``workflow.Policy`` is the one representation of the timing rules: nothing else reads
    the configured hours (config.py defines them, Policy.from_settings converts them)."""
    readers = []
    for path in product_modules():
        if path.name in ("config.py", "workflow.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in RAW_POLICY and _of_settings_policy(node.value):
                readers.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.attr}")
    assert readers == []


def test_the_checks_see_what_they_look_for() -> None:
    """The AST walks above must be able to fail: a state assignment and an I/O import are found."""
    tree = ast.parse("import sqlite3\nfrom .state import StateDB\ninv.state = 'x'\nself.settings.policy.x\n")
    assert any(_of_settings_policy(n) for n in ast.walk(tree))
    assert "sqlite3" in _runtime_imports(tree, "interview_sync")
    assert "interview_sync.state" in _runtime_imports(tree, "interview_sync")
    assert any(isinstance(n, ast.Assign) and n.targets[0].attr == "state"  # type: ignore[attr-defined]
               for n in ast.walk(tree))

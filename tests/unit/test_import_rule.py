"""workers -> (agents | reports) -> blackboard: imports flow one way (import-linter checks it in CI too)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ALLOWED = {
    "blackboard": {"blackboard"},
    "agents": {"agents", "blackboard"},
    "reports": {"reports", "blackboard"},
    "workers": {"workers", "agents", "reports", "blackboard"},
}


def project_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in ALLOWED)
    return found


def test_imports_flow_one_way() -> None:
    broken = []
    for package, allowed in ALLOWED.items():
        for path in sorted((REPO / package).rglob("*.py")):
            for imported in project_imports(path) - allowed:
                broken.append(f"{path.relative_to(REPO)} imports {imported}")
    assert broken == []

"""The payments domain modules stay free of Flask, SQLAlchemy and the like."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PURE = [
    "instructions",
    "codes",
    "breaker",
    "health",
    "routing",
    "engine",
    "schedules",
    "reconciliation",
    "ports",
    "banks",
]
FORBIDDEN = {
    "flask",
    "sqlalchemy",
    "flask_smorest",
    "marshmallow",
    "celery",
    "redis",
    "psycopg",
    "lendbridge_sandbox",
}


def test_pure_modules_import_no_framework() -> None:
    for name in PURE:
        path = REPO / "platform/lendbridge/payments" / f"{name}.py"
        tree = ast.parse(path.read_text())
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
                if node.module.startswith("lendbridge.payments."):
                    assert node.module.split(".")[-1] in PURE, f"{name}.py imports the edge {node.module}"
        assert not found & FORBIDDEN, f"{name}.py imports {found & FORBIDDEN}"

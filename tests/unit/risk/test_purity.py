"""The risk domain core stays free of frameworks, databases and numeric libraries."""

from __future__ import annotations

import ast
from pathlib import Path

RISK = Path(__file__).resolve().parents[3] / "platform" / "lendbridge" / "risk"
PURE = ("ports", "reasons", "rules", "graph", "features", "scorecard", "matching", "pricing", "decision")
FORBIDDEN = {
    "flask",
    "sqlalchemy",
    "flask_smorest",
    "marshmallow",
    "celery",
    "redis",
    "psycopg",
    "numpy",
    "pandas",
    "sklearn",
    "optbinning",
    "pybreaker",
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
            if node.module.startswith("lendbridge.risk."):
                names.add(node.module)
    return names


def test_pure_modules_import_no_framework_or_numeric_library() -> None:
    for name in PURE:
        bad = _imports(RISK / f"{name}.py") & FORBIDDEN
        assert not bad, f"risk/{name}.py imports {bad}"


def test_pure_modules_import_only_pure_risk_modules() -> None:
    allowed = {f"lendbridge.risk.{n}" for n in PURE}
    for name in PURE:
        risk_imports = {i for i in _imports(RISK / f"{name}.py") if i.startswith("lendbridge.risk.")}
        assert risk_imports <= allowed, f"risk/{name}.py imports edge modules {risk_imports - allowed}"

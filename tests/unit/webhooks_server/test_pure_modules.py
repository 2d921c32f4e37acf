"""The webhook policy modules stay free of web and database frameworks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3] / "platform" / "lendbridge" / "webhooks"
PURE = ["retries.py", "ssrf.py", "patterns.py", "transport.py", "messages.py", "secrets.py"]
FORBIDDEN = {"flask", "sqlalchemy", "flask_smorest", "marshmallow", "celery", "redis", "psycopg"}


@pytest.mark.parametrize("name", PURE)
def test_module_has_no_framework_imports(name: str) -> None:
    tree = ast.parse((ROOT / name).read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
            if node.module.startswith("lendbridge."):
                assert node.module.split(".")[1] in {"core", "crypto", "webhooks"}, node.module
    assert not imported & FORBIDDEN

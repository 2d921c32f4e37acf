"""setup.cfg lists every package and the domain core stays free of Flask and SQLAlchemy."""

from __future__ import annotations

import ast
import configparser
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOTS = {
    "lendbridge": "platform",
    "lendbridge_sdk": "sdk",
    "lendbridge_webhooks": "webhooks",
    "lendbridge_sandbox": "sandbox",
}
PURE = [
    "platform/lendbridge/core",
    "platform/lendbridge/tenancy/domain.py",
    "platform/lendbridge/loans/schedules.py",
    "platform/lendbridge/loans/apr.py",
    "platform/lendbridge/loans/waterfall.py",
    "platform/lendbridge/loans/states.py",
    "platform/lendbridge/loans/delinquency.py",
    "platform/lendbridge/ledger/postings.py",
    "platform/lendbridge/crypto",
    "platform/lendbridge/identity/validators.py",
    "platform/lendbridge/identity/masking.py",
]
FORBIDDEN = ("flask", "sqlalchemy", "flask_smorest", "marshmallow", "celery", "redis", "psycopg")


def test_setup_cfg_lists_every_package() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    found = set()
    for package, root in ROOTS.items():
        base = REPO / root
        for init in (base / package).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(base).parts))
    assert found - listed == set(), "add these to [options] packages in setup.cfg"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_domain_core_has_no_framework_imports() -> None:
    checked = 0
    for entry in PURE:
        target = REPO / entry
        files = list(target.rglob("*.py")) if target.is_dir() else ([target] if target.exists() else [])
        for path in files:
            checked += 1
            bad = _imports(path) & set(FORBIDDEN)
            assert not bad, f"{path.relative_to(REPO)} imports {bad}"
    assert checked >= 5

"""lendbridge_webhooks stays dependency-free: the SDK wheel ships it to partners as is."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import lendbridge_webhooks

PACKAGE = Path(lendbridge_webhooks.__file__).parent


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_the_standard_library_is_imported() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert modules
    for module in modules:
        foreign = imported_roots(module) - set(sys.stdlib_module_names) - {"lendbridge_webhooks"}
        assert not foreign, f"{module.name} imports {sorted(foreign)}"


def test_package_is_typed() -> None:
    assert (PACKAGE / "py.typed").exists()

"""The SDK builds alone (`pip install ./sdk`): requests is its only dependency and it ships
lendbridge_webhooks through the symlink, without a second copy of the code."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import lendbridge_sdk

REPO = Path(__file__).parents[3]
SDK = REPO / "sdk"


def test_build_file_declares_requests_only_and_both_packages() -> None:
    project = tomllib.loads((SDK / "pyproject.toml").read_text())
    assert project["project"]["name"] == "lendbridge-sdk"
    assert project["project"]["dependencies"] == ["requests>=2.32"]
    assert project["tool"]["setuptools"]["packages"] == ["lendbridge_sdk", "lendbridge_webhooks"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "lendbridge_sdk._version.__version__"
    }


def test_webhooks_package_is_a_symlink_not_a_copy() -> None:
    link = SDK / "lendbridge_webhooks"
    assert link.is_symlink()
    assert link.resolve() == (REPO / "webhooks" / "lendbridge_webhooks").resolve()


def test_sdk_imports_only_stdlib_requests_and_the_webhook_library() -> None:
    allowed = set(sys.stdlib_module_names) | {"requests", "lendbridge_sdk", "lendbridge_webhooks"}
    package = Path(lendbridge_sdk.__file__).parent
    for module in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            foreign = {name.split(".")[0] for name in names} - allowed
            assert not foreign, f"{module.name} imports {sorted(foreign)}"
    assert (package / "py.typed").exists()

"""Master key loading, the pure modules' imports, and access-log redaction."""

from __future__ import annotations

import ast
import logging
import threading
from pathlib import Path

import pytest

from lendbridge.config import Settings
from lendbridge.crypto.envelope import MasterKey
from lendbridge.crypto.errors import KeyConfigError
from lendbridge.identity.api import RedactSearchParams
from lendbridge.identity.keys import load_master_key

REPO = Path(__file__).resolve().parents[3]
FORBIDDEN = {"flask", "sqlalchemy", "flask_smorest", "marshmallow", "celery", "redis", "psycopg"}


def _production(tmp_path: Path, **changes: object) -> Settings:
    return Settings(data_dir=tmp_path, database_url="postgresql://db/lendbridge", **changes)  # type: ignore[arg-type]


def test_master_key_from_the_environment_value(tmp_path: Path) -> None:
    key = MasterKey.generate()
    loaded = load_master_key(_production(tmp_path, master_key=key.to_base64()))
    assert loaded.material == key.material
    assert not (tmp_path / "master.key").exists()


def test_master_key_from_a_file(tmp_path: Path) -> None:
    key = MasterKey.generate()
    path = tmp_path / "kms" / "master"
    path.parent.mkdir()
    path.write_text(key.to_base64())
    assert load_master_key(_production(tmp_path, master_key_file=path)).material == key.material


def test_production_without_a_master_key_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError, match="LENDBRIDGE_MASTER_KEY"):
        load_master_key(_production(tmp_path))
    assert not (tmp_path / "master.key").exists()


def test_embedded_mode_generates_one_private_key_file_even_when_raced(tmp_path: Path) -> None:
    settings = Settings.from_env({"LENDBRIDGE_DATA_DIR": str(tmp_path)})
    keys: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: keys.append(load_master_key(settings).material)) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1
    path = tmp_path / "master.key"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]
    assert load_master_key(settings).material == keys[0]


def test_a_bad_master_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError, match="16 bytes"):
        load_master_key(_production(tmp_path, master_key="c2hvcnQ="))


@pytest.mark.parametrize("module", ["kyc.py", "facts.py"])
def test_pure_identity_modules_import_no_framework(module: str) -> None:
    tree = ast.parse((REPO / "platform/lendbridge/identity" / module).read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    assert not names & FORBIDDEN


def test_search_values_are_redacted_from_access_log_lines() -> None:
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '%s - - [%s] "%s" %s %s',
        (
            "127.0.0.1",
            "now",
            "GET /v1/borrowers?phone=13812345678&id_number=11010519491231002X HTTP/1.1",
            200,
            5,
        ),
        None,
    )
    assert RedactSearchParams().filter(record)
    message = record.getMessage()
    assert "13812345678" not in message and "11010519491231002X" not in message
    assert "phone=[redacted]&id_number=[redacted]" in message

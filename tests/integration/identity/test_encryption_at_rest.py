"""Personal data at rest: only field tokens and blind indexes, in rows, files, WAL and dumps."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import inspect, select, text, update

from lendbridge.crypto.envelope import decrypt_field, field_context
from lendbridge.crypto.errors import DecryptionError
from lendbridge.db import TenantContext
from lendbridge.identity import services as identity
from lendbridge.identity.keys import key_service
from lendbridge.identity.models import Borrower
from lendbridge.uow import UnitOfWork
from tests.factories.identity import company, create_borrower, person, plaintexts
from tests.factories.tenancy import auth, make_tenant

TOKEN_PREFIX = "v1.dek_"


def _people(app: Flask, key: str, n: int = 3) -> list[dict[str, object]]:
    client = app.test_client()
    bodies = [person() for _ in range(n)] + [company()]
    for body in bodies:
        create_borrower(client, key, body)
    # Read paths too: searches and GETs must not leave plaintext behind either.
    client.get(f"/v1/borrowers?id_number={bodies[0]['id_number']}", headers=auth(key))
    return bodies


def test_every_personal_field_is_a_token_bound_to_its_borrower_and_field(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    client = any_app.test_client()
    a = create_borrower(client, keys.test_key)
    b = create_borrower(client, keys.test_key)
    db = any_app.extensions["lendbridge"].db
    with db.reader() as s:
        rows = {r.id: r for r in s.execute(select(Borrower)).scalars()}
    for created in (a, b):
        row = rows[created.id]
        assert set(row.pii) == {
            "name",
            "id_number",
            "phone",
            "bank_card",
            "address",
            "occupation",
            "employer",
        }
        assert all(token.startswith(TOKEN_PREFIX) for token in row.pii.values())
        assert len({t.split(".")[1] for t in row.pii.values()}) == 1  # one DEK per borrower
    assert rows[a.id].pii["name"].split(".")[1] != rows[b.id].pii["name"].split(".")[1]
    # A token moved to another field or another borrower does not decrypt.
    with UnitOfWork(db, TenantContext(keys.tenant_id, False), write=False) as uow:
        row_a = uow.session.get(Borrower, a.id)
        assert row_a is not None and row_a.key is not None
        dek = key_service(uow).borrower_dek(uow, row_a, row_a.key)
        assert dek is not None
        token = rows[a.id].pii["phone"]
        assert decrypt_field(dek, token, field_context(keys.tenant_id, a.id, "phone")) == a.body["phone"]
        with pytest.raises(DecryptionError):
            decrypt_field(dek, token, field_context(keys.tenant_id, a.id, "bank_card"))
        with pytest.raises(DecryptionError):
            decrypt_field(dek, token, field_context(keys.tenant_id, b.id, "phone"))


def test_a_swapped_ciphertext_fails_loudly_instead_of_showing_another_person(app: Flask) -> None:
    keys = make_tenant(app)
    client = app.test_client()
    a = create_borrower(client, keys.test_key)
    b = create_borrower(client, keys.test_key)
    db = app.extensions["lendbridge"].db
    with db.writer() as s:
        row_a, row_b = s.get(Borrower, a.id), s.get(Borrower, b.id)
        assert row_a is not None and row_b is not None
        s.execute(update(Borrower).where(Borrower.id == a.id).values(pii=row_b.pii))
        s.commit()
    with (
        UnitOfWork(db, TenantContext(keys.tenant_id, False), write=False) as uow,
        pytest.raises(Exception) as exc,
    ):
        identity.get_borrower(uow, a.id)
    assert b.body["name"] not in str(exc.value)


def test_no_plaintext_derived_columns_exist(any_app: Flask) -> None:
    engine = any_app.extensions["lendbridge"].db.engine
    columns = {c["name"] for c in inspect(engine).get_columns("borrowers")}
    assert columns == {
        "id",
        "type",
        "kyc_status",
        "kyc_reasons",
        "pii",
        "id_number_bidx",
        "phone_bidx",
        "bank_card_bidx",
        "uscc_bidx",
        "test_clock_id",
        "metadata",
        "created",
        "updated",
        "erased_at",
        "tenant_id",
        "livemode",
    }


def test_sqlite_data_dir_holds_no_plaintext_including_wal(app: Flask) -> None:
    keys = make_tenant(app)
    # An open reader keeps the WAL file (and the new pages in it) from being checkpointed
    # away, so the scan below really reads what was written through the WAL.
    with app.extensions["lendbridge"].db.engine.connect() as held:
        held.exec_driver_sql("SELECT count(*) FROM tenants").all()  # opens a read transaction
        bodies = _people(app, keys.test_key)
        data_dir = app.extensions["lendbridge"].settings.data_dir
        files = [p for p in Path(data_dir).rglob("*") if p.is_file()]
        wal = [p for p in files if p.name.endswith("-wal")]
        assert wal and b"v1.dek_" in wal[0].read_bytes(), "expected the new rows in a live WAL file"
        blob = b"".join(p.read_bytes() for p in files)
    for body in bodies:
        for value in plaintexts(body):
            assert value.encode() not in blob, "plaintext found in the data dir"
            assert value.encode("utf-16-le") not in blob


def test_pg_dump_holds_no_plaintext(pg_app: Flask, pg_url: str) -> None:
    keys = make_tenant(pg_app)
    bodies = _people(pg_app, keys.test_key, n=5)
    url = pg_url.replace("postgresql+psycopg://", "postgresql://")
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--inserts", url], capture_output=True, check=True, timeout=120
    ).stdout
    assert b"INSERT INTO public.borrowers" in dump and TOKEN_PREFIX.encode() in dump
    text_dump = dump.decode("utf-8")
    for body in bodies:
        for value in plaintexts(body):
            assert value not in text_dump
            assert value.encode() not in dump
    # The custom (binary, compressed-off) format too.
    binary = subprocess.run(
        ["pg_dump", "--format=custom", "--compress=0", url], capture_output=True, check=True, timeout=120
    ).stdout
    for body in bodies:
        for value in plaintexts(body):
            assert value.encode() not in binary


def test_tenant_keys_are_stored_wrapped_by_the_master_key(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    create_borrower(any_app.test_client(), keys.test_key)
    with any_app.extensions["lendbridge"].db.reader() as s:
        rows = s.execute(text("SELECT kind, status, wrapped FROM tenant_keys")).all()
        wrapped_dek = s.execute(text("SELECT wrapped FROM borrower_keys")).scalar_one()
    assert sorted((r.kind, r.status) for r in rows) == [("data", "active"), ("index", "active")]
    assert all(r.wrapped.startswith("k1.master-1.") for r in rows)
    data_key_id = next(r.wrapped.split(".")[2] for r in rows if r.kind == "data")
    assert wrapped_dek.startswith(f"k1.{data_key_id}.dek_")
    master = (any_app.extensions["lendbridge"].settings.data_dir / "master.key").stat()
    assert oct(master.st_mode & 0o777) == "0o600"


def test_reading_borrowers_makes_no_kms_call_on_the_hot_path(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    client = any_app.test_client()
    made = [create_borrower(client, keys.test_key) for _ in range(3)]
    service = key_service(any_app.extensions["lendbridge"].db)
    before = service.kms_calls
    for _ in range(3):
        for created in made:
            assert client.get(f"/v1/borrowers/{created.id}", headers=auth(keys.test_key)).status_code == 200
        create_borrower(client, keys.test_key)
        client.get(f"/v1/borrowers?phone={made[0].body['phone']}", headers=auth(keys.test_key))
    assert service.kms_calls == before
    # A new process (empty caches) unwraps the tenant's two keys once, then none again.
    service._tenants.clear()
    service.deks.clear()
    for created in made:
        client.get(f"/v1/borrowers/{created.id}", headers=auth(keys.test_key))
    assert service.kms_calls == before + 2


def test_master_key_from_environment_is_used(tmp_path: Path, sqlite_template: Path) -> None:
    import shutil

    from lendbridge.app import create_app
    from lendbridge.config import Settings
    from lendbridge.crypto.envelope import MasterKey

    shutil.copy(sqlite_template, tmp_path / "lendbridge.sqlite3")
    master = MasterKey.generate()
    app = create_app(Settings.for_tests(tmp_path, master_key=master.to_base64()))
    try:
        keys = make_tenant(app)
        created = create_borrower(app.test_client(), keys.test_key)
        assert not (tmp_path / "master.key").exists()
        # Another app over the same database with the same master key reads the borrower.
        again = create_app(Settings.for_tests(tmp_path, master_key=master.to_base64()))
        resp = again.test_client().get(f"/v1/borrowers/{created.id}", headers=auth(keys.test_key))
        assert resp.status_code == 200 and resp.get_json()["phone"] == created.response["phone"]
        again.extensions["lendbridge"].db.engine.dispose()
    finally:
        app.extensions["lendbridge"].tasks.shutdown()
        app.extensions["lendbridge"].db.engine.dispose()
    assert os.environ.get("LENDBRIDGE_MASTER_KEY") is None


def test_production_without_a_master_key_answers_503_and_stores_nothing(
    pg_app: Flask, pg_url: str, tmp_path: Path
) -> None:
    from lendbridge.app import create_app
    from lendbridge.config import Settings

    keys = make_tenant(pg_app)
    production = create_app(Settings.for_tests(tmp_path / "prod", database_url=pg_url, testing=False))
    try:
        resp = production.test_client().post("/v1/borrowers", json=person(), headers=auth(keys.test_key))
        assert resp.status_code == 503 and resp.get_json()["code"] == "encryption_unavailable"
        assert not (tmp_path / "prod" / "master.key").exists()
    finally:
        production.extensions["lendbridge"].db.engine.dispose()
    with pg_app.extensions["lendbridge"].db.reader() as s:
        assert s.execute(text("SELECT count(*) FROM borrowers")).scalar_one() == 0

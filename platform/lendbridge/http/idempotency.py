"""Idempotency keys stored in the database, in the same transaction as the effect.

Flow for a POST carrying `Idempotency-Key`:
1. Inside the request's write transaction, insert (tenant, mode, key, fingerprint) under a
   savepoint. A concurrent request with the same key blocks on the unique index (PostgreSQL)
   or on the write lock (SQLite) until the first one commits, then sees the conflict.
2. On conflict, the stored row decides: same fingerprint -> replay the stored response
   (header `Idempotent-Replayed: true`); different fingerprint -> 409 idempotency_key_reused.
3. Otherwise the view runs; its successful response is written into the row and commits
   together with the effect. An error response rolls everything back, key included, so a
   retry runs again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Response
from sqlalchemy import Boolean, Integer, String, Text, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.core.errors import IdempotencyKeyReused, InvalidParameter
from lendbridge.db import Base
from lendbridge.uow import UnitOfWork

RETENTION = timedelta(hours=24)
MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("Content-Type", "Location")


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    request_id: Mapped[str | None] = mapped_column(String(40))
    created: Mapped[datetime] = mapped_column(index=True)


@dataclass
class Claim:
    row: IdempotencyKey


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Same logical request -> same fingerprint, whatever the JSON whitespace or key order."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def validate_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidParameter(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters", param="Idempotency-Key"
        )
    return key


def claim(uow: UnitOfWork, tenant_id: str, livemode: bool, key: str, print_: str) -> Claim | Response:
    """Reserve the key for this request, or return the stored response to replay."""
    now = uow.now()
    session = uow.session
    row = IdempotencyKey(
        tenant_id=tenant_id,
        livemode=livemode,
        key=key,
        fingerprint=print_,
        created=now,
        request_id=uow.request_id,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
        return Claim(row)
    except IntegrityError:
        pass
    existing = session.execute(
        select(IdempotencyKey)
        .where(
            IdempotencyKey.tenant_id == tenant_id,
            IdempotencyKey.livemode == livemode,
            IdempotencyKey.key == key,
        )
        .execution_options(populate_existing=True)
    ).scalar_one()
    if existing.created < now - RETENTION:
        # Expired: the key may be used afresh.
        session.delete(existing)
        session.flush()
        return claim(uow, tenant_id, livemode, key, print_)
    if existing.fingerprint != print_:
        raise IdempotencyKeyReused(
            "An idempotency key can only be reused with the same parameters it was first used with",
            param="Idempotency-Key",
        )
    return replay(existing)


def replay(row: IdempotencyKey) -> Response:
    resp = Response(row.body or "", status=row.status_code or 200)
    for name, value in (row.headers or {}).items():
        resp.headers[name] = value
    resp.headers["Idempotent-Replayed"] = "true"
    if row.request_id:
        resp.headers["Original-Request"] = row.request_id
    return resp


SECRET_FIELDS = frozenset({"secret", "client_secret", "signing_secret", "client_token"})


def _without_secrets(value: Any) -> Any:
    """Credentials are shown once; a stored (replayable) response must not keep them."""
    if isinstance(value, dict):
        return {k: (None if k in SECRET_FIELDS else _without_secrets(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def store(claim_: Claim, response: Response) -> None:
    row = claim_.row
    row.status_code = response.status_code
    body = response.get_data(as_text=True)
    if response.is_json and any(f'"{name}"' in body for name in SECRET_FIELDS):
        body = json.dumps(_without_secrets(json.loads(body)), ensure_ascii=False)
    row.body = body
    row.headers = {h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers}


def purge_expired(uow: UnitOfWork) -> int:
    result = uow.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created < uow.now() - RETENTION))
    return int(getattr(result, "rowcount", 0) or 0)

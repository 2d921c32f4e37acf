"""Key storage and the per-process key service (see crypto/envelope.py for the hierarchy).

    master key (KMS port: LocalKms from LENDBRIDGE_MASTER_KEY / _FILE / <data dir>/master.key)
      -> tenant_keys      per tenant: `data` keys (one active, others decrypt-only while a
                          rotation runs) and one `index` key (blind indexes), stored wrapped
        -> borrower_keys  one DEK per borrower, wrapped by a tenant data key (`kek_id`)
          -> field tokens in borrowers.pii, borrower_documents, consents

Hot path: a tenant's keys are unwrapped by the KMS once per process and kept for
`ttl` seconds; a borrower's DEK is unwrapped locally (SM4 under the tenant key) and kept
in a `KeyCache`. Reading or writing a borrower therefore costs no KMS call, only the row
that carries its wrapped DEK.

Staleness is safe by construction, because the database stays the authority:
- a write checks, under a shared row lock, that its cached active tenant key is still
  the active one (rotation flips it under an exclusive lock), so no new DEK is ever
  wrapped under a key that a rotation is retiring;
- a read that meets an unknown key id reloads the tenant's keys (and, if the key was
  retired meanwhile, re-reads the borrower's wrapped DEK, which was re-wrapped first).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lendbridge.audit import service as audit
from lendbridge.config import Settings
from lendbridge.core.errors import ServiceUnavailable
from lendbridge.crypto.blind_index import BlindIndexer
from lendbridge.crypto.envelope import (
    DataKey,
    KeyCache,
    KeyProvider,
    Keyring,
    LocalKms,
    MasterKey,
    make_context,
    new_data_key,
    new_index_key,
)
from lendbridge.crypto.errors import KeyConfigError, UnknownKeyError
from lendbridge.db import Database
from lendbridge.identity.models import Borrower, BorrowerKey, TenantKey
from lendbridge.uow import UnitOfWork

log = logging.getLogger("lendbridge.identity.keys")

MASTER_KEY_FILE = "master.key"
ACTIVE, DECRYPT_ONLY, RETIRED = "active", "decrypt_only", "retired"
DATA, INDEX = "data", "index"
_CREATED_KEY = "identity_keyrings_created"
_VERIFIED_KEY = "identity_keyrings_verified"


class EncryptionUnavailable(ServiceUnavailable):
    code = "encryption_unavailable"
    title = "Encryption unavailable"


# --- the master key -------------------------------------------------------------------------


def load_master_key(settings: Settings) -> MasterKey:
    """LENDBRIDGE_MASTER_KEY (base64), else LENDBRIDGE_MASTER_KEY_FILE, else - embedded or
    test settings only - `<data dir>/master.key`, generated (mode 0600) on first use."""
    if settings.master_key:
        return MasterKey.from_base64(settings.master_key)
    if settings.master_key_file is not None:
        return MasterKey.from_file(settings.master_key_file)
    if settings.embedded or settings.testing:
        return _load_or_create_master_file(settings.data_dir / MASTER_KEY_FILE)
    raise KeyConfigError(
        "no master key: set LENDBRIDGE_MASTER_KEY (base64 of 16 random bytes) or "
        "LENDBRIDGE_MASTER_KEY_FILE; only the embedded SQLite default generates one"
    )


def _load_or_create_master_file(path: Path) -> MasterKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write a private temp file, then link it into place: two processes starting
        # together agree on one key, and nobody ever reads a half-written file.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(MasterKey.generate().to_base64() + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return MasterKey.from_file(path)


# --- contexts ---------------------------------------------------------------------------------


def tenant_key_context(tenant_id: str, kind: str) -> str:
    return make_context("tenant-key", tenant_id, kind)


def dek_context(tenant_id: str, borrower_id: str) -> str:
    return make_context("borrower-dek", tenant_id, borrower_id)


# --- the service ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TenantKeys:
    """One tenant's unwrapped keys: the data keyring and the blind indexer."""

    tenant_id: str
    data: Keyring
    indexer: BlindIndexer
    expires: float


class KeyService:
    """Per-process key access for one database. Thread-safe.

    `kms_factory` builds the KeyProvider on first use (LocalKms by default; a production
    deployment passes its KMS client here). `kms_calls` counts unwraps sent to it.
    """

    def __init__(
        self,
        kms_factory: Callable[[], KeyProvider],
        *,
        ttl: float = 300.0,
        dek_cache: KeyCache | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kms_factory = kms_factory
        self._kms: KeyProvider | None = None
        self._ttl = ttl
        self._clock = clock
        self._tenants: dict[str, TenantKeys] = {}
        self._lock = threading.Lock()
        self.deks = dek_cache or KeyCache(max_entries=50_000, ttl_seconds=ttl, clock=clock)
        self.kms_calls = 0

    @property
    def kms(self) -> KeyProvider:
        if self._kms is None:
            with self._lock:
                if self._kms is None:
                    try:
                        self._kms = self._kms_factory()
                    except KeyConfigError as exc:
                        # Misconfiguration, not bad input: operators read the log line,
                        # callers get a 503 that says encryption is unavailable.
                        log.error("personal-data encryption unavailable: %s", exc)
                        raise EncryptionUnavailable(
                            "Personal-data encryption is not configured on this server"
                        ) from exc
        return self._kms

    # -- tenant keys ---------------------------------------------------------------------------
    def tenant(self, uow: UnitOfWork, tenant_id: str, *, create: bool = False) -> TenantKeys | None:
        """The tenant's keys: from the process cache, else the database (creating them when
        `create` and absent). None when the tenant has no keys and `create` is False."""
        created: dict[str, TenantKeys] = uow.session.info.get(_CREATED_KEY, {})
        if tenant_id in created:
            return created[tenant_id]
        cached = self._tenants.get(tenant_id)
        if cached is not None and cached.expires > self._clock():
            return cached
        keys = self.reload(uow, tenant_id)
        if keys is None and create:
            keys = self._create(uow, tenant_id)
        return keys

    def for_write(self, uow: UnitOfWork, tenant_id: str) -> TenantKeys:
        """The tenant's keys, checked once per transaction against the database: the active
        data key row is share-locked, so a rotation cannot retire it under this writer."""
        keys = self.tenant(uow, tenant_id, create=True)
        assert keys is not None
        verified: set[str] = uow.session.info.setdefault(_VERIFIED_KEY, set())
        if tenant_id in verified or tenant_id in uow.session.info.get(_CREATED_KEY, {}):
            return keys
        active_id = None
        for _ in range(5):
            # PostgreSQL: a statement that waited for a rotation's lock re-checks the row it
            # waited for (now decrypt-only) but cannot see the new key; the next one does.
            active_id = uow.session.execute(
                select(TenantKey.id)
                .where(TenantKey.tenant_id == tenant_id, TenantKey.kind == DATA, TenantKey.status == ACTIVE)
                .with_for_update(read=True)
            ).scalar_one_or_none()
            if active_id is not None:
                break
        if active_id is None:
            raise KeyConfigError(f"tenant {tenant_id} has no active data key")
        if active_id != keys.data.active.key_id:
            reloaded = self.reload(uow, tenant_id)
            assert reloaded is not None and reloaded.data.active.key_id == active_id
            keys = reloaded
        verified.add(tenant_id)
        return keys

    def forget_tenant(self, tenant_id: str) -> None:
        with self._lock:
            self._tenants.pop(tenant_id, None)

    def reload(self, uow: UnitOfWork, tenant_id: str) -> TenantKeys | None:
        """The tenant's keys from the database (KMS unwraps), cached afresh; None if absent."""
        rows = list(
            uow.session.execute(
                select(TenantKey)
                .where(TenantKey.tenant_id == tenant_id, TenantKey.status != RETIRED)
                .execution_options(populate_existing=True)
            ).scalars()
        )
        if not rows:
            return None
        keys = self._unwrap_rows(tenant_id, rows)
        with self._lock:
            self._tenants[tenant_id] = keys
        return keys

    def _unwrap_rows(self, tenant_id: str, rows: list[TenantKey]) -> TenantKeys:
        data_keys: list[DataKey] = []
        active_id = None
        index_key = None
        for row in rows:
            if row.wrapped is None:
                continue
            self.kms_calls += 1
            key = self.kms.unwrap(row.wrapped, tenant_key_context(tenant_id, row.kind))
            if row.kind == INDEX and row.status == ACTIVE:
                index_key = key
            elif row.kind == DATA:
                data_keys.append(key)
                if row.status == ACTIVE:
                    active_id = key.key_id
        if active_id is None or index_key is None:
            raise KeyConfigError(f"tenant {tenant_id} has no active data or index key")
        return TenantKeys(
            tenant_id,
            Keyring(data_keys, active_id),
            BlindIndexer(index_key, tenant_id),
            self._clock() + self._ttl,
        )

    def _create(self, uow: UnitOfWork, tenant_id: str) -> TenantKeys:
        data, index = new_data_key("tdk"), new_index_key("tik")
        now = uow.now()
        rows = [
            TenantKey(
                id=key.key_id,
                tenant_id=tenant_id,
                kind=kind,
                status=ACTIVE,
                wrapped=self.kms.wrap(key, tenant_key_context(tenant_id, kind)),
                created=now,
            )
            for key, kind in ((data, DATA), (index, INDEX))
        ]
        session = uow.session
        try:
            with session.begin_nested():
                session.add_all(rows)
                session.flush()
        except IntegrityError:
            # Another transaction created them first (the partial unique index).
            loaded = self.reload(uow, tenant_id)
            assert loaded is not None
            return loaded
        keys = TenantKeys(
            tenant_id, Keyring.of(data), BlindIndexer(index, tenant_id), self._clock() + self._ttl
        )
        # Not cached process-wide until committed: a rolled-back key must never be used.
        session.info.setdefault(_CREATED_KEY, {})[tenant_id] = keys
        uow.after_commit(lambda: self._cache(keys))
        audit.record(session, "tenant_keys.created", tenant_id, {"kinds": [DATA, INDEX]}, tenant_id=tenant_id)
        return keys

    def _cache(self, keys: TenantKeys) -> None:
        with self._lock:
            self._tenants[keys.tenant_id] = keys

    # -- borrower data keys --------------------------------------------------------------------
    def new_borrower_key(
        self, uow: UnitOfWork, tenant_id: str, borrower_id: str
    ) -> tuple[DataKey, BorrowerKey]:
        """A fresh DEK for a new borrower and its row (wrapped under the active tenant key)."""
        keys = self.for_write(uow, tenant_id)
        dek = new_data_key("dek")
        row = BorrowerKey(
            borrower_id=borrower_id,
            kek_id=keys.data.active.key_id,
            dek_id=dek.key_id,
            wrapped=keys.data.wrap(dek, dek_context(tenant_id, borrower_id)),
            created=uow.now(),
        )
        return dek, row

    def borrower_dek(
        self, uow: UnitOfWork, borrower: Borrower, key_row: BorrowerKey | None
    ) -> DataKey | None:
        """The borrower's DEK, or None once erased (no key row). Raises UnknownKeyError when
        the row was wrapped under a tenant key retired since it was read: read it again."""
        if key_row is None:
            return None
        context = dek_context(borrower.tenant_id, borrower.id)
        keys = self.tenant(uow, borrower.tenant_id)
        if keys is not None:
            try:
                return self.deks.unwrap(keys.data, key_row.wrapped, context)
            except UnknownKeyError:
                pass
        # Rotated since this process cached the tenant's keys: reload them.
        keys = self.reload(uow, borrower.tenant_id)
        if keys is None:
            raise KeyConfigError(f"tenant {borrower.tenant_id} has borrower keys but no tenant keys")
        return self.deks.unwrap(keys.data, key_row.wrapped, context)

    def unwrap_dek(self, keys: TenantKeys, borrower: Borrower, wrapped: str) -> DataKey:
        return self.deks.unwrap(keys.data, wrapped, dek_context(borrower.tenant_id, borrower.id))

    def forget_dek(self, dek_id: str) -> None:
        self.deks.forget(dek_id)


# --- rotation primitives (each runs in its caller's short transaction) -------------------------


def begin_rotation(uow: UnitOfWork, service: KeyService, tenant_id: str) -> tuple[str, list[str]] | None:
    """Add a new active data key for the tenant; the previous ones become decrypt-only.

    Returns (new key id, old key ids), or None when the tenant has no keys yet. Taking the
    exclusive lock on the active row waits for writers that share-locked it (`for_write`).
    """
    rows = list(
        uow.session.execute(
            select(TenantKey)
            .where(
                TenantKey.tenant_id == tenant_id,
                TenantKey.kind == DATA,
                TenantKey.status.in_((ACTIVE, DECRYPT_ONLY)),
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars()
    )
    if not rows:
        return None
    for row in rows:
        row.status = DECRYPT_ONLY
    uow.session.flush()
    new = new_data_key("tdk")
    uow.session.add(
        TenantKey(
            id=new.key_id,
            tenant_id=tenant_id,
            kind=DATA,
            status=ACTIVE,
            wrapped=service.kms.wrap(new, tenant_key_context(tenant_id, DATA)),
            created=uow.now(),
        )
    )
    uow.session.flush()
    old_ids = [r.id for r in rows]
    audit.record(
        uow.session,
        "tenant_keys.rotated",
        tenant_id,
        {"new": new.key_id, "old": old_ids},
        tenant_id=tenant_id,
    )
    return new.key_id, old_ids


def rewrap_batch(uow: UnitOfWork, service: KeyService, tenant_id: str, batch_size: int) -> int:
    """Re-wrap up to `batch_size` borrower DEKs still under an old tenant key; returns how many."""
    keys = service.reload(uow, tenant_id)
    if keys is None:
        return 0
    active = keys.data.active.key_id
    rows = list(
        uow.session.execute(
            select(BorrowerKey)
            .where(BorrowerKey.tenant_id == tenant_id, BorrowerKey.kek_id != active)
            .order_by(BorrowerKey.borrower_id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).scalars()
    )
    now = uow.now()
    for row in rows:
        row.wrapped = keys.data.rewrap(row.wrapped, dek_context(tenant_id, row.borrower_id))
        row.kek_id = active
        row.rotated_at = now
    return len(rows)


def remaining_under_old_keys(uow: UnitOfWork, tenant_id: str, old_ids: list[str]) -> int:
    return int(
        uow.session.execute(
            select(func.count())
            .select_from(BorrowerKey)
            .where(BorrowerKey.tenant_id == tenant_id, BorrowerKey.kek_id.in_(old_ids))
        ).scalar_one()
    )


def retire_keys(uow: UnitOfWork, tenant_id: str, old_ids: list[str]) -> bool:
    """Destroy the old keys' material once no borrower DEK is wrapped under them."""
    rows = list(
        uow.session.execute(
            select(TenantKey)
            .where(TenantKey.id.in_(old_ids), TenantKey.status == DECRYPT_ONLY)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars()
    )
    if remaining_under_old_keys(uow, tenant_id, old_ids):
        return False
    now = uow.now()
    for row in rows:
        row.status, row.wrapped, row.retired_at = RETIRED, None, now
    audit.record(uow.session, "tenant_keys.retired", tenant_id, {"keys": old_ids}, tenant_id=tenant_id)
    return True


def tenants_with_keys(db: Database) -> list[str]:
    with db.reader() as session:
        return list(
            session.execute(
                select(TenantKey.tenant_id)
                .where(TenantKey.kind == DATA)
                .distinct()
                .order_by(TenantKey.tenant_id)
            ).scalars()
        )


# --- one service per database -----------------------------------------------------------------

_SERVICES: weakref.WeakKeyDictionary[Database, KeyService] = weakref.WeakKeyDictionary()


def install(db: Database, service: KeyService) -> KeyService:
    _SERVICES[db] = service
    return service


def install_default(db: Database, settings: Settings) -> KeyService:
    """The embedded/local setup: LocalKms over the configured (or generated) master key."""
    return install(db, KeyService(lambda: LocalKms(load_master_key(settings))))


def key_service(uow_or_db: UnitOfWork | Database) -> KeyService:
    db = uow_or_db.db if isinstance(uow_or_db, UnitOfWork) else uow_or_db
    try:
        return _SERVICES[db]
    except KeyError:
        raise KeyConfigError(
            "identity keys are not set up for this database (create the app first)"
        ) from None

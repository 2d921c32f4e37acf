"""Identity use cases: borrowers, search, reveal, erasure, consents, KYC/KYB, key rotation.

Every function takes a UnitOfWork (scoped to the caller's tenant) and never commits, except
the background jobs (`run_*`, `rotate_keys`), which open their own short transactions so
that no slow provider call or OCR run holds a database transaction open.

Personal data rules kept here:
- values are validated, then exist only as field tokens under the borrower's DEK plus the
  four blind indexes (id_number, phone, bank_card, uscc); nothing else is derived and stored;
- audit records and events carry ids, field names and statuses, never values (audit
  changes are hashed, but an unsalted hash of an ID number is as good as the number);
- error messages name fields and borrower ids, never values.
"""

from __future__ import annotations

import base64
import binascii
import io
import ipaddress
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from lendbridge.audit import service as audit
from lendbridge.clocks import clock_for
from lendbridge.core.clock import Clock, business_date
from lendbridge.core.errors import Conflict, InvalidParameter, LendBridgeError, NotFound
from lendbridge.core.ids import new_id
from lendbridge.core.pagination import Page, PageRequest
from lendbridge.crypto.envelope import (
    DataKey,
    Keyring,
    decrypt_field,
    encrypt_field,
    field_context,
    new_data_key,
    reencrypt,
)
from lendbridge.crypto.errors import UnknownKeyError
from lendbridge.db import SYSTEM, Database, TenantContext
from lendbridge.events.outbox import emit
from lendbridge.identity import keys as keystore
from lendbridge.identity import kyc
from lendbridge.identity.facts import BorrowerFacts, PayoutAccount, build_facts, masked
from lendbridge.identity.keys import KeyService, TenantKeys, dek_context, key_service
from lendbridge.identity.models import Borrower, BorrowerDocument, BorrowerKey, Consent, KycCheck
from lendbridge.identity.schemas import BorrowerSchema, ConsentSchema
from lendbridge.identity.validators import (
    validate_bank_card,
    validate_cn_id,
    validate_cn_mobile,
    validate_uscc,
)
from lendbridge.tasks import TaskRunner
from lendbridge.uow import UnitOfWork

INDIVIDUAL, BUSINESS = "individual", "business"
FIELDS: dict[str, tuple[str, ...]] = {
    INDIVIDUAL: ("name", "id_number", "phone", "bank_card", "address", "occupation", "employer"),
    BUSINESS: (
        "company_name",
        "uscc",
        "legal_representative",
        "settlement_account",
        "contact_phone",
        "address",
    ),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    INDIVIDUAL: ("name", "id_number", "phone"),
    BUSINESS: ("company_name", "uscc", "legal_representative"),
}
TEXT_LIMITS = {
    "name": 100,
    "address": 200,
    "occupation": 100,
    "employer": 200,
    "company_name": 200,
    "legal_representative": 100,
}
# blind index column -> (index field name, source fields in order of preference)
BLIND_INDEXES: dict[str, tuple[str, tuple[str, ...]]] = {
    "id_number_bidx": ("id_number", ("id_number",)),
    "phone_bidx": ("phone", ("phone", "contact_phone")),
    "bank_card_bidx": ("bank_card", ("bank_card",)),
    "uscc_bidx": ("uscc", ("uscc",)),
}
SEARCHABLE = ("id_number", "phone", "bank_card", "uscc")
MAX_LICENCE_BYTES = 5 * 1024 * 1024
_SETTLEMENT_ACCOUNT = re.compile(r"[0-9]{8,32}")
_SEPARATORS = re.compile(r"[\s-]+")
_CHECK_STATUS = {"passed": "passed", "failed": "failed", "inconclusive": "review", "error": "error"}
_KYC_EVENTS = {
    kyc.KycStatus.VERIFIED: "borrower.kyc_verified",
    kyc.KycStatus.REJECTED: "borrower.kyc_rejected",
    kyc.KycStatus.REVIEW: "borrower.updated",
    kyc.KycStatus.PENDING: "borrower.updated",
}


class BorrowerErased(Conflict):
    code = "borrower_erased"
    title = "Borrower erased"


@dataclass(frozen=True)
class BorrowerRecord:
    """A borrower and its decrypted personal fields ({} once erased). In memory only."""

    borrower: Borrower
    values: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True)
class ConsentRecord:
    consent: Consent
    ip: str | None = field(default=None, repr=False)
    device: str | None = field(default=None, repr=False)


# --- helpers --------------------------------------------------------------------------------


def _is_write(uow: UnitOfWork) -> bool:
    return bool(uow.session.get_bind().get_execution_options().get("write"))


def _require_write(uow: UnitOfWork, what: str) -> None:
    if not _is_write(uow):
        raise RuntimeError(f"{what} records an audit entry: call it in a write unit of work")


def _tenant(uow: UnitOfWork) -> str:
    if uow.ctx.tenant_id is None:
        raise RuntimeError("identity services run in a tenant context")
    return uow.ctx.tenant_id


def _ctx(borrower: Borrower, name: str) -> str:
    return field_context(borrower.tenant_id, borrower.id, name)


def _not_found(borrower_id: str) -> NotFound:
    return NotFound(f"No such borrower: '{borrower_id}'", param="id")


def _load(
    uow: UnitOfWork, borrower_id: str, *, lock: bool = False, fresh: bool = False
) -> tuple[Borrower, BorrowerKey | None]:
    """The borrower and its key row, read in one statement (so both come from one
    snapshot). With `lock`, the borrower row is locked first and the key read after it, so
    a concurrent re-encryption or erasure is waited for, not raced."""
    if not lock:
        stmt = select(Borrower).where(Borrower.id == borrower_id).options(joinedload(Borrower.key))
        if fresh:
            stmt = stmt.execution_options(populate_existing=True)
        borrower = uow.session.execute(stmt).scalar_one_or_none()
        if borrower is None:
            raise _not_found(borrower_id)
        return borrower, borrower.key
    borrower = uow.session.execute(
        select(Borrower)
        .where(Borrower.id == borrower_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if borrower is None:
        raise _not_found(borrower_id)
    key = uow.session.execute(
        select(BorrowerKey)
        .where(BorrowerKey.borrower_id == borrower_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    return borrower, key


def _dek(uow: UnitOfWork, borrower: Borrower, key: BorrowerKey | None) -> DataKey | None:
    if borrower.erased:
        return None
    return key_service(uow).borrower_dek(uow, borrower, key)


def _decrypt_all(uow: UnitOfWork, borrower: Borrower, key: BorrowerKey | None) -> dict[str, str]:
    try:
        return _decrypt_with(uow, borrower, key)
    except UnknownKeyError:
        # A key rotation re-wrapped or re-encrypted this borrower after it was read (and
        # retired the key it was read under): read row and key again, in one statement.
        borrower, key = _load(uow, borrower.id, fresh=True)
        return _decrypt_with(uow, borrower, key)


def _decrypt_with(uow: UnitOfWork, borrower: Borrower, key: BorrowerKey | None) -> dict[str, str]:
    dek = _dek(uow, borrower, key)
    if dek is None:
        return {}
    return {name: decrypt_field(dek, token, _ctx(borrower, name)) for name, token in borrower.pii.items()}


def _require_dek(uow: UnitOfWork, borrower: Borrower, key: BorrowerKey | None) -> DataKey:
    dek = _dek(uow, borrower, key)
    if dek is None:
        raise BorrowerErased(
            f"Borrower {borrower.id} was erased; its personal data no longer exists", param="id"
        )
    return dek


def _text(name: str, value: str) -> str:
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", value)).strip()
    if not text:
        raise InvalidParameter(f"{name} must not be empty", param=name, code=f"{name}_empty")
    if len(text) > TEXT_LIMITS[name]:
        raise InvalidParameter(f"{name} must be at most {TEXT_LIMITS[name]} characters", param=name)
    if not text.isprintable():
        raise InvalidParameter(f"{name} contains control characters", param=name)
    return text


def _settlement_account(value: str) -> str:
    digits = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value))
    if not _SETTLEMENT_ACCOUNT.fullmatch(digits):
        raise InvalidParameter(
            "settlement_account must be a bank account number of 8 to 32 digits",
            param="settlement_account",
            code="settlement_account_format",
        )
    return digits


def validate_fields(borrower_type: str, data: Mapping[str, Any], today: date) -> dict[str, str]:
    """Normalised personal fields of a new borrower, or InvalidParameter naming the field."""
    allowed = FIELDS[borrower_type]
    other = next(
        (f for fs in FIELDS.values() for f in fs if f not in allowed and data.get(f) is not None), None
    )
    if other is not None:
        raise InvalidParameter(
            f"{other} is not a field of {borrower_type} borrowers", param=other, code="parameter_unknown"
        )
    for name in REQUIRED[borrower_type]:
        if data.get(name) is None:
            raise InvalidParameter(
                f"{name} is required for {borrower_type} borrowers", param=name, code="parameter_missing"
            )
    values: dict[str, str] = {}
    for name in allowed:
        raw = data.get(name)
        if raw is None:
            continue
        if name == "id_number":
            values[name] = validate_cn_id(raw, param=name, today=today).number
        elif name == "uscc":
            values[name] = validate_uscc(raw, param=name).code
        elif name in ("phone", "contact_phone"):
            values[name] = validate_cn_mobile(raw, param=name).number
        elif name == "bank_card":
            values[name] = validate_bank_card(raw, param=name).number
        elif name == "settlement_account":
            values[name] = _settlement_account(raw)
        else:
            values[name] = _text(name, raw)
    return values


def _blind_indexes(keys: TenantKeys, values: Mapping[str, str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for column, (index_field, sources) in BLIND_INDEXES.items():
        source = next((values[s] for s in sources if values.get(s)), None)
        out[column] = keys.indexer.index(index_field, source) if source else None
    return out


def _decode_image(value: str, param: str) -> bytes:
    text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        data = base64.b64decode(re.sub(r"\s+", "", text), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameter(f"{param} must be base64", param=param, code="image_unreadable") from None
    if not data:
        raise InvalidParameter(f"{param} is empty", param=param, code="image_unreadable")
    if len(data) > MAX_LICENCE_BYTES:
        raise InvalidParameter(
            f"{param} must be at most {MAX_LICENCE_BYTES // (1024 * 1024)} MB",
            param=param,
            code="image_too_large",
        )
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise InvalidParameter(
            f"{param} is not a PNG or JPEG image", param=param, code="image_unreadable"
        ) from None
    return data


# --- presentation ---------------------------------------------------------------------------


def reason_objects(codes: Iterable[str]) -> list[dict[str, str]]:
    out = []
    for code in codes:
        reason = kyc.REASONS.get(code)
        out.append(
            {
                "code": code,
                "message": reason.en if reason else code,
                "message_zh": reason.zh if reason else code,
            }
        )
    return out


def event_body(borrower: Borrower) -> dict[str, Any]:
    """The borrower in events and webhooks: no personal data at all, not even masks
    (events are stored and sent on); receivers fetch the borrower for details."""
    return {
        "object": "borrower",
        "id": borrower.id,
        "created": borrower.created,
        "livemode": borrower.livemode,
        "type": borrower.type,
        "kyc_status": borrower.kyc_status,
        "kyc_reasons": reason_objects(borrower.kyc_reasons),
        "erased": borrower.erased,
        "test_clock": borrower.test_clock_id,
        "metadata": dict(borrower.metadata_ or {}),
    }


_BORROWER_SCHEMA = BorrowerSchema()
_CONSENT_SCHEMA = ConsentSchema()


def _event(borrower: Borrower) -> dict[str, Any]:
    body: dict[str, Any] = _BORROWER_SCHEMA.dump(event_body(borrower))
    return body


def borrower_body(record: BorrowerRecord, *, reveal: bool) -> dict[str, Any]:
    """The borrower as the API returns it: masked personal fields unless `reveal`."""
    borrower = record.borrower
    body = event_body(borrower)
    for name in FIELDS[borrower.type]:
        value = record.values.get(name)
        body[name] = value if reveal else masked(name, value)
    body["pii_masked"] = not reveal
    return body


# --- borrowers ------------------------------------------------------------------------------


def create_borrower(
    uow: UnitOfWork, data: Mapping[str, Any], *, tasks: TaskRunner | None = None
) -> BorrowerRecord:
    """Validate, encrypt and store a new borrower; 409 when its ID number / USCC exists."""
    tenant_id = _tenant(uow)
    borrower_type = data["type"]
    test_clock_id = data.get("test_clock")
    if test_clock_id is not None:
        if uow.ctx.livemode:
            raise InvalidParameter("test clocks exist only in test mode", param="test_clock")
        try:
            clock = clock_for(uow, test_clock_id)
        except NotFound:
            raise NotFound(f"No such test clock: '{test_clock_id}'", param="test_clock") from None
    else:
        clock = uow.clock
    values = validate_fields(borrower_type, data, business_date(clock.now()))
    licence = data.get("licence_image")
    if licence is not None and borrower_type != BUSINESS:
        raise InvalidParameter(
            "licence_image is not a field of individual borrowers",
            param="licence_image",
            code="parameter_unknown",
        )
    image = _decode_image(licence, "licence_image") if licence is not None else None

    keys_ = key_service(uow)
    tenant_keys = keys_.for_write(uow, tenant_id)
    indexes = _blind_indexes(tenant_keys, values)
    _refuse_duplicate(uow, indexes)

    borrower_id = new_id("brw")
    dek, key_row = keys_.new_borrower_key(uow, tenant_id, borrower_id)
    now = uow.now()
    borrower = Borrower(
        id=borrower_id,
        type=borrower_type,
        kyc_status=kyc.KycStatus.PENDING.value,
        kyc_reasons=[],
        pii={
            name: encrypt_field(dek, value, field_context(tenant_id, borrower_id, name))
            for name, value in values.items()
        },
        test_clock_id=test_clock_id,
        metadata_=dict(data.get("metadata") or {}),
        created=now,
        updated=now,
        **indexes,
    )
    borrower.key = key_row
    session = uow.session
    try:
        with session.begin_nested():
            session.add(borrower)
            session.flush()
    except IntegrityError:
        # A concurrent request stored the same person first.
        _refuse_duplicate(uow, indexes)
        raise
    audit.record(session, "borrower.created", borrower.id, {"type": borrower_type, "fields": sorted(values)})
    emit(uow, "borrower.created", _event(borrower))
    if image is not None:
        _start_licence_check(uow, borrower, dek, image, tasks)
    return BorrowerRecord(borrower, values)


def _refuse_duplicate(uow: UnitOfWork, indexes: Mapping[str, str | None]) -> None:
    for column, param in (("id_number_bidx", "id_number"), ("uscc_bidx", "uscc")):
        value = indexes.get(column)
        if value is None:
            continue
        existing = uow.session.execute(
            select(Borrower.id).where(getattr(Borrower, column) == value)
        ).scalar_one_or_none()
        if existing is not None:
            raise Conflict(
                f"A borrower with this {param} already exists: {existing}",
                param=param,
                code="borrower_exists",
            )


def _audit_reveal(uow: UnitOfWork, records: Iterable[BorrowerRecord]) -> None:
    for record in records:
        if record.values:
            audit.record(uow.session, "pii.revealed", record.borrower.id, {"fields": sorted(record.values)})


def ensure_borrower(uow: UnitOfWork, borrower_id: str) -> None:
    """404 for an unknown (or another tenant's or mode's) borrower, decrypting nothing."""
    _load(uow, borrower_id)


def get_borrower(uow: UnitOfWork, borrower_id: str, *, reveal: bool = False) -> BorrowerRecord:
    """One borrower, decrypted. `reveal` (full values will be shown) writes `pii.revealed`."""
    if reveal:
        _require_write(uow, "revealing personal data")
    borrower, key = _load(uow, borrower_id)
    record = BorrowerRecord(borrower, _decrypt_all(uow, borrower, key))
    if reveal:
        _audit_reveal(uow, [record])
    return record


def list_borrowers(
    uow: UnitOfWork, filters: Mapping[str, Any], page_request: PageRequest, *, reveal: bool = False
) -> Page[BorrowerRecord]:
    """Borrowers newest first; `id_number`/`phone`/`bank_card`/`uscc` find them by blind index."""
    if reveal:
        _require_write(uow, "revealing personal data")
    stmt = select(Borrower).options(joinedload(Borrower.key))
    searched = {name: filters[name] for name in SEARCHABLE if filters.get(name)}
    if searched:
        tenant_keys = key_service(uow).tenant(uow, _tenant(uow))
        if tenant_keys is None:  # no borrower was ever stored for this tenant
            return Page(data=[], has_more=False)
        for name, value in searched.items():
            try:
                index = tenant_keys.indexer.index(name, value)
            except ValueError:
                raise InvalidParameter(f"{name} must not be empty", param=name) from None
            stmt = stmt.where(getattr(Borrower, f"{name}_bidx") == index)
    if filters.get("type"):
        stmt = stmt.where(Borrower.type == filters["type"])
    if filters.get("kyc_status"):
        stmt = stmt.where(Borrower.kyc_status == filters["kyc_status"])
    page = uow.page(stmt, Borrower, page_request)
    records = []
    for borrower in page.data:
        record = BorrowerRecord(borrower, _decrypt_all(uow, borrower, borrower.key))
        if _confirms(record, searched, tenant_keys if searched else None):
            records.append(record)
    if reveal:
        _audit_reveal(uow, records)
    return Page(data=records, has_more=page.has_more)


def _confirms(record: BorrowerRecord, searched: Mapping[str, str], keys: TenantKeys | None) -> bool:
    """A blind-index hit confirmed on the decrypted value (rules out a 96-bit collision)."""
    if keys is None:
        return True
    for name, wanted in searched.items():
        sources = BLIND_INDEXES[f"{name}_bidx"][1]
        actual = next((record.values[s] for s in sources if record.values.get(s)), None)
        if actual is None or keys.indexer.normalise(name, actual) != keys.indexer.normalise(name, wanted):
            return False
    return True


def erase_borrower(uow: UnitOfWork, borrower_id: str) -> BorrowerRecord:
    """Crypto-shred the borrower (PIPL art. 47): delete its DEK, documents, blind indexes and
    tokens. The row stays (anonymous) so loans and ledger entries keep their reference.
    Erasing again changes nothing."""
    borrower, key = _load(uow, borrower_id, lock=True)
    if borrower.erased:
        return BorrowerRecord(borrower, {})
    session = uow.session
    dek_id = key.dek_id if key is not None else None
    if key is not None:
        session.delete(key)
    session.execute(delete(BorrowerDocument).where(BorrowerDocument.borrower_id == borrower.id))
    session.execute(
        update(Consent).where(Consent.borrower_id == borrower.id).values(ip_token=None, device_token=None)
    )
    now = uow.now()
    fields = sorted(borrower.pii)
    borrower.pii = {}
    borrower.id_number_bidx = borrower.phone_bidx = borrower.bank_card_bidx = borrower.uscc_bidx = None
    borrower.metadata_ = {}
    borrower.erased_at = now
    borrower.updated = now
    session.flush()
    audit.record(session, "borrower.erased", borrower.id, {"fields": fields})
    emit(uow, "borrower.erased", _event(borrower))
    if dek_id is not None:
        service = key_service(uow)
        uow.after_commit(lambda: service.forget_dek(dek_id))
    return BorrowerRecord(borrower, {})


# --- facts for other areas ------------------------------------------------------------------


def borrower_facts(uow: UnitOfWork, borrower_id: str, *, on: date | None = None) -> BorrowerFacts:
    """What risk and payments may use about a borrower, derived now and never stored.

    Ages are counted on `on` (default: today on the borrower's clock, so test clocks work).
    An erased borrower yields facts with every personal value None.
    """
    borrower, key = _load(uow, borrower_id)
    values = _decrypt_all(uow, borrower, key)
    day = on or business_date(clock_for(uow, borrower.test_clock_id).now())
    indexes = {name: value for name in SEARCHABLE if (value := getattr(borrower, f"{name}_bidx")) is not None}
    return build_facts(
        borrower_id=borrower.id,
        type=borrower.type,
        kyc_status=borrower.kyc_status,
        erased=borrower.erased,
        test_clock_id=borrower.test_clock_id,
        fields=values,
        blind_indexes=indexes,
        on=day,
    )


def payout_account(uow: UnitOfWork, borrower_id: str) -> PayoutAccount:
    """The full card (individuals) or settlement account (businesses) for a disbursement
    instruction, with the holder's name; audited as `pii.used_for_payment`.

    Raises BorrowerErased (409) for an erased borrower and Conflict
    `payout_account_missing` when none was given.
    """
    _require_write(uow, "payout_account")
    borrower, key = _load(uow, borrower_id)
    values = _decrypt_all(uow, borrower, key)
    if borrower.erased:
        raise BorrowerErased(f"Borrower {borrower.id} was erased; it has no payout account", param="id")
    kind, holder = (
        ("bank_card", "name") if borrower.type == INDIVIDUAL else ("settlement_account", "company_name")
    )
    if not values.get(kind):
        raise Conflict(
            f"Borrower {borrower.id} has no {kind} to pay out to", param=kind, code="payout_account_missing"
        )
    audit.record(uow.session, "pii.used_for_payment", borrower.id, {"fields": [kind, holder]})
    return PayoutAccount(borrower.id, kind, values[kind], values[holder])


# --- consents -------------------------------------------------------------------------------


def _consent_token(
    dek: DataKey, borrower: Borrower, consent_id: str, name: str, value: str | None
) -> str | None:
    if value is None:
        return None
    return encrypt_field(dek, value, _ctx(borrower, f"consent.{consent_id}.{name}"))


def _consent_values(
    uow: UnitOfWork, borrower: Borrower, key: BorrowerKey | None, consent: Consent
) -> tuple[str | None, str | None]:
    dek = _dek(uow, borrower, key)
    if dek is None:
        return None, None
    ip = device = None
    if consent.ip_token:
        ip = decrypt_field(dek, consent.ip_token, _ctx(borrower, f"consent.{consent.id}.ip"))
    if consent.device_token:
        device = decrypt_field(dek, consent.device_token, _ctx(borrower, f"consent.{consent.id}.device"))
    return ip, device


def grant_consent(
    uow: UnitOfWork,
    borrower_id: str,
    *,
    kind: str,
    version: str,
    language: str = "zh-CN",
    granted_at: datetime | None = None,
    expires_at: datetime | None = None,
    ip: str | None = None,
    device: str | None = None,
) -> ConsentRecord:
    """Record that the borrower accepted catalogue text (kind, version, language)."""
    entry = kyc.consent_text(kind, version, language)
    borrower, key = _load(uow, borrower_id, lock=True)
    dek = _require_dek(uow, borrower, key)
    now = clock_for(uow, borrower.test_clock_id).now()
    granted = granted_at or now
    if granted > now + timedelta(minutes=5):
        raise InvalidParameter("granted_at must not be in the future", param="granted_at")
    longest = granted + entry.validity if entry.validity is not None else None
    if expires_at is not None:
        if expires_at <= granted:
            raise InvalidParameter("expires_at must be after granted_at", param="expires_at")
        if entry.validity is not None and longest is not None and expires_at > longest:
            raise InvalidParameter(
                f"a {kind} consent lasts at most {entry.validity.days} days", param="expires_at"
            )
    if ip is not None:
        try:
            ip = str(ipaddress.ip_address(ip.strip()))
        except ValueError:
            raise InvalidParameter("ip must be an IPv4 or IPv6 address", param="ip") from None
    consent_id = new_id("cns")
    consent = Consent(
        id=consent_id,
        borrower_id=borrower.id,
        kind=kind,
        version=version,
        language=language,
        text_hash=entry.text_hash(language),
        granted_at=granted,
        expires_at=expires_at or longest,
        revoked_at=None,
        ip_token=_consent_token(dek, borrower, consent_id, "ip", ip),
        device_token=_consent_token(dek, borrower, consent_id, "device", device),
        created=uow.now(),
    )
    uow.session.add(consent)
    uow.session.flush()
    audit.record(
        uow.session,
        "consent.granted",
        consent.id,
        {"borrower": borrower.id, "kind": kind, "version": version},
    )
    emit(uow, "consent.granted", _CONSENT_SCHEMA.dump(consent_event_body(consent, now)))
    return ConsentRecord(consent, ip, device)


def consent_status(consent: Consent, at: datetime) -> str:
    if consent.revoked_at is not None and consent.revoked_at <= at:
        return "revoked"
    if consent.expires_at is not None and consent.expires_at <= at:
        return "expired"
    if consent.granted_at > at:
        return "scheduled"
    return "active"


def consent_event_body(consent: Consent, at: datetime) -> dict[str, Any]:
    return {
        "object": "consent",
        "id": consent.id,
        "created": consent.created,
        "livemode": consent.livemode,
        "borrower": consent.borrower_id,
        "kind": consent.kind,
        "version": consent.version,
        "language": consent.language,
        "text_hash": consent.text_hash,
        "granted_at": consent.granted_at,
        "expires_at": consent.expires_at,
        "revoked_at": consent.revoked_at,
        "status": consent_status(consent, at),
    }


def consent_body(record: ConsentRecord, at: datetime, *, reveal: bool) -> dict[str, Any]:
    body = consent_event_body(record.consent, at)
    body["ip"] = record.ip if reveal else _mask_ip(record.ip)
    body["device"] = record.device if reveal or record.device is None else masked("name", record.device)
    return body


def _mask_ip(ip: str | None) -> str | None:
    if ip is None:
        return None
    if ":" in ip:
        return ":".join(ip.split(":")[:3]) + ":*"
    return ".".join(ip.split(".")[:3]) + ".*"


def list_consents(
    uow: UnitOfWork, borrower_id: str, *, reveal: bool = False
) -> tuple[datetime, list[ConsentRecord]]:
    """The borrower's consents, newest first, with the borrower's current time."""
    if reveal:
        _require_write(uow, "revealing personal data")
    try:
        borrower, records = _read_consents(uow, borrower_id)
    except UnknownKeyError:  # re-encrypted between our reads by a key rotation: read again
        borrower, records = _read_consents(uow, borrower_id)
    if reveal:
        for record in records:
            if record.ip or record.device:
                audit.record(uow.session, "pii.revealed", record.consent.id, {"fields": ["ip", "device"]})
    return clock_for(uow, borrower.test_clock_id).now(), records


def _read_consents(uow: UnitOfWork, borrower_id: str) -> tuple[Borrower, list[ConsentRecord]]:
    borrower, _ = _load(uow, borrower_id, fresh=True)
    # Consents and the key row from one statement: tokens and DEK from one snapshot.
    rows = uow.session.execute(
        select(Consent, BorrowerKey)
        .outerjoin(BorrowerKey, BorrowerKey.borrower_id == Consent.borrower_id)
        .where(Consent.borrower_id == borrower.id)
        .order_by(Consent.id.desc())
        .execution_options(populate_existing=True)
    ).all()
    return borrower, [ConsentRecord(c, *_consent_values(uow, borrower, k, c)) for c, k in rows]


def revoke_consent(uow: UnitOfWork, borrower_id: str, consent_id: str) -> tuple[datetime, ConsentRecord]:
    """Withdraw a consent from now on (idempotent)."""
    borrower, _ = _load(uow, borrower_id, lock=True)
    consent = uow.session.execute(
        select(Consent).where(Consent.id == consent_id, Consent.borrower_id == borrower.id).with_for_update()
    ).scalar_one_or_none()
    if consent is None:
        raise NotFound(f"No such consent: '{consent_id}'", param="id")
    now = clock_for(uow, borrower.test_clock_id).now()
    if consent.revoked_at is None:
        consent.revoked_at = now
        uow.session.flush()
        audit.record(uow.session, "consent.revoked", consent.id, {"borrower": borrower.id})
        emit(uow, "consent.revoked", _CONSENT_SCHEMA.dump(consent_event_body(consent, now)))
    return now, ConsentRecord(consent)


def has_valid_consent(uow: UnitOfWork, borrower_id: str, kind: str, at: datetime) -> bool:
    """Whether the borrower's consent of `kind` was in force at `at`: granted, not yet
    expired, not revoked. False for an unknown or erased borrower (never query without)."""
    return kind in consents_in_force(uow, borrower_id, (kind,), at)


def consents_in_force(
    uow: UnitOfWork, borrower_id: str, kinds: Iterable[str], at: datetime
) -> frozenset[str]:
    """Which of `kinds` the borrower had consented to at `at`, in one query."""
    wanted = set(kinds)
    if unknown := wanted - set(kyc.CONSENT_KINDS):
        raise ValueError(f"unknown consent kinds {sorted(unknown)!r}")
    if not wanted:
        return frozenset()
    stmt = (
        select(Consent.kind)
        .join(Borrower, Borrower.id == Consent.borrower_id)
        .where(
            Borrower.id == borrower_id,
            Borrower.erased_at.is_(None),
            Consent.kind.in_(sorted(wanted)),
            Consent.granted_at <= at,
            or_(Consent.revoked_at.is_(None), Consent.revoked_at > at),
            or_(Consent.expires_at.is_(None), Consent.expires_at > at),
        )
        .distinct()
    )
    return frozenset(uow.session.execute(stmt).scalars())


def _require_type(borrower: Borrower, wanted: str) -> None:
    if borrower.type != wanted:
        check = "liveness checks" if wanted == INDIVIDUAL else "business licence checks"
        raise InvalidParameter(
            f"{check} are for {wanted} borrowers; this borrower is a {borrower.type}",
            param="id",
            code="borrower_type_invalid",
        )


# --- KYC: liveness / face match / video signing --------------------------------------------------


def start_liveness_check(
    uow: UnitOfWork,
    borrower_id: str,
    *,
    kind: str,
    provider_name: str,
    tasks: TaskRunner,
    capture_token: str | None = None,
) -> KycCheck:
    """Open a liveness (or video-signing) check; the provider is called in the background
    (`identity.liveness_check`) and the borrower's KYC status moves when it answers."""
    borrower, key = _load(uow, borrower_id, lock=True)
    _require_dek(uow, borrower, key)
    _require_type(borrower, INDIVIDUAL)
    kyc.ensure_accepts_checks(kyc.KycStatus(borrower.kyc_status))
    check = KycCheck(
        id=new_id("lvc"),
        borrower_id=borrower.id,
        kind=kind,
        status="processing",
        reasons=[],
        details={},
        provider=provider_name,
        created=uow.now(),
    )
    uow.session.add(check)
    uow.session.flush()
    audit.record(uow.session, "kyc_check.started", check.id, {"borrower": borrower.id, "kind": kind})
    args = (check.id, borrower.tenant_id, borrower.livemode, capture_token)
    uow.after_commit(lambda: tasks.enqueue("identity.liveness_check", *args))
    return check


def run_liveness_check(
    db: Database,
    clock: Clock,
    provider: kyc.LivenessProvider,
    check_id: str,
    tenant_id: str,
    livemode: bool,
    capture_token: str | None = None,
    *,
    deadline_seconds: float = 10.0,
    poll_seconds: float = 0.05,
) -> str:
    """Call the provider outside any transaction, then record the finding. Returns the
    check's final status."""
    ctx = TenantContext(tenant_id, livemode)
    with UnitOfWork(db, ctx, write=False, clock=clock, actor="identity.liveness") as uow:
        check = uow.get(KycCheck, check_id)
        if check.status != "processing":
            return check.status
        borrower, key = _load(uow, check.borrower_id)
        values = _decrypt_all(uow, borrower, key)
        kind = check.kind
    if not values:
        outcome, result = kyc.Outcome("error", ("provider_unavailable",)), None
    else:
        request = kyc.LivenessRequest(
            reference=check_id,
            kind=kind,
            name=values["name"],
            id_number=values["id_number"],
            phone=values["phone"],
            capture_token=capture_token,
        )
        try:
            result = _ask_provider(provider, request, deadline_seconds, poll_seconds)
        except kyc.ProviderError as exc:
            outcome, result = kyc.Outcome("error", (exc.reason,)), None
        else:
            outcome = kyc.liveness_outcome(
                score=result.score,
                spoof=result.spoof,
                face_match=result.face_match,
                kind=kind,
                speech_match=result.speech_match,
            )
    details: dict[str, Any] = {}
    if result is not None:
        details = {"face_match": result.face_match, "spoof": result.spoof}
        if result.speech_match is not None:
            details["speech_match"] = result.speech_match
    with UnitOfWork(db, ctx, clock=clock, actor="identity.liveness") as uow:
        status = _record_check(
            uow,
            check_id,
            outcome,
            score=result.score if result else None,
            provider_reference=result.provider_reference if result else None,
            details=details,
        )
        uow.commit()
    return status


def _ask_provider(
    provider: kyc.LivenessProvider, request: kyc.LivenessRequest, deadline_seconds: float, poll_seconds: float
) -> kyc.LivenessResult:
    reference = provider.start_check(request)
    deadline = time.monotonic() + deadline_seconds
    while True:
        result = provider.result(reference)
        if result is not None:
            return result
        if time.monotonic() >= deadline:
            raise kyc.ProviderTimeout(f"{provider.name} gave no result within {deadline_seconds}s")
        time.sleep(poll_seconds)


def _record_check(
    uow: UnitOfWork,
    check_id: str,
    outcome: kyc.Outcome,
    *,
    score: float | None,
    provider_reference: str | None,
    details: Mapping[str, Any],
) -> str:
    """Store a check's finding and move the borrower's KYC status (events, audit)."""
    check = uow.get(KycCheck, check_id, for_update=True)
    if check.status != "processing":
        return check.status
    borrower, _ = _load(uow, check.borrower_id, lock=True)
    check.status = _CHECK_STATUS[outcome.kind]
    check.score = score
    check.reasons = list(outcome.reasons)
    check.details = dict(details)
    check.provider_reference = provider_reference
    check.completed_at = uow.now()
    audit.record(
        uow.session, "kyc_check.completed", check.id, {"status": check.status, "reasons": check.reasons}
    )
    current = kyc.KycStatus(borrower.kyc_status)
    if borrower.erased or current is kyc.KycStatus.REJECTED:
        return check.status
    new = kyc.transition(current, outcome)
    if new is not current:
        borrower.kyc_status = new.value
        borrower.kyc_reasons = list(outcome.reasons)
        borrower.updated = uow.now()
        uow.session.flush()
        audit.record(
            uow.session, "borrower.kyc_status_changed", borrower.id, {"from": current.value, "to": new.value}
        )
        emit(uow, _KYC_EVENTS[new], _event(borrower))
    return check.status


def check_body(check: KycCheck) -> dict[str, Any]:
    return {
        "object": "licence_check" if check.kind == "licence" else "liveness_check",
        "id": check.id,
        "created": check.created,
        "livemode": check.livemode,
        "borrower_id": check.borrower_id,
        "kind": check.kind,
        "status": check.status,
        "score": check.score,
        "reasons": reason_objects(check.reasons),
        "details": dict(check.details or {}),
        "provider": check.provider,
        "completed_at": check.completed_at,
    }


def list_checks(uow: UnitOfWork, borrower_id: str, kinds: tuple[str, ...]) -> list[KycCheck]:
    borrower, _ = _load(uow, borrower_id)
    return list(
        uow.session.execute(
            select(KycCheck)
            .where(KycCheck.borrower_id == borrower.id, KycCheck.kind.in_(kinds))
            .order_by(KycCheck.id.desc())
        ).scalars()
    )


def get_check(uow: UnitOfWork, borrower_id: str, check_id: str, kinds: tuple[str, ...]) -> KycCheck:
    check = uow.find(KycCheck, check_id)
    if check is None or check.borrower_id != borrower_id or check.kind not in kinds:
        raise NotFound(f"No such check: '{check_id}'", param="id")
    return check


# --- KYB: business licence OCR ----------------------------------------------------------------


def submit_licence(uow: UnitOfWork, borrower_id: str, image_base64: str, *, tasks: TaskRunner) -> KycCheck:
    """Store the licence image (encrypted) and read it in the background (`identity.kyb_ocr`)."""
    borrower, key = _load(uow, borrower_id, lock=True)
    dek = _require_dek(uow, borrower, key)
    _require_type(borrower, BUSINESS)
    return _start_licence_check(uow, borrower, dek, _decode_image(image_base64, "image"), tasks)


def _start_licence_check(
    uow: UnitOfWork, borrower: Borrower, dek: DataKey, image: bytes, tasks: TaskRunner | None
) -> KycCheck:
    _require_type(borrower, BUSINESS)
    if tasks is None:
        raise RuntimeError("a licence check needs a task runner")
    kyc.ensure_accepts_checks(kyc.KycStatus(borrower.kyc_status))
    now = uow.now()
    document_id = new_id("doc")
    document = BorrowerDocument(
        id=document_id,
        borrower_id=borrower.id,
        kind="business_licence",
        token=encrypt_field(
            dek, base64.b64encode(image).decode("ascii"), _ctx(borrower, f"document.{document_id}")
        ),
        created=now,
    )
    check = KycCheck(
        id=new_id("lic"),
        borrower_id=borrower.id,
        kind="licence",
        status="processing",
        reasons=[],
        details={},
        provider="tesseract",
        document_id=document_id,
        created=now,
    )
    uow.session.add_all([document, check])
    uow.session.flush()
    audit.record(uow.session, "kyc_check.started", check.id, {"borrower": borrower.id, "kind": "licence"})
    args = (check.id, borrower.tenant_id, borrower.livemode)
    uow.after_commit(lambda: tasks.enqueue("identity.kyb_ocr", *args))
    return check


def run_licence_ocr(
    db: Database,
    clock: Clock,
    check_id: str,
    tenant_id: str,
    livemode: bool,
    *,
    ocr: Callable[[bytes], Any] | None = None,
) -> str:
    """OCR the licence outside any transaction, compare it with the submitted company name
    and USCC, record the verdict. Returns the check's final status."""
    from lendbridge.identity.ocr import OcrUnavailable, compare_licence, read_business_licence

    read = ocr or read_business_licence
    ctx = TenantContext(tenant_id, livemode)
    # Read under the borrower's row lock (briefly: the OCR runs after it is released) so a
    # key rotation cannot re-encrypt the document between reading it and reading the key.
    with UnitOfWork(db, ctx, clock=clock, actor="identity.kyb_ocr") as uow:
        check = uow.get(KycCheck, check_id)
        if check.status != "processing":
            return check.status
        borrower, key = _load(uow, check.borrower_id, lock=True)
        values = _decrypt_all(uow, borrower, key)
        document = uow.find(BorrowerDocument, check.document_id or "")
        dek = _dek(uow, borrower, key)
        image = (
            base64.b64decode(decrypt_field(dek, document.token, _ctx(borrower, f"document.{document.id}")))
            if dek is not None and document is not None
            else None
        )
    details: dict[str, Any] = {}
    if image is None:
        outcome = kyc.Outcome("error", ("licence_image_unreadable",))
    else:
        try:
            reading = read(image)
        except OcrUnavailable:
            outcome = kyc.Outcome("error", ("ocr_unavailable",))
        except LendBridgeError:
            outcome = kyc.Outcome("error", ("licence_image_unreadable",))
        else:
            comparison = compare_licence(reading, values["company_name"], values["uscc"])
            outcome = kyc.licence_outcome(comparison.name, comparison.uscc)
            details = {
                "name": comparison.name,
                "name_similarity": comparison.name_similarity,
                "uscc": comparison.uscc,
                "ocr_confidence": reading.confidence,
            }
    with UnitOfWork(db, ctx, clock=clock, actor="identity.kyb_ocr") as uow:
        status = _record_check(
            uow,
            check_id,
            outcome,
            score=details.get("name_similarity"),
            provider_reference=None,
            details=details,
        )
        uow.commit()
    return status


# --- key rotation ---------------------------------------------------------------------------------


@dataclass
class RotationReport:
    tenant_id: str
    new_key_id: str | None = None
    old_key_ids: list[str] = field(default_factory=list)
    rewrapped: int = 0
    reencrypted: int = 0
    batches: int = 0
    retired: bool = False
    seconds: float = 0.0


def _reencrypt_batch(
    uow: UnitOfWork, service: KeyService, tenant_id: str, before: datetime, size: int
) -> list[str]:
    """New DEKs for up to `size` borrowers whose DEK predates `before`; every token re-encrypted.
    Returns the old DEK ids (to drop from caches after commit)."""
    keys = service.reload(uow, tenant_id)
    if keys is None:
        return []
    rows = uow.session.execute(
        select(Borrower, BorrowerKey)
        .join(BorrowerKey, BorrowerKey.borrower_id == Borrower.id)
        .where(BorrowerKey.tenant_id == tenant_id, BorrowerKey.created < before)
        .order_by(Borrower.id)
        .limit(size)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    now = uow.now()
    old_ids = []
    for borrower, key in rows:
        context = dek_context(tenant_id, borrower.id)
        old = keys.data.unwrap(key.wrapped, context)
        new = new_data_key("dek")
        ring = Keyring([old, new], new.key_id)
        borrower.pii = {
            name: reencrypt(ring, token, _ctx(borrower, name)) for name, token in borrower.pii.items()
        }
        for document in uow.session.execute(
            select(BorrowerDocument).where(BorrowerDocument.borrower_id == borrower.id)
        ).scalars():
            document.token = reencrypt(ring, document.token, _ctx(borrower, f"document.{document.id}"))
        for consent in uow.session.execute(
            select(Consent).where(Consent.borrower_id == borrower.id)
        ).scalars():
            if consent.ip_token:
                consent.ip_token = reencrypt(
                    ring, consent.ip_token, _ctx(borrower, f"consent.{consent.id}.ip")
                )
            if consent.device_token:
                consent.device_token = reencrypt(
                    ring, consent.device_token, _ctx(borrower, f"consent.{consent.id}.device")
                )
        key.dek_id = new.key_id
        key.wrapped = keys.data.wrap(new, context)
        key.kek_id = keys.data.active.key_id
        key.created = key.rotated_at = now
        old_ids.append(old.key_id)
    if rows:
        audit.record(
            uow.session, "borrower_keys.reencrypted", tenant_id, {"count": len(rows)}, tenant_id=tenant_id
        )
    return old_ids


def rotate_keys(
    db: Database,
    clock: Clock,
    *,
    tenant_ids: Iterable[str] | None = None,
    batch_size: int = 500,
    reencrypt_fields: bool = False,
    on_batch: Callable[[RotationReport], None] | None = None,
) -> list[RotationReport]:
    """Rotate each tenant's data key while the service keeps answering.

    1. one short transaction adds a new active tenant key (old ones become decrypt-only);
    2. batches of `batch_size` borrower DEKs are re-wrapped under it (or, with
       `reencrypt_fields`, replaced by new DEKs with every token re-encrypted), one short
       transaction each, skipping rows other transactions hold;
    3. once no DEK is wrapped under an old key, the old keys' material is destroyed.
    Old key ids keep decrypting until step 3.
    """
    service = key_service(db)
    reports = []
    for tenant_id in tenant_ids if tenant_ids is not None else keystore.tenants_with_keys(db):
        report = RotationReport(tenant_id)
        started = time.monotonic()
        with UnitOfWork(db, SYSTEM, clock=clock, actor="keys.rotate") as uow:
            begun = keystore.begin_rotation(uow, service, tenant_id)
            rotation_started = uow.now()
            uow.commit()
        if begun is None:
            reports.append(report)
            continue
        report.new_key_id, report.old_key_ids = begun
        service.forget_tenant(tenant_id)
        while True:
            retired, left = False, 0
            with UnitOfWork(db, SYSTEM, clock=clock, actor="keys.rotate") as uow:
                if reencrypt_fields:
                    old_deks = _reencrypt_batch(uow, service, tenant_id, rotation_started, batch_size)
                    done = len(old_deks)
                else:
                    old_deks = []
                    done = keystore.rewrap_batch(uow, service, tenant_id, batch_size)
                if done == 0:
                    retired = keystore.retire_keys(uow, tenant_id, report.old_key_ids)
                    if not retired:
                        left = keystore.remaining_under_old_keys(uow, tenant_id, report.old_key_ids)
                uow.commit()
            for dek_id in old_deks:
                service.forget_dek(dek_id)
            if done:
                report.batches += 1
                if reencrypt_fields:
                    report.reencrypted += done
                else:
                    report.rewrapped += done
                if on_batch is not None:
                    on_batch(report)
            elif retired:
                report.retired = True
                break
            elif left:
                time.sleep(0.05)  # rows held by other transactions: wait for them
        service.forget_tenant(tenant_id)
        report.seconds = round(time.monotonic() - started, 3)
        reports.append(report)
    return reports

"""Wire formats of borrowers, consents and KYC checks.

Input schemas check shape only (types, lengths, enums); the identity rules (GB 11643, GB
32100, Luhn, mobile numbers) run in the service so that every caller gets them. Personal
fields in responses are masked unless the credential holds `pii:read`.
"""

from __future__ import annotations

from marshmallow import fields, validate

from lendbridge.http.schemas import ListArgsSchema, ObjectSchema, StrictSchema, UnixTime
from lendbridge.identity.kyc import CONSENT_KINDS, LANGUAGES, KycStatus

_TYPES = ("individual", "business")
_PII_NOTE = "Masked unless the credential has the `pii:read` scope (every full reveal is audited)."


def _pii(description: str, max_length: int = 200) -> fields.String:
    return fields.String(
        validate=validate.Length(min=1, max=max_length), metadata={"description": description}
    )


class BorrowerCreateSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(_TYPES))
    # individuals
    name = _pii("Full name as on the ID card (individuals)", 100)
    id_number = _pii("Citizen ID number, GB 11643 (individuals)", 40)
    phone = _pii("Mainland mobile number (individuals)", 40)
    bank_card = _pii("Debit card for disbursement and repayment (individuals)", 40)
    address = _pii("Residential or registered address")
    occupation = _pii("Occupation (individuals)", 100)
    employer = _pii("Employer (individuals)")
    # businesses
    company_name = _pii("Registered company name (businesses)")
    uscc = _pii("Unified social credit code, GB 32100 (businesses)", 40)
    legal_representative = _pii("Legal representative's name (businesses)", 100)
    settlement_account = _pii("Bank account for disbursement (businesses)", 40)
    contact_phone = _pii("Contact mobile number (businesses)", 40)
    licence_image = fields.String(
        validate=validate.Length(min=1, max=7_000_000),
        metadata={"description": "Business licence image (PNG/JPEG), base64; starts KYB OCR"},
    )
    test_clock = fields.String(
        validate=validate.Length(min=1, max=60), metadata={"description": "Test clock id (test mode only)"}
    )
    metadata = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=40)),
        values=fields.String(validate=validate.Length(max=500)),
        validate=validate.Length(max=50),
        metadata={"description": "Your own key-value data. Do not put personal data here."},
    )


class BorrowerListArgsSchema(ListArgsSchema):
    id_number = fields.String(validate=validate.Length(min=1, max=40))
    phone = fields.String(validate=validate.Length(min=1, max=40))
    bank_card = fields.String(validate=validate.Length(min=1, max=40))
    uscc = fields.String(validate=validate.Length(min=1, max=40))
    type = fields.String(validate=validate.OneOf(_TYPES))
    kyc_status = fields.String(validate=validate.OneOf([s.value for s in KycStatus]))


class KycReasonSchema(StrictSchema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    message_zh = fields.String(required=True)


class BorrowerSchema(ObjectSchema):
    type = fields.String(required=True)
    kyc_status = fields.String(
        required=True, metadata={"description": "pending, verified, rejected or review"}
    )
    kyc_reasons = fields.List(fields.Nested(KycReasonSchema), required=True)
    erased = fields.Boolean(required=True, metadata={"description": "Personal data erased (PIPL)"})
    pii_masked = fields.Boolean(required=True, metadata={"description": "Whether personal fields are masked"})
    test_clock = fields.String(allow_none=True)
    metadata = fields.Dict(keys=fields.String(), values=fields.String())
    name = fields.String(allow_none=True, metadata={"description": _PII_NOTE})
    id_number = fields.String(allow_none=True, metadata={"description": _PII_NOTE})
    phone = fields.String(allow_none=True, metadata={"description": _PII_NOTE})
    bank_card = fields.String(allow_none=True, metadata={"description": _PII_NOTE})
    address = fields.String(allow_none=True, metadata={"description": _PII_NOTE})
    occupation = fields.String(allow_none=True)
    employer = fields.String(allow_none=True, metadata={"description": _PII_NOTE})
    company_name = fields.String(allow_none=True, metadata={"description": _PII_NOTE})
    uscc = fields.String(allow_none=True, metadata={"description": _PII_NOTE})
    legal_representative = fields.String(allow_none=True, metadata={"description": _PII_NOTE})
    settlement_account = fields.String(allow_none=True, metadata={"description": _PII_NOTE})
    contact_phone = fields.String(allow_none=True, metadata={"description": _PII_NOTE})


class ConsentCreateSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(CONSENT_KINDS))
    version = fields.String(
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "The catalogue version of the text shown (GET /v1/consent_texts)"},
    )
    language = fields.String(load_default="zh-CN", validate=validate.OneOf(LANGUAGES))
    granted_at = UnixTime(metadata={"description": "When the borrower accepted (default: now)"})
    expires_at = UnixTime(metadata={"description": "Earlier expiry than the catalogue's validity"})
    ip = fields.String(
        validate=validate.Length(min=1, max=45), metadata={"description": "Borrower's IP address"}
    )
    device = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "Device id"})


class ConsentSchema(ObjectSchema):
    borrower = fields.String(required=True)
    kind = fields.String(required=True)
    version = fields.String(required=True)
    language = fields.String(required=True)
    text_hash = fields.String(required=True, metadata={"description": "SM3 (hex) of the exact text shown"})
    status = fields.String(required=True, metadata={"description": "active, scheduled, expired or revoked"})
    granted_at = UnixTime(required=True)
    expires_at = UnixTime(allow_none=True)
    revoked_at = UnixTime(allow_none=True)
    ip = fields.String(allow_none=True, metadata={"description": _PII_NOTE})
    device = fields.String(allow_none=True, metadata={"description": _PII_NOTE})


class ConsentTextSchema(StrictSchema):
    object = fields.String(required=True)
    kind = fields.String(required=True)
    version = fields.String(required=True)
    texts = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    text_hashes = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    validity_days = fields.Integer(allow_none=True, required=True)


class ConsentTextListSchema(StrictSchema):
    object = fields.String(required=True)
    data = fields.List(fields.Nested(ConsentTextSchema), required=True)
    has_more = fields.Boolean(required=True)
    url = fields.String(required=True)


class LivenessCheckCreateSchema(StrictSchema):
    kind = fields.String(load_default="liveness", validate=validate.OneOf(("liveness", "video_sign")))
    capture_token = fields.String(
        validate=validate.Length(min=1, max=500),
        metadata={"description": "What the provider's capture SDK returned to your app"},
    )


class LicenceSubmitSchema(StrictSchema):
    image = fields.String(
        required=True,
        validate=validate.Length(min=1, max=7_000_000),
        metadata={"description": "Business licence photo or scan (PNG/JPEG), base64"},
    )


class KycCheckSchema(ObjectSchema):
    borrower = fields.String(required=True, attribute="borrower_id")
    kind = fields.String(required=True, metadata={"description": "liveness, video_sign or licence"})
    status = fields.String(
        required=True, metadata={"description": "processing, passed, failed, review or error"}
    )
    score = fields.Float(allow_none=True)
    reasons = fields.List(fields.Nested(KycReasonSchema), required=True)
    details = fields.Dict(required=True)
    provider = fields.String(allow_none=True)
    completed = UnixTime(allow_none=True, attribute="completed_at")

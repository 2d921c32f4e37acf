"""Request and response schemas of widget sessions and the widget-facing API."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from lendbridge.http.schemas import FenAmount, ObjectSchema, StrictSchema, UnixTime
from lendbridge.widget.domain import LOCALES, SessionMode

ID_TEXT = validate.Length(min=1, max=64)


def _validate_url(value: str) -> None:
    if not value.startswith(("https://", "http://")):
        raise ma.ValidationError("must be an http(s) URL")


# -- partner side: /v1/widget_sessions ------------------------------------------------------
class WidgetEducationScenarioSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(["education"]))
    course_id = fields.String(required=True, validate=ID_TEXT)
    course_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    merchant_id = fields.String(
        required=True, validate=ID_TEXT, metadata={"description": "The school that is paid"}
    )
    tuition = FenAmount(required=True, minimum=1, metadata={"description": "Course price in fen"})
    disburse_to_merchant = fields.Boolean(
        load_default=True, metadata={"description": "Pay the loan straight to the school (enrol = disburse)"}
    )


class WidgetBorrowerHintSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    phone = fields.String(validate=validate.Length(min=1, max=20))


class WidgetSessionCreateSchema(StrictSchema):
    mode = fields.String(
        load_default=SessionMode.APPLY.value,
        validate=validate.OneOf([m.value for m in SessionMode]),
        metadata={"description": "`apply` (default) or `repay` (an existing loan, needs loan_id)"},
    )
    amount = FenAmount(minimum=1, metadata={"description": "Amount to borrow in fen (apply mode)"})
    currency = fields.String(load_default="CNY", validate=validate.OneOf(["CNY"]))
    scenario = fields.Nested(WidgetEducationScenarioSchema)
    loan_id = fields.String(validate=ID_TEXT, metadata={"description": "The loan to show (repay mode)"})
    borrower_hint = fields.Nested(WidgetBorrowerHintSchema)
    locale = fields.String(validate=validate.OneOf(LOCALES), allow_none=True)
    return_url = fields.String(validate=[validate.Length(max=2000), _validate_url], allow_none=True)
    client_reference_id = fields.String(validate=validate.Length(min=1, max=200), allow_none=True)
    metadata = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=40)),
        values=fields.String(validate=validate.Length(max=500)),
        validate=validate.Length(max=20),
    )
    expires_in = fields.Integer(
        strict=True, metadata={"description": "Seconds until the session expires (300-86400, default 1800)"}
    )

    @ma.validates_schema
    def _mode_fields(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["mode"] == SessionMode.APPLY.value:
            for name in ("amount", "scenario"):
                if name not in data:
                    raise ma.ValidationError("is required in apply mode", name)
            if data["amount"] > data["scenario"]["tuition"]:
                raise ma.ValidationError("must not exceed scenario.tuition", "amount")
        elif "loan_id" not in data:
            raise ma.ValidationError("is required in repay mode", "loan_id")


class WidgetSessionSchema(ObjectSchema):
    client_secret = fields.String(
        allow_none=True, metadata={"description": "Hand this to the widget; shown only when created"}
    )
    mode = fields.String()
    status = fields.String(metadata={"description": "open, completed or expired"})
    amount = fields.Integer(allow_none=True)
    currency = fields.String()
    scenario = fields.Dict(allow_none=True)
    locale = fields.String(allow_none=True)
    return_url = fields.String(allow_none=True)
    client_reference_id = fields.String(allow_none=True)
    metadata = fields.Dict()
    expires_at = UnixTime()
    completed_at = UnixTime(allow_none=True)
    outcome = fields.String(
        allow_none=True, metadata={"description": "approved, review, declined or signed, once known"}
    )
    borrower_id = fields.String(allow_none=True)
    application_id = fields.String(allow_none=True)
    loan_id = fields.String(allow_none=True)


class WidgetSettingsSchema(ma.Schema):
    object = fields.Constant("widget_settings", dump_only=True)
    livemode = fields.Boolean()
    allowed_origins = fields.List(fields.String())


class WidgetSettingsUpdateSchema(StrictSchema):
    allowed_origins = fields.List(
        fields.String(validate=validate.Length(min=1, max=300)),
        required=True,
        validate=validate.Length(max=50),
        metadata={
            "description": "Origins allowed to run the widget in live mode, e.g. https://*.example.com"
        },
    )


class WidgetSmsLogEntrySchema(ma.Schema):
    object = fields.Constant("sms_message", dump_only=True)
    id = fields.String()
    to = fields.String(metadata={"description": "Masked phone number"})
    text = fields.String()
    status = fields.String(metadata={"description": "delivered, failed or rejected"})
    failure_reason = fields.String(allow_none=True)
    created = UnixTime()
    latency_ms = fields.Integer()


# -- widget side: /widget/v1 ----------------------------------------------------------------
class WidgetSendCodeSchema(StrictSchema):
    phone = fields.String(required=True, validate=validate.Length(min=1, max=20))


class WidgetVerifyCodeSchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=12))


class WidgetConsentsSchema(StrictSchema):
    """The consents the borrower ticked; the texts are identity's catalogue (session view)."""

    credit_bureau_query = fields.Boolean(required=True)
    data_processing = fields.Boolean(required=True)
    alt_data = fields.Boolean(load_default=False)


class WidgetDeviceSchema(StrictSchema):
    fingerprint = fields.String(validate=validate.Length(min=8, max=128))
    timezone = fields.String(validate=validate.Length(max=64))
    language = fields.String(validate=validate.Length(max=35))
    screen = fields.String(validate=validate.Length(max=20))


class WidgetApplicantSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    id_number = fields.String(required=True, validate=validate.Length(min=1, max=30))
    phone = fields.String(required=True, validate=validate.Length(min=1, max=20))
    bank_card = fields.String(
        validate=validate.Length(min=1, max=30),
        metadata={"description": "Card the instalments are debited from (optional)"},
    )
    consents = fields.Nested(WidgetConsentsSchema, required=True)
    locale = fields.String(
        validate=validate.OneOf(LOCALES), metadata={"description": "The language the consents were shown in"}
    )
    device = fields.Nested(WidgetDeviceSchema, load_default=dict)


class WidgetApplySchema(StrictSchema):
    device = fields.Nested(WidgetDeviceSchema, load_default=dict)


class WidgetIdentityCheckSchema(ma.Schema):
    object = fields.String()
    status = fields.String(metadata={"description": "none, processing, passed, failed, review or error"})
    kyc_status = fields.String(metadata={"description": "pending, verified, review or rejected"})
    required = fields.Boolean(metadata={"description": "Whether the borrower still has to pass the check"})


class WidgetAcceptSchema(StrictSchema):
    offer_id = fields.String(required=True, validate=ID_TEXT)


class WidgetSignSchema(StrictSchema):
    agreement_hash = fields.String(required=True, validate=validate.Length(min=1, max=128))
    agree = fields.Boolean(
        required=True, metadata={"description": "The borrower ticked 'I have read and agree'"}
    )


class WidgetViewSchema(ma.Schema):
    class Meta:
        ordered = True

    object = fields.String()
    id = fields.String()
    livemode = fields.Boolean()
    mode = fields.String()
    status = fields.String()
    stage = fields.String(
        metadata={"description": "start, phone_verified, approved, review, declined, accepted or signed"}
    )
    amount = fields.Integer(allow_none=True)
    currency = fields.String()
    scenario = fields.Dict(allow_none=True)
    locale = fields.String(allow_none=True)
    return_url = fields.String(allow_none=True)
    expires_at = fields.Integer()
    partner_name = fields.String(allow_none=True)
    borrower_hint = fields.Dict()
    phone_verified = fields.Boolean()
    consents = fields.List(
        fields.Dict(), metadata={"description": "Consent texts to show: kind, version, required, text"}
    )
    application_id = fields.String(allow_none=True)
    loan_id = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)


class WidgetOfferPreviewSchema(ma.Schema):
    class Meta:
        ordered = True

    object = fields.String()
    indicative = fields.Boolean()
    amount = fields.Integer()
    term = fields.Integer()
    method = fields.String()
    instalment_amount = fields.Integer(metadata={"description": "First instalment, fen"})
    annual_rate = fields.String()
    apr = fields.String(metadata={"description": "Nominal APR by IRR over the actual cash flows"})
    total_interest = fields.Integer()
    total_fees = fields.Integer()
    total_cost = fields.Integer(metadata={"description": "Interest plus fees, fen"})
    total_payment = fields.Integer()
    lender_name = fields.String()
    custody_bank_name = fields.String(allow_none=True)
    complaint_channel = fields.Dict()
    product_id = fields.String()


class WidgetOtpSchema(ma.Schema):
    object = fields.String()
    phone = fields.String(metadata={"description": "Masked"})
    expires_at = fields.Integer()
    resend_after = fields.Integer()
    sends_left = fields.Integer()


class WidgetOtpVerificationSchema(ma.Schema):
    object = fields.String()
    verified = fields.Boolean()
    code = fields.String(allow_none=True, metadata={"description": "otp_incorrect when not verified"})
    attempts_left = fields.Integer(allow_none=True)


class WidgetDecisionSchema(ma.Schema):
    object = fields.String()
    application_id = fields.String()
    status = fields.String(metadata={"description": "approved, review or declined"})
    reason_codes = fields.List(fields.String())
    offers = fields.List(fields.Dict())


class WidgetAgreementSchema(ma.Schema):
    object = fields.String()
    loan_id = fields.String()
    hash = fields.String(metadata={"description": "Send this back to sign: it is what gets stored"})
    version = fields.String(allow_none=True)
    text = fields.String(metadata={"description": "The agreement text, Chinese then English"})


class WidgetResultSchema(ma.Schema):
    object = fields.String()
    stage = fields.String()
    outcome = fields.String(allow_none=True)
    application_id = fields.String(allow_none=True)
    loan_id = fields.String(allow_none=True)
    loan = fields.Dict(allow_none=True)
    decision = fields.Nested(WidgetDecisionSchema, allow_none=True)
    return_url = fields.String(allow_none=True)


class WidgetLoanViewSchema(ma.Schema):
    object = fields.String()
    loan_id = fields.String()
    status = fields.String()
    currency = fields.String()
    principal = fields.Integer()
    outstanding = fields.Integer()
    next_due = fields.Dict(allow_none=True)
    due_now = fields.Integer(
        metadata={"description": "Due by today, penalty included: what paying now would debit"}
    )
    instalments = fields.List(fields.Dict())
    lender_name = fields.String(allow_none=True)
    autodebit = fields.Dict(
        allow_none=True,
        metadata={"description": "The card debited on each due date: bank and last four digits"},
    )
    payment = fields.Dict(
        allow_none=True,
        metadata={"description": "The latest pay-now debit: amount, status, failure_code"},
    )

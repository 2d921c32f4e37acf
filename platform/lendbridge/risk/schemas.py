"""Request and response schemas of applications, offers, decisions, reviews and rules."""

from __future__ import annotations

from marshmallow import fields, validate

from lendbridge.http.schemas import FenAmount, ListArgsSchema, ObjectSchema, StrictSchema, UnixTime
from lendbridge.loans.terms import RepaymentMethod
from lendbridge.risk.features import PURPOSES
from lendbridge.risk.rules import BLACKLIST_KINDS

CITY = validate.Regexp(r"^[1-9][0-9]{5}$", error="must be a 6-digit GB/T 2260 administrative code")


class ApplicationScenarioSchema(StrictSchema):
    course_id = fields.String(validate=validate.Length(max=100))
    tuition = FenAmount(minimum=1)
    merchant_id = fields.String(validate=validate.Length(max=100))
    disburse_to_merchant = fields.Boolean(load_default=False)
    enrolment_confirmed = fields.Boolean(allow_none=True)
    delivery_city = fields.String(validate=CITY, metadata={"description": "City of the delivery address"})


class ApplicationDeviceSchema(StrictSchema):
    fingerprint = fields.String(validate=validate.Length(min=8, max=200))
    ip = fields.String(validate=validate.Length(max=64))
    wifi_bssid = fields.String(
        validate=validate.Regexp(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$", error="must be a MAC address")
    )
    lbs_city = fields.String(validate=CITY, metadata={"description": "City from the device location (LBS)"})
    ip_city = fields.String(validate=CITY, metadata={"description": "City the IP address geolocates to"})


class ApplicationCreateSchema(StrictSchema):
    borrower = fields.String(required=True, validate=validate.Length(min=4, max=40))
    amount = FenAmount(
        minimum=1, metadata={"description": "Requested amount (loans) or credit limit (lines), fen"}
    )
    term = fields.Integer(
        strict=True, validate=validate.Range(min=1, max=600), metadata={"description": "Months"}
    )
    credit_line = fields.Boolean(
        load_default=False, metadata={"description": "Ask for a business credit line"}
    )
    purpose = fields.String(required=True, validate=validate.OneOf(sorted(PURPOSES)))
    method = fields.String(validate=validate.OneOf([m.value for m in RepaymentMethod]))
    monthly_income = FenAmount(minimum=1, metadata={"description": "Declared monthly income, fen"})
    scenario = fields.Nested(ApplicationScenarioSchema, load_default=dict)
    device = fields.Nested(ApplicationDeviceSchema, load_default=dict)
    contacts = fields.List(
        fields.String(validate=validate.Length(min=5, max=30)), validate=validate.Length(max=10)
    )
    consent_ids = fields.List(
        fields.String(validate=validate.Length(max=40)), validate=validate.Length(max=10)
    )


class OfferAprSchema(StrictSchema):
    nominal = fields.Decimal(as_string=True)
    effective = fields.Decimal(as_string=True)


class OfferInstalmentSchema(StrictSchema):
    number = fields.Integer()
    due_date = fields.String()
    principal = fields.Integer()
    interest = fields.Integer()
    fee = fields.Integer()
    payment = fields.Integer()
    remaining_principal = fields.Integer()


class OfferSchema(ObjectSchema):
    application = fields.String()
    rank = fields.Integer()
    status = fields.String(metadata={"description": "open, accepted, expired, superseded or withdrawn"})
    product = fields.String()
    institution = fields.String()
    kind = fields.String()
    amount = fields.Integer()
    term = fields.Integer()
    method = fields.String()
    annual_rate = fields.Decimal(as_string=True, metadata={"description": "Nominal annual rate"})
    base_rate = fields.Decimal(as_string=True, metadata={"description": "The grid rate before rewards"})
    discount = fields.Decimal(
        as_string=True, metadata={"description": "On-time reward taken off the grid rate"}
    )
    apr = fields.Nested(OfferAprSchema, metadata={"description": "APR by IRR of the schedule, fees included"})
    upfront_fee = fields.Integer()
    total_interest = fields.Integer()
    total_fees = fields.Integer()
    total_payment = fields.Integer()
    total_cost = fields.Integer(metadata={"description": "Interest plus fees"})
    schedule = fields.List(fields.Nested(OfferInstalmentSchema))
    counter_offer = fields.Boolean(metadata={"description": "The amount was reduced to fit affordability"})
    expires_at = UnixTime(allow_none=True)
    loan = fields.String(allow_none=True)
    credit_line = fields.String(allow_none=True)


class RiskReasonSchema(StrictSchema):
    code = fields.String()
    message = fields.String()
    message_zh = fields.String()


class ApplicationSchema(ObjectSchema):
    borrower = fields.String()
    amount = fields.Integer(allow_none=True)
    term = fields.Integer(allow_none=True)
    credit_line = fields.Boolean()
    purpose = fields.String()
    method = fields.String(allow_none=True)
    scenario = fields.Dict()
    status = fields.String(metadata={"description": "approved, review, declined, accepted or expired"})
    decision = fields.String(allow_none=True)
    reason_codes = fields.List(fields.String())
    reasons = fields.List(fields.Nested(RiskReasonSchema))
    score = fields.Integer(allow_none=True)
    grade = fields.String(allow_none=True)
    model_version = fields.String(allow_none=True)
    decided = UnixTime(allow_none=True)
    offers_expire_at = UnixTime(allow_none=True)
    offers = fields.List(fields.Nested(OfferSchema))
    review = fields.String(allow_none=True)
    loan = fields.String(allow_none=True, metadata={"description": "The loan created by accepting an offer"})
    opened_credit_line = fields.String(
        allow_none=True, metadata={"description": "The credit line opened by accepting an offer"}
    )
    test_clock = fields.String(allow_none=True)


class ApplicationListArgsSchema(ListArgsSchema):
    status = fields.String(validate=validate.OneOf(["approved", "review", "declined", "accepted", "expired"]))


class AcceptSchema(StrictSchema):
    offer_id = fields.String(required=True, validate=validate.Length(min=4, max=40))


class DecisionHistoryItemSchema(StrictSchema):
    id = fields.String()
    sequence = fields.Integer()
    outcome = fields.String()
    created = UnixTime()


class DecisionSchema(ObjectSchema):
    application = fields.String()
    sequence = fields.Integer()
    outcome = fields.String()
    reason_codes = fields.List(fields.String())
    reasons = fields.List(fields.Nested(RiskReasonSchema))
    model_version = fields.String(allow_none=True)
    bureau_report = fields.String(allow_none=True)
    actor = fields.String()
    record = fields.Dict(
        metadata={
            "description": "Inputs (masked), features, rules fired, scores, matching, "
            "pricing, reason codes and timings"
        }
    )
    history = fields.List(fields.Nested(DecisionHistoryItemSchema))


# -- admin ----------------------------------------------------------------------------------
class RiskModeArgsSchema(StrictSchema):
    livemode = fields.Boolean(load_default=None, allow_none=True)


class RuleSetCreateSchema(StrictSchema):
    livemode = fields.Boolean(load_default=None, allow_none=True)
    document = fields.Dict(
        required=True,
        metadata={
            "description": "rules, odd_hours, blacklist_action, mismatch, graph, policy (see docs/risk.md)"
        },
    )
    note = fields.String(validate=validate.Length(max=500))
    base_version = fields.Integer(strict=True, validate=validate.Range(min=0))


class RuleSetSchema(ObjectSchema):
    id = fields.String(allow_none=True, dump_only=True)
    created = UnixTime(allow_none=True, dump_only=True)
    tenant = fields.String()
    version = fields.Integer()
    document = fields.Dict()
    note = fields.String(allow_none=True)


class ReviewListArgsSchema(ListArgsSchema):
    status = fields.String(
        validate=validate.OneOf(["open", "claimed", "awaiting_second_approval", "approved", "declined"])
    )
    overdue = fields.Boolean()


class ReviewActionSchema(StrictSchema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReviewNoteSchema(StrictSchema):
    at = fields.String()
    by = fields.String()
    action = fields.String()
    note = fields.String(allow_none=True)


class ReviewSchema(ObjectSchema):
    tenant = fields.String()
    application = fields.String()
    amount = fields.Integer(allow_none=True)
    reason_codes = fields.List(fields.String())
    reasons = fields.List(fields.Nested(RiskReasonSchema))
    status = fields.String()
    claimed_by = fields.String(allow_none=True)
    first_approver = fields.String(allow_none=True)
    second_approver = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    four_eyes = fields.Boolean(metadata={"description": "Two different staff approvals are needed"})
    notes = fields.List(fields.Nested(ReviewNoteSchema))
    due_at = UnixTime()
    overdue = fields.Boolean()
    decided = UnixTime(allow_none=True)


class FraudReportCreateSchema(StrictSchema):
    application = fields.String(required=True, validate=validate.Length(min=4, max=40))
    reason = fields.String(validate=validate.Length(max=200))


class FraudReportSchema(ObjectSchema):
    application = fields.String()
    tenant = fields.String()
    component = fields.String(allow_none=True)
    component_known_fraud = fields.Integer(allow_none=True)
    blacklisted = fields.Integer()


class BlacklistCreateSchema(StrictSchema):
    tenant = fields.String(required=True, validate=validate.Length(min=4, max=40))
    livemode = fields.Boolean(load_default=None, allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(BLACKLIST_KINDS))
    value = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "A blind index for id/phone/card; the raw value otherwise "
            "(stored only as a keyed hash)"
        },
    )
    reason = fields.String(validate=validate.Length(max=200))


class BlacklistEntrySchema(ObjectSchema):
    tenant = fields.String()
    kind = fields.String()
    key = fields.String()
    reason = fields.String(allow_none=True)

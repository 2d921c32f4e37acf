from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from lendbridge.http.schemas import FenAmount, ListArgsSchema, ObjectSchema, StrictSchema
from lendbridge.loans.schemas import RateString, fixed_rate, unix
from lendbridge.loans.terms import DayCount, FutureRule, RepaymentMethod
from lendbridge.products.domain import GRADES, BorrowerType, ProductKind
from lendbridge.products.models import Product

_REGION = validate.Regexp(r"^\d{2}(\d{2}){0,2}$", error="a GB/T 2260 code prefix of 2, 4 or 6 digits")


class AmountRangeSchema(StrictSchema):
    min = FenAmount(required=True, minimum=1)
    max = FenAmount(required=True, minimum=1)


class TermRangeSchema(StrictSchema):
    min = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=600))
    max = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=600))


class RateRangeSchema(StrictSchema):
    min = RateString(required=True)
    max = RateString(required=True)


class FeesSchema(StrictSchema):
    upfront_fee = FenAmount(
        load_default=0, metadata={"description": "Fixed fee withheld from each payout, fen"}
    )
    upfront_fee_rate = RateString(
        metadata={"description": "Fee withheld from each payout, share of principal"}
    )
    monthly_fee_rate = RateString(metadata={"description": "Monthly fee on the original principal"})
    prepayment_fee_rate = RateString(metadata={"description": "Fee on principal prepaid"})


class EligibilitySchema(StrictSchema):
    regions = fields.List(
        fields.String(validate=_REGION),
        metadata={
            "description": "GB/T 2260 administrative division prefixes (e.g. 11 Beijing, 3101 Shanghai)"
        },
    )
    occupations = fields.List(fields.String(validate=validate.Length(min=1, max=60)))
    min_age = fields.Integer(strict=True, validate=validate.Range(min=18, max=100))
    max_age = fields.Integer(strict=True, validate=validate.Range(min=18, max=100))
    min_score = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000))
    min_grade = fields.String(validate=validate.OneOf(GRADES))


class AllocationOrderSchema(StrictSchema):
    steps = fields.List(
        fields.String(),
        validate=validate.Length(min=1, max=12),
        metadata={"description": 'e.g. ["past_due.penalty", "past_due.fee", ...]'},
    )
    traversal = fields.String(validate=validate.OneOf(["by_instalment", "by_component"]))


class RewardSchema(StrictSchema):
    after_on_time_instalments = fields.Integer(strict=True, validate=validate.Range(min=1, max=120))
    rate_reduction = RateString()


class SubsidySchema(StrictSchema):
    target_rate = RateString(
        required=True,
        metadata={"description": "Yield the institution earns; the merchant pays the difference"},
    )


class ThresholdsSchema(StrictSchema):
    special_mention = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    substandard = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    doubtful = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    loss = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))


class ProductCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=1000))
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in ProductKind]))
    borrower_type = fields.String(required=True, validate=validate.OneOf([b.value for b in BorrowerType]))
    methods = fields.List(fields.String(validate=validate.OneOf([m.value for m in RepaymentMethod])))
    amount = fields.Nested(AmountRangeSchema, required=True)
    term = fields.Nested(
        TermRangeSchema, required=True, metadata={"description": "Months (line validity for lines)"}
    )
    rate = fields.Nested(
        RateRangeSchema, required=True, metadata={"description": "Nominal annual rate range"}
    )
    penalty_rate = RateString(
        required=True, metadata={"description": "Annual penalty rate on overdue principal"}
    )
    day_count = fields.String(validate=validate.OneOf([d.value for d in DayCount]))
    fees = fields.Nested(FeesSchema)
    eligibility = fields.Nested(EligibilitySchema)
    allocation_order = fields.Nested(AllocationOrderSchema)
    future_rule = fields.String(validate=validate.OneOf([r.value for r in FutureRule]))
    rate_grid = fields.Dict(keys=fields.String(validate=validate.OneOf(GRADES)), values=RateString())
    pricing_reward = fields.Nested(RewardSchema)
    subsidy = fields.Nested(SubsidySchema)
    classification_thresholds = fields.Nested(ThresholdsSchema)
    custody_account = fields.String(validate=validate.Length(max=60))
    partner_ids = fields.List(
        fields.String(validate=validate.Length(max=40)),
        metadata={"description": "Only these partners may lend under the product (default: every partner)"},
    )


class ProductSchema(ObjectSchema):
    institution = fields.String()
    name = fields.String()
    description = fields.String(allow_none=True)
    status = fields.String()
    kind = fields.String()
    borrower_type = fields.String()
    methods = fields.List(fields.String())
    amount = fields.Dict()
    term = fields.Dict()
    rate = fields.Dict()
    penalty_rate = fields.String()
    day_count = fields.String()
    fees = fields.Dict()
    eligibility = fields.Dict()
    allocation_order = fields.Dict()
    future_rule = fields.String()
    rate_grid = fields.Dict()
    pricing_reward = fields.Dict()
    subsidy = fields.Dict(allow_none=True)
    classification_thresholds = fields.Dict(allow_none=True)
    custody_account = fields.String(allow_none=True)
    partner_ids = fields.List(fields.String(), allow_none=True)
    max_apr = fields.String(
        metadata={"description": "Worst-case nominal APR the product allows (checked against the cap)"}
    )


class ProductListArgsSchema(ListArgsSchema):
    pass


def _r(value: Any) -> str:
    return fixed_rate(value)


def product_body(p: Product) -> dict[str, Any]:
    return {
        "object": "product",
        "id": p.id,
        "created": unix(p.created),
        "livemode": p.livemode,
        "institution": p.tenant_id,
        "name": p.name,
        "description": p.description,
        "status": p.status,
        "kind": p.kind,
        "borrower_type": p.borrower_type,
        "methods": p.methods,
        "amount": {"min": p.amount_min, "max": p.amount_max},
        "term": {"min": p.term_min, "max": p.term_max},
        "rate": {"min": _r(p.rate_min), "max": _r(p.rate_max)},
        "penalty_rate": _r(p.penalty_rate),
        "day_count": p.day_count,
        "fees": {
            "upfront_fee": p.upfront_fee,
            "upfront_fee_rate": _r(p.upfront_fee_rate),
            "monthly_fee_rate": _r(p.monthly_fee_rate),
            "prepayment_fee_rate": _r(p.prepayment_fee_rate),
        },
        "eligibility": p.eligibility,
        "allocation_order": p.allocation_order,
        "future_rule": p.future_rule,
        "rate_grid": p.rate_grid,
        "pricing_reward": p.pricing_reward,
        "subsidy": p.subsidy,
        "classification_thresholds": p.classification_thresholds,
        "custody_account": p.custody_account,
        "partner_ids": p.partner_ids,
        "max_apr": p.max_apr,
    }

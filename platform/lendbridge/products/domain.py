"""Loan products as plain data, the rules that keep them consistent, and the APR cap.

An institution publishes a product; every offer and loan made under it must stay inside
its ranges and under the platform's APR cap. The cap is checked on the WORST case the
product allows: the highest rate with every fee, at the smallest and largest amount and
the shortest and longest term, for each repayment method, on a real schedule (the same
`schedules` + `apr` code that discloses a loan's APR). The nominal APR (monthly IRR x 12,
the 年化利率 the contract shows) is what the cap limits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext
from enum import StrEnum

from lendbridge.core.errors import AprCapExceeded, InvalidParameter
from lendbridge.core.money import Fen, round_fen
from lendbridge.loans.apr import Apr, nominal_and_effective_apr, schedule_cash_flows
from lendbridge.loans.interest import PRECISION
from lendbridge.loans.schedules import build_schedule
from lendbridge.loans.terms import DayCount, FutureRule, LoanTerms, RepaymentMethod
from lendbridge.loans.waterfall import DEFAULT_ORDER, AllocationOrder, Dueness


class ProductKind(StrEnum):
    INSTALMENT = "instalment"
    CREDIT_LINE = "credit_line"
    MERCHANT_SUBSIDIZED = "merchant_subsidized"


class BorrowerType(StrEnum):
    INDIVIDUAL = "individual"
    BUSINESS = "business"


GRADES = ("A", "B", "C", "D", "E")

# Platform bounds from the lending rules: loans to individuals start at ¥5,000; business
# credit lines run from ¥100,000 to ¥5,000,000.
INDIVIDUAL_MIN_AMOUNT = Fen(500_000)
BUSINESS_LINE_MIN = Fen(10_000_000)
BUSINESS_LINE_MAX = Fen(500_000_000)
# Single-bullet repayment (一次性还本付息) is for short terms only.
BULLET_MAX_TERM = 12
# A fixed reference start date: APR does not depend on it (periods are whole months).
REFERENCE_START = date(2026, 1, 15)
DEFAULT_REWARD_AFTER = 6
DEFAULT_REWARD_REDUCTION = Decimal("0.005")


@dataclass(frozen=True)
class Reward:
    """Dynamic pricing: a lower rate on the next loan or draw after on-time instalments."""

    after_on_time_instalments: int = DEFAULT_REWARD_AFTER
    rate_reduction: Decimal = DEFAULT_REWARD_REDUCTION


@dataclass(frozen=True, kw_only=True)
class ProductTerms:
    kind: ProductKind
    borrower_type: BorrowerType
    methods: tuple[RepaymentMethod, ...]
    amount_min: Fen
    amount_max: Fen
    term_min: int
    term_max: int
    rate_min: Decimal
    rate_max: Decimal
    penalty_rate: Decimal
    upfront_fee: Fen = Fen(0)
    upfront_fee_rate: Decimal = Decimal(0)
    monthly_fee_rate: Decimal = Decimal(0)
    prepayment_fee_rate: Decimal = Decimal(0)
    allocation_order: AllocationOrder = DEFAULT_ORDER
    future_rule: FutureRule = FutureRule.LOWER_INSTALMENT
    rate_grid: Mapping[str, Decimal] = field(default_factory=dict)
    reward: Reward = Reward()
    subsidy_target_rate: Decimal | None = None
    day_count: DayCount = DayCount.ACT_360

    def upfront_fee_for(self, principal: int) -> Fen:
        """The fee withheld from a disbursement of `principal`: fixed part plus rate part."""
        with localcontext(prec=PRECISION):
            return Fen(self.upfront_fee + round_fen(Decimal(principal) * self.upfront_fee_rate))


def validate(terms: ProductTerms) -> None:
    """Cross-field rules; each failure names the API field at fault."""
    if terms.amount_min > terms.amount_max:
        raise InvalidParameter("amount.min must not exceed amount.max", param="amount.min")
    if terms.term_min > terms.term_max:
        raise InvalidParameter("term.min must not exceed term.max", param="term.min")
    if terms.rate_min > terms.rate_max:
        raise InvalidParameter("rate.min must not exceed rate.max", param="rate.min")
    if terms.borrower_type is BorrowerType.INDIVIDUAL and terms.amount_min < INDIVIDUAL_MIN_AMOUNT:
        raise InvalidParameter(
            f"loans to individuals start at {INDIVIDUAL_MIN_AMOUNT} fen (¥5,000)", param="amount.min"
        )
    if terms.kind is ProductKind.CREDIT_LINE and terms.borrower_type is BorrowerType.BUSINESS:
        if terms.amount_min < BUSINESS_LINE_MIN or terms.amount_max > BUSINESS_LINE_MAX:
            raise InvalidParameter(
                "business credit lines range from 10000000 to 500000000 fen (¥100,000 to ¥5,000,000)",
                param="amount",
            )
    if not terms.methods and terms.kind is not ProductKind.CREDIT_LINE:
        raise InvalidParameter("an instalment product allows at least one repayment method", param="methods")
    if RepaymentMethod.BULLET in terms.methods and terms.term_max > BULLET_MAX_TERM:
        raise InvalidParameter(
            f"bullet repayment is for short terms: term.max must be at most {BULLET_MAX_TERM} months",
            param="methods",
        )
    if terms.upfront_fee_for(terms.amount_min) >= terms.amount_min:
        raise InvalidParameter(
            "the upfront fee must be less than the smallest amount", param="fees.upfront_fee"
        )
    if any(dueness is Dueness.FUTURE for dueness, _ in terms.allocation_order.steps):
        raise InvalidParameter(
            "allocation steps cover past_due and due amounts; money beyond them is a prepayment",
            param="allocation_order",
        )
    _validate_grid(terms)
    if terms.kind is ProductKind.MERCHANT_SUBSIDIZED:
        if terms.subsidy_target_rate is None or terms.subsidy_target_rate <= 0:
            raise InvalidParameter(
                "a merchant-subsidised product needs a positive subsidy.target_rate",
                param="subsidy.target_rate",
            )
        if terms.rate_max != 0 or terms.upfront_fee or terms.upfront_fee_rate or terms.monthly_fee_rate:
            raise InvalidParameter(
                "a merchant-subsidised product charges the borrower no interest and no fees", param="rate.max"
            )
    elif terms.subsidy_target_rate is not None:
        raise InvalidParameter("subsidy is only for merchant_subsidized products", param="subsidy")
    if terms.reward.after_on_time_instalments < 1 or terms.reward.rate_reduction < 0:
        raise InvalidParameter(
            "pricing_reward needs a positive count and a non-negative reduction", param="pricing_reward"
        )


def _validate_grid(terms: ProductTerms) -> None:
    unknown = set(terms.rate_grid) - set(GRADES)
    if unknown:
        raise InvalidParameter(f"rate_grid grades are {', '.join(GRADES)}", param="rate_grid")
    previous: Decimal | None = None
    for grade in GRADES:
        rate = terms.rate_grid.get(grade)
        if rate is None:
            continue
        if not terms.rate_min <= rate <= terms.rate_max:
            raise InvalidParameter(
                f"rate_grid.{grade} must lie within rate.min and rate.max", param=f"rate_grid.{grade}"
            )
        if previous is not None and rate < previous:
            raise InvalidParameter(
                "rate_grid rates must not fall from grade A to grade E", param=f"rate_grid.{grade}"
            )
        previous = rate


def loan_apr(terms: LoanTerms, method: RepaymentMethod) -> Apr:
    """The disclosed APR of a loan: IRR of what the borrower receives and repays."""
    schedule = build_schedule(terms, method)
    return nominal_and_effective_apr(schedule_cash_flows(terms.principal_received, schedule))


def credit_line_apr(annual_rate: Decimal, day_count: DayCount) -> Decimal:
    """Daily interest at annual_rate / basis, over a 365-day year."""
    with localcontext(prec=PRECISION):
        return annual_rate * 365 / day_count.days_in_year


@dataclass(frozen=True)
class WorstCase:
    apr: Decimal
    method: RepaymentMethod | None
    term: int
    principal: int


def worst_case(terms: ProductTerms, *, with_fees: bool = True) -> WorstCase:
    """The highest nominal APR the product allows."""
    if terms.kind is ProductKind.CREDIT_LINE:
        return WorstCase(
            credit_line_apr(terms.rate_max, terms.day_count), None, terms.term_max, terms.amount_min
        )
    worst: WorstCase | None = None
    for method in terms.methods:
        for term in sorted({terms.term_min, terms.term_max}):
            for principal in sorted({terms.amount_min, terms.amount_max}):
                loan = LoanTerms(
                    principal=Fen(principal),
                    annual_rate=terms.rate_max,
                    term=term,
                    start_date=REFERENCE_START,
                    monthly_fee_rate=terms.monthly_fee_rate if with_fees else Decimal(0),
                    upfront_fee=terms.upfront_fee_for(principal) if with_fees else Fen(0),
                )
                if terms.rate_max == 0 and loan.monthly_fee_rate == 0 and loan.upfront_fee == 0:
                    apr = Decimal(0)  # nothing is charged: no IRR to solve
                else:
                    apr = loan_apr(loan, method).nominal
                if worst is None or apr > worst.apr:
                    worst = WorstCase(apr, method, term, principal)
    assert worst is not None
    return worst


def percent(rate: Decimal) -> str:
    return f"{(rate * 100).quantize(Decimal('0.01'))} %"


def check_apr_cap(terms: ProductTerms, cap: Decimal) -> WorstCase:
    """AprCapExceeded (422) naming the field that breaks the cap, else the worst case."""
    worst = worst_case(terms)
    if worst.apr <= cap:
        return worst
    rate_only = worst_case(terms, with_fees=False)
    param = "rate.max" if rate_only.apr > cap else _fee_param(terms)
    where = (
        f" ({worst.method.value}, {worst.term} months, {worst.principal} fen)"
        if worst.method is not None
        else ""
    )
    raise AprCapExceeded(
        f"The worst-case APR of this product is {percent(worst.apr)}{where}, above the APR cap of "
        f"{percent(cap)}: lower {param}",
        param=param,
    )


def _fee_param(terms: ProductTerms) -> str:
    if terms.monthly_fee_rate:
        return "fees.monthly_fee_rate"
    if terms.upfront_fee_rate:
        return "fees.upfront_fee_rate"
    return "fees.upfront_fee"


def check_loan_apr(apr: Decimal, cap: Decimal) -> None:
    """Offers and loans re-check the cap on their own terms at creation."""
    if apr > cap:
        raise AprCapExceeded(
            f"The APR of these terms is {percent(apr)}, above the APR cap of {percent(cap)}",
            param="annual_rate",
        )


def check_loan_terms(
    terms: ProductTerms, *, principal: int, term: int, method: RepaymentMethod, annual_rate: Decimal
) -> None:
    """A loan's terms must lie within the product's ranges."""
    if not terms.amount_min <= principal <= terms.amount_max:
        raise InvalidParameter(
            f"principal must be between {terms.amount_min} and {terms.amount_max} fen for this product",
            param="principal",
        )
    if not terms.term_min <= term <= terms.term_max:
        raise InvalidParameter(
            f"term must be between {terms.term_min} and {terms.term_max} months for this product",
            param="term",
        )
    if terms.kind is not ProductKind.CREDIT_LINE and method not in terms.methods:
        allowed = ", ".join(m.value for m in terms.methods)
        raise InvalidParameter(f"this product allows the methods: {allowed}", param="method")
    if not terms.rate_min <= annual_rate <= terms.rate_max:
        raise InvalidParameter(
            f"annual_rate must be between {terms.rate_min} and {terms.rate_max} for this product",
            param="annual_rate",
        )


def parse_methods(values: Sequence[str]) -> tuple[RepaymentMethod, ...]:
    methods: list[RepaymentMethod] = []
    for value in values:
        try:
            method = RepaymentMethod(value)
        except ValueError:
            names = ", ".join(m.value for m in RepaymentMethod)
            raise InvalidParameter(f"methods must be among {names}", param="methods") from None
        if method not in methods:
            methods.append(method)
    return tuple(methods)

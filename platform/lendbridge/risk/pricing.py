"""Risk-based pricing of a matched product, with the APR cap and affordability checks.

- The nominal rate comes from the product's grid for the applicant's grade, less the
  on-time reward (default 0.5 pp after 6 consecutive on-time instalments, per product),
  kept inside the product's rate range.
- A credit line's APR is its daily rate over a 365-day year (rate x 365 / day-count
  basis), as the loan engine discloses it; its schedule preview shows one full draw
  repaid interest-first.
- The APR is computed by IRR on the actual schedule (loans.quote), fees included. If it
  would exceed the cap, the rate is lowered (bisection) until it fits; if even the
  product's minimum rate does not fit, the product is not offered (`apr_above_cap`).
- Affordability: the largest instalment plus existing debt payments must stay within
  `dti_max` of monthly income; otherwise the amount is reduced (a counter-offer, rounded
  down to 100 yuan) or, below the product minimum, the product is not offered. For
  interest-first and bullet schedules the burden is the average monthly payment: their
  final balloon is refinanced or repaid from the business's flows, not from one month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from lendbridge.core.money import Fen, format_rate
from lendbridge.loans.quote import QuoteJson, quote
from lendbridge.loans.terms import LoanTerms, RepaymentMethod
from lendbridge.risk.ports import ProductTerms

RATE_STEP = Decimal("0.0001")
_HUNDRED_YUAN = 10_000


@dataclass(frozen=True)
class PricingRequest:
    grade: str
    amount: int
    term: int
    start_date: date
    apr_cap: Decimal
    on_time_instalments: int
    monthly_income: int | None
    existing_monthly_debt: int
    dti_max: Decimal
    method: str | None = None


@dataclass(frozen=True)
class Priced:
    product: ProductTerms
    amount: int
    term: int
    method: str
    base_rate: Decimal
    discount: Decimal
    annual_rate: Decimal
    upfront_fee: int
    quote: QuoteJson
    counter_offer: bool
    capped: bool
    notes: tuple[str, ...]

    @property
    def apr_nominal(self) -> Decimal:
        return Decimal(self.quote["apr"]["nominal"])

    @property
    def max_payment(self) -> int:
        return monthly_burden(self.quote, self.method)

    def explain(self) -> dict[str, object]:
        return {
            "product": self.product.product_id,
            "amount": self.amount,
            "term": self.term,
            "method": self.method,
            "base_rate": str(self.base_rate),
            "discount": str(self.discount),
            "annual_rate": str(self.annual_rate),
            "apr": dict(self.quote["apr"]),
            "capped": self.capped,
            "counter_offer": self.counter_offer,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class NotPriced:
    product: ProductTerms
    reason: str  # a reason code
    notes: tuple[str, ...]

    def explain(self) -> dict[str, object]:
        return {
            "product": self.product.product_id,
            "offered": False,
            "reason": self.reason,
            "notes": list(self.notes),
        }


def _quote(
    product: ProductTerms, amount: int, term: int, method: str, rate: Decimal, start: date
) -> QuoteJson:
    upfront = Fen(upfront_fee(product, amount))
    terms = LoanTerms(
        principal=Fen(amount),
        annual_rate=rate,
        term=term,
        start_date=start,
        monthly_fee_rate=product.monthly_fee_rate,
        upfront_fee=upfront,
    )
    q = quote(terms, RepaymentMethod(method))
    if product.kind == "credit_line":
        nominal = rate * 365 / product.days_in_year
        effective = (1 + nominal / 365) ** 365 - 1
        q["apr"] = {"nominal": format_rate(nominal, 10), "effective": format_rate(effective, 10)}
    return q


def upfront_fee(product: ProductTerms, amount: int) -> int:
    """Fee withheld from the disbursement: the fixed part plus the rate part."""
    return product.upfront_fee + int(
        (Decimal(amount) * product.upfront_fee_rate).to_integral_value(ROUND_HALF_UP)
    )


def monthly_burden(q: QuoteJson, method: str) -> int:
    """The monthly repayment the affordability check compares with income."""
    payments = [i["payment"] for i in q["instalments"]]
    if method in ("interest_first", "bullet"):
        return -(-sum(payments) // max(len(payments), 1))
    return max(payments)


def _fits(q: QuoteJson, cap: Decimal) -> bool:
    return Decimal(q["apr"]["nominal"]) <= cap


def choose_method(product: ProductTerms, wanted: str | None) -> str:
    if not product.methods:  # credit lines: the preview shows a draw repaid interest-first
        return "interest_first"
    if wanted and wanted in product.methods:
        return wanted
    for preferred in ("equal_instalment", "equal_principal", "interest_first", "bullet"):
        if preferred in product.methods:
            return preferred
    return product.methods[0]


def price(product: ProductTerms, req: PricingRequest) -> Priced | NotPriced:
    notes: list[str] = []
    base = product.rate_grid.get(req.grade)
    if base is None:
        return NotPriced(product, "score_below_min", (f"no rate for grade {req.grade}",))
    discount = Decimal(0)
    if product.on_time_discount > 0 and req.on_time_instalments >= product.on_time_instalments:
        discount = product.on_time_discount
        notes.append(f"{req.on_time_instalments} consecutive on-time instalments: -{discount}")
    rate = min(max(base - discount, product.min_rate), product.max_rate)
    if rate != base - discount:
        notes.append(f"rate kept within the product range {product.min_rate}-{product.max_rate}")
    method = choose_method(product, req.method)
    amount, term = req.amount, req.term
    q = _quote(product, amount, term, method, rate, req.start_date)
    capped = False
    if not _fits(q, req.apr_cap):
        lo_q = _quote(product, amount, term, method, product.min_rate, req.start_date)
        if not _fits(lo_q, req.apr_cap):
            return NotPriced(
                product, "apr_above_cap", (f"APR above the cap {req.apr_cap} even at the minimum rate",)
            )
        lo, hi = product.min_rate, rate
        while hi - lo > RATE_STEP:
            mid = ((lo + hi) / 2).quantize(RATE_STEP, ROUND_DOWN)
            if mid <= lo:
                break
            if _fits(_quote(product, amount, term, method, mid, req.start_date), req.apr_cap):
                lo = mid
            else:
                hi = mid
        rate, capped = lo, True
        q = _quote(product, amount, term, method, rate, req.start_date)
        notes.append(f"rate lowered to keep the APR within the cap {req.apr_cap}")
    counter = False
    if req.monthly_income:
        room = int(req.dti_max * req.monthly_income) - req.existing_monthly_debt
        payment = monthly_burden(q, method)
        if payment > room:
            if room <= 0:
                return NotPriced(
                    product, "dti_too_high", ("existing debt payments already use the income allowance",)
                )
            scaled = int(Decimal(amount) * room / payment) // _HUNDRED_YUAN * _HUNDRED_YUAN
            if scaled < product.min_amount:
                return NotPriced(product, "dti_too_high", (f"affordable amount {scaled} below the minimum",))
            amount, counter = scaled, True
            q = _quote(product, amount, term, method, rate, req.start_date)
            notes.append(f"amount reduced to {amount} to keep repayments within {req.dti_max} of income")
    return Priced(
        product,
        amount,
        term,
        method,
        base,
        discount,
        rate,
        upfront_fee(product, amount),
        q,
        counter,
        capped,
        tuple(notes),
    )

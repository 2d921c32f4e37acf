from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from lendbridge.loans.apr import nominal_and_effective_apr, schedule_cash_flows
from lendbridge.loans.schedules import build_schedule
from lendbridge.loans.terms import LoanTerms, RepaymentMethod
from lendbridge.risk.pricing import NotPriced, Priced, PricingRequest, price
from tests.factories.risk import GRID, product

REQ = PricingRequest(
    grade="C",
    amount=3_000_000,
    term=12,
    start_date=date(2026, 3, 15),
    apr_cap=Decimal("0.24"),
    on_time_instalments=0,
    monthly_income=2_000_000,
    existing_monthly_debt=0,
    dti_max=Decimal("0.5"),
)


def _priced(result: Priced | NotPriced) -> Priced:
    assert isinstance(result, Priced), result
    return result


def test_the_rate_comes_from_the_grid_for_the_grade() -> None:
    for grade in "ABCDE":
        offer = _priced(price(product(), replace(REQ, grade=grade)))
        assert offer.annual_rate == GRID[grade]
    assert isinstance(price(product(rate_grid={"A": Decimal("0.07")}), REQ), NotPriced)


def test_six_on_time_instalments_take_half_a_point_off() -> None:
    offer = _priced(price(product(), replace(REQ, on_time_instalments=6)))
    assert offer.discount == Decimal("0.005") and offer.annual_rate == GRID["C"] - Decimal("0.005")
    assert _priced(price(product(), replace(REQ, on_time_instalments=5))).discount == 0
    custom = _priced(
        price(
            product(on_time_discount=Decimal("0.01"), on_time_instalments=3),
            replace(REQ, on_time_instalments=3),
        )
    )
    assert custom.annual_rate == GRID["C"] - Decimal("0.01")


def test_the_apr_is_the_irr_of_the_real_schedule_fees_included() -> None:
    p = product(monthly_fee_rate=Decimal("0.002"))
    offer = _priced(price(p, REQ))
    terms = LoanTerms(
        principal=3_000_000,
        annual_rate=offer.annual_rate,
        term=12,
        start_date=REQ.start_date,  # type: ignore[arg-type]
        monthly_fee_rate=Decimal("0.002"),
    )
    apr = nominal_and_effective_apr(
        schedule_cash_flows(terms.principal_received, build_schedule(terms, RepaymentMethod.EQUAL_INSTALMENT))
    )
    assert offer.apr_nominal == apr.nominal.quantize(Decimal("0.0000000001"))
    assert offer.apr_nominal > offer.annual_rate  # the add-on fee costs more than its headline


def test_a_price_above_the_apr_cap_is_lowered_to_fit() -> None:
    p = product(monthly_fee_rate=Decimal("0.006"), upfront_fee_rate=Decimal("0.02"))
    offer = _priced(price(p, replace(REQ, grade="E")))
    assert offer.capped and offer.annual_rate < GRID["E"]
    assert offer.apr_nominal <= Decimal("0.24")
    assert offer.apr_nominal > Decimal("0.235")  # lowered no more than needed


def test_a_product_that_cannot_fit_the_cap_is_not_offered() -> None:
    p = product(monthly_fee_rate=Decimal("0.02"), min_rate=Decimal("0.10"))
    result = price(p, REQ)
    assert isinstance(result, NotPriced) and result.reason == "apr_above_cap"


def test_a_lower_judicial_cap_applies() -> None:
    offer = _priced(price(product(), replace(REQ, grade="E", apr_cap=Decimal("0.15"))))
    assert offer.apr_nominal <= Decimal("0.15") and offer.capped


def test_unaffordable_repayments_become_a_counter_offer() -> None:
    offer = _priced(price(product(), replace(REQ, monthly_income=300_000, existing_monthly_debt=20_000)))
    assert offer.counter_offer and offer.amount < REQ.amount and offer.amount % 10_000 == 0
    assert offer.max_payment <= int(Decimal("0.5") * 300_000) - 20_000


def test_below_the_product_minimum_it_is_dti_too_high() -> None:
    result = price(product(), replace(REQ, monthly_income=80_000))
    assert isinstance(result, NotPriced) and result.reason == "dti_too_high"
    result = price(product(), replace(REQ, monthly_income=100_000, existing_monthly_debt=60_000))
    assert isinstance(result, NotPriced) and result.reason == "dti_too_high"


def test_the_requested_method_is_used_when_the_product_allows_it() -> None:
    assert _priced(price(product(), replace(REQ, method="equal_principal"))).method == "equal_principal"
    assert _priced(price(product(), replace(REQ, method="bullet"))).method == "equal_instalment"

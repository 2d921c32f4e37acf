"""Product rules and the APR cap, as plain functions (no database)."""

from __future__ import annotations

import ast
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from lendbridge.core.errors import AprCapExceeded, InvalidParameter
from lendbridge.core.money import Fen
from lendbridge.loans.terms import DayCount, RepaymentMethod
from lendbridge.loans.waterfall import AllocationOrder
from lendbridge.products.domain import (
    BorrowerType,
    ProductKind,
    ProductTerms,
    check_apr_cap,
    check_loan_terms,
    credit_line_apr,
    validate,
    worst_case,
)

CAP = Decimal("0.24")
BASE = ProductTerms(
    kind=ProductKind.INSTALMENT,
    borrower_type=BorrowerType.INDIVIDUAL,
    methods=(RepaymentMethod.EQUAL_INSTALMENT, RepaymentMethod.EQUAL_PRINCIPAL),
    amount_min=Fen(500_000),
    amount_max=Fen(5_000_000),
    term_min=3,
    term_max=24,
    rate_min=Decimal("0.06"),
    rate_max=Decimal("0.18"),
    penalty_rate=Decimal("0.27"),
)


def test_without_fees_the_worst_case_is_the_max_rate() -> None:
    worst = worst_case(BASE)
    assert abs(worst.apr - Decimal("0.18")) < Decimal("0.0001")


def test_an_add_on_fee_shows_its_true_cost_and_breaks_the_cap() -> None:
    # 0.5 % a month on the original principal looks like 6 % a year; by IRR it adds ~11 %.
    product = replace(BASE, monthly_fee_rate=Decimal("0.005"))
    assert worst_case(product).apr > Decimal("0.28")
    with pytest.raises(AprCapExceeded) as exc:
        check_apr_cap(product, CAP)
    assert exc.value.param == "fees.monthly_fee_rate" and "24.00 %" in exc.value.detail


def test_a_fixed_upfront_fee_bites_hardest_on_the_smallest_shortest_loan() -> None:
    product = replace(BASE, rate_max=Decimal("0.12"), upfront_fee=Fen(10_000))
    worst = worst_case(product)
    assert (worst.term, worst.principal) == (3, 500_000)
    with pytest.raises(AprCapExceeded) as exc:
        check_apr_cap(product, CAP)
    assert exc.value.param == "fees.upfront_fee"


def test_a_rate_above_the_cap_is_blamed_on_the_rate() -> None:
    with pytest.raises(AprCapExceeded) as exc:
        check_apr_cap(replace(BASE, rate_max=Decimal("0.25"), monthly_fee_rate=Decimal("0.001")), CAP)
    assert exc.value.param == "rate.max"


def test_daily_interest_lines_cost_365_over_360_of_their_rate() -> None:
    assert credit_line_apr(Decimal("0.24"), DayCount.ACT_360) > CAP
    assert credit_line_apr(Decimal("0.24"), DayCount.ACT_365) == Decimal("0.24")
    line = replace(BASE, kind=ProductKind.CREDIT_LINE, methods=(), rate_max=Decimal("0.24"))
    with pytest.raises(AprCapExceeded):
        check_apr_cap(line, CAP)


@pytest.mark.parametrize(
    "changes,param",
    [
        ({"amount_min": Fen(499_999)}, "amount.min"),
        ({"term_min": 30}, "term.min"),
        ({"methods": (RepaymentMethod.BULLET,)}, "methods"),
        ({"rate_grid": {"A": Decimal("0.10"), "B": Decimal("0.08")}}, "rate_grid.B"),
        ({"rate_grid": {"F": Decimal("0.10")}}, "rate_grid"),
        ({"allocation_order": AllocationOrder.from_names(["future.principal"])}, "allocation_order"),
        ({"subsidy_target_rate": Decimal("0.1")}, "subsidy"),
        ({"kind": ProductKind.CREDIT_LINE, "borrower_type": BorrowerType.BUSINESS}, "amount"),
    ],
)
def test_inconsistent_terms_name_the_field(changes: dict[str, object], param: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        validate(replace(BASE, **changes))  # type: ignore[arg-type]
    assert exc.value.param == param


def test_loan_terms_must_fit_the_product() -> None:
    check_loan_terms(
        BASE, principal=600_000, term=12, method=RepaymentMethod.EQUAL_PRINCIPAL, annual_rate=Decimal("0.1")
    )
    for kwargs, param in (
        ({"principal": 6_000_000}, "principal"),
        ({"term": 2}, "term"),
        ({"method": RepaymentMethod.BULLET}, "method"),
        ({"annual_rate": Decimal("0.05")}, "annual_rate"),
    ):
        args = {
            "principal": 600_000,
            "term": 12,
            "method": RepaymentMethod.EQUAL_PRINCIPAL,
            "annual_rate": Decimal("0.1"),
        }
        args.update(kwargs)
        with pytest.raises(InvalidParameter) as exc:
            check_loan_terms(BASE, **args)  # type: ignore[arg-type]
        assert exc.value.param == param


REPO = Path(__file__).resolve().parents[3]
PURE = ["platform/lendbridge/products/domain.py", "platform/lendbridge/loans/accrual.py"]
FORBIDDEN = {"flask", "sqlalchemy", "flask_smorest", "marshmallow", "celery", "redis", "psycopg"}


@pytest.mark.parametrize("path", PURE)
def test_the_new_pure_modules_import_no_framework(path: str) -> None:
    tree = ast.parse((REPO / path).read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    assert not names & FORBIDDEN

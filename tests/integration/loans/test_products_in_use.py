"""Loan kinds beyond the plain instalment loan: merchant-subsidised 0 % and credit lines."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask

from lendbridge.core.errors import AprCapExceeded, InvalidParameter
from lendbridge.core.money import Fen
from lendbridge.ledger import services as ledger
from lendbridge.ledger.postings import Account
from lendbridge.loans import services as loans
from lendbridge.loans.schedules import add_months
from lendbridge.loans.subsidy import recognition_schedule, subsidise
from lendbridge.loans.terms import LoanTerms, RepaymentMethod
from tests.factories.loans import (
    LINE_PRODUCT,
    Book,
    close_days,
    get_line,
    get_loan,
    make_book,
    make_credit_line,
    make_loan,
    make_product,
    repay,
    set_day,
    uow_for,
    use_clock,
)

START = date(2026, 3, 1)
SUBSIDISED: dict[str, Any] = {
    "name": "0 % course instalments",
    "kind": "merchant_subsidized",
    "methods": ["equal_instalment"],
    "rate": {"min": Decimal(0), "max": Decimal(0)},
    "rate_grid": {},
    "fees": {},
    "subsidy": {"target_rate": Decimal("0.10")},
}
SCHOOL = {"name": "北京朝阳区某培训学校", "settlement_account": "ca_school_settlement"}


def test_a_merchant_subsidised_loan_costs_the_borrower_nothing_and_pays_the_institution(
    any_app: Flask,
) -> None:
    use_clock(any_app, START)
    book = make_book(any_app, **SUBSIDISED)
    with pytest.raises(InvalidParameter) as refused:
        make_loan(any_app, book, annual_rate="0")
    assert refused.value.param == "disburse_to"
    loan_id = make_loan(any_app, book, annual_rate="0", disburse_to="merchant", merchant=SCHOOL)
    priced = subsidise(
        LoanTerms(principal=Fen(1_200_000), annual_rate=Decimal(0), term=12, start_date=START),
        RepaymentMethod.EQUAL_INSTALMENT,
        Decimal("0.10"),
    )
    loan = get_loan(any_app, loan_id)
    body = loans.loan_body(loan)
    assert body["apr"] == {"nominal": "0.0000000000", "effective": "0.0000000000"}
    assert loan.subsidy == priced.subsidy > 0 and body["disbursement_amount"] == priced.merchant_disbursement
    assert body["merchant"] == SCHOOL and loan.deferred_subsidy == priced.subsidy
    income = recognition_schedule(priced)
    close_days(any_app, START, add_months(START, 1))
    assert get_loan(any_app, loan_id).deferred_subsidy == priced.subsidy - income[0]
    set_day(any_app, add_months(START, 1))
    repay(any_app, book.partner.tenant_id, loan_id, priced.schedule.instalments[0].payment)
    set_day(any_app, add_months(START, 1))
    with any_app.app_context(), uow_for(any_app, book.partner.tenant_id) as uow:
        payoff = loans.prepay(uow, loan_id, None, "full")
        uow.commit()
    assert payoff.interest == 0 and payoff.amount == 1_200_000 - priced.schedule.instalments[0].principal
    loan = get_loan(any_app, loan_id)
    assert loan.status == "paid_off" and loan.deferred_subsidy == 0
    with uow_for(any_app, None) as uow:
        tb = {
            r.account: r
            for r in ledger.trial_balance(
                uow.session, book.institution.tenant_id, False, date(2027, 1, 1)
            ).rows
        }
        assert loans.matches_ledger(uow.get(loans.Loan, loan_id), ledger.loan_balances(uow.session, loan_id))
    assert tb[Account.SUBSIDY_INCOME].balance == priced.subsidy  # all of it earned once the loan closed
    assert tb[Account.CUSTODY_CASH].balance == -priced.merchant_disbursement
    assert Account.INTEREST_INCOME not in tb


def test_a_loan_is_rechecked_against_the_cap_in_force_at_creation(any_app: Flask) -> None:
    use_clock(any_app, START)
    book = make_book(any_app, rate={"min": Decimal("0.06"), "max": Decimal("0.23")}, rate_grid={})
    loan_id = make_loan(any_app, book, annual_rate="0.23", term=12)
    assert Decimal(get_loan(any_app, loan_id).apr_nominal) < Decimal("0.24")
    # A judicial cap that came into force after the product was published binds new loans.
    svc = any_app.extensions["lendbridge"]
    svc.settings = replace(svc.settings, judicial_apr_cap=Decimal("0.20"))
    with any_app.app_context(), uow_for(any_app, book.partner.tenant_id) as uow:
        with pytest.raises(AprCapExceeded) as capped:
            loans.create_loan(
                uow,
                borrower_id="brw_x",
                product_id=book.product_id,
                principal=1_000_000,
                term=12,
                method="equal_instalment",
                annual_rate="0.23",
            )
        assert "20.00 %" in capped.value.detail
        with pytest.raises(InvalidParameter) as outside:
            loans.create_loan(
                uow,
                borrower_id="brw_x",
                product_id=book.product_id,
                principal=1_000_000,
                term=36,
                method="equal_instalment",
                annual_rate="0.10",
            )
        assert outside.value.param == "term"


def test_a_credit_line_accrues_daily_and_stays_in_the_books(any_app: Flask) -> None:
    use_clock(any_app, START)
    book = make_book(any_app)
    line_book = Book(book.institution, book.partner, make_product(any_app, book.institution, **LINE_PRODUCT))
    line_id = make_credit_line(any_app, line_book, limit=10_000_000, annual_rate="0.0900")
    with any_app.app_context(), uow_for(any_app, book.partner.tenant_id) as uow:
        loans.draw_credit_line(uow, line_id, 3_600_000)
        uow.commit()
    close_days(any_app, START, date(2026, 3, 10))  # 10 days x 900 fen
    assert get_line(any_app, line_id).interest_receivable == 9_000
    set_day(any_app, date(2026, 3, 11))
    with any_app.app_context(), uow_for(any_app, book.partner.tenant_id) as uow:
        loans.draw_credit_line(uow, line_id, 3_600_000)  # same day: no interest for the 11th yet
        rpy = loans.repay_credit_line(uow, line_id, 9_000 + 1_000_000)
        uow.commit()
    assert (rpy.interest, rpy.principal) == (9_000, 1_000_000)
    close_days(any_app, date(2026, 3, 11), date(2026, 3, 11))
    line = get_line(any_app, line_id)
    assert line.principal_outstanding == 6_200_000 and line.interest_receivable == 1_550  # 6.2M x 9 % / 360
    with uow_for(any_app, None) as uow:
        balances = ledger.loan_balances(uow.session, line_id)
    assert balances[Account.LOANS_RECEIVABLE] == line.principal_outstanding
    assert balances[Account.INTEREST_RECEIVABLE] == line.interest_receivable
    with pytest.raises(InvalidParameter):
        make_credit_line(any_app, line_book, limit=1_000_000)  # business lines start at ¥100,000

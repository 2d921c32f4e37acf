"""A loan's whole life on both databases: sign, disburse, accrue, repay on time and late,
penalty and buckets, partial prepayments both ways, payoff; another loan charged off and
recovered. Every step is checked against the pure arithmetic and against the ledger."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import select

from lendbridge.core.money import Fen
from lendbridge.core.pagination import PageRequest
from lendbridge.events.models import Event
from lendbridge.ledger import services as ledger
from lendbridge.ledger.postings import Account
from lendbridge.loans import contracts
from lendbridge.loans import services as loans
from lendbridge.loans.interest import accrued_to_date
from lendbridge.loans.models import LoanAgreement, Repayment
from lendbridge.loans.penalty import penalty_accrued
from lendbridge.loans.schedules import build_schedule
from lendbridge.loans.terms import LoanTerms, RepaymentMethod
from tests.factories.loans import (
    Book,
    close_days,
    get_loan,
    make_book,
    make_loan,
    repay,
    set_day,
    uow_for,
    use_clock,
)

START = date(2026, 1, 15)
PENALTY_RATE = Decimal("0.27")


def expected_schedule() -> Any:
    terms = LoanTerms(principal=Fen(1_200_000), annual_rate=Decimal("0.12"), term=12, start_date=START)
    return build_schedule(terms, RepaymentMethod.EQUAL_INSTALMENT)


def schedule(app: Flask, loan_id: str) -> list[dict[str, Any]]:
    with uow_for(app, None) as uow:
        rows: list[dict[str, Any]] = loans.schedule_body(uow, loan_id)["instalments"]
        return rows


def in_books(app: Flask, loan_id: str) -> bool:
    loan = get_loan(app, loan_id)
    with uow_for(app, None) as uow:
        return loans.matches_ledger(loan, ledger.loan_balances(uow.session, loan_id))


def event_types(app: Flask, loan_id: str) -> list[str]:
    with uow_for(app, None) as uow:
        return [
            e.type
            for e in uow.session.execute(
                select(Event).where(Event.object_id == loan_id).order_by(Event.id)
            ).scalars()
        ]


def prepay(app: Flask, book: Book, loan_id: str, amount: int | None, mode: str) -> Repayment:
    with app.app_context(), uow_for(app, book.partner.tenant_id) as uow:
        rpy = loans.prepay(uow, loan_id, amount, mode)
        uow.commit()
        return rpy


def test_a_loan_from_signature_to_payoff(any_app: Flask) -> None:
    app = any_app
    use_clock(app, START)
    book = make_book(app, penalty_rate=PENALTY_RATE)
    loan_id = make_loan(app, book)
    plan = expected_schedule()

    # Signed: the stored agreement hashes to the loan's hash and carries a valid SM2 signature.
    loan = get_loan(app, loan_id)
    assert loan.status == "active" and loan.principal_outstanding == 1_200_000
    assert loan.apr_nominal.startswith("0.1200")
    with uow_for(app, None) as uow:
        agreement = uow.session.get(LoanAgreement, loan_id)
        assert agreement is not None
        assert "借款合同" in agreement.text and "LOAN AGREEMENT" in agreement.text
        assert agreement.hash == loan.agreement_hash
        assert contracts.verify_agreement(
            agreement.text, agreement.hash, agreement.signature, agreement.public_key
        )
        assert not contracts.verify_agreement(
            agreement.text + " ", agreement.hash, agreement.signature, agreement.public_key
        )
    assert [(i["principal"], i["interest"]) for i in schedule(app, loan_id)] == [
        (i.principal, i.interest) for i in plan
    ]

    # Daily accrual: by the end of 14 Feb, 30 of the first period's 31 days.
    close_days(app, START, date(2026, 2, 14))
    loan = get_loan(app, loan_id)
    first = plan.instalments[0]
    assert loan.interest_receivable == accrued_to_date(
        first.interest, START, first.due_date, date(2026, 2, 14)
    )
    assert loan.accrued_through == date(2026, 2, 14) and in_books(app, loan_id)

    # On time: the first instalment paid on its due date.
    set_day(app, first.due_date)
    paid = repay(app, book.partner.tenant_id, loan_id, first.payment)
    assert (paid.principal, paid.interest, paid.penalty, paid.prepaid_principal) == (
        first.principal,
        first.interest,
        0,
        0,
    )
    loan = get_loan(app, loan_id)
    assert loan.status == "active" and loan.interest_receivable == 0 and loan.on_time_instalments == 1
    assert loan.principal_outstanding == 1_200_000 - first.principal and in_books(app, loan_id)

    # Late: the second instalment is missed; COB of its due date makes the loan overdue.
    second = plan.instalments[1]
    close_days(app, first.due_date, second.due_date)
    loan = get_loan(app, loan_id)
    assert loan.status == "overdue" and (loan.days_past_due, loan.bucket) == (1, "1-3")
    assert loan.classification == "special_mention"
    close_days(app, second.due_date + timedelta(days=1), date(2026, 3, 24))
    loan = get_loan(app, loan_id)
    assert (loan.days_past_due, loan.bucket) == (10, "8-30")
    expected_penalty = penalty_accrued(second.principal, PENALTY_RATE, second.due_date, date(2026, 3, 24))
    assert loan.penalty_receivable == expected_penalty > 0 and in_books(app, loan_id)
    assert event_types(app, loan_id).count("loan.overdue") == 1

    # Cure: pay what the second instalment owes on 25 March (penalty through that day included).
    set_day(app, date(2026, 3, 25))
    penalty_today = penalty_accrued(second.principal, PENALTY_RATE, second.due_date, date(2026, 3, 25))
    cured = repay(app, book.partner.tenant_id, loan_id, second.payment + penalty_today)
    assert cured.penalty == penalty_today and cured.prepaid_principal == 0
    loan = get_loan(app, loan_id)
    assert loan.status == "active" and loan.days_past_due == 0 and loan.bucket == "current"
    assert loan.on_time_instalments == 1  # a late instalment does not count
    assert "loan.cured" in event_types(app, loan_id) and in_books(app, loan_id)

    # Partial prepayment, lower instalment: same number of instalments, smaller payments.
    close_days(app, date(2026, 3, 25), date(2026, 3, 31))
    before = schedule(app, loan_id)
    set_day(app, date(2026, 4, 1))
    lower = prepay(app, book, loan_id, 200_000, "lower_instalment")
    after = schedule(app, loan_id)
    assert lower.prepaid_principal > 0 and lower.prepayment_fee == round(
        lower.prepaid_principal * Decimal("0.01")
    )
    assert len(after) == len(before) == 12
    assert after[-1]["payment"] < before[-1]["payment"]
    assert in_books(app, loan_id)

    # Partial prepayment, shorten term: the same instalment, fewer of them.
    close_days(app, date(2026, 4, 1), date(2026, 4, 9))
    set_day(app, date(2026, 4, 10))
    prepay(app, book, loan_id, 200_000, "shorten_term")
    shorter = schedule(app, loan_id)
    assert len(shorter) < 12
    assert shorter[3]["payment"] == after[3]["payment"]  # the level payment is kept
    assert in_books(app, loan_id)

    # Payoff: the quote closes the loan exactly.
    close_days(app, date(2026, 4, 10), date(2026, 4, 30))
    set_day(app, date(2026, 5, 1))
    with uow_for(app, book.partner.tenant_id) as uow:
        quote = loans.payoff_quote(uow, loan_id)
    payoff = prepay(app, book, loan_id, None, "full")
    assert payoff.amount == quote.total and payoff.refund_due == 0
    loan = get_loan(app, loan_id)
    assert loan.status == "paid_off"
    assert (
        loan.principal_outstanding,
        loan.interest_receivable,
        loan.penalty_receivable,
        loan.fee_receivable,
    ) == (0, 0, 0, 0)
    assert in_books(app, loan_id)
    assert event_types(app, loan_id)[-1] == "loan.paid_off"

    # The statement adds up: what came in is principal plus interest, penalty and fees.
    with uow_for(app, None) as uow:
        repayments = list(
            uow.session.execute(select(Repayment).where(Repayment.loan_id == loan_id)).scalars()
        )
        pages = statement_pages(uow, loan_id)
        uow.session.expunge_all()
    received = sum(r.amount for r in repayments)
    charges = sum(r.interest + r.penalty + r.fee + r.prepayment_fee for r in repayments)
    assert received == 1_200_000 + charges
    assert sum(r.principal for r in repayments) == 1_200_000
    assert pages[0]["matches_loan"] and pages[0]["balances"]["loans_receivable"] == 0
    entries = [e for page in pages for e in page["data"]]
    assert len(entries) > 100  # several pages: daily accruals, repayments, prepayments
    movements = {account: 0 for account in ("loans_receivable", "interest_receivable", "penalty_receivable")}
    collected = 0
    for e in entries:
        for line in e["lines"]:
            if line["account"] in movements:
                movements[line["account"]] += line["debit"] - line["credit"]
            if line["account"] == "interest_receivable" and e["entry_type"] in ("repayment", "prepayment"):
                collected += line["credit"]
    assert movements == {account: 0 for account in movements}  # every accrual was collected
    assert collected == sum(r.interest for r in repayments)

    # Charged off: another loan never paid, written off after 90+ days, then a recovery.
    set_day(app, date(2026, 5, 1))
    bad = make_loan(app, book)
    close_days(app, date(2026, 5, 1), date(2026, 8, 5))
    loan = get_loan(app, bad)
    assert (
        loan.status == "overdue"
        and loan.bucket == "61-90"
        and loan.days_past_due == (date(2026, 8, 6) - date(2026, 6, 1)).days
    )
    set_day(app, date(2026, 8, 6))
    receivable = loan.principal_outstanding + loan.interest_receivable + loan.penalty_receivable
    with app.app_context(), uow_for(app, book.partner.tenant_id) as uow:
        loans.charge_off(uow, bad, "90 days past due, collections exhausted")
        uow.commit()
    loan = get_loan(app, bad)
    assert loan.status == "charged_off" and loan.principal_outstanding == 0 and in_books(app, bad)
    recovered = repay(app, book.partner.tenant_id, bad, 50_000)
    assert recovered.kind == "recovery" and get_loan(app, bad).recovered == 50_000

    # The institution's books balance, with the write-off and recovery where they belong.
    with uow_for(app, None) as uow:
        tb = ledger.trial_balance(uow.session, book.institution.tenant_id, False, date(2026, 12, 31))
        assert ledger.unbalanced_entries(uow.session) == 0
        assert all(r.ok for r in ledger.verify(uow.session))
    rows = {r.account: r for r in tb.rows}
    assert tb.balanced
    assert rows[Account.WRITE_OFF_EXPENSE].balance >= receivable  # plus the charge-off day's accrual
    assert rows[Account.RECOVERY_INCOME].balance == 50_000
    assert rows[Account.CLEARING].balance == received + 50_000
    assert rows[Account.CUSTODY_CASH].balance == -2_400_000


def statement_pages(uow: Any, loan_id: str) -> list[dict[str, Any]]:
    """Every page of the loan's statement, following the cursor."""
    pages, cursor = [], None
    while True:
        page = loans.statement_body(uow, loan_id, PageRequest(limit=50, starting_after=cursor))
        pages.append(page)
        if not page["has_more"]:
            return pages
        cursor = page["data"][-1]["journal_entry"]

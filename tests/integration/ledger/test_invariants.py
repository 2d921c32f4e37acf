"""Hypothesis: random sequences of disburse / accrue (COB) / repay / prepay / penalty /
charge-off on a real database keep two invariants:

1. every loan's running balances equal the ledger's balances of that loan's accounts
   (and the instalment rows add up to the loan row);
2. the institution's books balance, and no entry is unbalanced.

Each example runs its own loan on its own sandbox test clock, so examples share the
database but not their loans (COB is scoped to the clock).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from lendbridge.ledger import services as ledger
from lendbridge.loans import cob
from lendbridge.loans import services as loans
from lendbridge.loans.models import Loan, LoanInstalment
from tests.factories.loans import (
    Book,
    make_book,
    make_loan,
    make_test_clock,
    move_test_clock,
    uow_for,
    use_clock,
)

START = date(2026, 1, 31)  # a month-end start exercises clamped due dates


def machine_for(app: Flask, book: Book) -> type[RuleBasedStateMachine]:
    db = app.extensions["lendbridge"].db

    class LoanBook(RuleBasedStateMachine):
        loan_id: str
        clock_id: str
        day: date

        @initialize(
            method=st.sampled_from(["equal_instalment", "equal_principal", "interest_first", "bullet"]),
            principal=st.integers(500_000, 20_000_000),
            term=st.integers(3, 12),
            rate=st.sampled_from(["0.06", "0.0999", "0.12", "0.18"]),
        )
        def disburse(self, method: str, principal: int, term: int, rate: str) -> None:
            self.day = START
            self.clock_id = make_test_clock(app, book.partner, START)
            self.loan_id = make_loan(
                app,
                book,
                principal=principal,
                term=term,
                method=method,
                annual_rate=rate,
                test_clock_id=self.clock_id,
            )

        def status(self) -> str:
            with uow_for(app, None) as uow:
                return uow.get(Loan, self.loan_id).status

        @rule(days=st.integers(1, 40), daily=st.booleans())
        def accrue(self, days: int, daily: bool) -> None:
            """COB for each day, or once for the last day (a missed run catches up)."""
            target = self.day + timedelta(days=days)
            first = self.day if daily else target - timedelta(days=1)
            with app.app_context():
                cob.run_cob_through(db, first, target - timedelta(days=1), test_clock_id=self.clock_id)
            move_test_clock(app, self.clock_id, target)
            self.day = target

        @precondition(lambda self: self.status() in ("active", "overdue", "charged_off"))
        @rule(share=st.decimals(Decimal("0.01"), Decimal("1.3"), places=2))
        def repay(self, share: Decimal) -> None:
            with app.app_context(), uow_for(app, book.partner.tenant_id) as uow:
                loan = uow.get(Loan, self.loan_id)
                if loan.status == "charged_off":
                    amount = 10_000
                else:
                    amount = max(1, int(loans.payoff_quote(uow, self.loan_id).total * share))
                loans.record_repayment(uow, self.loan_id, amount)
                uow.commit()

        @precondition(lambda self: self.status() in ("active", "overdue"))
        @rule(
            mode=st.sampled_from(["shorten_term", "lower_instalment", "full"]),
            share=st.decimals(Decimal("0.05"), Decimal("0.9"), places=2),
        )
        def prepay(self, mode: str, share: Decimal) -> None:
            with app.app_context(), uow_for(app, book.partner.tenant_id) as uow:
                amount = None
                if mode != "full":
                    amount = max(1, int(loans.payoff_quote(uow, self.loan_id).total * share))
                loans.prepay(uow, self.loan_id, amount, mode)
                uow.commit()

        @precondition(lambda self: self.status() == "overdue")
        @rule()
        def charge_off(self) -> None:
            with app.app_context(), uow_for(app, book.partner.tenant_id) as uow:
                loans.charge_off(uow, self.loan_id, "property test")
                uow.commit()

        @invariant()
        def loan_equals_ledger(self) -> None:
            with uow_for(app, None) as uow:
                loan = uow.get(Loan, self.loan_id)
                balances = ledger.loan_balances(uow.session, self.loan_id)
                assert loans.matches_ledger(loan, balances), (loan.status, balances)
                for value in (
                    loan.principal_outstanding,
                    loan.interest_receivable,
                    loan.penalty_receivable,
                    loan.fee_receivable,
                    loan.refund_due,
                    loan.deferred_subsidy,
                ):
                    assert value >= 0
                rows = list(
                    uow.session.execute(
                        select(LoanInstalment).where(LoanInstalment.loan_id == self.loan_id)
                    ).scalars()
                )
                if loan.status in ("active", "overdue"):
                    assert loan.principal_outstanding == sum(r.principal - r.paid_principal for r in rows)
                    assert loan.interest_receivable == sum(r.interest_accrued - r.paid_interest for r in rows)
                    assert loan.penalty_receivable == sum(r.penalty_accrued - r.paid_penalty for r in rows)
                    assert loan.fee_receivable == sum(r.fee_charged - r.paid_fee for r in rows)
                    assert all(0 <= r.interest_accrued <= r.interest for r in rows)
                if loan.status == "paid_off":
                    assert (
                        loan.principal_outstanding == loan.interest_receivable == loan.penalty_receivable == 0
                    )

        @invariant()
        def books_balance(self) -> None:
            with uow_for(app, None) as uow:
                tb = ledger.trial_balance(uow.session, book.institution.tenant_id, False, date(2100, 1, 1))
                assert tb.balanced
                assert ledger.unbalanced_entries(uow.session) == 0

    return LoanBook


def _run(app: Flask, examples: int, steps: int) -> None:
    use_clock(app, START)
    book = make_book(app, penalty_rate=Decimal("0.36"), fees={"prepayment_fee_rate": Decimal("0.02")})
    run_state_machine_as_test(
        machine_for(app, book),
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    with uow_for(app, None) as uow:
        assert all(r.ok for r in ledger.verify(uow.session))


@pytest.mark.slow
def test_random_loan_histories_keep_loans_equal_to_the_ledger_sqlite(app: Flask) -> None:
    _run(app, examples=20, steps=10)


@pytest.mark.slow
def test_random_loan_histories_keep_loans_equal_to_the_ledger_postgresql(pg_app: Flask) -> None:
    _run(pg_app, examples=25, steps=10)

"""The real ports: the loan engine (lendbridge.loans.services) and identity's payout accounts.

Payments talks to loans and identity only through these two classes (see ports.py), so
its own tests run against fakes and a change in either area shows up here, in one place.

Merchant settlement accounts: a loan paid to a merchant carries `merchant =
{"name", "settlement_account"}`. The settlement account reference is read as
"<BANK CODE>:<account number>" (e.g. "CMB:6214830000000099"); a bare number of 8 to 32
digits is accepted with the bank taken from its prefix (OTHER when unknown).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from lendbridge.core.errors import Conflict
from lendbridge.payments.banks import OTHER, bank_of_card
from lendbridge.payments.ports import Due, Party, PartyKind, PayableLoan
from lendbridge.uow import UnitOfWork

_SETTLEMENT = re.compile(r"^(?:([A-Z0-9]{2,20}):)?(\d{8,32})$")
BOOKED = ("active", "overdue")


def merchant_party(merchant: dict[str, Any] | None) -> Party | None:
    """The merchant's settlement account as a payment party, or None if it has none usable."""
    if not merchant:
        return None
    reference = str(merchant.get("settlement_account") or "").replace(" ", "")
    match = _SETTLEMENT.match(reference)
    if match is None:
        return None
    bank, number = match.group(1), match.group(2)
    if bank is None:
        found = bank_of_card(number)
        bank = found if found != OTHER else OTHER
    return Party(PartyKind.SETTLEMENT, bank, number, str(merchant.get("name") or ""))


def _outstanding(row: Any) -> int:
    if row.status in ("paid", "charged_off"):
        return 0
    return max(
        0,
        (row.principal - row.paid_principal)
        + (row.interest - row.paid_interest)
        + (row.fee - row.paid_fee)
        + (row.penalty_accrued - row.paid_penalty),
    )


class LoansServicing:
    """`ports.LoanServicing` over lendbridge.loans.services and its models."""

    def payable_loan(self, uow: UnitOfWork, loan_id: str) -> PayableLoan:
        from lendbridge.loans import services as loans

        loan = loans.get_loan(uow, loan_id)
        return PayableLoan(
            loan_id=loan.id,
            tenant_id=loan.tenant_id,
            livemode=loan.livemode,
            institution_id=loan.institution_id,
            borrower_id=loan.borrower_id,
            state=loan.status,
            disburse_to=loan.disburse_to,
            principal=loan.principal,
            upfront_fee=loan.upfront_fee,
            subsidy=loan.subsidy,
            merchant=merchant_party(loan.merchant),
            test_clock_id=loan.test_clock_id,
        )

    def start_disbursement(self, uow: UnitOfWork, loan_id: str) -> None:
        from lendbridge.loans import services as loans

        loans.start_disbursement(uow, loan_id)

    def record_disbursement(
        self, uow: UnitOfWork, loan_id: str, *, paid_to: str, amount_paid: int, external_ref: str
    ) -> None:
        from lendbridge.loans import services as loans

        loans.record_disbursement(
            uow, loan_id, paid_to=paid_to, amount_paid=amount_paid, external_ref=external_ref
        )

    def record_disbursement_failure(self, uow: UnitOfWork, loan_id: str, reason: str) -> None:
        from lendbridge.loans import services as loans

        loans.record_disbursement_failure(uow, loan_id, reason)

    def record_repayment(
        self, uow: UnitOfWork, loan_id: str, amount: int, *, source: str, external_ref: str
    ) -> None:
        from lendbridge.ledger import services as ledger
        from lendbridge.loans import services as loans
        from lendbridge.loans.models import Loan

        loans.record_repayment(uow, loan_id, amount, source=source, external_ref=external_ref)
        # The repayment books the cash to `clearing`; a collection through our channels
        # landed in the institution's custody account already, so it settles at once.
        loan = uow.get(Loan, loan_id)
        ledger.record_settlement(
            uow.session,
            institution_id=loan.institution_id,
            livemode=loan.livemode,
            amount=amount,
            on=loans.loan_date(uow, loan.test_clock_id),
            reference=external_ref,
        )

    def dues(self, uow: UnitOfWork, business_date: date, *, test_clock_id: str | None) -> Sequence[Due]:
        """Instalments due on `business_date` with money owed, across all tenants.

        The amount here is the scheduled remainder, a first filter; the debit itself is
        sized by `amount_due` in the loan's own unit of work.
        """
        from lendbridge.loans.models import Loan, LoanInstalment

        stmt = (
            select(Loan, LoanInstalment)
            .join(LoanInstalment, LoanInstalment.loan_id == Loan.id)
            .where(
                LoanInstalment.due_date == business_date,
                LoanInstalment.status.not_in(("paid", "charged_off")),
                Loan.status.in_(BOOKED),
                Loan.test_clock_id.is_(None)
                if test_clock_id is None
                else Loan.test_clock_id == test_clock_id,
            )
            .order_by(Loan.id)
            .execution_options(all_tenants=True)
        )
        out = []
        for loan, row in uow.session.execute(stmt).all():
            amount = _outstanding(row)
            if amount > 0:
                out.append(
                    Due(
                        loan_id=loan.id,
                        tenant_id=loan.tenant_id,
                        livemode=loan.livemode,
                        institution_id=loan.institution_id,
                        borrower_id=loan.borrower_id,
                        due_date=row.due_date,
                        amount=amount,
                        test_clock_id=loan.test_clock_id,
                    )
                )
        return out

    def amount_due(self, uow: UnitOfWork, loan_id: str, due_date: date | None) -> int:
        """What the waterfall will find owed on that instalment today (None: on every
        instalment due by today), penalty included.

        Computed with the loan engine's own pure catch-up (nothing is booked here), so the
        debit equals what `record_repayment` allocates on the same business date: no
        shortfall that leaves the instalment overdue, no excess that becomes a prepayment.
        """
        from lendbridge.loans import accrual
        from lendbridge.loans import services as loans
        from lendbridge.loans.models import Loan
        from lendbridge.loans.terms import DayCount

        loan = uow.get(Loan, loan_id)
        if loan.status not in BOOKED:
            return 0
        states = tuple(loans.to_state(r) for r in loans.schedule_rows(uow, loan))
        on = loans.loan_date(uow, loan.test_clock_id)
        if loan.accrued_through is not None and loan.accrued_through < on:
            states, _ = accrual.catch_up(states, on, Decimal(loan.penalty_rate), DayCount(loan.day_count))
        return sum(d.total for d in accrual.dues(states, on) if due_date is None or d.due_date == due_date)


class IdentityPayoutAccounts:
    """`ports.PayoutAccounts` over lendbridge.identity.services.payout_account."""

    def payout_account(self, uow: UnitOfWork, borrower_id: str) -> Party:
        from lendbridge.identity import services as identity

        account = identity.payout_account(uow, borrower_id)
        if account.kind == "bank_card":
            return Party(
                PartyKind.CARD,
                bank_of_card(account.account_number),
                account.account_number,
                account.holder_name,
            )
        if account.kind == "settlement_account":
            return Party(
                PartyKind.SETTLEMENT,
                bank_of_card(account.account_number),
                account.account_number,
                account.holder_name,
            )
        raise Conflict("The borrower's payout account is of an unknown kind", code="payout_account_missing")

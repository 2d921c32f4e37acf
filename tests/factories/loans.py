"""One-line builders for products, loans and credit lines (through the real services).

Loans are created the way the application flow will create them: `create_loan` in the
partner's context, then sign, start the disbursement and record its success (the ledger
side of a payout). Time is driven by a FrozenClock installed on the app
(`use_clock(app, ...)`), or by a sandbox test clock row for loans attached to one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import update

from lendbridge.clocks import TestClock
from lendbridge.core.clock import BUSINESS_TZ, FrozenClock
from lendbridge.core.ids import new_id
from lendbridge.db import SYSTEM, TenantContext
from lendbridge.loans import services as loans
from lendbridge.loans.cob import CobReport, run_cob
from lendbridge.loans.models import CreditLine, Loan
from lendbridge.products import services as products
from lendbridge.tenancy.domain import TenantKind
from lendbridge.uow import UnitOfWork
from tests.factories.tenancy import TenantKeys, make_tenant

DEFAULT_PRODUCT: dict[str, Any] = {
    "name": "Course instalments",
    "kind": "instalment",
    "borrower_type": "individual",
    "methods": ["equal_instalment", "equal_principal", "interest_first", "bullet"],
    "amount": {"min": 500_000, "max": 20_000_000},
    "term": {"min": 3, "max": 12},
    "rate": {"min": Decimal("0.06"), "max": Decimal("0.18")},
    "penalty_rate": Decimal("0.27"),
    "fees": {"prepayment_fee_rate": Decimal("0.01")},
    "rate_grid": {"A": Decimal("0.06"), "C": Decimal("0.12"), "E": Decimal("0.18")},
}


def noon(day: date) -> datetime:
    """12:00 Asia/Shanghai on `day`, as UTC (comfortably inside that business date)."""
    return datetime.combine(day, time(12), tzinfo=BUSINESS_TZ).astimezone(UTC)


def use_clock(app: Flask, day: date) -> FrozenClock:
    """Freeze the app's clock at noon of `day` (requests, services and factories read it)."""
    clock = FrozenClock(noon(day))
    app.extensions["lendbridge"].clock = clock
    return clock


def set_day(app: Flask, day: date) -> None:
    clock = app.extensions["lendbridge"].clock
    assert isinstance(clock, FrozenClock), "call use_clock(app, day) first"
    clock.set(noon(day))


@dataclass(frozen=True)
class Book:
    """An institution, a partner and a product of that institution."""

    institution: TenantKeys
    partner: TenantKeys
    product_id: str


def uow_for(app: Flask, tenant_id: str | None, livemode: bool = False) -> UnitOfWork:
    svc = app.extensions["lendbridge"]
    ctx = SYSTEM if tenant_id is None else TenantContext(tenant_id, livemode)
    return UnitOfWork(svc.db, ctx, clock=svc.clock)


def make_product(app: Flask, institution: TenantKeys, livemode: bool = False, **overrides: Any) -> str:
    args = {**DEFAULT_PRODUCT, **overrides}
    with app.app_context(), uow_for(app, institution.tenant_id, livemode) as uow:
        product = products.create_product(uow, args)
        uow.commit()
        return product.id


def make_book(app: Flask, name: str = "Acme", **product: Any) -> Book:
    institution = make_tenant(app, TenantKind.INSTITUTION, f"{name} Bank")
    partner = make_tenant(app, TenantKind.PARTNER, f"{name} School")
    return Book(institution, partner, make_product(app, institution, **product))


def make_test_clock(app: Flask, partner: TenantKeys, day: date) -> str:
    with uow_for(app, partner.tenant_id) as uow:
        clock = TestClock(id=new_id("clock"), name="factory", frozen_time=noon(day), created=uow.now())
        uow.session.add(clock)
        uow.commit()
        return clock.id


def move_test_clock(app: Flask, clock_id: str, day: date) -> None:
    with uow_for(app, None) as uow:
        uow.session.execute(update(TestClock).where(TestClock.id == clock_id).values(frozen_time=noon(day)))
        uow.commit()


def make_loan(
    app: Flask,
    book: Book,
    *,
    principal: int = 1_200_000,
    term: int = 12,
    method: str = "equal_instalment",
    annual_rate: str = "0.12",
    disburse: bool = True,
    sign: bool = True,
    test_clock_id: str | None = None,
    disburse_to: str = "borrower",
    merchant: dict[str, Any] | None = None,
    borrower_id: str | None = None,
) -> str:
    """A loan of `book`'s partner, signed and (by default) disbursed today."""
    partner = book.partner.tenant_id
    with app.app_context():
        with uow_for(app, partner) as uow:
            loan = loans.create_loan(
                uow,
                borrower_id=borrower_id or new_id("brw"),
                product_id=book.product_id,
                principal=principal,
                term=term,
                method=method,
                annual_rate=Decimal(annual_rate),
                disburse_to=disburse_to,
                merchant=merchant,
                test_clock_id=test_clock_id,
            )
            if sign:
                loans.sign_loan(
                    uow, loan.id, signer=f"borrower {loan.borrower_id} (SMS OTP)", ip="203.0.113.7"
                )
            uow.commit()
            loan_id = loan.id
        if sign and disburse:
            disburse_loan(app, partner, loan_id)
    return loan_id


def disburse_loan(app: Flask, partner_id: str, loan_id: str) -> None:
    with app.app_context(), uow_for(app, partner_id) as uow:
        loan = loans.start_disbursement(uow, loan_id)
        loans.record_disbursement(
            uow,
            loan_id,
            paid_to=loan.disburse_to,
            amount_paid=loans.disbursement_amount(loan),
            external_ref=f"payout-{loan_id}",
        )
        uow.commit()


def make_credit_line(
    app: Flask,
    book: Book,
    *,
    limit: int = 20_000_000,
    annual_rate: str = "0.0730",
    test_clock_id: str | None = None,
) -> str:
    with app.app_context(), uow_for(app, book.partner.tenant_id) as uow:
        line = loans.open_credit_line(
            uow,
            borrower_id=new_id("brw"),
            product_id=book.product_id,
            limit=limit,
            annual_rate=Decimal(annual_rate),
            test_clock_id=test_clock_id,
        )
        uow.commit()
        return line.id


LINE_PRODUCT: dict[str, Any] = {
    "name": "Business line",
    "kind": "credit_line",
    "borrower_type": "business",
    "methods": [],
    "amount": {"min": 10_000_000, "max": 500_000_000},
    "term": {"min": 12, "max": 36},
    "rate": {"min": Decimal("0.04"), "max": Decimal("0.15")},
    "penalty_rate": Decimal("0.20"),
    "rate_grid": {"A": Decimal("0.05"), "E": Decimal("0.15")},
}


def get_loan(app: Flask, loan_id: str) -> Loan:
    """The loan row as it is now (detached, every column loaded)."""
    with uow_for(app, None) as uow:
        loan = uow.get(Loan, loan_id)
        uow.session.expunge(loan)
        return loan


def get_line(app: Flask, line_id: str) -> CreditLine:
    with uow_for(app, None) as uow:
        line = uow.get(CreditLine, line_id)
        uow.session.expunge(line)
        return line


def repay(app: Flask, partner_id: str, loan_id: str, amount: int, **kw: Any) -> Any:
    with app.app_context(), uow_for(app, partner_id) as uow:
        rpy = loans.record_repayment(uow, loan_id, amount, **kw)
        uow.commit()
        return rpy


def close_days(app: Flask, first: date, last: date, *, test_clock_id: str | None = None) -> list[CobReport]:
    """Run the COB for each business date first..last (inclusive)."""
    reports = []
    day = first
    db = app.extensions["lendbridge"].db
    with app.app_context():
        while day <= last:
            reports.append(run_cob(db, day, test_clock_id=test_clock_id))
            day += timedelta(days=1)
    return reports

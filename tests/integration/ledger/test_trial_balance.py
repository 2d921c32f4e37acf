"""The admin trial balance, settlement into custody, and whose books exist at all."""

from __future__ import annotations

from datetime import date

from flask import Flask
from sqlalchemy import select

from lendbridge.ledger import services as ledger
from lendbridge.ledger.models import JournalEntry
from lendbridge.tenancy.domain import TenantKind
from lendbridge.tenancy.models import Tenant
from tests.factories.loans import (
    close_days,
    get_loan,
    make_book,
    make_loan,
    repay,
    set_day,
    uow_for,
    use_clock,
)
from tests.factories.tenancy import auth, make_tenant

START = date(2026, 1, 15)


def test_staff_read_a_balanced_trial_balance_per_institution_and_mode(any_app: Flask) -> None:
    use_clock(any_app, START)
    book, other = make_book(any_app, "First"), make_book(any_app, "Second")
    loan_id = make_loan(any_app, book, principal=1_000_000)
    make_loan(any_app, other, principal=2_000_000)
    close_days(any_app, START, date(2026, 1, 31))
    set_day(any_app, date(2026, 2, 1))
    repay(any_app, book.partner.tenant_id, loan_id, 30_000)
    with any_app.app_context(), uow_for(any_app, None) as uow:
        ledger.record_settlement(
            uow.session,
            institution_id=book.institution.tenant_id,
            livemode=False,
            amount=30_000,
            on=date(2026, 2, 1),
            reference="partner remittance 2026-02-01",
        )
        uow.commit()
    staff = make_tenant(any_app, TenantKind.OPERATOR, "Ops")
    client = any_app.test_client()
    path = f"/admin/v1/ledger/trial_balance?institution={book.institution.tenant_id}&as_of=2026-02-01"
    tb = client.get(path, headers=auth(staff.test_key)).get_json()
    assert (
        tb["object"] == "trial_balance" and tb["balanced"] is True and tb["total_debit"] == tb["total_credit"]
    )
    accounts = {row["account"]: row for row in tb["accounts"]}
    loan = get_loan(any_app, loan_id)
    assert accounts["loans_receivable"]["balance"] == loan.principal_outstanding < 1_000_000
    assert accounts["interest_receivable"]["balance"] == loan.interest_receivable
    assert accounts["custody_cash"]["balance"] == -1_000_000 + 30_000  # paid out, then settled back
    assert accounts["clearing"]["balance"] == 0  # collected and settled
    # As of before the repayment, the books hold only the payout and accruals.
    early = client.get(path.replace("2026-02-01", "2026-01-20"), headers=auth(staff.test_key)).get_json()
    assert "clearing" not in {row["account"] for row in early["accounts"]} and early["balanced"]
    # Partners and institutions cannot read the admin ledger; unknown institutions are 404.
    assert client.get(path, headers=auth(book.partner.test_key)).status_code == 403
    assert client.get(path, headers=auth(book.institution.test_key)).status_code == 403
    missing = client.get(
        "/admin/v1/ledger/trial_balance?institution=ten_nobody", headers=auth(staff.test_key)
    )
    assert missing.status_code == 404
    live = client.get(path + "&livemode=true", headers=auth(staff.test_key)).get_json()
    assert live["accounts"] == [] and live["balanced"] is True


def test_only_institutions_keep_books(any_app: Flask) -> None:
    """No ledger belongs to the platform or to a partner: money sits in institutions' custody."""
    use_clock(any_app, START)
    book = make_book(any_app)
    loan_id = make_loan(any_app, book)
    close_days(any_app, START, date(2026, 2, 20))
    set_day(any_app, date(2026, 2, 21))
    repay(any_app, book.partner.tenant_id, loan_id, 200_000)
    with uow_for(any_app, None) as uow:
        owners = {i for i, _ in ledger.books(uow.session)}
        kinds = set(uow.session.execute(select(Tenant.kind).where(Tenant.id.in_(owners))).scalars())
        assert owners == {book.institution.tenant_id} and kinds == {TenantKind.INSTITUTION.value}
        entry_books = set(uow.session.execute(select(JournalEntry.institution_id).distinct()).scalars())
        assert entry_books == {book.institution.tenant_id}

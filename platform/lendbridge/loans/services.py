"""Loan use cases: create, sign, disburse, repay, prepay, quote, charge off, cancel, credit lines.

Every function takes a UnitOfWork and never commits. Each one loads what it needs, asks
the pure modules (schedules, apr, accrual, waterfall, prepayment, states, credit_lines)
for the figures, posts the ledger entry, updates the loan's running balances, and writes
the audit record and the event in the same transaction. State changes go through
`states.transition` (IllegalTransition -> 409).

A write on a loan locks the loan row first (`for_update`), so two repayments on one
loan, or a repayment and the COB batch holding the loan, run one after the other. A
repayment (or prepayment, quote, charge-off) on business date D first catches the loan
up through D with the same code the COB runs, so it always works on current figures;
COB for D then finds the loan already accrued through D and books nothing twice.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, update

from lendbridge.audit import service as audit
from lendbridge.clocks import clock_for
from lendbridge.core.clock import business_date
from lendbridge.core.errors import Conflict, IllegalTransition, InvalidParameter, NotFound
from lendbridge.core.ids import new_id
from lendbridge.core.money import Fen, format_rate
from lendbridge.core.pagination import Page, PageRequest
from lendbridge.db import TenantContext
from lendbridge.events import outbox
from lendbridge.ledger import postings
from lendbridge.ledger import services as ledger
from lendbridge.loans import accrual, contracts
from lendbridge.loans import credit_lines as lines_domain
from lendbridge.loans import prepayment as prepayment_domain
from lendbridge.loans.accrual import InstalmentState
from lendbridge.loans.apr import Apr, nominal_and_effective_apr, schedule_cash_flows
from lendbridge.loans.models import CreditLine, Draw, Loan, LoanAgreement, LoanInstalment, Repayment
from lendbridge.loans.schedules import Schedule, add_months, build_schedule
from lendbridge.loans.schemas import credit_line_body, draw_body, fixed_rate, loan_body, repayment_body
from lendbridge.loans.states import BOOKED_STATES, LoanEvent, LoanState, transition
from lendbridge.loans.subsidy import recognition_schedule, subsidise
from lendbridge.loans.terms import DayCount, FutureRule, LoanTerms, RepaymentMethod, parse_method, require_fen
from lendbridge.loans.waterfall import (
    Allocation,
    AllocationLine,
    AllocationOrder,
    Component,
    Dueness,
    allocate,
)
from lendbridge.products import domain as product_domain
from lendbridge.products import services as products
from lendbridge.products.domain import ProductKind
from lendbridge.uow import UnitOfWork

__all__ = [
    "cancel_loan",
    "charge_off",
    "create_loan",
    "draw_credit_line",
    "loan_body",
    "open_credit_line",
    "payoff_quote",
    "prepay",
    "record_disbursement",
    "record_disbursement_failure",
    "record_repayment",
    "repay_credit_line",
    "sign_loan",
    "start_disbursement",
]

ONE_DAY = timedelta(days=1)
DISBURSE_TO = ("borrower", "merchant")
PREPAYMENT_MODES = ("full", FutureRule.SHORTEN_TERM.value, FutureRule.LOWER_INSTALMENT.value)


# -- helpers -------------------------------------------------------------------------------


def _settings() -> Any:
    from flask import current_app

    return current_app.extensions["lendbridge"].settings


def object_now(uow: UnitOfWork, test_clock_id: str | None) -> datetime:
    """The time for an object's timestamps: its test clock's, when attached to one, so a
    loan signed on a clock at 2027-03-01 says so whatever the wall clock reads."""
    return clock_for(uow, test_clock_id).now()


def loan_date(uow: UnitOfWork, test_clock_id: str | None) -> date:
    """Today's business date for an object (its test clock's, when attached to one)."""
    return business_date(object_now(uow, test_clock_id))


@contextlib.contextmanager
def acting_for(uow: UnitOfWork, tenant_id: str, livemode: bool) -> Iterator[None]:
    """Emit events as the object's tenant even when a system job (COB) does the work."""
    saved = uow.ctx
    if saved.tenant_id == tenant_id and saved.livemode == livemode:
        yield
        return
    uow.ctx = TenantContext(tenant_id, livemode)
    try:
        yield
    finally:
        uow.ctx = saved


def emit_loan(uow: UnitOfWork, loan: Loan, event_type: str) -> None:
    with acting_for(uow, loan.tenant_id, loan.livemode):
        outbox.emit(uow, event_type, loan_body(loan))


def _audit(uow: UnitOfWork, action: str, obj: Loan | CreditLine, change: dict[str, Any]) -> None:
    audit.record(uow.session, action, obj.id, change, tenant_id=obj.tenant_id, livemode=obj.livemode)


def _post(uow: UnitOfWork, owner: Loan | CreditLine, entry: postings.JournalEntry) -> str:
    return ledger.post(
        uow.session,
        entry,
        institution_id=owner.institution_id,
        livemode=owner.livemode,
        loan_id=owner.id,
        created=object_now(uow, owner.test_clock_id),
    )


def _apply(loan: Loan, event: LoanEvent) -> None:
    loan.status = transition(LoanState(loan.status), event).value


def _rows(uow: UnitOfWork, loan_id: str) -> list[LoanInstalment]:
    # populate_existing: the repayment path writes instalments with Core statements.
    return list(
        uow.session.execute(
            select(LoanInstalment)
            .where(LoanInstalment.loan_id == loan_id)
            .order_by(LoanInstalment.number)
            .execution_options(populate_existing=True)
        ).scalars()
    )


_STATE_FIELDS = (
    "number",
    "period_start",
    "due_date",
    "months",
    "principal",
    "interest",
    "fee",
    "interest_accrued",
    "fee_charged",
    "penalty_accrued",
    "penalty_base",
    "penalty_since",
    "subsidy_income",
    "subsidy_recognised",
    "paid_principal",
    "paid_interest",
    "paid_fee",
    "paid_penalty",
    "status",
    "paid_on",
)


def to_state(row: LoanInstalment) -> InstalmentState:
    return InstalmentState(**{name: getattr(row, name) for name in _STATE_FIELDS})


def _store(
    uow: UnitOfWork, loan: Loan, rows: Sequence[LoanInstalment], states: Sequence[InstalmentState]
) -> None:
    """Write instalment states back: update kept rows, add new ones, drop vanished ones."""
    by_number = {row.number: row for row in rows}
    keep = {s.number for s in states}
    for state in states:
        row = by_number.get(state.number)
        if row is None:
            row = LoanInstalment(loan_id=loan.id, number=state.number)
            uow.session.add(row)
        for name in _STATE_FIELDS:
            if getattr(row, name, None) != getattr(state, name):
                setattr(row, name, getattr(state, name))
    for number, row in by_number.items():
        if number not in keep:
            uow.session.delete(row)


def _thresholds(loan: Loan) -> Any:
    return products.thresholds_of(loan.classification_thresholds)


def _order(loan: Loan) -> AllocationOrder:
    spec = loan.allocation_order
    return AllocationOrder.from_names(spec["steps"], spec.get("traversal", "by_instalment"))


def format_apr(apr: Apr) -> tuple[str, str]:
    return fixed_rate(apr.nominal), fixed_rate(apr.effective)


# -- creation and signing ------------------------------------------------------------------


@dataclass(frozen=True)
class _Priced:
    schedule: Schedule
    apr: Apr
    subsidy: Fen
    subsidy_income: tuple[Fen, ...]


def _price(terms: LoanTerms, method: RepaymentMethod, kind: ProductKind, target: Decimal | None) -> _Priced:
    if kind is ProductKind.MERCHANT_SUBSIDIZED:
        assert target is not None
        subsidised = subsidise(terms, method, target)
        return _Priced(
            subsidised.schedule, subsidised.borrower_apr, subsidised.subsidy, recognition_schedule(subsidised)
        )
    schedule = build_schedule(terms, method)
    if terms.annual_rate == 0 and terms.monthly_fee_rate == 0 and terms.upfront_fee == 0:
        zero = Decimal(0)
        apr = Apr(zero, zero, zero)
    else:
        apr = nominal_and_effective_apr(schedule_cash_flows(terms.principal_received, schedule))
    return _Priced(schedule, apr, Fen(0), tuple(Fen(0) for _ in schedule))


def _parse_rate(value: object, param: str) -> Decimal:
    if isinstance(value, float):
        raise InvalidParameter(f"{param} must be a decimal string such as 0.0600", param=param)
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise InvalidParameter(f"{param} must be a decimal string such as 0.0600", param=param) from None


def create_loan(
    uow: UnitOfWork,
    *,
    borrower_id: str,
    product_id: str,
    principal: int,
    term: int,
    method: str,
    annual_rate: Decimal | str,
    start_date: date | None = None,
    application_id: str | None = None,
    offer_id: str | None = None,
    disburse_to: str = "borrower",
    merchant: dict[str, Any] | None = None,
    test_clock_id: str | None = None,
) -> Loan:
    """A loan awaiting signature, for the calling partner, under a product it may use.

    Builds the schedule, computes the disclosed APR and re-checks the APR cap.
    """
    if uow.ctx.is_system:
        raise InvalidParameter("a loan is created in a partner's context", param="product")
    product = products.product_for_partner(uow, product_id)
    pterms = products.terms_of(product)
    if pterms.kind is ProductKind.CREDIT_LINE:
        raise InvalidParameter("this product is a credit line: open a credit line instead", param="product")
    method_ = parse_method(method)
    rate_ = _parse_rate(annual_rate, "annual_rate")
    require_fen(principal, "principal", minimum=1)
    product_domain.check_loan_terms(pterms, principal=principal, term=term, method=method_, annual_rate=rate_)
    if disburse_to not in DISBURSE_TO:
        raise InvalidParameter("disburse_to must be 'borrower' or 'merchant'", param="disburse_to")
    if disburse_to == "merchant" and not merchant:
        raise InvalidParameter(
            "a payout to a merchant needs the merchant's name and account", param="merchant"
        )
    if pterms.kind is ProductKind.MERCHANT_SUBSIDIZED and disburse_to != "merchant":
        raise InvalidParameter("a merchant-subsidised loan is paid to the merchant", param="disburse_to")
    start = start_date or loan_date(uow, test_clock_id)
    terms = LoanTerms(
        principal=Fen(principal),
        annual_rate=rate_,
        term=term,
        start_date=start,
        monthly_fee_rate=pterms.monthly_fee_rate,
        upfront_fee=pterms.upfront_fee_for(principal),
    )
    priced = _price(terms, method_, pterms.kind, pterms.subsidy_target_rate)
    product_domain.check_loan_apr(priced.apr.nominal, products.apr_cap())
    nominal, effective = format_apr(priced.apr)
    loan = Loan(
        id=new_id("loan"),
        created=object_now(uow, test_clock_id),
        institution_id=product.tenant_id,
        borrower_id=borrower_id,
        product_id=product.id,
        application_id=application_id,
        offer_id=offer_id,
        test_clock_id=test_clock_id,
        status=LoanState.PENDING_SIGNATURE.value,
        kind=pterms.kind.value,
        principal=principal,
        annual_rate=rate_,
        term=term,
        method=method_.value,
        start_date=start,
        upfront_fee=terms.upfront_fee,
        monthly_fee_rate=pterms.monthly_fee_rate,
        prepayment_fee_rate=pterms.prepayment_fee_rate,
        penalty_rate=pterms.penalty_rate,
        day_count=pterms.day_count.value,
        allocation_order=dict(product.allocation_order),
        future_rule=pterms.future_rule.value,
        classification_thresholds=product.classification_thresholds,
        reward_after=pterms.reward.after_on_time_instalments,
        reward_rate_reduction=pterms.reward.rate_reduction,
        apr_nominal=nominal,
        apr_effective=effective,
        disburse_to=disburse_to,
        merchant=dict(merchant) if merchant else None,
        subsidy=priced.subsidy,
        subsidy_target_rate=pterms.subsidy_target_rate,
        principal_outstanding=0,
        interest_receivable=0,
        penalty_receivable=0,
        fee_receivable=0,
        deferred_subsidy=0,
        refund_due=0,
        recovered=0,
        days_past_due=0,
        bucket="current",
        classification="normal",
        on_time_instalments=0,
        reward_earned=False,
    )
    uow.session.add(loan)
    _add_schedule(uow, loan, priced)
    uow.session.flush()
    _audit(uow, "loan.created", loan, {"principal": principal, "product": product.id, "apr": nominal})
    emit_loan(uow, loan, "loan.created")
    return loan


def _add_schedule(uow: UnitOfWork, loan: Loan, priced: _Priced) -> None:
    for inst, income in zip(priced.schedule, priced.subsidy_income, strict=True):
        state = InstalmentState.scheduled(inst, income)
        uow.session.add(LoanInstalment(loan_id=loan.id, **{n: getattr(state, n) for n in _STATE_FIELDS}))


def _lock(uow: UnitOfWork, loan_id: str) -> Loan:
    return uow.get(Loan, loan_id, for_update=True)


def _lock_with_states(uow: UnitOfWork, loan_id: str) -> tuple[Loan, tuple[InstalmentState, ...]]:
    """Lock the loan, THEN read its schedule as plain states (no ORM objects: the hot path).

    Two statements on purpose: in READ COMMITTED a row-lock wait re-checks only the locked
    row, so instalments joined into the locking SELECT could be the versions from before
    the lock holder committed (a lost update under concurrent repayments).
    """
    loan = _lock(uow, loan_id)
    uow.session.flush()  # nothing of this loan may be pending in the ORM when rows go around it
    columns = [getattr(LoanInstalment, name) for name in _STATE_FIELDS]
    found = uow.session.connection().execute(
        select(*columns).where(LoanInstalment.loan_id == loan.id).order_by(LoanInstalment.number)
    )
    return loan, tuple(InstalmentState(**row._asdict()) for row in found)


_INSTALMENTS = cast(Table, LoanInstalment.__table__)
_UPDATE_INSTALMENT = (
    update(_INSTALMENTS)
    .where(_INSTALMENTS.c.loan_id == bindparam("k_loan"), _INSTALMENTS.c.number == bindparam("k_number"))
    .values({name: bindparam(name) for name in _STATE_FIELDS if name != "number"})
)


def _store_states(
    uow: UnitOfWork, loan: Loan, before: Sequence[InstalmentState], after: Sequence[InstalmentState]
) -> None:
    """Write back only the instalments that changed (one executemany), drop vanished ones."""
    old = {s.number: s for s in before}
    new = {s.number: s for s in after}
    changed = [
        {"k_loan": loan.id, "k_number": n, **{f: getattr(s, f) for f in _STATE_FIELDS if f != "number"}}
        for n, s in new.items()
        if old.get(n) != s
    ]
    if any(n not in old for n in new):
        raise ValueError("re-amortisation never adds instalments")
    if changed:
        uow.session.connection().execute(_UPDATE_INSTALMENT, changed)
    gone = [n for n in old if n not in new]
    if gone:
        uow.session.connection().execute(
            delete(_INSTALMENTS).where(_INSTALMENTS.c.loan_id == loan.id, _INSTALMENTS.c.number.in_(gone))
        )


def agreement_terms(uow: UnitOfWork, loan: Loan) -> contracts.AgreementTerms:
    """What the loan agreement states: the loan's terms and its schedule as booked."""
    return contracts.AgreementTerms(
        loan_id=loan.id,
        borrower_id=loan.borrower_id,
        institution_id=loan.institution_id,
        partner_id=loan.tenant_id,
        principal=loan.principal,
        annual_rate=loan.annual_rate,
        term=loan.term,
        method=loan.method,
        start_date=loan.start_date,
        upfront_fee=loan.upfront_fee,
        monthly_fee_rate=loan.monthly_fee_rate,
        prepayment_fee_rate=loan.prepayment_fee_rate,
        penalty_rate=loan.penalty_rate,
        apr_nominal=loan.apr_nominal,
        apr_effective=loan.apr_effective,
        disburse_to=loan.disburse_to,
        merchant_name=(loan.merchant or {}).get("name"),
        subsidy=loan.subsidy,
        instalments=[(r.number, r.due_date, r.principal + r.interest + r.fee) for r in _rows(uow, loan.id)],
    )


@dataclass(frozen=True)
class AgreementView:
    loan_id: str
    text: str
    hash: str
    version: str
    signed_at: datetime | None = None
    signer: str | None = None


def agreement_view(
    uow: UnitOfWork, loan_id: str, signer: str | None, *, institution_id: str | None = None
) -> AgreementView:
    """The signed agreement, or the one to show before signing, rendered for `signer` (the
    text names who signs, so the preview and the signature must use the same value)."""
    loan = get_loan(uow, loan_id, institution_id=institution_id)
    stored = agreement(uow, loan)
    if stored is not None:
        return AgreementView(
            loan.id, stored.text, stored.hash, stored.template_version, stored.signed_at, stored.signer
        )
    if loan.status != LoanState.PENDING_SIGNATURE.value:
        raise IllegalTransition(f"a loan in state '{loan.status}' has no agreement to sign")
    if not signer:
        raise InvalidParameter("signer is required to preview an unsigned agreement", param="signer")
    text = contracts.render(agreement_terms(uow, loan), signer)
    return AgreementView(loan.id, text, contracts.agreement_hash(text), contracts.TEMPLATE_VERSION)


def agreement_body(view: AgreementView) -> dict[str, Any]:
    return {
        "object": "loan_agreement",
        "loan": view.loan_id,
        "hash": view.hash,
        "template_version": view.version,
        "signed": view.signed_at is not None,
        "signed_at": view.signed_at,
        "signer": view.signer,
        "text": view.text,
    }


def sign_loan(
    uow: UnitOfWork, loan_id: str, *, signer: str, ip: str | None = None, expected_hash: str | None = None
) -> Loan:
    """Record the borrower's signature: agreement text, its SM3 hash, the platform's SM2 signature.

    With `expected_hash` (the hash of the text the borrower was shown) the loan is signed
    only if the agreement is still exactly that text: 409 agreement_changed otherwise.
    """
    loan = _lock(uow, loan_id)
    _apply(loan, LoanEvent.SIGN)
    text = contracts.render(agreement_terms(uow, loan), signer)
    digest = contracts.agreement_hash(text)
    if expected_hash is not None and not hmac.compare_digest(digest, expected_hash.strip().lower()):
        raise Conflict(
            "The agreement changed since it was shown; show it again before signing",
            code="agreement_changed",
        )
    pair = contracts.platform_key(_settings())
    now = object_now(uow, loan.test_clock_id)
    uow.session.add(
        LoanAgreement(
            loan_id=loan.id,
            template_version=contracts.TEMPLATE_VERSION,
            text=text,
            hash=digest,
            signature=contracts.sign_hash(pair, digest),
            public_key=pair.public_key_hex,
            signer=signer,
            ip=ip,
            signed_at=now,
        )
    )
    loan.agreement_hash = digest
    loan.signed_at = now
    _audit(uow, "loan.signed", loan, {"agreement_hash": digest})
    emit_loan(uow, loan, "loan.signed")
    return loan


def cancel_loan(uow: UnitOfWork, loan_id: str) -> Loan:
    loan = _lock(uow, loan_id)
    _apply(loan, LoanEvent.CANCEL)
    loan.cancelled_at = object_now(uow, loan.test_clock_id)
    _audit(uow, "loan.cancelled", loan, {})
    emit_loan(uow, loan, "loan.cancelled")
    return loan


# -- disbursement --------------------------------------------------------------------------


def disbursement_amount(loan: Loan) -> int:
    """What leaves the custody account: principal net of the upfront fee and the subsidy."""
    return loan.principal - loan.upfront_fee - loan.subsidy


def start_disbursement(uow: UnitOfWork, loan_id: str) -> Loan:
    loan = _lock(uow, loan_id)
    _apply(loan, LoanEvent.START_DISBURSEMENT)
    loan.disbursement_failure = None
    _audit(uow, "loan.disbursing", loan, {"amount": disbursement_amount(loan)})
    emit_loan(uow, loan, "loan.disbursing")
    return loan


def record_disbursement_failure(uow: UnitOfWork, loan_id: str, reason: str) -> Loan:
    loan = _lock(uow, loan_id)
    _apply(loan, LoanEvent.DISBURSEMENT_FAILED)
    loan.disbursement_failure = reason[:200]
    _audit(uow, "loan.disbursement_failed", loan, {"reason": reason[:200]})
    emit_loan(uow, loan, "loan.disbursement_failed")
    return loan


def record_disbursement(
    uow: UnitOfWork, loan_id: str, *, paid_to: str, amount_paid: int, external_ref: str
) -> Loan:
    """The payout succeeded: book it, start the schedule on the payout date, go active.

    Repeating the call with the same `external_ref` returns the loan unchanged.
    """
    loan = _lock(uow, loan_id)
    if loan.status != LoanState.DISBURSING.value and loan.disbursement_ref == external_ref:
        return loan
    _apply(loan, LoanEvent.DISBURSEMENT_SUCCEEDED)
    if paid_to != loan.disburse_to:
        raise InvalidParameter(f"this loan is paid out to the {loan.disburse_to}", param="paid_to")
    expected = disbursement_amount(loan)
    if amount_paid != expected:
        raise InvalidParameter(
            f"amount_paid must be {expected} fen (principal less fees and subsidy)", param="amount_paid"
        )
    on = loan_date(uow, loan.test_clock_id)
    if on != loan.start_date:
        _restart_schedule(uow, loan, on)
    entry_id = _post(
        uow,
        loan,
        postings.disbursement(
            Fen(loan.principal),
            loan_id=loan.id,
            on=on,
            upfront_fee=Fen(loan.upfront_fee),
            subsidy=Fen(loan.subsidy),
            memo=f"payout to {paid_to}",
        ),
    )
    loan.principal_outstanding = loan.principal
    loan.deferred_subsidy = loan.subsidy
    loan.accrued_through = on
    loan.disbursed_at = object_now(uow, loan.test_clock_id)
    loan.disbursed_on = on
    loan.disbursement_ref = external_ref
    loan.disbursement_failure = None
    _audit(uow, "loan.disbursed", loan, {"amount": amount_paid, "entry": entry_id, "ref": external_ref})
    emit_loan(uow, loan, "loan.disbursed")
    return loan


def _restart_schedule(uow: UnitOfWork, loan: Loan, start: date) -> None:
    """Interest runs from the payout date: rebuild the (untouched) schedule from it."""
    terms = LoanTerms(
        principal=Fen(loan.principal),
        annual_rate=Decimal(loan.annual_rate),
        term=loan.term,
        start_date=start,
        monthly_fee_rate=Decimal(loan.monthly_fee_rate),
        upfront_fee=Fen(loan.upfront_fee),
    )
    kind = ProductKind(loan.kind)
    target = Decimal(loan.subsidy_target_rate) if loan.subsidy_target_rate is not None else None
    priced = _price(terms, RepaymentMethod(loan.method), kind, target)
    for row in _rows(uow, loan.id):
        uow.session.delete(row)
    uow.session.flush()
    _add_schedule(uow, loan, priced)
    loan.start_date = start
    loan.apr_nominal, loan.apr_effective = format_apr(priced.apr)
    loan.subsidy = priced.subsidy
    uow.session.flush()


# -- catching up (the COB's arithmetic for one loan) ----------------------------------------


def book_accruals(uow: UnitOfWork, owner: Loan, totals: accrual.Accrual, on: date, memo: str) -> None:
    """Post what a catch-up or COB booked for one loan and move its running balances."""
    if totals.interest:
        _post(uow, owner, postings.interest_accrual(totals.interest, loan_id=owner.id, on=on, memo=memo))
    if totals.fee:
        _post(uow, owner, postings.fee_charge(totals.fee, loan_id=owner.id, on=on, memo=memo))
    if totals.penalty:
        _post(uow, owner, postings.penalty_accrual(totals.penalty, loan_id=owner.id, on=on, memo=memo))
    if totals.subsidy:
        _post(uow, owner, postings.subsidy_recognition(totals.subsidy, loan_id=owner.id, on=on, memo=memo))
    owner.interest_receivable += totals.interest
    owner.fee_receivable += totals.fee
    owner.penalty_receivable += totals.penalty
    owner.deferred_subsidy -= totals.subsidy


def catch_up(
    uow: UnitOfWork, loan: Loan, states: Sequence[InstalmentState], through: date
) -> tuple[InstalmentState, ...]:
    """Bring a booked loan up to the end of `through`, like COB would have.

    Books interest, fees, penalty and subsidy through `through`, marks instalments
    unsettled after their due date overdue (as of `through - 1`, the last day that has
    ended), and updates delinquency. Idempotent: a second call books nothing.
    """
    result = tuple(states)
    if loan.accrued_through is not None and loan.accrued_through < through:
        result, accruals = accrual.catch_up(
            result, through, Decimal(loan.penalty_rate), DayCount(loan.day_count)
        )
        book_accruals(uow, loan, accrual.total(accruals), through, f"accrual through {through.isoformat()}")
        loan.accrued_through = through
    return settle_status(uow, loan, result, through - ONE_DAY)


def settle_status(
    uow: UnitOfWork, loan: Loan, states: Sequence[InstalmentState], closed_through: date
) -> tuple[InstalmentState, ...]:
    """Overdue marks, overdue/cure transitions and delinquency once `closed_through` has ended."""
    result = accrual.mark_overdue(states, closed_through)
    result = tuple(
        replace(s, status=accrual.PAID, paid_on=s.paid_on or s.due_date)
        if s.status == accrual.PENDING and s.settled and s.due_date <= closed_through
        else s
        for s in result
    )
    late = any(s.status == accrual.OVERDUE for s in result)
    if late and loan.status == LoanState.ACTIVE.value:
        _apply(loan, LoanEvent.BECOME_OVERDUE)
        _set_delinquency(loan, result, closed_through)
        _audit(uow, "loan.overdue", loan, {"days_past_due": loan.days_past_due})
        emit_loan(uow, loan, "loan.overdue")
    elif not late and loan.status == LoanState.OVERDUE.value:
        _apply(loan, LoanEvent.CURE)
        _set_delinquency(loan, result, closed_through)
        _audit(uow, "loan.cured", loan, {})
        emit_loan(uow, loan, "loan.cured")
    else:
        _set_delinquency(loan, result, closed_through)
    return result


def _set_delinquency(loan: Loan, states: Sequence[InstalmentState], closed_through: date) -> None:
    found = accrual.delinquency(states, closed_through, _thresholds(loan))
    loan.days_past_due = found.days_past_due
    loan.bucket = found.bucket.value
    loan.classification = found.classification.value


# -- repayments ----------------------------------------------------------------------------


def record_repayment(
    uow: UnitOfWork, loan_id: str, amount: int, *, source: str = "partner", external_ref: str | None = None
) -> Repayment:
    """Money received for a loan, split by the product's waterfall; any excess prepays principal.

    Cash is booked to `clearing` (it reaches the custody account when the collector
    settles, `ledger.services` settlement entry). A repeated `external_ref` returns the
    first repayment. On a charged-off loan the money is a recovery.
    """
    return _receive(
        uow, loan_id, amount, source=source, external_ref=external_ref, rule=None, kind="repayment"
    )


def prepay(uow: UnitOfWork, loan_id: str, amount: int | None, mode: str) -> Repayment:
    """A prepayment: `full` pays the loan off (amount defaults to the payoff), `shorten_term`
    or `lower_instalment` prepay part of the principal and re-amortise the rest."""
    if mode not in PREPAYMENT_MODES:
        raise InvalidParameter(f"mode must be one of {', '.join(PREPAYMENT_MODES)}", param="mode")
    if mode == "full":
        quote = payoff_quote(uow, loan_id)
        if amount is None:
            amount = quote.total
        if amount < quote.total:
            raise InvalidParameter(f"a full prepayment today needs {quote.total} fen", param="amount")
        return _receive(
            uow, loan_id, amount, source="partner", external_ref=None, rule=None, kind="prepayment"
        )
    if amount is None:
        raise InvalidParameter("amount is required for a partial prepayment", param="amount")
    return _receive(
        uow, loan_id, amount, source="partner", external_ref=None, rule=FutureRule(mode), kind="prepayment"
    )


def _existing(
    uow: UnitOfWork, *, loan_id: str | None, line_id: str | None, ref: str | None
) -> Repayment | None:
    if ref is None:
        return None
    stmt = select(Repayment).where(Repayment.external_ref == ref)
    stmt = (
        stmt.where(Repayment.loan_id == loan_id)
        if loan_id
        else stmt.where(Repayment.credit_line_id == line_id)
    )
    return uow.session.execute(stmt.execution_options(all_tenants=True)).scalar_one_or_none()


def _receive(
    uow: UnitOfWork,
    loan_id: str,
    amount: int,
    *,
    source: str,
    external_ref: str | None,
    rule: FutureRule | None,
    kind: str,
) -> Repayment:
    require_fen(amount, "amount", minimum=1)
    loan, stored = _lock_with_states(uow, loan_id)
    found = _existing(uow, loan_id=loan.id, line_id=None, ref=external_ref)
    if found is not None:
        return found
    on = loan_date(uow, loan.test_clock_id)
    if loan.status == LoanState.CHARGED_OFF.value:
        return _recovery(uow, loan, amount, on, source, external_ref)
    if LoanState(loan.status) not in BOOKED_STATES:
        raise IllegalTransition(f"cannot take a payment on a loan in state '{loan.status}'")
    before = catch_up(uow, loan, stored, on)
    future_rule = rule or FutureRule(loan.future_rule)
    allocation = allocate(Fen(amount), accrual.dues(before, on), _order(loan), future_rule)
    after = accrual.apply_allocation(before, allocation, on)
    split = None
    if allocation.prepayment:
        schedule = accrual.future_schedule(after, on, RepaymentMethod(loan.method), Decimal(loan.annual_rate))
        result = prepayment_domain.prepay(
            schedule,
            allocation.prepayment,
            on,
            future_rule,
            prepayment_fee_rate=Decimal(loan.prepayment_fee_rate),
        )
        split = result.split
        rebuilt = accrual.rebuild_future(after, result.schedule, on, split.interest)
        after = rebuilt.instalments
        _true_up(uow, loan, rebuilt.interest_true_up, on)
        if rebuilt.subsidy_released:
            book_accruals(
                uow, loan, accrual.Accrual(subsidy=rebuilt.subsidy_released), on, "subsidy of dropped periods"
            )
    entry = (
        postings.repayment(allocation, loan_id=loan.id, on=on, prepayment=split)
        if allocation.lines
        else postings.prepayment(split, loan_id=loan.id, on=on)  # type: ignore[arg-type]
    )
    entry_id = _post(uow, loan, entry)
    loan.principal_outstanding -= allocation.total(Component.PRINCIPAL) + (split.principal if split else 0)
    loan.interest_receivable -= allocation.total(Component.INTEREST) + (split.interest if split else 0)
    loan.penalty_receivable -= allocation.total(Component.PENALTY)
    loan.fee_receivable -= allocation.total(Component.FEE)
    loan.refund_due += split.excess if split else 0
    on_time = accrual.newly_settled_on_time(before, after, on)
    repayment = Repayment(
        id=new_id("rpy"),
        created=object_now(uow, loan.test_clock_id),
        tenant_id=loan.tenant_id,
        livemode=loan.livemode,
        loan_id=loan.id,
        kind=kind,
        amount=amount,
        source=source,
        external_ref=external_ref,
        business_date=on,
        principal=allocation.total(Component.PRINCIPAL) + (split.principal if split else 0),
        interest=allocation.total(Component.INTEREST) + (split.interest if split else 0),
        fee=allocation.total(Component.FEE),
        penalty=allocation.total(Component.PENALTY),
        prepaid_principal=split.principal if split else 0,
        prepayment_interest=split.interest if split else 0,
        prepayment_fee=split.fee if split else 0,
        refund_due=split.excess if split else 0,
        recovery=0,
        future_rule=future_rule.value if allocation.prepayment else None,
        allocation=_allocation_json(allocation),
        journal_entry_id=entry_id,
    )
    uow.session.add(repayment)
    was_overdue = loan.status == LoanState.OVERDUE.value
    if all(s.settled for s in after):
        _store_states(uow, loan, stored, after)
        _pay_off(uow, loan, on)
    else:
        after = settle_status(uow, loan, after, on - ONE_DAY)
        _store_states(uow, loan, stored, after)
    _reward(uow, loan, on_time)
    _audit(uow, f"{kind}.created", loan, {"repayment": repayment.id, "amount": amount, "entry": entry_id})
    with acting_for(uow, loan.tenant_id, loan.livemode):
        outbox.emit(uow, "repayment.succeeded", repayment_body(repayment))
    if was_overdue and loan.status == LoanState.PAID_OFF.value:
        loan.days_past_due, loan.bucket, loan.classification = 0, "current", "normal"
    return repayment


def _allocation_json(allocation: Allocation) -> list[dict[str, Any]]:
    return [
        {
            "instalment": line.instalment,
            "dueness": line.dueness.value,
            "component": line.component.value,
            "amount": line.amount,
        }
        for line in allocation.lines
    ]


def _true_up(uow: UnitOfWork, loan: Loan, amount: int, on: date) -> None:
    """Keep booked interest equal to what the re-amortised schedule has accrued by `on`."""
    if amount > 0:
        _post(
            uow, loan, postings.interest_accrual(Fen(amount), loan_id=loan.id, on=on, memo="re-amortisation")
        )
    elif amount < 0:
        original = postings.interest_accrual(Fen(-amount), loan_id=loan.id, on=on)
        _post(
            uow, loan, postings.reversal(original, on=on, memo="re-amortisation: interest no longer accruing")
        )
    loan.interest_receivable += amount


def _pay_off(uow: UnitOfWork, loan: Loan, on: date) -> None:
    _apply(loan, LoanEvent.PAY_OFF)
    loan.paid_off_at = object_now(uow, loan.test_clock_id)
    loan.days_past_due, loan.bucket, loan.classification = 0, "current", "normal"
    _audit(uow, "loan.paid_off", loan, {"on": on.isoformat()})
    emit_loan(uow, loan, "loan.paid_off")


def _reward(uow: UnitOfWork, loan: Loan, on_time: int) -> None:
    if not on_time:
        return
    loan.on_time_instalments += on_time
    if not loan.reward_earned and loan.on_time_instalments >= loan.reward_after:
        loan.reward_earned = True
        _audit(
            uow, "loan.rate_reduced", loan, {"reduction": format_rate(Decimal(loan.reward_rate_reduction), 4)}
        )
        emit_loan(uow, loan, "loan.rate_reduced")


def _recovery(
    uow: UnitOfWork, loan: Loan, amount: int, on: date, source: str, external_ref: str | None
) -> Repayment:
    entry_id = _post(uow, loan, postings.recovery(Fen(amount), loan_id=loan.id, on=on))
    loan.recovered += amount
    repayment = Repayment(
        id=new_id("rpy"),
        created=object_now(uow, loan.test_clock_id),
        tenant_id=loan.tenant_id,
        livemode=loan.livemode,
        loan_id=loan.id,
        kind="recovery",
        amount=amount,
        source=source,
        external_ref=external_ref,
        business_date=on,
        recovery=amount,
        allocation=[],
        journal_entry_id=entry_id,
    )
    uow.session.add(repayment)
    _audit(uow, "recovery.created", loan, {"repayment": repayment.id, "amount": amount})
    with acting_for(uow, loan.tenant_id, loan.livemode):
        outbox.emit(uow, "repayment.succeeded", repayment_body(repayment))
    return repayment


# -- quotes and charge-off -----------------------------------------------------------------


def payoff_quote(uow: UnitOfWork, loan_id: str, as_of: date | None = None) -> prepayment_domain.PayoffQuote:
    """What closes the loan at the end of `as_of` (default today); nothing is booked."""
    return _quote(uow, uow.get(Loan, loan_id), as_of)


def _quote(uow: UnitOfWork, loan: Loan, as_of: date | None) -> prepayment_domain.PayoffQuote:
    if LoanState(loan.status) not in BOOKED_STATES:
        raise IllegalTransition(f"a loan in state '{loan.status}' has no payoff")
    today = loan_date(uow, loan.test_clock_id)
    on = as_of or today
    if on < today or on > add_months(today, 3):
        raise InvalidParameter("as_of must be between today and three months ahead", param="as_of")
    states: tuple[InstalmentState, ...] = tuple(to_state(r) for r in _rows(uow, loan.id))
    if loan.accrued_through is None or loan.accrued_through < on:
        states, _ = accrual.catch_up(states, on, Decimal(loan.penalty_rate), DayCount(loan.day_count))
    schedule = accrual.future_schedule(states, on, RepaymentMethod(loan.method), Decimal(loan.annual_rate))
    return prepayment_domain.payoff_quote(
        schedule, accrual.dues(states, on), on, prepayment_fee_rate=Decimal(loan.prepayment_fee_rate)
    )


def quote_body(loan_id: str, quote: prepayment_domain.PayoffQuote) -> dict[str, Any]:
    return {
        "object": "payoff_quote",
        "loan": loan_id,
        "as_of": quote.as_of.isoformat(),
        "outstanding_principal": quote.outstanding_principal,
        "accrued_interest": quote.accrued_interest,
        "billed_principal": quote.billed_principal,
        "billed_interest": quote.billed_interest,
        "billed_fees": quote.billed_fees,
        "penalty": quote.penalty,
        "prepayment_fee": quote.prepayment_fee,
        "total": quote.total,
    }


def charge_off(uow: UnitOfWork, loan_id: str, reason: str) -> Loan:
    """Write an overdue loan off: every receivable to write-off expense, state charged_off."""
    loan = _lock(uow, loan_id)
    on = loan_date(uow, loan.test_clock_id)
    rows = _rows(uow, loan.id)
    if LoanState(loan.status) in BOOKED_STATES:
        states = catch_up(uow, loan, [to_state(r) for r in rows], on)
    else:
        states = tuple(to_state(r) for r in rows)
    _apply(loan, LoanEvent.CHARGE_OFF)
    _post(
        uow,
        loan,
        postings.charge_off(
            principal=Fen(loan.principal_outstanding),
            interest=Fen(loan.interest_receivable),
            penalty=Fen(loan.penalty_receivable),
            fee=Fen(loan.fee_receivable),
            loan_id=loan.id,
            on=on,
            memo=reason[:200],
        ),
    )
    if loan.deferred_subsidy:
        # The loan has ended: subsidy received for periods that will not run is earned now.
        book_accruals(uow, loan, accrual.Accrual(subsidy=Fen(loan.deferred_subsidy)), on, "charge-off")
        states = tuple(replace(s, subsidy_recognised=s.subsidy_income) for s in states)
    loan.principal_outstanding = loan.interest_receivable = loan.penalty_receivable = loan.fee_receivable = 0
    loan.charged_off_at = object_now(uow, loan.test_clock_id)
    loan.charge_off_reason = reason[:200]
    states = tuple(replace(s, status=accrual.CHARGED_OFF) if s.status != accrual.PAID else s for s in states)
    _store(uow, loan, rows, states)
    _audit(uow, "loan.charged_off", loan, {"reason": reason[:200]})
    emit_loan(uow, loan, "loan.charged_off")
    return loan


# -- reads ---------------------------------------------------------------------------------


def get_loan(uow: UnitOfWork, loan_id: str, *, institution_id: str | None = None) -> Loan:
    """A loan the caller may see: its partner's (scoped), or one the institution funds."""
    if institution_id is None:
        return uow.get(Loan, loan_id)
    loan = uow.session.execute(
        select(Loan)
        .where(Loan.id == loan_id, Loan.institution_id == institution_id, Loan.livemode == uow.ctx.livemode)
        .execution_options(all_tenants=True)
    ).scalar_one_or_none()
    if loan is None:
        raise NotFound(f"No such loan: '{loan_id}'", param="id")
    return loan


def list_loans(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    status: str | None = None,
    borrower_id: str | None = None,
    institution_id: str | None = None,
) -> Page[Any]:
    stmt = select(Loan)
    if institution_id is not None:
        stmt = stmt.where(
            Loan.institution_id == institution_id, Loan.livemode == uow.ctx.livemode
        ).execution_options(all_tenants=True)
    if status:
        stmt = stmt.where(Loan.status == status)
    if borrower_id:
        stmt = stmt.where(Loan.borrower_id == borrower_id)
    return uow.page(stmt, Loan, request)


def schedule_rows(uow: UnitOfWork, loan: Loan) -> list[LoanInstalment]:
    """The loan's instalment rows in order (used by payments and the widget)."""
    return _rows(uow, loan.id)


def agreement(uow: UnitOfWork, loan: Loan) -> LoanAgreement | None:
    """The signed agreement (text, SM3 hash, SM2 signature), if the loan was signed."""
    return uow.session.get(LoanAgreement, loan.id)


def loan_ledger_balances(uow: UnitOfWork, loan: Loan) -> dict[postings.Account, int]:
    return ledger.loan_balances(uow.session, loan.id)


def list_repayments(uow: UnitOfWork, loan: Loan, request: PageRequest) -> Page[Any]:
    stmt = select(Repayment).where(Repayment.loan_id == loan.id).execution_options(all_tenants=True)
    return uow.page(stmt, Repayment, request)


def matches_ledger(loan: Loan, balances: dict[postings.Account, int]) -> bool:
    A = postings.Account  # noqa: N806 - short alias for the table below
    return (
        balances[A.LOANS_RECEIVABLE] == loan.principal_outstanding
        and balances[A.INTEREST_RECEIVABLE] == loan.interest_receivable
        and balances[A.PENALTY_RECEIVABLE] == loan.penalty_receivable
        and balances[A.FEE_RECEIVABLE] == loan.fee_receivable
        and balances[A.BORROWER_PAYABLE] == loan.refund_due
        and balances[A.DEFERRED_SUBSIDY] == loan.deferred_subsidy
    )


# -- credit lines --------------------------------------------------------------------------


def _line_domain(line: CreditLine) -> lines_domain.CreditLine:
    return lines_domain.CreditLine(
        limit=Fen(line.limit_amount),
        annual_rate=Decimal(line.annual_rate),
        accrued_through=line.accrued_through,
        principal=Fen(line.principal_outstanding),
        interest=Fen(line.interest_receivable),
        balance_days=line.balance_days,
        interest_accrued=Fen(line.interest_accrued_total),
        day_count=DayCount(line.day_count),
    )


def store_line(line: CreditLine, state: lines_domain.CreditLine) -> None:
    line.accrued_through = state.accrued_through
    line.principal_outstanding = state.principal
    line.interest_receivable = state.interest
    line.balance_days = state.balance_days
    line.interest_accrued_total = state.interest_accrued


def open_credit_line(
    uow: UnitOfWork,
    *,
    borrower_id: str,
    product_id: str,
    limit: int,
    annual_rate: Decimal | str,
    term: int | None = None,
    application_id: str | None = None,
    test_clock_id: str | None = None,
) -> CreditLine:
    """Open a revolving line for the calling partner (the risk area calls this on approval)."""
    if uow.ctx.is_system:
        raise InvalidParameter("a credit line is opened in a partner's context", param="product")
    product = products.product_for_partner(uow, product_id)
    pterms = products.terms_of(product)
    if pterms.kind is not ProductKind.CREDIT_LINE:
        raise InvalidParameter("this product is not a credit line", param="product")
    rate_ = _parse_rate(annual_rate, "annual_rate")
    require_fen(limit, "limit", minimum=1)
    months = term or pterms.term_max
    product_domain.check_loan_terms(
        pterms, principal=limit, term=months, method=RepaymentMethod.EQUAL_INSTALMENT, annual_rate=rate_
    )
    apr = product_domain.credit_line_apr(rate_, pterms.day_count)
    product_domain.check_loan_apr(apr, products.apr_cap())
    opened = loan_date(uow, test_clock_id)
    state = lines_domain.open_line(Fen(limit), rate_, opened, pterms.day_count)
    line = CreditLine(
        id=new_id("cl"),
        created=object_now(uow, test_clock_id),
        institution_id=product.tenant_id,
        borrower_id=borrower_id,
        product_id=product.id,
        application_id=application_id,
        test_clock_id=test_clock_id,
        status="active",
        limit_amount=limit,
        annual_rate=rate_,
        day_count=pterms.day_count.value,
        apr_nominal=fixed_rate(apr),
        opened_on=opened,
        expires_on=add_months(opened, months),
        principal_outstanding=0,
        interest_receivable=0,
        balance_days=0,
        interest_accrued_total=0,
        accrued_through=state.accrued_through,
    )
    uow.session.add(line)
    uow.session.flush()
    _audit(uow, "credit_line.created", line, {"limit": limit, "rate": format_rate(rate_, 4)})
    with acting_for(uow, line.tenant_id, line.livemode):
        outbox.emit(uow, "credit_line.created", credit_line_body(line))
    return line


def get_credit_line(uow: UnitOfWork, line_id: str, *, institution_id: str | None = None) -> CreditLine:
    if institution_id is None:
        return uow.get(CreditLine, line_id)
    line = uow.session.execute(
        select(CreditLine)
        .where(
            CreditLine.id == line_id,
            CreditLine.institution_id == institution_id,
            CreditLine.livemode == uow.ctx.livemode,
        )
        .execution_options(all_tenants=True)
    ).scalar_one_or_none()
    if line is None:
        raise NotFound(f"No such credit line: '{line_id}'", param="id")
    return line


def list_credit_lines(
    uow: UnitOfWork, request: PageRequest, *, institution_id: str | None = None
) -> Page[Any]:
    stmt = select(CreditLine)
    if institution_id is not None:
        stmt = stmt.where(
            CreditLine.institution_id == institution_id, CreditLine.livemode == uow.ctx.livemode
        ).execution_options(all_tenants=True)
    return uow.page(stmt, CreditLine, request)


def _line_accrual(uow: UnitOfWork, line: CreditLine, amount: int, on: date) -> None:
    if amount:
        _post(
            uow,
            line,
            postings.interest_accrual(Fen(amount), loan_id=line.id, on=on, memo="credit line interest"),
        )


def draw_credit_line(uow: UnitOfWork, line_id: str, amount: int) -> Draw:
    """Draw on a line: book the days' interest so far, then pay the amount out of custody."""
    line = uow.get(CreditLine, line_id, for_update=True)
    on = loan_date(uow, line.test_clock_id)
    if line.status != "active":
        raise IllegalTransition(f"cannot draw on a credit line that is {line.status}")
    if on > line.expires_on:
        raise Conflict("this credit line has expired", param="amount", code="credit_line_expired")
    drawn = lines_domain.draw(_line_domain(line), Fen(amount), on)
    _line_accrual(uow, line, drawn.accrued, on - ONE_DAY)
    entry_id = _post(
        uow, line, postings.disbursement(Fen(amount), loan_id=line.id, on=on, memo="credit line draw")
    )
    store_line(line, drawn.line)
    draw = Draw(
        id=new_id("drw"),
        created=object_now(uow, line.test_clock_id),
        tenant_id=line.tenant_id,
        livemode=line.livemode,
        credit_line_id=line.id,
        amount=amount,
        business_date=on,
        journal_entry_id=entry_id,
    )
    uow.session.add(draw)
    _audit(uow, "credit_line.drawn", line, {"draw": draw.id, "amount": amount})
    with acting_for(uow, line.tenant_id, line.livemode):
        outbox.emit(uow, "credit_line.drawn", draw_body(draw))
    return draw


def repay_credit_line(
    uow: UnitOfWork, line_id: str, amount: int, *, source: str = "partner", external_ref: str | None = None
) -> Repayment:
    """Repay a line: accrued interest first, then principal (credit_lines.repay)."""
    line = uow.get(CreditLine, line_id, for_update=True)
    found = _existing(uow, loan_id=None, line_id=line.id, ref=external_ref)
    if found is not None:
        return found
    on = loan_date(uow, line.test_clock_id)
    repaid = lines_domain.repay(_line_domain(line), Fen(amount), on)
    _line_accrual(uow, line, repaid.accrued, on - ONE_DAY)
    parts = [
        AllocationLine(1, Dueness.DUE, Component.INTEREST, repaid.interest),
        AllocationLine(1, Dueness.DUE, Component.PRINCIPAL, repaid.principal),
    ]
    allocation = Allocation(
        Fen(amount), tuple(p for p in parts if p.amount), Fen(0), FutureRule.LOWER_INSTALMENT
    )
    entry_id = _post(
        uow, line, postings.repayment(allocation, loan_id=line.id, on=on, memo="credit line repayment")
    )
    store_line(line, repaid.line)
    repayment = Repayment(
        id=new_id("rpy"),
        created=object_now(uow, line.test_clock_id),
        tenant_id=line.tenant_id,
        livemode=line.livemode,
        credit_line_id=line.id,
        kind="credit_line",
        amount=amount,
        source=source,
        external_ref=external_ref,
        business_date=on,
        principal=repaid.principal,
        interest=repaid.interest,
        allocation=_allocation_json(allocation),
        journal_entry_id=entry_id,
    )
    uow.session.add(repayment)
    _audit(uow, "credit_line.repaid", line, {"repayment": repayment.id, "amount": amount})
    with acting_for(uow, line.tenant_id, line.livemode):
        outbox.emit(uow, "credit_line.repaid", repayment_body(repayment))
    return repayment


# -- API bodies ----------------------------------------------------------------------------


def schedule_body(uow: UnitOfWork, loan_id: str, *, institution_id: str | None = None) -> dict[str, Any]:
    from lendbridge.loans.schemas import instalment_view

    loan = get_loan(uow, loan_id, institution_id=institution_id)
    rows = _rows(uow, loan.id)
    return {
        "object": "loan_schedule",
        "loan": loan.id,
        "method": loan.method,
        "instalments": [instalment_view(r) for r in rows],
        "total_principal": sum(r.principal for r in rows),
        "total_interest": sum(r.interest for r in rows),
        "total_fees": sum(r.fee for r in rows),
        "total_payment": sum(r.principal + r.interest + r.fee for r in rows),
    }


def statement_body(
    uow: UnitOfWork, loan_id: str, request: PageRequest, *, institution_id: str | None = None
) -> dict[str, Any]:
    """The loan's postings from its institution's ledger, and the ledger's balances of it."""
    from lendbridge.core.clock import to_unix

    loan = get_loan(uow, loan_id, institution_id=institution_id)
    balances = ledger.loan_balances(uow.session, loan.id)
    entries, has_more = ledger.statement_entries(
        uow.session,
        loan.id,
        limit=request.limit,
        starting_after=request.starting_after,
        ending_before=request.ending_before,
    )
    return {
        "object": "loan_statement",
        "loan": loan.id,
        "institution": loan.institution_id,
        "balances": {account.value: amount for account, amount in balances.items()},
        "matches_loan": matches_ledger(loan, balances),
        "data": [
            {
                "journal_entry": item.entry.id,
                "entry_type": item.entry.entry_type,
                "business_date": item.entry.business_date.isoformat(),
                "created": to_unix(item.entry.created),
                "memo": item.entry.memo,
                "lines": [{"account": x.account, "debit": x.debit, "credit": x.credit} for x in item.lines],
            }
            for item in entries
        ],
        "has_more": has_more,
        "url": f"/v1/loans/{loan.id}/statement",
    }


def repayments_page(
    uow: UnitOfWork, loan_id: str, request: PageRequest, *, institution_id: str | None = None
) -> Page[Any]:
    return list_repayments(uow, get_loan(uow, loan_id, institution_id=institution_id), request)


def payoff_quote_body(
    uow: UnitOfWork, loan_id: str, as_of: date | None, *, institution_id: str | None = None
) -> dict[str, Any]:
    loan = get_loan(uow, loan_id, institution_id=institution_id)
    return quote_body(loan.id, _quote(uow, loan, as_of))

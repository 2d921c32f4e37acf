"""The daily reconciliation run: fetch the statements, match them, store the report and its
breaks, tell the institutions, mirror the custody balances; and the resolution workflow."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import select

from lendbridge.audit import service as audit
from lendbridge.core.errors import (
    Conflict,
)
from lendbridge.core.ids import new_id
from lendbridge.core.pagination import Page, PageRequest
from lendbridge.payments.instructions import (
    Direction,
)
from lendbridge.payments.models import (
    CustodyAccount,
    PaymentInstruction,
    ReconciliationBreak,
    ReconciliationReport,
)
from lendbridge.payments.ports import (
    ChannelError,
    CustodyStatement,
    StatementRow,
)
from lendbridge.payments.reconciliation import (
    Break,
    OurPayment,
    SourceResult,
    StatementFormatError,
    double_payouts,
    match_channel,
    match_custody,
)
from lendbridge.payments.runtime import PaymentsRuntime
from lendbridge.payments.schemas import break_body
from lendbridge.payments.scoping import emit_for
from lendbridge.uow import UnitOfWork

M = TypeVar("M")


def _ours(p: PaymentInstruction, custody_numbers: dict[str, str]) -> OurPayment:
    return OurPayment(
        instruction_id=p.instruction_id,
        payment_id=p.id,
        channel=p.channel,
        direction=Direction(p.direction),
        amount=p.amount,
        custody_account=custody_numbers.get(p.custody_account_id, ""),
        state=p.state,
        succeeded_on=p.succeeded_on,
    )


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def run_reconciliation(rt: PaymentsRuntime, business_date: date, *, uow: UnitOfWork | None = None) -> str:
    """Match every statement of `business_date` against our payments; store a report.

    With `uow` (a staff request) the report is written in it and the caller commits;
    without, the run commits its own transaction (the daily task).
    """
    statements: dict[str, list[StatementRow]] = {}
    errors: dict[str, str] = {}
    for name, channel in rt.channels.items():
        try:
            statements[name] = channel.statement(business_date)
        except (ChannelError, StatementFormatError, OSError) as exc:
            errors[name] = type(exc).__name__
    if uow is not None:
        return _reconcile(uow, rt, business_date, statements, errors)
    with rt.new_uow() as own:
        report_id = _reconcile(own, rt, business_date, statements, errors)
        own.commit()
        return report_id


def _reconcile(
    uow: UnitOfWork,
    rt: PaymentsRuntime,
    business_date: date,
    statements: dict[str, list[StatementRow]],
    errors: dict[str, str],
) -> str:
    accounts = list(
        uow.session.execute(
            select(CustodyAccount)
            .where(CustodyAccount.status == "active")
            .execution_options(all_tenants=True)
        ).scalars()
    )
    number_of = {a.id: a.account_number for a in accounts}
    owner_of = {a.account_number: (a.tenant_id, a.livemode) for a in accounts}
    custody: dict[str, CustodyStatement] = {}
    for a in accounts:
        try:
            custody[a.id] = rt.custody_bank.statement(a.account_number, business_date)
        except Exception as exc:  # noqa: BLE001 - one unreachable account must not stop the run
            errors[f"custody:{a.id}"] = type(exc).__name__
    ours_rows = uow.session.execute(
        select(PaymentInstruction)
        .where(PaymentInstruction.succeeded_on == business_date)
        .execution_options(all_tenants=True)
    ).scalars()
    ours = [_ours(p, number_of) for p in ours_rows]
    ids = {r.instruction_id for rows in statements.values() for r in rows}
    ids |= {r.reference for s in custody.values() for r in s.rows}
    known: dict[str, OurPayment] = {}
    for chunk in _chunks(sorted(ids)):
        for p in uow.session.execute(
            select(PaymentInstruction)
            .where(PaymentInstruction.instruction_id.in_(chunk))
            .execution_options(all_tenants=True)
        ).scalars():
            known[p.instruction_id] = _ours(p, number_of)
    results: list[SourceResult] = [
        match_channel(name, business_date, rows, ours, known) for name, rows in statements.items()
    ]
    results += [match_custody(s, ours, known, source=f"custody:{aid}") for aid, s in custody.items()]
    now = uow.now()
    for a in accounts:
        s = custody.get(a.id)
        if s is not None and (a.statement_date is None or business_date >= a.statement_date):
            a.balance, a.balance_as_of, a.statement_date = s.closing_balance, now, business_date
    custody_of_iid = {r.instruction_id: r.custody_account for rows in statements.values() for r in rows}
    custody_of_iid |= {o.instruction_id: o.custody_account for o in known.values()}
    custody_of_iid |= {o.instruction_id: o.custody_account for o in ours}
    all_breaks: list[tuple[Break, tuple[str, bool] | None]] = []
    for result in results:
        for b in result.breaks:
            if b.source.startswith("custody:"):
                number = number_of.get(b.source.removeprefix("custody:"))
            else:
                number = custody_of_iid.get(b.instruction_id or "")
            all_breaks.append((b, owner_of.get(number or "")))
    doubles = double_payouts(statements)
    report = ReconciliationReport(
        id=new_id("rcn"),
        created=now,
        business_date=business_date,
        status="breaks" if all_breaks else "clean",
        matched=sum(r.matched for r in results),
        breaks=len(all_breaks),
        open_breaks=len(all_breaks),
        double_payouts=len(doubles),
        sources=[
            {
                "source": r.source,
                "rows": r.rows,
                "matched": r.matched,
                "breaks": len(r.breaks),
                "error": None,
            }
            for r in results
        ]
        + [
            {"source": s, "rows": 0, "matched": 0, "breaks": 0, "error": e} for s, e in sorted(errors.items())
        ],
    )
    uow.session.add(report)
    uow.session.flush()
    for b, owner in all_breaks:
        row = ReconciliationBreak(
            id=new_id("rbk"),
            created=now,
            report_id=report.id,
            kind=b.kind.value,
            source=b.source,
            instruction_id=b.instruction_id,
            payment_id=b.payment_id,
            tenant_id=owner[0] if owner else None,
            livemode=owner[1] if owner else None,
            ours_amount=b.ours_amount,
            theirs_amount=b.theirs_amount,
            detail=b.detail[:300],
            status="open",
        )
        uow.session.add(row)
        if owner is not None:
            from lendbridge.payments.schemas import BreakSchema

            emit_for(
                uow, owner[0], owner[1], "reconciliation.break_found", BreakSchema().dump(break_body(row))
            )
    audit.record(
        uow.session,
        "reconciliation.completed",
        report.id,
        {"date": business_date.isoformat(), "breaks": len(all_breaks), "matched": report.matched},
    )
    return report.id


def has_report(uow: UnitOfWork, business_date: date) -> bool:
    stmt = select(ReconciliationReport.id).where(ReconciliationReport.business_date == business_date).limit(1)
    return uow.session.execute(stmt).first() is not None


def list_reports(uow: UnitOfWork, request: PageRequest) -> Page[ReconciliationReport]:
    return uow.page(select(ReconciliationReport), ReconciliationReport, request)


def get_report(uow: UnitOfWork, report_id: str) -> tuple[ReconciliationReport, list[ReconciliationBreak]]:
    report = uow.get(ReconciliationReport, report_id)
    breaks = list(
        uow.session.execute(
            select(ReconciliationBreak)
            .where(ReconciliationBreak.report_id == report_id)
            .order_by(ReconciliationBreak.id)
        ).scalars()
    )
    return report, breaks


def resolve_break(uow: UnitOfWork, break_id: str, *, action: str, note: str) -> ReconciliationBreak:
    """Close a break with what was done about it (audited). `escalated` keeps it open."""
    b = uow.get(ReconciliationBreak, break_id, for_update=True)
    if b.status == "resolved":
        raise Conflict("This break is already resolved", param="id", code="break_resolved")
    report = uow.get(ReconciliationReport, b.report_id, for_update=True)
    now = uow.now()
    b.resolution, b.note, b.resolved_by = action, note, uow.actor
    if action == "escalated":
        b.status = "escalated"
    else:
        b.status = "resolved"
        b.resolved_at = now
        report.open_breaks = max(0, report.open_breaks - 1)
        if report.open_breaks == 0:
            report.status = "resolved"
    audit.record(uow.session, "reconciliation.break_resolved", b.id, {"action": action, "note": note})
    return b


def channel_statuses(rt: PaymentsRuntime) -> list[dict[str, Any]]:
    out = []
    for name in rt.channels:
        profile = rt.profiles.get(name)
        breaker = rt.breakers[name]
        health = rt.health[name].snapshot()
        out.append(
            {
                "object": "payment_channel",
                "name": name,
                "kind": profile.kind if profile else "unknown",
                "breaker": breaker.state.value,
                "retry_in": round(breaker.retry_in(), 3),
                "success_rate": round(health.success_rate, 4),
                "latency_ms": round(health.latency_ms, 3),
                "calls": health.calls,
                "fee_fixed": profile.fixed_fee if profile else 0,
                "fee_rate": str(profile.rate) if profile else "0",
                "per_transaction_max": profile.per_txn_max if profile else 0,
                "daily_max": profile.daily_max if profile else 0,
            }
        )
    return out

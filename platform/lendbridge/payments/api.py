"""Payments endpoints: disbursement, mandates and payments (partners), custody accounts
(institutions and staff), reconciliation and the operations queue (staff), channel callbacks.

Disbursement is explicit: the partner calls `POST /v1/loans/{id}/disburse` after the loan
is signed; the payout then runs in the background and `loan.disbursed` /
`loan.disbursement_failed` (and `payment.*`) events report the outcome.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from lendbridge.core.clock import from_unix
from lendbridge.http.lifecycle import current_principal, get_uow, requires
from lendbridge.http.schemas import ListArgsSchema, list_body, list_of, page_request
from lendbridge.payments import services
from lendbridge.payments import tasks as _tasks  # noqa: F401 - registers the payments tasks
from lendbridge.payments.runtime import PaymentsRuntime, runtime
from lendbridge.payments.schemas import (
    AdminCustodyAccountCreateSchema,
    AdminPaymentSchema,
    BreakSchema,
    ChannelListSchema,
    CustodyAccountCreateSchema,
    CustodyAccountListArgsSchema,
    CustodyAccountSchema,
    DebitNowSchema,
    MandateCreateSchema,
    MandateSchema,
    PaymentListArgsSchema,
    PaymentSchema,
    ReportCreateSchema,
    ReportSchema,
    ResolveBreakSchema,
    ResolvePaymentSchema,
    admin_payment_body,
    break_body,
    custody_body,
    mandate_body,
    payment_body,
    report_body,
)

blp = Blueprint(
    "payments", __name__, url_prefix="/v1", description="Disbursements, mandates, payments, custody"
)
admin_blp = Blueprint(
    "admin_payments", __name__, url_prefix="/admin/v1", description="Reconciliation and payment operations"
)


def _rt() -> PaymentsRuntime:
    return runtime(current_app._get_current_object())  # type: ignore[attr-defined]


# -- partners: disbursement, mandates, payments ------------------------------------------------


@blp.route("/loans/<loan_id>/disburse")
class LoanDisburse(MethodView):
    @requires("loans:write")
    @blp.response(201, PaymentSchema)
    def post(self, loan_id: str) -> dict[str, Any]:
        """Pay out a signed loan (T+0)

        Creates the disbursement payment from the institution's primary custody account to
        the borrower's card, or to the merchant when the loan says so (less any subsidy),
        and starts it. Idempotent: while a disbursement is pending, in flight or done, the
        same payment comes back.
        """
        return payment_body(services.disburse_loan(get_uow(), loan_id, ports=_rt().ports))


@blp.route("/loans/<loan_id>/disbursement")
class LoanDisbursement(MethodView):
    @requires("loans:read")
    @blp.response(200, PaymentSchema)
    def get(self, loan_id: str) -> dict[str, Any]:
        """The loan's latest disbursement payment, with every channel attempt"""
        uow = get_uow()
        p = services.disbursement_of(uow, loan_id, ports=_rt().ports)
        return payment_body(p, services.attempts_of(uow, p.id))


@blp.route("/loans/<loan_id>/mandate")
class LoanMandate(MethodView):
    @requires("loans:write")
    @blp.arguments(MandateCreateSchema)
    @blp.response(201, MandateSchema)
    def post(self, args: dict[str, Any], loan_id: str) -> dict[str, Any]:
        """Record the borrower's auto-debit authorisation for this loan (the card on file)"""
        signed = from_unix(args["signed_at"]) if args.get("signed_at") else None
        return mandate_body(services.create_mandate(get_uow(), loan_id, ports=_rt().ports, signed_at=signed))

    @requires("loans:read")
    @blp.response(200, MandateSchema)
    def get(self, loan_id: str) -> dict[str, Any]:
        """The loan's auto-debit mandate"""
        return mandate_body(services.mandate_of(get_uow(), loan_id, ports=_rt().ports))


@blp.route("/loans/<loan_id>/debits")
class LoanDebitNow(MethodView):
    @requires("loans:write")
    @blp.arguments(DebitNowSchema)
    @blp.response(201, PaymentSchema)
    def post(self, args: dict[str, Any], loan_id: str) -> dict[str, Any]:
        """Debit the borrower's card now, under the loan's mandate (the borrower asked to pay)

        Default amount: everything due by today, penalty included. The payment runs in the
        background; when it succeeds the loan books the repayment (`repayment.succeeded`),
        when it fails `repayment.failed` says why. While one is in flight the same payment
        comes back.
        """
        return payment_body(
            services.debit_now(get_uow(), loan_id, amount=args.get("amount"), ports=_rt().ports)
        )


@blp.route("/payments")
class Payments(MethodView):
    @requires("loans:read")
    @blp.arguments(PaymentListArgsSchema, location="query")
    @blp.response(200, list_of(PaymentSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List payments (disbursements and auto-debits), newest first"""
        page = services.list_payments(get_uow(), page_request(args), args)
        return list_body(page, "/v1/payments") | {"data": [payment_body(p) for p in page.data]}


@blp.route("/payments/<payment_id>")
class PaymentItem(MethodView):
    @requires("loans:read")
    @blp.response(200, PaymentSchema)
    def get(self, payment_id: str) -> dict[str, Any]:
        """Retrieve a payment with its channel attempts"""
        uow = get_uow()
        from lendbridge.payments.models import PaymentInstruction

        p = uow.get(PaymentInstruction, payment_id)
        return payment_body(p, services.attempts_of(uow, p.id))


# -- institutions: custody accounts ---------------------------------------------------------------


@blp.route("/custody_accounts")
class CustodyAccounts(MethodView):
    @requires("portfolio:read")
    @blp.arguments(ListArgsSchema, location="query")
    @blp.response(200, list_of(CustodyAccountSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The calling institution's custody accounts (numbers masked)"""
        page = services.list_custody_accounts(get_uow(), page_request(args))
        return list_body(page, "/v1/custody_accounts") | {"data": [custody_body(a) for a in page.data]}

    @requires("products:write")
    @blp.arguments(CustodyAccountCreateSchema)
    @blp.response(201, CustodyAccountSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Register a custody account of the calling institution (primary by default)"""
        principal = current_principal()
        account = services.register_custody_account(
            get_uow(),
            institution_id=principal.tenant_id,
            livemode=principal.livemode,
            bank_name=args["bank_name"],
            bank_code=args["bank_code"],
            account_number=args["account_number"],
            account_holder=args["account_holder"],
            currency=args["currency"],
            primary=args["primary"],
            rt=_rt(),
        )
        return custody_body(account)


@blp.route("/custody_accounts/<account_id>")
class CustodyAccountItem(MethodView):
    @requires("portfolio:read")
    @blp.response(200, CustodyAccountSchema)
    def get(self, account_id: str) -> dict[str, Any]:
        """Retrieve a custody account with its balance from the bank's last statement"""
        return custody_body(services.get_custody_account(get_uow(), account_id))


# -- channels: callbacks -------------------------------------------------------------------------


@blp.route("/payment_callbacks/<channel>")
class ChannelCallback(MethodView):
    @blp.response(200)
    def post(self, channel: str) -> dict[str, Any]:
        """A payment channel reports an outcome (HMAC-signed by the channel; no API key)"""
        result = services.handle_callback(_rt(), channel, request.get_data(), request.headers)
        return {"received": True, "result": result}


# -- staff: custody accounts ------------------------------------------------------------------------


@admin_blp.route("/custody_accounts")
class AdminCustodyAccounts(MethodView):
    @requires("admin:ledger")
    @admin_blp.arguments(CustodyAccountListArgsSchema, location="query")
    @admin_blp.response(200, list_of(CustodyAccountSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Every institution's custody accounts"""
        page = services.list_custody_accounts(
            get_uow(), page_request(args), institution=args.get("institution"), staff=True
        )
        return list_body(page, "/admin/v1/custody_accounts") | {"data": [custody_body(a) for a in page.data]}

    @requires("admin:tenants")
    @admin_blp.arguments(AdminCustodyAccountCreateSchema)
    @admin_blp.response(201, CustodyAccountSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Register a custody account for an institution"""
        account = services.register_custody_account(
            get_uow(),
            institution_id=args["institution"],
            livemode=args["livemode"],
            bank_name=args["bank_name"],
            bank_code=args["bank_code"],
            account_number=args["account_number"],
            account_holder=args["account_holder"],
            currency=args["currency"],
            primary=args["primary"],
            rt=_rt(),
        )
        return custody_body(account)


@admin_blp.route("/custody_accounts/<account_id>")
class AdminCustodyAccountItem(MethodView):
    @requires("admin:ledger")
    @admin_blp.response(200, CustodyAccountSchema)
    def get(self, account_id: str) -> dict[str, Any]:
        """Retrieve any institution's custody account"""
        return custody_body(services.get_custody_account(get_uow(), account_id, staff=True))


# -- staff: reconciliation --------------------------------------------------------------------------


@admin_blp.route("/reconciliation/reports")
class Reports(MethodView):
    @requires("admin:reconciliation")
    @admin_blp.arguments(ListArgsSchema, location="query")
    @admin_blp.response(200, list_of(ReportSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Reconciliation reports, newest first"""
        page = services.list_reports(get_uow(), page_request(args))
        return list_body(page, "/admin/v1/reconciliation/reports") | {
            "data": [report_body(r) for r in page.data]
        }

    @requires("admin:reconciliation")
    @admin_blp.arguments(ReportCreateSchema)
    @admin_blp.response(201, ReportSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Reconcile a business date now (the scheduler does yesterday every day)"""
        uow = get_uow()
        report_id = services.run_reconciliation(_rt(), args["business_date"], uow=uow)
        report, breaks = services.get_report(uow, report_id)
        return report_body(report, breaks)


@admin_blp.route("/reconciliation/reports/<report_id>")
class ReportItem(MethodView):
    @requires("admin:reconciliation")
    @admin_blp.response(200, ReportSchema)
    def get(self, report_id: str) -> dict[str, Any]:
        """A reconciliation report with its breaks"""
        report, breaks = services.get_report(get_uow(), report_id)
        return report_body(report, breaks)


@admin_blp.route("/reconciliation/breaks/<break_id>/resolve")
class ResolveBreak(MethodView):
    @requires("admin:reconciliation")
    @admin_blp.arguments(ResolveBreakSchema)
    @admin_blp.response(200, BreakSchema)
    def post(self, args: dict[str, Any], break_id: str) -> dict[str, Any]:
        """Resolve (or escalate) a break with what was done and why (audited)"""
        return break_body(
            services.resolve_break(get_uow(), break_id, action=args["action"], note=args["note"])
        )


# -- staff: the operations queue and channel health -----------------------------------------------


@admin_blp.route("/payments/attention")
class AttentionQueue(MethodView):
    @requires("admin:reconciliation")
    @admin_blp.arguments(ListArgsSchema, location="query")
    @admin_blp.response(200, list_of(AdminPaymentSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Payments waiting for a human: outcome still unknown after every re-query, and the like"""
        page = services.attention_queue(get_uow(), page_request(args))
        return list_body(page, "/admin/v1/payments/attention") | {
            "data": [admin_payment_body(p) for p in page.data]
        }


@admin_blp.route("/payments/<payment_id>")
class AdminPaymentItem(MethodView):
    @requires("admin:reconciliation")
    @admin_blp.response(200, AdminPaymentSchema)
    def get(self, payment_id: str) -> dict[str, Any]:
        """Any tenant's payment with its attempts"""
        uow = get_uow()
        p = services.get_payment_any(uow, payment_id)
        return admin_payment_body(p, services.attempts_of(uow, p.id, all_tenants=True))


@admin_blp.route("/payments/<payment_id>/resolve")
class ResolvePayment(MethodView):
    @requires("admin:reconciliation")
    @admin_blp.arguments(ResolvePaymentSchema)
    @admin_blp.response(200, AdminPaymentSchema)
    def post(self, args: dict[str, Any], payment_id: str) -> dict[str, Any]:
        """Decide a payment from the operations queue: requery, mark_succeeded or mark_failed"""
        p = services.resolve_payment(
            get_uow(),
            payment_id,
            action=args["action"],
            note=args["note"],
            rt=_rt(),
            channel=args.get("channel"),
            channel_reference=args.get("channel_reference"),
        )
        return admin_payment_body(p)


@admin_blp.route("/payment_channels")
class PaymentChannels(MethodView):
    @requires("admin:reconciliation")
    @admin_blp.response(200, ChannelListSchema)
    def get(self) -> dict[str, Any]:
        """Each channel's circuit breaker, live health, fees and limits"""
        return {
            "object": "list",
            "data": services.channel_statuses(_rt()),
            "has_more": False,
            "url": "/admin/v1/payment_channels",
        }


def register(app: Flask, api: Any) -> None:
    api.register_blueprint(blp)
    api.register_blueprint(admin_blp)

"""`/v1/loans` and `/v1/credit_lines`.

Partners see and act on the loans they originated (tenant scoping); institutions read the
loans and lines they fund (an explicit cross-tenant read on `institution_id`). Writes are
partners' (`loans:write`, `credit_lines:write`).
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from lendbridge.http.lifecycle import current_principal, get_uow, requires
from lendbridge.http.schemas import ListArgsSchema, list_body, list_of, page_request
from lendbridge.loans import services
from lendbridge.loans import tasks as _tasks  # noqa: F401 - registers the COB schedule
from lendbridge.loans.schemas import (
    AgreementArgsSchema,
    AgreementSchema,
    CancelSchema,
    CreditLineRepaymentSchema,
    CreditLineSchema,
    DrawCreateSchema,
    DrawSchema,
    LoanListArgsSchema,
    LoanSchema,
    PayoffQuoteArgsSchema,
    PayoffQuoteSchema,
    PrepaymentCreateSchema,
    RepaymentCreateSchema,
    RepaymentSchema,
    ScheduleSchema,
    SignSchema,
    StatementArgsSchema,
    StatementSchema,
    credit_line_body,
    draw_body,
    repayment_body,
)
from lendbridge.tenancy.domain import TenantKind

blp = Blueprint("loans", __name__, url_prefix="/v1", description="Loans, schedules, repayments, credit lines")


def _institution() -> str | None:
    """The caller's tenant id when it is an institution (reads cross tenants on it)."""
    principal = current_principal()
    return principal.tenant_id if principal.tenant_kind is TenantKind.INSTITUTION else None


@blp.route("/loans")
class Loans(MethodView):
    @requires("loans:read")
    @blp.arguments(LoanListArgsSchema, location="query")
    @blp.response(200, list_of(LoanSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List loans, newest first (filters: status, borrower)"""
        page = services.list_loans(
            get_uow(),
            page_request(args),
            status=args.get("status"),
            borrower_id=args.get("borrower"),
            institution_id=_institution(),
        )
        return list_body(type(page)([services.loan_body(x) for x in page.data], page.has_more), "/v1/loans")


@blp.route("/loans/<loan_id>")
class LoanItem(MethodView):
    @requires("loans:read")
    @blp.response(200, LoanSchema)
    def get(self, loan_id: str) -> dict[str, Any]:
        """Retrieve a loan with its running balances"""
        return services.loan_body(services.get_loan(get_uow(), loan_id, institution_id=_institution()))


@blp.route("/loans/<loan_id>/schedule")
class LoanSchedule(MethodView):
    @requires("loans:read")
    @blp.response(200, ScheduleSchema)
    def get(self, loan_id: str) -> dict[str, Any]:
        """The loan's instalments with what has been paid on each"""
        return services.schedule_body(get_uow(), loan_id, institution_id=_institution())


@blp.route("/loans/<loan_id>/statement")
class LoanStatement(MethodView):
    @requires("loans:read")
    @blp.arguments(StatementArgsSchema, location="query")
    @blp.response(200, StatementSchema)
    def get(self, args: dict[str, Any], loan_id: str) -> dict[str, Any]:
        """The loan's ledger postings (newest first) and its account balances, from the ledger"""
        return services.statement_body(get_uow(), loan_id, page_request(args), institution_id=_institution())


@blp.route("/loans/<loan_id>/repayments")
class LoanRepayments(MethodView):
    @requires("loans:write")
    @blp.arguments(RepaymentCreateSchema)
    @blp.response(201, RepaymentSchema)
    def post(self, args: dict[str, Any], loan_id: str) -> dict[str, Any]:
        """Record a repayment you collected (fen); the waterfall splits it, any excess prepays

        Partner-collected money is booked to the institution's clearing account and moves
        to its custody account when you settle (see docs/loans.md). Send an
        Idempotency-Key: a retried request returns the first repayment.
        """
        return repayment_body(
            services.record_repayment(
                get_uow(), loan_id, args["amount"], external_ref=args.get("external_ref")
            )
        )

    @requires("loans:read")
    @blp.arguments(ListArgsSchema, location="query")
    @blp.response(200, list_of(RepaymentSchema))
    def get(self, args: dict[str, Any], loan_id: str) -> dict[str, Any]:
        """List the loan's repayments, newest first"""
        page = services.repayments_page(get_uow(), loan_id, page_request(args), institution_id=_institution())
        return list_body(
            type(page)([repayment_body(r) for r in page.data], page.has_more),
            f"/v1/loans/{loan_id}/repayments",
        )


@blp.route("/loans/<loan_id>/payoff_quote")
class LoanPayoffQuote(MethodView):
    @requires("loans:read")
    @blp.arguments(PayoffQuoteArgsSchema)
    @blp.response(200, PayoffQuoteSchema)
    def post(self, args: dict[str, Any], loan_id: str) -> dict[str, Any]:
        """What pays the loan off at the end of a business date (default today); nothing is booked"""
        return services.payoff_quote_body(
            get_uow(), loan_id, args.get("as_of"), institution_id=_institution()
        )


@blp.route("/loans/<loan_id>/prepayments")
class LoanPrepayments(MethodView):
    @requires("loans:write")
    @blp.arguments(PrepaymentCreateSchema)
    @blp.response(201, RepaymentSchema)
    def post(self, args: dict[str, Any], loan_id: str) -> dict[str, Any]:
        """Prepay: `full` pays off; `shorten_term` / `lower_instalment` re-amortise the rest"""
        return repayment_body(services.prepay(get_uow(), loan_id, args.get("amount"), args["mode"]))


@blp.route("/loans/<loan_id>/agreement")
class LoanAgreementView(MethodView):
    @requires("loans:read")
    @blp.arguments(AgreementArgsSchema, location="query")
    @blp.response(200, AgreementSchema)
    def get(self, args: dict[str, Any], loan_id: str) -> dict[str, Any]:
        """The loan agreement: before signing, the text to show the borrower and its hash
        (pass `signer`); after, the signed text"""
        view = services.agreement_view(get_uow(), loan_id, args.get("signer"), institution_id=_institution())
        return services.agreement_body(view)


@blp.route("/loans/<loan_id>/sign")
class LoanSign(MethodView):
    @requires("loans:write")
    @blp.arguments(SignSchema)
    @blp.response(200, LoanSchema)
    def post(self, args: dict[str, Any], loan_id: str) -> dict[str, Any]:
        """Record the borrower's signature; the agreement's SM3 hash is signed with the platform's SM2 key"""
        loan = services.sign_loan(
            get_uow(),
            loan_id,
            signer=args["signer"],
            ip=args.get("ip"),
            expected_hash=args.get("agreement_hash"),
        )
        return services.loan_body(loan)


@blp.route("/loans/<loan_id>/cancel")
class LoanCancel(MethodView):
    @requires("loans:write")
    @blp.arguments(CancelSchema)
    @blp.response(200, LoanSchema)
    def post(self, args: dict[str, Any], loan_id: str) -> dict[str, Any]:
        """Cancel a loan before disbursement (409 illegal_transition afterwards)"""
        return services.loan_body(services.cancel_loan(get_uow(), loan_id))


@blp.route("/credit_lines")
class CreditLines(MethodView):
    @requires("credit_lines:read")
    @blp.arguments(ListArgsSchema, location="query")
    @blp.response(200, list_of(CreditLineSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List credit lines, newest first"""
        page = services.list_credit_lines(get_uow(), page_request(args), institution_id=_institution())
        return list_body(
            type(page)([credit_line_body(x) for x in page.data], page.has_more), "/v1/credit_lines"
        )


@blp.route("/credit_lines/<line_id>")
class CreditLineItem(MethodView):
    @requires("credit_lines:read")
    @blp.response(200, CreditLineSchema)
    def get(self, line_id: str) -> dict[str, Any]:
        """Retrieve a credit line: limit, available, balances"""
        return credit_line_body(services.get_credit_line(get_uow(), line_id, institution_id=_institution()))


@blp.route("/credit_lines/<line_id>/draws")
class CreditLineDraws(MethodView):
    @requires("credit_lines:write")
    @blp.arguments(DrawCreateSchema)
    @blp.response(201, DrawSchema)
    def post(self, args: dict[str, Any], line_id: str) -> dict[str, Any]:
        """Draw on a line (up to the available amount); interest accrues daily from today"""
        return draw_body(services.draw_credit_line(get_uow(), line_id, args["amount"]))


@blp.route("/credit_lines/<line_id>/repayments")
class CreditLineRepayments(MethodView):
    @requires("credit_lines:write")
    @blp.arguments(CreditLineRepaymentSchema)
    @blp.response(201, RepaymentSchema)
    def post(self, args: dict[str, Any], line_id: str) -> dict[str, Any]:
        """Repay a line: accrued interest first, then principal"""
        return repayment_body(
            services.repay_credit_line(
                get_uow(), line_id, args["amount"], external_ref=args.get("external_ref")
            )
        )


def register(api: Any) -> None:
    """Register the loan engine's blueprints: products, loans and credit lines, admin ledger."""
    from lendbridge.ledger import api as ledger_api
    from lendbridge.products import api as products_api

    api.register_blueprint(products_api.blp)
    api.register_blueprint(blp)
    api.register_blueprint(ledger_api.blp)

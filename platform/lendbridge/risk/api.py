"""Applications (partners) and the review queue, rule sets, fraud reports (staff)."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask.views import MethodView
from flask_smorest import Blueprint

from lendbridge.http.lifecycle import current_principal, get_uow, requires
from lendbridge.http.schemas import list_body, list_of, page_request
from lendbridge.risk import services
from lendbridge.risk.runtime import init_app as init_runtime
from lendbridge.risk.runtime import runtime
from lendbridge.risk.schemas import (
    AcceptSchema,
    ApplicationCreateSchema,
    ApplicationListArgsSchema,
    ApplicationSchema,
    BlacklistCreateSchema,
    BlacklistEntrySchema,
    DecisionSchema,
    FraudReportCreateSchema,
    FraudReportSchema,
    ReviewActionSchema,
    ReviewListArgsSchema,
    ReviewSchema,
    RiskModeArgsSchema,
    RuleSetCreateSchema,
    RuleSetSchema,
)

blp = Blueprint("applications", __name__, url_prefix="/v1", description="Applications, decisions and offers")
admin_blp = Blueprint(
    "admin_risk", __name__, url_prefix="/admin/v1", description="Risk rules and the review queue"
)


@blp.route("/applications")
class Applications(MethodView):
    @requires("applications:write")
    @blp.arguments(ApplicationCreateSchema)
    @blp.response(201, ApplicationSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Apply for a loan or credit line; the response carries the decision and offers"""
        return services.create_application(get_uow(), runtime(), args)

    @requires("applications:read")
    @blp.arguments(ApplicationListArgsSchema, location="query")
    @blp.response(200, list_of(ApplicationSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List applications, newest first"""
        page = services.list_applications(get_uow(), page_request(args), args.get("status"))
        return list_body(page, request.path)


@blp.route("/applications/<application_id>")
class ApplicationItem(MethodView):
    @requires("applications:read")
    @blp.response(200, ApplicationSchema)
    def get(self, application_id: str) -> dict[str, Any]:
        """Retrieve an application with its offers"""
        return services.get_application(get_uow(), application_id)


@blp.route("/applications/<application_id>/decision")
class ApplicationDecision(MethodView):
    @requires("applications:read")
    @blp.response(200, DecisionSchema)
    def get(self, application_id: str) -> dict[str, Any]:
        """The immutable decision record: inputs, features, rules, scores, matching, pricing"""
        return services.decision_body(get_uow(), application_id)


@blp.route("/applications/<application_id>/accept")
class ApplicationAccept(MethodView):
    @requires("applications:write")
    @blp.arguments(AcceptSchema)
    @blp.response(200, ApplicationSchema)
    def post(self, args: dict[str, Any], application_id: str) -> dict[str, Any]:
        """Accept an offer: the loan is created awaiting signature (idempotent per offer)"""
        return services.accept_offer(get_uow(), runtime(), application_id, args["offer_id"])


# -- admin ----------------------------------------------------------------------------------
def _mode(value: bool | None) -> bool:
    return current_principal().livemode if value is None else value


def _staff() -> str:
    return current_principal().actor


@admin_blp.route("/risk/tenants/<tenant_id>/rule_set")
class CurrentRuleSet(MethodView):
    @requires("admin:risk")
    @admin_blp.arguments(RiskModeArgsSchema, location="query")
    @admin_blp.response(200, RuleSetSchema)
    def get(self, args: dict[str, Any], tenant_id: str) -> dict[str, Any]:
        """The rule set in force for a tenant (version 0: the defaults)"""
        return services.get_rule_set(get_uow(), tenant_id, _mode(args.get("livemode")))


@admin_blp.route("/risk/tenants/<tenant_id>/rule_sets")
class RuleSets(MethodView):
    @requires("admin:risk")
    @admin_blp.arguments(RuleSetCreateSchema)
    @admin_blp.response(201, RuleSetSchema)
    def post(self, args: dict[str, Any], tenant_id: str) -> dict[str, Any]:
        """Store a new version of a tenant's anti-fraud rules and decision policy"""
        return services.create_rule_set(
            get_uow(),
            tenant_id,
            _mode(args.get("livemode")),
            args["document"],
            args.get("note"),
            args.get("base_version"),
        )

    @requires("admin:risk")
    @admin_blp.arguments(RiskModeArgsSchema, location="query")
    @admin_blp.response(200, list_of(RuleSetSchema))
    def get(self, args: dict[str, Any], tenant_id: str) -> dict[str, Any]:
        """Every stored version, newest first"""
        data = services.list_rule_sets(get_uow(), tenant_id, _mode(args.get("livemode")))
        return {"object": "list", "data": data, "has_more": False, "url": request.path}


@admin_blp.route("/risk/fraud_reports")
class FraudReports(MethodView):
    @requires("admin:risk")
    @admin_blp.arguments(FraudReportCreateSchema)
    @admin_blp.response(201, FraudReportSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Confirm an application as fraud: its ring becomes known fraud, its details blacklisted"""
        return services.report_fraud(
            get_uow(), runtime(), args["application"], current_principal().livemode, args.get("reason")
        )


@admin_blp.route("/risk/blacklist")
class Blacklist(MethodView):
    @requires("admin:risk")
    @admin_blp.arguments(BlacklistCreateSchema)
    @admin_blp.response(201, BlacklistEntrySchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Add a value to a tenant's blacklist"""
        return services.add_blacklist_entry(
            get_uow(),
            runtime(),
            args["tenant"],
            _mode(args.get("livemode")),
            args["kind"],
            args["value"],
            args.get("reason"),
        )


@admin_blp.route("/reviews")
class Reviews(MethodView):
    @requires("admin:reviews")
    @admin_blp.arguments(ReviewListArgsSchema, location="query")
    @admin_blp.response(200, list_of(ReviewSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The review queue, newest first; `overdue=true` for reviews past their SLA"""
        page = services.list_reviews(
            get_uow(),
            current_principal().livemode,
            page_request(args),
            args.get("status"),
            args.get("overdue"),
        )
        return list_body(page, request.path)


@admin_blp.route("/reviews/<review_id>")
class ReviewItem(MethodView):
    @requires("admin:reviews")
    @admin_blp.response(200, ReviewSchema)
    def get(self, review_id: str) -> dict[str, Any]:
        """Retrieve a review"""
        return services.get_review(get_uow(), review_id, current_principal().livemode)


@admin_blp.route("/reviews/<review_id>/claim")
class ReviewClaim(MethodView):
    @requires("admin:reviews")
    @admin_blp.response(200, ReviewSchema)
    def post(self, review_id: str) -> dict[str, Any]:
        """Claim a review to work it"""
        return services.claim_review(get_uow(), review_id, current_principal().livemode, _staff())


@admin_blp.route("/reviews/<review_id>/approve")
class ReviewApprove(MethodView):
    @requires("admin:reviews")
    @admin_blp.arguments(ReviewActionSchema)
    @admin_blp.response(200, ReviewSchema)
    def post(self, args: dict[str, Any], review_id: str) -> dict[str, Any]:
        """Approve (above the four-eyes amount, two different staff members must approve)"""
        return services.approve_review(
            get_uow(), runtime(), review_id, current_principal().livemode, _staff(), args["note"]
        )


@admin_blp.route("/reviews/<review_id>/decline")
class ReviewDecline(MethodView):
    @requires("admin:reviews")
    @admin_blp.arguments(ReviewActionSchema)
    @admin_blp.response(200, ReviewSchema)
    def post(self, args: dict[str, Any], review_id: str) -> dict[str, Any]:
        """Decline with a note"""
        return services.decline_review(
            get_uow(), runtime(), review_id, current_principal().livemode, _staff(), args["note"]
        )


def register(app: Flask, api: Any) -> None:
    """Build the risk runtime, register both blueprints and the risk tasks."""
    from lendbridge.risk import tasks as _tasks  # noqa: F401 - registers risk.expire_offers

    init_runtime(app)
    api.register_blueprint(blp)
    api.register_blueprint(admin_blp)

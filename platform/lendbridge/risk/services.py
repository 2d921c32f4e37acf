"""Risk use cases: applications and their decisions, offers and acceptance, rule sets,
the review queue, fraud reports and the blacklist. Callers commit (see uow.py)."""

from __future__ import annotations

import contextlib
import ipaddress
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from lendbridge.audit import service as audit
from lendbridge.clocks import clock_for
from lendbridge.core.errors import Conflict, InvalidParameter, NotFound, PermissionDenied, ServiceUnavailable
from lendbridge.core.ids import new_id
from lendbridge.core.money import format_rate
from lendbridge.core.pagination import Page, PageRequest
from lendbridge.db import CTX_KEY, TenantContext
from lendbridge.events.outbox import emit
from lendbridge.risk import decision as pipeline
from lendbridge.risk import graph as fraud_graph
from lendbridge.risk import rules as rule_sets
from lendbridge.risk.bureau import CachedBureau
from lendbridge.risk.models import (
    Application,
    BlacklistEntry,
    DecisionRecord,
    FraudRuleSet,
    Offer,
    Review,
)
from lendbridge.risk.ports import Applicant, CounterStore, LoanRequest
from lendbridge.risk.pricing import Priced
from lendbridge.risk.reasons import CATALOGUE
from lendbridge.risk.runtime import RiskRuntime
from lendbridge.risk.schemas import ApplicationSchema
from lendbridge.risk.stores import SqlBlacklist, SqlNodeStore, SqlReportCache
from lendbridge.uow import UnitOfWork

OPEN_STATES = ("open", "claimed", "awaiting_second_approval")
_APPLICATION_SCHEMA = ApplicationSchema()  # built once: a schema costs about a millisecond


# -- helpers ---------------------------------------------------------------------------------
@contextlib.contextmanager
def acting_for(uow: UnitOfWork, tenant_id: str, livemode: bool) -> Iterator[None]:
    """Let platform staff (or a batch job) act inside one tenant's data for a moment.

    Rows written are stamped for that tenant, reads are scoped to it and events are
    emitted in its name; the caller's own context comes back afterwards.
    """
    saved_ctx, saved_info = uow.ctx, uow.session.info.get(CTX_KEY)
    ctx = TenantContext(tenant_id, livemode)
    uow.ctx = ctx
    uow.session.info[CTX_KEY] = ctx
    try:
        yield
        uow.session.flush()  # rows added meanwhile are stamped for that tenant now
    finally:
        uow.ctx = saved_ctx
        uow.session.info[CTX_KEY] = saved_info


def _now(uow: UnitOfWork, test_clock_id: str | None) -> datetime:
    return clock_for(uow, test_clock_id).now()


def reasons_body(codes: list[Any]) -> list[dict[str, str]]:
    out = []
    for code in codes:
        r = CATALOGUE.get(str(code))
        out.append(
            {"code": str(code), "message": r.en if r else str(code), "message_zh": r.zh if r else str(code)}
        )
    return out


# -- rule sets -------------------------------------------------------------------------------
# Rule sets per (tenant, mode), kept for a few seconds per process: a new version is seen
# at once by the process that stored it and within RULE_SET_TTL by the others.
RULE_SET_TTL = 5.0
_rule_set_cache: dict[tuple[str | None, bool], tuple[float, rule_sets.RuleSet]] = {}


def forget_rule_set(tenant_id: str | None, livemode: bool) -> None:
    _rule_set_cache.pop((tenant_id, livemode), None)


def current_rule_set(uow: UnitOfWork) -> rule_sets.RuleSet:
    """The caller tenant's newest rule set, or the defaults in code (version 0)."""
    key = (uow.ctx.tenant_id, uow.ctx.livemode)
    cached = _rule_set_cache.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    row = uow.session.execute(
        select(FraudRuleSet).order_by(FraudRuleSet.version.desc()).limit(1)
    ).scalar_one_or_none()
    rs = rule_sets.DEFAULT_RULE_SET if row is None else rule_sets.parse(row.document, row.version)
    _rule_set_cache[key] = (time.monotonic() + RULE_SET_TTL, rs)
    return rs


def rule_set_body(
    rs: rule_sets.RuleSet, tenant_id: str, livemode: bool, row: FraudRuleSet | None = None
) -> dict[str, Any]:
    return {
        "object": "risk_rule_set",
        "id": row.id if row else None,
        "created": row.created if row else None,
        "livemode": livemode,
        "tenant": tenant_id,
        "version": rs.version,
        "document": dict(rs.document),
        "note": row.note if row else "defaults",
    }


def get_rule_set(uow: UnitOfWork, tenant_id: str, livemode: bool) -> dict[str, Any]:
    with acting_for(uow, tenant_id, livemode):
        row = uow.session.execute(
            select(FraudRuleSet).order_by(FraudRuleSet.version.desc()).limit(1)
        ).scalar_one_or_none()
        rs = rule_sets.parse(row.document, row.version) if row else rule_sets.DEFAULT_RULE_SET
        return rule_set_body(rs, tenant_id, livemode, row)


def create_rule_set(
    uow: UnitOfWork,
    tenant_id: str,
    livemode: bool,
    document: Mapping[str, Any],
    note: str | None,
    base_version: int | None,
) -> dict[str, Any]:
    """Store a new version; `base_version` (optional) guards against lost updates."""
    from lendbridge.tenancy.services import get_tenant

    get_tenant(uow, tenant_id)
    with acting_for(uow, tenant_id, livemode):
        latest = uow.session.execute(select(func.max(FraudRuleSet.version))).scalar() or 0
        if base_version is not None and base_version != latest:
            raise Conflict(
                f"the rule set is at version {latest}, not {base_version}; reload and retry",
                param="base_version",
                code="rule_set_version_conflict",
            )
        rs = rule_sets.parse(document, latest + 1)
        row = FraudRuleSet(
            id=new_id("frs"),
            created=uow.now(),
            version=latest + 1,
            document=dict(rs.document),
            created_by=uow.actor,
            note=note,
        )
        uow.session.add(row)
        uow.session.flush()
        audit.record(
            uow.session, "risk_rule_set.created", row.id, {"version": row.version, "document": row.document}
        )
        uow.after_commit(lambda: forget_rule_set(tenant_id, livemode))
        return rule_set_body(rs, tenant_id, livemode, row)


def list_rule_sets(uow: UnitOfWork, tenant_id: str, livemode: bool) -> list[dict[str, Any]]:
    with acting_for(uow, tenant_id, livemode):
        rows = uow.session.execute(select(FraudRuleSet).order_by(FraudRuleSet.version.desc())).scalars()
        return [rule_set_body(rule_sets.parse(r.document, r.version), tenant_id, livemode, r) for r in rows]


# -- applications ---------------------------------------------------------------------------
def _validate_request(args: Mapping[str, Any]) -> None:
    """Contradictions the schema cannot see, as 422s naming the field."""
    credit_line = bool(args.get("credit_line"))
    if credit_line and args.get("term") is not None:
        raise InvalidParameter("a credit line has no term: omit term", param="term")
    if not credit_line:
        for name in ("amount", "term"):
            if args.get(name) is None:
                raise InvalidParameter(f"{name} is required unless credit_line is true", param=name)
    scenario = args.get("scenario") or {}
    if scenario.get("disburse_to_merchant") and not scenario.get("merchant_id"):
        raise InvalidParameter("disburse_to_merchant needs the merchant_id", param="scenario.merchant_id")
    tuition = scenario.get("tuition")
    if (
        tuition is not None
        and scenario.get("disburse_to_merchant")
        and args.get("amount")
        and args["amount"] > tuition
    ):
        raise InvalidParameter("amount is more than the tuition paid to the merchant", param="amount")
    ip = (args.get("device") or {}).get("ip")
    if ip:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise InvalidParameter("device.ip must be an IPv4 or IPv6 address", param="device.ip") from None


def _input(app: Application, args: Mapping[str, Any]) -> pipeline.ApplicationInput:
    s, d = args.get("scenario") or {}, args.get("device") or {}
    return pipeline.ApplicationInput(
        application_id=app.id,
        borrower_id=app.borrower_id,
        amount=app.amount,
        term=app.term,
        credit_line=app.credit_line,
        purpose=app.purpose,
        method=app.method,
        monthly_income=app.monthly_income,
        scenario=pipeline.Scenario(
            course_id=s.get("course_id"),
            tuition=s.get("tuition"),
            merchant_id=s.get("merchant_id"),
            disburse_to_merchant=bool(s.get("disburse_to_merchant")),
            enrolment_confirmed=s.get("enrolment_confirmed"),
            delivery_city=s.get("delivery_city"),
        ),
        device=pipeline.DeviceData(
            fingerprint=d.get("fingerprint"),
            ip=d.get("ip"),
            wifi_bssid=d.get("wifi_bssid"),
            lbs_city=d.get("lbs_city"),
            ip_city=d.get("ip_city"),
        ),
        contacts=tuple(args.get("contacts") or ()),
        consent_ids=tuple(args.get("consent_ids") or ()),
    )


class _GuardedCounters:
    """A counter store whose outage is a 503 (retryable), never silently skipped rules."""

    def __init__(self, inner: CounterStore) -> None:
        self.inner = inner

    def add_and_count(self, key: str, member: str, at: float, window_seconds: float) -> int:
        return self.add_and_count_many([(key, member, window_seconds)], at)[0]

    def add_and_count_many(self, items: Sequence[tuple[str, str, float]], at: float) -> list[int]:
        try:
            return self.inner.add_and_count_many(items, at)
        except Exception as exc:
            raise ServiceUnavailable("anti-fraud counters are unavailable; retry shortly") from exc


def _ports(uow: UnitOfWork, rt: RiskRuntime, rules: rule_sets.RuleSet) -> pipeline.Ports:
    integ = rt.integrations
    return pipeline.Ports(
        consents=integ.consents(uow),
        bureau=CachedBureau(rt.bureau, SqlReportCache(uow), timedelta(days=rules.policy.bureau_cache_days)),
        counters=_GuardedCounters(rt.counters),
        catalog=integ.catalog(uow),
        history=integ.history(uow),
        graph=SqlNodeStore(uow),
        blacklist=SqlBlacklist(uow),
    )


def _decide(
    uow: UnitOfWork,
    rt: RiskRuntime,
    app: Application,
    inp: pipeline.ApplicationInput,
    applicant: Applicant,
    rules: rule_sets.RuleSet,
    now: datetime,
    *,
    override: bool = False,
) -> pipeline.Decision:
    ctx = uow.ctx
    scope = f"{ctx.tenant_id}:{'live' if ctx.livemode else 'test'}"
    return pipeline.decide(
        inp,
        applicant,
        _ports(uow, rt, rules),
        rules,
        pipeline.Models(rt.champion, rt.challenger),
        now=now,
        apr_cap=rt.apr_cap,
        keyer=pipeline.Keyer(rt.secret, scope),
        counter_scope=scope,
        override_review=override,
    )


def _store_offers(
    uow: UnitOfWork, app: Application, offers: list[Priced], status: str, expires: datetime | None
) -> list[Offer]:
    rows = []
    for rank, o in enumerate(offers, start=1):
        q = o.quote
        row = Offer(
            id=new_id("ofr"),
            created=uow.now(),
            application_id=app.id,
            rank=rank,
            product_id=o.product.product_id,
            institution_id=o.product.institution_id,
            kind=o.product.kind,
            amount=o.amount,
            term=o.term,
            method=o.method,
            annual_rate=o.annual_rate,
            base_rate=o.base_rate,
            discount=o.discount,
            apr_nominal=Decimal(q["apr"]["nominal"]),
            apr_effective=Decimal(q["apr"]["effective"]),
            upfront_fee=o.upfront_fee,
            total_interest=q["total_interest"],
            total_fees=q["total_fees"],
            total_payment=q["total_payment"],
            schedule=[dict(i) for i in q["instalments"]],
            counter_offer=o.counter_offer,
            status=status,
            expires_at=expires,
        )
        uow.session.add(row)
        rows.append(row)
    return rows


def _record_decision(
    uow: UnitOfWork,
    app: Application,
    outcome: str,
    record: dict[str, Any],
    *,
    model_version: str | None,
    bureau_report_id: str | None,
    offers: list[Offer],
    actor: str | None = None,
    sequence: int | None = None,
) -> DecisionRecord:
    if sequence is None:
        sequence = (
            uow.session.execute(
                select(func.max(DecisionRecord.sequence)).where(DecisionRecord.application_id == app.id)
            ).scalar()
            or 0
        ) + 1
    row = DecisionRecord(
        id=new_id("dec"),
        created=uow.now(),
        application_id=app.id,
        sequence=sequence,
        outcome=outcome,
        model_version=model_version,
        bureau_report_id=bureau_report_id,
        actor=actor or uow.actor,
        record={**record, "offers": [o.id for o in offers], "sequence": sequence},
    )
    uow.session.add(row)
    return row


def create_application(uow: UnitOfWork, rt: RiskRuntime, args: Mapping[str, Any]) -> dict[str, Any]:
    """Receive an application, decide it, and return it with its offers."""
    _validate_request(args)
    applicant = rt.integrations.facts(uow).applicant(args["borrower"])
    if args.get("credit_line") and applicant.type != "business":
        raise InvalidParameter("credit lines are for business borrowers", param="credit_line")
    now = _now(uow, applicant.test_clock_id)
    app = Application(
        id=new_id("app"),
        created=now,
        borrower_id=applicant.borrower_id,
        amount=args.get("amount"),
        term=args.get("term"),
        credit_line=bool(args.get("credit_line")),
        purpose=args["purpose"],
        method=args.get("method"),
        monthly_income=args.get("monthly_income"),
        scenario=dict(args.get("scenario") or {}),
        device={},
        consent_ids=list(args.get("consent_ids") or []),
        status="received",
        test_clock_id=applicant.test_clock_id,
    )
    inp = _input(app, args)
    rules = current_rule_set(uow)
    result = _decide(uow, rt, app, inp, applicant, rules, now)
    app.device = result.record["inputs"]["device"]
    _set_outcome(app, result, now)
    if result.outcome == "approved":
        app.offers_expire_at = now + timedelta(days=rules.policy.offer_ttl_days)
    uow.session.add(app)
    uow.session.flush()  # the application row first: offers, review and record refer to it
    offers, review_id = _apply_decision(uow, app, result, rules, now)
    body = application_body(uow, app, offers, review_id)
    wire = event_body(body)
    emit(uow, "application.created", wire)
    emit(uow, "application.review_required" if app.status == "review" else "application.decided", wire)
    audit.record(
        uow.session,
        "application.created",
        app.id,
        {"decision": app.decision, "reason_codes": app.reason_codes},
    )
    return body


def _set_outcome(app: Application, result: pipeline.Decision, now: datetime) -> None:
    app.decision = result.outcome
    app.status = result.outcome
    app.reason_codes = list(result.reason_codes)
    app.score = result.record.get("scorecard", {}).get("decision_score")
    app.grade = result.grade
    app.model_version = result.record.get("scorecard", {}).get("model_version")
    app.decided_at = now


def _apply_decision(
    uow: UnitOfWork, app: Application, result: pipeline.Decision, rules: rule_sets.RuleSet, now: datetime
) -> tuple[list[Offer], str | None]:
    """Store the first decision of a new application: offers, review, record."""
    policy = rules.policy
    review_id = None
    offers: list[Offer] = []
    if result.outcome == "approved":
        offers = _store_offers(uow, app, result.offers, "open", app.offers_expire_at)
    elif result.outcome == "review":
        offers = _store_offers(uow, app, result.offers, "pending_review", None)
        amount = max((o.amount for o in offers), default=app.amount)
        review = Review(
            id=new_id("rev"),
            created=now,
            application_id=app.id,
            amount=amount,
            reason_codes=list(result.reason_codes),
            status="open",
            four_eyes=amount is not None and amount > policy.four_eyes_above_amount,
            notes=[],
            due_at=now + timedelta(hours=policy.review_sla_hours),
        )
        uow.session.add(review)
        review_id = review.id
    _record_decision(
        uow,
        app,
        result.outcome,
        result.record,
        model_version=app.model_version,
        bureau_report_id=result.bureau_report.report_id if result.bureau_report else None,
        offers=offers,
        sequence=1,
    )
    uow.session.flush()  # stamps tenant and mode on the new rows before they are shown
    return offers, review_id


def _offers(uow: UnitOfWork, app_id: str) -> list[Offer]:
    return list(
        uow.session.execute(
            select(Offer).where(Offer.application_id == app_id).order_by(Offer.rank)
        ).scalars()
    )


def _rate(value: Decimal) -> Decimal:
    """Rates on the wire with 10 decimals, whatever the database handed back."""
    return Decimal(format_rate(Decimal(value), 10))


def offer_body(o: Offer) -> dict[str, Any]:
    return {
        "object": "offer",
        "id": o.id,
        "created": o.created,
        "livemode": o.livemode,
        "application": o.application_id,
        "rank": o.rank,
        "status": o.status,
        "product": o.product_id,
        "institution": o.institution_id,
        "kind": o.kind,
        "amount": o.amount,
        "term": o.term,
        "method": o.method,
        "annual_rate": _rate(o.annual_rate),
        "base_rate": _rate(o.base_rate),
        "discount": _rate(o.discount),
        "apr": {"nominal": _rate(o.apr_nominal), "effective": _rate(o.apr_effective)},
        "upfront_fee": o.upfront_fee,
        "total_interest": o.total_interest,
        "total_fees": o.total_fees,
        "total_payment": o.total_payment,
        "total_cost": o.total_interest + o.total_fees,
        "schedule": o.schedule,
        "counter_offer": o.counter_offer,
        "expires_at": o.expires_at,
        "loan": o.loan_id if o.loan_id and not o.loan_id.startswith("cl_") else None,
        "credit_line": o.loan_id if o.loan_id and o.loan_id.startswith("cl_") else None,
    }


_LOOKUP = "lookup"


def application_body(
    uow: UnitOfWork, app: Application, offers: list[Offer] | None = None, review_id: str | None = _LOOKUP
) -> dict[str, Any]:
    """The application as the API shows it (offers and review looked up unless given)."""
    offers = _offers(uow, app.id) if offers is None else offers
    if review_id == _LOOKUP:
        review_id = uow.session.execute(
            select(Review.id).where(Review.application_id == app.id)
        ).scalar_one_or_none()
    return {
        "object": "application",
        "id": app.id,
        "created": app.created,
        "livemode": app.livemode,
        "borrower": app.borrower_id,
        "amount": app.amount,
        "term": app.term,
        "credit_line": app.credit_line,
        "purpose": app.purpose,
        "method": app.method,
        "scenario": app.scenario,
        "status": app.status,
        "decision": app.decision,
        "reason_codes": app.reason_codes,
        "reasons": reasons_body(app.reason_codes),
        "score": app.score,
        "grade": app.grade,
        "model_version": app.model_version,
        "decided": app.decided_at,
        "offers_expire_at": app.offers_expire_at,
        "offers": [offer_body(o) for o in offers if o.status != "pending_review"],
        "review": review_id,
        "loan": app.loan_id if app.loan_id and not app.loan_id.startswith("cl_") else None,
        "opened_credit_line": app.loan_id if app.loan_id and app.loan_id.startswith("cl_") else None,
        "test_clock": app.test_clock_id,
    }


def event_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """The application exactly as the API returns it (events carry the wire form)."""
    dumped: dict[str, Any] = _APPLICATION_SCHEMA.dump(body)
    return dumped


def get_application(uow: UnitOfWork, application_id: str) -> dict[str, Any]:
    return application_body(uow, uow.get(Application, application_id))


def list_applications(uow: UnitOfWork, request: PageRequest, status: str | None = None) -> Page[Any]:
    stmt = select(Application)
    if status:
        stmt = stmt.where(Application.status == status)
    page = uow.page(stmt, Application, request)
    return replace(page, data=[application_body(uow, a) for a in page.data])


def decision_body(uow: UnitOfWork, application_id: str) -> dict[str, Any]:
    """The newest decision record of an application (the first is the automatic one)."""
    app = uow.get(Application, application_id)
    rows = list(
        uow.session.execute(
            select(DecisionRecord)
            .where(DecisionRecord.application_id == app.id)
            .order_by(DecisionRecord.sequence)
        ).scalars()
    )
    if not rows:
        raise NotFound(f"No decision for application '{application_id}'", param="id")
    last = rows[-1]
    return {
        "object": "decision",
        "id": last.id,
        "created": last.created,
        "livemode": last.livemode,
        "application": app.id,
        "sequence": last.sequence,
        "outcome": last.outcome,
        "reason_codes": last.record.get("reason_codes", []),
        "reasons": reasons_body(last.record.get("reason_codes", [])),
        "model_version": last.model_version,
        "bureau_report": last.bureau_report_id,
        "actor": last.actor,
        "record": last.record,
        "history": [
            {"id": r.id, "sequence": r.sequence, "outcome": r.outcome, "created": r.created} for r in rows
        ],
    }


# -- acceptance -----------------------------------------------------------------------------
def _merchant(uow: UnitOfWork, merchant_id: str) -> dict[str, str]:
    """The merchant as the partner registered it (tenant settings), for disbursement."""
    from lendbridge.tenancy.services import get_tenant

    tenant = get_tenant(uow, str(uow.ctx.tenant_id))
    for m in (tenant.settings or {}).get("merchants") or []:
        if isinstance(m, Mapping) and m.get("id") == merchant_id:
            return {str(k): str(v) for k, v in m.items()}
    raise InvalidParameter(
        "the scenario's merchant is not registered for this partner", param="scenario.merchant_id"
    )


def accept_offer(uow: UnitOfWork, rt: RiskRuntime, application_id: str, offer_id: str) -> dict[str, Any]:
    """Accept one offer: the loan is created awaiting signature. Accepting again returns it."""
    app = uow.get(Application, application_id, for_update=True)
    offer = uow.find(Offer, offer_id)
    if offer is None or offer.application_id != app.id:
        raise NotFound(f"No such offer on this application: '{offer_id}'", param="offer_id")
    if offer.loan_id is not None:
        return application_body(uow, app)
    if app.status == "accepted":
        raise Conflict(
            "another offer of this application was accepted", param="offer_id", code="application_accepted"
        )
    now = _now(uow, app.test_clock_id)
    if offer.status == "expired" or (offer.expires_at is not None and offer.expires_at <= now):
        raise Conflict(
            "this offer has expired; submit a new application", param="offer_id", code="offer_expired"
        )
    if app.status != "approved" or offer.status != "open":
        raise Conflict(
            f"the application is {app.status}; only approved offers can be accepted",
            param="offer_id",
            code="application_not_approved",
        )
    scenario = app.scenario or {}
    to_merchant = bool(scenario.get("disburse_to_merchant"))
    merchant = _merchant(uow, str(scenario["merchant_id"])) if to_merchant else None
    loan = rt.integrations.originator(uow).originate(
        LoanRequest(
            borrower_id=app.borrower_id,
            product_id=offer.product_id,
            kind=offer.kind,
            principal=offer.amount,
            term=offer.term,
            method=offer.method,
            annual_rate=offer.annual_rate,
            application_id=app.id,
            offer_id=offer.id,
            disburse_to="merchant" if to_merchant else "borrower",
            merchant=merchant,
            test_clock_id=app.test_clock_id,
        )
    )
    offer.status, offer.loan_id = "accepted", loan.loan_id
    for other in _offers(uow, app.id):
        if other.id != offer.id and other.status == "open":
            other.status = "superseded"
    app.status, app.loan_id = "accepted", loan.loan_id
    uow.session.flush()
    if not loan.emitted_created_event:
        emit(uow, "loan.created", dict(loan.body))
    audit.record(uow.session, "application.accepted", app.id, {"offer": offer.id, "loan": loan.loan_id})
    return application_body(uow, app)


def expire_offers(uow: UnitOfWork, limit: int = 500, *, test_clock_id: str | None = None) -> int:
    """Expire approved applications whose offers ran out (all tenants; batch job).

    Applications on no test clock expire by `uow.now()`; with `test_clock_id`, only that
    clock's applications, by the clock's time (a test clock's advance calls this).
    """
    now = _now(uow, test_clock_id)
    clock_filter = (
        Application.test_clock_id.is_(None)
        if test_clock_id is None
        else Application.test_clock_id == test_clock_id
    )
    stmt = (
        select(Application)
        .where(Application.status == "approved", Application.offers_expire_at <= now, clock_filter)
        .order_by(Application.id)
        .limit(limit)
        .execution_options(all_tenants=True)
    )
    count = 0
    for app in list(uow.session.execute(stmt).scalars()):
        with acting_for(uow, app.tenant_id, app.livemode):
            app.status = "expired"
            for o in _offers(uow, app.id):
                if o.status == "open":
                    o.status = "expired"
            uow.session.flush()
            emit(uow, "application.expired", event_body(application_body(uow, app)))
            audit.record(uow.session, "application.expired", app.id, {})
            count += 1
    return count


# -- review queue (platform staff) ----------------------------------------------------------
def _review(uow: UnitOfWork, review_id: str, livemode: bool, *, lock: bool = False) -> Review:
    stmt = (
        select(Review)
        .where(Review.id == review_id, Review.livemode == livemode)
        .execution_options(all_tenants=True)
    )
    if lock:
        stmt = stmt.with_for_update()
    row = uow.session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No such review: '{review_id}'", param="id")
    return row


def review_body(uow: UnitOfWork, r: Review) -> dict[str, Any]:
    now = uow.now()
    return {
        "object": "review",
        "id": r.id,
        "created": r.created,
        "livemode": r.livemode,
        "tenant": r.tenant_id,
        "application": r.application_id,
        "amount": r.amount,
        "reason_codes": r.reason_codes,
        "reasons": reasons_body(r.reason_codes),
        "status": r.status,
        "claimed_by": r.claimed_by,
        "first_approver": r.first_approver,
        "second_approver": r.second_approver,
        "decided_by": r.decided_by,
        "four_eyes": r.four_eyes,
        "notes": r.notes,
        "due_at": r.due_at,
        "overdue": r.status in OPEN_STATES and now > r.due_at,
        "decided": r.decided_at,
    }


def list_reviews(
    uow: UnitOfWork, livemode: bool, request: PageRequest, status: str | None, overdue: bool | None
) -> Page[Any]:
    stmt = select(Review).where(Review.livemode == livemode).execution_options(all_tenants=True)
    if status:
        stmt = stmt.where(Review.status == status)
    if overdue is True:
        stmt = stmt.where(Review.status.in_(OPEN_STATES), Review.due_at < uow.now())
    page = uow.page(stmt, Review, request)
    return replace(page, data=[review_body(uow, r) for r in page.data])


def get_review(uow: UnitOfWork, review_id: str, livemode: bool) -> dict[str, Any]:
    return review_body(uow, _review(uow, review_id, livemode))


def _note(uow: UnitOfWork, r: Review, staff: str, action: str, note: str | None) -> None:
    r.notes = [*r.notes, {"at": uow.now().isoformat(), "by": staff, "action": action, "note": note}]


def claim_review(uow: UnitOfWork, review_id: str, livemode: bool, staff: str) -> dict[str, Any]:
    r = _review(uow, review_id, livemode, lock=True)
    if r.status not in ("open", "claimed"):
        raise Conflict(f"the review is {r.status}", code="review_not_open")
    if r.claimed_by not in (None, staff):
        raise Conflict("another staff member has claimed this review", code="review_claimed")
    r.claimed_by, r.status = staff, "claimed"
    _note(uow, r, staff, "claimed", None)
    with acting_for(uow, r.tenant_id, r.livemode):
        audit.record(uow.session, "review.claimed", r.id, {"by": staff})
    return review_body(uow, r)


def approve_review(
    uow: UnitOfWork, rt: RiskRuntime, review_id: str, livemode: bool, staff: str, note: str | None
) -> dict[str, Any]:
    r = _review(uow, review_id, livemode, lock=True)
    if r.status == "awaiting_second_approval":
        if staff == r.first_approver:
            raise Conflict(
                "four-eyes: the second approval must come from another staff member",
                code="four_eyes_required",
            )
        r.second_approver = staff
    elif r.status == "claimed":
        if r.claimed_by != staff:
            raise Conflict("claim the review before deciding it", code="review_not_claimed")
        r.first_approver = staff
        if r.four_eyes:
            r.status = "awaiting_second_approval"
            _note(uow, r, staff, "approved (first of two)", note)
            with acting_for(uow, r.tenant_id, r.livemode):
                audit.record(uow.session, "review.first_approval", r.id, {"by": staff})
            return review_body(uow, r)
    else:
        raise Conflict(
            "claim the review before deciding it" if r.status == "open" else f"the review is {r.status}",
            code="review_not_claimed" if r.status == "open" else "review_not_open",
        )
    with acting_for(uow, r.tenant_id, r.livemode):
        _finish_review(uow, rt, r, "approved", staff, note)
    return review_body(uow, r)


def decline_review(
    uow: UnitOfWork, rt: RiskRuntime, review_id: str, livemode: bool, staff: str, note: str | None
) -> dict[str, Any]:
    r = _review(uow, review_id, livemode, lock=True)
    if r.status not in ("claimed", "awaiting_second_approval"):
        raise Conflict(
            "claim the review before deciding it" if r.status == "open" else f"the review is {r.status}",
            code="review_not_claimed" if r.status == "open" else "review_not_open",
        )
    if r.status == "claimed" and r.claimed_by != staff:
        raise Conflict("claim the review before deciding it", code="review_not_claimed")
    with acting_for(uow, r.tenant_id, r.livemode):
        _finish_review(uow, rt, r, "declined", staff, note)
    return review_body(uow, r)


def _finish_review(
    uow: UnitOfWork, rt: RiskRuntime, r: Review, outcome: str, staff: str, note: str | None
) -> None:
    app = uow.get(Application, r.application_id, for_update=True)
    now = _now(uow, app.test_clock_id)
    rules = current_rule_set(uow)
    offers = _offers(uow, app.id)
    pending = [o for o in offers if o.status == "pending_review"]
    record: dict[str, Any] = {
        "review": {
            "id": r.id,
            "outcome": outcome,
            "by": staff,
            "first_approver": r.first_approver,
            "second_approver": r.second_approver,
            "note": note,
            "original_reason_codes": list(r.reason_codes),
        },
        "rule_set_version": rules.version,
    }
    model_version, report_id = app.model_version, None
    if outcome == "approved" and pending:
        expires = now + timedelta(days=rules.policy.offer_ttl_days)
        for o in pending:
            o.status, o.expires_at = "open", expires
        app.offers_expire_at = expires
        opened = pending
    elif outcome == "approved":
        # Nothing was priced before review (e.g. the bureau was down): decide again with
        # the reviewer's override; declines still decline.
        applicant = rt.integrations.facts(uow).applicant(app.borrower_id)
        inp = _input(app, {"scenario": app.scenario, "consent_ids": app.consent_ids})
        inp = replace(
            inp,
            device=pipeline.DeviceData(
                lbs_city=app.device.get("lbs_city"), ip_city=app.device.get("ip_city")
            ),
        )
        result = _decide(uow, rt, app, inp, applicant, rules, now, override=True)
        if result.outcome != "approved":
            raise Conflict(
                "the application cannot be approved: " + ", ".join(result.reason_codes or ["no offers"]),
                code="review_cannot_approve",
            )
        record["redecision"] = result.record
        app.offers_expire_at = now + timedelta(days=rules.policy.offer_ttl_days)
        opened = _store_offers(uow, app, result.offers, "open", app.offers_expire_at)
        app.score = result.record.get("scorecard", {}).get("decision_score")
        app.grade = result.grade
        model_version = app.model_version = result.record.get("scorecard", {}).get("model_version")
        report_id = result.bureau_report.report_id if result.bureau_report else None
    else:
        for o in pending:
            o.status = "withdrawn"
        opened = []
    codes = ["review_approved"] if outcome == "approved" else ["review_declined", *r.reason_codes]
    record["outcome"], record["reason_codes"] = outcome, codes
    app.status = app.decision = outcome
    app.reason_codes = [] if outcome == "approved" else codes
    app.decided_at = now
    r.status, r.decided_by, r.decided_at = outcome, staff, uow.now()
    _note(uow, r, staff, outcome, note)
    uow.session.flush()
    _record_decision(
        uow,
        app,
        outcome,
        record,
        model_version=model_version,
        bureau_report_id=report_id,
        offers=opened,
        actor=staff,
    )
    emit(uow, "application.decided", event_body(application_body(uow, app)))
    audit.record(uow.session, f"review.{outcome}", r.id, {"by": staff, "application": app.id})


# -- fraud reports and blacklist --------------------------------------------------------------
def report_fraud(
    uow: UnitOfWork, rt: RiskRuntime, application_id: str, livemode: bool, reason: str | None
) -> dict[str, Any]:
    """Confirm an application as fraud: its graph component becomes known fraud and its
    identity and device attributes go on the tenant's blacklist."""
    stmt = (
        select(Application)
        .where(Application.id == application_id, Application.livemode == livemode)
        .execution_options(all_tenants=True)
    )
    app = uow.session.execute(stmt).scalar_one_or_none()
    if app is None:
        raise NotFound(f"No such application: '{application_id}'", param="application")
    with acting_for(uow, app.tenant_id, app.livemode):
        store = SqlNodeStore(uow)
        root = fraud_graph.mark_fraud(store, f"app:{app.id}")
        first = uow.session.execute(
            select(DecisionRecord).where(
                DecisionRecord.application_id == app.id, DecisionRecord.sequence == 1
            )
        ).scalar_one_or_none()
        inputs = (first.record.get("inputs") or {}) if first else {}
        borrower = inputs.get("borrower") or {}
        device = inputs.get("device") or {}
        keys = [
            f"{k}:{borrower[k + '_index']}" for k in ("id", "phone", "card") if borrower.get(k + "_index")
        ]
        keys += [device[k] for k in ("fingerprint", "wifi_bssid") if device.get(k)]
        added = 0
        for key in keys:
            exists = uow.session.execute(select(BlacklistEntry.id).where(BlacklistEntry.key == key)).first()
            if exists is None:
                uow.session.add(
                    BlacklistEntry(
                        id=new_id("bl"),
                        created=uow.now(),
                        kind=key.split(":", 1)[0],
                        key=key,
                        reason=reason,
                        source=app.id,
                    )
                )
                added += 1
        uow.session.flush()
        audit.record(
            uow.session, "application.reported_fraud", app.id, {"reason": reason, "blacklisted": added}
        )
        return {
            "object": "fraud_report",
            "id": app.id,
            "created": uow.now(),
            "livemode": app.livemode,
            "application": app.id,
            "tenant": app.tenant_id,
            "component": root.key if root else None,
            "component_known_fraud": root.fraud if root else None,
            "blacklisted": added,
        }


def add_blacklist_entry(
    uow: UnitOfWork,
    rt: RiskRuntime,
    tenant_id: str,
    livemode: bool,
    kind: str,
    value: str,
    reason: str | None,
) -> dict[str, Any]:
    """Blacklist a value: blind indexes (id/phone/card) as given, others by keyed hash."""
    from lendbridge.tenancy.services import get_tenant

    get_tenant(uow, tenant_id)
    if kind in ("id", "phone", "card"):
        key = f"{kind}:{value}"
    else:
        keyer = pipeline.Keyer(rt.secret, f"{tenant_id}:{'live' if livemode else 'test'}")
        key = keyer("phone" if kind == "contact" else kind, value)
    with acting_for(uow, tenant_id, livemode):
        row = uow.session.execute(
            select(BlacklistEntry).where(BlacklistEntry.key == key)
        ).scalar_one_or_none()
        if row is None:
            row = BlacklistEntry(
                id=new_id("bl"), created=uow.now(), kind=kind, key=key, reason=reason, source="admin"
            )
            uow.session.add(row)
            uow.session.flush()
            audit.record(uow.session, "risk_blacklist.added", row.id, {"kind": kind})
        return {
            "object": "blacklist_entry",
            "id": row.id,
            "created": row.created,
            "livemode": livemode,
            "tenant": tenant_id,
            "kind": row.kind,
            "key": row.key,
            "reason": row.reason,
        }


def settle_review_in_test_mode(
    uow: UnitOfWork, rt: RiskRuntime, application_id: str, outcome: str, note: str | None
) -> dict[str, Any]:
    """Sandbox: decide the review of one of the caller's test-mode applications at once (no
    claim, no four-eyes), as the simulated review team would."""
    if uow.ctx.livemode:
        raise PermissionDenied("Reviews are settled by platform staff in live mode", code="test_mode_only")
    if outcome not in ("approved", "declined"):
        raise InvalidParameter("decision must be approve or decline", param="decision")
    app = uow.get(Application, application_id)
    review = uow.session.execute(
        select(Review).where(Review.application_id == app.id).with_for_update()
    ).scalar_one_or_none()
    if review is None or review.status in ("approved", "declined"):
        raise Conflict("This application has no open review", code="review_not_open")
    _finish_review(uow, rt, review, outcome, "sandbox", note)
    return review_body(uow, review)

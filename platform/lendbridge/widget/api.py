"""HTTP for the widget.

- `/v1/widget_sessions`, `/v1/widget_settings`: the partner's server, secret key.
- `/widget/v1/...`: the widget in the borrower's browser, authenticated only by the
  partner's publishable key (scope `widget:session`) plus the session's client secret in
  `LendBridge-Widget-Session`. These, and only these, answer cross-origin requests.
- `/widget/v1/lendbridge-checkout.js`: the web component itself, cacheable and public.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import flask
from flask import Flask, Response, current_app, g, request
from flask.views import MethodView
from flask_limiter import Limiter
from flask_smorest import Blueprint
from sqlalchemy import select

from lendbridge.core.errors import NotFound, ServiceUnavailable
from lendbridge.http.lifecycle import current_principal, get_uow, requires
from lendbridge.http.schemas import ListArgsSchema, list_body, list_of, page_request
from lendbridge.widget import services
from lendbridge.widget.models import WidgetSession
from lendbridge.widget.ports import Lending
from lendbridge.widget.schemas import (
    WidgetAcceptSchema,
    WidgetAgreementSchema,
    WidgetApplicantSchema,
    WidgetApplySchema,
    WidgetDecisionSchema,
    WidgetIdentityCheckSchema,
    WidgetLoanViewSchema,
    WidgetOfferPreviewSchema,
    WidgetOtpSchema,
    WidgetOtpVerificationSchema,
    WidgetResultSchema,
    WidgetSendCodeSchema,
    WidgetSessionCreateSchema,
    WidgetSessionSchema,
    WidgetSettingsSchema,
    WidgetSettingsUpdateSchema,
    WidgetSignSchema,
    WidgetSmsLogEntrySchema,
    WidgetVerifyCodeSchema,
    WidgetViewSchema,
)
from lendbridge.widget.sms import SmsGateway, SmsTestGateway

F = TypeVar("F", bound=Callable[..., Any])
SESSION_HEADER = "LendBridge-Widget-Session"
EXTENSION = "lendbridge.widget"
WIDGET_FILE = "lendbridge-checkout.js"
# platform/lendbridge/widget/api.py -> the repository's widgets/ folder.
DEFAULT_WIDGET_DIR = Path(__file__).resolve().parents[3] / "widgets"


@dataclass
class WidgetDeps:
    """What the widget endpoints talk to; tests swap in fakes."""

    lending: Lending
    test_sms: SmsTestGateway
    live_sms: SmsGateway | None = None
    widget_dir: Path = DEFAULT_WIDGET_DIR
    _asset: tuple[float, bytes, bytes, str] | None = field(default=None, repr=False)
    _asset_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def sms_for(self, livemode: bool) -> SmsGateway:
        if not livemode:
            return self.test_sms
        if self.live_sms is None:
            raise ServiceUnavailable(
                "No SMS provider is configured for live mode", code="sms_provider_not_configured"
            )
        return self.live_sms


def deps() -> WidgetDeps:
    return cast(WidgetDeps, current_app.extensions[EXTENSION])


# -- partner side ---------------------------------------------------------------------------
blp = Blueprint("widget_sessions", __name__, url_prefix="/v1", description="Widget sessions")


@blp.route("/widget_sessions")
class WidgetSessions(MethodView):
    @requires("widget_sessions:write")
    @blp.arguments(WidgetSessionCreateSchema)
    @blp.response(201, WidgetSessionSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Create a widget session; hand its client_secret (shown only here) to your page

        Sessions are short-lived (30 minutes unless `expires_in` says otherwise), bound to
        your account and mode, and take one application."""
        uow = get_uow()
        session, secret = services.create_session(uow, args, deps().lending)
        return services.session_body(session, uow.now(), secret)

    @requires("widget_sessions:write")
    @blp.arguments(ListArgsSchema, location="query")
    @blp.response(200, list_of(WidgetSessionSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List widget sessions, newest first"""
        uow = get_uow()
        page = uow.page(select(WidgetSession), WidgetSession, page_request(args))
        now = uow.now()
        return list_body(
            page.__class__([services.session_body(s, now) for s in page.data], page.has_more),
            "/v1/widget_sessions",
        )


@blp.route("/widget_sessions/<session_id>")
class WidgetSessionItem(MethodView):
    @requires("widget_sessions:write")
    @blp.response(200, WidgetSessionSchema)
    def get(self, session_id: str) -> dict[str, Any]:
        """Retrieve a widget session: its status, outcome, application and loan"""
        uow = get_uow()
        return services.session_body(services.get_session(uow, session_id), uow.now())


@blp.route("/widget_sessions/<session_id>/sms_messages")
class WidgetSessionSms(MethodView):
    @requires("widget_sessions:write")
    @blp.response(200, list_of(WidgetSmsLogEntrySchema))
    def get(self, session_id: str) -> dict[str, Any]:
        """Test mode: the SMS simulator's delivery log for this session (codes included)"""
        logged = services.sms_log(get_uow(), session_id, deps().test_sms)
        return {
            "object": "list",
            "data": logged,
            "has_more": False,
            "url": f"/v1/widget_sessions/{session_id}/sms_messages",
        }


@blp.route("/widget_settings")
class WidgetSettings(MethodView):
    @requires("widget_sessions:write")
    @blp.response(200, WidgetSettingsSchema)
    def get(self) -> dict[str, Any]:
        """The origins allowed to run the widget in live mode (test mode allows any)"""
        principal = current_principal()
        origins = services.allowed_origins(get_uow(), principal.tenant_id)
        return {"livemode": principal.livemode, "allowed_origins": origins}

    @requires("widget_sessions:write")
    @blp.arguments(WidgetSettingsUpdateSchema)
    @blp.response(200, WidgetSettingsSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Replace the origins allowed to run the widget in live mode"""
        principal = current_principal()
        origins = services.set_allowed_origins(get_uow(), principal.tenant_id, args["allowed_origins"])
        return {"livemode": principal.livemode, "allowed_origins": origins}


# -- widget side ----------------------------------------------------------------------------
widget_blp = Blueprint(
    "widget",
    __name__,
    url_prefix="/widget/v1",
    description="Called by the widget in the borrower's browser (publishable key + session secret)",
)
CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key, LendBridge-Widget-Session"


def widget_session(view: F) -> F:
    """Resolve the session named by the client secret header (after `requires`)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.widget_access = services.open_session(
            get_uow(),
            request.headers.get(SESSION_HEADER),
            origin=request.headers.get("Origin"),
            for_update=request.method == "POST",
        )
        return view(*args, **kwargs)

    return cast(F, wrapper)


def access() -> services.WidgetAccess:
    return cast(services.WidgetAccess, g.widget_access)


def _client() -> dict[str, str | None]:
    return {"ip": request.remote_addr, "user_agent": request.headers.get("User-Agent", "")[:300] or None}


@widget_blp.after_request
def _cors(response: Response) -> Response:
    """The widget runs on the partner's origin. In test mode any origin may call; in live
    mode `open_session` refuses origins outside the partner's list before any data is read,
    so echoing the origin only lets the widget read that refusal."""
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.vary.add("Origin")
        response.headers["Access-Control-Expose-Headers"] = "X-Request-Id, Retry-After"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, POST"
            response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
    response.headers["Cache-Control"] = "no-store"
    return response


@widget_blp.route("/session")
class WidgetSessionView(MethodView):
    @requires("widget:session")
    @widget_session
    @widget_blp.response(200, WidgetViewSchema)
    def get(self) -> dict[str, Any]:
        """The session as the widget starts it: amount, scenario, borrower hint, current step"""
        return services.widget_view(get_uow(), access())


@widget_blp.route("/offer_preview")
class OfferPreview(MethodView):
    @requires("widget:session")
    @widget_session
    @widget_blp.response(200, WidgetOfferPreviewSchema)
    def get(self) -> dict[str, Any]:
        """Indicative quote for the session amount: instalment, APR, total cost, lender"""
        return services.offer_preview(get_uow(), access(), deps().lending)


@widget_blp.route("/otp")
class SendCode(MethodView):
    @requires("widget:session")
    @widget_session
    @widget_blp.arguments(WidgetSendCodeSchema)
    @widget_blp.response(200, WidgetOtpSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Text a one-time code to the borrower's phone"""
        uow = get_uow()
        return services.send_code(uow, access(), args["phone"], deps().sms_for(uow.ctx.livemode))


@widget_blp.route("/otp/verify")
class VerifyCode(MethodView):
    @requires("widget:session")
    @widget_session
    @widget_blp.arguments(WidgetVerifyCodeSchema)
    @widget_blp.response(200, WidgetOtpVerificationSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Check the one-time code; a wrong code answers verified=false with attempts left"""
        return services.verify_code(get_uow(), access(), args["code"])


@widget_blp.route("/applicant")
class Applicant(MethodView):
    @requires("widget:session")
    @widget_session
    @widget_blp.arguments(WidgetApplicantSchema)
    @widget_blp.response(200, WidgetIdentityCheckSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """The borrower's details and consents (after the phone is verified); says whether
        the identity check is still needed"""
        return services.register(get_uow(), access(), args, ip=request.remote_addr, lending=deps().lending)


@widget_blp.route("/identity_check")
class IdentityCheckView(MethodView):
    @requires("widget:session")
    @widget_session
    @widget_blp.response(200, WidgetIdentityCheckSchema)
    def post(self) -> dict[str, Any]:
        """Start the liveness / face-match check (test mode: the liveness simulator)"""
        return services.start_identity_check(get_uow(), access(), deps().lending)

    @requires("widget:session")
    @widget_session
    @widget_blp.response(200, WidgetIdentityCheckSchema)
    def get(self) -> dict[str, Any]:
        """The identity check's status and the borrower's KYC status"""
        return services.identity_check(get_uow(), access(), deps().lending)


@widget_blp.route("/applications")
class Apply(MethodView):
    @requires("widget:session")
    @widget_session
    @widget_blp.arguments(WidgetApplySchema)
    @widget_blp.response(200, WidgetDecisionSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Apply: creates and decides the application (device and IP go to anti-fraud);
        returns the decision and offers"""
        return services.apply(get_uow(), access(), args, lending=deps().lending, **_client())


@widget_blp.route("/accept")
class Accept(MethodView):
    @requires("widget:session")
    @widget_session
    @widget_blp.arguments(WidgetAcceptSchema)
    @widget_blp.response(200, WidgetAgreementSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Accept an offer; returns the loan agreement to show (text and hash)"""
        return services.accept(get_uow(), access(), args["offer_id"], deps().lending)


@widget_blp.route("/agreement")
class AgreementView(MethodView):
    @requires("widget:session")
    @widget_session
    @widget_blp.response(200, WidgetAgreementSchema)
    def get(self) -> dict[str, Any]:
        """The agreement of the accepted offer's loan, in Chinese and English, with its hash"""
        return services.agreement(get_uow(), access(), deps().lending)


@widget_blp.route("/sign")
class Sign(MethodView):
    @requires("widget:session")
    @widget_session
    @widget_blp.arguments(WidgetSignSchema)
    @widget_blp.response(200, WidgetResultSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Sign the agreement shown (its hash); starts the disbursement"""
        return services.sign(
            get_uow(), access(), args["agreement_hash"], args["agree"], lending=deps().lending, **_client()
        )


@widget_blp.route("/result")
class Result(MethodView):
    @requires("widget:session")
    @widget_session
    @widget_blp.response(200, WidgetResultSchema)
    def get(self) -> dict[str, Any]:
        """The outcome so far: decision, loan and disbursement status"""
        return services.result(get_uow(), access(), deps().lending)


@widget_blp.route("/loan")
class LoanView(MethodView):
    @requires("widget:session")
    @widget_session
    @widget_blp.response(200, WidgetLoanViewSchema)
    def get(self) -> dict[str, Any]:
        """Repayment view: schedule, next instalment due, outstanding balance"""
        return services.repayment_view(get_uow(), access(), deps().lending)


@widget_blp.route("/pay")
class PayNow(MethodView):
    @requires("widget:session")
    @widget_session
    @widget_blp.response(200, WidgetLoanViewSchema)
    def post(self) -> dict[str, Any]:
        """Pay what is due by today from the card on file (the loan's debit mandate)"""
        return services.pay_now(get_uow(), access(), deps().lending)


# -- the web component's file -----------------------------------------------------------------
assets = flask.Blueprint("widget_assets", __name__)


def _load_asset(d: WidgetDeps) -> tuple[bytes, bytes, str]:
    """The file, its gzip and its ETag, re-read when the file changes (no restart to ship)."""
    path = d.widget_dir / WIDGET_FILE
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise NotFound("The widget file is not installed on this server") from None
    with d._asset_lock:
        if d._asset is None or d._asset[0] != mtime:
            body = path.read_bytes()
            d._asset = (mtime, body, gzip.compress(body, 9, mtime=0), hashlib.sha256(body).hexdigest()[:32])
        _, body, zipped, etag = d._asset
    return body, zipped, etag


@assets.get(f"/widget/v1/{WIDGET_FILE}")
def checkout_js() -> Response:
    body, zipped, etag = _load_asset(deps())
    headers = {
        "Cache-Control": "public, max-age=300, stale-while-revalidate=86400",
        "ETag": f'"{etag}"',
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        # A script, not data: any page may load it, also with crossorigin + integrity (SRI).
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Access-Control-Allow-Origin": "*",
    }
    if request.if_none_match.contains(etag):
        return Response(status=304, headers=headers)
    gzip_ok = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(
        zipped if gzip_ok else body, content_type="text/javascript; charset=utf-8", headers=headers
    )
    if gzip_ok:
        response.headers["Content-Encoding"] = "gzip"
    return response


def register(app: Flask, api: Any, limiter: Limiter) -> None:
    """Blueprints, the widget's dependencies, and no rate limit on the static file."""
    from lendbridge.widget.lending import ServicesLending
    from lendbridge_sandbox.sms import default_simulator

    app.extensions[EXTENSION] = WidgetDeps(lending=ServicesLending(), test_sms=default_simulator())
    api.register_blueprint(blp)
    api.register_blueprint(widget_blp)
    app.register_blueprint(assets)
    limiter.exempt(assets)

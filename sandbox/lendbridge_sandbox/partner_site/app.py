"""EduLink: a demo education partner built on LendBridge the way a partner would build it.

- The course page offers "pay in 12 instalments". Enrolling creates the enrolment and, on
  EduLink's server, a widget session through `lendbridge_sdk` with the secret key; the page
  gets only the publishable key and the session's client secret.
- The widget runs on the enrolment page under a strict Content-Security-Policy.
- `POST /webhooks/lendbridge` verifies each delivery with `lendbridge_sdk.webhooks` on the
  raw body and marks the enrolment paid when `loan.disbursed` arrives for its loan.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Blueprint, Flask, Response, abort, current_app, jsonify, redirect, render_template, request
from jinja2 import DictLoader
from werkzeug.wrappers import Response as WerkzeugResponse

import lendbridge_sdk
from lendbridge_sandbox.partner_site.courses import COURSES, SCHOOL, Course, yuan
from lendbridge_sandbox.partner_site.pages import SITE_CSS, SITE_JS, TEMPLATES, TEXTS
from lendbridge_sandbox.partner_site.store import Enrolment, EnrolmentStore
from lendbridge_sdk import webhooks

log = logging.getLogger("edulink")

WEBHOOK_PATH = "/webhooks/lendbridge"
WEBHOOK_EVENTS = ["widget_session.completed", "loan.disbursed"]
OUTCOME_STATUS = {"approved": "approved", "review": "review", "declined": "declined", "signed": "signed"}
ASSET_TTL = 60.0


@dataclass
class Site:
    api_base: str
    publishable_key: str
    client: lendbridge_sdk.Client
    store: EnrolmentStore = field(default_factory=EnrolmentStore)
    webhook_secret: str | None = None
    _asset: tuple[float, bytes] | None = None
    _asset_lock: threading.Lock = field(default_factory=threading.Lock)


def site() -> Site:
    value: Site = current_app.extensions["edulink"]
    return value


def _lang() -> str:
    return "en" if request.args.get("lang", "").lower().startswith("en") else "zh-CN"


def _page(template: str, title: str, **context: Any) -> str:
    lang = context.pop("lang", _lang())
    return render_template(
        template,
        t=TEXTS[lang],
        lang=lang,
        title=title,
        school=SCHOOL[lang],
        yuan=yuan,
        enrolment=context.pop("enrolment", None),
        **context,
    )


bp = Blueprint("edulink", __name__)


@bp.get("/")
def index() -> str:
    lang = _lang()
    return _page("index.html", TEXTS[lang]["site"], courses=list(COURSES.values()), lang=lang)


def _course(course_id: str) -> Course:
    course = COURSES.get(course_id)
    if course is None:
        abort(404)
    return course


@bp.get("/courses/<course_id>")
def course_page(course_id: str) -> str:
    course = _course(course_id)
    lang = _lang()
    return _page("course.html", course.name(lang), course=course, lang=lang)


@bp.post("/courses/<course_id>/enrol")
def enrol(course_id: str) -> WerkzeugResponse:
    """Create the enrolment and its widget session (server side, secret key)."""
    course = _course(course_id)
    lang = _lang()
    s = site()
    enrolment = Enrolment(
        id="enr_" + secrets.token_hex(6),
        course=course,
        student_name=request.form.get("name", "").strip()[:100],
        lang=lang,
    )
    s.store.add(enrolment)
    hint = {
        k: v
        for k, v in (("name", enrolment.student_name), ("phone", request.form.get("phone", "").strip()))
        if v
    }
    params: dict[str, Any] = {
        "amount": course.tuition,
        "currency": "CNY",
        "scenario": {
            "type": "education",
            "course_id": course.id,
            "course_name": course.name(lang),
            "merchant_id": SCHOOL["id"],
            "tuition": course.tuition,
            "disburse_to_merchant": True,
        },
        "locale": lang,
        "return_url": request.host_url.rstrip("/") + f"/enrolments/{enrolment.id}?lang={lang}",
        "client_reference_id": enrolment.id,
        "metadata": {"enrolment_id": enrolment.id, "course_id": course.id},
    }
    if hint:
        params["borrower_hint"] = hint
    try:
        session = s.client.widget_sessions.create(**params, idempotency_key=f"edulink-enrol-{enrolment.id}")
        secret = session.get("client_secret")
        if not secret:
            # A retried create replays without the secret (it is shown once): make a new session.
            session = s.client.widget_sessions.create(
                **params, idempotency_key=f"edulink-enrol-{enrolment.id}-2"
            )
            secret = session.get("client_secret")
    except lendbridge_sdk.InvalidRequestError as exc:
        log.warning("widget session refused: %s (%s)", exc.code, exc.param)
        abort(400)
    s.store.update(enrolment.id, session_id=session.id, client_secret=secret)
    return redirect(f"/enrolments/{enrolment.id}?lang={lang}", code=303)


def _enrolment(enrolment_id: str) -> Enrolment:
    enrolment = site().store.get(enrolment_id)
    if enrolment is None:
        abort(404)
    return enrolment


@bp.get("/enrolments/<enrolment_id>")
def enrolment_page(enrolment_id: str) -> str:
    enrolment = _enrolment(enrolment_id)
    lang = request.args.get("lang") and _lang() or enrolment.lang
    return _page(
        "enrolment.html",
        TEXTS[lang]["enrolment"],
        enrolment=enrolment,
        lang=lang,
        publishable_key=site().publishable_key,
        api_base=site().api_base,
    )


@bp.get("/enrolments/<enrolment_id>/repayments")
def repayments_page(enrolment_id: str) -> str:
    """The student's repayment view: a fresh repay-mode widget session for the enrolment's
    loan, made server side (the browser never names a loan)."""
    enrolment = _enrolment(enrolment_id)
    if enrolment.loan_id is None:
        enrolment = sync_from_lendbridge(enrolment)
    if enrolment.loan_id is None:
        abort(404)
    lang = request.args.get("lang") and _lang() or enrolment.lang
    session = site().client.widget_sessions.create(mode="repay", loan_id=enrolment.loan_id, locale=lang)
    return _page(
        "repayments.html",
        TEXTS[lang]["repayments"],
        enrolment=enrolment,
        lang=lang,
        client_secret=session.get("client_secret"),
        publishable_key=site().publishable_key,
        api_base=site().api_base,
    )


def sync_from_lendbridge(enrolment: Enrolment) -> Enrolment:
    """Re-read the widget session from LendBridge: the outcome and the loan id come from
    there, never from the browser. Being paid only ever comes from the webhook."""
    s = site()
    if enrolment.session_id is None:
        return enrolment
    session = s.client.widget_sessions.retrieve(enrolment.session_id)
    status = OUTCOME_STATUS.get(session.get("outcome") or "")
    return s.store.update(enrolment.id, status=status, loan_id=session.get("loan_id")) or enrolment


@bp.get("/enrolments/<enrolment_id>/status")
def enrolment_status(enrolment_id: str) -> Response:
    enrolment = _enrolment(enrolment_id)
    if enrolment.status not in ("paid", "declined"):
        enrolment = sync_from_lendbridge(enrolment)
    lang = _lang() if request.args.get("lang") else enrolment.lang
    return jsonify(
        {
            "id": enrolment.id,
            "status": enrolment.status,
            "status_text": TEXTS[lang]["statuses"][enrolment.status],
            "loan_id": enrolment.loan_id,
            "paid_at": int(enrolment.paid_at.timestamp()) if enrolment.paid_at else None,
            "history": list(enrolment.history),
        }
    )


@bp.post(WEBHOOK_PATH)
def webhook() -> tuple[Response, int]:
    """LendBridge deliveries: verify the signature on the raw bytes, then act once per event."""
    s = site()
    if not s.webhook_secret:
        return jsonify({"error": "no webhook secret configured"}), 503
    try:
        event = webhooks.construct_event(request.get_data(), request.headers, s.webhook_secret)
    except (webhooks.WebhookVerificationError, ValueError):
        return jsonify({"error": "invalid signature or payload"}), 400
    if not s.store.first_time(event.id):
        return jsonify({"received": True, "duplicate": True}), 200
    handle_event(event.type, event.data.get("object") or {})
    return jsonify({"received": True}), 200


def handle_event(event_type: str, obj: dict[str, Any]) -> None:
    store = site().store
    if event_type == "widget_session.completed":
        enrolment_id = obj.get("client_reference_id")
        if enrolment_id:
            store.update(
                enrolment_id, status=OUTCOME_STATUS.get(obj.get("outcome") or ""), loan_id=obj.get("loan_id")
            )
    elif event_type == "loan.disbursed":
        loan_id = obj.get("id")
        enrolment = store.by_loan(loan_id) if loan_id else None
        if enrolment is None and loan_id:
            enrolment = _find_by_loan(loan_id)
        if enrolment is not None:
            store.update(enrolment.id, status="paid", loan_id=loan_id)
            log.info("enrolment %s paid by loan %s", enrolment.id, loan_id)


def _find_by_loan(loan_id: str) -> Enrolment | None:
    """The disbursement can arrive before anything told us the loan id: ask LendBridge
    which of our open sessions created this loan."""
    for enrolment in site().store.all():
        if enrolment.status in ("pending", "approved", "signed") and enrolment.session_id:
            synced = sync_from_lendbridge(enrolment)
            if synced.loan_id == loan_id:
                return synced
    return None


@bp.get("/assets/lendbridge-checkout.js")
def widget_script() -> Response:
    """The widget, served from EduLink's own origin so that `script-src 'self'` holds; it is
    fetched from LendBridge's `/widget/v1/lendbridge-checkout.js` and cached briefly."""
    s = site()
    with s._asset_lock:
        if s._asset is None or time.monotonic() - s._asset[0] > ASSET_TTL:
            try:
                fetched = requests.get(f"{s.api_base}/widget/v1/lendbridge-checkout.js", timeout=5)
                fetched.raise_for_status()
            except requests.RequestException:
                if s._asset is None:
                    abort(502)
            else:
                s._asset = (time.monotonic(), fetched.content)
        assert s._asset is not None
        body = s._asset[1]
    return Response(
        body, mimetype="text/javascript", headers={"Cache-Control": f"public, max-age={int(ASSET_TTL)}"}
    )


FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" '
    'fill="#0f3d91"/><path d="M9 8h14v4H14v3h8v4h-8v3h9v4H9z" fill="#fff"/></svg>'
)


@bp.get("/favicon.ico")
def favicon() -> Response:
    return Response(FAVICON, mimetype="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/static/site.css")
def site_css() -> Response:
    return Response(SITE_CSS, mimetype="text/css", headers={"Cache-Control": "public, max-age=300"})


@bp.get("/static/site.js")
def site_js() -> Response:
    return Response(SITE_JS, mimetype="text/javascript", headers={"Cache-Control": "public, max-age=300"})


def content_security_policy(api_base: str) -> str:
    """No inline script or style anywhere; scripts only from this origin; the browser may
    call only this origin and the LendBridge API."""
    parts = urlsplit(api_base)
    api_origin = f"{parts.scheme}://{parts.netloc}"
    return (
        "default-src 'self'; script-src 'self'; "
        f"connect-src 'self' {api_origin}; style-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def create_partner_app(
    api_base: str, secret_key: str, publishable_key: str, webhook_secret: str | None = None
) -> Flask:
    """The EduLink WSGI app. With no webhook secret, call `register_webhook` once the app's
    public URL is known (the command line does)."""
    if not publishable_key.startswith("pk_"):
        raise ValueError("publishable_key must be a publishable key (pk_test_… or pk_live_…)")
    app = Flask("lendbridge_sandbox.partner_site")
    app.jinja_loader = DictLoader(TEMPLATES)
    base = api_base.rstrip("/")
    app.extensions["edulink"] = Site(
        api_base=base,
        publishable_key=publishable_key,
        client=lendbridge_sdk.Client(secret_key, base_url=base, timeout=15),
        webhook_secret=webhook_secret,
    )
    app.register_blueprint(bp)
    csp = content_security_policy(base)

    @app.after_request
    def _headers(response: Response) -> Response:
        if response.mimetype == "text/html":
            response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    return app


def register_webhook(app: Flask, public_url: str) -> str:
    """Register EduLink's receiver with LendBridge and keep the signing secret it returns."""
    s: Site = app.extensions["edulink"]
    endpoint = s.client.webhook_endpoints.create(
        url=public_url.rstrip("/") + WEBHOOK_PATH, enabled_events=WEBHOOK_EVENTS
    )
    if not endpoint.secret:
        raise RuntimeError("LendBridge did not return a signing secret for the new endpoint")
    s.webhook_secret = endpoint.secret
    return endpoint.id

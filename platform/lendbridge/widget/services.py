"""Widget use cases: sessions for partners, and each step the borrower takes in the widget.

The widget-facing steps are thin: they check the session (secret, expiry, the step the
borrower is at), validate what the borrower typed with the same rules as the rest of the
platform, and hand over to the lending areas through the `Lending` port.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from lendbridge.audit import service as audit
from lendbridge.core.clock import to_unix
from lendbridge.core.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidParameter,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
)
from lendbridge.core.ids import new_id
from lendbridge.events.outbox import emit
from lendbridge.identity.kyc import CONSENT_TEXTS
from lendbridge.identity.masking import mask_phone
from lendbridge.identity.validators import validate_bank_card, validate_cn_id, validate_cn_mobile
from lendbridge.tenancy.models import Tenant
from lendbridge.uow import UnitOfWork
from lendbridge.widget import domain
from lendbridge.widget.domain import SessionMode, SessionStatus, Stage
from lendbridge.widget.models import WidgetSession
from lendbridge.widget.ports import (
    Agreement,
    Applicant,
    ApplicantRequest,
    ApplicationRequest,
    ApplicationResult,
    IdentityCheck,
    Lending,
    Signer,
)
from lendbridge.widget.schemas import WidgetSessionSchema
from lendbridge.widget.sms import (
    SmsGateway,
    SmsMessage,
    SmsRejected,
    SmsTestGateway,
    SmsUnavailable,
    code_text,
)

OTP_POLICY = domain.OtpPolicy()
SETTINGS_KEY = "widget_allowed_origins"
REQUIRED_CONSENTS = ("credit_bureau_query", "data_processing")
OPTIONAL_CONSENTS = ("alt_data",)
_SESSION_SCHEMA = WidgetSessionSchema()


# -- partner side ---------------------------------------------------------------------------
def create_session(uow: UnitOfWork, args: Mapping[str, Any], lending: Lending) -> tuple[WidgetSession, str]:
    """A new open session and its client secret (returned once, stored hashed)."""
    now = uow.now()
    session_id = new_id("ws")
    secret = domain.new_client_secret(session_id)
    mode = SessionMode(args["mode"])
    hint = dict(args.get("borrower_hint") or {})
    if "phone" in hint:
        hint["phone"] = validate_cn_mobile(hint["phone"], param="borrower_hint.phone").number
    if "name" in hint:
        hint["name"] = hint["name"].strip()
    scenario = dict(args.get("scenario") or {})
    if mode is SessionMode.APPLY and scenario.get("disburse_to_merchant"):
        _require_merchant(uow, str(scenario["merchant_id"]))
    loan_id = args.get("loan_id") if mode is SessionMode.REPAY else None
    if loan_id is not None:
        try:
            lending.loan_status(uow, loan_id)
        except NotFound:
            raise InvalidParameter(f"No such loan: '{loan_id}'", param="loan_id") from None
    session = WidgetSession(
        id=session_id,
        secret_hash=domain.hash_secret(secret),
        mode=mode.value,
        status=SessionStatus.OPEN.value,
        amount=args.get("amount") if mode is SessionMode.APPLY else None,
        currency=args["currency"],
        scenario=scenario,
        hint_sealed=domain.seal(secret, session_id, hint) if hint else None,
        locale=args.get("locale"),
        return_url=args.get("return_url"),
        client_reference_id=args.get("client_reference_id"),
        meta=dict(args.get("metadata") or {}),
        created=now,
        expires_at=domain.expiry(now, args.get("expires_in")),
        loan_id=loan_id,
        otp_sends=0,
        otp_attempts=0,
    )
    uow.session.add(session)
    uow.session.flush()
    audit.record(
        uow.session, "widget_session.created", session.id, {"mode": mode.value, "amount": session.amount}
    )
    return session, secret


def _require_merchant(uow: UnitOfWork, merchant_id: str) -> None:
    """Enrol = disburse pays a merchant registered for the partner: say so now, not after
    the borrower has applied and signed."""
    tenant = uow.session.get(Tenant, uow.ctx.tenant_id) if uow.ctx.tenant_id else None
    merchants = (tenant.settings or {}).get("merchants") or [] if tenant is not None else []
    if not any(isinstance(m, Mapping) and m.get("id") == merchant_id for m in merchants):
        raise InvalidParameter(
            "scenario.merchant_id is not a merchant registered for your account",
            param="scenario.merchant_id",
            code="merchant_unknown",
        )


def get_session(uow: UnitOfWork, session_id: str) -> WidgetSession:
    return uow.get(WidgetSession, session_id)


def session_body(session: WidgetSession, now: datetime, client_secret: str | None = None) -> dict[str, Any]:
    """The session as the partner API returns it (the secret only at creation)."""
    return {
        "object": "widget_session",
        "id": session.id,
        "created": session.created,
        "livemode": session.livemode,
        "client_secret": client_secret,
        "mode": session.mode,
        "status": domain.effective_status(session.status, session.expires_at, now).value,
        "amount": session.amount,
        "currency": session.currency,
        "scenario": session.scenario or None,
        "locale": session.locale,
        "return_url": session.return_url,
        "client_reference_id": session.client_reference_id,
        "metadata": session.meta or {},
        "expires_at": session.expires_at,
        "completed_at": session.completed_at,
        "outcome": session.outcome,
        "borrower_id": session.borrower_id,
        "application_id": session.application_id,
        "loan_id": session.loan_id,
    }


def _require_test_mode(uow: UnitOfWork) -> None:
    if uow.ctx.livemode:
        raise PermissionDenied("The SMS delivery log exists only in test mode", code="test_mode_only")


def sms_log(uow: UnitOfWork, session_id: str, simulator: SmsTestGateway) -> list[dict[str, Any]]:
    """Test mode: what the SMS simulator delivered for this session, newest first."""
    _require_test_mode(uow)
    session = uow.get(WidgetSession, session_id)
    return [
        {
            "id": m.id,
            "to": m.to,
            "text": m.text,
            "status": m.status,
            "failure_reason": m.failure_reason,
            "created": m.created,
            "latency_ms": m.latency_ms,
        }
        for m in simulator.messages(reference=session.id, tenant_id=session.tenant_id)
    ]


def allowed_origins(uow: UnitOfWork, tenant_id: str) -> list[str]:
    tenant = uow.session.get(Tenant, tenant_id)
    value = (tenant.settings or {}).get(SETTINGS_KEY, []) if tenant is not None else []
    return [str(v) for v in value]


def set_allowed_origins(uow: UnitOfWork, tenant_id: str, origins: Iterable[str]) -> list[str]:
    """Replace the origins allowed to run the widget in live mode."""
    cleaned: list[str] = []
    for n, value in enumerate(origins):
        try:
            origin = domain.normalise_origin(value)
        except ValueError as exc:
            raise InvalidParameter(str(exc), param=f"allowed_origins.{n}") from None
        if origin not in cleaned:
            cleaned.append(origin)
    tenant = uow.session.get(Tenant, tenant_id, with_for_update=True)
    if tenant is None:
        raise NotFound("No such tenant", param="id")
    tenant.settings = {**(tenant.settings or {}), SETTINGS_KEY: cleaned}
    audit.record(uow.session, "widget_settings.updated", tenant_id, {"allowed_origins": cleaned})
    return cleaned


# -- widget side: the session behind a request -----------------------------------------------
@dataclass(frozen=True)
class WidgetAccess:
    """A widget request's session, authenticated by its client secret."""

    session: WidgetSession
    secret: str

    @property
    def stage(self) -> Stage:
        s = self.session
        return domain.stage_of(
            phone_verified=s.phone_verified_digest is not None,
            identified=s.borrower_id is not None,
            outcome=s.outcome,
            loan_id=s.loan_id if s.mode == SessionMode.APPLY.value else None,
            signed=s.signed_at is not None,
        )


def open_session(
    uow: UnitOfWork, client_secret: str | None, *, origin: str | None, for_update: bool
) -> WidgetAccess:
    """The session a widget request names, checked against the caller's partner and mode
    (the unit of work is scoped to them), its secret, expiry and, in live mode, the origin."""
    if not client_secret:
        raise AuthenticationFailed(
            "Send the widget session's client secret in the LendBridge-Widget-Session header",
            code="widget_session_required",
        )
    session_id = domain.session_id_of(client_secret)
    stmt = select(WidgetSession).where(WidgetSession.id == session_id)
    if for_update:
        stmt = stmt.with_for_update()
    session = uow.session.execute(stmt).scalar_one_or_none() if session_id else None
    if session is None or not domain.secret_matches(client_secret, session.secret_hash):
        raise AuthenticationFailed(
            "The widget session is not valid for this publishable key", code="widget_session_invalid"
        )
    if domain.effective_status(session.status, session.expires_at, uow.now()) is SessionStatus.EXPIRED:
        raise AuthenticationFailed(
            "This widget session has expired; reload the page to start again", code="widget_session_expired"
        )
    if uow.ctx.livemode and origin is not None:
        if not domain.origin_allowed(origin, allowed_origins(uow, session.tenant_id), livemode=True):
            raise PermissionDenied(
                "This website is not allowed to run the LendBridge widget; add its origin in the "
                "widget settings",
                code="origin_not_allowed",
            )
    return WidgetAccess(session, client_secret)


def _require_mode(access: WidgetAccess, mode: SessionMode) -> None:
    if access.session.mode != mode.value:
        raise Conflict(f"This step needs a widget session in {mode.value} mode", code="widget_mode_mismatch")


def consent_texts() -> list[dict[str, Any]]:
    """The newest version of each consent the widget asks for, in both languages."""
    newest: dict[str, Any] = {}
    for (kind, version), entry in CONSENT_TEXTS.items():
        if kind in REQUIRED_CONSENTS + OPTIONAL_CONSENTS and version > newest.get(kind, ("", None))[0]:
            newest[kind] = (version, entry)
    return [
        {
            "kind": kind,
            "version": newest[kind][0],
            "required": kind in REQUIRED_CONSENTS,
            "text": dict(newest[kind][1].texts),
        }
        for kind in REQUIRED_CONSENTS + OPTIONAL_CONSENTS
        if kind in newest
    ]


def widget_view(uow: UnitOfWork, access: WidgetAccess) -> dict[str, Any]:
    """What the widget shows first: the amount, the scenario, the borrower hint, the step."""
    s = access.session
    tenant = uow.session.get(Tenant, s.tenant_id)
    hint = domain.unseal(access.secret, s.id, s.hint_sealed) if s.hint_sealed else {}
    return {
        "object": "widget_session",
        "id": s.id,
        "livemode": s.livemode,
        "mode": s.mode,
        "status": domain.effective_status(s.status, s.expires_at, uow.now()).value,
        "stage": access.stage.value,
        "amount": s.amount,
        "currency": s.currency,
        "scenario": s.scenario or None,
        "locale": s.locale,
        "return_url": s.return_url,
        "expires_at": to_unix(s.expires_at),
        "partner_name": tenant.name if tenant is not None else None,
        "borrower_hint": {"name": hint.get("name"), "phone": hint.get("phone")},
        "phone_verified": s.phone_verified_digest is not None,
        "consents": consent_texts(),
        "application_id": s.application_id,
        "loan_id": s.loan_id,
        "outcome": s.outcome,
    }


def offer_preview(uow: UnitOfWork, access: WidgetAccess, lending: Lending) -> dict[str, Any]:
    _require_mode(access, SessionMode.APPLY)
    s = access.session
    assert s.amount is not None
    return lending.offer_preview(uow, amount=s.amount, scenario=s.scenario)


# -- one-time code ----------------------------------------------------------------------------
def send_code(uow: UnitOfWork, access: WidgetAccess, phone_raw: str, sms: SmsGateway) -> dict[str, Any]:
    _require_mode(access, SessionMode.APPLY)
    domain.require_stage(access.stage, "send_code")
    s = access.session
    phone = validate_cn_mobile(phone_raw, param="phone").number
    now = uow.now()
    domain.check_can_send(s.otp_sends, s.otp_sent_at, now, OTP_POLICY)
    code = domain.new_code()
    minutes = int(OTP_POLICY.ttl.total_seconds() // 60)
    message = SmsMessage(
        to=phone,
        text=code_text(code, minutes, s.locale),
        reference=s.id,
        tenant_id=s.tenant_id,
        livemode=s.livemode,
    )
    try:
        sms.send(message)
    except SmsRejected:
        raise InvalidParameter(
            "This number cannot receive text messages", param="phone", code="phone_unreachable"
        ) from None
    except SmsUnavailable:
        raise ServiceUnavailable(
            "Text messages cannot be sent right now; try again in a minute", code="sms_unavailable"
        ) from None
    s.otp_phone_digest = domain.keyed_digest(access.secret, "phone", phone)
    s.otp_code_digest = domain.keyed_digest(access.secret, "otp", code)
    s.otp_expires_at = now + OTP_POLICY.ttl
    s.otp_sent_at = now
    s.otp_sends += 1
    s.otp_attempts = 0
    s.phone_verified_digest = None
    s.phone_verified_at = None
    audit.record(uow.session, "widget_session.otp_sent", s.id, {"sends": s.otp_sends})
    return {
        "object": "otp",
        "phone": mask_phone(phone),
        "expires_at": to_unix(s.otp_expires_at),
        "resend_after": to_unix(now + OTP_POLICY.resend_after),
        "sends_left": OTP_POLICY.max_sends - s.otp_sends,
    }


def verify_code(uow: UnitOfWork, access: WidgetAccess, code: str) -> dict[str, Any]:
    """`verified: true`, or `verified: false` with the attempts left (a wrong code is an
    answer, not an error, so that the failed attempt is recorded)."""
    _require_mode(access, SessionMode.APPLY)
    domain.require_stage(access.stage, "verify_code")
    s = access.session
    code = code.strip()
    ok = domain.check_code(
        submitted=code,
        submitted_digest=domain.keyed_digest(access.secret, "otp", code),
        stored_digest=s.otp_code_digest,
        expires_at=s.otp_expires_at,
        attempts=s.otp_attempts,
        now=uow.now(),
        livemode=s.livemode,
        policy=OTP_POLICY,
    )
    if not ok:
        s.otp_attempts += 1
        audit.record(uow.session, "widget_session.otp_failed", s.id, {"attempts": s.otp_attempts})
        return {
            "object": "otp_verification",
            "verified": False,
            "code": "otp_incorrect",
            "attempts_left": max(0, OTP_POLICY.max_attempts - s.otp_attempts),
        }
    s.phone_verified_digest = s.otp_phone_digest
    s.phone_verified_at = uow.now()
    s.otp_code_digest = None
    audit.record(uow.session, "widget_session.phone_verified", s.id, {})
    return {"object": "otp_verification", "verified": True, "code": None, "attempts_left": None}


# -- application, agreement, signature --------------------------------------------------------
def _complete(uow: UnitOfWork, session: WidgetSession, outcome: str) -> None:
    session.outcome = outcome
    session.status = SessionStatus.COMPLETED.value
    session.completed_at = uow.now()
    audit.record(uow.session, "widget_session.completed", session.id, {"outcome": outcome})
    emit(uow, "widget_session.completed", _SESSION_SCHEMA.dump(session_body(session, uow.now())))


def register(
    uow: UnitOfWork,
    access: WidgetAccess,
    form: Mapping[str, Any],
    *,
    ip: str | None,
    lending: Lending,
) -> dict[str, Any]:
    """The borrower from what they typed (validated like everywhere else) and their consents."""
    _require_mode(access, SessionMode.APPLY)
    domain.require_stage(access.stage, "register")
    s = access.session
    name = form["name"].strip()
    if not name:
        raise InvalidParameter("name must not be empty", param="name", code="name_required")
    id_number = validate_cn_id(form["id_number"], param="id_number").number
    phone = validate_cn_mobile(form["phone"], param="phone").number
    card = form.get("bank_card")
    bank_card = validate_bank_card(card, param="bank_card").number if card else None
    if not domain.digests_equal(domain.keyed_digest(access.secret, "phone", phone), s.phone_verified_digest):
        raise InvalidParameter(
            "Verify this phone number with a one-time code first", param="phone", code="phone_not_verified"
        )
    consents = form["consents"]
    for kind in REQUIRED_CONSENTS:
        if consents.get(kind) is not True:
            raise InvalidParameter(
                "This consent is required to apply", param=f"consents.{kind}", code="consent_required"
            )
    granted = REQUIRED_CONSENTS + tuple(k for k in OPTIONAL_CONSENTS if consents.get(k) is True)
    identified = lending.register_applicant(
        uow,
        ApplicantRequest(
            applicant=Applicant(name=name, id_number=id_number, phone=phone, bank_card=bank_card),
            consents=granted,
            locale=form.get("locale") or s.locale or "zh-CN",
            widget_session_id=s.id,
            device=dict(form.get("device") or {}),
            ip=ip,
        ),
    )
    s.borrower_id = identified.borrower_id
    audit.record(uow.session, "widget_session.borrower_registered", s.id, {"borrower": s.borrower_id})
    return _identity_body(IdentityCheck("none", identified.kyc_status))


def _identity_body(check: IdentityCheck) -> dict[str, Any]:
    return {
        "object": "widget_identity_check",
        "status": check.status,
        "kyc_status": check.kyc_status,
        # A verified borrower (e.g. a returning one) goes straight to the application.
        "required": check.kyc_status != "verified",
    }


def start_identity_check(uow: UnitOfWork, access: WidgetAccess, lending: Lending) -> dict[str, Any]:
    """Start the liveness / face-match check; poll `identity_check` until it leaves processing."""
    _require_mode(access, SessionMode.APPLY)
    domain.require_stage(access.stage, "identity_check")
    assert access.session.borrower_id is not None
    check = lending.start_identity_check(uow, access.session.borrower_id)
    audit.record(uow.session, "widget_session.identity_check_started", access.session.id, {})
    return _identity_body(check)


def identity_check(uow: UnitOfWork, access: WidgetAccess, lending: Lending) -> dict[str, Any]:
    _require_mode(access, SessionMode.APPLY)
    domain.require_stage(access.stage, "identity_check")
    assert access.session.borrower_id is not None
    return _identity_body(lending.identity_check(uow, access.session.borrower_id))


def apply(
    uow: UnitOfWork,
    access: WidgetAccess,
    form: Mapping[str, Any],
    *,
    ip: str | None,
    user_agent: str | None,
    lending: Lending,
) -> dict[str, Any]:
    """Create and decide the application of the registered borrower: the decision and offers."""
    _require_mode(access, SessionMode.APPLY)
    domain.require_stage(access.stage, "apply")
    s = access.session
    assert s.amount is not None and s.borrower_id is not None
    result = lending.submit_application(
        uow,
        ApplicationRequest(
            borrower_id=s.borrower_id,
            amount=s.amount,
            scenario=s.scenario,
            widget_session_id=s.id,
            device=dict(form.get("device") or {}),
            ip=ip,
            user_agent=user_agent,
            metadata=dict(s.meta or {}),
        ),
    )
    s.application_id = result.application_id
    audit.record(uow.session, "widget_session.applied", s.id, {"application": result.application_id})
    if result.status == "approved":
        s.outcome = "approved"
    else:
        _complete(uow, s, result.status)
    return decision_body(result)


def decision_body(result: ApplicationResult) -> dict[str, Any]:
    return {
        "object": "widget_decision",
        "application_id": result.application_id,
        "status": result.status,
        "reason_codes": list(result.reason_codes),
        "offers": [dict(o) for o in result.offers],
    }


def _agreement_body(agreement: Agreement) -> dict[str, Any]:
    return {
        "object": "widget_agreement",
        "loan_id": agreement.loan_id,
        "hash": agreement.hash,
        "version": agreement.version,
        "text": agreement.text,
    }


def signer(session: WidgetSession, ip: str | None = None, user_agent: str | None = None) -> Signer:
    """The signer as the agreement names them: ids, not personal data."""
    return Signer(
        label=f"borrower {session.borrower_id} via LendBridge widget session {session.id}",
        ip=ip,
        user_agent=user_agent,
    )


def accept(uow: UnitOfWork, access: WidgetAccess, offer_id: str, lending: Lending) -> dict[str, Any]:
    """Accept one of the decision's offers: the loan awaiting signature and its agreement."""
    _require_mode(access, SessionMode.APPLY)
    domain.require_stage(access.stage, "accept")
    s = access.session
    assert s.application_id is not None
    s.loan_id = lending.accept_offer(uow, s.application_id, offer_id)
    audit.record(uow.session, "widget_session.offer_accepted", s.id, {"loan": s.loan_id})
    return _agreement_body(lending.agreement(uow, s.loan_id, signer(s)))


def agreement(uow: UnitOfWork, access: WidgetAccess, lending: Lending) -> dict[str, Any]:
    _require_mode(access, SessionMode.APPLY)
    domain.require_stage(access.stage, "agreement")
    assert access.session.loan_id is not None
    return _agreement_body(lending.agreement(uow, access.session.loan_id, signer(access.session)))


def sign(
    uow: UnitOfWork,
    access: WidgetAccess,
    agreement_hash: str,
    agree: bool,
    *,
    ip: str | None,
    user_agent: str | None,
    lending: Lending,
) -> dict[str, Any]:
    """Sign the agreement the borrower was shown (its hash must still be current)."""
    _require_mode(access, SessionMode.APPLY)
    domain.require_stage(access.stage, "sign")
    s = access.session
    assert s.loan_id is not None
    if agree is not True:
        raise InvalidParameter(
            "Tick 'I have read and agree' to sign", param="agree", code="agreement_not_accepted"
        )
    who = signer(s, ip, user_agent)
    current = lending.agreement(uow, s.loan_id, who)
    if not domain.digests_equal(current.hash, agreement_hash.strip()):
        raise Conflict(
            "The agreement changed since it was shown; read it again before signing",
            code="agreement_changed",
        )
    lending.sign(uow, s.loan_id, current.hash, who)
    s.signed_at = uow.now()
    _complete(uow, s, "signed")
    return result(uow, access, lending)


def result(uow: UnitOfWork, access: WidgetAccess, lending: Lending) -> dict[str, Any]:
    """Where the borrower's application and loan are now (the widget polls this after signing)."""
    _require_mode(access, SessionMode.APPLY)
    domain.require_stage(access.stage, "result")
    s = access.session
    return {
        "object": "widget_result",
        "stage": access.stage.value,
        "outcome": s.outcome,
        "application_id": s.application_id,
        "loan_id": s.loan_id,
        "loan": lending.loan_status(uow, s.loan_id) if s.loan_id else None,
        "decision": decision_body(lending.decision(uow, s.application_id))
        if access.stage is Stage.APPROVED and s.application_id
        else None,
        "return_url": s.return_url,
    }


# -- repayment view ---------------------------------------------------------------------------
def _loan_of(access: WidgetAccess) -> str:
    s = access.session
    if s.loan_id is None or (s.mode == SessionMode.APPLY.value and s.signed_at is None):
        raise Conflict("This widget session has no signed loan to show", code="widget_step_out_of_order")
    return s.loan_id


def repayment_view(uow: UnitOfWork, access: WidgetAccess, lending: Lending) -> dict[str, Any]:
    return {"object": "widget_loan", **lending.repayment_view(uow, _loan_of(access))}


def pay_now(uow: UnitOfWork, access: WidgetAccess, lending: Lending) -> dict[str, Any]:
    """The borrower pays what is due by today from the card on file; the debit runs in the
    background, and the repayment view shows it until it has succeeded or failed."""
    loan_id = _loan_of(access)
    lending.pay_now(uow, loan_id)
    return {"object": "widget_loan", **lending.repayment_view(uow, loan_id)}

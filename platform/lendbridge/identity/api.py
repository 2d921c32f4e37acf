"""`/v1/borrowers` and its sub-resources: consents, liveness checks, the business licence.

GETs run on the read-only unit of work, except when the credential holds `pii:read`: then
the response shows personal data in full and each reveal is audited, which needs a write
transaction (`get_uow(write=True)`). POST responses are always masked, so a stored
idempotent response never holds full personal data.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from lendbridge.core.clock import from_unix
from lendbridge.core.errors import NotFound, ServiceUnavailable
from lendbridge.core.pagination import Page
from lendbridge.http.lifecycle import current_principal, get_uow, requires, services
from lendbridge.http.schemas import list_body, list_of, page_request
from lendbridge.identity import keys, kyc
from lendbridge.identity import services as identity
from lendbridge.identity import tasks as _tasks  # noqa: F401  (registers the identity tasks)
from lendbridge.identity.schemas import (
    BorrowerCreateSchema,
    BorrowerListArgsSchema,
    BorrowerSchema,
    ConsentCreateSchema,
    ConsentSchema,
    ConsentTextListSchema,
    KycCheckSchema,
    LicenceSubmitSchema,
    LivenessCheckCreateSchema,
)

blp = Blueprint("borrowers", __name__, url_prefix="/v1", description="Borrowers, consents and KYC/KYB")
LIVENESS_KINDS = ("liveness", "video_sign")
LICENCE_KINDS = ("licence",)


@dataclass
class IdentityProviders:
    """Outside parties identity talks to, per mode. Live mode has no liveness provider until
    a real one is configured behind `kyc.LivenessProvider`."""

    test_liveness: kyc.LivenessProvider
    live_liveness: kyc.LivenessProvider | None = None

    def liveness(self, livemode: bool) -> kyc.LivenessProvider:
        provider = self.live_liveness if livemode else self.test_liveness
        if provider is None:
            raise ServiceUnavailable(
                "No liveness provider is configured for live mode", code="provider_unavailable"
            )
        return provider


def providers(app: Flask) -> IdentityProviders:
    found: IdentityProviders = app.extensions["identity"]
    return found


def _reveal() -> bool:
    return current_principal().can("pii:read")


@blp.route("/borrowers")
class Borrowers(MethodView):
    @requires("borrowers:write")
    @blp.arguments(BorrowerCreateSchema)
    @blp.response(201, BorrowerSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Create a borrower (individual or business); personal data is encrypted at rest"""
        record = identity.create_borrower(get_uow(), args, tasks=services().tasks)
        return identity.borrower_body(record, reveal=False)

    @requires("borrowers:read")
    @blp.arguments(BorrowerListArgsSchema, location="query")
    @blp.response(200, list_of(BorrowerSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List borrowers, newest first; `id_number`, `phone`, `bank_card` or `uscc` finds
        one without decrypting anything (blind indexes)"""
        reveal = _reveal()
        page = identity.list_borrowers(get_uow(write=reveal), args, page_request(args), reveal=reveal)
        bodies = [identity.borrower_body(r, reveal=reveal) for r in page.data]
        return list_body(Page(bodies, page.has_more), "/v1/borrowers")


@blp.route("/borrowers/<borrower_id>")
class BorrowerItem(MethodView):
    @requires("borrowers:read")
    @blp.response(200, BorrowerSchema)
    def get(self, borrower_id: str) -> dict[str, Any]:
        """Retrieve a borrower (masked unless the credential has `pii:read`)"""
        reveal = _reveal()
        record = identity.get_borrower(get_uow(write=reveal), borrower_id, reveal=reveal)
        return identity.borrower_body(record, reveal=reveal)


@blp.route("/borrowers/<borrower_id>/erase")
class BorrowerErase(MethodView):
    @requires("borrowers:write")
    @blp.response(200, BorrowerSchema)
    def post(self, borrower_id: str) -> dict[str, Any]:
        """Erase a borrower's personal data (PIPL): its data key is destroyed; loans keep
        referring to the anonymous borrower. Idempotent."""
        return identity.borrower_body(identity.erase_borrower(get_uow(), borrower_id), reveal=False)


@blp.route("/borrowers/<borrower_id>/consents")
class BorrowerConsents(MethodView):
    @requires("borrowers:write")
    @blp.arguments(ConsentCreateSchema)
    @blp.response(201, ConsentSchema)
    def post(self, args: dict[str, Any], borrower_id: str) -> dict[str, Any]:
        """Record a consent to a catalogued text (credit bureau query, data processing, alt data)"""
        record = identity.grant_consent(
            get_uow(),
            borrower_id,
            kind=args["kind"],
            version=args["version"],
            language=args["language"],
            granted_at=from_unix(args["granted_at"]) if "granted_at" in args else None,
            expires_at=from_unix(args["expires_at"]) if "expires_at" in args else None,
            ip=args.get("ip"),
            device=args.get("device"),
        )
        return identity.consent_body(record, record.consent.created, reveal=False)

    @requires("borrowers:read")
    @blp.response(200, list_of(ConsentSchema))
    def get(self, borrower_id: str) -> dict[str, Any]:
        """The borrower's consents, newest first"""
        reveal = _reveal()
        now, records = identity.list_consents(get_uow(write=reveal), borrower_id, reveal=reveal)
        return {
            "object": "list",
            "data": [identity.consent_body(r, now, reveal=reveal) for r in records],
            "has_more": False,
            "url": f"/v1/borrowers/{borrower_id}/consents",
        }


@blp.route("/borrowers/<borrower_id>/consents/<consent_id>/revoke")
class ConsentRevoke(MethodView):
    @requires("borrowers:write")
    @blp.response(200, ConsentSchema)
    def post(self, borrower_id: str, consent_id: str) -> dict[str, Any]:
        """Withdraw a consent from now on (idempotent)"""
        now, record = identity.revoke_consent(get_uow(), borrower_id, consent_id)
        return identity.consent_body(record, now, reveal=False)


@blp.route("/consent_texts")
class ConsentTexts(MethodView):
    @requires("borrowers:read")
    @blp.response(200, ConsentTextListSchema)
    def get(self) -> dict[str, Any]:
        """The consent texts to show borrowers, by kind and version, in zh-CN and English"""
        data = [
            {
                "object": "consent_text",
                "kind": entry.kind,
                "version": entry.version,
                "texts": dict(entry.texts),
                "text_hashes": {lang: entry.text_hash(lang) for lang in entry.texts},
                "validity_days": entry.validity.days if entry.validity is not None else None,
            }
            for entry in kyc.CONSENT_TEXTS.values()
        ]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/consent_texts"}


@blp.route("/borrowers/<borrower_id>/liveness_checks")
class LivenessChecks(MethodView):
    @requires("borrowers:write")
    @blp.arguments(LivenessCheckCreateSchema)
    @blp.response(201, KycCheckSchema)
    def post(self, args: dict[str, Any], borrower_id: str) -> dict[str, Any]:
        """Start a liveness / face-match (or video-signing) check; poll it until `status`
        leaves `processing`. Test mode uses the simulator (magic phone endings in the docs)."""
        # An unknown borrower is a 404 whatever the mode's provider set-up.
        identity.ensure_borrower(get_uow(), borrower_id)
        provider = providers(current_app).liveness(current_principal().livemode)
        check = identity.start_liveness_check(
            get_uow(),
            borrower_id,
            kind=args["kind"],
            provider_name=provider.name,
            tasks=services().tasks,
            capture_token=args.get("capture_token"),
        )
        return identity.check_body(check)

    @requires("borrowers:read")
    @blp.response(200, list_of(KycCheckSchema))
    def get(self, borrower_id: str) -> dict[str, Any]:
        """The borrower's liveness and video-signing checks, newest first"""
        checks = identity.list_checks(get_uow(), borrower_id, LIVENESS_KINDS)
        return {
            "object": "list",
            "data": [identity.check_body(c) for c in checks],
            "has_more": False,
            "url": f"/v1/borrowers/{borrower_id}/liveness_checks",
        }


@blp.route("/borrowers/<borrower_id>/liveness_checks/<check_id>")
class LivenessCheckItem(MethodView):
    @requires("borrowers:read")
    @blp.response(200, KycCheckSchema)
    def get(self, borrower_id: str, check_id: str) -> dict[str, Any]:
        """Retrieve a liveness check"""
        return identity.check_body(identity.get_check(get_uow(), borrower_id, check_id, LIVENESS_KINDS))


@blp.route("/borrowers/<borrower_id>/licence")
class BorrowerLicence(MethodView):
    @requires("borrowers:write")
    @blp.arguments(LicenceSubmitSchema)
    @blp.response(201, KycCheckSchema)
    def post(self, args: dict[str, Any], borrower_id: str) -> dict[str, Any]:
        """Submit the business licence image; OCR compares it with the company name and USCC
        in the background (a few seconds) and moves the KYB status"""
        check = identity.submit_licence(get_uow(), borrower_id, args["image"], tasks=services().tasks)
        return identity.check_body(check)

    @requires("borrowers:read")
    @blp.response(200, KycCheckSchema)
    def get(self, borrower_id: str) -> dict[str, Any]:
        """The latest licence check"""
        checks = identity.list_checks(get_uow(), borrower_id, LICENCE_KINDS)
        if not checks:
            raise NotFound(f"Borrower {borrower_id} has not submitted a licence", param="id")
        return identity.check_body(checks[0])


# --- wiring ---------------------------------------------------------------------------------

_SEARCH_PARAMS = re.compile(r"((?:id_number|phone|bank_card|uscc)=)[^&\s\"]*")


class RedactSearchParams(logging.Filter):
    """Access logs print request lines; borrower searches carry personal data in the query
    string (`GET /v1/borrowers?id_number=...`), so their values are blanked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(
                _SEARCH_PARAMS.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in args
            )
        if isinstance(record.msg, str):
            record.msg = _SEARCH_PARAMS.sub(r"\1[redacted]", record.msg)
        return True


_FILTER = RedactSearchParams()


def init_app(app: Flask, api: Any) -> None:
    """Register the blueprint and set up keys, providers and log redaction."""
    from lendbridge.tasks import REGISTRY
    from lendbridge_sandbox.liveness import SimulatedLivenessProvider

    svc = app.extensions["lendbridge"]
    keys.install_default(svc.db, svc.settings)
    app.extensions["identity"] = IdentityProviders(test_liveness=SimulatedLivenessProvider())
    api.register_blueprint(blp)
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    # The Celery runner registers tasks when it is built, before areas are wired.
    celery = getattr(svc.tasks, "celery", None)
    if celery is not None:
        for name in ("identity.liveness_check", "identity.kyb_ocr"):
            if name not in celery.tasks:
                celery.task(name=name)(REGISTRY[name])

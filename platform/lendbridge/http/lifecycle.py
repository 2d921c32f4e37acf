"""Per-request plumbing: request id, authentication, the unit of work and idempotency.

One unit of work per request, opened lazily. A successful response commits it (together
with the stored idempotent response, audit records and outbox events); an error response
rolls it back. Views and services never commit.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, g, request
from sqlalchemy.exc import DBAPIError, IntegrityError

from lendbridge.core.errors import AuthenticationFailed, LendBridgeError, PermissionDenied
from lendbridge.core.ids import new_id
from lendbridge.db import TenantContext
from lendbridge.http import idempotency
from lendbridge.http.problems import from_domain_error, problem
from lendbridge.tenancy.domain import Principal
from lendbridge.uow import UnitOfWork

F = TypeVar("F", bound=Callable[..., Any])
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def services() -> Any:
    return current_app.extensions["lendbridge"]


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise AuthenticationFailed(
            "You did not provide an API key. Send it as 'Authorization: Bearer sk_test_…'",
            code="authentication_required",
        )
    return cast(Principal, principal)


def authenticate() -> Principal:
    """Resolve the bearer credential of this request (once)."""
    if g.get("principal") is not None:
        return cast(Principal, g.principal)
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    if not header:
        raise AuthenticationFailed(
            "You did not provide an API key. Send it as 'Authorization: Bearer sk_test_…'",
            code="authentication_required",
        )
    if scheme.lower() != "bearer" or not credential.strip():
        raise AuthenticationFailed(
            "Use 'Authorization: Bearer <key or token>'", code="authentication_required"
        )
    principal: Principal = services().authenticator.authenticate(credential.strip(), services().clock.now())
    g.principal = principal
    return principal


def get_uow(write: bool = False) -> UnitOfWork:
    """The request's unit of work, scoped to the caller's tenant and mode.

    `write=True` asks for a write transaction on a GET that must record something (e.g. an
    audit entry for revealed personal data); it must come before any other get_uow().
    """
    uow = g.get("uow")
    if uow is not None and write and not g.get("uow_write"):
        raise RuntimeError("get_uow(write=True) must be the first get_uow() of the request")
    if uow is None:
        g.uow_write = write = write or request.method in WRITE_METHODS
        principal = g.get("principal")
        ctx = (
            TenantContext(principal.tenant_id, principal.livemode)
            if principal
            else TenantContext(None, False)
        )
        uow = UnitOfWork(
            services().db,
            ctx,
            write=write,
            clock=services().clock,
            actor=principal.actor if principal else "anonymous",
            request_id=g.get("request_id"),
        )
        g.uow = uow
    return cast(UnitOfWork, uow)


def requires(scope: str | None) -> Callable[[F], F]:
    """Authenticate the caller and demand `scope` (None: any authenticated caller).

    Place it above flask-smorest's decorators so that authentication comes before body
    validation. For POSTs it also claims the Idempotency-Key before the view runs.
    """

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = authenticate()
            if scope is not None and not principal.can(scope):
                raise PermissionDenied(
                    f"This key does not have the '{scope}' scope needed for this request",
                    code="scope_insufficient",
                )
            if request.method == "POST":
                replayed = _claim_idempotency(principal)
                if replayed is not None:
                    return replayed
            return view(*args, **kwargs)

        doc = wrapper.__dict__.setdefault("_apidoc", {})
        manual = doc.setdefault("manual_doc", {})
        manual["security"] = [{"bearerAuth": []}]
        if scope:
            manual["x-required-scope"] = scope
            manual.setdefault("description", "")
            manual["description"] = (manual["description"] + f"\n\nRequired scope: `{scope}`.").strip()
        return cast(F, wrapper)

    return decorate


def _claim_idempotency(principal: Principal) -> Response | None:
    raw_key = request.headers.get("Idempotency-Key")
    if raw_key is None:
        return None
    key = idempotency.validate_key(raw_key)
    uow = get_uow()
    result = idempotency.claim(
        uow,
        principal.tenant_id,
        principal.livemode,
        key,
        idempotency.fingerprint(request.method, request.path, request.get_data()),
    )
    if isinstance(result, Response):
        g.idempotent_replay = True
        return result
    g.idempotency_claim = result
    return None


def _begin() -> None:
    g.request_id = new_id("req")
    g.started = time.perf_counter()


def _finish(response: Response) -> Response:
    uow: UnitOfWork | None = g.get("uow")
    if uow is not None and not uow.committed:
        if response.status_code < 400 and not g.get("idempotent_replay"):
            claim_ = g.get("idempotency_claim")
            if claim_ is not None:
                idempotency.store(claim_, response)
            try:
                uow.commit()
            except IntegrityError:
                uow.rollback()
                response = problem(
                    409, "conflict", "Conflict", "The request conflicted with a concurrent change"
                )
            except DBAPIError as exc:
                uow.rollback()
                code = "lock_conflict" if "lock" in type(exc.orig).__name__.lower() else "service_unavailable"
                response = problem(
                    409 if code == "lock_conflict" else 503,
                    code,
                    "Could not save the change",
                    "A concurrent change or a database problem stopped this request; retry it",
                )
            except LendBridgeError as exc:
                uow.rollback()
                response = from_domain_error(exc)
        else:
            uow.rollback()
    response.headers["X-Request-Id"] = g.get("request_id") or ""
    return response


def _teardown(exc: BaseException | None) -> None:
    uow: UnitOfWork | None = g.pop("uow", None)
    if uow is not None:
        uow.close()


def init_app(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_teardown)

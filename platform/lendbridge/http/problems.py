"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any

from flask import Flask, Response, g
from werkzeug.exceptions import HTTPException

from lendbridge.core.errors import LendBridgeError

log = logging.getLogger("lendbridge.http")

PROBLEM_BASE = "https://docs.lendbridge.example/errors#"
PROBLEM_TYPE = "application/problem+json"

# Stable machine codes for the HTTP errors werkzeug raises before our code runs.
HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("invalid_request", "Bad request"),
    401: ("authentication_required", "Authentication required"),
    403: ("scope_insufficient", "Permission denied"),
    404: ("resource_missing", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    410: ("gone", "Gone"),
    411: ("length_required", "Length required"),
    412: ("precondition_failed", "Precondition failed"),
    413: ("payload_too_large", "Request body too large"),
    414: ("uri_too_long", "Request URI too long"),
    415: ("unsupported_media_type", "Unsupported media type"),
    416: ("range_not_satisfiable", "Range not satisfiable"),
    417: ("expectation_failed", "Expectation failed"),
    418: ("teapot", "I'm a teapot"),
    421: ("misdirected_request", "Misdirected request"),
    422: ("parameter_invalid", "Invalid parameter"),
    423: ("locked", "Locked"),
    424: ("failed_dependency", "Failed dependency"),
    428: ("precondition_required", "Precondition required"),
    429: ("rate_limited", "Too many requests"),
    431: ("headers_too_large", "Request header fields too large"),
    451: ("unavailable_for_legal_reasons", "Unavailable for legal reasons"),
    500: ("internal_error", "Internal server error"),
    501: ("not_implemented", "Not implemented"),
    502: ("bad_gateway", "Bad gateway"),
    503: ("service_unavailable", "Service unavailable"),
    504: ("gateway_timeout", "Gateway timeout"),
    505: ("http_version_not_supported", "HTTP version not supported"),
}


def request_id() -> str | None:
    return g.get("request_id") if g else None


def problem(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    *,
    param: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
        "param": param,
        "request_id": request_id(),
    }
    if extra:
        body.update(extra)
    resp = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_TYPE)
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    if status in (409, 429) or status >= 500:
        retryable = code in ("lock_conflict", "request_in_progress", "rate_limited") or status >= 500
        resp.headers["LendBridge-Should-Retry"] = "true" if retryable else "false"
    return resp


def from_domain_error(error: LendBridgeError) -> Response:
    headers = {}
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return problem(error.status, error.code, error.title, error.detail, param=error.param, headers=headers)


def _first_param(messages: Any, prefix: str = "") -> tuple[str | None, str | None]:
    """The first offending field of a marshmallow/webargs error dict, as a dotted path."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("json", "query", "form", "view_args", "headers", "files", "path") and not prefix:
                return _first_param(value, "")
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or None  # type: ignore[assignment]
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                return name, value[0]
            return _first_param(value, name or "")
    if isinstance(messages, list) and messages:
        if all(isinstance(v, str) for v in messages):
            return prefix or None, messages[0]
        return _first_param(messages[0], prefix)
    return prefix or None, None


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    code, title = HTTP_CODES.get(status, ("http_error", error.name))
    detail = error.description if status < 500 else None
    param = None
    headers: dict[str, str] = {}
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    if status == 422 and messages:
        param, message = _first_param(messages)
        if param and param.startswith("_"):
            param = None
        detail = f"{param}: {message}" if param and message else (message or "Invalid parameters")
    elif status == 400 and data.get("messages") is not None:
        code, detail = "invalid_json", "The request body is not valid JSON"
    if status == 404:
        detail = "Unrecognized request URL or no such object"
    if status == 405:
        detail = "This method is not allowed on this URL"
    if status == 415:
        detail = "Send the request body as application/json"
    if status == 413:
        detail = "The request body is larger than this endpoint accepts"
    if status == 429:
        retry_after = _retry_after(error)
        headers["Retry-After"] = str(retry_after)
        detail = "Rate limit exceeded; retry after the number of seconds in the Retry-After header"
    for name, value in (data.get("headers") or {}).items():
        headers[name] = value
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    return problem(status, code, title, detail, param=param, headers=headers)


def _retry_after(error: HTTPException) -> int:
    """Seconds until the breached window resets (flask-limiter knows it for this request)."""
    from flask import current_app

    svc = current_app.extensions.get("lendbridge")
    window = svc.limiter.current_limit if svc is not None else None
    if window is None:
        return 1
    # limits rounds the reset up to a whole second; never promise more than one window.
    return max(1, min(math.ceil(window.reset_at - time.time()), window.limit.get_expiry()))


def unexpected(error: Exception) -> Response:
    # Log the type and the request id only: exception text can carry request data.
    log.error("unhandled %s in request %s", type(error).__name__, request_id(), exc_info=error)
    return problem(
        500,
        "internal_error",
        "Internal server error",
        "Something went wrong on our side; the request id identifies it for support",
    )


def integrity_conflict(error: Exception) -> Response:
    # A constraint caught what validation did not (usually a concurrent duplicate). The
    # database message is not echoed: it can contain values from the request.
    log.warning("integrity error in request %s: %s", request_id(), type(error).__name__)
    return problem(409, "resource_conflict", "Conflict", "The request conflicts with an existing object")


def database_unavailable(error: Exception) -> Response:
    # The database went away (restart, failover, network): the pool reconnects on the next
    # request, so the client should retry; the SDK does on a 503.
    log.warning("database unavailable in request %s: %s", request_id(), type(error).__name__)
    return problem(
        503,
        "database_unavailable",
        "Service unavailable",
        "The database is temporarily unavailable; retry the request",
    )


def register(app: Flask) -> None:
    from sqlalchemy.exc import IntegrityError, OperationalError

    app.register_error_handler(LendBridgeError, from_domain_error)
    app.register_error_handler(IntegrityError, integrity_conflict)
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(Exception, _any_exception)


def _any_exception(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        original = getattr(error, "original_exception", None)
        if (error.code or 500) >= 500 and original is not None:
            return unexpected(original)
        return from_http_exception(error)
    if isinstance(error, LendBridgeError):
        return from_domain_error(error)
    return unexpected(error)

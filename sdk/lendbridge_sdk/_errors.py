"""Errors the SDK raises, and the one function that maps an HTTP error response to them.

Every error keeps what the server said: ``status``, ``code``, ``param``, ``detail``,
``request_id`` (quote it to LendBridge support), the parsed ``json_body`` and the response
``headers``. ``str(error)`` starts with the request id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# 409 codes that mean "try again shortly": someone else holds the object right now.
RETRYABLE_CONFLICT_CODES = frozenset({"lock_conflict", "request_in_progress"})


class LendBridgeError(Exception):
    """Base class of every error the SDK raises."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        param: str | None = None,
        detail: str | None = None,
        request_id: str | None = None,
        json_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.param = param
        self.detail = detail
        self.request_id = request_id
        self.json_body: dict[str, Any] | None = dict(json_body) if json_body is not None else None
        self.headers: dict[str, str] = dict(headers or {})

    def __str__(self) -> str:
        return f"{self.request_id}: {self.message}" if self.request_id else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, "
            f"code={self.code!r}, param={self.param!r}, request_id={self.request_id!r})"
        )


class InvalidRequestError(LendBridgeError):
    """The request was rejected as invalid (400, 422, or a 409 such as ``illegal_transition``);
    ``param`` names the field at fault when there is one. Retrying the same request fails again."""


class AuthenticationError(LendBridgeError):
    """The API key or OAuth credentials are missing, wrong, revoked or expired (401)."""


class PermissionError(LendBridgeError):  # pinned name: shadows the builtin inside this package only
    """The credentials are valid but may not do this (403), e.g. ``scope_insufficient``."""


class NotFoundError(LendBridgeError):
    """No such object for this account and mode (404); another tenant's id answers the same."""


class IdempotencyError(LendBridgeError):
    """The ``Idempotency-Key`` was already used with different parameters (409
    ``idempotency_key_reused``). Use a new key for a new operation."""


class RateLimitError(LendBridgeError):
    """Too many requests (429); ``retry_after`` holds the server's ``Retry-After`` in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class APIError(LendBridgeError):
    """The server failed (5xx) or stayed busy (409 ``lock_conflict``/``request_in_progress``)
    after every retry. Safe to retry later with the same ``Idempotency-Key``."""


class APIConnectionError(LendBridgeError):
    """No HTTP response arrived (connection refused or reset, DNS, timeout, TLS).
    ``should_retry`` tells whether retrying the same request later is reasonable."""

    def __init__(self, message: str, *, should_retry: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.should_retry = should_retry


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given as delta-seconds; ``None`` when absent or
    not a non-negative number (the server always sends seconds)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 and seconds == seconds else None


def error_from_response(status: int, body: object, headers: Mapping[str, str]) -> LendBridgeError:
    """The SDK error for one HTTP error response: the single status/code -> class table.

    ``body`` is the parsed ``application/problem+json`` document (or the raw text when the
    body was not JSON, e.g. a proxy's HTML page); ``headers`` must be case-insensitive or
    lower-cased.
    """
    problem: dict[str, Any] = body if isinstance(body, dict) else {}

    def text(key: str) -> str | None:
        value = problem.get(key)
        return value if isinstance(value, str) and value else None

    code = text("code")
    detail = text("detail")
    request_id = text("request_id") or _header(headers, "x-request-id")
    if detail is None and isinstance(body, str) and body.strip():
        detail = body.strip()[:200]
    message = detail or text("title") or f"HTTP {status}"
    if code:
        message = f"{message} ({code})"
    fields: dict[str, Any] = {
        "status": status,
        "code": code,
        "param": text("param"),
        "detail": detail,
        "request_id": request_id,
        "json_body": problem if isinstance(body, dict) else None,
        "headers": headers,
    }

    if status in (400, 422):
        return InvalidRequestError(message, **fields)
    if status == 401:
        return AuthenticationError(message, **fields)
    if status == 403:
        return PermissionError(message, **fields)
    if status == 404:
        return NotFoundError(message, **fields)
    if status == 409:
        if code == "idempotency_key_reused":
            return IdempotencyError(message, **fields)
        if code in RETRYABLE_CONFLICT_CODES:
            return APIError(message, **fields)
        return InvalidRequestError(message, **fields)
    if status == 429:
        return RateLimitError(
            message, retry_after=parse_retry_after(_header(headers, "retry-after")), **fields
        )
    if 400 <= status < 500:
        return InvalidRequestError(message, **fields)
    return APIError(message, **fields)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value

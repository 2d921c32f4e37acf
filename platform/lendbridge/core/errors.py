"""Domain errors. Each carries the HTTP status and machine code the API maps it to.

The HTTP layer renders every subclass as application/problem+json; the SDK maps the
status and code back to its own error classes.
"""

from __future__ import annotations


class LendBridgeError(Exception):
    """Base of every error the platform raises on purpose."""

    status: int = 400
    code: str = "invalid_request"
    title: str = "Invalid request"

    def __init__(
        self, detail: str | None = None, *, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.param = param
        if code is not None:
            self.code = code


class InvalidParameter(LendBridgeError):
    status = 422
    code = "parameter_invalid"
    title = "Invalid parameter"


class BadRequest(LendBridgeError):
    status = 400
    code = "invalid_request"
    title = "Bad request"


class AuthenticationFailed(LendBridgeError):
    status = 401
    code = "api_key_invalid"
    title = "Authentication failed"


class PermissionDenied(LendBridgeError):
    status = 403
    code = "scope_insufficient"
    title = "Permission denied"


class NotFound(LendBridgeError):
    status = 404
    code = "resource_missing"
    title = "Not found"


class Conflict(LendBridgeError):
    status = 409
    code = "conflict"
    title = "Conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"
    title = "Illegal state transition"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "Idempotency key reused with different parameters"


class LockConflict(Conflict):
    """Retryable: another operation holds the object right now."""

    code = "lock_conflict"
    title = "Object is locked by a concurrent operation"


class AprCapExceeded(LendBridgeError):
    status = 422
    code = "apr_cap_exceeded"
    title = "APR cap exceeded"


class RateLimited(LendBridgeError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ServiceUnavailable(LendBridgeError):
    status = 503
    code = "service_unavailable"
    title = "Service unavailable"

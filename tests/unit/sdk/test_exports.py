"""The SDK's public surface: what `lendbridge_sdk` exports, and nothing internal leaks."""

from __future__ import annotations

import builtins

import lendbridge_sdk
import lendbridge_webhooks

PUBLIC = {
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIError",
    "Account",
    "Application",
    "AuthenticationError",
    "Borrower",
    "Client",
    "CreditLine",
    "Decision",
    "DeliveryAttempt",
    "Draw",
    "Event",
    "HTTPResponse",
    "IdempotencyError",
    "InvalidRequestError",
    "LendBridgeError",
    "LendBridgeObject",
    "ListObject",
    "Loan",
    "NotFoundError",
    "Offer",
    "PermissionError",
    "Product",
    "RateLimitError",
    "Repayment",
    "RequestsTransport",
    "ResponseInfo",
    "TestClock",
    "Transport",
    "WebhookEndpoint",
    "WidgetSession",
    "__version__",
    "webhooks",
}

ERRORS = [
    "InvalidRequestError",
    "AuthenticationError",
    "PermissionError",
    "NotFoundError",
    "IdempotencyError",
    "RateLimitError",
    "APIError",
    "APIConnectionError",
]


def test_all_is_exactly_the_public_surface() -> None:
    assert set(lendbridge_sdk.__all__) == PUBLIC
    assert len(lendbridge_sdk.__all__) == len(PUBLIC)


def test_every_public_name_exists() -> None:
    for name in lendbridge_sdk.__all__:
        assert hasattr(lendbridge_sdk, name), name


def test_no_private_module_is_exported() -> None:
    assert not [name for name in lendbridge_sdk.__all__ if name.startswith("_") and name != "__version__"]


def test_pinned_error_names_share_one_base() -> None:
    for name in ERRORS:
        cls = getattr(lendbridge_sdk, name)
        assert issubclass(cls, lendbridge_sdk.LendBridgeError), name
    assert issubclass(lendbridge_sdk.LendBridgeError, Exception)


def test_permission_error_shadows_the_builtin_only_inside_the_package() -> None:
    assert lendbridge_sdk.PermissionError.__module__ == "lendbridge_sdk._errors"
    assert not issubclass(lendbridge_sdk.PermissionError, builtins.PermissionError)


def test_webhooks_module_re_exports_the_standalone_library() -> None:
    hooks = lendbridge_sdk.webhooks
    for name in ("verify", "sign", "WebhookVerificationError", "Event", "parse_event"):
        assert getattr(hooks, name) is getattr(lendbridge_webhooks, name), name
    assert callable(hooks.construct_event) and callable(hooks.parse_typed_event)
    assert set(hooks.__all__) >= {"verify", "sign", "WebhookVerificationError", "Event", "parse_event"}


def test_version_is_a_string() -> None:
    assert isinstance(lendbridge_sdk.__version__, str) and lendbridge_sdk.__version__.count(".") == 2

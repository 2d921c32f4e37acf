"""LendBridge Python SDK.

    import lendbridge_sdk

    client = lendbridge_sdk.Client("sk_test_...")
    borrower = client.borrowers.create(type="individual", name="李明", id_number="...", phone="...")
    for loan in client.loans.list(limit=100).auto_paging_iter():
        print(loan.id, loan.principal, loan.apr)

Errors are ``lendbridge_sdk.LendBridgeError`` subclasses; webhooks are verified with
``lendbridge_sdk.webhooks.verify`` (or ``construct_event`` for a typed event).
"""

from lendbridge_sdk import webhooks
from lendbridge_sdk._client import Client
from lendbridge_sdk._errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    IdempotencyError,
    InvalidRequestError,
    LendBridgeError,
    NotFoundError,
    PermissionError,
    RateLimitError,
)
from lendbridge_sdk._http import DEFAULT_BASE_URL, HTTPResponse, RequestsTransport, ResponseInfo, Transport
from lendbridge_sdk._objects import (
    Account,
    Application,
    Borrower,
    CreditLine,
    Decision,
    DeliveryAttempt,
    Draw,
    Event,
    LendBridgeObject,
    ListObject,
    Loan,
    Offer,
    Product,
    Repayment,
    TestClock,
    WebhookEndpoint,
    WidgetSession,
)
from lendbridge_sdk._version import __version__

__all__ = [
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
]

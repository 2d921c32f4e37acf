"""``Client``: credentials, options and the resource services."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from types import TracebackType

import requests

from lendbridge_sdk._errors import AuthenticationError
from lendbridge_sdk._http import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Requestor,
    RequestsTransport,
    Transport,
)
from lendbridge_sdk._resources import (
    AccountService,
    ApplicationService,
    BorrowerService,
    CreditLineService,
    EventService,
    LoanService,
    ProductService,
    TestClockService,
    WebhookEndpointService,
    WidgetSessionService,
)

API_KEY_ENV = "LENDBRIDGE_API_KEY"

_MISSING_KEY = (
    "No LendBridge credentials. Pass your secret key, Client(api_key='sk_test_...'), or set the "
    f"{API_KEY_ENV} environment variable, or pass client_id= and client_secret= for OAuth2. "
    "Sandbox keys come from your dashboard (locally: `lendbridge demo seed --json`)."
)


class Client:
    """The LendBridge API client.

    ``Client("sk_test_...")`` authenticates with a secret key;
    ``Client(client_id=..., client_secret=..., scope=...)`` with OAuth2 client credentials
    (the token is fetched, cached until shortly before it expires, and renewed once on a
    ``token_expired`` answer). Options: ``base_url`` (default ``http://127.0.0.1:8000``),
    ``timeout`` seconds per attempt, ``max_retries`` (2), ``http_session`` (a
    ``requests.Session`` to reuse), and for tests ``transport`` and ``sleep``.

    Raises ``AuthenticationError`` when no credentials are given and ``ValueError`` for
    contradictory options.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str | None = None,
        http_session: requests.Session | None = None,
        transport: Transport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        oauth = client_id is not None or client_secret is not None
        if api_key is not None and oauth:
            raise ValueError("pass either api_key or client_id/client_secret, not both")
        if oauth and not (client_id and client_secret):
            raise ValueError("OAuth2 needs both client_id and client_secret")
        if api_key is None and not oauth:
            api_key = os.environ.get(API_KEY_ENV) or None
            if api_key is None:
                raise AuthenticationError(_MISSING_KEY)
        if api_key is not None:
            api_key = api_key.strip()
            if not api_key or any(c.isspace() for c in api_key):
                raise AuthenticationError("the API key is empty or contains whitespace. " + _MISSING_KEY)
            if api_key.startswith("whsec_"):
                raise AuthenticationError(
                    "that is a webhook signing secret (whsec_...), not an API key; "
                    "pass your secret key sk_test_... or sk_live_..."
                )
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")

        self._owns_session = transport is None and http_session is None
        self._transport = transport if transport is not None else RequestsTransport(http_session)
        self._requestor = Requestor(
            api_key=api_key,
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            transport=self._transport,
            sleep=sleep if sleep is not None else time.sleep,
        )
        self.account = AccountService(self._requestor)
        self.borrowers = BorrowerService(self._requestor)
        self.applications = ApplicationService(self._requestor)
        self.loans = LoanService(self._requestor)
        self.credit_lines = CreditLineService(self._requestor)
        self.products = ProductService(self._requestor)
        self.webhook_endpoints = WebhookEndpointService(self._requestor)
        self.events = EventService(self._requestor)
        self.widget_sessions = WidgetSessionService(self._requestor)
        self.test_clocks = TestClockService(self._requestor)

    @property
    def base_url(self) -> str:
        return self._requestor.base_url

    @property
    def max_retries(self) -> int:
        return self._requestor.max_retries

    def close(self) -> None:
        """Close the HTTP session the client created (not one you passed in)."""
        if self._owns_session and isinstance(self._transport, RequestsTransport):
            self._transport.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "oauth" if self._requestor.tokens is not None else "api_key"
        return f"<lendbridge_sdk.Client base_url={self.base_url!r} auth={mode}>"

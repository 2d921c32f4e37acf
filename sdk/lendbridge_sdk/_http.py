"""The HTTP layer: transports, the retry policy and the request loop.

A transport sends one request and returns one ``HTTPResponse`` or raises
``APIConnectionError``; ``Requestor`` adds authentication, the ``Idempotency-Key``, JSON
encoding and retries on top. Tests swap the transport and the sleep function.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import requests

from lendbridge_sdk._errors import (
    RETRYABLE_CONFLICT_CODES,
    APIConnectionError,
    APIError,
    AuthenticationError,
    error_from_response,
    parse_retry_after,
)
from lendbridge_sdk._version import __version__

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 5.0
MAX_RETRY_AFTER = 30.0

SHOULD_RETRY_HEADER = "LendBridge-Should-Retry"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENT_REPLAYED_HEADER = "Idempotent-Replayed"
REQUEST_ID_HEADER = "X-Request-Id"

# Renew an OAuth token this many seconds before it expires (half its lifetime for short ones).
TOKEN_RENEWAL_MARGIN = 60.0

_SAFE_METHODS = frozenset({"GET", "HEAD", "DELETE"})


@dataclass(frozen=True)
class HTTPResponse:
    """One HTTP response as a transport returns it; header names are lower-cased."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", {k.lower(): v for k, v in self.headers.items()})

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class ResponseInfo:
    """What the SDK keeps about the response behind a result (``obj.last_response``)."""

    status: int
    headers: Mapping[str, str] = field(repr=False)
    request_id: str | None
    idempotent_replayed: bool


class Transport(Protocol):
    """Sends one HTTP request. Raises ``APIConnectionError`` when no response arrived."""

    def send(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None, timeout: float
    ) -> HTTPResponse: ...


class RequestsTransport:
    """The default transport, on a ``requests.Session`` (yours, or one of its own)."""

    def __init__(self, session: requests.Session | None = None) -> None:
        self.session = session if session is not None else requests.Session()

    def send(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None, timeout: float
    ) -> HTTPResponse:
        try:
            response = self.session.request(
                method, url, headers=dict(headers), data=body, timeout=timeout, allow_redirects=False
            )
        except requests.exceptions.SSLError as exc:
            raise APIConnectionError(f"TLS error talking to LendBridge: {exc}", should_retry=False) from exc
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise APIConnectionError(
                f"could not reach LendBridge at {url}: {exc}", should_retry=True
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise APIConnectionError(f"request to LendBridge failed: {exc}", should_retry=False) from exc
        return HTTPResponse(status=response.status_code, headers=response.headers, body=response.content)


def retry_delay(retry: int, *, jitter: float, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number ``retry`` (0 for the first retry).

    Without ``retry_after``: 0.5 s doubling per retry up to 5 s, times ``jitter`` (drawn from
    [0.5, 1]), never below 0.5 s. With the server's ``Retry-After``: that many seconds, at
    least 0.5 s and at most 30 s.
    """
    if retry_after is not None:
        return min(max(retry_after, INITIAL_RETRY_DELAY), MAX_RETRY_AFTER)
    delay = min(INITIAL_RETRY_DELAY * 2.0 ** min(retry, 16), MAX_RETRY_DELAY) * jitter
    return max(delay, INITIAL_RETRY_DELAY)


def random_jitter() -> float:
    """A jitter factor in [0.5, 1] for ``retry_delay``."""
    return float(random.uniform(0.5, 1.0))


def should_retry(status: int, code: str | None, hint: str | None) -> bool:
    """Whether an HTTP error response is worth retrying.

    The server's ``LendBridge-Should-Retry: true|false`` decides when present. Otherwise:
    429, 5xx and 409 ``lock_conflict``/``request_in_progress`` are retried; every other 4xx
    is not (it would fail the same way again).
    """
    if hint is not None:
        answer = hint.strip().lower()
        if answer in ("true", "false"):
            return answer == "true"
    if status == 409:
        return code in RETRYABLE_CONFLICT_CODES
    return status == 429 or status >= 500


def encode_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Query parameters: ``None`` dropped, booleans as ``true``/``false``, a dict as
    ``key[sub]=value`` (e.g. ``created[gte]``), a list as repeated ``key[]``."""
    pairs: list[tuple[str, str]] = []

    def scalar(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            pairs.extend((f"{key}[{sub}]", scalar(v)) for sub, v in value.items() if v is not None)
        elif isinstance(value, list | tuple):
            pairs.extend((f"{key}[]", scalar(v)) for v in value)
        else:
            pairs.append((key, scalar(value)))
    return pairs


def path_segment(value: str, what: str = "id") -> str:
    """An object id made safe for a URL path; raises ``ValueError`` for an empty id."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return quote(value, safe="")


class _TokenCache:
    """OAuth2 client-credentials tokens, cached until shortly before they expire."""

    def __init__(self, client_id: str, client_secret: str, scope: str | None) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()

    def get(self, fetch: Callable[[dict[str, str]], dict[str, Any]]) -> str:
        with self._lock:
            if self._token is None or _now() >= self._renew_at:
                form = {
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                }
                if self.scope:
                    form["scope"] = self.scope
                answer = fetch(form)
                token = answer.get("access_token")
                if not isinstance(token, str) or not token:
                    raise AuthenticationError("the OAuth token response carried no access_token")
                expires_in = answer.get("expires_in")
                lifetime = float(expires_in) if isinstance(expires_in, int | float) else 0.0
                self._token = token
                self._renew_at = _now() + lifetime - min(TOKEN_RENEWAL_MARGIN, lifetime / 2)
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None


def _now() -> float:
    return time.monotonic()


class Requestor:
    """Sends API requests: auth header, JSON body, ``Idempotency-Key`` and retries."""

    def __init__(
        self,
        *,
        api_key: str | None,
        client_id: str | None,
        client_secret: str | None,
        scope: str | None,
        base_url: str,
        timeout: float,
        max_retries: int,
        transport: Transport,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random_jitter,
    ) -> None:
        self.api_key = api_key
        self.tokens = _TokenCache(client_id, client_secret, scope) if client_id and client_secret else None
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.transport = transport
        self.sleep = sleep
        self.jitter = jitter
        self.user_agent = f"lendbridge-sdk-python/{__version__}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[dict[str, Any], ResponseInfo]:
        """Call the API and return the decoded JSON object and response facts.

        A POST gets one ``Idempotency-Key`` (the caller's, or a new uuid4) before the first
        attempt, so every retry repeats it. Raises a ``LendBridgeError`` subclass.
        """
        method = method.upper()
        url = self.base_url + path
        if params:
            query = urlencode(encode_params(params))
            if query:
                url += "?" + query
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        data = None
        if body is not None or method == "POST":
            data = json.dumps(dict(body or {}), separators=(",", ":"), ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        if method == "POST":
            headers[IDEMPOTENCY_KEY_HEADER] = idempotency_key or str(uuid.uuid4())
        response = self._send(method, url, headers, data, authenticate=True)
        return _decode_object(response), _info(response)

    def _authorization(self) -> str:
        if self.tokens is not None:
            return "Bearer " + self.tokens.get(self._fetch_token)
        return f"Bearer {self.api_key}"

    def _fetch_token(self, form: Mapping[str, str]) -> dict[str, Any]:
        headers = {
            "Accept": "application/json",
            "User-Agent": self.user_agent,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        data = urlencode(form).encode()
        response = self._send("POST", self.base_url + "/v1/oauth/token", headers, data, authenticate=False)
        return _decode_object(response)

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        data: bytes | None,
        *,
        authenticate: bool,
    ) -> HTTPResponse:
        # Safe to repeat: reads and deletes, POSTs carrying an Idempotency-Key, and the
        # token request (issuing a second token has no other effect).
        safe = method in _SAFE_METHODS or IDEMPOTENCY_KEY_HEADER in headers or not authenticate
        retries = 0
        renewed_token = False
        while True:
            sent = dict(headers)
            if authenticate:
                sent["Authorization"] = self._authorization()
            try:
                response = self.transport.send(method, url, headers=sent, body=data, timeout=self.timeout)
            except APIConnectionError as exc:
                if exc.should_retry and safe and retries < self.max_retries:
                    self.sleep(retry_delay(retries, jitter=self.jitter()))
                    retries += 1
                    continue
                raise
            if 200 <= response.status < 300:
                return response
            error = error_from_response(response.status, _decode_error_body(response), response.headers)
            if (
                authenticate
                and self.tokens is not None
                and response.status == 401
                and error.code == "token_expired"
                and not renewed_token
            ):
                # The cached token expired early (revoked, clock skew): fetch one new token and
                # repeat once; this does not count as a retry.
                self.tokens.invalidate()
                renewed_token = True
                continue
            if retries < self.max_retries and should_retry(
                response.status, error.code, response.header(SHOULD_RETRY_HEADER)
            ):
                retry_after = (
                    parse_retry_after(response.header("Retry-After")) if response.status == 429 else None
                )
                self.sleep(retry_delay(retries, jitter=self.jitter(), retry_after=retry_after))
                retries += 1
                continue
            raise error


def _decode_error_body(response: HTTPResponse) -> object:
    try:
        return json.loads(response.body)
    except (UnicodeDecodeError, ValueError):
        return response.body.decode("utf-8", errors="replace")


def _decode_object(response: HTTPResponse) -> dict[str, Any]:
    if not response.body.strip():
        return {}
    try:
        decoded = json.loads(response.body)
    except (UnicodeDecodeError, ValueError):
        decoded = None
    if not isinstance(decoded, dict):
        raise APIError(
            f"LendBridge answered {response.status} with a body that is not a JSON object",
            status=response.status,
            request_id=response.header(REQUEST_ID_HEADER),
            headers=response.headers,
        )
    return decoded


def _info(response: HTTPResponse) -> ResponseInfo:
    return ResponseInfo(
        status=response.status,
        headers=response.headers,
        request_id=response.header(REQUEST_ID_HEADER),
        idempotent_replayed=(response.header(IDEMPOTENT_REPLAYED_HEADER) or "").lower() == "true",
    )

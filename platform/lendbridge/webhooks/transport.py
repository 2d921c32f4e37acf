"""One HTTP POST to a webhook endpoint, connected to an address the SSRF guard checked.

Built on http.client so the TCP connection goes to the pinned IP while the Host header
and TLS (SNI and certificate check) use the URL's host name. Redirects are not followed
(a 3xx is a failed attempt: following it would bypass the address check). Only the first
bytes of the answer are read: they are all the attempt log keeps.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lendbridge.webhooks.ssrf import Target

TIMEOUT_SECONDS = 10.0
EXCERPT_BYTES = 500
# Read a little more than is kept so a secret straddling the cut is still redacted whole.
_READ_BYTES = 2 * EXCERPT_BYTES
REDACTED = "[redacted]"

_TLS = ssl.create_default_context()


@dataclass(frozen=True)
class HttpResult:
    status: int | None
    latency_ms: int
    body: bytes
    """The start of the response body (see `excerpt`)."""
    error: str | None
    """Why no HTTP answer came back (our wording, never the peer's)."""


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=_TLS)
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = _TLS.wrap_socket(raw, server_hostname=self.host)


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"timeout: no answer within {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the receiver"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "TLS certificate verification failed"
    if isinstance(exc, ssl.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, http.client.HTTPException):
        return "the receiver did not answer with valid HTTP"
    if isinstance(exc, OSError):
        return f"network error ({type(exc).__name__})"
    return f"delivery error ({type(exc).__name__})"


def post(
    target: Target,
    address: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float = TIMEOUT_SECONDS,
) -> HttpResult:
    """POST `body` to `target` over a connection to `address`; never raises for network trouble.

    `timeout` bounds the whole exchange, not each socket operation: a receiver that sends
    its answer one byte at a time is cut off when the time is up (a watchdog shuts the
    socket down). An answer whose status line arrived counts even if its body did not.
    """
    cls = _PinnedHTTPSConnection if target.https else _PinnedHTTPConnection
    conn = cls(target.host, target.port, address, timeout)
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(timeout, cut_off)
    watchdog.daemon = True
    started = time.perf_counter()
    watchdog.start()
    status: int | None = None
    try:
        conn.request("POST", target.path, body=body, headers={**headers, "Connection": "close"})
        response = conn.getresponse()
        status = response.status
        try:
            excerpt = response.read(_READ_BYTES)
        except (OSError, http.client.HTTPException):
            excerpt = b""  # the status is what counts; the body is only logged
        return HttpResult(status, _ms(started), excerpt, None)
    except (OSError, http.client.HTTPException) as exc:
        error = f"timeout: no answer within {timeout:g} s" if expired.is_set() else _describe(exc, timeout)
        return HttpResult(None, _ms(started), b"", error)
    finally:
        watchdog.cancel()
        conn.close()


def _ms(started: float) -> int:
    return max(0, round((time.perf_counter() - started) * 1000))


def excerpt(body: bytes, redact: Iterable[str] = ()) -> str | None:
    """The answer's first EXCERPT_BYTES as text, with any of `redact` (our secrets and
    signatures, should a receiver echo them) replaced."""
    if not body:
        return None
    text = body[:_READ_BYTES].decode("utf-8", errors="replace")
    for secret in redact:
        if secret:
            text = text.replace(secret, REDACTED)
    return text.encode()[:EXCERPT_BYTES].decode("utf-8", errors="ignore")

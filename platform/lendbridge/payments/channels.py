"""Channel and custody-bank adapters: our port (`ports.PaymentChannel`) over a real protocol.

Two transports, one contract:
- `HttpChannel` / `HttpCustodyBank` speak the channels' HTTP API (JSON orders, CSV
  statements, HMAC-signed callbacks). Connection refused is `ChannelUnreachable` (never
  delivered); a timeout or a connection dropped after the request went out is
  `ChannelTimeout` (may have executed): the two must never be confused.
- `InProcessChannel` / `InProcessCustodyBank` call the sandbox simulators directly
  (embedded mode), translating the simulators' exceptions the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import urllib.parse
from collections.abc import Mapping
from datetime import date
from typing import Any

from lendbridge.payments.ports import (
    CallbackInvalid,
    ChannelStatus,
    ChannelTimeout,
    ChannelUnreachable,
    CustodyStatement,
    Order,
    Party,
    Reply,
    StatementRow,
)
from lendbridge.payments.reconciliation import parse_channel_statement, parse_custody_statement

SIGNATURE_HEADER = "X-Channel-Signature"


def order_body(order: Order) -> dict[str, Any]:
    def party(p: Party) -> dict[str, str]:
        return {"kind": p.kind.value, "bank_code": p.bank_code, "number": p.number, "name": p.name}

    return {
        "instruction_id": order.instruction_id,
        "direction": order.direction.value,
        "amount": order.amount,
        "currency": order.currency,
        "debit": party(order.debit),
        "credit": party(order.credit),
        "memo": order.memo,
    }


def parse_reply(data: Mapping[str, Any], instruction_id: str | None = None) -> Reply:
    """A channel reply or callback body; anything malformed is a CallbackInvalid."""
    try:
        status = ChannelStatus(data["status"])
        iid = str(data["instruction_id"])
    except (KeyError, ValueError, TypeError):
        raise CallbackInvalid("not a channel reply") from None
    if instruction_id is not None and iid != instruction_id:
        raise CallbackInvalid("reply for another instruction")
    amount = data.get("amount")
    return Reply(
        instruction_id=iid,
        status=status,
        code=data.get("code") or None,
        channel_ref=data.get("channel_ref") or None,
        amount=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
    )


def verify_signed(secret: bytes, body: bytes, headers: Mapping[str, str]) -> Reply:
    signature = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), "")
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not signature or not hmac.compare_digest(expected, signature):
        raise CallbackInvalid("bad signature")
    try:
        data = json.loads(body)
    except ValueError:
        raise CallbackInvalid("not JSON") from None
    if not isinstance(data, dict):
        raise CallbackInvalid("not an object")
    return parse_reply(data)


class HttpChannel:
    """A payment channel over HTTP (the sandbox simulators serve the same API)."""

    def __init__(self, name: str, base_url: str, *, callback_secret: bytes) -> None:
        self.name = name
        parts = urllib.parse.urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._prefix = parts.path.rstrip("/")
        self._secret = callback_secret

    def _request(
        self, method: str, path: str, body: Any, timeout: float, headers: Mapping[str, str] | None = None
    ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            hdrs = {"Content-Type": "application/json"} if payload is not None else {}
            hdrs.update(headers or {})
            try:
                conn.connect()
            except ConnectionRefusedError as exc:
                raise ChannelUnreachable(f"{self.name}: connection refused") from exc
            except TimeoutError as exc:
                raise ChannelUnreachable(f"{self.name}: connect timed out") from exc
            except OSError as exc:
                raise ChannelUnreachable(f"{self.name}: {type(exc).__name__}") from exc
            try:
                conn.request(method, self._prefix + path, body=payload, headers=hdrs)
                response = conn.getresponse()
                data = response.read()
            except (TimeoutError, http.client.HTTPException, OSError) as exc:
                # Sent (or partly sent): the channel may have acted on it.
                raise ChannelTimeout(f"{self.name}: {type(exc).__name__}") from exc
            return response.status, data
        finally:
            conn.close()

    def _reply(self, status: int, data: bytes, instruction_id: str) -> Reply:
        if status >= 500:
            raise ChannelTimeout(f"{self.name}: HTTP {status}")
        if status >= 400:
            return Reply(instruction_id, ChannelStatus.FAILED, "format_error")
        try:
            body = json.loads(data)
        except ValueError:
            raise ChannelTimeout(f"{self.name}: unreadable reply") from None
        try:
            return parse_reply(body, instruction_id)
        except CallbackInvalid:
            raise ChannelTimeout(f"{self.name}: unreadable reply") from None

    def submit(self, order: Order, timeout: float) -> Reply:
        status, data = self._request(
            "POST", "/submit", order_body(order), timeout, {"X-Client-Timeout": f"{timeout:.3f}"}
        )
        return self._reply(status, data, order.instruction_id)

    def query(self, instruction_id: str, timeout: float) -> Reply:
        status, data = self._request("GET", f"/orders/{instruction_id}", None, timeout)
        return self._reply(status, data, instruction_id)

    def close(self, instruction_id: str, timeout: float) -> Reply:
        status, data = self._request("POST", f"/orders/{instruction_id}/close", None, timeout)
        return self._reply(status, data, instruction_id)

    def statement(self, day: date) -> list[StatementRow]:
        status, data = self._request("GET", f"/statements/{day.isoformat()}", None, 30.0)
        if status != 200:
            raise ChannelTimeout(f"{self.name}: statement HTTP {status}")
        return parse_channel_statement(data.decode())

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> Reply:
        return verify_signed(self._secret, body, headers)


class HttpCustodyBank:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def statement(self, account_number: str, day: date) -> CustodyStatement:
        parts = urllib.parse.urlsplit(self.base_url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
        try:
            conn.request("GET", f"{parts.path}/accounts/{account_number}/statements/{day.isoformat()}")
            response = conn.getresponse()
            data = response.read().decode()
        except OSError as exc:
            raise ChannelUnreachable(f"custody bank: {type(exc).__name__}") from exc
        finally:
            conn.close()
        if response.status != 200:
            raise ChannelUnreachable(f"custody bank: HTTP {response.status}")
        return parse_custody_statement(data)


class InProcessChannel:
    """A sandbox channel simulator in this process (embedded mode)."""

    def __init__(self, simulator: Any, *, callback_secret: bytes) -> None:
        from lendbridge_sandbox.channels import SimTimeout, SimUnreachable

        self.name: str = simulator.name
        self.simulator = simulator
        self._secret = callback_secret
        self._timeout_exc = SimTimeout
        self._unreachable_exc = SimUnreachable

    def _call(self, fn: Any, *args: Any) -> Reply:
        try:
            data = fn(*args)
        except self._unreachable_exc as exc:
            raise ChannelUnreachable(f"{self.name}: {exc}") from exc
        except self._timeout_exc as exc:
            raise ChannelTimeout(f"{self.name}: {exc}") from exc
        return parse_reply(data)

    def submit(self, order: Order, timeout: float) -> Reply:
        return self._call(self.simulator.submit, order_body(order), timeout)

    def query(self, instruction_id: str, timeout: float) -> Reply:
        return self._call(self.simulator.query, instruction_id)

    def close(self, instruction_id: str, timeout: float) -> Reply:
        return self._call(self.simulator.close, instruction_id)

    def statement(self, day: date) -> list[StatementRow]:
        return parse_channel_statement(self.simulator.statement_csv(day))

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> Reply:
        return verify_signed(self._secret, body, headers)


class InProcessCustodyBank:
    def __init__(self, simulator: Any) -> None:
        self.simulator = simulator

    def statement(self, account_number: str, day: date) -> CustodyStatement:
        return parse_custody_statement(self.simulator.statement_csv(account_number, day))

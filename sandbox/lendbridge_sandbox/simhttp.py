"""Serve a simulator (a channel or the custody bank) over HTTP on localhost.

    python -m lendbridge_sandbox.channels --channel custody_bank --port 9100
    python -m lendbridge_sandbox.channels --channel unionpay_sim --port 9101 \
        --custody-url http://127.0.0.1:9100 --state-dir var/sims --callback-url http://127.0.0.1:8000/v1/payment_callbacks/unionpay_sim

Channel routes:
    POST /submit                      order JSON -> reply JSON (header X-Client-Timeout: seconds)
    GET  /orders/<id>                 query
    POST /orders/<id>/close           close (void)
    GET  /statements/<yyyy-mm-dd>     the day's statement, text/csv
    POST /control/<action>            fault injection: fail_for, heal, ambiguous_next, set_latency,
                                      set_rates, set_card_balance, reverse, tamper_amount,
                                      duplicate_in_statement, add_phantom, reset (JSON kwargs)
    GET  /status, GET /executions (instruction id -> amount, for tests)
Custody bank routes:
    POST /accounts                    {number, holder, balance?, bank_code?}
    GET  /accounts/<n>
    POST /accounts/<n>/deposit        {amount}
    POST /accounts/<n>/movements      {side, amount, reference, channel}
    GET  /accounts/<n>/statements/<yyyy-mm-dd>

A lost reply is a dropped connection: the server closes the socket without answering, as
a crashed or partitioned channel does. `--state-dir` keeps each simulator's ledger in a
JSON-lines journal, so a killed and restarted channel still knows what it executed (as a
real channel would), which is what makes the chaos tests about us, not the simulator.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lendbridge_sandbox.channels import DEFAULT_TERMS, ChannelSimulator, SimTimeout, SimUnreachable
from lendbridge_sandbox.custody_bank import CustodyBankSimulator, CustodyError, HttpCustodyBank

CONTROL_ACTIONS = frozenset(
    {
        "fail_for",
        "heal",
        "ambiguous_next",
        "set_latency",
        "set_rates",
        "set_card_balance",
        "reverse",
        "tamper_amount",
        "duplicate_in_statement",
        "add_phantom",
        "reset",
    }
)


class _DropConnection(Exception):
    pass


def call(
    method: str,
    url: str,
    body: dict[str, Any] | None = None,
    *,
    timeout: float = 5.0,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """One HTTP request; raises ConnectionRefusedError, TimeoutError or RemoteDisconnected."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"} if payload is not None else {}
        hdrs.update(headers or {})
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path, body=payload, headers=hdrs)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


class _Handler(BaseHTTPRequestHandler):
    server: SimServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return None

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        data = json.loads(self.rfile.read(length) or b"{}")
        return data if isinstance(data, dict) else {}

    def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        self.close_connection = True
        raise _DropConnection

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        try:
            body = self._body() if method == "POST" else {}
            status, payload, ctype = self.server.route(method, self.path, body, self.headers)
            self._send(status, payload, ctype)
        except _DropConnection:
            self.close_connection = True
        except (SimTimeout, SimUnreachable):
            # The simulator lost the reply (or is down): close without answering.
            self.close_connection = True
        except CustodyError as exc:
            self._send(422, {"code": exc.code})
        except (ValueError, KeyError, TypeError) as exc:
            self._send(400, {"code": "format_error", "detail": type(exc).__name__})

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sim: ChannelSimulator | CustodyBankSimulator) -> None:
        super().__init__(address, _Handler)
        self.sim = sim

    def route(self, method: str, path: str, body: dict[str, Any], headers: Any) -> tuple[int, Any, str]:
        if isinstance(self.sim, CustodyBankSimulator):
            return self._custody(method, path, body)
        return self._channel(self.sim, method, path, body, headers)

    @staticmethod
    def _channel(
        sim: ChannelSimulator, method: str, path: str, body: dict[str, Any], headers: Any
    ) -> tuple[int, Any, str]:
        json_t = "application/json"
        if method == "POST" and path == "/submit":
            timeout = float(headers.get("X-Client-Timeout") or 5.0)
            return 200, sim.submit(body, timeout), json_t
        if m := re.fullmatch(r"/orders/([A-Za-z0-9]{1,32})", path):
            if method == "GET":
                return 200, sim.query(m.group(1)), json_t
        if m := re.fullmatch(r"/orders/([A-Za-z0-9]{1,32})/close", path):
            if method == "POST":
                return 200, sim.close(m.group(1)), json_t
        if m := re.fullmatch(r"/statements/(\d{4}-\d{2}-\d{2})", path):
            return 200, sim.statement_csv(m.group(1)), "text/csv"
        if m := re.fullmatch(r"/control/([a-z_]+)", path):
            action = m.group(1)
            if method == "POST" and action in CONTROL_ACTIONS:
                result = getattr(sim, action)(**body)
                return 200, {"ok": True, "result": result}, json_t
        if path == "/status":
            return 200, sim.status(), json_t
        if path == "/executions":
            return 200, sim.executed(), json_t
        return 404, {"code": "not_found"}, json_t

    def _custody(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any, str]:
        bank = self.sim
        assert isinstance(bank, CustodyBankSimulator)
        json_t = "application/json"
        if method == "POST" and path == "/accounts":
            return (
                200,
                bank.open_account(
                    body["number"], body.get("holder", ""), int(body.get("balance", 0)), body.get("bank_code")
                ),
                json_t,
            )
        if m := re.fullmatch(r"/accounts/(\d{6,32})", path):
            return 200, bank.account(m.group(1)), json_t
        if m := re.fullmatch(r"/accounts/(\d{6,32})/deposit", path):
            return 200, bank.deposit(m.group(1), int(body["amount"])), json_t
        if m := re.fullmatch(r"/accounts/(\d{6,32})/movements", path):
            if method == "POST":
                return (
                    200,
                    bank.post(
                        m.group(1), body["side"], int(body["amount"]), body["reference"], body["channel"]
                    ),
                    json_t,
                )
            return 200, bank.movements(m.group(1)), json_t
        if m := re.fullmatch(r"/accounts/(\d{6,32})/statements/(\d{4}-\d{2}-\d{2})", path):
            return 200, bank.statement_csv(m.group(1), m.group(2)), "text/csv"
        if path == "/status":
            return 200, {"name": bank.name}, json_t
        return 404, {"code": "not_found"}, json_t


def http_callback(url: str) -> Any:
    """A simulator callback that POSTs the signed body to `url`."""

    def send(body: bytes, headers: dict[str, str]) -> None:
        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=5)
        try:
            conn.request("POST", parts.path, body=body, headers=headers)
            conn.getresponse().read()
        finally:
            conn.close()

    return send


def serve(sim: ChannelSimulator | CustodyBankSimulator, host: str = "127.0.0.1", port: int = 0) -> SimServer:
    """Start serving `sim` on a daemon thread; returns the server (`.server_address`, `.shutdown()`)."""
    server = SimServer((host, port), sim)
    threading.Thread(
        target=server.serve_forever, name=f"sim-{getattr(sim, 'name', 'sim')}", daemon=True
    ).start()
    return server


def build(args: argparse.Namespace) -> ChannelSimulator | CustodyBankSimulator:
    state = Path(args.state_dir) if args.state_dir else None
    if state is not None:
        state.mkdir(parents=True, exist_ok=True)
    journal = state / f"{args.channel}.jsonl" if state else None
    if args.channel == "custody_bank":
        return CustodyBankSimulator(journal_path=journal)
    if args.channel not in DEFAULT_TERMS:
        raise SystemExit(f"unknown channel {args.channel}; one of custody_bank, {', '.join(DEFAULT_TERMS)}")
    if not args.custody_url:
        raise SystemExit("a channel needs --custody-url (the custody bank simulator)")
    return ChannelSimulator(
        args.channel,
        custody=HttpCustodyBank(args.custody_url),
        latency_ms=args.latency_ms,
        callback=http_callback(args.callback_url) if args.callback_url else None,
        callback_secret=args.callback_secret.encode(),
        seed=args.seed,
        journal_path=journal,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m lendbridge_sandbox.channels", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--channel", required=True, help="custody_bank, " + ", ".join(DEFAULT_TERMS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--custody-url", default=None)
    parser.add_argument("--state-dir", default=None)
    parser.add_argument("--callback-url", default=None)
    parser.add_argument("--callback-secret", default="sandbox-callback-secret")
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    server = SimServer((args.host, args.port), build(args))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()

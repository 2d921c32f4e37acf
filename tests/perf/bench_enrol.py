"""Benchmark: enrol = disburse, from the widget's submit to the partner's loan.disbursed webhook.

A student applies and signs in the widget (the same HTTP calls the widget makes, with the
demo partner's publishable key and a widget session its server created); the loan is paid
to the school through the simulated channels; the partner's receiver gets `loan.disbursed`
signed per Standard Webhooks (verified here). Measured per enrolment:

- submit -> webhook: from the widget's final submit (sign) to the verified webhook arriving;
- apply -> webhook: from the application submit, through the decision, the agreement and
  the signature, to the webhook.

Baseline in the same run: the round trip of a bare `GET /healthz` on the same server.
Target: p95 submit -> webhook <= 2 s in the sandbox (embedded mode).

    python tests/perf/bench_enrol.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import lendbridge_webhooks  # noqa: E402
from lendbridge.identity.validators import cn_id_check_char  # noqa: E402
from tests.perf._harness import BIN, free_port, server  # noqa: E402


class Receiver:
    """The partner's webhook endpoint: verifies each delivery, records loan.disbursed times."""

    def __init__(self) -> None:
        self.secret = ""
        self.arrived: dict[str, float] = {}
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    event = lendbridge_webhooks.verify(body, dict(self.headers.items()), receiver.secret)
                except lendbridge_webhooks.WebhookVerificationError:
                    self.send_response(400)
                    self.end_headers()
                    return
                if event["type"] == "loan.disbursed":
                    with receiver.cond:
                        receiver.arrived[event["data"]["object"]["id"]] = time.perf_counter()
                        receiver.cond.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, loan_id: str, timeout: float = 30.0) -> float:
        with self.cond:
            self.cond.wait_for(lambda: loan_id in self.arrived, timeout)
            return self.arrived[loan_id]


def _id_number(n: int) -> str:
    body = f"110105{1985 + n % 15}{1 + n % 12:02d}{1 + n % 28:02d}995"
    return body + cn_id_check_char(body)


def enrol(base: str, keys: dict[str, Any], n: int, receiver: Receiver) -> tuple[float, float]:
    http = requests.Session()
    sk = {"Authorization": f"Bearer {keys['partner']['secret_key']}"}
    session = http.post(
        f"{base}/v1/widget_sessions",
        headers=sk,
        json={
            "amount": 1_200_000,
            "currency": "CNY",
            "scenario": {
                "type": "education",
                "course_id": "ui-design",
                "course_name": "UI 设计",
                "merchant_id": "school_demo",
                "tuition": 1_200_000,
                "disburse_to_merchant": True,
            },
        },
    ).json()
    widget = {
        "Authorization": f"Bearer {keys['partner']['publishable_key']}",
        "LendBridge-Widget-Session": session["client_secret"],
    }
    phone = f"1380013{2000 + n:04d}"  # clear of the SMS and liveness simulators' magic endings
    _ok(http.post(f"{base}/widget/v1/otp", headers=widget, json={"phone": phone}))
    _ok(http.post(f"{base}/widget/v1/otp/verify", headers=widget, json={"code": "000000"}))
    applicant = _ok(
        http.post(
            f"{base}/widget/v1/applicant",
            headers=widget,
            json={
                "name": "赵子涵",
                "id_number": _id_number(n),
                "phone": phone,
                "consents": {"credit_bureau_query": True, "data_processing": True},
                "device": {"fingerprint": f"bench-enrol-device-{n:06d}"},
            },
        )
    )
    if applicant.json()["required"]:
        _ok(http.post(f"{base}/widget/v1/identity_check", headers=widget))
        while http.get(f"{base}/widget/v1/identity_check", headers=widget).json()["status"] == "processing":
            time.sleep(0.02)
    t_apply = time.perf_counter()
    decision = http.post(
        f"{base}/widget/v1/applications",
        headers=widget,
        json={"device": {"fingerprint": f"bench-enrol-device-{n:06d}"}},
    ).json()
    if decision.get("status") != "approved":
        raise RuntimeError(f"enrolment {n} was not approved: {decision}")
    agreement = http.post(
        f"{base}/widget/v1/accept", headers=widget, json={"offer_id": decision["offers"][0]["id"]}
    ).json()
    t_submit = time.perf_counter()
    signed = _ok(
        http.post(
            f"{base}/widget/v1/sign",
            headers=widget,
            json={"agreement_hash": agreement["hash"], "agree": True},
        )
    )
    arrived = receiver.wait_for(signed.json()["loan"]["id"])
    return arrived - t_submit, arrived - t_apply


def _ok(resp: requests.Response) -> requests.Response:
    if resp.status_code >= 400:
        raise RuntimeError(f"{resp.request.method} {resp.url}: {resp.status_code} {resp.text[:300]}")
    return resp


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count = 10 if args.quick else 40
    data = Path(tempfile.mkdtemp(prefix="lendbridge-bench-enrol-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENDBRIDGE_")}
    env.update(
        LENDBRIDGE_DATA_DIR=str(data), LENDBRIDGE_LOG_LEVEL="WARNING", LENDBRIDGE_RATE_LIMIT="1000/second"
    )
    cli = str(BIN / "lendbridge")
    subprocess.run([cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    seeded = subprocess.run(
        [cli, "demo", "seed", "--json"], env=env, check=True, capture_output=True, text=True
    )
    keys = json.loads(seeded.stdout[seeded.stdout.index("{") :])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    receiver = Receiver()
    with server([cli, "serve", "--port", str(port)], port, env, probe="/healthz"):
        endpoint = requests.post(
            f"{base}/v1/webhook_endpoints",
            json={
                "url": receiver.url,
                "enabled_events": ["loan.disbursed"],
            },
            timeout=30,
            headers={"Authorization": f"Bearer {keys['partner']['secret_key']}"},
        ).json()
        receiver.secret = endpoint["secret"]
        enrol(base, keys, 0, receiver)  # warm up
        submit, apply = [], []
        for n in range(1, count + 1):
            s, a = enrol(base, keys, n, receiver)
            submit.append(s)
            apply.append(a)
        baseline = []
        http = requests.Session()
        for _ in range(200):
            t = time.perf_counter()
            http.get(f"{base}/healthz")
            baseline.append(time.perf_counter() - t)
    ms = 1000.0
    print(f"enrol = disburse, embedded sandbox, {count} enrolments, one at a time")
    print(
        f"submit (sign) -> loan.disbursed webhook: p50 {statistics.median(submit) * ms:.0f} ms  "
        f"p95 {pct(submit, 0.95) * ms:.0f} ms  max {max(submit) * ms:.0f} ms   (target p95 <= 2000 ms)"
    )
    print(
        f"apply -> loan.disbursed webhook:         p50 {statistics.median(apply) * ms:.0f} ms  "
        f"p95 {pct(apply, 0.95) * ms:.0f} ms  max {max(apply) * ms:.0f} ms"
    )
    base_p50 = statistics.median(baseline) * ms
    print(
        f"baseline GET /healthz round trip: p50 {base_p50:.2f} ms; "
        f"submit -> webhook p50 is {statistics.median(submit) * ms / base_p50:.0f}x that"
    )
    if pct(submit, 0.95) > 2.0:
        sys.exit(1)


if __name__ == "__main__":
    main()

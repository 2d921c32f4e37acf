"""The widget's repayment view in headless Chromium: a student two days late on the first
instalment opens "My repayments" on the EduLink site and pays what is due from the card."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from lendbridge.identity.validators import cn_id_check_char
from lendbridge_sandbox.partner_site.courses import COURSES
from lendbridge_sandbox.partner_site.store import Enrolment
from tests.browser.conftest import ARTIFACTS, Console, Stack

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CARD = "6222021234567890128"


class Api:
    def __init__(self, stack: Stack) -> None:
        self.base = stack.api
        self.headers = {"Authorization": f"Bearer {stack.secret_key()}"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        resp = requests.request(method, self.base + path, json=body, headers=self.headers, timeout=30)
        assert resp.status_code < 300, (path, resp.text)
        return resp.json()

    def wait(self, path: str, done: Callable[[Any], bool], seconds: float = 60) -> Any:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = self.call("GET", path)
            if done(value):
                return value
            time.sleep(0.2)
        raise AssertionError(f"{path} did not settle: {value}")


def _late_loan(api: Api, *, birth: str) -> str:
    """A loan on a test clock whose first instalment is two days late (the card was empty on
    the due date and at the retry); the card has money again now."""
    start = datetime.now(UTC).replace(hour=4, minute=0, second=0, microsecond=0)
    clock = api.call("POST", "/v1/test_clocks", {"frozen_time": int(start.timestamp())})
    body = f"110105{birth}995"  # a prime bureau file
    borrower = api.call(
        "POST",
        "/v1/borrowers",
        {
            "type": "individual",
            "name": "张晓雨",
            "id_number": body + cn_id_check_char(body),
            "phone": "13700002468",
            "bank_card": CARD,
            "test_clock": clock["id"],
        },
    )
    check = api.call("POST", f"/v1/borrowers/{borrower['id']}/liveness_checks", {})
    done = api.wait(
        f"/v1/borrowers/{borrower['id']}/liveness_checks/{check['id']}", lambda c: c["status"] != "processing"
    )
    assert done["status"] == "passed", done
    consents = [
        api.call("POST", f"/v1/borrowers/{borrower['id']}/consents", {"kind": k, "version": "2026-01"})["id"]
        for k in ("credit_bureau_query", "alt_data")
    ]
    application = api.call(
        "POST",
        "/v1/applications",
        {
            "borrower": borrower["id"],
            "amount": 1_200_000,
            "term": 12,
            "purpose": "education",
            "consent_ids": consents,
            "device": {"fingerprint": f"fp-repay-{birth}", "ip": "203.0.113.9"},
        },
    )
    assert application["status"] == "approved", application["reason_codes"]
    offer = application["offers"][0]
    loan_id = api.call("POST", f"/v1/applications/{application['id']}/accept", {"offer_id": offer["id"]})[
        "loan"
    ]
    shown = api.call("GET", f"/v1/loans/{loan_id}/agreement?signer={borrower['id']}")
    api.call("POST", f"/v1/loans/{loan_id}/sign", {"signer": borrower["id"], "agreement_hash": shown["hash"]})
    api.call("POST", f"/v1/loans/{loan_id}/mandate", {})
    api.call("POST", f"/v1/loans/{loan_id}/disburse", {})
    api.wait(f"/v1/loans/{loan_id}", lambda x: x["status"] == "active")
    first_due = datetime.fromisoformat(
        api.call("GET", f"/v1/loans/{loan_id}/schedule")["instalments"][0]["due_date"]
    )
    api.call("POST", "/v1/sandbox/cards/balance", {"bank_card": CARD, "amount": 0})
    late = int(first_due.replace(hour=4, tzinfo=UTC).timestamp() + timedelta(days=2).total_seconds())
    api.call("POST", f"/v1/test_clocks/{clock['id']}/advance", {"frozen_time": late})
    api.wait(f"/v1/test_clocks/{clock['id']}", lambda c: c["status"] == "ready", 120)
    assert api.call("GET", f"/v1/loans/{loan_id}")["status"] == "overdue"
    api.call("POST", "/v1/sandbox/cards/balance", {"bank_card": CARD, "amount": None})
    return loan_id


@pytest.mark.parametrize("channel_ms", [0, 1500], ids=["debit-done-before-the-view-reloads", "debit-watched"])
def test_a_late_student_pays_what_is_due_from_the_repayment_view(
    stack: Stack, page: tuple[Any, Console], channel_ms: int
) -> None:
    from playwright.sync_api import expect

    api = Api(stack)
    loan_id = _late_loan(api, birth="19880512" if channel_ms else "19860923")
    # The outcome must show whether the card answers before the widget reads the loan again
    # or only after it has started watching the debit.
    before = {c["name"]: c["latency_ms"] for c in api.call("GET", "/v1/sandbox/channels")}
    for channel in before:
        api.call("POST", f"/v1/sandbox/channels/{channel}/latency", {"ms": channel_ms})
    # EduLink knows this student's enrolment and its loan (as after a paid enrolment).
    store = stack.site_app.extensions["edulink"].store
    enrolment_id = f"enr_repay_{channel_ms}"
    store.add(
        Enrolment(enrolment_id, COURSES["py-fullstack"], "张晓雨", "zh-CN", status="paid", loan_id=loan_id)
    )

    pg, console = page
    pg.goto(f"{stack.site}/enrolments/{enrolment_id}/repayments?lang=zh-CN")
    widget = pg.locator("lendbridge-checkout")
    expect(widget.get_by_role("heading", name="我的还款")).to_be_visible(timeout=15_000)
    expect(widget.get_by_text("今日应还（含罚息）")).to_be_visible()
    expect(widget.get_by_text("逾期")).to_be_visible()
    pay = widget.get_by_role("button", name="立即还款")
    label = pay.inner_text()
    owed = api.call("GET", f"/v1/loans/{loan_id}/schedule")["instalments"][0]
    assert owed["status"] == "overdue" and owed["penalty"] > 0
    ARTIFACTS.mkdir(exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "widget-repay-due.png"))
    if channel_ms == 0:
        # Hold the widget's next read of the loan until the card has surely answered.
        def late_read(route: Any) -> None:
            time.sleep(2.0)
            route.continue_()

        pg.route("**/widget/v1/loan", late_read)
    pay.click()

    expect(widget.get_by_text("还款成功，谢谢！")).to_be_visible(timeout=20_000)
    expect(widget.get_by_role("button", name="立即还款")).to_have_count(0)  # nothing left to pay today
    paid = api.call("GET", f"/v1/loans/{loan_id}/schedule")["instalments"][0]
    assert paid["status"] == "paid" and paid["paid"]["penalty"] == owed["penalty"]
    fen = paid["paid"]["principal"] + paid["paid"]["interest"] + paid["paid"]["penalty"]
    assert label == f"立即还款 ¥{fen // 100:,}.{fen % 100:02d}"  # the button showed what was debited
    repayments = api.call("GET", f"/v1/loans/{loan_id}/repayments")["data"]
    assert [r["source"] for r in repayments] == ["debit_now"]
    text = widget.inner_text()
    assert "null" not in text and "undefined" not in text
    widget.screenshot(path=str(ARTIFACTS / f"widget-repay-paid-{channel_ms}.png"))
    for channel, ms in before.items():  # the stack is shared by the other browser tests
        api.call("POST", f"/v1/sandbox/channels/{channel}/latency", {"ms": ms})
    assert console.csp_violations(pg) == [] and console.errors == []

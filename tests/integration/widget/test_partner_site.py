"""EduLink, the demo partner: sessions through the SDK against a live LendBridge, a strict
CSP page carrying only public values, and a webhook receiver that trusts signatures only."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from lendbridge_sandbox.partner_site import create_partner_app
from lendbridge_webhooks import generate_secret, signature_headers
from tests.factories.tenancy import TenantKeys
from tests.factories.widget import (
    FakeLending,
    apply_in_widget,
    make_partner,
    use_fake_lending,
    verify_phone,
    widget_headers,
)

pytestmark = pytest.mark.integration


@dataclass
class EduLink:
    site: Flask
    api: str
    keys: TenantKeys
    whsec: str
    fake: FakeLending
    lendbridge: Flask

    def enrol(self, lang: str = "zh-CN") -> tuple[str, str]:
        """Enrol in a course with instalments; (enrolment id, the page's HTML)."""
        client = self.site.test_client()
        resp = client.post(
            f"/courses/py-fullstack/enrol?lang={lang}", data={"name": "李明", "phone": "13812345678"}
        )
        assert resp.status_code == 303, resp.get_data(as_text=True)
        page = client.get(resp.headers["Location"])
        enrolment_id = resp.headers["Location"].split("/enrolments/")[1].split("?")[0]
        return enrolment_id, page.get_data(as_text=True)

    def deliver(
        self, event_type: str, obj: dict[str, Any], *, event_id: str | None = None, secret: str | None = None
    ) -> Any:
        event_id = event_id or f"evt_{time.monotonic_ns()}"
        body = json.dumps(
            {
                "id": event_id,
                "object": "event",
                "type": event_type,
                "created": int(time.time()),
                "livemode": False,
                "api_version": "2026-11-01",
                "data": {"object": obj},
                "request": {"id": None},
            }
        ).encode()
        headers = signature_headers(secret or self.whsec, event_id, int(time.time()), body)
        return self.site.test_client().post(
            "/webhooks/lendbridge", data=body, headers={**headers, "Content-Type": "application/json"}
        )

    def status(self, enrolment_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.site.test_client().get(f"/enrolments/{enrolment_id}/status").get_json()
        return body


@pytest.fixture
def edulink(app: Flask) -> Iterator[EduLink]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api = f"http://127.0.0.1:{server.server_port}"
    keys = make_partner(app, name="EduLink")
    whsec = generate_secret()
    try:
        yield EduLink(
            create_partner_app(api, keys.test_key, keys.publishable_key, whsec),
            api,
            keys,
            whsec,
            use_fake_lending(app),
            app,
        )
    finally:
        server.shutdown()


def _sign_in_widget(e: EduLink, secret: str) -> str:
    """Drive the widget's calls (as the browser would) to a signed loan; its id."""
    client = e.lendbridge.test_client()
    headers = widget_headers(e.keys.publishable_key, secret)
    verify_phone(client, headers)
    offer = apply_in_widget(client, headers).get_json()["offers"][0]
    agreement = client.post("/widget/v1/accept", json={"offer_id": offer["id"]}, headers=headers).get_json()
    client.post("/widget/v1/sign", json={"agreement_hash": agreement["hash"], "agree": True}, headers=headers)
    return str(agreement["loan_id"])


def _secret_on_page(html: str) -> str:
    match = re.search(r'session-secret="([^"]+)"', html)
    assert match
    return match.group(1)


def test_the_course_page_offers_twelve_instalments(edulink: EduLink) -> None:
    client = edulink.site.test_client()
    home = client.get("/?lang=en").get_data(as_text=True)
    assert "Python Full-Stack Development" in home and "¥10,000.00" in home
    course = client.get("/courses/py-fullstack")
    assert "分 12 期付学费" in course.get_data(as_text=True)
    assert client.get("/courses/nope").status_code == 404


def test_enrolling_creates_a_session_and_the_page_gets_only_public_values(edulink: EduLink) -> None:
    enrolment_id, html = edulink.enrol()
    secret = _secret_on_page(html)
    assert secret.startswith("ws_") and "_secret_" in secret
    assert f'publishable-key="{edulink.keys.publishable_key}"' in html and f'api-base="{edulink.api}"' in html
    assert edulink.keys.test_key not in html and "sk_" not in html and "whsec_" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert " style=" not in html and "<style" not in html and " on" + "click=" not in html
    view = (
        edulink.lendbridge.test_client()
        .get("/widget/v1/session", headers=widget_headers(edulink.keys.publishable_key, secret))
        .get_json()
    )
    assert view["scenario"]["course_id"] == "py-fullstack" and view["amount"] == 1_000_000
    assert view["borrower_hint"] == {"name": "李明", "phone": "13812345678"} and view["locale"] == "zh-CN"
    assert edulink.status(enrolment_id)["status"] == "pending"


def test_pages_carry_a_strict_content_security_policy(edulink: EduLink) -> None:
    resp = edulink.site.test_client().get("/courses/py-fullstack")
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp and "style-src 'self';" in csp
    assert f"connect-src 'self' {edulink.api};" in csp and "unsafe" not in csp


def test_the_widget_script_is_served_from_edulinks_own_origin(edulink: EduLink) -> None:
    ours = edulink.site.test_client().get("/assets/lendbridge-checkout.js")
    theirs = edulink.lendbridge.test_client().get("/widget/v1/lendbridge-checkout.js")
    assert ours.status_code == 200 and ours.data == theirs.data and ours.mimetype == "text/javascript"


def test_the_enrolment_is_paid_only_when_loan_disbursed_arrives(edulink: EduLink) -> None:
    enrolment_id, html = edulink.enrol()
    loan_id = _sign_in_widget(edulink, _secret_on_page(html))
    assert edulink.status(enrolment_id)["status"] == "signed"  # read from LendBridge, not the browser
    resp = edulink.deliver("loan.disbursed", {"object": "loan", "id": loan_id, "status": "active"})
    assert resp.status_code == 200
    status = edulink.status(enrolment_id)
    assert status["status"] == "paid" and status["loan_id"] == loan_id and status["paid_at"]


def test_my_repayments_opens_a_repay_session_for_the_enrolments_own_loan(edulink: EduLink) -> None:
    client = edulink.site.test_client()
    enrolment_id, html = edulink.enrol("en")
    assert "My repayments" not in html
    assert client.get(f"/enrolments/{enrolment_id}/repayments").status_code == 404  # no loan yet
    loan_id = _sign_in_widget(edulink, _secret_on_page(html))
    edulink.deliver("loan.disbursed", {"object": "loan", "id": loan_id, "status": "active"})
    assert "My repayments" in client.get(f"/enrolments/{enrolment_id}?lang=en").get_data(as_text=True)
    page = client.get(f"/enrolments/{enrolment_id}/repayments?lang=en").get_data(as_text=True)
    assert 'mode="repay"' in page and edulink.keys.test_key not in page
    headers = widget_headers(edulink.keys.publishable_key, _secret_on_page(page))
    session = edulink.lendbridge.test_client().get("/widget/v1/session", headers=headers).get_json()
    assert session["mode"] == "repay" and session["loan_id"] == loan_id


def test_a_disbursement_before_anything_else_is_matched_through_the_api(edulink: EduLink) -> None:
    enrolment_id, html = edulink.enrol()
    loan_id = _sign_in_widget(edulink, _secret_on_page(html))
    # No status poll, no widget_session.completed yet: the receiver asks LendBridge.
    assert edulink.deliver("loan.disbursed", {"object": "loan", "id": loan_id}).status_code == 200
    assert edulink.status(enrolment_id)["status"] == "paid"


def test_widget_session_completed_records_the_outcome_and_late_events_do_not_go_back(
    edulink: EduLink,
) -> None:
    enrolment_id, _ = edulink.enrol()
    edulink.deliver(
        "widget_session.completed",
        {"client_reference_id": enrolment_id, "outcome": "signed", "loan_id": "loan_1"},
    )
    edulink.deliver("loan.disbursed", {"id": "loan_1"})
    edulink.deliver(
        "widget_session.completed",
        {"client_reference_id": enrolment_id, "outcome": "signed", "loan_id": "loan_1"},
    )
    assert edulink.site.extensions["edulink"].store.get(enrolment_id).status == "paid"


def test_unsigned_or_wrongly_signed_deliveries_are_refused(edulink: EduLink) -> None:
    enrolment_id, _ = edulink.enrol()
    forged = edulink.deliver("loan.disbursed", {"id": "loan_x"}, secret=generate_secret())
    assert forged.status_code == 400
    bare = edulink.site.test_client().post("/webhooks/lendbridge", json={"type": "loan.disbursed"})
    assert bare.status_code == 400
    edulink.deliver(
        "widget_session.completed",
        {"client_reference_id": enrolment_id, "outcome": "declined"},
        event_id="evt_1",
    )
    again = edulink.deliver(
        "widget_session.completed",
        {"client_reference_id": enrolment_id, "outcome": "signed"},
        event_id="evt_1",
    )
    assert again.get_json()["duplicate"] is True
    assert edulink.site.extensions["edulink"].store.get(enrolment_id).status == "declined"


def test_the_site_refuses_a_secret_key_where_the_publishable_key_belongs() -> None:
    with pytest.raises(ValueError):
        create_partner_app("http://127.0.0.1:1", "sk_test_x", "sk_test_y")

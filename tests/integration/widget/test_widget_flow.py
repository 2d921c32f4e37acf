"""The borrower's steps in the widget, with the lending areas replaced by a fake: one-time
codes through the SMS simulator, apply, decision, agreement, signature, repayment view."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from lendbridge.events.models import Event
from lendbridge.widget.api import EXTENSION
from lendbridge_sandbox.sms import SmsSimulator
from tests.factories.tenancy import auth
from tests.factories.widget import (
    PHONE,
    FakeLending,
    applicant_body,
    apply_in_widget,
    create_session,
    make_partner,
    use_fake_lending,
    verify_phone,
    widget_headers,
)

pytestmark = pytest.mark.integration


class Widget:
    """One borrower's browser: a session and its headers."""

    def __init__(self, app: Flask, **session: Any) -> None:
        self.keys = make_partner(app)
        self.client: FlaskClient = app.test_client()
        self.session, secret = create_session(self.client, self.keys.test_key, **session)
        self.headers = widget_headers(self.keys.publishable_key, secret, "https://edulink.example")

    def get(self, path: str) -> Any:
        return self.client.get("/widget/v1" + path, headers=self.headers)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.post("/widget/v1" + path, json=body, headers=self.headers)

    def partner_view(self) -> dict[str, Any]:
        resp = self.client.get(f"/v1/widget_sessions/{self.session['id']}", headers=auth(self.keys.test_key))
        body: dict[str, Any] = resp.get_json()
        return body


@pytest.fixture
def fake(any_app: Flask) -> FakeLending:
    return use_fake_lending(any_app)


def _sms_code(w: Widget) -> str:
    log = w.client.get(f"/v1/widget_sessions/{w.session['id']}/sms_messages", headers=auth(w.keys.test_key))
    texts = [m["text"] for m in log.get_json()["data"]]
    match = re.search(r"(\d{6})", texts[0])
    assert match
    return match.group(1)


# -- one-time codes ---------------------------------------------------------------------------
def test_the_code_texted_to_the_phone_verifies_it(any_app: Flask, fake: FakeLending) -> None:
    w = Widget(any_app)
    sent = w.post("/otp", {"phone": "+86 138-1234-5678"})
    assert sent.status_code == 200 and sent.get_json()["phone"] == "138****5678"
    assert w.post("/otp/verify", {"code": _sms_code(w)}).get_json()["verified"] is True
    assert w.get("/session").get_json()["stage"] == "phone_verified"


def test_a_wrong_code_counts_even_though_it_is_not_an_error(any_app: Flask, fake: FakeLending) -> None:
    w = Widget(any_app)
    w.post("/otp", {"phone": PHONE})
    right = _sms_code(w)
    wrong = "000001" if right != "000001" else "000002"
    lefts = [w.post("/otp/verify", {"code": wrong}).get_json()["attempts_left"] for _ in range(5)]
    assert lefts == [4, 3, 2, 1, 0]
    exhausted = w.post("/otp/verify", {"code": right})
    assert exhausted.status_code == 422 and exhausted.get_json()["code"] == "otp_attempts_exceeded"
    assert exhausted.get_json()["param"] == "code"


def test_codes_are_not_resent_within_a_minute(app: Flask) -> None:
    use_fake_lending(app)
    w = Widget(app)
    assert w.post("/otp", {"phone": PHONE}).status_code == 200
    again = w.post("/otp", {"phone": PHONE})
    assert again.status_code == 429 and again.get_json()["code"] == "rate_limited"
    assert 1 <= int(again.headers["Retry-After"]) <= 60


def test_an_unreachable_number_is_shown_at_the_phone_field(app: Flask) -> None:
    use_fake_lending(app)
    w = Widget(app)
    resp = w.post("/otp", {"phone": "13800000000"})
    assert resp.status_code == 422 and resp.get_json()["param"] == "phone"
    assert resp.get_json()["code"] == "phone_unreachable"
    assert w.post("/otp", {"phone": PHONE}).status_code == 200  # nothing was counted


def test_an_sms_provider_timeout_is_a_retryable_503(app: Flask) -> None:
    use_fake_lending(app)
    app.extensions[EXTENSION].test_sms = SmsSimulator(timeout_ms=10)
    w = Widget(app)
    resp = w.post("/otp", {"phone": "13800000001"})
    assert resp.status_code == 503 and resp.get_json()["code"] == "sms_unavailable"
    assert resp.headers["LendBridge-Should-Retry"] == "true"


def test_no_phone_number_or_code_is_stored_readably(any_app: Flask, fake: FakeLending) -> None:
    w = Widget(any_app)
    w.post("/otp", {"phone": PHONE})
    code = _sms_code(w)
    with any_app.extensions["lendbridge"].db.engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(text("SELECT * FROM widget_sessions")) for v in row)
    assert PHONE not in dump and code not in dump


def test_the_sms_log_is_for_test_mode_only(app: Flask) -> None:
    keys = make_partner(app)
    client = app.test_client()
    body, _ = create_session(client, keys.live_key)
    resp = client.get(f"/v1/widget_sessions/{body['id']}/sms_messages", headers=auth(keys.live_key))
    assert resp.status_code == 403 and resp.get_json()["code"] == "test_mode_only"


# -- applicant, identity check, application -------------------------------------------------------
def test_the_details_need_the_verified_phone(any_app: Flask, fake: FakeLending) -> None:
    w = Widget(any_app)
    early = w.post("/applicant", applicant_body())
    assert early.status_code == 409 and early.get_json()["code"] == "widget_step_out_of_order"
    verify_phone(w.client, w.headers)
    other = w.post("/applicant", applicant_body(phone="13912345678"))
    assert other.status_code == 422 and other.get_json()["param"] == "phone"
    assert other.get_json()["code"] == "phone_not_verified" and fake.applicants == []


@pytest.mark.parametrize(
    ("change", "param", "code"),
    [
        ({"id_number": "110105194912310021"}, "id_number", "id_number_check_digit"),
        ({"id_number": "11010519491331002X"}, "id_number", "id_number_birth_date"),
        ({"name": "  "}, "name", "name_required"),
        (
            {"consents": {"credit_bureau_query": False, "data_processing": True}},
            "consents.credit_bureau_query",
            "consent_required",
        ),
        ({"consents": {"credit_bureau_query": True}}, "consents.data_processing", "parameter_invalid"),
        ({"bank_card": "6222021234567890127"}, "bank_card", "bank_card_check_digit"),
        ({"bank_card": "62220212345"}, "bank_card", "bank_card_length"),
    ],
)
def test_what_the_borrower_typed_is_checked_like_everywhere_else(
    app: Flask, change: dict[str, Any], param: str, code: str
) -> None:
    fake = use_fake_lending(app)
    w = Widget(app)
    verify_phone(w.client, w.headers)
    resp = w.post("/applicant", applicant_body(**change))
    assert resp.status_code == 422 and resp.get_json()["param"] == param and resp.get_json()["code"] == code
    assert fake.applicants == []


def test_applying_needs_the_details_first_and_the_identity_check_is_offered(
    any_app: Flask, fake: FakeLending
) -> None:
    w = Widget(any_app)
    verify_phone(w.client, w.headers)
    early = w.post("/applications", {})
    assert early.status_code == 409 and early.get_json()["code"] == "widget_step_out_of_order"
    registered = w.post("/applicant", {**applicant_body(), "locale": "en"}).get_json()
    assert registered == {
        "object": "widget_identity_check",
        "status": "none",
        "kyc_status": "pending",
        "required": True,
    }
    [request] = fake.applicants
    assert request.applicant.id_number == "11010519491231002X" and request.applicant.phone == PHONE
    assert request.consents == ("credit_bureau_query", "data_processing") and request.locale == "en"
    assert request.device["fingerprint"] == "fp-0123456789abcdef" and request.ip == "127.0.0.1"
    assert w.get("/session").get_json()["stage"] == "identified"
    assert w.post("/identity_check", {}).get_json()["status"] == "processing"
    assert w.get("/identity_check").get_json() == {
        "object": "widget_identity_check",
        "status": "passed",
        "kyc_status": "verified",
        "required": False,
    }
    again = w.post("/applicant", applicant_body())
    assert again.status_code == 409


def test_an_approved_application_is_accepted_shown_and_signed(any_app: Flask, fake: FakeLending) -> None:
    w = Widget(any_app, client_reference_id="enr_42", metadata={"enrolment_id": "enr_42"})
    verify_phone(w.client, w.headers)
    decision = apply_in_widget(w.client, w.headers).get_json()
    assert decision["status"] == "approved" and decision["offers"]
    [request] = fake.requests
    assert request.borrower_id.startswith("brw_") and request.device["fingerprint"] == "fp-0123456789abcdef"
    assert request.ip == "127.0.0.1" and request.amount == 1_000_000
    assert request.metadata == {"enrolment_id": "enr_42"} and request.scenario["merchant_id"] == "school_demo"
    assert w.partner_view()["outcome"] == "approved" and w.partner_view()["status"] == "open"
    assert w.partner_view()["borrower_id"] == request.borrower_id

    resumed = w.get("/result").get_json()
    assert resumed["stage"] == "approved" and resumed["decision"]["offers"] == decision["offers"]

    agreement = w.post("/accept", {"offer_id": decision["offers"][0]["id"]}).get_json()
    assert agreement["loan_id"] and "LOAN AGREEMENT" in agreement["text"]
    assert agreement == w.get("/agreement").get_json()

    result = w.post("/sign", {"agreement_hash": agreement["hash"], "agree": True})
    assert result.status_code == 200 and result.get_json()["outcome"] == "signed"
    assert fake.loans[agreement["loan_id"]].signed_hash == agreement["hash"]
    partner = w.partner_view()
    assert partner["status"] == "completed" and partner["loan_id"] == agreement["loan_id"]
    assert partner["completed_at"] and partner["outcome"] == "signed"

    svc = any_app.extensions["lendbridge"]
    with svc.db.reader() as session:
        events = (
            session.execute(select(Event).where(Event.type == "widget_session.completed")).scalars().all()
        )
    [event] = events
    assert event.data["object"]["client_reference_id"] == "enr_42"
    assert (
        event.data["object"]["loan_id"] == agreement["loan_id"]
        and event.data["object"]["client_secret"] is None
    )


def test_signing_needs_the_tick_and_the_hash_that_was_shown(app: Flask) -> None:
    fake = use_fake_lending(app)
    w = Widget(app)
    verify_phone(w.client, w.headers)
    offer = apply_in_widget(w.client, w.headers).get_json()["offers"][0]
    agreement = w.post("/accept", {"offer_id": offer["id"]}).get_json()
    unticked = w.post("/sign", {"agreement_hash": agreement["hash"], "agree": False})
    assert unticked.status_code == 422 and unticked.get_json()["param"] == "agree"
    fake.loans[agreement["loan_id"]].agreement_version = 2  # the terms changed after they were shown
    stale = w.post("/sign", {"agreement_hash": agreement["hash"], "agree": True})
    assert stale.status_code == 409 and stale.get_json()["code"] == "agreement_changed"
    assert fake.loans[agreement["loan_id"]].signed_hash is None


def test_a_session_takes_one_application(app: Flask) -> None:
    use_fake_lending(app)
    w = Widget(app)
    verify_phone(w.client, w.headers)
    assert apply_in_widget(w.client, w.headers).status_code == 200
    again = w.post("/applications", {})
    assert again.status_code == 409 and again.get_json()["code"] == "widget_session_used"
    assert w.post("/applicant", applicant_body()).get_json()["code"] == "widget_session_used"
    assert w.post("/otp", {"phone": PHONE}).get_json()["code"] == "widget_session_used"


@pytest.mark.parametrize("outcome", ["declined", "review"])
def test_a_decline_or_a_review_completes_the_session(app: Flask, outcome: str) -> None:
    use_fake_lending(app, FakeLending(outcome=outcome))
    w = Widget(app)
    verify_phone(w.client, w.headers)
    decision = apply_in_widget(w.client, w.headers).get_json()
    assert decision["status"] == outcome and decision["offers"] == []
    assert w.partner_view()["status"] == "completed" and w.partner_view()["outcome"] == outcome
    accept = w.post("/accept", {"offer_id": "ofr_x"})
    assert accept.status_code == 409 and accept.get_json()["code"] == "widget_step_out_of_order"
    assert w.get("/result").get_json()["outcome"] == outcome


def test_concurrent_applications_in_one_session_make_one(pg_app: Flask) -> None:
    """A double click, or two tabs: the session row is locked, the second request sees it used."""
    from concurrent.futures import ThreadPoolExecutor

    fake = use_fake_lending(pg_app)
    w = Widget(pg_app)
    verify_phone(w.client, w.headers)
    w.post("/applicant", applicant_body())

    def submit(_: int) -> int:
        resp = pg_app.test_client().post("/widget/v1/applications", json={}, headers=w.headers)
        return int(resp.status_code)

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = sorted(pool.map(submit, range(6)))
    assert codes == [200, 409, 409, 409, 409, 409] and len(fake.requests) == 1


def test_steps_out_of_order_are_conflicts(app: Flask) -> None:
    use_fake_lending(app)
    w = Widget(app)
    for method, path, body in (
        ("post", "/identity_check", {}),
        ("get", "/identity_check", None),
        ("post", "/applications", {}),
        ("post", "/accept", {"offer_id": "ofr_x"}),
        ("post", "/sign", {"agreement_hash": "x", "agree": True}),
        ("get", "/agreement", None),
        ("get", "/result", None),
        ("get", "/loan", None),
        ("post", "/pay", {}),
    ):
        resp = w.get(path) if method == "get" else w.post(path, body or {})
        assert resp.status_code == 409, path


def test_the_offer_preview_comes_from_the_lending_port(app: Flask) -> None:
    use_fake_lending(app)
    w = Widget(app)
    preview = w.get("/offer_preview").get_json()
    assert preview["term"] == 12 and preview["instalment_amount"] == 86066 and preview["lender_name"]
    assert preview["complaint_channel"]["regulator_hotline"] == "12378"


def test_the_repayment_view_shows_the_schedule_and_the_auto_debit_card(app: Flask) -> None:
    fake = use_fake_lending(app)
    keys = make_partner(app)
    client = app.test_client()
    loan_id = fake.accept_offer(None, _approved(fake), _only_offer(fake))  # type: ignore[arg-type]
    _, secret = create_session(
        client, keys.test_key, mode="repay", loan_id=loan_id, amount=None, scenario=None
    )
    headers = widget_headers(keys.publishable_key, secret)
    assert client.get("/widget/v1/session", headers=headers).get_json()["mode"] == "repay"
    view = client.get("/widget/v1/loan", headers=headers).get_json()
    assert view["next_due"]["amount_due"] == 86066 and view["instalments"]
    assert view["autodebit"] == {"bank": "ICBC", "card_last4": "0128"}
    assert view["due_now"] == 86066 and view["payment"] is None
    paid = client.post("/widget/v1/pay", json={}, headers=headers)
    assert paid.status_code == 200 and fake.paid_now == [loan_id]
    assert paid.get_json()["payment"] == {"amount": 86066, "status": "pending", "failure_code": None}
    offers = client.get("/widget/v1/offer_preview", headers=headers)
    assert offers.status_code == 409 and offers.get_json()["code"] == "widget_mode_mismatch"
    assert client.post("/widget/v1/otp", json={"phone": PHONE}, headers=headers).status_code == 409


def _approved(fake: FakeLending) -> str:
    from lendbridge.widget.ports import ApplicationRequest

    request = ApplicationRequest("brw_x", 1_000_000, {}, "ws_x")
    return fake.submit_application(None, request).application_id  # type: ignore[arg-type]


def _only_offer(fake: FakeLending) -> str:
    return str(next(iter(fake.applications.values())).offers[0]["id"])

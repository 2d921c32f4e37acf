"""The SMS simulator behaves like a provider: latency, refusals, timeouts, a delivery log."""

from __future__ import annotations

import random

import pytest

from lendbridge.widget.sms import SmsMessage, SmsRejected, SmsUnavailable, code_text
from lendbridge_sandbox.sms import SmsSimulator


def _message(to: str = "13812345678", reference: str = "ws_1", tenant: str = "ten_1") -> SmsMessage:
    return SmsMessage(
        to=to, text=code_text("482913", 5, "zh-CN"), reference=reference, tenant_id=tenant, livemode=False
    )


def _simulator(**kwargs: object) -> tuple[SmsSimulator, list[float]]:
    slept: list[float] = []
    sim = SmsSimulator(rng=random.Random(7), sleep=slept.append, **kwargs)  # type: ignore[arg-type]
    return sim, slept


def test_a_delivered_message_takes_the_configured_latency_and_lands_in_the_log() -> None:
    sim, slept = _simulator(latency_ms=(30, 60))
    receipt = sim.send(_message())
    assert 30 <= receipt.latency_ms <= 60 and slept == [receipt.latency_ms / 1000]
    [logged] = sim.messages(reference="ws_1")
    assert logged.status == "delivered" and logged.id == receipt.provider_message_id
    assert "482913" in logged.text and logged.to == "138****5678"


def test_a_number_ending_0000_is_refused_and_logged_as_rejected() -> None:
    sim, _ = _simulator()
    with pytest.raises(SmsRejected) as exc:
        sim.send(_message("13800000000"))
    assert exc.value.reason == "unreachable"
    assert [m.status for m in sim.messages()] == ["rejected"]


def test_a_number_ending_0001_times_out_after_the_timeout() -> None:
    sim, slept = _simulator(timeout_ms=250)
    with pytest.raises(SmsUnavailable):
        sim.send(_message("13800000001"))
    assert slept == [0.25] and sim.messages() == []


def test_a_number_ending_0002_is_accepted_but_never_delivered() -> None:
    sim, _ = _simulator()
    sim.send(_message("13800000002"))
    [logged] = sim.messages()
    assert logged.status == "failed" and logged.failure_reason == "carrier_rejected"


def test_the_log_is_filtered_by_reference_and_tenant_newest_first() -> None:
    sim, _ = _simulator()
    sim.send(_message(reference="ws_a"))
    sim.send(_message(reference="ws_b", tenant="ten_2"))
    sim.send(SmsMessage("13812345678", "second", "ws_a", "ten_1", False))
    assert [m.text for m in sim.messages(reference="ws_a")][0] == "second"
    assert len(sim.messages(reference="ws_a")) == 2
    assert [m.reference for m in sim.messages(tenant_id="ten_2")] == ["ws_b"]


def test_the_log_is_bounded() -> None:
    sim, _ = _simulator(log_size=3)
    for n in range(5):
        sim.send(_message(reference=f"ws_{n}"))
    assert [m.reference for m in sim.messages()] == ["ws_4", "ws_3", "ws_2"]


def test_code_texts_come_in_both_languages() -> None:
    assert "验证码" in code_text("123456", 5, "zh-CN") and "123456" in code_text("123456", 5, "zh-CN")
    assert "verification code is 123456" in code_text("123456", 5, "en")

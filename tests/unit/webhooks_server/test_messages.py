"""The notice sent when an endpoint is disabled: Chinese and English, with the reason."""

from __future__ import annotations

from datetime import UTC, datetime

from lendbridge.webhooks.messages import REASON_FAILING, REASON_GONE, endpoint_disabled


def test_gone_notice_names_the_endpoint_and_410_in_both_languages() -> None:
    msg = endpoint_disabled("we_1", "https://hooks.example.com/lb", REASON_GONE, None)
    assert "已停用" in msg.subject and "disabled" in msg.subject
    assert msg.body.count("we_1") == 2 and msg.body.count("https://hooks.example.com/lb") == 2
    assert "410" in msg.body and "已不再接收事件" in msg.body and "no longer takes events" in msg.body
    assert "/replay" in msg.body


def test_failing_notice_gives_the_start_in_beijing_time() -> None:
    since = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # 00:30 next day in Beijing
    msg = endpoint_disabled("we_2", "https://h.example.com/", REASON_FAILING, since)
    assert "2026-11-21 00:30" in msg.body
    assert "连续失败 5 天" in msg.body and "five days in a row" in msg.body

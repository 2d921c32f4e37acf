"""The notice a partner gets when we disable one of their webhook endpoints (zh-CN and English).

Pure text building; the notification row is written by the delivery service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lendbridge.core.clock import BUSINESS_TZ

REASON_GONE = "gone"
REASON_FAILING = "failing"


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def endpoint_disabled(endpoint_id: str, url: str, reason: str, failing_since: datetime | None) -> Message:
    """Subject and body, Chinese first then English, for an endpoint disabled for `reason`."""
    if reason == REASON_GONE:
        why_zh = "您的服务器对事件推送返回了 HTTP 410 Gone，表示该地址已不再接收事件。"
        why_en = "Your server answered an event delivery with HTTP 410 Gone: the URL no longer takes events."
    else:
        since = failing_since.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if failing_since else "-"
        why_zh = f"自 {since}（北京时间）起，向该地址推送的事件全部失败，已连续失败 5 天。"
        why_en = f"Every delivery to this URL has failed since {since} (Beijing time), five days in a row."
    subject = "Webhook 端点已停用 / Webhook endpoint disabled"
    body = (
        f"您的 Webhook 端点 {endpoint_id}（{url}）已被停用，不会再收到事件。\n"
        f"{why_zh}\n"
        "修复接收服务后，请在控制台或通过 API 重新启用该端点，"
        "并使用 POST /v1/webhook_endpoints/{id}/replay 补发停用期间的事件。\n"
        "\n"
        f"Your webhook endpoint {endpoint_id} ({url}) has been disabled and will receive no more events.\n"
        f"{why_en}\n"
        "Once your receiver works again, re-enable the endpoint (POST /v1/webhook_endpoints/{id} with "
        '"disabled": false) and replay the missed events with POST /v1/webhook_endpoints/{id}/replay.\n'
    )
    return Message(subject, body)

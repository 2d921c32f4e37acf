"""The SMS port: how the widget sends one-time codes to a phone.

Test mode always goes to the SMS simulator (`lendbridge_sandbox.sms`); live mode goes to
the provider the deployment configures. A provider either accepts the message (a receipt)
or raises one of the two errors below; the widget service turns them into problem+json.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class SmsMessage:
    to: str  # 11-digit mainland mobile number
    text: str
    reference: str  # the widget session id: what the test-mode delivery log is filtered by
    tenant_id: str
    livemode: bool


@dataclass(frozen=True)
class SmsReceipt:
    provider_message_id: str
    accepted_at: datetime
    latency_ms: int


class SmsRejected(Exception):
    """The provider refused this number (unreachable, not a mobile, blocked). Final."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SmsUnavailable(Exception):
    """The provider did not answer in time or failed. Retrying later may work."""


class SmsGateway(Protocol):
    def send(self, message: SmsMessage) -> SmsReceipt: ...


class LoggedMessage(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def to(self) -> str: ...  # masked
    @property
    def text(self) -> str: ...
    @property
    def status(self) -> str: ...  # delivered | failed | rejected
    @property
    def failure_reason(self) -> str | None: ...
    @property
    def created(self) -> datetime: ...
    @property
    def latency_ms(self) -> int: ...


class SmsTestGateway(SmsGateway, Protocol):
    """Test mode's gateway (the simulator) also shows what it delivered."""

    def messages(
        self, *, reference: str | None = None, tenant_id: str | None = None
    ) -> Sequence[LoggedMessage]: ...


def code_text(code: str, minutes: int, locale: str | None) -> str:
    """The message a borrower receives, in their language."""
    if locale == "en":
        return f"[LendBridge] Your verification code is {code}, valid for {minutes} minutes. Never share it."
    return f"【LendBridge】您的验证码为 {code}，{minutes} 分钟内有效。请勿告诉他人。"

"""SMS provider simulator: what test mode sends one-time codes through.

It behaves like a provider's API: every send takes a little while (random latency within
`latency_ms`), some numbers are refused or time out, and accepted messages land in a
delivery log that test mode can read (`GET /v1/widget_sessions/{id}/sms_messages`), the
way a provider's console shows sent messages. Nothing ever reaches a real phone.

Magic numbers (by the last four digits of the phone number):

| ends in | what happens |
|---|---|
| `0000` | refused, the number is unreachable: `SmsRejected("unreachable")` (shown at the field) |
| `0001` | the provider does not answer: `SmsUnavailable` after `timeout_ms` |
| `0002` | accepted, but the delivery report says failed (the message never arrives) |
| anything else | delivered after the latency |

The platform adds one rule of its own in test mode: the code `000000` verifies any number
once a code has been sent (docs/widget.md).

The log lives in this process (bounded); with several server processes, read the code
through the magic code instead.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from lendbridge.core.ids import ulid
from lendbridge.identity.masking import mask_phone
from lendbridge.widget.sms import SmsMessage, SmsReceipt, SmsRejected, SmsUnavailable

UNREACHABLE_SUFFIX = "0000"
TIMEOUT_SUFFIX = "0001"
DELIVERY_FAILS_SUFFIX = "0002"


@dataclass(frozen=True)
class LoggedSms:
    """One message as the simulator's console shows it (phone masked, text whole)."""

    id: str
    to: str
    text: str
    reference: str
    tenant_id: str
    status: str  # delivered | failed | rejected
    failure_reason: str | None
    created: datetime
    latency_ms: int


class SmsSimulator:
    """A thread-safe stand-in for an SMS provider (see the module docstring)."""

    def __init__(
        self,
        *,
        latency_ms: tuple[int, int] = (20, 80),
        timeout_ms: int = 500,
        log_size: int = 2000,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        low, high = latency_ms
        if not 0 <= low <= high:
            raise ValueError("latency_ms must be (low, high) with 0 <= low <= high")
        self.latency_ms = (low, high)
        self.timeout_ms = timeout_ms
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._now = now
        self._log: deque[LoggedSms] = deque(maxlen=log_size)
        self._lock = threading.Lock()

    def send(self, message: SmsMessage) -> SmsReceipt:
        suffix = message.to[-4:]
        if suffix == TIMEOUT_SUFFIX:
            self._sleep(self.timeout_ms / 1000)
            raise SmsUnavailable("the SMS provider did not answer in time")
        latency = self._rng.randint(*self.latency_ms)
        self._sleep(latency / 1000)
        if suffix == UNREACHABLE_SUFFIX:
            self._record(message, "rejected", "unreachable", latency)
            raise SmsRejected("unreachable")
        status, reason = (
            ("failed", "carrier_rejected") if suffix == DELIVERY_FAILS_SUFFIX else ("delivered", None)
        )
        logged = self._record(message, status, reason, latency)
        return SmsReceipt(provider_message_id=logged.id, accepted_at=logged.created, latency_ms=latency)

    def _record(self, message: SmsMessage, status: str, reason: str | None, latency: int) -> LoggedSms:
        logged = LoggedSms(
            id="smsim_" + ulid(),
            to=mask_phone(message.to),
            text=message.text,
            reference=message.reference,
            tenant_id=message.tenant_id,
            status=status,
            failure_reason=reason,
            created=self._now(),
            latency_ms=latency,
        )
        with self._lock:
            self._log.append(logged)
        return logged

    def messages(self, *, reference: str | None = None, tenant_id: str | None = None) -> list[LoggedSms]:
        """Logged messages, newest first, optionally for one reference and tenant."""
        with self._lock:
            found = [
                m
                for m in self._log
                if (reference is None or m.reference == reference)
                and (tenant_id is None or m.tenant_id == tenant_id)
            ]
        return found[::-1]

    def clear(self) -> None:
        with self._lock:
            self._log.clear()


_default: SmsSimulator | None = None
_default_lock = threading.Lock()


def default_simulator() -> SmsSimulator:
    """The process-wide simulator the platform sends test-mode SMS through."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SmsSimulator()
        return _default

"""Liveness / face-match / video-signing provider simulator (test mode).

Behaves like a real provider behind `lendbridge.identity.kyc.LivenessProvider`: submitting
a check takes a little while (latency), the finding is ready only after a processing
delay (poll `result` until it is not None), a configurable share of submissions fails
with `ProviderUnavailable`, and it keeps a statement of every check it ran (what a
provider's console or monthly bill would show).

Deterministic behaviour by the last four digits of the borrower's phone, so partners can
script every path:

    ...0000  spoof attempt detected        -> KYC rejected (liveness_spoof_detected)
    ...9999  the provider times out         -> check error (provider_timeout), KYC unchanged
    ...1111  face does not match ID photo   -> KYC rejected (face_mismatch)
    ...5555  borderline score 0.70          -> KYC review (liveness_score_low)
    ...8888  video signing: statement read wrongly -> rejected (video_sign_speech_mismatch)
    anything else                           -> pass, score 0.90-0.99 (stable per check)

Magic numbers win over the random failure rate, so a scripted path never flakes.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from lendbridge.identity.kyc import (
    LivenessRequest,
    LivenessResult,
    ProviderTimeout,
    ProviderUnavailable,
)

SPOOF, TIMEOUT, MISMATCH, BORDERLINE, SPEECH_MISMATCH = "0000", "9999", "1111", "5555", "8888"


@dataclass(frozen=True)
class StatementLine:
    """One check as the provider bills it: no personal data, only references and verdicts."""

    provider_reference: str
    reference: str
    kind: str
    submitted_at: float
    score: float | None
    verdict: str


class SimulatedLivenessProvider:
    """In-memory provider. Thread-safe; one instance per app."""

    name = "lendbridge-sandbox-liveness"

    def __init__(
        self,
        *,
        latency: tuple[float, float] = (0.02, 0.08),
        processing: float = 0.05,
        timeout_seconds: float = 0.5,
        failure_rate: float = 0.0,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        self.latency = latency
        self.processing = processing
        self.timeout_seconds = timeout_seconds
        self.failure_rate = failure_rate
        self._random = random.Random(seed)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[float, LivenessResult]] = {}
        self._by_reference: dict[str, str] = {}
        self._statement: list[StatementLine] = []

    def start_check(self, request: LivenessRequest) -> str:
        with self._lock:
            delay = self._random.uniform(*self.latency)
            roll = self._random.random()
        self._sleep(delay)
        tail = request.phone[-4:]
        if tail == TIMEOUT:
            # The provider accepted the connection and never answered: the client's read
            # timeout fires.
            self._sleep(self.timeout_seconds)
            self._record(request, "none", None, "timeout")
            raise ProviderTimeout(f"{self.name} did not answer within {self.timeout_seconds}s")
        magic = tail in (SPOOF, MISMATCH, BORDERLINE, SPEECH_MISMATCH)
        if not magic and roll < self.failure_rate:
            self._record(request, "none", None, "unavailable")
            raise ProviderUnavailable(f"{self.name} answered 503")
        with self._lock:
            existing = self._by_reference.get(request.reference)
            if existing is not None:  # idempotent resubmission of the same check
                return existing
        finding = self._finding(request, tail)
        with self._lock:
            self._pending[finding.provider_reference] = (self._clock() + self.processing, finding)
            self._by_reference[request.reference] = finding.provider_reference
        self._record(request, finding.provider_reference, finding.score, _verdict(finding))
        return finding.provider_reference

    def result(self, provider_reference: str) -> LivenessResult | None:
        with self._lock:
            entry = self._pending.get(provider_reference)
        if entry is None:
            raise ProviderUnavailable(f"{self.name} knows no check {provider_reference}")
        ready_at, finding = entry
        return finding if self._clock() >= ready_at else None

    def statement(self) -> list[StatementLine]:
        with self._lock:
            return list(self._statement)

    def _finding(self, request: LivenessRequest, tail: str) -> LivenessResult:
        digest = hashlib.sha256(request.reference.encode()).digest()
        provider_reference = "lv_" + digest[:10].hex()
        stable = round(0.90 + (digest[10] % 10) / 100, 2)  # 0.90-0.99, the same for a resubmission
        speech = (tail != SPEECH_MISMATCH) if request.kind == "video_sign" else None
        if tail == SPOOF:
            return LivenessResult(provider_reference, 0.12, face_match=True, spoof=True, speech_match=speech)
        if tail == MISMATCH:
            return LivenessResult(
                provider_reference, 0.35, face_match=False, spoof=False, speech_match=speech
            )
        if tail == BORDERLINE:
            return LivenessResult(provider_reference, 0.70, face_match=True, spoof=False, speech_match=speech)
        return LivenessResult(provider_reference, stable, face_match=True, spoof=False, speech_match=speech)

    def _record(self, request: LivenessRequest, ref: str, score: float | None, verdict: str) -> None:
        line = StatementLine(ref, request.reference, request.kind, time.time(), score, verdict)
        with self._lock:
            self._statement.append(line)


def _verdict(finding: LivenessResult) -> str:
    if finding.spoof:
        return "spoof"
    if not finding.face_match:
        return "face_mismatch"
    if finding.speech_match is False:
        return "speech_mismatch"
    return "scored"

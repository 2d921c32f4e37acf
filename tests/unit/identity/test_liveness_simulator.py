"""The liveness / face-match / video-signing simulator behaves like a provider."""

from __future__ import annotations

import pytest

from lendbridge.identity.kyc import LivenessProvider, LivenessRequest, ProviderTimeout, ProviderUnavailable
from lendbridge_sandbox.liveness import SimulatedLivenessProvider


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _request(phone: str, reference: str = "lvc_1", kind: str = "liveness") -> LivenessRequest:
    return LivenessRequest(reference, kind, "张晓雯", "11010519491231002X", phone)


def _provider(**kwargs: object) -> tuple[SimulatedLivenessProvider, FakeTime]:
    t = FakeTime()
    provider = SimulatedLivenessProvider(clock=t.clock, sleep=t.sleep, seed=7, **kwargs)  # type: ignore[arg-type]
    return provider, t


def test_it_satisfies_the_port() -> None:
    provider: LivenessProvider = SimulatedLivenessProvider()
    assert provider.name


def test_results_are_ready_only_after_processing_and_submission_takes_latency() -> None:
    provider, t = _provider(latency=(0.1, 0.2), processing=0.5)
    ref = provider.start_check(_request("13812345678"))
    assert 0.1 <= t.slept[0] <= 0.2
    assert provider.result(ref) is None
    t.now += 0.5
    result = provider.result(ref)
    assert result is not None and result.face_match and not result.spoof and 0.90 <= result.score <= 0.99


@pytest.mark.parametrize(
    ("tail", "score", "spoof", "face_match"),
    [("0000", 0.12, True, True), ("1111", 0.35, False, False), ("5555", 0.70, False, True)],
)
def test_magic_phone_endings(tail: str, score: float, spoof: bool, face_match: bool) -> None:
    provider, t = _provider(processing=0.0)
    result = provider.result(provider.start_check(_request("1381234" + tail)))
    assert result is not None
    assert (result.score, result.spoof, result.face_match) == (score, spoof, face_match)


def test_9999_times_out_after_the_read_timeout() -> None:
    provider, t = _provider(timeout_seconds=3.0)
    with pytest.raises(ProviderTimeout):
        provider.start_check(_request("13812349999"))
    assert t.slept[-1] == 3.0
    assert provider.statement()[-1].verdict == "timeout"


def test_video_signing_checks_the_spoken_statement() -> None:
    provider, _ = _provider(processing=0.0)
    ok = provider.result(provider.start_check(_request("13812345678", "v1", "video_sign")))
    bad = provider.result(provider.start_check(_request("13812348888", "v2", "video_sign")))
    assert ok is not None and ok.speech_match is True
    assert bad is not None and bad.speech_match is False
    plain = provider.result(provider.start_check(_request("13812345678", "v3")))
    assert plain is not None and plain.speech_match is None


def test_the_failure_rate_fails_some_submissions_but_never_magic_numbers() -> None:
    provider, _ = _provider(failure_rate=0.5)
    outcomes = []
    for i in range(200):
        try:
            provider.start_check(_request("13812345678", f"lvc_{i}"))
            outcomes.append("ok")
        except ProviderUnavailable:
            outcomes.append("503")
    assert 60 < outcomes.count("503") < 140
    always, _ = _provider(failure_rate=1.0, processing=0.0)
    assert always.result(always.start_check(_request("13812340000"))) is not None


def test_resubmitting_a_reference_is_idempotent_and_the_statement_has_no_personal_data() -> None:
    provider, _ = _provider()
    first = provider.start_check(_request("13812345678", "lvc_same"))
    assert provider.start_check(_request("13812345678", "lvc_same")) == first
    lines = provider.statement()
    assert [line.reference for line in lines] == ["lvc_same"]
    assert "13812345678" not in repr(lines) and "11010519491231002X" not in repr(lines)
    with pytest.raises(ProviderUnavailable):
        provider.result("lv_unknown")


def test_the_request_does_not_show_personal_data_in_its_repr() -> None:
    text = repr(_request("13812345678"))
    assert "13812345678" not in text and "张晓雯" not in text and "11010519491231002X" not in text

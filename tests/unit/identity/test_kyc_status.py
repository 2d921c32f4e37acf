"""The KYC/KYB status machine, outcome rules and the consent text catalogue."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lendbridge.core.errors import IllegalTransition, InvalidParameter
from lendbridge.crypto.sm3 import sm3
from lendbridge.identity.kyc import (
    CONSENT_KINDS,
    CONSENT_TEXTS,
    REASONS,
    KycStatus,
    Outcome,
    consent_text,
    ensure_accepts_checks,
    licence_outcome,
    liveness_outcome,
    transition,
)

P, V, R, RV = KycStatus.PENDING, KycStatus.VERIFIED, KycStatus.REJECTED, KycStatus.REVIEW
PASSED = Outcome("passed", ("liveness_passed",))
FAILED = Outcome("failed", ("liveness_spoof_detected",))
UNSURE = Outcome("inconclusive", ("liveness_score_low",))
ERROR = Outcome("error", ("provider_timeout",))


@pytest.mark.parametrize(
    ("current", "outcome", "expected"),
    [
        (P, PASSED, V),
        (P, FAILED, R),
        (P, UNSURE, RV),
        (P, ERROR, P),
        (RV, PASSED, V),
        (RV, FAILED, R),
        (RV, UNSURE, RV),
        (RV, ERROR, RV),
        (V, PASSED, V),
        (V, UNSURE, V),
        (V, ERROR, V),
        (V, FAILED, RV),
    ],
    ids=lambda x: getattr(x, "kind", str(x)),
)
def test_transitions(current: KycStatus, outcome: Outcome, expected: KycStatus) -> None:
    assert transition(current, outcome) is expected


@pytest.mark.parametrize("outcome", [PASSED, FAILED, UNSURE, ERROR], ids=lambda o: o.kind)
def test_rejected_is_final(outcome: Outcome) -> None:
    with pytest.raises(IllegalTransition):
        transition(R, outcome)
    with pytest.raises(IllegalTransition):
        ensure_accepts_checks(R)
    ensure_accepts_checks(RV)


def test_unknown_reason_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        Outcome("failed", ("made_up",))


def test_every_reason_has_english_and_chinese_text() -> None:
    for code, reason in REASONS.items():
        assert reason.code == code and reason.en and reason.zh
        assert any("\u4e00" <= ch <= "\u9fff" for ch in reason.zh), code


@pytest.mark.parametrize(
    ("kwargs", "kind", "reasons"),
    [
        ({"score": 0.95, "spoof": False, "face_match": True}, "passed", ("liveness_passed",)),
        ({"score": 0.80, "spoof": False, "face_match": True}, "passed", ("liveness_passed",)),
        ({"score": 0.79, "spoof": False, "face_match": True}, "inconclusive", ("liveness_score_low",)),
        ({"score": 0.60, "spoof": False, "face_match": True}, "inconclusive", ("liveness_score_low",)),
        ({"score": 0.59, "spoof": False, "face_match": True}, "failed", ("liveness_score_low",)),
        ({"score": 0.99, "spoof": True, "face_match": True}, "failed", ("liveness_spoof_detected",)),
        ({"score": 0.99, "spoof": False, "face_match": False}, "failed", ("face_mismatch",)),
        (
            {"score": 0.99, "spoof": False, "face_match": True, "kind": "video_sign", "speech_match": False},
            "failed",
            ("video_sign_speech_mismatch",),
        ),
        (
            {"score": 0.99, "spoof": False, "face_match": True, "kind": "video_sign", "speech_match": True},
            "passed",
            ("video_sign_passed",),
        ),
    ],
)
def test_liveness_outcome(kwargs: dict[str, object], kind: str, reasons: tuple[str, ...]) -> None:
    outcome = liveness_outcome(**kwargs)  # type: ignore[arg-type]
    assert (outcome.kind, outcome.reasons) == (kind, reasons)


@pytest.mark.parametrize(
    ("name", "uscc", "kind", "reasons"),
    [
        ("match", "match", "passed", ("licence_matched",)),
        ("similar", "match", "inconclusive", ("licence_name_similar",)),
        ("match", "similar", "inconclusive", ("licence_uscc_similar",)),
        ("unreadable", "match", "inconclusive", ("licence_name_unreadable",)),
        ("match", "mismatch", "failed", ("licence_uscc_mismatch",)),
        ("mismatch", "similar", "failed", ("licence_name_mismatch", "licence_uscc_similar")),
    ],
)
def test_licence_outcome(name: str, uscc: str, kind: str, reasons: tuple[str, ...]) -> None:
    outcome = licence_outcome(name, uscc)  # type: ignore[arg-type]
    assert (outcome.kind, outcome.reasons) == (kind, reasons)


def test_consent_catalogue_is_bilingual_with_sm3_hashes() -> None:
    assert {kind for kind, _ in CONSENT_TEXTS} == set(CONSENT_KINDS)
    for entry in CONSENT_TEXTS.values():
        assert set(entry.texts) == {"zh-CN", "en"}
        for language, text in entry.texts.items():
            assert entry.text_hash(language) == sm3(text.encode()).hex()
        assert entry.text_hash("zh-CN") != entry.text_hash("en")
    assert CONSENT_TEXTS[("credit_bureau_query", "2026-01")].validity == timedelta(days=365)
    assert CONSENT_TEXTS[("data_processing", "2026-01")].validity is None


@pytest.mark.parametrize(
    ("args", "param", "code"),
    [
        (("credit_bureau_query", "1999-01"), "version", "consent_version_unknown"),
        (("marketing", "2026-01"), "kind", "parameter_invalid"),
        (("alt_data", "2026-01", "fr"), "language", "parameter_invalid"),
    ],
)
def test_unknown_consent_texts_name_the_field(args: tuple[str, ...], param: str, code: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        consent_text(*args)
    assert (exc.value.param, exc.value.code) == (param, code)

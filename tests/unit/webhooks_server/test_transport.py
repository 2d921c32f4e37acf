"""What the attempt log keeps of an answer: 500 bytes, secrets removed."""

from __future__ import annotations

from lendbridge.webhooks.transport import EXCERPT_BYTES, REDACTED, excerpt

SECRET = "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="


def test_empty_answer_has_no_excerpt() -> None:
    assert excerpt(b"") is None


def test_excerpt_keeps_at_most_500_bytes() -> None:
    text = excerpt(b"x" * 5000)
    assert text is not None and len(text.encode()) == EXCERPT_BYTES


def test_excerpt_does_not_split_a_chinese_character_into_garbage() -> None:
    text = excerpt("收到".encode() * 300)
    assert text is not None
    assert len(text.encode()) <= EXCERPT_BYTES
    assert set(text) <= {"收", "到"}


def test_secret_echoed_by_the_receiver_is_redacted() -> None:
    body = f'{{"you sent": "{SECRET}", "sig": "v1,abc="}}'.encode()
    text = excerpt(body, [SECRET, "v1,abc="])
    assert text is not None and SECRET not in text and "v1,abc=" not in text
    assert text.count(REDACTED) == 2


def test_secret_straddling_the_cut_is_redacted_not_half_shown() -> None:
    body = b"y" * (EXCERPT_BYTES - 10) + SECRET.encode() + b"tail"
    text = excerpt(body, [SECRET])
    assert text is not None and "whsec_" not in text and SECRET[:10] not in text


def test_invalid_utf8_is_shown_with_replacement_characters() -> None:
    assert excerpt(b"ok \xff\xfe") == "ok \ufffd\ufffd"

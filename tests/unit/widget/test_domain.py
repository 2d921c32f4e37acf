"""Widget session rules: secrets, secret-bound sealing, lifetime, step order, codes, origins."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lendbridge.core.errors import Conflict, InvalidParameter, RateLimited
from lendbridge.core.ids import new_id
from lendbridge.widget import domain
from lendbridge.widget.domain import OtpPolicy, SessionStatus, Stage

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
POLICY = OtpPolicy()


def test_client_secret_names_its_session_and_is_not_guessable() -> None:
    sid = new_id("ws")
    a, b = domain.new_client_secret(sid), domain.new_client_secret(sid)
    assert a != b and a.startswith(sid + "_secret_")
    assert domain.session_id_of(a) == sid


@pytest.mark.parametrize(
    "value",
    [
        "",
        "ws_secret_abc",
        "sk_test_abcdefghijklmnopqrstuvwx",
        "ws_01ABC_secret_" + "x" * 32,
        "loan_x_secret_y",
    ],
)
def test_malformed_client_secrets_name_no_session(value: str) -> None:
    assert domain.session_id_of(value) is None


def test_secret_is_checked_against_its_hash_only() -> None:
    secret = domain.new_client_secret(new_id("ws"))
    stored = domain.hash_secret(secret)
    assert secret not in stored and len(stored) == 64
    assert domain.secret_matches(secret, stored)
    assert not domain.secret_matches(secret[:-1] + ("A" if secret[-1] != "A" else "B"), stored)


def test_sealed_data_opens_only_with_the_same_secret_and_session() -> None:
    sid = new_id("ws")
    secret = domain.new_client_secret(sid)
    sealed = domain.seal(secret, sid, {"name": "李明", "phone": "13812345678"})
    assert "13812345678" not in sealed and "李明" not in sealed
    assert domain.unseal(secret, sid, sealed) == {"name": "李明", "phone": "13812345678"}
    assert domain.unseal(domain.new_client_secret(sid), sid, sealed) == {}
    assert domain.unseal(secret, new_id("ws"), sealed) == {}
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    assert domain.unseal(secret, sid, tampered) == {}


def test_keyed_digests_differ_per_secret_and_purpose() -> None:
    s1, s2 = domain.new_client_secret(new_id("ws")), domain.new_client_secret(new_id("ws"))
    assert domain.keyed_digest(s1, "phone", "13812345678") == domain.keyed_digest(s1, "phone", "13812345678")
    assert domain.keyed_digest(s1, "phone", "13812345678") != domain.keyed_digest(s2, "phone", "13812345678")
    assert domain.keyed_digest(s1, "phone", "123456") != domain.keyed_digest(s1, "otp", "123456")
    assert not domain.digests_equal(None, None)


def test_sessions_last_thirty_minutes_by_default_and_five_minutes_to_a_day_when_asked() -> None:
    assert domain.expiry(NOW, None) == NOW + timedelta(minutes=30)
    assert domain.expiry(NOW, 300) == NOW + timedelta(minutes=5)
    assert domain.expiry(NOW, 86400) == NOW + timedelta(days=1)
    for bad in (299, 86401, 0):
        with pytest.raises(InvalidParameter) as exc:
            domain.expiry(NOW, bad)
        assert exc.value.param == "expires_in"


def test_an_open_session_past_its_expiry_is_expired_but_a_completed_one_stays_completed() -> None:
    end = NOW + timedelta(minutes=30)
    assert domain.effective_status("open", end, NOW) is SessionStatus.OPEN
    assert domain.effective_status("open", end, end) is SessionStatus.EXPIRED
    assert domain.effective_status("completed", end, end + timedelta(days=1)) is SessionStatus.COMPLETED


def _stage(**kw: object) -> Stage:
    base: dict[str, object] = {
        "phone_verified": False,
        "identified": False,
        "outcome": None,
        "loan_id": None,
        "signed": False,
    }
    return domain.stage_of(**{**base, **kw})  # type: ignore[arg-type]


def test_stage_follows_the_borrowers_progress() -> None:
    assert _stage() is Stage.START
    assert _stage(phone_verified=True) is Stage.PHONE_VERIFIED
    assert _stage(phone_verified=True, identified=True) is Stage.IDENTIFIED
    assert _stage(phone_verified=True, identified=True, outcome="declined") is Stage.DECLINED
    assert (
        _stage(phone_verified=True, identified=True, outcome="approved", loan_id="loan_1") is Stage.ACCEPTED
    )
    assert _stage(phone_verified=True, outcome="signed", loan_id="loan_1", signed=True) is Stage.SIGNED


def test_details_need_a_verified_phone_then_the_application_the_details() -> None:
    domain.require_stage(Stage.PHONE_VERIFIED, "register")
    domain.require_stage(Stage.IDENTIFIED, "identity_check")
    domain.require_stage(Stage.IDENTIFIED, "apply")
    with pytest.raises(Conflict) as early:
        domain.require_stage(Stage.START, "register")
    assert early.value.code == "widget_step_out_of_order"
    with pytest.raises(Conflict) as undetailed:
        domain.require_stage(Stage.PHONE_VERIFIED, "apply")
    assert undetailed.value.code == "widget_step_out_of_order"


def test_a_session_takes_one_application() -> None:
    for stage in (Stage.APPROVED, Stage.DECLINED, Stage.REVIEW, Stage.ACCEPTED, Stage.SIGNED):
        for action in ("register", "identity_check", "apply", "send_code"):
            with pytest.raises(Conflict) as used:
                domain.require_stage(stage, action)
            assert used.value.code == "widget_session_used"


def test_signing_needs_an_accepted_offer_and_happens_once() -> None:
    domain.require_stage(Stage.ACCEPTED, "sign")
    for stage in (Stage.APPROVED, Stage.SIGNED, Stage.START):
        with pytest.raises(Conflict):
            domain.require_stage(stage, "sign")


def _check(
    code: str, *, attempts: int = 0, livemode: bool = True, now: datetime = NOW, sent: bool = True
) -> bool:
    secret = "ws_x_secret_" + "k" * 32
    return domain.check_code(
        submitted=code,
        submitted_digest=domain.keyed_digest(secret, "otp", code),
        stored_digest=domain.keyed_digest(secret, "otp", "482913") if sent else None,
        expires_at=NOW + timedelta(minutes=5) if sent else None,
        attempts=attempts,
        now=now,
        livemode=livemode,
        policy=POLICY,
    )


def test_the_code_sent_verifies_and_another_code_does_not() -> None:
    assert _check("482913") is True
    assert _check("482914") is False


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"code": "48291"}, "otp_format"),
        ({"code": "48291a"}, "otp_format"),
        ({"code": "482913", "attempts": 5}, "otp_attempts_exceeded"),
        ({"code": "482913", "now": NOW + timedelta(minutes=5)}, "otp_expired"),
    ],
)
def test_codes_that_cannot_be_checked_name_the_code_field(kwargs: dict[str, object], code: str) -> None:
    submitted = str(kwargs.pop("code"))
    with pytest.raises(InvalidParameter) as exc:
        _check(submitted, **kwargs)  # type: ignore[arg-type]
    assert exc.value.param == "code" and exc.value.code == code


def test_verifying_before_a_code_was_sent_is_out_of_order() -> None:
    with pytest.raises(Conflict) as exc:
        _check("482913", sent=False)
    assert exc.value.code == "otp_not_sent"


def test_the_magic_code_works_in_test_mode_only() -> None:
    assert _check(domain.TEST_MODE_CODE, livemode=False) is True
    assert _check(domain.TEST_MODE_CODE, livemode=True) is False


def test_the_magic_code_still_needs_a_code_to_have_been_sent() -> None:
    with pytest.raises(Conflict):
        _check(domain.TEST_MODE_CODE, livemode=False, sent=False)


def test_codes_can_be_resent_after_a_minute_and_five_times_at_most() -> None:
    domain.check_can_send(0, None, NOW, POLICY)
    with pytest.raises(RateLimited) as soon:
        domain.check_can_send(1, NOW - timedelta(seconds=20), NOW, POLICY)
    assert soon.value.retry_after == 40
    domain.check_can_send(1, NOW - timedelta(seconds=60), NOW, POLICY)
    with pytest.raises(Conflict) as limit:
        domain.check_can_send(5, NOW - timedelta(hours=1), NOW, POLICY)
    assert limit.value.code == "otp_send_limit"


def test_codes_are_six_digits() -> None:
    codes = {domain.new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 150


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("https://EduLink.example", "https://edulink.example"),
        ("https://edulink.example/", "https://edulink.example"),
        ("http://127.0.0.1:8100", "http://127.0.0.1:8100"),
        ("https://*.edulink.example", "https://*.edulink.example"),
    ],
)
def test_origins_are_normalised(given: str, normalised: str) -> None:
    assert domain.normalise_origin(given) == normalised


@pytest.mark.parametrize(
    "bad",
    ["edulink.example", "ftp://edulink.example", "https://edulink.example/pay", "https://u:p@x.example", ""],
)
def test_things_that_are_not_origins_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        domain.normalise_origin(bad)


def test_live_mode_allows_listed_origins_and_their_wildcard_subdomains_only() -> None:
    allowed = ["https://edulink.example", "https://*.schools.example"]

    def ok(origin: str | None) -> bool:
        return domain.origin_allowed(origin, allowed, livemode=True)

    assert ok("https://edulink.example") and ok("https://EDULINK.example")
    assert ok("https://a.schools.example") and ok("https://a.b.schools.example")
    assert not ok("https://schools.example")  # the wildcard means subdomains
    assert not ok("https://evil-schools.example") and not ok("https://schools.example.evil")
    assert not ok("http://edulink.example") and not ok("https://edulink.example:8443")
    assert not ok("null") and not ok("https://other.example")
    assert ok(None)  # no Origin header: not a cross-origin page script


def test_test_mode_allows_any_origin() -> None:
    assert domain.origin_allowed("http://localhost:3000", [], livemode=False)


def test_domain_module_is_free_of_frameworks() -> None:
    path = Path(domain.__file__)
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"flask", "sqlalchemy", "marshmallow", "flask_smorest", "celery", "redis"}

"""The decision pipeline on in-memory fakes of every port."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from lendbridge.risk import rules
from lendbridge.risk.decision import (
    ApplicationInput,
    Decision,
    DeviceData,
    Keyer,
    Ports,
    Scenario,
    decide,
    ip_prefix,
    masked_ip,
)
from lendbridge.risk.graph import mark_fraud
from lendbridge.risk.ports import Applicant
from tests.factories.risk import (
    FakeBlacklist,
    FakeBureau,
    FakeCatalog,
    FakeConsents,
    FakeHistory,
    applicant,
    models,
    ports,
    pos_flow_line,
    product,
)

NOON = datetime(2026, 3, 16, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
KEYER = Keyer(b"k" * 32, "ten_test:test")


def inp(app: Applicant, n: int = 1, **overrides: Any) -> ApplicationInput:
    base = ApplicationInput(
        application_id=f"app_{app.borrower_id}_{n}",
        borrower_id=app.borrower_id,
        amount=3_000_000,
        term=12,
        credit_line=False,
        purpose="education",
        monthly_income=2_000_000,
        scenario=Scenario(merchant_id="school_1", enrolment_confirmed=True, delivery_city="310100"),
        device=DeviceData(
            fingerprint=f"fp-{app.borrower_id}", ip=f"10.1.{n % 250}.{n % 200}", lbs_city="310100"
        ),
    )
    return replace(base, **overrides)


def run(
    a: Applicant,
    p: Ports,
    i: ApplicationInput | None = None,
    rs: rules.RuleSet = rules.DEFAULT_RULE_SET,
    now: datetime = NOON,
    **kw: Any,
) -> Decision:
    return decide(
        i or inp(a),
        a,
        p,
        rs,
        models(),
        now=now,
        apr_cap=Decimal("0.24"),
        keyer=KEYER,
        counter_scope="t",
        **kw,
    )


def test_a_good_applicant_is_approved_with_ranked_offers() -> None:
    d = run(applicant(), ports())
    assert d.outcome == "approved" and d.reason_codes == []
    assert 1 <= len(d.offers) <= 3
    aprs = [o.apr_nominal for o in d.offers]
    assert aprs == sorted(aprs)
    assert d.offers[0].product.occupations  # the provident-fund product wins for a teacher
    assert all(o.apr_nominal <= Decimal("0.24") for o in d.offers)


def test_the_decision_record_is_complete() -> None:
    a = applicant()
    d = run(a, ports())
    r = d.record
    for section in (
        "inputs",
        "kyc",
        "consent",
        "fraud",
        "bureau",
        "features",
        "scorecard",
        "challenger",
        "matching",
        "pricing",
        "timings_ms",
        "reason_codes",
        "outcome",
        "rule_set_version",
    ):
        assert section in r, section
    assert r["scorecard"]["model_version"] == "sc-german-1.0.0"
    assert r["challenger"]["model_version"] == "sc-german-1.0.0-coarse" and r["challenger"]["used"] is False
    assert r["bureau"]["report_id"].startswith("bur_")
    assert set(r["timings_ms"]) >= {
        "kyc",
        "consent",
        "fraud",
        "bureau",
        "scoring",
        "matching",
        "pricing",
        "total",
    }
    # personal data appears only masked or as keyed/blind references
    device = r["inputs"]["device"]
    assert device["fingerprint"].startswith("device:") and f"fp-{a.borrower_id}" not in str(r)
    assert device["ip"].endswith(".x")
    assert all(c["checks"] for c in r["matching"]["candidates"])


def test_a_rejected_kyc_declines_and_pending_goes_to_review() -> None:
    assert run(applicant(kyc_status="rejected"), ports()).reason_codes == ["kyc_not_verified"]
    d = run(applicant(kyc_status="pending"), ports())
    assert d.outcome == "review" and d.reason_codes == ["kyc_not_verified"]
    assert d.offers  # the reviewer sees what an approval would give


def test_no_bureau_query_without_consent() -> None:
    a = applicant()
    bureau = FakeBureau()
    d = run(a, ports(consents=FakeConsents({(a.borrower_id, "credit_bureau_query")}), bureau=bureau))
    assert d.outcome == "declined" and d.reason_codes == ["consent_missing"]
    assert bureau.calls == 0


def test_without_alt_data_consent_telecom_spend_is_not_used() -> None:
    a = applicant()
    d = run(a, ports(consents=FakeConsents({(a.borrower_id, "alt_data")})))
    assert d.record["features"]["telecom_monthly_spend"] is None
    assert "telecom_spend" not in d.record["scorecard"]["overlays"]


def test_bureau_down_follows_the_tenant_policy() -> None:
    down = ports(bureau=FakeBureau(down=True))
    d = run(applicant(), down)
    assert d.outcome == "review" and d.reason_codes == ["bureau_unavailable"]
    declining = rules.parse({"policy": {"bureau_unavailable": "decline"}})
    d = run(applicant(), ports(bureau=FakeBureau(down=True)), rs=declining)
    assert d.outcome == "declined" and d.reason_codes == ["bureau_unavailable"]


def test_a_thin_file_is_scored_or_reviewed_as_the_tenant_policy_says() -> None:
    scored = run(applicant(), ports(bureau=FakeBureau(behaviour="thin_file")))
    assert "bureau_thin_file" not in scored.reason_codes
    assert "credit_history" in scored.record["scorecard"]["missing"]
    reviewing = rules.parse({"policy": {"thin_file": "review"}})
    d = run(applicant(), ports(bureau=FakeBureau(behaviour="thin_file")), rs=reviewing)
    assert d.outcome == "review" and "bureau_thin_file" in d.reason_codes
    assert d.offers, "a reviewer approves one of the offers priced before review"
    clean = run(applicant(), ports(bureau=FakeBureau()), rs=reviewing)
    assert "bureau_thin_file" not in clean.reason_codes


def test_a_delinquent_file_is_declined() -> None:
    d = run(applicant(), ports(bureau=FakeBureau(behaviour="delinquent")))
    assert d.outcome == "declined" and d.reason_codes == ["bureau_delinquency"]


def test_many_borrowers_on_one_device_are_stopped() -> None:
    p = ports()
    outcomes = []
    for n in range(4):
        a = applicant()
        d = run(a, p, inp(a, device=DeviceData(fingerprint="shared-device-fp", ip=f"10.9.{n}.1")))
        outcomes.append((d.outcome, d.reason_codes))
    assert outcomes[0][0] == "approved"
    assert outcomes[2] == ("review", ["fraud_device_shared"])
    assert outcomes[3] == ("declined", ["fraud_device_shared"])


def test_application_velocity_per_id_is_stopped() -> None:
    p, a = ports(), applicant()
    results = [run(a, p, inp(a, n)) for n in range(5)]
    assert results[-1].outcome == "declined" and "fraud_velocity" in results[-1].reason_codes
    assert results[0].outcome == "approved"


def test_bulk_applications_at_odd_hours_from_one_network_are_stopped() -> None:
    night = datetime(2026, 3, 15, 19, 10, tzinfo=UTC)  # 03:10 in Shanghai
    p = ports()
    last = None
    for n in range(20):
        a = applicant()
        last = run(a, p, inp(a, device=DeviceData(fingerprint=f"fp{n}", ip=f"203.0.113.{n + 1}")), now=night)
    assert last is not None and last.outcome == "declined"
    assert last.reason_codes == ["fraud_odd_hours_bulk"]
    assert any(h["rule"] == "odd_hours_bulk" and h["count"] == 20 for h in last.record["fraud"]["hits"])


def test_the_same_burst_at_noon_is_not_odd_hours() -> None:
    p = ports()
    for n in range(20):
        a = applicant()
        d = run(a, p, inp(a, device=DeviceData(fingerprint=f"fp{n}", ip=f"203.0.113.{n + 1}")))
    assert "fraud_odd_hours_bulk" not in d.reason_codes


def test_a_blacklisted_phone_declines() -> None:
    a = applicant()
    d = run(a, ports(blacklist=FakeBlacklist({f"phone:{a.phone_index}"})))
    assert d.outcome == "declined" and d.reason_codes == ["fraud_blacklist"]


def test_joining_a_known_fraud_ring_declines_and_says_which_attribute_linked() -> None:
    p = ports()
    fraudster = applicant()
    run(fraudster, p, inp(fraudster, contacts=("13800000001",)))
    assert mark_fraud(p.graph, f"app:app_{fraudster.borrower_id}_1") is not None
    newcomer = applicant()
    d = run(newcomer, p, inp(newcomer, 2, contacts=("13800000001",)))
    assert d.outcome == "declined" and d.reason_codes == ["fraud_ring"]
    graph = d.record["fraud"]["graph"]
    assert graph["known_fraud_applications"] == 1
    assert [link["attribute"] for link in graph["linked_by"] if link["known_fraud"]] == ["phone"]


def test_a_card_holder_mismatch_goes_to_review() -> None:
    d = run(applicant(card_holder_matches=False), ports())
    assert d.outcome == "review" and d.reason_codes == ["identity_mismatch"]


def test_a_reviewer_override_turns_review_findings_into_flags_but_not_declines() -> None:
    assert run(applicant(kyc_status="pending"), ports(), override_review=True).outcome == "approved"
    assert run(applicant(kyc_status="rejected"), ports(), override_review=True).outcome == "declined"


def test_a_low_score_is_declined() -> None:
    strict = rules.parse({"policy": {"min_score": 700}})
    d = run(applicant(), ports(), rs=strict)
    assert d.outcome == "declined" and d.reason_codes == ["score_below_min"]
    assert d.record["scorecard"]["min_score"] == 700


def test_nothing_matching_declines_with_every_reason() -> None:
    p = ports(catalog=FakeCatalog([product(regions=("44",)), product(max_age=30)]))
    d = run(applicant(), p)
    assert d.outcome == "declined"
    assert d.reason_codes == ["no_eligible_product", "region_not_served", "age_out_of_range"]


def test_unaffordable_everywhere_is_dti_too_high() -> None:
    d = run(applicant(), ports(), inp(applicant(), monthly_income=50_000))
    assert d.outcome == "declined" and d.reason_codes == ["no_eligible_product", "dti_too_high"]


def test_no_income_at_all_goes_to_review() -> None:
    class NoIncomeBureau(FakeBureau):
        def fetch(self, request: Any, *, at: datetime) -> Any:
            return replace(super().fetch(request, at=at), estimated_monthly_income=None)

    d = run(applicant(), ports(bureau=NoIncomeBureau()), inp(applicant(), monthly_income=None))
    assert d.outcome == "review" and d.reason_codes == ["income_unknown"]


def test_on_time_payers_get_the_reward_in_their_offers() -> None:
    d = run(applicant(), ports(history=FakeHistory(6)))
    assert all(o.discount == Decimal("0.005") for o in d.offers)


def test_a_business_credit_line() -> None:
    biz = applicant(type="business", age=None, occupation="shop_owner")
    d = run(
        biz,
        ports(catalog=FakeCatalog([pos_flow_line()])),
        inp(
            biz,
            amount=20_000_000,
            term=None,
            credit_line=True,
            purpose="working_capital",
            monthly_income=30_000_000,
        ),
    )
    assert d.outcome == "approved"
    [offer] = d.offers
    assert offer.product.kind == "credit_line" and offer.amount == 20_000_000 and offer.term == 12


def test_an_erased_borrower_cannot_apply() -> None:
    assert run(applicant(erased=True), ports()).reason_codes == ["data_missing"]


def test_ip_helpers_mask_and_group() -> None:
    assert ip_prefix("203.0.113.77") == "203.0.113.0/24"
    assert masked_ip("203.0.113.77") == "203.0.113.x"
    assert ip_prefix("2001:db8::1") == "2001:db8::/48"
    assert ip_prefix("not-an-ip") is None
    assert KEYER("device", "abc") == KEYER("device", " ABC ") != Keyer(b"x" * 32, "other")("device", "abc")

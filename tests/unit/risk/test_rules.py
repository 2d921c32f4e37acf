from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from lendbridge.core.errors import InvalidParameter
from lendbridge.risk import rules
from lendbridge.risk.rules import Hit, in_odd_hours, parse, worst_action


def test_defaults_parse_as_version_zero_with_every_documented_rule() -> None:
    rs = rules.DEFAULT_RULE_SET
    assert rs.version == 0
    codes = {r.code for r in rs.rules}
    assert {"fraud_device_shared", "fraud_ip_burst", "fraud_odd_hours_bulk", "fraud_velocity"} <= codes
    bulk = next(r for r in rs.rules if r.name == "odd_hours_bulk")
    assert (bulk.dimension, bulk.threshold, bulk.action) == ("ip24_night", 20, "decline")
    assert rs.odd_hours == (time(2), time(5))
    assert rs.policy.bureau_unavailable == "review"
    assert rs.policy.offer_ttl_days == 7


def test_a_partial_document_keeps_the_other_defaults() -> None:
    rs = parse({"policy": {"bureau_unavailable": "decline", "overlays": {"telecom_spend": 3}}}, version=4)
    assert rs.version == 4
    assert rs.policy.bureau_unavailable == "decline"
    assert rs.policy.overlays.telecom_spend == 3
    assert rs.policy.overlays.enrolment_confirmed == 6
    assert len(rs.rules) == len(rules.DEFAULT_RULE_SET.rules)


@pytest.mark.parametrize(
    ("document", "param"),
    [
        (
            {
                "rules": [
                    {
                        "name": "x",
                        "dimension": "shoe",
                        "members": "borrowers",
                        "window_hours": 1,
                        "threshold": 2,
                        "action": "review",
                        "code": "fraud_velocity",
                    }
                ]
            },
            "rules.0.dimension",
        ),
        (
            {
                "rules": [
                    {
                        "name": "x",
                        "dimension": "ip",
                        "members": "borrowers",
                        "window_hours": 1,
                        "threshold": 1,
                        "action": "review",
                        "code": "fraud_velocity",
                    }
                ]
            },
            "rules.0.threshold",
        ),
        (
            {
                "rules": [
                    {
                        "name": "x",
                        "dimension": "ip",
                        "members": "borrowers",
                        "window_hours": 1,
                        "threshold": 3,
                        "action": "review",
                        "code": "score_below_min",
                    }
                ]
            },
            "rules.0.code",
        ),
        (
            {
                "rules": [
                    {
                        "name": "x",
                        "dimension": "ip",
                        "members": "borrowers",
                        "threshold": 3,
                        "action": "review",
                        "code": "fraud_ip_burst",
                    }
                ]
            },
            "rules.0.window_hours",
        ),
        ({"policy": {"bureau_unavailable": "ignore"}}, "policy.bureau_unavailable"),
        ({"policy": {"dti_max": 0.5}}, "policy.dti_max"),
        ({"odd_hours": {"start": "25:00"}}, "odd_hours.start"),
        ({"graph": {"growth_threshold": 1}}, "graph.growth_threshold"),
        ({"surprise": {}}, "surprise"),
    ],
)
def test_an_invalid_document_is_a_422_naming_the_field(document: dict[str, object], param: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        parse(document)
    assert err.value.param == param


def test_odd_hours_are_asia_shanghai_time() -> None:
    window = (time(2), time(5))
    assert in_odd_hours(datetime(2026, 3, 1, 19, 30, tzinfo=UTC), window)  # 03:30 in Shanghai
    assert not in_odd_hours(datetime(2026, 3, 1, 3, 30, tzinfo=UTC), window)  # 11:30 in Shanghai
    assert in_odd_hours(datetime(2026, 3, 1, 15, 0, tzinfo=UTC), (time(23), time(1)))  # wraps midnight


def test_the_worst_action_wins() -> None:
    assert worst_action([]) is None
    hits = [Hit("a", "fraud_ip_burst", "flag", ""), Hit("b", "fraud_velocity", "review", "")]
    assert worst_action(hits) == "review"
    assert worst_action([*hits, Hit("c", "fraud_blacklist", "decline", "")]) == "decline"

"""Anti-fraud rules and decision policy: one versioned document per tenant.

The defaults below apply until an administrator stores a tenant's own version
(`/admin/v1/risk/tenants/{id}/rule_sets`). `parse` validates a document and names the
offending field, so a bad update is a 422, never a broken pipeline.

Count rules ask a CounterStore how many distinct members (borrowers or applications) a
dimension (a device fingerprint, an IP, a Wi-Fi BSSID, an ID/phone/card blind index) has
seen within a window; the current application is counted. A rule hits at `threshold` and
its `action` decides what the hit does: `decline`, `review` or `flag` (recorded only).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from lendbridge.core.clock import BUSINESS_TZ
from lendbridge.core.errors import InvalidParameter
from lendbridge.risk.reasons import CATALOGUE, Stage

DIMENSIONS = ("device", "bssid", "ip", "ip24_night", "id", "phone", "card")
MEMBERS = ("borrowers", "applications")
ACTIONS = ("decline", "review", "flag")
SEVERITY = {"flag": 0, "review": 1, "decline": 2}
BLACKLIST_KINDS = ("id", "phone", "card", "device", "bssid", "ip", "contact")

DEFAULT_DOCUMENT: dict[str, Any] = {
    "rules": [
        {
            "name": "device_accounts",
            "dimension": "device",
            "members": "borrowers",
            "window_hours": 720,
            "threshold": 4,
            "action": "decline",
            "code": "fraud_device_shared",
        },
        {
            "name": "device_accounts_soft",
            "dimension": "device",
            "members": "borrowers",
            "window_hours": 720,
            "threshold": 3,
            "action": "review",
            "code": "fraud_device_shared",
        },
        {
            "name": "wifi_accounts",
            "dimension": "bssid",
            "members": "borrowers",
            "window_hours": 168,
            "threshold": 8,
            "action": "review",
            "code": "fraud_device_shared",
        },
        {
            "name": "ip_accounts",
            "dimension": "ip",
            "members": "borrowers",
            "window_hours": 24,
            "threshold": 10,
            "action": "review",
            "code": "fraud_ip_burst",
        },
        {
            "name": "odd_hours_bulk",
            "dimension": "ip24_night",
            "members": "borrowers",
            "window_hours": 3,
            "threshold": 20,
            "action": "decline",
            "code": "fraud_odd_hours_bulk",
        },
        {
            "name": "id_velocity",
            "dimension": "id",
            "members": "applications",
            "window_hours": 24,
            "threshold": 5,
            "action": "decline",
            "code": "fraud_velocity",
        },
        {
            "name": "phone_velocity",
            "dimension": "phone",
            "members": "applications",
            "window_hours": 24,
            "threshold": 5,
            "action": "decline",
            "code": "fraud_velocity",
        },
        {
            "name": "card_velocity",
            "dimension": "card",
            "members": "applications",
            "window_hours": 24,
            "threshold": 5,
            "action": "decline",
            "code": "fraud_velocity",
        },
    ],
    "odd_hours": {"start": "02:00", "end": "05:00"},
    "blacklist_action": "decline",
    "mismatch": {"card_holder": "review", "address": "flag"},
    "graph": {
        "known_fraud_action": "decline",
        "growth_window_hours": 24,
        "growth_threshold": 15,
        "growth_action": "review",
        "max_component_applications": 60,
        "size_action": "review",
    },
    "policy": {
        "bureau_unavailable": "review",
        "thin_file": "score",
        "min_score": None,
        "review_band": 0,
        "dti_max": "0.50",
        "offer_ttl_days": 7,
        "review_above_amount": None,
        "four_eyes_above_amount": 5_000_000,
        "review_sla_hours": 4,
        "max_offers": 3,
        "bureau_cache_days": 30,
        "reference_rate": "0.12",
        "credit_line_term": 12,
        "overlays": {
            "telecom_spend": 8,
            "address_consistent": 4,
            "address_inconsistent": -10,
            "enrolment_confirmed": 6,
        },
        "telecom_spend_min": 15_000,
    },
}


@dataclass(frozen=True)
class CountRule:
    name: str
    dimension: str
    members: str
    window_seconds: float
    threshold: int
    action: str
    code: str


@dataclass(frozen=True)
class GraphRules:
    known_fraud_action: str
    growth_window_seconds: float
    growth_threshold: int
    growth_action: str
    max_component_applications: int
    size_action: str


@dataclass(frozen=True)
class Overlays:
    telecom_spend: int
    address_consistent: int
    address_inconsistent: int
    enrolment_confirmed: int


@dataclass(frozen=True)
class Policy:
    bureau_unavailable: str  # review | decline
    thin_file: str  # score | review: a report without any credit account
    min_score: int | None  # None: decline grade E
    review_band: int  # points above min_score that go to review
    dti_max: Decimal
    offer_ttl_days: int
    review_above_amount: int | None
    four_eyes_above_amount: int
    review_sla_hours: int
    max_offers: int
    bureau_cache_days: int
    reference_rate: Decimal
    credit_line_term: int
    overlays: Overlays
    telecom_spend_min: int


@dataclass(frozen=True)
class RuleSet:
    version: int  # 0: the defaults in code
    rules: tuple[CountRule, ...]
    odd_hours: tuple[time, time]
    blacklist_action: str
    mismatch: Mapping[str, str]
    graph: GraphRules
    policy: Policy
    document: Mapping[str, Any]


def _req(doc: Mapping[str, Any], key: str, path: str) -> Any:
    if not isinstance(doc, Mapping) or key not in doc:
        raise InvalidParameter(f"{path}{key} is required", param=f"{path}{key}")
    return doc[key]


def _int(value: Any, param: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidParameter(f"{param} must be an integer >= {minimum}", param=param)
    return value


def _choice(value: Any, choices: tuple[str, ...], param: str) -> str:
    if value not in choices:
        raise InvalidParameter(f"{param} must be one of {', '.join(choices)}", param=param)
    return str(value)


def _decimal(value: Any, param: str) -> Decimal:
    if isinstance(value, (bool, float)):
        raise InvalidParameter(f"{param} must be a decimal string", param=param)
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise InvalidParameter(f"{param} must be a decimal string", param=param) from None
    if not result.is_finite() or result < 0:
        raise InvalidParameter(f"{param} must be a non-negative decimal", param=param)
    return result


def _clock(value: Any, param: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise InvalidParameter(f"{param} must be HH:MM", param=param) from None


def _hours(value: Any, param: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 24 * 366:
        raise InvalidParameter(f"{param} must be a number of hours between 0 and 8784", param=param)
    return float(value) * 3600


def parse(document: Mapping[str, Any], version: int = 0) -> RuleSet:
    """Validate a rule-set document; InvalidParameter names the field at fault."""
    if not isinstance(document, Mapping):
        raise InvalidParameter("document must be an object", param="document")
    unknown = set(document) - set(DEFAULT_DOCUMENT)
    if unknown:
        raise InvalidParameter(f"unknown section {sorted(unknown)[0]}", param=sorted(unknown)[0])
    doc = merged_with_defaults(document)
    rules = []
    raw_rules = doc["rules"]
    if not isinstance(raw_rules, list):
        raise InvalidParameter("rules must be a list", param="rules")
    names = set()
    for n, raw in enumerate(raw_rules):
        p = f"rules.{n}."
        name = str(_req(raw, "name", p))
        if name in names:
            raise InvalidParameter(f"duplicate rule name {name}", param=p + "name")
        names.add(name)
        code = _req(raw, "code", p)
        if code not in CATALOGUE or CATALOGUE[code].stage is not Stage.FRAUD:
            raise InvalidParameter(f"{p}code must be a fraud reason code", param=p + "code")
        rules.append(
            CountRule(
                name=name,
                dimension=_choice(_req(raw, "dimension", p), DIMENSIONS, p + "dimension"),
                members=_choice(_req(raw, "members", p), MEMBERS, p + "members"),
                window_seconds=_hours(_req(raw, "window_hours", p), p + "window_hours"),
                threshold=_int(_req(raw, "threshold", p), p + "threshold", 2),
                action=_choice(_req(raw, "action", p), ACTIONS, p + "action"),
                code=str(code),
            )
        )
    hours = doc["odd_hours"]
    g = doc["graph"]
    pol = doc["policy"]
    ov = pol["overlays"]
    mismatch = doc["mismatch"]
    for key in ("card_holder", "address"):
        _choice(_req(mismatch, key, "mismatch."), ACTIONS, f"mismatch.{key}")
    min_score = pol["min_score"]
    return RuleSet(
        version=version,
        rules=tuple(rules),
        odd_hours=(
            _clock(_req(hours, "start", "odd_hours."), "odd_hours.start"),
            _clock(_req(hours, "end", "odd_hours."), "odd_hours.end"),
        ),
        blacklist_action=_choice(doc["blacklist_action"], ACTIONS, "blacklist_action"),
        mismatch=dict(mismatch),
        graph=GraphRules(
            known_fraud_action=_choice(g["known_fraud_action"], ACTIONS, "graph.known_fraud_action"),
            growth_window_seconds=_hours(g["growth_window_hours"], "graph.growth_window_hours"),
            growth_threshold=_int(g["growth_threshold"], "graph.growth_threshold", 2),
            growth_action=_choice(g["growth_action"], ACTIONS, "graph.growth_action"),
            max_component_applications=_int(
                g["max_component_applications"], "graph.max_component_applications", 2
            ),
            size_action=_choice(g["size_action"], ACTIONS, "graph.size_action"),
        ),
        policy=Policy(
            bureau_unavailable=_choice(
                pol["bureau_unavailable"], ("review", "decline"), "policy.bureau_unavailable"
            ),
            thin_file=_choice(pol["thin_file"], ("score", "review"), "policy.thin_file"),
            min_score=None if min_score is None else _int(min_score, "policy.min_score"),
            review_band=_int(pol["review_band"], "policy.review_band"),
            dti_max=_decimal(pol["dti_max"], "policy.dti_max"),
            offer_ttl_days=_int(pol["offer_ttl_days"], "policy.offer_ttl_days", 1),
            review_above_amount=None
            if pol["review_above_amount"] is None
            else _int(pol["review_above_amount"], "policy.review_above_amount", 1),
            four_eyes_above_amount=_int(pol["four_eyes_above_amount"], "policy.four_eyes_above_amount"),
            review_sla_hours=_int(pol["review_sla_hours"], "policy.review_sla_hours", 1),
            max_offers=_int(pol["max_offers"], "policy.max_offers", 1),
            bureau_cache_days=_int(pol["bureau_cache_days"], "policy.bureau_cache_days"),
            reference_rate=_decimal(pol["reference_rate"], "policy.reference_rate"),
            credit_line_term=_int(pol["credit_line_term"], "policy.credit_line_term", 1),
            overlays=Overlays(
                telecom_spend=_overlay(ov, "telecom_spend"),
                address_consistent=_overlay(ov, "address_consistent"),
                address_inconsistent=_overlay(ov, "address_inconsistent"),
                enrolment_confirmed=_overlay(ov, "enrolment_confirmed"),
            ),
            telecom_spend_min=_int(pol["telecom_spend_min"], "policy.telecom_spend_min"),
        ),
        document=doc,
    )


def _overlay(ov: Mapping[str, Any], key: str) -> int:
    value = _req(ov, key, "policy.overlays.")
    if isinstance(value, bool) or not isinstance(value, int) or not -100 <= value <= 100:
        raise InvalidParameter(
            f"policy.overlays.{key} must be an integer from -100 to 100", param=f"policy.overlays.{key}"
        )
    return value


def merged_with_defaults(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document with missing sections and keys taken from the defaults (rules replace)."""
    doc = copy.deepcopy(DEFAULT_DOCUMENT)
    for key, value in document.items():
        if isinstance(value, Mapping) and isinstance(doc.get(key), dict):
            section = doc[key]
            for k, v in value.items():
                if isinstance(v, Mapping) and isinstance(section.get(k), dict):
                    section[k] = {**section[k], **v}
                else:
                    section[k] = v
        else:
            doc[key] = copy.deepcopy(value)
    return doc


DEFAULT_RULE_SET = parse({})


def in_odd_hours(at: datetime, window: tuple[time, time]) -> bool:
    """Whether `at` falls in [start, end) Asia/Shanghai (the window may wrap midnight)."""
    local = at.astimezone(BUSINESS_TZ).time()
    start, end = window
    if start <= end:
        return start <= local < end
    return local >= start or local < end


@dataclass(frozen=True)
class Hit:
    rule: str
    code: str
    action: str
    detail: str
    count: int | None = None
    threshold: int | None = None


def worst_action(hits: list[Hit]) -> str | None:
    """The strongest action among the hits (decline > review > flag), None without hits."""
    if not hits:
        return None
    return max((h.action for h in hits), key=lambda a: SEVERITY[a])

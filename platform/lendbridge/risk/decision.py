"""The decision pipeline: KYC -> consent -> anti-fraud -> bureau -> score -> matching ->
pricing -> approved | review | declined, with reason codes and a complete record.

Pure: everything outside (borrowers, consents, counters, graph, bureau, products, loan
history) comes through the ports in `Ports`, so unit tests run it on fakes and the
services run it on the real adapters. Stages that find a hard stop decline at once;
review-level findings are collected and the pipeline goes on, so that a reviewer sees
the offers an approval would give.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from lendbridge.core.clock import business_date
from lendbridge.risk import features as feat
from lendbridge.risk import graph as fraud_graph
from lendbridge.risk import matching, pricing
from lendbridge.risk import scorecard as sc
from lendbridge.risk.ports import (
    Applicant,
    Blacklist,
    BorrowerHistory,
    BureauPort,
    BureauReport,
    BureauRequest,
    BureauUnavailable,
    ConsentChecker,
    CounterStore,
    ProductCatalog,
)
from lendbridge.risk.rules import SEVERITY, Hit, RuleSet, in_odd_hours, worst_action

BUREAU_CONSENT = "credit_bureau_query"
ALT_DATA_CONSENT = "alt_data"
SERIOUS_DPD = 90


@dataclass(frozen=True)
class DeviceData:
    fingerprint: str | None = None
    ip: str | None = None
    wifi_bssid: str | None = None
    lbs_city: str | None = None
    ip_city: str | None = None


@dataclass(frozen=True)
class Scenario:
    course_id: str | None = None
    tuition: int | None = None
    merchant_id: str | None = None
    disburse_to_merchant: bool = False
    enrolment_confirmed: bool | None = None
    delivery_city: str | None = None


@dataclass(frozen=True)
class ApplicationInput:
    application_id: str
    borrower_id: str
    amount: int | None
    term: int | None
    credit_line: bool
    purpose: str
    method: str | None = None
    monthly_income: int | None = None
    scenario: Scenario = field(default_factory=Scenario)
    device: DeviceData = field(default_factory=DeviceData)
    contacts: tuple[str, ...] = ()
    consent_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ports:
    consents: ConsentChecker
    bureau: BureauPort
    counters: CounterStore
    catalog: ProductCatalog
    history: BorrowerHistory
    graph: fraud_graph.NodeStore
    blacklist: Blacklist


@dataclass(frozen=True)
class Models:
    champion: sc.Scorecard
    challenger: sc.Scorecard | None = None


@dataclass
class Decision:
    outcome: str  # approved | review | declined
    reason_codes: list[str]
    offers: list[pricing.Priced]
    record: dict[str, Any]
    score: int | None = None
    grade: str | None = None
    bureau_report: BureauReport | None = None


class Keyer:
    """Keyed hashes for attribute values (device, IP, contacts...): linkable, not readable.

    HMAC-SHA256 under a per-deployment risk key, separated per tenant and kind, so raw
    device fingerprints, IPs or contact phones never reach the database, Redis or a record.
    """

    def __init__(self, secret: bytes, tenant_scope: str) -> None:
        self._key = hmac.new(
            secret, b"lendbridge/risk-keys/v1|" + tenant_scope.encode(), hashlib.sha256
        ).digest()

    def __call__(self, kind: str, value: str) -> str:
        digest = hmac.new(self._key, f"{kind}|{value.strip().lower()}".encode(), hashlib.sha256).hexdigest()
        return f"{kind}:{digest[:24]}"


def ip_prefix(ip: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network of an address, None when not an address."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    bits = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{bits}", strict=False))


def is_countable_ip(ip: str) -> bool:
    """Loopback, link-local and unspecified addresses say nothing about who applies (they
    are the partner's own server or a local test setup, shared by every applicant), so IP
    rules do not count them. Private ranges still count: a ring in one office shares one."""
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    return not (addr.is_loopback or addr.is_link_local or addr.is_unspecified)


def masked_ip(ip: str | None) -> str | None:
    prefix = ip_prefix(ip)
    if prefix is None:
        return None
    if ":" in prefix:
        return prefix
    return prefix.rsplit(".", 1)[0] + ".x"


class _Timer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._start = time.perf_counter()
        self._mark = self._start

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = round((now - self._mark) * 1000, 3)
        self._mark = now

    def total(self) -> float:
        return round((time.perf_counter() - self._start) * 1000, 3)


def attribute_keys(
    inp: ApplicationInput, applicant: Applicant, keyer: Callable[[str, str], str]
) -> dict[str, str]:
    """Graph/counter keys of the application's attributes: kind -> key."""
    keys: dict[str, str] = {}
    for kind, index in (
        ("id", applicant.id_index),
        ("phone", applicant.phone_index),
        ("card", applicant.card_index),
    ):
        if index:
            keys[kind] = f"{kind}:{index}"
    d = inp.device
    if d.fingerprint:
        keys["device"] = keyer("device", d.fingerprint)
    if d.wifi_bssid:
        keys["bssid"] = keyer("bssid", d.wifi_bssid)
    if d.ip and ip_prefix(d.ip) and is_countable_ip(d.ip):
        keys["ip"] = keyer("ip", d.ip)
        keys["ip24"] = keyer("ip24", ip_prefix(d.ip) or "")
    for n, contact in enumerate(inp.contacts):
        keys[f"contact{n}"] = keyer("phone", contact)
    return keys


def _evaluate_fraud(
    inp: ApplicationInput,
    applicant: Applicant,
    keys: Mapping[str, str],
    rules: RuleSet,
    ports: Ports,
    now: datetime,
    counter_scope: str,
) -> tuple[list[Hit], dict[str, Any]]:
    hits: list[Hit] = []
    at = now.timestamp()
    night = in_odd_hours(now, rules.odd_hours)
    wanted: dict[str, tuple[str, float]] = {}
    applicable = []
    for rule in rules.rules:
        dim = "ip24" if rule.dimension == "ip24_night" else rule.dimension
        key = keys.get(dim)
        if key is None or (rule.dimension == "ip24_night" and not night):
            continue
        member = applicant.borrower_id if rule.members == "borrowers" else inp.application_id
        counter_key = f"{counter_scope}:{rule.dimension}:{rule.members}:{int(rule.window_seconds)}:{key}"
        wanted[counter_key] = (member, rule.window_seconds)
        applicable.append((rule, counter_key))
    items = [(k, m, w) for k, (m, w) in wanted.items()]
    counts = dict(zip(wanted, ports.counters.add_and_count_many(items, at) if items else [], strict=True))
    for rule, counter_key in applicable:
        count = counts[counter_key]
        if count >= rule.threshold:
            hits.append(
                Hit(
                    rule.name,
                    rule.code,
                    rule.action,
                    f"{count} {rule.members} on one {rule.dimension} within {rule.window_seconds / 3600:g} h",
                    count,
                    rule.threshold,
                )
            )
    listed = ports.blacklist.hits([(k, v) for k, v in keys.items() if not k.startswith("contact")])
    for kind, _ in listed:
        hits.append(Hit("blacklist", "fraud_blacklist", rules.blacklist_action, f"{kind} is blacklisted"))
    if applicant.card_holder_matches is False:
        hits.append(
            Hit(
                "card_holder_mismatch",
                "identity_mismatch",
                rules.mismatch["card_holder"],
                "card holder name differs from the ID name",
            )
        )
    graph_keys = sorted({v for k, v in keys.items() if k != "ip24"})
    joined = fraud_graph.join(
        ports.graph,
        f"app:{inp.application_id}",
        graph_keys,
        now=at,
        window_seconds=rules.graph.growth_window_seconds,
    )
    g = rules.graph
    if joined.joined_known_fraud:
        via = sorted({link.attribute for link in joined.links if link.fraud > 0})
        hits.append(
            Hit(
                "graph_known_fraud",
                "fraud_ring",
                g.known_fraud_action,
                f"shares {', '.join(via)} with a component containing known fraud",
            )
        )
    if joined.window_count >= g.growth_threshold:
        hits.append(
            Hit(
                "graph_growth",
                "fraud_ring",
                g.growth_action,
                f"component grew by {joined.window_count} applications within "
                f"{g.growth_window_seconds / 3600:g} h",
                joined.window_count,
                g.growth_threshold,
            )
        )
    if joined.applications >= g.max_component_applications:
        hits.append(
            Hit(
                "graph_size",
                "fraud_ring",
                g.size_action,
                f"component holds {joined.applications} applications",
                joined.applications,
                g.max_component_applications,
            )
        )
    graph_info = {
        "component": joined.root,
        "applications": joined.applications,
        "known_fraud_applications": joined.fraud,
        "growth_in_window": joined.window_count,
        **fraud_graph.component_summary(joined.links),
    }
    return hits, {"night_window": night, "graph": graph_info}


def decide(
    inp: ApplicationInput,
    applicant: Applicant,
    ports: Ports,
    rules: RuleSet,
    models: Models,
    *,
    now: datetime,
    apr_cap: Decimal,
    keyer: Callable[[str, str], str],
    counter_scope: str,
    override_review: bool = False,
) -> Decision:
    """Decide one application. `override_review` (a reviewer approving) turns review-level
    findings into recorded flags; declines still decline."""
    timer = _Timer()
    reasons: list[str] = []
    review: list[str] = []
    policy = rules.policy
    record: dict[str, Any] = {
        "pipeline_version": "risk-pipeline-1",
        "rule_set_version": rules.version,
        "inputs": _inputs_record(inp, applicant, keyer),
        "override_review": override_review,
    }

    def add(code: str, action: str) -> None:
        if action == "decline" and code not in reasons:
            reasons.append(code)
        elif action == "review" and not override_review and code not in review:
            review.append(code)

    def finish(
        outcome: str,
        offers: Sequence[pricing.Priced] = (),
        score: sc.ScoreResult | None = None,
        report: BureauReport | None = None,
        grade: str | None = None,
    ) -> Decision:
        if outcome == "declined":
            codes = reasons + [c for c in review if c not in reasons]
        elif outcome == "review":
            codes = list(review)
        else:
            codes = []
        record["outcome"] = outcome
        record["reason_codes"] = codes
        record["timings_ms"] = {**timer.timings, "total": timer.total()}
        return Decision(outcome, codes, list(offers), record, score.score if score else None, grade, report)

    # 1. KYC --------------------------------------------------------------------------
    record["kyc"] = {"status": applicant.kyc_status, "erased": applicant.erased}
    if applicant.erased:
        add("data_missing", "decline")
        timer.lap("kyc")
        return finish("declined")
    if applicant.kyc_status == "rejected":
        add("kyc_not_verified", "decline")
        timer.lap("kyc")
        return finish("declined")
    if applicant.kyc_status != "verified":
        add("kyc_not_verified", "review")
    timer.lap("kyc")

    # 2. consent ----------------------------------------------------------------------
    wanted = (BUREAU_CONSENT, ALT_DATA_CONSENT)
    in_force = ports.consents.consents_in_force(applicant.borrower_id, wanted, now)
    bureau_ok, alt_ok = BUREAU_CONSENT in in_force, ALT_DATA_CONSENT in in_force
    record["consent"] = {"credit_bureau_query": bureau_ok, "alt_data": alt_ok, "ids": list(inp.consent_ids)}
    if not bureau_ok:
        add("consent_missing", "decline")
        timer.lap("consent")
        return finish("declined")
    timer.lap("consent")

    # 3. anti-fraud -------------------------------------------------------------------
    keys = attribute_keys(inp, applicant, keyer)
    hits, fraud_info = _evaluate_fraud(inp, applicant, keys, rules, ports, now, counter_scope)
    address = feat.address_consistency(
        applicant.region_code, inp.scenario.delivery_city, inp.device.lbs_city, inp.device.ip_city
    )
    if address.consistent is False:
        hits.append(
            Hit(
                "address_consistency",
                "address_inconsistent",
                rules.mismatch["address"],
                "ID region, delivery city and device city disagree",
            )
        )
    record["fraud"] = {
        "rule_set_version": rules.version,
        "hits": [
            {
                "rule": h.rule,
                "code": h.code,
                "action": h.action,
                "detail": h.detail,
                "count": h.count,
                "threshold": h.threshold,
            }
            for h in hits
        ],
        **fraud_info,
    }
    for h in sorted(hits, key=lambda h: -SEVERITY[h.action]):
        add(h.code, h.action)
    timer.lap("fraud")
    if worst_action(hits) == "decline":
        return finish("declined")

    # 4. bureau and alternative data -------------------------------------------------
    report: BureauReport | None = None
    if not applicant.id_index:
        add("data_missing", "review")
        record["bureau"] = {"status": "skipped", "reason": "no ID blind index for the subject"}
    else:
        try:
            report = ports.bureau.fetch(
                BureauRequest(
                    applicant.id_index,
                    applicant.borrower_id,
                    applicant.region_code,
                    applicant.age,
                    include_alt_data=alt_ok,
                    id_tail=applicant.id_tail,
                ),
                at=now,
            )
            record["bureau"] = {
                "status": "cached" if report.cached else "fetched",
                "report_id": report.report_id,
            }
        except BureauUnavailable as exc:
            record["bureau"] = {
                "status": "unavailable",
                "cause": exc.cause,
                "policy": policy.bureau_unavailable,
            }
            add("bureau_unavailable", "decline" if policy.bureau_unavailable == "decline" else "review")
    timer.lap("bureau")
    if reasons:
        return finish("declined")
    if report is None:
        return finish("review" if review else "declined")
    if report.current_overdue or report.max_dpd_24m >= SERIOUS_DPD:
        add("bureau_delinquency", "decline")
        return finish("declined", report=report)
    if not report.accounts and policy.thin_file == "review":
        add("bureau_thin_file", "review")

    # 5. features and score -----------------------------------------------------------
    on_time = ports.history.consecutive_on_time_instalments(applicant.borrower_id)
    term = inp.term if inp.term is not None else policy.credit_line_term
    amount = inp.amount if inp.amount is not None else 0
    features = feat.build_features(
        applicant=applicant,
        report=report,
        amount=amount,
        term=term,
        purpose=inp.purpose,
        monthly_income=inp.monthly_income,
        enrolment_confirmed=inp.scenario.enrolment_confirmed,
        address=address,
        on_time_instalments=on_time,
        policy=policy,
    )
    inputs = feat.scorecard_inputs(features)
    champion = sc.score(models.champion, inputs)
    overlays = feat.overlay_points(features, policy)
    decision_score = champion.score + sum(overlays.values())
    grade = models.champion.grade_for(decision_score)
    challenger = sc.score(models.challenger, inputs) if models.challenger else None
    min_score = policy.min_score
    if min_score is None:
        e_band = [g.min_score for g in models.champion.grades if g.min_score is not None]
        min_score = int(min(e_band)) if e_band else 0
    record["features"] = features
    record["scorecard"] = {
        "model_version": champion.version,
        "inputs": inputs,
        "score": champion.score,
        "p_bad": champion.p_bad,
        "points": champion.points,
        "missing": list(champion.missing),
        "overlays": overlays,
        "decision_score": decision_score,
        "grade": grade,
        "min_score": min_score,
    }
    record["challenger"] = (
        {
            "model_version": challenger.version,
            "score": challenger.score,
            "grade": challenger.grade,
            "p_bad": challenger.p_bad,
            "used": False,
        }
        if challenger
        else None
    )
    timer.lap("scoring")
    if decision_score < min_score:
        add("score_below_min", "decline")
        return finish("declined", score=champion, report=report, grade=grade)
    if decision_score < min_score + policy.review_band:
        add("score_review_band", "review")
    if features["monthly_income"] is None:
        add("income_unknown", "review")

    # 6. matching ---------------------------------------------------------------------
    region, region_source = matching.choose_region(
        inp.device.lbs_city, inp.device.ip_city, applicant.region_code
    )
    req = matching.MatchRequest(
        borrower_type=applicant.type,
        amount=inp.amount,
        term=inp.term,
        credit_line=inp.credit_line,
        age=applicant.age,
        region_code=region,
        region_source=region_source,
        occupation=feat.normalise_occupation(applicant.occupation),
        score=decision_score,
        grade=grade,
        merchant_id=inp.scenario.merchant_id,
        to_merchant=inp.scenario.disburse_to_merchant,
    )
    candidates = matching.match(ports.catalog.available_products(), req)
    record["matching"] = {
        "region": region,
        "region_source": region_source,
        "candidates": [c.explain() for c in candidates],
    }
    timer.lap("matching")
    matched = [c for c in candidates if c.matched]
    if not matched:
        for code in matching.decline_reasons(candidates):
            add(code, "decline")
        return finish("declined", score=champion, report=report, grade=grade)

    # 7. pricing ----------------------------------------------------------------------
    start = business_date(now)
    priced: list[pricing.Priced] = []
    explained: list[dict[str, object]] = []
    not_priced_codes: list[str] = []
    for c in matched:
        p = c.product
        if inp.credit_line:
            offer_amount = min(inp.amount or p.max_amount, p.max_amount)
            offer_term = min(max(policy.credit_line_term, p.min_term), p.max_term)
        else:
            offer_amount, offer_term = amount, term
        result = pricing.price(
            p,
            pricing.PricingRequest(
                grade=grade,
                amount=offer_amount,
                term=offer_term,
                start_date=start,
                apr_cap=apr_cap,
                on_time_instalments=on_time,
                monthly_income=features["monthly_income"],  # type: ignore[arg-type]
                existing_monthly_debt=report.monthly_debt_payment,
                dti_max=policy.dti_max,
                method=inp.method,
            ),
        )
        explained.append(result.explain())
        if isinstance(result, pricing.Priced):
            priced.append(result)
        elif result.reason not in not_priced_codes:
            not_priced_codes.append(result.reason)
    priced.sort(key=lambda o: (o.apr_nominal, -o.amount, o.product.product_id))
    priced = priced[: policy.max_offers]
    record["pricing"] = explained
    timer.lap("pricing")
    if not priced:
        for code in ["no_eligible_product", *not_priced_codes]:
            add(code, "decline")
        return finish("declined", score=champion, report=report, grade=grade)
    if policy.review_above_amount is not None and max(o.amount for o in priced) > policy.review_above_amount:
        add("amount_requires_review", "review")
    return finish("review" if review else "approved", priced, champion, report, grade)


def _inputs_record(
    inp: ApplicationInput, applicant: Applicant, keyer: Callable[[str, str], str]
) -> dict[str, Any]:
    """The decision's inputs with personal data masked or referenced by keyed hash."""
    d, s = inp.device, inp.scenario
    return {
        "application": inp.application_id,
        "borrower": {
            "id": applicant.borrower_id,
            "type": applicant.type,
            "kyc_status": applicant.kyc_status,
            "age": applicant.age,
            "region_code": applicant.region_code,
            "occupation": applicant.occupation,
            "employer_known": applicant.employer_known,
            "address_city": applicant.address_city,
            "id_index": applicant.id_index,
            "phone_index": applicant.phone_index,
            "card_index": applicant.card_index,
        },
        "request": {
            "amount": inp.amount,
            "term": inp.term,
            "credit_line": inp.credit_line,
            "purpose": inp.purpose,
            "method": inp.method,
            "monthly_income": inp.monthly_income,
        },
        "scenario": {
            "course_id": s.course_id,
            "tuition": s.tuition,
            "merchant_id": s.merchant_id,
            "disburse_to_merchant": s.disburse_to_merchant,
            "enrolment_confirmed": s.enrolment_confirmed,
            "delivery_city": s.delivery_city,
        },
        "device": {
            "fingerprint": keyer("device", d.fingerprint) if d.fingerprint else None,
            "ip": masked_ip(d.ip),
            "wifi_bssid": keyer("bssid", d.wifi_bssid) if d.wifi_bssid else None,
            "lbs_city": d.lbs_city,
            "ip_city": d.ip_city,
        },
        "contacts": [keyer("phone", c) for c in inp.contacts],
        "consent_ids": list(inp.consent_ids),
    }


def offer_expiry(now: datetime, rules: RuleSet) -> datetime:
    return now + timedelta(days=rules.policy.offer_ttl_days)

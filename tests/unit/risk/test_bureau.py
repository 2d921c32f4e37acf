"""The bureau simulator and the adapter's budget, circuit breaker and cache."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lendbridge.risk.bureau import BureauClient, CachedBureau
from lendbridge.risk.ports import BureauRequest, BureauUnavailable
from lendbridge_sandbox.bureau import BureauError, BureauSimulator, report_for

NOW = datetime(2026, 3, 16, 4, 0, tzinfo=UTC)


def no_sleep(seconds: float) -> None:
    return None


def test_reports_are_deterministic_per_subject_and_realistic() -> None:
    a = report_for("subject-a", seed="s", now=NOW)
    assert a == report_for("subject-a", seed="s", now=NOW)
    assert a != report_for("subject-b", seed="s", now=NOW)
    many = [report_for(f"s{n}", seed="s", now=NOW) for n in range(300)]
    assert any(r["accounts"] for r in many) and any(not r["accounts"] for r in many)
    accounts = [acc for r in many for acc in r["accounts"]]
    assert {acc["kind"] for acc in accounts} >= {"credit_card", "consumer_loan", "mortgage"}
    assert any(acc["worst_dpd_24m"] > 0 for acc in accounts)
    assert all(acc["balance"] <= acc["limit"] for acc in accounts)
    assert all(r["telecom_monthly_spend"] is None for r in many)
    assert report_for("x", seed="s", include_alt_data=True, now=NOW)["telecom_monthly_spend"] > 0


def test_magic_id_sequences_script_every_path() -> None:
    sim = BureauSimulator(sleep=no_sleep)
    assert sim.behaviour("s", "9977") == "delinquent"
    delinquent = sim.query("s", id_tail="9972", now=NOW)
    assert any(a["status"] == "overdue" and a["worst_dpd_24m"] >= 90 for a in delinquent["accounts"])
    assert sim.query("s", id_tail="9963", now=NOW)["accounts"] == []
    with pytest.raises(BureauError):
        sim.query("s", id_tail="998X", now=NOW)
    assert sim.behaviour("s", "1234") == "normal"


def test_latency_is_drawn_from_the_configured_range() -> None:
    slept: list[float] = []
    sim = BureauSimulator(sleep=slept.append)
    for n in range(50):
        sim.query(f"s{n}", now=NOW)
    assert all(0.05 <= s <= 0.15 for s in slept) and max(slept) - min(slept) > 0.03
    assert sim.queries == 50


def test_outage_and_forced_behaviours_are_injectable() -> None:
    sim = BureauSimulator(sleep=no_sleep)
    sim.outage = True
    with pytest.raises(BureauError):
        sim.query("s", now=NOW)
    sim.clear()
    sim.force("s", "timeout")
    assert sim.behaviour("s") == "timeout"
    with pytest.raises(ValueError):
        sim.force("s", "explode")


class MemoryCache:
    def __init__(self) -> None:
        self.rows: list[tuple[str, dict[str, Any], bool, datetime, str]] = []

    def latest(self, subject: str, since: datetime) -> tuple[str, dict[str, Any], bool] | None:
        hits = [r for r in self.rows if r[4] == subject and r[3] >= since]
        return (hits[-1][0], hits[-1][1], hits[-1][2]) if hits else None

    def store(self, request: BureauRequest, raw: Any, at: datetime) -> str:
        rid = f"bur_{len(self.rows)}"
        self.rows.append((rid, dict(raw), request.include_alt_data, at, request.subject))
        return rid


def test_a_hung_bureau_is_abandoned_within_the_budget() -> None:
    sim = BureauSimulator(hang_seconds=2.0)
    sim.force("slow", "timeout")
    client = BureauClient(sim, timeout=0.2)
    started = time.perf_counter()
    with pytest.raises(BureauUnavailable) as err:
        client.query("slow", id_tail=None, include_alt_data=False, now=NOW)
    assert err.value.cause == "timeout"
    assert time.perf_counter() - started < 0.35
    client.shutdown()


def test_the_circuit_opens_after_repeated_failures_and_then_fails_fast() -> None:
    sim = BureauSimulator(sleep=no_sleep)
    sim.outage = True
    client = BureauClient(sim, timeout=0.2, fail_max=3, reset_timeout=60)
    causes = []
    for _ in range(5):
        with pytest.raises(BureauUnavailable) as err:
            client.query("s", id_tail=None, include_alt_data=False, now=NOW)
        causes.append(err.value.cause)
    assert causes[:2] == ["error", "error"]
    assert causes[2:] == ["circuit_open"] * 3
    assert sim.queries == 3  # an open circuit does not call the bureau
    assert client.circuit_state == "open"


def test_the_cache_serves_within_its_window_and_drops_withdrawn_alt_data() -> None:
    sim = BureauSimulator(sleep=no_sleep)
    cached = CachedBureau(BureauClient(sim), MemoryCache(), timedelta(days=30))
    with_alt = BureauRequest("subj", "brw_1", include_alt_data=True)
    first = cached.fetch(with_alt, at=NOW)
    assert not first.cached and first.telecom_monthly_spend is not None
    again = cached.fetch(with_alt, at=NOW + timedelta(days=3))
    assert again.cached and again.report_id == first.report_id and sim.queries == 1
    without_alt = cached.fetch(BureauRequest("subj", "brw_1"), at=NOW + timedelta(days=4))
    assert without_alt.cached and without_alt.telecom_monthly_spend is None
    stale = cached.fetch(with_alt, at=NOW + timedelta(days=31))
    assert not stale.cached and sim.queries == 2


def test_a_cached_report_without_alt_data_is_refetched_once_alt_data_is_consented() -> None:
    sim = BureauSimulator(sleep=no_sleep)
    cached = CachedBureau(BureauClient(sim), MemoryCache(), timedelta(days=30))
    cached.fetch(BureauRequest("subj", "brw_1"), at=NOW)
    report = cached.fetch(BureauRequest("subj", "brw_1", include_alt_data=True), at=NOW)
    assert not report.cached and report.telecom_monthly_spend is not None


def test_a_slow_bureau_within_the_budget_still_answers() -> None:
    sim = BureauSimulator(latency_ms=(140.0, 150.0))
    client = BureauClient(sim, timeout=0.2)
    report = client.query("slow-but-fine", id_tail=None, include_alt_data=False, now=NOW)
    assert report["subject"] == "slow-but-fine"
    client.shutdown()


def _timed_queries(client: BureauClient, subjects: list[str]) -> tuple[float, list[Any]]:
    """Query all subjects at once from as many threads; (seconds for all, results or errors)."""
    results: list[Any] = [None] * len(subjects)

    def one(i: int) -> None:
        try:
            results[i] = client.query(subjects[i], id_tail=None, include_alt_data=False, now=NOW)
        except BureauUnavailable as exc:
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(subjects))]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, results


def test_concurrent_queries_run_side_by_side_not_one_at_a_time() -> None:
    # pybreaker holds its lock for a whole breaker.call; eight 100 ms queries through it
    # took 0.8 s. Through the client they overlap.
    sim = BureauSimulator(latency_ms=(100.0, 100.0))
    client = BureauClient(sim, timeout=0.2)
    seconds, results = _timed_queries(client, [f"s{n}" for n in range(8)])
    assert all(isinstance(r, dict) for r in results)
    assert seconds < 0.6  # one at a time: 0.8 s
    client.shutdown()


def test_after_the_reset_timeout_one_trial_goes_through_and_the_rest_fail_fast() -> None:
    sim = BureauSimulator(latency_ms=(150.0, 150.0))
    sim.outage = True
    client = BureauClient(sim, timeout=0.3, fail_max=2, reset_timeout=0.2)
    for _ in range(2):
        with pytest.raises(BureauUnavailable):
            client.query("s", id_tail=None, include_alt_data=False, now=NOW)
    assert client.circuit_state == "open"
    sim.outage = False
    time.sleep(0.25)
    before = sim.queries
    seconds, results = _timed_queries(client, [f"t{n}" for n in range(4)])
    trials = [r for r in results if isinstance(r, dict)]
    failed_fast = [r for r in results if isinstance(r, BureauUnavailable)]
    assert len(trials) == 1 and sim.queries == before + 1
    assert {e.cause for e in failed_fast} == {"circuit_open"} and len(failed_fast) == 3
    assert client.circuit_state == "closed"
    client.shutdown()


def test_a_report_that_arrives_after_the_circuit_opened_is_still_used() -> None:
    sim = BureauSimulator(latency_ms=(150.0, 150.0))
    client = BureauClient(sim, timeout=0.3)
    opener = threading.Timer(0.05, client.breaker.open)  # other queries failed meanwhile
    opener.start()
    report = client.query("late", id_tail=None, include_alt_data=False, now=NOW)
    assert report["subject"] == "late" and client.circuit_state == "open"
    client.shutdown()

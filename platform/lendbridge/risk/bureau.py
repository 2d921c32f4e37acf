"""The bureau adapter: budget, circuit breaker and a cache in front of the bureau.

- Budget: each query runs on a small thread pool and is abandoned after `timeout`
  (200 ms by default), queueing included, so a slow or hung bureau never holds a
  decision longer than that.
- Circuit breaker (pybreaker): after `fail_max` consecutive failures the circuit opens
  and queries fail at once for `reset_timeout` seconds, then one trial query decides.
- Cache: a report is reused for the same person within `bureau_cache_days`, only while
  the consent is still valid (the pipeline checks consent before asking), and telecom
  data is dropped from a cached report when the alt-data consent no longer holds.

The embedded platform talks to the in-process simulator (sandbox/lendbridge_sandbox/
bureau.py); a production bureau client implements the same `query` signature.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import pybreaker

from lendbridge.risk.ports import BureauAccount, BureauReport, BureauRequest, BureauUnavailable


class BureauBackend(Protocol):
    def query(
        self,
        subject: str,
        *,
        id_tail: str | None = None,
        include_alt_data: bool = False,
        now: datetime | None = None,
    ) -> dict[str, Any]: ...


class ReportCache(Protocol):
    def latest(self, subject: str, since: datetime) -> tuple[str, dict[str, Any], bool] | None:
        """(our report id, raw report, had alt data) of the newest report fetched since `since`."""
        ...

    def store(self, request: BureauRequest, raw: Mapping[str, Any], at: datetime) -> str:
        """Keep a fetched report; return our report id."""
        ...


def parse_report(report_id: str, raw: Mapping[str, Any], *, cached: bool) -> BureauReport:
    try:
        accounts = tuple(
            BureauAccount(
                kind=str(a["kind"]),
                lender=str(a["lender"]),
                limit=int(a["limit"]),
                balance=int(a["balance"]),
                monthly_payment=int(a["monthly_payment"]),
                status=str(a["status"]),
                worst_dpd_24m=int(a["worst_dpd_24m"]),
            )
            for a in raw["accounts"]
        )
        return BureauReport(
            report_id=report_id,
            subject=str(raw["subject"]),
            generated_at=datetime.fromisoformat(str(raw["generated_at"])),
            accounts=accounts,
            inquiries_3m=int(raw["inquiries_3m"]),
            inquiries_6m=int(raw["inquiries_6m"]),
            telecom_monthly_spend=None
            if raw.get("telecom_monthly_spend") is None
            else int(raw["telecom_monthly_spend"]),
            estimated_monthly_income=None
            if raw.get("estimated_monthly_income") is None
            else int(raw["estimated_monthly_income"]),
            cached=cached,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BureauUnavailable("malformed report") from exc


class BureauClient:
    """Process-wide: the thread pool, the circuit breaker and the backend."""

    def __init__(
        self,
        backend: BureauBackend,
        *,
        timeout: float = 0.2,
        fail_max: int = 5,
        reset_timeout: float = 30.0,
        workers: int = 16,
        breaker_storage: pybreaker.CircuitBreakerStorage | None = None,
    ) -> None:
        self.backend = backend
        self.timeout = timeout
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max, reset_timeout=reset_timeout, state_storage=breaker_storage, name="bureau"
        )
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lendbridge-bureau")
        self._trial_lock = threading.Lock()

    def _call(
        self, subject: str, id_tail: str | None, include_alt_data: bool, now: datetime
    ) -> dict[str, Any]:
        future = self._pool.submit(
            self.backend.query, subject, id_tail=id_tail, include_alt_data=include_alt_data, now=now
        )
        try:
            return future.result(timeout=self.timeout)
        except FutureTimeout:
            future.cancel()
            raise BureauUnavailable("timeout") from None
        except BureauUnavailable:
            raise
        except Exception as exc:  # the backend's own failure, whatever its type
            raise BureauUnavailable("error") from exc

    def query(
        self, subject: str, *, id_tail: str | None, include_alt_data: bool, now: datetime
    ) -> dict[str, Any]:
        # pybreaker holds its lock for the whole of `breaker.call`, which would let one
        # bureau query at a time through per process (pybreaker issue #3): concurrent
        # decisions queued behind each other, outside the time budget. While the circuit
        # is closed the query runs outside the breaker and only its outcome goes through.
        if self.breaker.current_state != pybreaker.STATE_CLOSED:
            return self._trial(subject, id_tail, include_alt_data, now)
        try:
            result = self._call(subject, id_tail, include_alt_data, now)
        except BureauUnavailable as exc:
            self._record(exc)
            raise
        self._record(None)
        return result

    def _record(self, failure: BureauUnavailable | None) -> None:
        """Count an outcome in the breaker (a lock held for microseconds). A failure that
        opens the circuit, or comes after it opened, is reported as circuit_open."""

        def outcome() -> None:
            if failure is not None:
                raise failure

        try:
            self.breaker.call(outcome)
        except pybreaker.CircuitBreakerError:
            if failure is not None:
                raise BureauUnavailable("circuit_open") from None
            # a success after other queries opened the circuit: the report is still good

    def _trial(
        self, subject: str, id_tail: str | None, include_alt_data: bool, now: datetime
    ) -> dict[str, Any]:
        """Open or half-open: the breaker fails fast until its reset timeout, then lets one
        trial query through; meanwhile every other query of this process fails fast too."""
        if not self._trial_lock.acquire(blocking=False):
            raise BureauUnavailable("circuit_open")
        try:
            result: dict[str, Any] = self.breaker.call(self._call, subject, id_tail, include_alt_data, now)
            return result
        except pybreaker.CircuitBreakerError:
            raise BureauUnavailable("circuit_open") from None
        finally:
            self._trial_lock.release()

    @property
    def circuit_state(self) -> str:
        return str(self.breaker.current_state)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class CachedBureau:
    """The BureauPort of one unit of work: cache first, then the client."""

    def __init__(self, client: BureauClient, cache: ReportCache, max_age: timedelta) -> None:
        self.client = client
        self.cache = cache
        self.max_age = max_age

    def fetch(self, request: BureauRequest, *, at: datetime) -> BureauReport:
        if self.max_age > timedelta(0):
            hit = self.cache.latest(request.subject, at - self.max_age)
            if hit is not None:
                report_id, raw, had_alt = hit
                if had_alt or not request.include_alt_data:
                    report = parse_report(report_id, raw, cached=True)
                    if not request.include_alt_data:
                        report = replace(report, telecom_monthly_spend=None)
                    return report
        raw = self.client.query(
            request.subject, id_tail=request.id_tail, include_alt_data=request.include_alt_data, now=at
        )
        report_id = self.cache.store(request, raw, at)
        return parse_report(report_id, raw, cached=False)

"""EduLink's own records: courses and enrolments (in memory: this is a demo partner)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from lendbridge_sandbox.partner_site.courses import Course


@dataclass(frozen=True)
class Enrolment:
    id: str
    course: Course
    student_name: str
    lang: str
    status: str = "pending"  # pending -> approved | review | declined -> signed -> paid
    session_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    loan_id: str | None = None
    paid_at: datetime | None = None
    history: tuple[str, ...] = ()


# Later states never go back to earlier ones: webhooks can arrive in any order and twice.
RANK = {"pending": 0, "approved": 1, "review": 1, "declined": 2, "signed": 3, "paid": 4}


class EnrolmentStore:
    def __init__(self) -> None:
        self._rows: dict[str, Enrolment] = {}
        self._seen_events: set[str] = set()
        self._lock = threading.Lock()

    def add(self, enrolment: Enrolment) -> None:
        with self._lock:
            self._rows[enrolment.id] = enrolment

    def get(self, enrolment_id: str) -> Enrolment | None:
        with self._lock:
            return self._rows.get(enrolment_id)

    def all(self) -> list[Enrolment]:
        with self._lock:
            return sorted(self._rows.values(), key=lambda e: e.id, reverse=True)

    def by_loan(self, loan_id: str) -> Enrolment | None:
        with self._lock:
            return next((e for e in self._rows.values() if e.loan_id == loan_id), None)

    def update(self, enrolment_id: str, *, status: str | None = None, **changes: object) -> Enrolment | None:
        """Apply changes; a status only moves forward (a late or repeated webhook is harmless)."""
        with self._lock:
            row = self._rows.get(enrolment_id)
            if row is None:
                return None
            values = {k: v for k, v in changes.items() if v is not None}
            if status is not None and RANK[status] > RANK[row.status]:
                values["status"] = status
                values["history"] = (*row.history, f"{datetime.now(UTC):%H:%M:%S} {status}")
                if status == "paid":
                    values["paid_at"] = datetime.now(UTC)
            row = replace(row, **values)  # type: ignore[arg-type]
            self._rows[enrolment_id] = row
            return row

    def first_time(self, event_id: str) -> bool:
        """Whether this webhook event id is new (deliveries are at least once)."""
        with self._lock:
            if event_id in self._seen_events:
                return False
            self._seen_events.add(event_id)
            return True

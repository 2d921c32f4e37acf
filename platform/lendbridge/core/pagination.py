"""Cursor pagination rules shared by every list endpoint (Stripe-style).

Lists are ordered newest first by id (ids are time-ordered). `starting_after=<id>` gives
the page after that object, `ending_before=<id>` the page before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from lendbridge.core.errors import InvalidParameter

T = TypeVar("T")

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    starting_after: str | None = None
    ending_before: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidParameter(f"limit must be between 1 and {MAX_LIMIT}", param="limit")
        if self.starting_after and self.ending_before:
            raise InvalidParameter("use starting_after or ending_before, not both", param="ending_before")

    @property
    def fetch(self) -> int:
        """Rows to fetch: one more than the limit tells whether there are more."""
        return self.limit + 1


@dataclass(frozen=True)
class Page(Generic[T]):
    data: list[T]
    has_more: bool


def make_page(rows: list[T], request: PageRequest) -> Page[T]:
    """Cut rows fetched with `request.fetch` to a page.

    For `ending_before` the rows arrive oldest-first (the query walks backwards) and are
    flipped back to newest-first here.
    """
    has_more = len(rows) > request.limit
    rows = rows[: request.limit]
    if request.ending_before:
        rows = list(reversed(rows))
    return Page(rows, has_more)

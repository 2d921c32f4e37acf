"""Delinquency: days past due, aging buckets and the five-category loan classification.

Days past due count from the oldest due date whose instalment is still unpaid: a loan due
on the 10th and unpaid is 1 day past due on the 11th. Buckets drive collections; the
five categories (五级分类) drive provisioning and regulatory reports, with thresholds an
institution may tighten.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from lendbridge.core.errors import InvalidParameter


class Bucket(StrEnum):
    CURRENT = "current"
    DPD_1_3 = "1-3"
    DPD_4_7 = "4-7"
    DPD_8_30 = "8-30"
    DPD_31_60 = "31-60"
    DPD_61_90 = "61-90"
    DPD_90_PLUS = "90+"


# Upper bound (inclusive) of each bucket's days past due; 90+ takes the rest.
_BUCKET_LIMITS: tuple[tuple[int, Bucket], ...] = (
    (0, Bucket.CURRENT),
    (3, Bucket.DPD_1_3),
    (7, Bucket.DPD_4_7),
    (30, Bucket.DPD_8_30),
    (60, Bucket.DPD_31_60),
    (90, Bucket.DPD_61_90),
)


class Classification(StrEnum):
    NORMAL = "normal"
    SPECIAL_MENTION = "special_mention"
    SUBSTANDARD = "substandard"
    DOUBTFUL = "doubtful"
    LOSS = "loss"

    @property
    def label_zh(self) -> str:
        return _LABELS_ZH[self]


_LABELS_ZH = {
    Classification.NORMAL: "正常",
    Classification.SPECIAL_MENTION: "关注",
    Classification.SUBSTANDARD: "次级",
    Classification.DOUBTFUL: "可疑",
    Classification.LOSS: "损失",
}


@dataclass(frozen=True)
class ClassificationThresholds:
    """The first day past due of each category worse than normal."""

    special_mention: int = 1
    substandard: int = 91
    doubtful: int = 181
    loss: int = 361

    def __post_init__(self) -> None:
        if not 1 <= self.special_mention < self.substandard < self.doubtful < self.loss:
            raise InvalidParameter(
                "classification thresholds must be increasing and start at 1 day or more",
                param="classification_thresholds",
            )


DEFAULT_THRESHOLDS = ClassificationThresholds()


def days_past_due(unpaid_due_dates: Iterable[date], as_of: date) -> int:
    """Days since the oldest unpaid due date (0 when nothing unpaid is past its date)."""
    oldest = min(unpaid_due_dates, default=None)
    if oldest is None or oldest >= as_of:
        return 0
    return (as_of - oldest).days


def bucket(dpd: int) -> Bucket:
    _require_dpd(dpd)
    for limit, name in _BUCKET_LIMITS:
        if dpd <= limit:
            return name
    return Bucket.DPD_90_PLUS


def classify(dpd: int, thresholds: ClassificationThresholds = DEFAULT_THRESHOLDS) -> Classification:
    _require_dpd(dpd)
    if dpd >= thresholds.loss:
        return Classification.LOSS
    if dpd >= thresholds.doubtful:
        return Classification.DOUBTFUL
    if dpd >= thresholds.substandard:
        return Classification.SUBSTANDARD
    if dpd >= thresholds.special_mention:
        return Classification.SPECIAL_MENTION
    return Classification.NORMAL


def _require_dpd(dpd: int) -> None:
    if isinstance(dpd, bool) or not isinstance(dpd, int) or dpd < 0:
        raise InvalidParameter("days past due is a whole number >= 0", param="days_past_due")

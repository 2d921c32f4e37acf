"""Days past due, aging buckets and the five-category classification."""

from __future__ import annotations

from datetime import date

import pytest

from lendbridge.core.errors import InvalidParameter
from lendbridge.loans.delinquency import (
    Bucket,
    Classification,
    ClassificationThresholds,
    bucket,
    classify,
    days_past_due,
)

AS_OF = date(2026, 6, 30)


def test_days_past_due_count_from_the_oldest_unpaid_due_date() -> None:
    assert days_past_due([date(2026, 6, 10), date(2026, 5, 10)], AS_OF) == 51
    assert days_past_due([], AS_OF) == 0
    assert days_past_due([AS_OF], AS_OF) == 0  # due today is not late yet
    assert days_past_due([date(2026, 6, 29)], AS_OF) == 1


@pytest.mark.parametrize(
    ("dpd", "expected"),
    [
        (0, Bucket.CURRENT),
        (1, Bucket.DPD_1_3),
        (3, Bucket.DPD_1_3),
        (4, Bucket.DPD_4_7),
        (7, Bucket.DPD_4_7),
        (8, Bucket.DPD_8_30),
        (30, Bucket.DPD_8_30),
        (31, Bucket.DPD_31_60),
        (60, Bucket.DPD_31_60),
        (61, Bucket.DPD_61_90),
        (90, Bucket.DPD_61_90),
        (91, Bucket.DPD_90_PLUS),
        (5000, Bucket.DPD_90_PLUS),
    ],
)
def test_bucket_boundaries(dpd: int, expected: Bucket) -> None:
    assert bucket(dpd) is expected


@pytest.mark.parametrize(
    ("dpd", "expected"),
    [
        (0, Classification.NORMAL),
        (1, Classification.SPECIAL_MENTION),
        (90, Classification.SPECIAL_MENTION),
        (91, Classification.SUBSTANDARD),
        (180, Classification.SUBSTANDARD),
        (181, Classification.DOUBTFUL),
        (360, Classification.DOUBTFUL),
        (361, Classification.LOSS),
    ],
)
def test_default_five_category_thresholds(dpd: int, expected: Classification) -> None:
    assert classify(dpd) is expected


def test_institutions_can_tighten_the_thresholds() -> None:
    strict = ClassificationThresholds(special_mention=1, substandard=61, doubtful=91, loss=181)
    assert classify(61, strict) is Classification.SUBSTANDARD
    assert classify(181, strict) is Classification.LOSS
    assert Classification.SUBSTANDARD.label_zh == "次级"


@pytest.mark.parametrize(
    "thresholds",
    [{"special_mention": 0}, {"substandard": 400}, {"doubtful": 91}],
    ids=["zero", "order", "equal"],
)
def test_thresholds_must_increase(thresholds: dict[str, int]) -> None:
    with pytest.raises(InvalidParameter) as raised:
        ClassificationThresholds(**thresholds)
    assert raised.value.param == "classification_thresholds"


def test_negative_days_past_due_are_rejected() -> None:
    with pytest.raises(InvalidParameter):
        bucket(-1)
    with pytest.raises(InvalidParameter):
        classify(-1)

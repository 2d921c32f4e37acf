"""The committed scorecard artefacts: structure, scaling, pure scoring and training."""

from __future__ import annotations

import json
import math

import pytest

from lendbridge.risk import scorecard as sc

ARTEFACT = sc.ARTEFACTS / f"{sc.CHAMPION_VERSION}.json"


def test_artefact_records_data_hash_scaling_and_metrics() -> None:
    doc = json.loads(ARTEFACT.read_text())
    assert doc["version"] == sc.CHAMPION_VERSION
    assert doc["data"]["rows"] == 1000 and len(doc["data"]["sha256"]) == 64
    assert doc["scaling"] == {**doc["scaling"], "base_score": 600, "base_odds": 50, "pdo": 20}
    cv = doc["metrics"]["cv"]
    assert cv["folds"] == 5 and len(cv["per_fold"]) == 5
    assert 0.6 < cv["auc_mean"] < 0.85  # honest range for this data with our feature subset
    assert 0 <= doc["metrics"]["holdout"]["psi"] < 0.1
    assert [g["grade"] for g in doc["grades"]] == ["A", "B", "C", "D", "E"]


def test_points_to_odds_scaling_gives_600_at_50_to_1_and_20_points_per_doubling() -> None:
    card = sc.load(sc.CHAMPION_VERSION)
    factor, offset = card.factor, card.offset
    assert offset + factor * math.log(50) == pytest.approx(600, abs=1e-3)
    assert factor * math.log(2) == pytest.approx(20, abs=1e-3)


def test_score_is_base_points_plus_bin_points() -> None:
    card = sc.load(sc.CHAMPION_VERSION)
    inputs = {
        "duration_in_month": 12,
        "purpose": "education",
        "age_in_years": 36,
        "job": "skilled employee / official",
        "credit_history": "existing credits paid back duly till now",
        "other_installment_plans": "none",
        "installment_rate_in_percentage_of_disposable_income": 2,
    }
    result = sc.score(card, inputs)
    assert result.score == round(card.base_points + sum(result.points.values()))
    assert result.grade == card.grade_for(result.score)
    odds = (1 - result.p_bad) / result.p_bad
    assert card.offset + card.factor * math.log(odds) == pytest.approx(
        card.base_points + sum(result.points.values()), abs=0.01
    )


def test_missing_and_unknown_inputs_score_zero_points_and_are_listed() -> None:
    card = sc.load(sc.CHAMPION_VERSION)
    result = sc.score(card, {"purpose": "spaceship", "age_in_years": "forty"})
    assert set(result.missing) == {f.name for f in card.features}
    assert all(p == 0 for p in result.points.values())
    assert result.score == round(card.base_points)


def test_longer_terms_score_lower_as_in_the_data() -> None:
    card = sc.load(sc.CHAMPION_VERSION)
    short = sc.score(card, {"duration_in_month": 6}).score
    long = sc.score(card, {"duration_in_month": 48}).score
    assert short > long


def test_grades_follow_the_bands() -> None:
    card = sc.load(sc.CHAMPION_VERSION)
    bands = [g.min_score for g in card.grades if g.min_score is not None]
    assert bands == sorted(bands, reverse=True)
    assert card.grade_for(int(bands[0]) + 50) == "A"
    assert card.grade_for(int(bands[-1]) - 50) == "E"


def test_malformed_artefact_is_rejected() -> None:
    with pytest.raises(ValueError, match="malformed"):
        sc.parse({"version": "x", "features": [{"name": "a"}]})
    with pytest.raises(ValueError, match="no scorecard artefact"):
        sc.load("does-not-exist")


def test_challenger_is_a_different_model_over_the_same_inputs() -> None:
    champion, challenger = sc.load(sc.CHAMPION_VERSION), sc.load(sc.CHALLENGER_VERSION)
    assert challenger.version != champion.version
    assert {f.name for f in challenger.features} <= set(sc.GERMAN_FEATURES)
    assert max(len(f.bins) for f in challenger.features) <= 3

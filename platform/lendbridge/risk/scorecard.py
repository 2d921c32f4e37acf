"""Runtime scoring of a WOE / logistic-regression scorecard artefact, in pure Python.

An artefact (JSON, trained by `lendbridge risk train`, see training.py) holds for each
feature its bins with their WOE and points, plus base points and grade bands. Scoring a
case is a lookup per feature and a sum: no numpy, pandas or scikit-learn at request time.

A missing or unknown input scores 0 points for that feature (WOE 0, the population
average) and is listed in `missing`, so a decision record shows which inputs were absent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ARTEFACTS = Path(__file__).parent / "artefacts"
CHAMPION_VERSION = "sc-german-1.0.0"
CHALLENGER_VERSION = "sc-german-1.0.0-coarse"

# The German credit attributes the scorecard may use, with their type. Attributes that
# LendBridge cannot observe (checking account, savings, employment length, housing,
# property) and protected ones (personal status and sex, foreign worker) are not used.
GERMAN_FEATURES: dict[str, str] = {
    "duration_in_month": "numerical",
    "credit_history": "categorical",
    "purpose": "categorical",
    "installment_rate_in_percentage_of_disposable_income": "numerical",
    "age_in_years": "numerical",
    "other_installment_plans": "categorical",
    "number_of_existing_credits_at_this_bank": "numerical",
    "job": "categorical",
    "telephone": "categorical",
}


@dataclass(frozen=True)
class Bin:
    upper: float | None  # numerical: value < upper (None: no upper bound)
    categories: frozenset[str] | None  # categorical
    woe: float
    points: float


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str
    bins: tuple[Bin, ...]

    def bin_for(self, value: object) -> Bin | None:
        if value is None:
            return None
        if self.kind == "numerical":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return None
            for b in self.bins:
                if b.upper is None or value < b.upper:
                    return b
            return None
        for b in self.bins:
            if b.categories is not None and str(value) in b.categories:
                return b
        return None


@dataclass(frozen=True)
class Grade:
    grade: str
    min_score: float | None  # None: everything below the previous band


@dataclass(frozen=True)
class Scorecard:
    version: str
    base_points: float
    factor: float
    offset: float
    features: tuple[Feature, ...]
    grades: tuple[Grade, ...]
    metrics: Mapping[str, Any]

    def grade_for(self, score: int) -> str:
        for g in self.grades:
            if g.min_score is None or score >= g.min_score:
                return g.grade
        return self.grades[-1].grade


@dataclass(frozen=True)
class ScoreResult:
    version: str
    score: int
    grade: str
    p_bad: float
    points: dict[str, float]
    missing: tuple[str, ...]


def parse(doc: Mapping[str, Any]) -> Scorecard:
    """A Scorecard from an artefact document (ValueError when malformed)."""
    try:
        features = []
        for f in doc["features"]:
            bins = tuple(
                Bin(
                    upper=float(b["upper"]) if b.get("upper") is not None else None,
                    categories=frozenset(b["categories"]) if "categories" in b else None,
                    woe=float(b["woe"]),
                    points=float(b["points"]),
                )
                for b in f["bins"]
            )
            features.append(Feature(str(f["name"]), str(f["type"]), bins))
        grades = tuple(Grade(str(g["grade"]), g["min_score"]) for g in doc["grades"])
        scaling = doc["scaling"]
        return Scorecard(
            version=str(doc["version"]),
            base_points=float(doc["base_points"]),
            factor=float(scaling["factor"]),
            offset=float(scaling["offset"]),
            features=tuple(features),
            grades=grades,
            metrics=doc.get("metrics", {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed scorecard artefact: {exc}") from exc


@cache
def load(version: str, directory: Path = ARTEFACTS) -> Scorecard:
    """The artefact `<version>.json` (cached per process: artefacts are immutable)."""
    path = directory / f"{version}.json"
    if not path.exists():
        raise ValueError(f"no scorecard artefact {version!r}")
    return parse(json.loads(path.read_text()))


def score(card: Scorecard, inputs: Mapping[str, object]) -> ScoreResult:
    """Score one case given its inputs keyed by German feature name."""
    points: dict[str, float] = {}
    missing: list[str] = []
    total = card.base_points
    for feature in card.features:
        b = feature.bin_for(inputs.get(feature.name))
        if b is None:
            missing.append(feature.name)
            points[feature.name] = 0.0
            continue
        points[feature.name] = b.points
        total += b.points
    result = round(total)
    # score = offset + factor * ln(good/bad odds)  =>  p_bad = 1 / (1 + odds)
    odds = math.exp((total - card.offset) / card.factor)
    return ScoreResult(
        version=card.version,
        score=result,
        grade=card.grade_for(result),
        p_bad=round(1 / (1 + odds), 6),
        points=points,
        missing=tuple(missing),
    )

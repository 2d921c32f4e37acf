"""`lendbridge risk ...`: train the scorecards (offline; needs the dev extras)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group(help="Risk models.")
def risk() -> None:
    pass


@risk.command("train", help="Train the champion and challenger scorecards from the German credit data.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for the JSON artefacts (default: the package's artefacts folder).",
)
def train(out: Path | None) -> None:
    from lendbridge.risk import training

    directory = out or training.ARTEFACTS
    directory.mkdir(parents=True, exist_ok=True)
    data = training.load_dataset()
    for spec in (training.CHAMPION, training.CHALLENGER):
        artefact = training.train(spec, data)
        path = training.write_artefact(artefact, directory)
        cv, hold = artefact["metrics"]["cv"], artefact["metrics"]["holdout"]
        click.echo(
            f"{artefact['version']}: CV AUC {cv['auc_mean']:.4f} ± {cv['auc_std']:.4f}, "
            f"CV KS {cv['ks_mean']:.4f}; holdout AUC {hold['auc']:.4f}, KS {hold['ks']:.4f}, "
            f"PSI {hold['psi']:.4f} -> {path}"
        )

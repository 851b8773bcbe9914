"""``leakrange train-target``: train a model spec on a data set split and store it."""

from __future__ import annotations

from typing import Annotated

import typer

from leakrange.cli.options import Store


def train_target(
    dataset: Annotated[str, typer.Option("--dataset", help="Data set name (adult, mnist5k ...).")],
    model: Annotated[str, typer.Option("--model", help="Zoo name or JSON spec (file or text).")],
    members: Annotated[int, typer.Option("--members", help="Training records (members).")],
    seed: Annotated[int, typer.Option("--seed", help="Split and training seed.")] = 0,
    epochs: Annotated[int | None, typer.Option("--epochs")] = None,
    lr: Annotated[float | None, typer.Option("--lr")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size")] = None,
    weight_decay: Annotated[float | None, typer.Option("--weight-decay")] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Also publish under this name.")
    ] = None,
    store: Store = ".leakrange/store",
) -> None:
    """Train a target model and print its artifact reference on the last line."""
    from leakrange.artifacts import open_store
    from leakrange.target.training import TargetTrainingRequest, train_and_store

    overrides = {
        k: v for k, v in
        {"epochs": epochs, "lr": lr, "batch_size": batch_size, "weight_decay": weight_decay}.items()
        if v is not None
    }
    request = TargetTrainingRequest(
        dataset=dataset, model=model, members=members, seed=seed, recipe_overrides=overrides,
        name=name,
    )
    result = train_and_store(open_store(store), request, progress=_progress)
    typer.echo(f"train accuracy {result.train_accuracy:.3f}, "
               f"holdout accuracy {result.test_accuracy:.3f}", err=True)
    typer.echo(result.model_ref.uri)


def _progress(done: int, total: int) -> None:
    typer.echo(f"epoch {done}/{total}", err=True)

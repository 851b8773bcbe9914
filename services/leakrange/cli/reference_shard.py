"""``leakrange reference-shard``: train one shard of a reference-training task (a Job pod)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from leakrange.cli.options import Store
from leakrange.common.errors import InvalidArgument

INDEX_ENV = "JOB_COMPLETION_INDEX"
"""Set by Kubernetes in every pod of an Indexed Job: the pod's completion index."""


def reference_shard(
    task: Annotated[str, typer.Option("--task", help="sha256:<hex> of the task document.")],
    index: Annotated[int | None, typer.Option(
        "--index", help=f"Shard to train (default: ${INDEX_ENV}, as an Indexed Job sets it).")
    ] = None,
    store: Store = ".leakrange/store",
) -> None:
    """Train shard INDEX of a reference-training task and store its logits shard."""
    from leakrange.artifacts import open_store
    from leakrange.attacks.mia.reference_task import train_task_shard

    if index is None:
        text = os.environ.get(INDEX_ENV, "")
        if not text.isdigit():
            raise InvalidArgument("index", f"give --index or set {INDEX_ENV}")
        index = int(text)
    trained = train_task_shard(open_store(store), task, index)
    typer.echo(f"shard {index}: {'trained' if trained else 'already stored'}")

"""Client partitions of a federation: which records each client holds (range-side ground truth).

``iid``: a uniform random split into equal parts. ``dirichlet(alpha)``: label skew as in Hsu,
Qi and Brown, "Measuring the Effects of Non-Identical Data Distribution for Federated Visual
Classification" (2019): for every class, the shares of its records across the clients are drawn
from Dir(alpha); small alpha gives clients few classes each, large alpha tends to iid.
Partitions are disjoint and every client gets exactly ``per_client`` records.
"""

from __future__ import annotations

import numpy as np

from leakrange.common.errors import InvalidArgument


def iid_partitions(rows: np.ndarray, clients: int, per_client: int,
                   rng: np.random.Generator) -> list[np.ndarray]:
    if clients * per_client > len(rows):
        raise InvalidArgument("target.federated.records_per_client",
                              "clients x records_per_client exceed the available records")
    chosen = rng.permutation(rows)[:clients * per_client]
    return [np.sort(chosen[i * per_client:(i + 1) * per_client]).astype(np.int64)
            for i in range(clients)]


def dirichlet_partitions(rows: np.ndarray, labels: np.ndarray, clients: int, per_client: int,
                         alpha: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Label-skewed partitions: client k draws its class mix p_k ~ Dir(alpha) and takes
    ``per_client`` records class by class from what is left (classes that run out are
    replaced by the remaining ones, so every client is filled)."""
    if clients * per_client > len(rows):
        raise InvalidArgument("target.federated.records_per_client",
                              "clients x records_per_client exceed the available records")
    if not alpha > 0:
        raise InvalidArgument("target.federated.partition.alpha", "must be > 0")
    classes = np.unique(labels[rows])
    pools = {int(c): list(rng.permutation(rows[labels[rows] == c])) for c in classes}
    parts: list[np.ndarray] = []
    for _ in range(clients):
        mix = rng.dirichlet(np.full(len(classes), alpha))
        want = rng.multinomial(per_client, mix)
        taken: list[int] = []
        for c, n in zip(classes, want, strict=True):
            pool = pools[int(c)]
            taken.extend(pool[:n])
            del pool[:n]
        while len(taken) < per_client:  # a class ran out: top up from the largest pool
            largest = max(pools, key=lambda c: len(pools[c]))
            taken.append(pools[largest].pop())
        parts.append(np.sort(np.asarray(taken, np.int64)))
    return parts

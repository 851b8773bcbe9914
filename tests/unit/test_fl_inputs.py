"""Bad observations and parameters are refused with the field named, before any work."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from leakrange.common.errors import InvalidArgument
from leakrange.fl_attacks import (
    DLGParams,
    FedAvgParams,
    GradientUpdate,
    IGParams,
    ImprintParams,
    Knowledge,
    LocalTraining,
    WeightDeltaUpdate,
    fedavg_inversion,
    fedsgd_update,
    idlg,
    imprint_model,
    inverting_gradients,
    recover_imprint,
)
from leakrange.fl_attacks.models import dlg_lenet, resnet20


def setup() -> tuple[nn.Module, GradientUpdate, Knowledge]:
    model = dlg_lenet(image_size=16)
    x = torch.randn(1, 3, 16, 16)
    return model, fedsgd_update(model, x, torch.tensor([1])), Knowledge(1, (3, 16, 16), 10)


def test_wrong_gradient_shape_names_the_parameter() -> None:
    model, upd, k = setup()
    bad = dict(upd.gradients)
    bad["fc.weight"] = torch.zeros(10, 7)
    with pytest.raises(InvalidArgument, match=r"update\.gradients\.fc\.weight: shape"):
        idlg(model, GradientUpdate(bad), k)


def test_nan_gradients_are_refused_without_values() -> None:
    model, upd, k = setup()
    bad = dict(upd.gradients)
    bad["body.0.weight"] = bad["body.0.weight"].clone()
    bad["body.0.weight"][0, 0, 0, 0] = float("nan")
    with pytest.raises(InvalidArgument, match=r"body\.0\.weight: contains NaN") as err:
        inverting_gradients(model, GradientUpdate(bad), k, IGParams(iterations=1))
    assert "nan," not in str(err.value).lower()


def test_missing_unknown_and_zero_tensors() -> None:
    model, upd, k = setup()
    missing = {n: g for n, g in upd.gradients.items() if n != "fc.bias"}
    with pytest.raises(InvalidArgument, match=r"fc\.bias: missing"):
        idlg(model, GradientUpdate(missing), k)
    with pytest.raises(InvalidArgument, match=r"name no model parameter"):
        idlg(model, GradientUpdate({**upd.gradients, "extra": torch.zeros(1)}), k)
    zeros = {n: torch.zeros_like(g) for n, g in upd.gradients.items()}
    with pytest.raises(InvalidArgument, match=r"all zeros"):
        idlg(model, GradientUpdate(zeros), k)
    ints = {**upd.gradients, "fc.bias": torch.zeros(10, dtype=torch.int64)}
    with pytest.raises(InvalidArgument, match=r"floating-point"):
        idlg(model, GradientUpdate(ints), k)


def test_knowledge_is_checked_against_the_model() -> None:
    model, upd, _ = setup()
    with pytest.raises(InvalidArgument, match=r"knowledge\.input_shape"):
        idlg(model, upd, Knowledge(1, (3, 9, 5), 10))
    with pytest.raises(InvalidArgument, match=r"knowledge\.num_classes"):
        idlg(model, upd, Knowledge(1, (3, 16, 16), 7))
    with pytest.raises(InvalidArgument, match=r"knowledge\.labels"):
        Knowledge(2, (3, 16, 16), 10, labels=torch.tensor([1]))
    with pytest.raises(InvalidArgument, match=r"knowledge\.labels"):
        Knowledge(1, (3, 16, 16), 10, labels=torch.tensor([11]))
    with pytest.raises(InvalidArgument, match=r"knowledge\.mean"):
        Knowledge(1, (3, 16, 16), 10, mean=(0.5,), std=(0.2,))
    with pytest.raises(InvalidArgument, match=r"knowledge\.std"):
        Knowledge(1, (3, 16, 16), 10, mean=(0.5,) * 3, std=(0.0,) * 3)
    with pytest.raises(InvalidArgument, match=r"knowledge\.num_samples"):
        Knowledge(0, (3, 16, 16), 10)


def test_batchnorm_in_training_mode_is_refused() -> None:
    model = resnet20()
    x = torch.randn(1, 3, 32, 32)
    upd = fedsgd_update(model.eval(), x, torch.tensor([0]))
    model.train()
    with pytest.raises(InvalidArgument, match=r"eval mode"):
        inverting_gradients(model, upd, Knowledge(1, (3, 32, 32), 10), IGParams(iterations=1))


def test_parameters_are_bounded() -> None:
    with pytest.raises(InvalidArgument, match=r"params\.restarts"):
        DLGParams(restarts=0)
    with pytest.raises(InvalidArgument, match=r"params\.iterations"):
        IGParams(iterations=10**7)
    with pytest.raises(InvalidArgument, match=r"params\.lr"):
        IGParams(lr=float("nan"))
    with pytest.raises(InvalidArgument, match=r"params\.tv_weight"):
        FedAvgParams(tv_weight=-1)
    with pytest.raises(InvalidArgument, match=r"params\.bins"):
        ImprintParams(bins=1)
    with pytest.raises(InvalidArgument, match=r"local_training\.lr"):
        LocalTraining(epochs=1, batch_size=1, lr=float("inf"))
    with pytest.raises(InvalidArgument, match=r"local_training\.epochs"):
        LocalTraining(epochs=0, batch_size=1, lr=0.1)


def test_fedavg_and_imprint_inputs() -> None:
    model, upd, k = setup()
    delta = {n: torch.full_like(g, float("inf")) for n, g in upd.gradients.items()}
    with pytest.raises(InvalidArgument, match=r"update\.delta"):
        fedavg_inversion(model, WeightDeltaUpdate(delta, LocalTraining(1, 1, 0.1)), k)
    sent = imprint_model(model, k, ImprintParams(bins=4))
    with pytest.raises(InvalidArgument, match=r"update\.gradients"):
        recover_imprint(sent, upd, k)  # gradients of the plain model, not the imprinted one
    with pytest.raises(InvalidArgument, match=r"calibration"):
        imprint_model(model, k, calibration=torch.zeros(5, 3, 8, 8))
    with pytest.raises(InvalidArgument, match=r"inputs"):
        fedsgd_update(model, torch.full((1, 3, 16, 16), float("nan")), torch.tensor([0]))

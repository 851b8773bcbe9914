"""DP-SGD training with opacus (Abadi et al., "Deep Learning with Differential Privacy",
CCS 2016; Yousefpour et al., "Opacus", 2021).

Each step draws a Poisson sample of the training records (rate q = batch_size / n), clips every
per-example gradient to ``max_grad_norm`` and adds Gaussian noise of standard deviation
``sigma * max_grad_norm``. ``sigma`` is the smallest noise multiplier for which opacus' RDP
accountant (Mironov, CSF 2017) keeps the planned ``epochs`` within (epsilon, delta); the
epsilon recorded is the accountant's for the steps actually taken (fewer under early stopping).

``noise_scale`` multiplies the noise actually added while the accountant keeps the nominal
``sigma``: 1.0 is DP-SGD; anything below deliberately breaks the guarantee (used to show that
the range's DP audit catches a training that does not deliver its claim). It is an argument of
this function only, never a recipe option.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F

from leakrange.common.errors import FailedPrecondition
from leakrange.models.determinism import deterministic_kernels, seeded_model, shuffle_generator
from leakrange.models.early_stopping import EarlyStopper
from leakrange.models.fitted import DpAccounting, Fitted
from leakrange.models.recipe import DpSgd, TrainRecipe
from leakrange.models.spec import ModelSpec
from leakrange.models.training_control import ProgressFn, StopFn, check_stop

_NOISE_STREAM = 0xD9_5C0D
INSTALL_HINT = "DP-SGD needs opacus: pip install 'leakpro-range[pet]'"


def noise_multiplier(dp: DpSgd, sample_rate: float, steps: int) -> float:
    """The smallest sigma whose RDP accounting over ``steps`` stays within (epsilon, delta)."""
    _, get_noise_multiplier = _accountant_api()
    return float(get_noise_multiplier(target_epsilon=dp.epsilon, target_delta=dp.delta,
                                      sample_rate=sample_rate, steps=steps, accountant="rdp"))


def spent_epsilon(sigma: float, sample_rate: float, steps: int, delta: float) -> float:
    """The RDP accountant's epsilon after ``steps`` steps of the subsampled Gaussian."""
    if steps == 0:
        return 0.0
    accountant_type, _ = _accountant_api()
    accountant = accountant_type()
    accountant.history = [(sigma, sample_rate, steps)]
    return float(accountant.get_epsilon(delta=delta))


def fit_dp_model(
    spec: ModelSpec,
    recipe: TrainRecipe,
    xt: torch.Tensor,
    yt: torch.Tensor,
    dev: torch.device,
    *,
    validation: tuple[torch.Tensor, torch.Tensor] | None = None,
    noise_scale: float = 1.0,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> Fitted:
    """Train with DP-SGD; the model (eval mode, plain module), epochs run, accounting."""
    from leakrange.models.trainer import make_optimizer

    _accountant_api()
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer

    dp = recipe.dp_sgd
    if dp is None:
        raise FailedPrecondition("the recipe asks for no DP-SGD")
    n = xt.shape[0]
    rate = min(1.0, recipe.batch_size / n)
    steps_per_epoch = max(1, round(1.0 / rate))
    sigma = noise_multiplier(dp, rate, recipe.epochs * steps_per_epoch)
    with deterministic_kernels(dev, recipe.seed):
        model = seeded_model(spec, recipe.seed, dev)
        gsm = GradSampleModule(model)
        gsm.train()
        optimizer = DPOptimizer(
            make_optimizer(recipe, gsm.parameters()), noise_multiplier=sigma * noise_scale,
            max_grad_norm=dp.max_grad_norm, expected_batch_size=max(1, round(rate * n)),
            generator=torch.Generator(dev).manual_seed((recipe.seed ^ _NOISE_STREAM) % 2**63),
        )
        sampler = shuffle_generator(recipe.seed)
        stopper = EarlyStopper.for_recipe(recipe.early_stopping, validation)
        steps = 0
        epochs_run = 0
        for epoch in range(recipe.epochs):
            for _ in range(steps_per_epoch):
                check_stop(should_stop)
                mask = torch.rand(n, generator=sampler) < rate
                steps += 1
                if not mask.any():  # P = (1 - q)^n: the step still counts for the accountant
                    continue
                idx = mask.nonzero().squeeze(1).to(dev)
                loss = F.cross_entropy(gsm(xt[idx]), yt[idx],
                                       label_smoothing=recipe.label_smoothing)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            epochs_run = epoch + 1
            if progress is not None:
                progress(epoch + 1, recipe.epochs)
            if stopper is not None and stopper.update(model, epoch + 1):
                break
        gsm.remove_hooks()
        if stopper is not None:
            stopper.restore(model)
            epochs_run = stopper.best_epoch
    for p in model.parameters():
        p.grad = None
        if hasattr(p, "grad_sample"):
            p.grad_sample = None
    accounting = DpAccounting(
        epsilon=spent_epsilon(sigma, rate, steps, dp.delta), delta=dp.delta,
        noise_multiplier=sigma, sample_rate=rate, steps=steps, max_grad_norm=dp.max_grad_norm,
    )
    return Fitted(model.eval(), epochs_run, accounting)


def _accountant_api() -> tuple[Any, Any]:
    """opacus' RDP accountant class and noise calibration, or an error naming the extra."""
    try:
        from opacus.accountants import RDPAccountant
        from opacus.accountants.utils import get_noise_multiplier
    except ImportError:
        raise FailedPrecondition(INSTALL_HINT) from None
    return RDPAccountant, get_noise_multiplier

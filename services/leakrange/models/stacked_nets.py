"""Forward passes of N same-architecture models at once, written as batched kernels.

``stacked_forward(spec, params, x)`` takes the models' parameters stacked on a leading model
axis (``torch.func.stack_module_state`` of N ``build_model(spec)`` modules, same names) and
their inputs ``x`` of shape ``[N, B, *input_shape]`` (each model its own batch) and returns the
logits ``[N, B, num_classes]``. It computes exactly what each ``build_model(spec)`` module
would compute on its own batch, up to float rounding:

- a linear layer is one ``torch.baddbmm`` over the model axis;
- a convolution is one grouped convolution: the N models' inputs are laid side by side on the
  channel axis (``[B, N * C, H, W]``) and ``groups=N`` keeps each model's filters on its own
  channels; ReLU and max-pooling act per channel, so they need no change. On CPU the
  activations are kept channels-last (oneDNN's preferred layout), and each block computes
  ``relu(max_pool(conv))`` instead of the module's ``max_pool(relu(conv))``: the two are equal
  in value and in gradient (ReLU is monotone, so it commutes with a max; where a window's max
  is <= 0 both give 0 and pass no gradient), and the ReLU then touches a quarter of the values.

With ``compute_dtype`` (bfloat16, see ``precision``) the weights and inputs are cast inside
the graph, so the kernels run in that dtype while the gradients reach the float32 parameters
(the cast's backward casts them back) and the logits come out in ``compute_dtype``.

Autograd differentiates these like any module, so one optimiser over the stacked parameters
trains every model (Adam / SGD act elementwise). Compared with ``torch.vmap`` over
``functional_call`` this skips the per-call vmap machinery (wrapping, batching rules, and for
convolutions the reshuffles vmap inserts around each layer); see ``batched_trainer`` for the
measurements that decide when it is used.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from leakrange.models.spec import ModelSpec


def stacked_forward(
    spec: ModelSpec, params: dict[str, torch.Tensor], x: torch.Tensor, *, training: bool,
    compute_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Logits ``[N, B, num_classes]`` of the N stacked models on their inputs ``[N, B, ...]``,
    computed in ``compute_dtype`` (default: the parameters' own dtype)."""
    n_models, batch = x.shape[0], x.shape[1]
    if compute_dtype is not None and compute_dtype != next(iter(params.values())).dtype:
        params = {name: p.to(compute_dtype) for name, p in params.items()}
    if spec.kind == "cnn":
        h = _conv_stack(spec, params, x)
        h = h.reshape(n_models, batch, -1)
        if spec.dropout > 0:
            h = F.dropout(h, spec.dropout, training)
        return _linear(h, params["out.weight"], params["out.bias"])
    h = x.reshape(n_models, batch, -1).to(params["out.weight"].dtype)
    if spec.kind == "mlp":
        for i in range(1, len(spec.hidden) + 1):
            h = torch.relu(_linear(h, params[f"fc{i}.weight"], params[f"fc{i}.bias"]))
            if spec.dropout > 0:
                h = F.dropout(h, spec.dropout, training)
    return _linear(h, params["out.weight"], params["out.bias"])


def _linear(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``[N, B, in] @ [N, out, in]^T + [N, out]`` in one batched matmul."""
    return torch.baddbmm(bias.unsqueeze(1), h, weight.transpose(1, 2))


def _conv_stack(spec: ModelSpec, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The conv -> ReLU -> max-pool blocks as grouped convolutions; returns
    ``[N, B, C_last, H', W']`` laid out as each model's ``nn.Flatten`` expects."""
    n_models, batch = x.shape[0], x.shape[1]
    # [N, B, C, H, W] -> [B, N * C, H, W]: model m owns channels m*C .. (m+1)*C - 1.
    h = x.transpose(0, 1).reshape(batch, n_models * x.shape[2], *x.shape[3:])
    dtype = params["conv1.weight"].dtype
    if h.device.type == "cpu":  # one copy: to the weights' dtype and channels-last at once
        h = h.to(dtype=dtype, memory_format=torch.channels_last)
    else:
        h = h.to(dtype)
    pad = spec.kernel_size // 2
    for i in range(1, len(spec.channels) + 1):
        weight = params[f"conv{i}.weight"]  # [N, out, in, k, k]
        bias = params[f"conv{i}.bias"]  # [N, out]
        h = F.conv2d(h, weight.reshape(-1, *weight.shape[2:]), bias.reshape(-1),
                     padding=pad, groups=n_models)
        h = torch.relu(F.max_pool2d(h, 2))
    out_ch = spec.channels[-1]
    return h.reshape(batch, n_models, out_ch, *h.shape[2:]).transpose(0, 1)


def widest_activation(spec: ModelSpec) -> int:
    """Values per record in the largest activation of one model (sizes evaluation steps)."""
    if spec.kind == "cnn":
        _, height, width = spec.input_shape
        return max(spec.channels[0] * height * width, spec.num_features)
    return max([spec.num_features, spec.num_classes, *(spec.hidden if spec.kind == "mlp" else [])])

"""What every inversion attack returns."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Reconstruction:
    """Reconstructed records of one client update.

    ``inputs``: ``[M, *input_shape]`` in the model's (normalised) input space: the best
    restart's batch for the optimisation attacks (``M`` = the batch size), the recovered bins
    for Robbing the Fed (``M`` <= bins). ``labels``: ``[M]`` int64 labels paired with
    ``inputs`` (granted or recovered), or ``None`` where the attack recovers no per-record
    label. ``labels_recovered``: true when the labels came from the update, not the threat
    model. ``restart_inputs`` ``[R, M, ...]`` and ``restart_losses`` ``[R]`` (the final
    gradient-matching loss of each restart, lower is better; ``best_restart`` indexes them).
    ``iterations``: optimiser iterations actually run, summed over restarts.
    """

    inputs: torch.Tensor
    labels: torch.Tensor | None
    labels_recovered: bool
    restart_inputs: torch.Tensor
    restart_losses: torch.Tensor
    best_restart: int
    iterations: int

    def to_unit_range(self, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
        """``inputs`` mapped back to pixel values in [0, 1] (de-normalised, clamped)."""
        m = torch.tensor(mean, dtype=self.inputs.dtype).view(1, -1, 1, 1)
        s = torch.tensor(std, dtype=self.inputs.dtype).view(1, -1, 1, 1)
        return (self.inputs * s + m).clamp(0.0, 1.0)

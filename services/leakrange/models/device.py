"""Device choice: CUDA when present, else CPU; ``LEAKRANGE_DEVICE`` overrides."""

from __future__ import annotations

import os

import torch

from leakrange.common.errors import FailedPrecondition, InvalidArgument

DEVICE_ENV = "LEAKRANGE_DEVICE"


def pick_device() -> torch.device:
    """``LEAKRANGE_DEVICE`` (e.g. ``cpu``, ``cuda``, ``cuda:1``) if set, else CUDA if available."""
    override = os.environ.get(DEVICE_ENV, "").strip()
    if not override:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(override)
    except RuntimeError as err:
        raise InvalidArgument(DEVICE_ENV, "not a device name such as cpu, cuda or cuda:0") from err
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise FailedPrecondition(f"{DEVICE_ENV} asks for CUDA but no CUDA device is available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise FailedPrecondition(f"{DEVICE_ENV} names a CUDA device that does not exist")
    elif device.type != "cpu":
        raise InvalidArgument(DEVICE_ENV, "only cpu and cuda devices are supported")
    return device

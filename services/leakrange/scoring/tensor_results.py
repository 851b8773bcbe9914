"""Storing a scorer's arrays as one safetensors artifact (never pickled) and loading them back."""

from __future__ import annotations

import numpy as np
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from leakrange.artifacts import MEDIA_TENSORS, ArtifactRef, ArtifactStore
from leakrange.common.errors import IntegrityError


def store_arrays(store: ArtifactStore, arrays: dict[str, np.ndarray]) -> ArtifactRef:
    return store.put_bytes(save_tensors({k: np.ascontiguousarray(v) for k, v in arrays.items()}),
                           MEDIA_TENSORS)


def load_arrays(store: ArtifactStore, ref: ArtifactRef, names: tuple[str, ...]
                ) -> dict[str, np.ndarray]:
    try:
        tensors = load_tensors(store.get_bytes(ref))
        return {name: np.asarray(tensors[name]) for name in names}
    except (KeyError, ValueError) as err:
        raise IntegrityError("stored result is corrupted") from err

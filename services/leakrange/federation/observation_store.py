"""A federation run's observation in the range's store (the Kubernetes range).

The ServerApp runs in the SuperLink pod with the range's store identity; it writes what the
adversary's role may see under a manifest prefix the run config names (``store-prefix``),
with the same names as ``observation_files`` (``round-1/global``, ``round-1/client-0``,
``round-1/done``, ``round-1/eval``, ``final``): tensors as safetensors blobs, records as JSON
blobs, each published under ``<prefix>/<name>``; never pickle. The orchestrator reads them back
with the same class. Its inputs sit beside them: ``settings`` (``FederationSettings`` as JSON),
``crafted`` (the malicious server's model) and ``holdout`` (records no client holds), written
by the orchestrator before the run. Imports no generated stubs (runs on protobuf 6).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from leakrange.artifacts.manifest_names import validate_manifest_name
from leakrange.artifacts.media_types import MEDIA_JSON, MEDIA_TENSORS
from leakrange.artifacts.store import ArtifactStore
from leakrange.common.errors import IntegrityError, InvalidArgument

SETTINGS = "settings"
CRAFTED = "crafted"
HOLDOUT = "holdout"


class StoreObservations:
    """``observation_files.Observations`` in ``store`` under ``prefix`` (see the module doc)."""

    def __init__(self, store: ArtifactStore, prefix: str) -> None:
        self.store = store
        self.prefix = validate_manifest_name(prefix.strip("/"))

    def _name(self, name: str) -> str:
        return validate_manifest_name(f"{self.prefix}/{name}")

    def write_arrays(self, name: str, arrays: dict[str, np.ndarray]) -> None:
        data = save_tensors({k: np.ascontiguousarray(v) for k, v in arrays.items()})
        self.store.publish(self._name(name), data, MEDIA_TENSORS)

    def write_json(self, name: str, doc: dict[str, Any]) -> None:
        self.store.publish(self._name(name), json.dumps(doc, sort_keys=True).encode(),
                           MEDIA_JSON)

    def _read(self, name: str, media_type: str) -> bytes:
        ref = self.store.resolve(self._name(name))
        if ref.media_type != media_type:
            raise InvalidArgument("observation", f"{name} is not {media_type}")
        return self.store.get_bytes(ref)

    def read_arrays(self, name: str) -> dict[str, np.ndarray]:
        data = self._read(name, MEDIA_TENSORS)
        try:
            return dict(load_tensors(data))
        except SafetensorError:
            raise IntegrityError(f"observation {name} is not valid safetensors") from None

    def read_json(self, name: str) -> dict[str, Any]:
        try:
            doc = json.loads(self._read(name, MEDIA_JSON))
        except ValueError:
            raise IntegrityError(f"observation {name} is not JSON") from None
        if not isinstance(doc, dict):
            raise IntegrityError(f"observation {name} is not a JSON object")
        return doc

    def has(self, name: str) -> bool:
        return self._name(name) in self.store.list_manifests(f"{self.prefix}/")

    def names(self) -> list[str]:
        cut = len(self.prefix) + 1
        return [n[cut:] for n in self.store.list_manifests(f"{self.prefix}/")]

"""The local range fails a deployment at once, with the service's own reason, when the target
cannot load its model (a corrupted blob), instead of waiting out the ready timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakrange.artifacts import FolderStore
from leakrange.common.errors import Unavailable
from leakrange.common.threat_model import Access
from leakrange.orchestrator.backend import TargetDeploySpec
from leakrange.orchestrator.local import LocalBackend

pytestmark = pytest.mark.slow


def test_corrupted_model_fails_the_deployment_with_its_reason(adult_target, tmp_path: Path
                                                              ) -> None:
    store = FolderStore(tmp_path / "store")
    ref = store.put_bytes(adult_target.store.get_bytes(adult_target.ref),
                          adult_target.ref.media_type)
    blob = tmp_path / "store" / "blobs" / "sha256" / ref.sha256[:2] / ref.sha256
    assert blob.is_file()
    blob.chmod(0o600)
    blob.write_bytes(b"\x00" * ref.size)  # same size, wrong bytes
    backend = LocalBackend(str(tmp_path / "store"), tmp_path / "data", ready_timeout=600)
    try:
        with pytest.raises(Unavailable) as err:
            backend.deploy("ex-bad", TargetDeploySpec(ref.uri, Access()), [], {"adv": "tok"})
    finally:
        backend.close()
    message = str(err.value)
    assert "exited before it was ready" in message and "corrupted" in message

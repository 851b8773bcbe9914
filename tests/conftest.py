"""Shared fixtures: S3 on loopback (moto), trained targets, in-process range servers."""

from __future__ import annotations

import pytest
import torch

from tests.fixtures.attacks import attack_server  # noqa: F401 - fixture
from tests.fixtures.federated import federated_attack_stub  # noqa: F401 - fixture
from tests.fixtures.s3_server import (  # noqa: F401 - fixtures
    s3_client,
    s3_endpoint,
    s3_store_url,
    store,
    store_url,
)
from tests.fixtures.synthetic import (  # noqa: F401 - fixtures
    synthetic_attack_stub,
    synthetic_releases,
)
from tests.fixtures.targets import (  # noqa: F401 - fixtures
    adult_target,
    control_target,
    range_store,
    serve_target,
)
from tests.fixtures.text import (  # noqa: F401 - fixtures
    health_corpus,
    text_targets,
    torch_one_thread,
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (requires_gpu)")
    for item in items:
        if "requires_gpu" in item.keywords:
            item.add_marker(skip)

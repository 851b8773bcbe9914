"""``InProcessBackend``: the target and attack services as gRPC servers inside this process.

Same services, ports, tokens and budgets as the local range, without starting processes: for
tests and for embedding the range in another Python program. Prefer ``LocalBackend`` where the
isolation of separate processes matters (an attack that crashes takes only its own process).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping, Sequence

from leakrange.artifacts import ArtifactStore
from leakrange.common.server import RangeServer, ServerOptions
from leakrange.orchestrator.backend import Deployment, RangeBackend, TargetDeploySpec


class InProcessBackend(RangeBackend):
    name = "inprocess"

    def __init__(self, store: ArtifactStore) -> None:
        self._store = store
        self._servers: dict[str, list[RangeServer]] = {}
        self._lock = threading.Lock()

    def deploy(
        self,
        exercise_id: str,
        target: TargetDeploySpec,
        families: Sequence[str],
        tokens: Mapping[str, str],
    ) -> Deployment:
        from leakrange.attacks.service import build_attack_server
        from leakrange.target.policy import AccessPolicy
        from leakrange.target.service import TargetSettings, build_target_server

        policy = AccessPolicy.from_access(target.access)
        attack_token = secrets.token_urlsafe(24)
        servers: list[RangeServer] = []
        with self._lock:
            self._servers[exercise_id] = servers
        try:
            target_server = build_target_server(
                self._store, TargetSettings(target.model, policy, target.max_batch),
                ServerOptions(auth_tokens={t: p for p, t in tokens.items()}, grace_seconds=1.0),
            ).start()
            servers.append(target_server)
            attack_addresses = {}
            for family in families:
                server = build_attack_server(
                    self._store, family,
                    ServerOptions(auth_tokens={attack_token: "orchestrator"}, grace_seconds=1.0),
                ).start()
                servers.append(server)
                attack_addresses[family] = server.address
        except BaseException:
            self.teardown(exercise_id)
            raise
        return Deployment(exercise_id, target_server.address, attack_addresses, attack_token)

    def check(self, deployment: Deployment) -> str | None:
        return None  # in-process servers die only with the orchestrator itself

    def teardown(self, exercise_id: str) -> None:
        with self._lock:
            servers = self._servers.pop(exercise_id, [])
        for server in servers:
            server.stop(1.0)

    def cleanup_orphans(self) -> list[str]:
        return []  # nothing outlives this process

    def close(self) -> None:
        with self._lock:
            ids = list(self._servers)
        for exercise_id in ids:
            self.teardown(exercise_id)

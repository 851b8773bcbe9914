"""The range backend interface: how an exercise's services are deployed and torn down.

A backend turns "serve this model under this access policy, and these attack families" into
running services the orchestrator can reach over gRPC. Two implementations plug in here:

* ``local`` (``leakrange.orchestrator.local``): child processes on loopback ports, the
  embedded default for one machine.
* ``kubernetes``: one Helm release (chart ``leakrange-exercise``) per exercise: a target pod
  and one pod per attack family.

Contract every backend keeps:

* ``target`` may be ``None``: the target kind deploys no Target service (a synthetic data
  release is only an artifact); the backend then starts the attack services alone and the
  ``Deployment`` has an empty ``target_address``.
* ``deploy`` returns only once every service answers gRPC health checks, or raises a
  ``RangeError`` (``Unavailable`` when a service did not come up) after cleaning up what it
  started. It is called from a worker thread; several exercises deploy concurrently.
* The target service enforces the threat model's access policy and gives each principal in
  ``tokens`` its own query budget; the orchestrator hands each adversary only its own token.
* Attack services accept calls only with ``Deployment.attack_token`` (the orchestrator's).
* ``check`` is cheap and polled while an exercise runs (about once a second); it returns a
  short reason once any service of the deployment has died, else ``None``.
* ``teardown`` is idempotent and safe to call for an exercise that was never (fully) deployed.
* ``cleanup_orphans`` runs at orchestrator start-up and removes services left behind by a
  previous orchestrator process (one that was killed before it could tear down).
* ``reference_fanout`` is optional: a backend that can train an attack's reference-model shards
  elsewhere (the Kubernetes backend's Indexed Jobs) returns them for a deployed exercise, and the
  runner then offers the fan-out to the attacks (``orchestrator/reference_fanout.py``); the
  default, ``None``, keeps every reference model in the attack service.
* ``federation_host`` (optional): a backend that runs federations itself returns its host;
  ``teardown`` then also removes what that run left.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from leakrange.common.threat_model import Access

if TYPE_CHECKING:
    from leakrange.orchestrator.reference_fanout import ShardJobs
    from leakrange.orchestrator.target_kinds.federated_host import FederationHost


@dataclass(frozen=True)
class TargetDeploySpec:
    """What the target service serves: a model artifact under an access policy."""

    model: str  # "sha256:<hex>" of the model artifact in the orchestrator's store
    access: Access
    max_batch: int = 4096
    # target.endpoint: the secret whose token the target sends to the inference server
    # (LEAKRANGE_SECRET_<NAME> in the target's environment); never the token itself.
    credentials_secret: str | None = None


@dataclass(frozen=True)
class Deployment:
    """Where the services of one exercise answer."""

    exercise_id: str
    target_address: str  # host:port of the Target service ("" when none was deployed)
    attack_addresses: Mapping[str, str]  # family -> host:port of its Attack service
    attack_token: str | None = None  # bearer token the orchestrator uses on attack services
    details: Mapping[str, str] = field(default_factory=dict)  # backend-specific, for logs


class RangeBackend(ABC):
    """One range backend (see the module docstring for the contract)."""

    name: str = "abstract"

    @abstractmethod
    def deploy(
        self,
        exercise_id: str,
        target: TargetDeploySpec | None,
        families: Sequence[str],
        tokens: Mapping[str, str],
    ) -> Deployment:
        """Start the target (unless ``target`` is ``None``) and one attack service per family;
        wait until all are healthy.

        ``tokens`` maps adversary principal -> bearer token on the target (one budget each).
        """

    @abstractmethod
    def check(self, deployment: Deployment) -> str | None:
        """A short failure reason if a service of ``deployment`` has died, else ``None``."""

    @abstractmethod
    def teardown(self, exercise_id: str) -> None:
        """Stop and remove every service of ``exercise_id`` (idempotent)."""

    @abstractmethod
    def cleanup_orphans(self) -> list[str]:
        """Remove services a previous orchestrator left behind; returns their exercise ids."""

    def reference_fanout(self, exercise_id: str, should_stop: Callable[[], bool]
                         ) -> ShardJobs | None:
        """Where ``exercise_id``'s attacks can have reference shards trained off their service
        (followed until done or ``should_stop()``), or ``None``: this backend has no fan-out."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Tear down everything this backend started (orchestrator shutdown)."""

    def federation_host(self, exercise_id: str) -> FederationHost | None:
        """Where a ``federated`` target of ``exercise_id`` runs its federation when this
        backend hosts it (pods on the Kubernetes range); ``None``: the local launcher."""
        return None

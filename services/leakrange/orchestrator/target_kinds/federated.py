"""``target: {federated: {...}}``: a Flower federation the range runs (deployment engine: a
SuperLink and one SuperNode per client as local processes, ``federation/launcher.py``; on the
Kubernetes range as pods of the exercise's release, ``orchestrator/kubernetes/federation_run.py``).

```yaml
target:
  federated:
    framework: flower
    dataset: digits
    clients: 2
    records_per_client: 1        # = batch_size with local_epochs 1: FedSGD
    partition: iid               # or "dirichlet(0.5)"
    rounds: 1
    local_epochs: 1
    batch_size: 1
    lr: 0.1
    model: mlp-small
    eval_every: 1                # global model's accuracy on the holdout every N rounds
    adversary: {role: honest_server}   # honest_server | malicious_server | client
threat_model: {knowledge: {labels_known: true}}   # server roles: the batches' labels granted
```

The range draws each client's partition and a holdout no client holds from the data set (ground
truth: which records each client holds), runs the federation once per spec (cached in the store
under ``cache/federated/<key>``) and records only what the adversary's role lets it see: the
global model and every client's update of the observed rounds for a server, only the global
models its own node received for a client. The adversary's FL role is part of the target
because it changes the federation itself (a malicious server sends a crafted model; a client
adversary runs one of the nodes).
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leakrange.common.attack_info import MEMBERSHIP, RECORD_RECONSTRUCTION
from leakrange.common.errors import NotFound
from leakrange.orchestrator.target_kinds.base import PrepareContext, Problems, TargetKind

if TYPE_CHECKING:
    from leakrange.orchestrator.spec import ExerciseSpec
    from leakrange.orchestrator.target_kinds.federated_run import FederatedRun

FEDERATED_CACHE_PREFIX = "cache/federated"
Role = Literal["honest_server", "malicious_server", "client"]
SERVER_ROLES = ("honest_server", "malicious_server")
_DIRICHLET = re.compile(r"^dirichlet\(\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*\)$")


class FederatedAdversary(BaseModel):
    """The adversary's place in the federation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role = "honest_server"
    client: int = Field(default=0, ge=0, description="client role: the node it runs")
    rounds: list[int] | None = Field(default=None, min_length=1, max_length=100,
                                     description="server roles: the rounds it observes "
                                                 "(default: all)")
    crafted_round: int = Field(default=1, ge=1, description="malicious server: the round it "
                               "sends the imprint model")
    bins: int | None = Field(default=None, ge=2, le=4096, description="malicious server: "
                             "bins of the imprint block it puts in front of the model "
                             "(default: 4 per record of a client, at least 32)")


class FederatedSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    framework: Literal["flower"] = "flower"
    dataset: str = Field(min_length=1, max_length=64)
    clients: int = Field(default=2, ge=2, le=16)
    records_per_client: int = Field(ge=1, le=100_000)
    partition: str = Field(default="iid", description="iid or dirichlet(alpha)")
    rounds: int = Field(default=1, ge=1, le=50)
    local_epochs: int = Field(default=1, ge=1, le=50)
    batch_size: int = Field(default=1, ge=1, le=100_000)
    lr: float = Field(default=0.1, gt=0, le=10)
    model: str = Field(default="mlp-small", min_length=1, max_length=64 * 1024,
                       description="zoo name or a model spec (JSON)")
    holdout: int = Field(default=200, ge=10, le=1_000_000,
                         description="records no client holds (non-members, public data)")
    split_seed: int = Field(default=0, ge=0, lt=2**63)
    seed: int = Field(default=0, ge=0, lt=2**31, description="model init and batch order")
    eval_every: int = Field(default=0, ge=0, le=50, description="evaluate the global model on "
                            "the holdout every N rounds, range-side (0: never)")
    adversary: FederatedAdversary = FederatedAdversary()

    @field_validator("partition")
    @classmethod
    def _partition(cls, value: str) -> str:
        value = value.strip()
        if value == "iid":
            return value
        m = _DIRICHLET.match(value)
        if m is None or not float(m.group(1)) > 0:
            raise ValueError("must be iid or dirichlet(alpha) with alpha > 0")
        return value

    @property
    def dirichlet_alpha(self) -> float | None:
        m = _DIRICHLET.match(self.partition)
        return float(m.group(1)) if m else None

    @model_validator(mode="after")
    def _adversary_fits(self) -> FederatedSpec:
        a = self.adversary
        if a.role == "client" and a.client >= self.clients:
            raise ValueError("adversary.client must be one of the clients (0-based)")
        if a.rounds is not None and not all(1 <= r <= self.rounds for r in a.rounds):
            raise ValueError("adversary.rounds must be between 1 and rounds")
        if a.role == "malicious_server" and a.crafted_round > self.rounds:
            raise ValueError("adversary.crafted_round must be at most rounds")
        if self.eval_every > self.rounds:
            raise ValueError("eval_every must be at most rounds")
        return self

    @property
    def local_steps(self) -> int:
        return self.local_epochs * -(-self.records_per_client // self.batch_size)


def imprint_bins(spec: FederatedSpec) -> int:
    """Malicious server: ``adversary.bins``, else 4 bins per record of a client (Fowl et al.
    use several times more bins than records, so most records have a bin to themselves), at
    least 32."""
    return spec.adversary.bins or min(4096, max(32, 4 * spec.records_per_client))


def cache_key(spec: FederatedSpec) -> str:
    # Without evaluation the key is the one runs cached before eval_every existed.
    text = spec.model_dump_json(exclude={"eval_every"} if spec.eval_every == 0 else None)
    if spec.adversary.role == "malicious_server":
        # the crafted round sends an imprint block in front of the model (it used to rewrite
        # the first layer): runs cached before that hold another observation
        text += "|imprint-block"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class FederatedKind(TargetKind):
    name: ClassVar[str] = "federated"
    summary: ClassVar[str] = ("A Flower federation (SuperLink + SuperNodes) the range runs; "
                              "the adversary is its server or one of its clients.")
    spec_type: ClassVar[Any] = FederatedSpec
    result_kinds: ClassVar[frozenset[str]] = frozenset({RECORD_RECONSTRUCTION, MEMBERSHIP})
    grants_labels: ClassVar[bool] = True

    @classmethod
    def check(cls, part: Any, exercise: ExerciseSpec) -> Problems:
        from leakrange.datasets.registry import dataset_entry

        spec: FederatedSpec = part
        problems: Problems = []
        try:
            entry = dataset_entry(spec.dataset)
        except NotFound as err:
            return [("target.federated.dataset", str(err))]
        need = spec.clients * spec.records_per_client + spec.holdout
        if need > entry.rows:
            problems.append(("target.federated", f"clients x records_per_client + holdout "
                             f"({need}) exceed the data set's {entry.rows} rows"))
        if exercise.threat_model.knowledge.labels_known and spec.adversary.role not in \
                SERVER_ROLES:
            problems.append(("threat_model.knowledge.labels_known", "a client adversary "
                             "observes no other client's batch whose labels it could be given; "
                             "use a server role"))
        return problems + role_problems(spec, exercise)

    @classmethod
    def prepare(cls, part: Any, ctx: PrepareContext) -> FederatedRun:
        from leakrange.orchestrator.target_kinds.federated_prepare import prepare_federation

        return prepare_federation(part, ctx)


def role_problems(spec: FederatedSpec, exercise: ExerciseSpec) -> Problems:
    """What the role lets the adversary see decides which attacks can run: a server has updates
    and no records to score; a client has records to score and no updates (result kinds from
    the attack catalogue)."""
    from leakrange.catalogue import load_catalogue
    from leakrange.common.errors import RangeError

    catalogue = load_catalogue()
    server = spec.adversary.role in SERVER_ROLES
    problems: Problems = []
    for i, adversary in enumerate(exercise.adversaries):
        for j, attack in enumerate(adversary.attacks):
            try:
                kind = catalogue.get(adversary.family, attack.name).result_kind
            except RangeError:
                continue
            if server and kind == MEMBERSHIP:
                problems.append((f"adversaries[{i}].attacks[{j}]", "a server adversary holds "
                                 "no records to score: use a client role for membership"))
            elif not server and kind == RECORD_RECONSTRUCTION:
                problems.append((f"adversaries[{i}].attacks[{j}]", "a client adversary sees "
                                 "no other client's update: use a server role for inversion"))
    return problems


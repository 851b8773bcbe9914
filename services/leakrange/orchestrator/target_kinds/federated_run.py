"""A finished federation: what the ``federated`` kind prepares. Nothing is served afterwards
(no Target service): the adversary gets what it observed during the run, built here from the
role's observation only, and the range keeps every client's partition as ground truth.

- Server roles: the global model and every client's returned weights of the observed rounds
  (``fl.global.*``, ``fl.update.*``, ``fl.records.*`` audit tensors), no records at all.
- Client role: the global models its node received, its own partition (``population``) and
  the audit records to score (other clients' records and holdout records, mixed, unlabelled).
- ``threat_model.knowledge.labels_known`` (server roles only; validation refuses it for a
  client): also the true labels behind each observed update, ``fl.labels.r<R>.c<K>`` (int64,
  sorted: the labels as a multiset, nothing about the order the client visited its records),
  from the partitions the range keeps. Without the grant no label tensor is ever sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from leakrange.common.attack_info import MEMBERSHIP, RECORD_RECONSTRUCTION
from leakrange.common.tensors import to_proto
from leakrange.common.threat_model import Access
from leakrange.models import ModelSpec
from leakrange.orchestrator.backend import TargetDeploySpec
from leakrange.orchestrator.target_kinds.base import AdversaryView, PreparedTarget
from leakrange.orchestrator.target_kinds.federated import (
    SERVER_ROLES,
    FederatedSpec,
    imprint_bins,
)
from leakrange.orchestrator.target_kinds.synthetic_release import MembershipAudit
from leakrange.v1 import attack_pb2

if TYPE_CHECKING:
    from leakrange.datasets import Dataset
    from leakrange.orchestrator.dataset_cache import DatasetCache
    from leakrange.orchestrator.spec import ExerciseSpec
    from leakrange.report.schema import TargetInfo

MAX_AUDIT_PER_SIDE = 500


@dataclass(frozen=True, eq=False)
class ClientBatches:
    """Range only: every client's records, and the FL setting every number is stated with."""

    x: list[np.ndarray]
    y: list[np.ndarray]
    num_classes: int
    input_shape: tuple[int, ...]
    is_image: bool
    setting: dict[str, Any] = field(default_factory=dict)
    # Tabular data: feature names, categorical features one-hot as "column=value".
    feature_names: tuple[str, ...] | None = None


def fl_setting(spec: FederatedSpec, labels_known: bool = False) -> dict[str, Any]:
    return {"framework": "flower", "clients": spec.clients, "partition": spec.partition,
            "records_per_client": spec.records_per_client, "rounds": spec.rounds,
            "local_epochs": spec.local_epochs, "batch_size": spec.batch_size,
            "local_steps": spec.local_steps, "lr": spec.lr, "role": spec.adversary.role,
            "fedsgd": spec.local_steps == 1, "labels_known": labels_known}


def observed_rounds(spec: FederatedSpec) -> list[int]:
    return spec.adversary.rounds or list(range(1, spec.rounds + 1))


def _tensor(x: np.ndarray) -> Any:
    return to_proto(np.ascontiguousarray(x))


@dataclass(frozen=True, eq=False)
class FederatedRun(PreparedTarget):
    spec: FederatedSpec
    model_spec: ModelSpec
    data: Dataset
    partitions: list[np.ndarray]  # data set rows of each client (ground truth)
    holdout: np.ndarray  # rows no client holds
    observation: dict[str, np.ndarray]  # fl.* tensors of the adversary's role
    facts: dict[str, Any] = field(default_factory=dict)  # rounds finished, seconds ...

    def deploy_spec(self, access: Access) -> TargetDeploySpec | None:
        return None  # the federation ran during prepare; nothing is served afterwards

    def _audit(self, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Client role: other clients' records vs holdout records, balanced and shuffled."""
        me = self.spec.adversary.client
        others = np.concatenate([p for k, p in enumerate(self.partitions) if k != me])
        rng = np.random.default_rng(np.random.SeedSequence([self.spec.split_seed, seed, 0xA0]))
        n = min(len(others), len(self.holdout), MAX_AUDIT_PER_SIDE)
        rows = np.concatenate([rng.choice(others, n, replace=False),
                               rng.choice(self.holdout, n, replace=False)])
        is_member = np.concatenate([np.ones(n, bool), np.zeros(n, bool)])
        order = rng.permutation(2 * n)
        return rows[order], is_member[order]

    def adversary_view(self, exercise: ExerciseSpec, datasets: DatasetCache) -> AdversaryView:
        s, d = self.spec, self.data
        role = s.adversary.role
        # Validation refuses the grant for a client; the role check keeps it server-only here.
        labels_known = exercise.threat_model.knowledge.labels_known and role in SERVER_ROLES
        audit = attack_pb2.TensorBundle()
        truth: dict[str, Any] = {RECORD_RECONSTRUCTION: ClientBatches(
            [d.x[p] for p in self.partitions], [d.y[p] for p in self.partitions],
            d.num_classes, tuple(d.input_shape), d.kind == "image",
            fl_setting(s, labels_known),
            tuple(d.feature_names) if d.feature_names else None)}
        population = attack_pb2.TensorBundle()
        if role not in SERVER_ROLES:  # a server holds no records: no audit x, y
            rows, is_member = self._audit(exercise.seed)
            audit.tensors["x"].CopyFrom(_tensor(d.x[rows].astype(np.float32)))
            audit.tensors["y"].CopyFrom(_tensor(d.y[rows].astype(np.int64)))
            own = self.partitions[s.adversary.client]
            population.tensors["x"].CopyFrom(_tensor(d.x[own].astype(np.float32)))
            population.tensors["y"].CopyFrom(_tensor(d.y[own].astype(np.int64)))
            truth[MEMBERSHIP] = MembershipAudit(is_member)
        for name, value in self.observation.items():
            audit.tensors[name].CopyFrom(_tensor(value))
        if labels_known:
            for r in observed_rounds(s):
                for k, rows in enumerate(self.partitions):
                    if f"fl.records.r{r}" in self.observation:  # the round was observed
                        audit.tensors[f"fl.labels.r{r}.c{k}"].CopyFrom(
                            _tensor(np.sort(d.y[rows]).astype(np.int64)))
        recipe = {"role": role, "clients": s.clients, "rounds": s.rounds,
                  "local_epochs": s.local_epochs, "batch_size": s.batch_size, "lr": s.lr,
                  "records_per_client": s.records_per_client,
                  "adversary_client": s.adversary.client if role == "client" else None,
                  "crafted_round": s.adversary.crafted_round
                  if role == "malicious_server" else 0,
                  "imprint_bins": imprint_bins(s) if role == "malicious_server" else 0}
        data = attack_pb2.AdversaryData(
            audit=audit, dataset=d.name, model_spec_json=self.model_spec.model_dump_json(),
            recipe_json=json.dumps(recipe))
        if "x" in population.tensors:
            data.population.CopyFrom(population)
        return AdversaryView(data=data, truth=truth)

    def report_info(self, view: AdversaryView) -> TargetInfo:
        from leakrange.report.schema import TargetInfo

        s = self.spec
        audit = view.truth.get(MEMBERSHIP)
        members = int(audit.is_member.sum()) if audit is not None else 0
        nonmembers = len(audit) - members if audit is not None else 0
        kind = (f"Flower FedAvg federation of a {self.model_spec.kind} ({s.clients} clients, "
                f"{s.partition} partition of {s.records_per_client} records each, {s.rounds} "
                f"rounds, {s.local_epochs} local epochs of batch {s.batch_size}: "
                f"{s.local_steps} local steps; adversary: {s.adversary.role.replace('_', ' ')})")
        setting = {**fl_setting(s),
                   "observed_rounds": observed_rounds(s),
                   "labels_known": bool(view.truth[RECORD_RECONSTRUCTION].setting.get(
                       "labels_known", False)),
                   "adversary_client": s.adversary.client if s.adversary.role == "client"
                   else None,
                   "crafted_round": s.adversary.crafted_round
                   if s.adversary.role == "malicious_server" else None,
                   "eval_every": s.eval_every,
                   "evaluation": list(self.facts.get("evaluation", []))}
        last = setting["evaluation"][-1] if setting["evaluation"] else None
        return TargetInfo(model_kind=kind, dataset=s.dataset, n_members=members,
                          n_nonmembers=nonmembers, train_size=s.clients * s.records_per_client,
                          test_accuracy=float(last["accuracy"]) if last else None,
                          test_size=int(last["records"]) if last else None,
                          federation=setting)

"""What an adversary is given: the unlabelled, shuffled audit records, the data its threat
model lets it hold, and what it may know about the model. Never membership ground truth.
"""

from __future__ import annotations

import json

import numpy as np

from leakrange.common.tensors import to_proto
from leakrange.common.threat_model import ThreatModel
from leakrange.datasets import Dataset
from leakrange.models import ModelSpec, TrainRecipe, spec_from_name_or_json
from leakrange.orchestrator.spec import AttackSpec
from leakrange.v1 import attack_pb2

# What an adversary that does not know the training recipe assumes: the library defaults.
APPROXIMATE_RECIPE = TrainRecipe()


def _bundle(data: Dataset, rows: np.ndarray, hidden: np.ndarray | None = None
            ) -> attack_pb2.TensorBundle:
    """x and y of ``rows``; ``hidden`` feature columns are blanked and named (never sent)."""
    bundle = attack_pb2.TensorBundle()
    x = np.array(data.x[rows], dtype=np.float32)
    if hidden is not None:
        x[:, hidden] = 0.0
        bundle.tensors["hidden_columns"].CopyFrom(to_proto(hidden.astype(np.int64)))
    bundle.tensors["x"].CopyFrom(to_proto(np.ascontiguousarray(x)))
    bundle.tensors["y"].CopyFrom(to_proto(np.ascontiguousarray(data.y[rows], np.int64)))
    return bundle


def known_model_spec(spec: ModelSpec, threat_model: ThreatModel) -> ModelSpec:
    """The target's spec when the architecture is known, else the named proxy."""
    knowledge = threat_model.knowledge
    if knowledge.architecture_known or not knowledge.proxy_model:
        return spec
    return spec_from_name_or_json(knowledge.proxy_model, spec.input_shape, spec.num_classes)


def known_recipe(recipe: TrainRecipe, threat_model: ThreatModel) -> TrainRecipe:
    return recipe if threat_model.knowledge.recipe_known else APPROXIMATE_RECIPE


def adversary_data(
    data: Dataset,
    audit_rows: np.ndarray,
    population_rows: np.ndarray,
    spec: ModelSpec,
    recipe: TrainRecipe,
    threat_model: ThreatModel,
    hidden_columns: np.ndarray | None = None,
) -> attack_pb2.AdversaryData:
    """The ``AdversaryData`` of every adversary of an exercise (the same for all of them).
    ``hidden_columns``: the secret attribute's one-hot columns, blanked in the audit records."""
    message = attack_pb2.AdversaryData(
        audit=_bundle(data, audit_rows, hidden_columns),
        dataset=data.name,
        model_spec_json=known_model_spec(spec, threat_model).model_dump_json(),
        recipe_json=known_recipe(recipe, threat_model).model_dump_json(),
    )
    if len(population_rows):
        message.population.CopyFrom(_bundle(data, population_rows))
    return message


def run_request(
    run_id: str,
    attack: AttackSpec,
    threat_model: ThreatModel,
    target_address: str,
    target_token: str,
    data: attack_pb2.AdversaryData,
    seed: int,
) -> attack_pb2.RunRequest:
    return attack_pb2.RunRequest(
        run_id=run_id, attack=attack.name, params_json=json.dumps(attack.params),
        threat_model=threat_model.to_proto(),
        target=attack_pb2.TargetEndpoint(address=target_address, token=target_token),
        data=data, seed=seed,
    )


def attack_seed(exercise_seed: int, adversary_index: int, attack_index: int) -> int:
    """A per-attack seed that is the same on every rerun (so cached work is reused)."""
    seq = np.random.SeedSequence([exercise_seed, adversary_index, attack_index])
    # 31 bits: attacks derive further seeds from it (e.g. seed * n + i) within int64.
    return int(seq.generate_state(1, np.uint32)[0] >> np.uint32(1))

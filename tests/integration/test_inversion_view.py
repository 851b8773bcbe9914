"""The adversary view of an attribute-inference exercise carries no secret attribute values,
the range keeps them as ground truth, and the spec names a wrong secret attribute by path."""

from __future__ import annotations

import numpy as np
import pytest

from leakrange.common.attack_info import ATTRIBUTE, RECONSTRUCTION
from leakrange.common.tensors import from_proto
from leakrange.datasets import load_dataset, make_split
from leakrange.models import TrainRecipe, spec_from_name_or_json
from leakrange.orchestrator.dataset_cache import DatasetCache
from leakrange.orchestrator.inversion_truth import hidden_columns
from leakrange.orchestrator.spec_loading import SpecError, load_spec
from leakrange.orchestrator.target_kinds import ModelTarget

SPEC = """
name: attr
target:
  train: {{dataset: {dataset}, members: 100, model: mlp{secret}}}
threat_model:
  access: {{white_box: false, output: probabilities}}
  knowledge: {{data_fraction: 0.2}}
adversaries:
  - family: inversion
    attacks: [{{name: csmia}}]
audit: {{records_per_side: 50}}
"""


def _spec(dataset: str = "adult", secret: str | None = "sex"):
    line = f", secret_attribute: {secret}" if secret else ""
    return load_spec(SPEC.format(dataset=dataset, secret=line))


def test_adversary_view_hides_the_secret_attribute():
    data = load_dataset("adult")
    split = make_split(len(data.y), members=100, nonmembers=100, adversary=500, seed=0)
    spec = spec_from_name_or_json("mlp", list(data.input_shape), data.num_classes)
    from leakrange.artifacts import ArtifactRef

    target = ModelTarget(model_ref=ArtifactRef("0" * 64, 0, "model"), dataset="adult",
                         split=split, spec=spec, recipe=TrainRecipe(), secret_attribute="sex")
    view = target.adversary_view(_spec(), DatasetCache())
    audit = view.data.audit
    assert set(audit.tensors) == {"x", "y", "hidden_columns"}
    x = from_proto(audit.tensors["x"])
    hidden = from_proto(audit.tensors["hidden_columns"])
    assert np.array_equal(hidden, hidden_columns(data, "sex"))
    assert not x[:, hidden].any()  # every secret value is blanked
    truth = view.truth_for(ATTRIBUTE)
    real = data.x[view.truth_for("membership").rows][:, hidden].argmax(axis=1)
    assert np.array_equal(truth.values, real)
    assert len(np.unique(truth.values)) == 2  # the blanked values were real, not constant
    assert RECONSTRUCTION in view.truth


@pytest.mark.parametrize(("dataset", "secret", "problem"), [
    ("adult", "age", "must be a categorical column"),
    ("digits", "sex", "must be a categorical column"),
    ("adult", None, "required by attack 'csmia'"),
])
def test_secret_attribute_is_validated_with_its_path(dataset, secret, problem):
    with pytest.raises(SpecError) as err:
        _spec(dataset, secret)
    assert ("target.train.secret_attribute" in [p for p, _ in err.value.problems])
    assert any(problem in text for _, text in err.value.problems)

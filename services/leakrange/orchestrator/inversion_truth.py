"""What only the range knows for inversion results: the target's members and non-members per
class with an independent evaluation classifier (reconstructions), and the true value of the
hidden attribute with a no-model imputation baseline (attribute inference).

The evaluation classifier is trained by the range on the held-out non-members, never on the
target's training data and never the target itself. The baseline imputes the attribute from the
adversary's own records only (what it could guess without the model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from sklearn.linear_model import LogisticRegression
from torch import nn

from leakrange.common.errors import InvalidArgument
from leakrange.datasets import Dataset, Split

EVAL_EPOCHS = 15


@dataclass(frozen=True, eq=False)
class ReconstructionTruth:
    """Members and held-out non-members of the target (range only)."""

    member_x: np.ndarray
    member_y: np.ndarray
    nonmember_x: np.ndarray
    nonmember_y: np.ndarray
    num_classes: int
    seed: int = 0
    is_image: bool = True
    _cache: dict[str, nn.Module] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, data: Dataset, split: Split, seed: int) -> ReconstructionTruth:
        return cls(data.x[split.members], data.y[split.members], data.x[split.nonmembers],
                   data.y[split.nonmembers], data.num_classes, seed, data.kind == "image")

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.member_x.shape[1:])

    @cached_property
    def evaluator(self) -> nn.Module:
        """A classifier of the same data kind trained on the non-members only."""
        from leakrange.models import TrainRecipe, train_model, zoo_spec

        spec = zoo_spec("cnn" if self.is_image else "mlp", self.input_shape, self.num_classes)
        recipe = TrainRecipe(epochs=EVAL_EPOCHS, batch_size=64, seed=self.seed)
        return train_model(spec, recipe, self.nonmember_x, self.nonmember_y)


@dataclass(frozen=True, eq=False)
class AttributeTruth:
    """The hidden attribute's true value per audit record and what the baseline guesses."""

    attribute: str
    value_names: tuple[str, ...]
    values: np.ndarray  # int64, aligned with the audit set
    is_member: np.ndarray  # bool, aligned with the audit set
    baseline: np.ndarray  # int64 guesses from the adversary's own records, no model

    def __len__(self) -> int:
        return len(self.values)


def hidden_columns(data: Dataset, attribute: str) -> np.ndarray:
    """The one-hot columns of a categorical attribute (``name=value`` features)."""
    names = data.feature_names or []
    cols = [i for i, n in enumerate(names) if n.startswith(f"{attribute}=")]
    if len(cols) < 2:
        raise InvalidArgument("target.train.secret_attribute",
                              "must be a categorical column of the data set")
    return np.asarray(cols, np.int64)


def impute_baseline(x_known: np.ndarray, y_known: np.ndarray, x_audit: np.ndarray,
                    y_audit: np.ndarray, columns: np.ndarray, num_classes: int) -> np.ndarray:
    """Logistic regression from (other features, label) to the attribute, fitted on the
    adversary's records; the majority value when they show a single value."""
    values = x_known[:, columns].argmax(axis=1)
    if len(values) == 0:
        return np.zeros(len(x_audit), np.int64)
    if len(np.unique(values)) < 2:
        return np.full(len(x_audit), int(values[0]), np.int64)

    def features(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.hstack([np.delete(x, columns, axis=1), np.eye(num_classes)[y]])

    model = LogisticRegression(max_iter=1000)
    model.fit(features(x_known, y_known), values)
    return np.asarray(model.predict(features(x_audit, y_audit)), np.int64)


def attribute_truth(data: Dataset, audit_rows: np.ndarray, is_member: np.ndarray,
                    population_rows: np.ndarray, attribute: str) -> AttributeTruth:
    columns = hidden_columns(data, attribute)
    names = data.feature_names or []
    value_names = tuple(names[c].split("=", 1)[1] for c in columns)
    x_audit = data.x[audit_rows]
    baseline = impute_baseline(data.x[population_rows], data.y[population_rows], x_audit,
                               data.y[audit_rows], columns, data.num_classes)
    return AttributeTruth(attribute, value_names, x_audit[:, columns].argmax(axis=1),
                          np.asarray(is_member, bool), baseline)

"""The schema of an imported table: which column is the label, the id, the membership flag, and
how each feature column becomes model input (as is, standardised with given statistics, or
one-hot over given categories). The encoding is the user's, never fitted by the range."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from leakrange.common.errors import InvalidArgument

_COLUMN = Field(min_length=1, max_length=128)


class Standardise(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mean: float
    std: float = Field(gt=0)


class DataSchema(BaseModel):
    """``numeric`` columns are model-ready unless listed in ``standardise``; ``categorical``
    columns are one-hot encoded over their listed categories, in that order. Features appear in
    the file's column order. Without ``numeric`` and ``categorical``, every column other than
    the label, id and member columns is numeric and model-ready."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = _COLUMN
    classes: list[str] | None = Field(default=None, min_length=2, max_length=100_000)
    id: str | None = Field(default=None, min_length=1, max_length=128)
    member: str | None = Field(default=None, min_length=1, max_length=128,
                               description="A boolean column: true for training records.")
    numeric: list[str] | None = None
    categorical: dict[str, list[str]] = Field(default_factory=dict)
    standardise: dict[str, Standardise] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> DataSchema:
        special = [c for c in (self.label, self.id, self.member) if c is not None]
        if len(set(special)) != len(special):
            raise ValueError("label, id and member must be different columns")
        numeric = set(self.numeric or [])
        if numeric & set(self.categorical):
            raise ValueError("a column cannot be both numeric and categorical")
        if (numeric | set(self.categorical)) & set(special):
            raise ValueError("label, id and member columns cannot be features")
        if self.numeric is not None and set(self.standardise) - numeric:
            raise ValueError("standardise lists a column that is not numeric")
        for name, cats in self.categorical.items():
            if not cats or len(set(cats)) != len(cats):
                raise ValueError(f"categorical.{name}: give distinct categories")
        if self.classes is not None and len(set(self.classes)) != len(self.classes):
            raise ValueError("classes must be distinct")
        return self

    def declared_features(self) -> set[str] | None:
        """The feature columns the schema names, or ``None`` when every other column is one."""
        if self.numeric is None and not self.categorical:
            return None
        return set(self.numeric or []) | set(self.categorical)


def load_schema(path: Path) -> DataSchema:
    """A schema from a YAML file; errors name the file and the field."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        raise InvalidArgument(path.name, "not a readable YAML file") from None
    return schema_from_doc(doc, path.name)


def schema_from_doc(doc: object, where: str) -> DataSchema:
    try:
        return DataSchema.model_validate(doc)
    except ValidationError as err:
        first = err.errors(include_input=False, include_url=False)[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InvalidArgument(f"{where}: {loc}" if loc else where, str(first["msg"])) from None

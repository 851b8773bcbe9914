"""``target: {imported: {model: ..., data: ..., members: ...}}``: a model and data the range did
not train (bring your own). Both go through the one import path (``leakrange.imports``):
validated, content-hashed into the store; the membership the user declares is ground truth.

``data`` is a data set name (built in or ``leakrange import-data``) or an inline import;
``model`` is a reference printed by ``leakrange import-model`` or a file to import (ONNX:
black-box, unless its graph converts to a zoo architecture; safetensors + zoo spec: white-box
ready). Relative paths are relative to the
exercise file (``leakrange run`` / ``validate`` make them absolute). Reference models use the
model's own spec when it has one and the threat model grants the architecture, else the zoo
proxy ``threat_model.knowledge.proxy_model``; the report says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from leakrange.artifacts import ArtifactRef
from leakrange.common.attack_info import MEMBERSHIP
from leakrange.common.errors import FailedPrecondition
from leakrange.common.threat_model import Access
from leakrange.datasets import Split
from leakrange.models import ModelSpec
from leakrange.orchestrator.backend import TargetDeploySpec
from leakrange.orchestrator.target_kinds.base import (
    AdversaryView,
    PrepareContext,
    PreparedTarget,
    Problems,
    TargetKind,
)

if TYPE_CHECKING:
    from leakrange.orchestrator.dataset_cache import DatasetCache
    from leakrange.orchestrator.spec import ExerciseSpec
    from leakrange.report.schema import TargetInfo

_PATH = Field(min_length=1, max_length=1024)


class ModelFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = _PATH
    format: Literal["onnx", "safetensors"]
    spec: str | dict[str, Any] | None = Field(
        default=None, description="safetensors only: zoo name or model spec mapping.")


class DataFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    file: str = _PATH
    label: str | None = Field(default=None, min_length=1, max_length=128)
    schema_file: str | None = Field(default=None, alias="schema", min_length=1,
                                    max_length=1024)
    id: str | None = Field(default=None, min_length=1, max_length=128)
    member_column: str | None = Field(default=None, min_length=1, max_length=128)


class ImportedTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    model: str | ModelFile = Field(description="sha256:<hex> from import-model, or a file.")
    data: str | DataFile
    members: str | None = Field(default=None, min_length=1, max_length=1024,
                                description="Member ids, one per line (else the data's own).")
    adversary_share: float = Field(default=0.5, ge=0.0, lt=1.0)
    split_seed: int = Field(default=0, ge=0, lt=2**63)


_PATH_FIELDS = (("model", "file"), ("data", "file"), ("data", "schema"), ("members",))


@dataclass(frozen=True)
class ImportedModelTarget(PreparedTarget):
    """An imported model with the split built from the user's membership. ``spec`` is the
    model's own zoo spec (safetensors) or ``None`` (ONNX: reference models use the proxy)."""

    model_ref: ArtifactRef
    model_format: str
    dataset: str
    split: Split
    spec: ModelSpec | None
    # ONNX recognised as a zoo architecture: the same function as a range model (white-box).
    converted_ref: ArtifactRef | None = None

    def deploy_spec(self, access: Access) -> TargetDeploySpec:
        if access.white_box and self.model_format != "safetensors":
            if self.converted_ref is None:
                raise FailedPrecondition(
                    "threat_model.access.white_box: this model's graph is not one the range "
                    "can convert to a zoo architecture, so it is black-box only")
            return TargetDeploySpec(self.converted_ref.uri, access)
        return TargetDeploySpec(self.model_ref.uri, access)

    def adversary_view(self, exercise: ExerciseSpec, datasets: DatasetCache) -> AdversaryView:
        from leakrange.models import TrainRecipe, spec_from_name_or_json
        from leakrange.orchestrator.adversary_view import adversary_data
        from leakrange.orchestrator.ground_truth import adversary_rows, build_audit

        data = datasets.get(self.dataset)
        spec = self.spec
        if spec is None:
            proxy = exercise.threat_model.knowledge.proxy_model
            if not proxy:
                raise FailedPrecondition(
                    "threat_model.knowledge.proxy_model: the model's graph could not be "
                    "converted to a zoo architecture; name a zoo proxy for reference models")
            spec = spec_from_name_or_json(proxy, list(data.input_shape), data.num_classes)
        audit = build_audit(self.split, exercise.audit.records_per_side, exercise.seed)
        population = adversary_rows(self.split, exercise.threat_model.knowledge, exercise.seed)
        # The user's training recipe is unknown to the range: the adversary gets the defaults.
        message = adversary_data(data, audit.rows, population, spec, TrainRecipe(),
                                 exercise.threat_model)
        return AdversaryView(data=message, truth={MEMBERSHIP: audit})

    def report_info(self, view: AdversaryView) -> TargetInfo:
        from leakrange.models import ModelSpec
        from leakrange.report.schema import TargetInfo

        audit = view.truth_for(MEMBERSHIP)
        handed = ModelSpec.model_validate_json(view.data.model_spec_json)
        if self.spec is not None and handed == self.spec:
            source = "converted from its ONNX graph" if self.model_format == "onnx" \
                else "from its spec"
            reference = f"the model's own architecture ({handed.kind}, {source})"
        else:
            shape = f" {handed.hidden}" if handed.kind == "mlp" else ""
            reference = f"zoo proxy {handed.kind}{shape} (threat_model.knowledge.proxy_model)"
        return TargetInfo(
            model_kind=f"imported {self.model_format}", dataset=self.dataset,
            n_members=int(audit.is_member.sum()), n_nonmembers=int((~audit.is_member).sum()),
            train_size=len(self.split.members), reference_model=reference,
        )


def data_file_problems(data: DataFile, where: str) -> Problems:
    """A data file (or image folder: one sub-folder per class) that exists, with its label."""
    path = Path(data.file)
    if not path.exists():
        return [(f"{where}.file", "file not found")]
    if path.is_file() and data.label is None and data.schema_file is None:
        return [(where, "give label or schema")]
    return []


def data_and_members_problems(data: object, members: str | None, where: str) -> Problems:
    """The data file, when one is named instead of a data set, and the members file of a
    target brought by the user (``where``: target.imported / target.endpoint)."""
    problems = data_file_problems(data, f"{where}.data") if isinstance(data, DataFile) else []
    if members is not None and not Path(members).is_file():
        problems.append((f"{where}.members", "file not found"))
    return problems


class ImportedKind(TargetKind):
    name: ClassVar[str] = "imported"
    summary: ClassVar[str] = "Bring your own model (ONNX or safetensors) and data."
    spec_type: ClassVar[Any] = ImportedTarget
    result_kinds: ClassVar[frozenset[str]] = frozenset({MEMBERSHIP})

    @classmethod
    def localise(cls, doc: Any, base: Path) -> Any:
        if not isinstance(doc, dict):
            return doc
        out = dict(doc)
        for path in _PATH_FIELDS:
            holder = out
            for key in path[:-1]:
                if not isinstance(holder.get(key), dict):
                    holder = {}
                    break
                holder[key] = dict(holder[key])
                holder = holder[key]
            value = holder.get(path[-1])
            if isinstance(value, str) and not value.startswith("sha256:") and \
                    (path != ("members",) or value):
                holder[path[-1]] = str((base / value).resolve()) \
                    if not Path(value).is_absolute() else value
        return out

    @classmethod
    def check(cls, part: Any, exercise: ExerciseSpec) -> Problems:
        from leakrange.models.zoo import ZOO

        target: ImportedTarget = part
        problems: Problems = []
        knowledge = exercise.threat_model.knowledge
        proxy = knowledge.proxy_model or ""
        if isinstance(target.model, ModelFile):
            if not Path(target.model.file).is_file():
                problems.append(("target.imported.model.file", "file not found"))
            if target.model.format == "onnx":
                # White-box and the model's own architecture need the graph converted to a zoo
                # architecture, known only once the file is read (prepare says if it is not).
                if not knowledge.architecture_known and proxy not in ZOO and \
                        not proxy.startswith("{"):
                    problems.append(("threat_model.knowledge.proxy_model",
                                     "an ONNX target needs a zoo proxy for reference models; "
                                     f"zoo: {', '.join(sorted(ZOO))}"))
            elif target.model.spec is None:
                problems.append(("target.imported.model.spec",
                                 "a safetensors model needs a zoo name or model spec"))
        return problems + data_and_members_problems(target.data, target.members,
                                                    "target.imported")

    @classmethod
    def prepare(cls, part: Any, ctx: PrepareContext) -> ImportedModelTarget:
        from leakrange.orchestrator.target_kinds.imported_prepare import prepare_imported

        return prepare_imported(part, ctx)


__all__ = ["DataFile", "ImportedKind", "ImportedModelTarget", "ImportedTarget", "ModelFile",
           "data_and_members_problems", "data_file_problems"]

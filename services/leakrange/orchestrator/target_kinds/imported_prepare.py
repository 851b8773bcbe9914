"""Preparing an ``imported`` target: run the import path for what the spec names as files,
or load what ``leakrange import-data`` / ``import-model`` stored earlier."""

from __future__ import annotations

import json
from pathlib import Path

from leakrange.artifacts import ArtifactStore
from leakrange.common.errors import IntegrityError, InvalidArgument, NotFound, RangeError
from leakrange.datasets import Split
from leakrange.imports.data_import import DataImport, import_data
from leakrange.imports.data_schema import load_schema, schema_from_doc
from leakrange.imports.model_import import ModelImport, import_model, imported_manifest_name
from leakrange.models import ModelSpec, model_from_bytes
from leakrange.orchestrator.target_kinds.base import PrepareContext
from leakrange.orchestrator.target_kinds.imported import (
    DataFile,
    ImportedModelTarget,
    ImportedTarget,
    ModelFile,
)


def prepare_imported(target: ImportedTarget, ctx: PrepareContext) -> ImportedModelTarget:
    store = ctx.store
    data_name = import_data_part(store, target.data)
    if isinstance(target.model, ModelFile):
        spec = target.model.spec
        result = import_model(store, ModelImport(
            file=Path(target.model.file), format=target.model.format, data=data_name,
            spec=json.dumps(spec) if isinstance(spec, dict) else spec,
            members_file=Path(target.members) if target.members else None,
            adversary_share=target.adversary_share, seed=target.split_seed,
        ))
        return ImportedModelTarget(result.ref, result.format, data_name, result.split,
                                   result.spec, result.converted)
    return _stored(store, target.model, data_name)


def import_data_part(store: ArtifactStore, data: str | DataFile) -> str:
    """The data set a target names, importing it first when the spec gives a file."""
    if isinstance(data, str):
        return data
    # An image folder has no label column (the class is the sub-folder): a placeholder name.
    schema = load_schema(Path(data.schema_file)) if data.schema_file else schema_from_doc(
        {"label": data.label or "label", "id": data.id, "member": data.member_column},
        "target.data")
    return import_data(store, DataImport(data.name, Path(data.file), schema)).name


def _stored(store: ArtifactStore, reference: str, data_name: str) -> ImportedModelTarget:
    from leakrange.target.training import groundtruth_manifest

    ref = store.resolve(reference)
    try:
        record = store.get_manifest(imported_manifest_name(ref.sha256))
        truth = store.get_manifest(groundtruth_manifest(ref.sha256))
    except NotFound:
        raise NotFound("target.imported.model: not an imported model in this store "
                       "(leakrange import-model)") from None
    try:
        split = Split.from_json(truth["split"])
        fmt = str(record["format"])
        dataset = str(record["dataset"])
    except (KeyError, TypeError, RangeError) as err:
        raise IntegrityError("import record of the target model is corrupted") from err
    if dataset != data_name:
        raise InvalidArgument("target.imported.data", "the model was imported against "
                                                      "another data set")
    if fmt == "safetensors":
        return ImportedModelTarget(ref, fmt, dataset, split,
                                   model_from_bytes(store.get_bytes(ref))[1])
    converted = record.get("converted")
    if not isinstance(converted, dict):
        return ImportedModelTarget(ref, fmt, dataset, split, None)
    try:
        converted_ref = store.resolve(str(converted["model"]))
        spec = ModelSpec.model_validate(converted["spec"])
    except (KeyError, ValueError, RangeError) as err:
        raise IntegrityError("import record of the target model is corrupted") from err
    return ImportedModelTarget(ref, fmt, dataset, split, spec, converted_ref)

"""Preparing an ``endpoint`` target: import the data, build the split from the user's members,
ask the server for the model's metadata and one small inference (input width and number of
classes checked against the data, naming both, before any exercise starts), then store the
endpoint record (no secret) and the ground truth under the record's content hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

from leakrange.datasets import Dataset, load_dataset
from leakrange.imports.limits import ImportLimits
from leakrange.imports.model_import import membership_split
from leakrange.orchestrator.target_kinds.base import PrepareContext
from leakrange.orchestrator.target_kinds.endpoint import EndpointModelTarget, EndpointTarget
from leakrange.orchestrator.target_kinds.imported_prepare import import_data_part
from leakrange.target.endpoint_host import EndpointRecord, check_metadata, store_record
from leakrange.target.oip_client import EndpointError, InferenceClient, connect

PROBE_RECORDS = 2


def prepare_endpoint(target: EndpointTarget, ctx: PrepareContext) -> EndpointModelTarget:
    from leakrange.target.training import groundtruth_manifest

    store = ctx.store
    data_name = import_data_part(store, target.data)
    data = load_dataset(data_name, store)
    split = membership_split(store, data, Path(target.members) if target.members else None,
                             target.adversary_share, target.split_seed, ImportLimits())
    split_json = split.to_json()
    record = _record(target, data, split_json)
    client = connect(record.address())
    try:
        record = _checked(client, record, data)
    finally:
        client.close()
    ref = store_record(store, record)
    store.put_manifest(groundtruth_manifest(ref.sha256), {
        "dataset": data.name, "split": split_json, "seed": target.split_seed,
        "imported": "endpoint",
    })
    return EndpointModelTarget(ref, "endpoint", data.name, split, None,
                               protocol=target.protocol, endpoint_model=target.model,
                               credentials_secret=target.credentials_secret)


def _record(target: EndpointTarget, data: Dataset, split_json: object) -> EndpointRecord:
    ca_pem = Path(target.ca_file).read_text(encoding="ascii") if target.ca_file else None
    return EndpointRecord(
        protocol=target.protocol, url=target.url, model=target.model, version=target.version,
        input_name=target.input or "", output_name=target.output, outputs=target.outputs,
        credentials_secret=target.credentials_secret, ca_pem=ca_pem,
        timeout_s=target.timeout_s, max_batch=target.max_batch, dataset=data.name,
        class_names=list(data.class_names), input_shape=list(data.input_shape),
        # One record per exercise split: two exercises on one endpoint with different
        # members files never share (and overwrite) a ground-truth manifest.
        split_sha=hashlib.sha256(repr(split_json).encode()).hexdigest(),
    )


def _checked(client: InferenceClient, record: EndpointRecord, data: Dataset) -> EndpointRecord:
    meta = client.metadata()
    if not record.input_name:
        if len(meta.inputs) != 1:
            raise EndpointError("the model has several inputs: set target.endpoint.input")
        record = record.model_copy(update={"input_name": meta.inputs[0].name})
    check_metadata(meta, record)
    declared = next(t for t in meta.inputs if t.name == record.input_name)
    if declared.datatype == "FP64":
        record = record.model_copy(update={"input_datatype": "FP64"})
    if not client.model_ready():
        raise EndpointError("the model is not ready")
    probe = data.x[:PROBE_RECORDS].astype(
        "float64" if record.input_datatype == "FP64" else "float32")
    client.infer(probe, record.input_name, record.output_name, len(record.class_names))
    return record

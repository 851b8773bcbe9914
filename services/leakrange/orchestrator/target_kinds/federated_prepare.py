"""Preparing a ``federated`` target: partitions, the run on Flower's deployment engine, and the
observation of the adversary's role, cached in the range's store by the spec's hash.

The run happens on the local launcher's processes, or in the backend's own federation when it
hosts one (``ctx.federation``: SuperLink and SuperNode pods on the Kubernetes range); both end
in an ``Observations`` the same ``observed`` reads, and the same ``FederatedRun`` follows."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from leakrange.artifacts import MEDIA_TENSORS
from leakrange.common.errors import FailedPrecondition, IntegrityError, NotFound
from leakrange.datasets import Dataset
from leakrange.federation.evaluation import read_evaluations
from leakrange.federation.observation_files import (
    FolderObservations,
    Observations,
    client_name,
    done_name,
    global_name,
    write_arrays,
)
from leakrange.federation.partitions import dirichlet_partitions, iid_partitions
from leakrange.federation.settings import FederationSettings
from leakrange.models import ModelSpec, build_model, spec_from_name_or_json
from leakrange.orchestrator.target_kinds.base import PrepareContext
from leakrange.orchestrator.target_kinds.federated import (
    FEDERATED_CACHE_PREFIX,
    SERVER_ROLES,
    FederatedSpec,
    cache_key,
    imprint_bins,
)
from leakrange.orchestrator.target_kinds.federated_run import FederatedRun

RUN_TIMEOUT = 3600.0


def split(spec: FederatedSpec, data: Dataset) -> tuple[list[np.ndarray], np.ndarray]:
    """Each client's rows and the holdout (disjoint), from the split seed."""
    rng = np.random.default_rng(np.random.SeedSequence([spec.split_seed, 0xFED]))
    rows = rng.permutation(len(data)).astype(np.int64)
    holdout, rest = rows[:spec.holdout], rows[spec.holdout:]
    alpha = spec.dirichlet_alpha
    if alpha is None:
        parts = iid_partitions(rest, spec.clients, spec.records_per_client, rng)
    else:
        parts = dirichlet_partitions(rest, data.y, spec.clients, spec.records_per_client,
                                     alpha, rng)
    return parts, np.sort(holdout)


def initial_state(model_spec: ModelSpec, seed: int) -> dict[str, np.ndarray]:
    """The global model of round 1, as the ServerApp builds it (same seed, same order)."""
    torch.manual_seed(seed)
    return {k: v.detach().numpy().copy() for k, v in build_model(model_spec).state_dict().items()}


def imprint_spec(spec: FederatedSpec, model_spec: ModelSpec) -> ModelSpec:
    """Malicious server: the model it sends in its crafted round (the imprint block of
    ``adversary.bins`` bins in front of the federation's model)."""
    return model_spec.model_copy(update={"imprint_bins": imprint_bins(spec)})


def crafted_block(spec: FederatedSpec, model_spec: ModelSpec, public_x: np.ndarray
                  ) -> dict[str, np.ndarray]:
    """Malicious server: the imprint block's weights (``imprint.*``), its measurement fitted on
    public records (``fl_attacks.imprint.imprint_model``); the ServerApp puts the block in front
    of the current global model in the crafted round."""
    from leakrange.fl_attacks.imprint import BLOCK_PREFIX, ImprintParams, imprint_model
    from leakrange.fl_attacks.updates import Knowledge

    torch.manual_seed(spec.seed)
    # only the record shape matters for the block (the batch is the clients' to choose)
    knowledge = Knowledge(1, tuple(model_spec.input_shape), model_spec.num_classes)
    sent = imprint_model(build_model(model_spec), knowledge,
                         ImprintParams(bins=imprint_bins(spec), seed=spec.seed),
                         calibration=torch.from_numpy(np.ascontiguousarray(public_x, np.float32)))
    return {k: v.detach().numpy().copy() for k, v in sent.state_dict().items()
            if k.startswith(BLOCK_PREFIX)}


def observed(spec: FederatedSpec, out: Observations, observer: Observations
             ) -> dict[str, np.ndarray]:
    """The fl.* tensors of the adversary's role, from the run's observation (``observer``:
    what the client adversary's node kept)."""
    tensors: dict[str, np.ndarray] = {}
    role = spec.adversary.role
    rounds = spec.adversary.rounds or list(range(1, spec.rounds + 1))
    if role in SERVER_ROLES:
        for r in rounds:
            for name, v in out.read_arrays(global_name(r)).items():
                tensors[f"fl.global.r{r}.{name}"] = v
            done = out.read_json(done_name(r))
            counts = np.zeros(spec.clients, np.int64)
            for k in range(spec.clients):
                for name, v in out.read_arrays(client_name(r, k)).items():
                    tensors[f"fl.update.r{r}.c{k}.{name}"] = v
                counts[k] = int(done["clients"][str(k)]["records"])
            tensors[f"fl.records.r{r}"] = counts
    else:
        for r in range(1, spec.rounds + 1):
            if observer.has(global_name(r)):
                for name, v in observer.read_arrays(global_name(r)).items():
                    tensors[f"fl.global.r{r}.{name}"] = v
    return tensors


def run_settings(spec: FederatedSpec, model_spec: ModelSpec, *, crafted: bool,
                 hosted: bool) -> FederationSettings:
    """The ServerApp's settings; ``hosted``: the backend's federation, where the server also
    records the global models for a client adversary (``record_globals``)."""
    role = spec.adversary.role
    return FederationSettings(
        clients=spec.clients, rounds=spec.rounds, local_epochs=spec.local_epochs,
        batch_size=spec.batch_size, lr=spec.lr, seed=spec.seed,
        model_spec=json.loads(model_spec.model_dump_json()),
        record_updates=role in SERVER_ROLES, record_globals=hosted and role == "client",
        crafted_round=spec.adversary.crafted_round if crafted else 0,
        crafted_model_spec=json.loads(imprint_spec(spec, model_spec).model_dump_json())
        if crafted else None,
        eval_every=spec.eval_every)


def facts_of(spec: FederatedSpec, out: Observations, rounds: list[int], seconds: float,
             phases: dict[str, float]) -> dict[str, object]:
    facts: dict[str, object] = {"rounds_finished": rounds, "seconds": round(seconds, 2),
                                "phases": {k: round(v, 2) for k, v in phases.items()}}
    if spec.eval_every:
        facts["evaluation"] = read_evaluations(out)
    return facts


def run_hosted(spec: FederatedSpec, model_spec: ModelSpec, data: Dataset,
               parts: list[np.ndarray], holdout: np.ndarray, ctx: PrepareContext
               ) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """The run in the backend's federation (``ctx.federation``)."""
    from leakrange.orchestrator.target_kinds.federated_host import FederationJob

    assert ctx.federation is not None
    malicious = spec.adversary.role == "malicious_server"
    job = FederationJob(
        run_settings(spec, model_spec, crafted=malicious, hosted=True),
        [(data.x[p].astype(np.float32), data.y[p].astype(np.int64)) for p in parts],
        crafted=crafted_block(spec, model_spec, data.x[holdout]) if malicious else None,
        holdout={"x": data.x[holdout].astype(np.float32),
                 "y": data.y[holdout].astype(np.int64)} if spec.eval_every else None)
    outcome = ctx.federation.run_federation(job, ctx.store, should_stop=ctx.should_stop,
                                            progress=ctx.progress, timeout_s=RUN_TIMEOUT)
    out = outcome.observations
    tensors = observed(spec, out, out)
    return tensors, facts_of(spec, out, outcome.rounds, outcome.seconds, outcome.phases)


def run_federation(spec: FederatedSpec, model_spec: ModelSpec, data: Dataset,
                   parts: list[np.ndarray], holdout: np.ndarray, ctx: PrepareContext
                   ) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    from leakrange.federation.flower_env import find_flower_env
    from leakrange.federation.launcher import Federation

    flower = find_flower_env()
    work = Path(tempfile.mkdtemp(prefix="leakrange-federation-"))
    role = spec.adversary.role
    crafted = ""
    if role == "malicious_server":
        crafted = str(work / "crafted.safetensors")
        write_arrays(Path(crafted), crafted_block(spec, model_spec, data.x[holdout]))
    settings = run_settings(spec, model_spec, crafted=bool(crafted), hosted=False
                            ).model_copy(update={"out_dir": str(work / "out"),
                                                 "crafted_file": crafted})
    if spec.eval_every:
        holdout_file = str(work / "holdout.safetensors")
        write_arrays(Path(holdout_file), {"x": data.x[holdout].astype(np.float32),
                                          "y": data.y[holdout].astype(np.int64)})
        Path(holdout_file).chmod(0o600)
        settings = settings.model_copy(update={"holdout_file": holdout_file})
    observer = spec.adversary.client if role == "client" else None
    federation = Federation(flower, work, settings,
                            [(data.x[p], data.y[p]) for p in parts], observer)
    try:
        outcome = federation.run(should_stop=ctx.should_stop, progress=ctx.progress,
                                 timeout=RUN_TIMEOUT)
    except FailedPrecondition as err:
        shutil.rmtree(work / "partitions", ignore_errors=True)
        raise FailedPrecondition(f"{err.message}; logs "
                                 f"and finished rounds: {work}") from None
    out = FolderObservations(outcome.out_dir)
    tensors = observed(spec, out, FolderObservations(federation.observe_dir))
    facts = facts_of(spec, out, outcome.rounds, outcome.seconds, outcome.phases)
    shutil.rmtree(work, ignore_errors=True)
    return tensors, facts


def prepare_federation(spec: FederatedSpec, ctx: PrepareContext) -> FederatedRun:
    data = ctx.datasets.get(spec.dataset)
    model_spec = spec_from_name_or_json(spec.model, data.input_shape, data.num_classes)
    parts, holdout = split(spec, data)
    name = f"{FEDERATED_CACHE_PREFIX}/{cache_key(spec)}"
    try:
        manifest = ctx.store.get_manifest(name)
        tensors = dict(load_tensors(ctx.store.get_bytes(str(manifest["observation"]))))
        facts = dict(manifest["facts"])
    except (NotFound, KeyError, IntegrityError):
        run = run_federation if ctx.federation is None else run_hosted
        tensors, facts = run(spec, model_spec, data, parts, holdout, ctx)
        ref = ctx.store.put_bytes(save_tensors(tensors), MEDIA_TENSORS)
        ctx.store.put_manifest(name, {"observation": ref.uri, "facts": facts,
                                      "spec": json.loads(spec.model_dump_json())})
    return FederatedRun(spec, model_spec, data, parts, holdout, tensors, facts)

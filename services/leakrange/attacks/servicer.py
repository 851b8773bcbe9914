"""Thin gRPC servicer for ``leakrange.v1.Attack``, shared by every attack family."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterator

import grpc
import numpy as np
from prometheus_client import CollectorRegistry, Counter

from leakrange.artifacts import MEDIA_JSON, ArtifactStore
from leakrange.attacks.base import Attack, AttackOutput
from leakrange.attacks.context import RunContext
from leakrange.attacks.range_fanout import FanoutOffer, FanoutOutcome, PendingFanouts
from leakrange.attacks.registry import AttackRegistry
from leakrange.common.attack_info import FAMILY_CODES
from leakrange.common.errors import (
    AlreadyExists,
    Cancelled,
    InvalidArgument,
    NotFound,
    RangeError,
)
from leakrange.common.tensors import from_proto, require_finite, to_proto
from leakrange.common.threat_model import ThreatModel
from leakrange.target.client import TargetClient
from leakrange.v1 import attack_pb2, attack_pb2_grpc, common_pb2

log = logging.getLogger(__name__)

MAX_AUDIT_RECORDS = 1_000_000
_DONE = object()


class AttackMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.runs = Counter(
            "leakrange_attack_runs_total", "Attack runs by family and outcome",
            ["family", "outcome"], registry=registry,
        )


class AttackServicer(attack_pb2_grpc.AttackServicer):
    def __init__(
        self, registry: AttackRegistry, store: ArtifactStore, metrics: AttackMetrics,
        cores: int = 1,
    ) -> None:
        self._cores = max(1, cores)
        self._registry = registry
        self._store = store
        self._metrics = metrics
        self._runs: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._fanouts = PendingFanouts()

    # -- ListAttacks ---------------------------------------------------------------------------
    def ListAttacks(self, request, context) -> attack_pb2.ListAttacksResponse:
        infos = [a.describe().to_proto() for a in self._registry]
        return attack_pb2.ListAttacksResponse(attacks=infos)

    # -- Cancel --------------------------------------------------------------------------------
    def Cancel(self, request, context) -> attack_pb2.CancelRunResponse:
        with self._lock:
            event = self._runs.get(request.run_id)
        if event is None:
            return attack_pb2.CancelRunResponse(cancelled=False)
        event.set()
        return attack_pb2.CancelRunResponse(cancelled=True)

    # -- CompleteReferenceFanout ---------------------------------------------------------------
    def CompleteReferenceFanout(self, request, context
                                ) -> attack_pb2.CompleteReferenceFanoutResponse:
        o = request.outcome
        outcome = FanoutOutcome.checked(o.completed_indexes, o.failed_indexes, o.succeeded,
                                        o.reason)
        self._fanouts.complete(request.run_id, request.task, outcome)
        return attack_pb2.CompleteReferenceFanoutResponse()

    def cancel_all(self) -> None:
        with self._lock:
            for event in self._runs.values():
                event.set()

    # -- Run -----------------------------------------------------------------------------------
    def Run(self, request, context: grpc.ServicerContext) -> Iterator[attack_pb2.RunEvent]:
        attack_cls = self._attack_class(request.attack)
        params = attack_cls.parse_params(request.params_json)
        if not request.HasField("threat_model"):
            raise InvalidArgument("threat_model", "required")
        threat = ThreatModel.from_proto(request.threat_model)
        attack_cls.check_threat_model(threat)
        text = _text_extras(request.data)
        federated = _federated_extras(request.data.audit)
        audit_x, audit_y = _bundle(request.data.audit, "data.audit",
                                   required="audit_tokens" not in text and not federated)
        if audit_x is None or audit_y is None:
            if "audit_tokens" in text:  # a language model's audit: documents as tokens
                n = len(np.asarray(text["audit_tokens"]))
                audit_x, audit_y = np.zeros((n, 0), np.float32), np.zeros(n, np.int64)
            else:  # a server adversary in a federation: an observation, no records to score
                audit_x, audit_y = np.zeros((0,), np.float32), np.zeros(0, np.int64)
        pop_x, pop_y = _bundle(request.data.population, "data.population",
                               required=False) if "population_tokens" not in text else (None, None)
        if request.seed < 0:
            raise InvalidArgument("seed", "must be >= 0")
        if attack_cls.needs_target and not request.target.address:
            raise InvalidArgument("target.address", "required")
        offer = FanoutOffer.checked(request.reference_fanout.timeout_seconds,
                                    request.reference_fanout.max_shards) \
            if request.HasField("reference_fanout") else None
        run_id = request.run_id or f"run-{id(request):x}"
        cancel = threading.Event()
        with self._lock:
            if run_id in self._runs:
                raise AlreadyExists("a run with this run_id is active")
            self._runs[run_id] = cancel
        context.add_callback(cancel.set)  # client went away -> stop the work
        events: queue.Queue[object] = queue.Queue()
        target = TargetClient(request.target.address, request.target.token or None) \
            if request.target.address else None
        extras: dict[str, object] = {**_audit_extras(request.data.audit),
                                     **_synthetic_extras(request.data), **text, **federated}
        ctx = RunContext(
            run_id=run_id, target_client=target, store=self._store, threat_model=threat,
            audit_x=audit_x, audit_y=audit_y, population_x=pop_x, population_y=pop_y,
            dataset=request.data.dataset, model_spec_json=request.data.model_spec_json,
            recipe_json=request.data.recipe_json, seed=request.seed, cores=self._cores,
            progress=lambda phase, done, total, msg: events.put(attack_pb2.RunEvent(
                progress=common_pb2.ProgressEvent(phase=phase, done=done, total=total,
                                                  message=msg))),
            log=lambda msg: events.put(attack_pb2.RunEvent(
                log=common_pb2.LogEvent(level=common_pb2.LOG_LEVEL_INFO, message=msg))),
            cancel_event=cancel, extras=extras,
        )
        if offer is not None:  # the range trains reference shards on the run's behalf
            ctx.reference_fanout = self._fanouts.open(
                run_id, offer, cancel=cancel, log=ctx.log,
                emit=lambda task, shards: events.put(attack_pb2.RunEvent(
                    reference_fanout=attack_pb2.ReferenceFanoutRequest(task=task,
                                                                       shards=shards))))
        outcome: dict[str, object] = {}

        def work() -> None:
            try:
                outcome["output"] = attack_cls().run(ctx, params)
            except BaseException as err:  # noqa: BLE001 - re-raised in the RPC thread
                outcome["error"] = err
            finally:
                events.put(_DONE)

        family = self._registry.family
        worker = threading.Thread(target=work, name=f"attack-{run_id}", daemon=True)
        worker.start()
        try:
            while True:
                item = events.get()
                if item is _DONE:
                    break
                yield item  # type: ignore[misc]
            if "error" in outcome:
                err = outcome["error"]
                self._metrics.runs.labels(family, _outcome(err)).inc()
                raise err  # type: ignore[misc]
            output: AttackOutput = outcome["output"]  # type: ignore[assignment]
            queried = target.records_queried if target is not None else 0
            result = self._result(attack_cls, output, run_id, queried)
            self._metrics.runs.labels(family, "succeeded").inc()
            yield attack_pb2.RunEvent(result=result)
        finally:
            cancel.set()
            worker.join(timeout=30)
            if target is not None:
                target.close()
            self._fanouts.close(run_id)
            with self._lock:
                self._runs.pop(run_id, None)

    def _attack_class(self, name: str) -> type[Attack]:
        if not name:
            raise InvalidArgument("attack", "required")
        try:
            return self._registry.get(name)
        except NotFound as err:
            raise InvalidArgument("attack", str(err)) from None

    def _result(
        self, attack_cls: type[Attack], output: AttackOutput, run_id: str, queried: int
    ) -> attack_pb2.AttackResult:
        facts = {"queries": float(queried), **output.facts}
        result = attack_pb2.AttackResult(
            attack=attack_cls.name, family=FAMILY_CODES[attack_cls.family],
            metrics=[common_pb2.Metric(name=k, value=float(v)) for k, v in facts.items()],
        )
        doc: dict[str, object] = {"schema_version": "1.0", "run_id": run_id,
                                  "attack": attack_cls.name, "family": attack_cls.family,
                                  "facts": facts}
        if output.scores is not None:
            scores = np.asarray(output.scores, dtype=np.float64)
            result.scores.CopyFrom(to_proto(scores))
            doc["scores"] = [float(s) for s in scores]
        if output.reconstructions is not None:
            result.reconstructions.CopyFrom(to_proto(output.reconstructions))
        if output.reconstructed_labels is not None:
            result.reconstructed_labels.CopyFrom(to_proto(output.reconstructed_labels))
        for key, value in output.outputs.items():
            result.outputs[key].CopyFrom(to_proto(value))

        ref = self._store.put_bytes(json.dumps(doc).encode(), MEDIA_JSON)
        result.artifact.CopyFrom(ref.to_proto())
        return result


def _outcome(err: object) -> str:
    if isinstance(err, Cancelled):
        return "cancelled"
    return "failed" if isinstance(err, RangeError) else "error"


# Audit tensors besides x and y that a family may be handed (attribute inference: the one-hot
# columns of the hidden attribute, blanked in ``x``).
AUDIT_EXTRAS = ("hidden_columns",)


def _audit_extras(bundle: attack_pb2.TensorBundle) -> dict[str, np.ndarray]:
    extras: dict[str, np.ndarray] = {}
    for name in AUDIT_EXTRAS:
        if name in bundle.tensors:
            value = from_proto(bundle.tensors[name], f"data.audit.{name}", max_elements=65_536)
            if value.dtype.kind not in "iu" or value.ndim != 1:
                raise InvalidArgument(f"data.audit.{name}", "must be a 1-D list of integers")
            extras[name] = value.astype(np.int64)
    return extras


MAX_SCHEMA_BYTES = 256 * 1024
MAX_TEXT_TOKENS = MAX_AUDIT_RECORDS * 64


def _token_rows(bundle: attack_pb2.TensorBundle, field: str) -> dict[str, np.ndarray]:
    """Documents as token ids: "tokens" int [n, length] and "lengths" int [n] (1..length)."""
    if "tokens" not in bundle.tensors:
        return {}
    tokens = from_proto(bundle.tensors["tokens"], f"{field}.tokens", max_elements=MAX_TEXT_TOKENS)
    if tokens.dtype.kind not in "iu" or tokens.ndim != 2:
        raise InvalidArgument(f"{field}.tokens", "must be a 2-D table of integer token ids")
    if "lengths" not in bundle.tensors:
        raise InvalidArgument(f"{field}.lengths", "required (tokens per document)")
    lengths = from_proto(bundle.tensors["lengths"], f"{field}.lengths",
                         max_elements=MAX_AUDIT_RECORDS)
    if lengths.dtype.kind not in "iu" or lengths.shape != (len(tokens),):
        raise InvalidArgument(f"{field}.lengths", "must be one integer per document")
    if len(lengths) and (lengths.min() < 1 or lengths.max() > tokens.shape[1]):
        raise InvalidArgument(f"{field}.lengths", "must be between 1 and the row length")
    prefix = field.rsplit(".", 1)[-1]
    return {f"{prefix}_tokens": tokens.astype(np.int64),
            f"{prefix}_lengths": lengths.astype(np.int64)}


def _text_extras(data: attack_pb2.AdversaryData) -> dict[str, object]:
    """A language model's documents (audit, population) and its canary candidates / prompt."""
    extras: dict[str, object] = {**_token_rows(data.audit, "data.audit"),
                                 **_token_rows(data.population, "data.population")}
    text = data.text
    if text.HasField("canary_candidates"):
        cands = from_proto(text.canary_candidates, "data.text.canary_candidates",
                           max_elements=MAX_TEXT_TOKENS)
        if cands.dtype.kind not in "iu" or cands.ndim != 2 or cands.shape[1] < 2:
            raise InvalidArgument("data.text.canary_candidates",
                                  "must be a 2-D table of integer token ids")
        prefix = from_proto(text.canary_prefix, "data.text.canary_prefix", max_elements=4096)
        if prefix.dtype.kind not in "iu" or prefix.ndim != 1:
            raise InvalidArgument("data.text.canary_prefix", "must be a list of token ids")
        secret = int(text.canary_secret_tokens)
        if not 1 <= secret < cands.shape[1]:
            raise InvalidArgument("data.text.canary_secret_tokens",
                                  "must be between 1 and the candidates' length - 1")
        extras.update(canary_candidates=cands.astype(np.int64),
                      canary_prefix=prefix.astype(np.int64), canary_secret_tokens=secret)
    return extras


# Federated observations travel as ``fl.``-prefixed audit tensors (see
# attacks/federated/observation.py).
FEDERATED_PREFIX = "fl."
MAX_FEDERATED_ELEMENTS = 64_000_000


def _federated_extras(bundle: attack_pb2.TensorBundle) -> dict[str, object]:
    """The federated adversary's observation: every finite ``fl.*`` tensor of the audit bundle."""
    tensors: dict[str, np.ndarray] = {}
    total = 0
    for name, tensor in bundle.tensors.items():
        if not name.startswith(FEDERATED_PREFIX):
            continue
        field = f"data.audit.{name[:80]}"
        value = from_proto(tensor, field, max_elements=MAX_FEDERATED_ELEMENTS)
        total += value.size
        if total > MAX_FEDERATED_ELEMENTS:
            raise InvalidArgument("data.audit", "federated observation too large")
        if value.dtype.kind == "f":
            require_finite(value, field)
        tensors[name] = value
    return {"federated": tensors} if tensors else {}


def _table(tensor: common_pb2.Tensor, field: str) -> np.ndarray:
    """A finite 2-D table of numbers, as float64."""
    table = from_proto(tensor, field, max_elements=MAX_AUDIT_RECORDS * 256)
    if table.ndim != 2 or table.dtype.kind != "f":
        raise InvalidArgument(field, "must be a 2-D table of numbers")
    require_finite(table, field)
    return table.astype(np.float64)


def _synthetic_extras(data: attack_pb2.AdversaryData) -> dict[str, object]:
    """A released synthetic table (``synthetic_table``) and its columns (``table_schema``)."""
    extras: dict[str, object] = {}
    if "x" in data.synthetic.tensors:
        extras["synthetic_table"] = _table(data.synthetic.tensors["x"], "data.synthetic.x")
    for name in ("link_b", "inpaint_x", "inpaint_known"):
        if name in data.audit.tensors:
            extras[name] = _table(data.audit.tensors[name], f"data.audit.{name}")
    if data.table_schema_json:
        if len(data.table_schema_json) > MAX_SCHEMA_BYTES:
            raise InvalidArgument("data.table_schema_json", "too large")
        try:
            extras["table_schema"] = json.loads(data.table_schema_json)
        except (json.JSONDecodeError, RecursionError):
            raise InvalidArgument("data.table_schema_json", "not JSON") from None
    return extras


def _bundle(
    bundle: attack_pb2.TensorBundle, field: str, *, required: bool
) -> tuple[np.ndarray | None, np.ndarray | None]:
    if "x" not in bundle.tensors:
        if required:
            raise InvalidArgument(f"{field}.x", "required")
        return None, None
    x = from_proto(bundle.tensors["x"], f"{field}.x",
                   max_elements=MAX_AUDIT_RECORDS * 4096).astype(np.float32, copy=False)
    require_finite(x, f"{field}.x")
    if "y" not in bundle.tensors:
        raise InvalidArgument(f"{field}.y", "required (class labels)")
    y = from_proto(bundle.tensors["y"], f"{field}.y", max_elements=MAX_AUDIT_RECORDS)
    if y.dtype.kind not in "iu":
        raise InvalidArgument(f"{field}.y", "must be integer class labels")
    if y.ndim != 1 or len(y) != len(x):
        raise InvalidArgument(f"{field}.y", "must be one label per record in x")
    return x, y.astype(np.int64)



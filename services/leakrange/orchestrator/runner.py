"""``ExerciseRunner``: runs one exercise from a queued record to a final state.

Steps: the target kind prepares the target (ground truth stays here) and the adversary view ->
deploy the target and the attack services through the backend -> run each adversary's attacks
over gRPC (a watchdog polls the backend for dead services) -> the scorer of each attack's result
kind (from the attack catalogue) checks and scores what came back against the ground truth ->
build and store the report -> tear down. Attacks that already succeeded (a resumed exercise) are
not run again. The runner never branches on target kind, family or result kind. When the backend
can fan reference training out (Kubernetes Jobs), each attack is offered it and its requests
are served by a ``FanoutRelay`` (``reference_fanout.py``) beside the Run stream.

A sweep (``target.variants``, ``sweep.py``) runs these steps once per variant, one variant
deployed at a time, and the report compares them (``report/sweep.py``).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc

from leakrange.artifacts import MEDIA_JSON, ArtifactStore
from leakrange.catalogue import AttackCatalogue, load_catalogue
from leakrange.common.client import open_channel
from leakrange.common.errors import RangeError, from_rpc_error
from leakrange.orchestrator.adversary_view import attack_seed, run_request
from leakrange.orchestrator.backend import Deployment, RangeBackend
from leakrange.orchestrator.control import ExerciseControl
from leakrange.orchestrator.dataset_cache import DatasetCache
from leakrange.orchestrator.events import Event, EventHub, Progress
from leakrange.orchestrator.records import (
    AttackRecord,
    ExerciseRecord,
    ExerciseState,
    MetricValue,
)
from leakrange.orchestrator.reference_fanout import FanoutRelay
from leakrange.orchestrator.runner_settings import RunnerSettings
from leakrange.orchestrator.spec import AdversarySpec, AttackSpec, ExerciseSpec
from leakrange.orchestrator.spec_loading import parse_spec
from leakrange.orchestrator.state import ExerciseDB
from leakrange.orchestrator.sweep import VariantRun, sweep_plan
from leakrange.orchestrator.target_kinds import (
    AdversaryView,
    PrepareContext,
    PreparedTarget,
    resolve,
)
from leakrange.orchestrator.telemetry import OrchestratorMetrics
from leakrange.scoring import AttackOutcome, scorer_for
from leakrange.v1 import attack_pb2, attack_pb2_grpc

log = logging.getLogger(__name__)

INTERNAL_FAILURE = "internal error (details are in the orchestrator log)"

__all__ = ["INTERNAL_FAILURE", "ExerciseRunner", "RunnerSettings"]


@dataclass
class _Context:
    """What the attacks of one exercise share."""

    exercise_id: str
    spec: ExerciseSpec
    control: ExerciseControl
    deployment: Deployment
    tokens: dict[str, str]
    view: AdversaryView
    attempt: int
    target: PreparedTarget
    variant: VariantRun


class ExerciseRunner:
    def __init__(
        self, store: ArtifactStore, backend: RangeBackend, db: ExerciseDB, hub: EventHub,
        metrics: OrchestratorMetrics, settings: RunnerSettings | None = None,
        catalogue: AttackCatalogue | None = None,
    ) -> None:
        self._catalogue = catalogue or load_catalogue()
        self._store = store
        self._backend = backend
        self._db = db
        self._hub = hub
        self._metrics = metrics
        self._settings = settings or RunnerSettings()
        self._datasets = DatasetCache(store=store)

    # ------------------------------------------------------------------ events

    def _emit(self, exercise_id: str, **fields: object) -> None:
        self._hub.publish(Event(exercise_id=exercise_id, **fields))  # type: ignore[arg-type]

    def _progress(self, exercise_id: str, phase: str, done: int, total: int, message: str = "",
                  adversary: str = "", attack: str = "") -> None:
        self._emit(exercise_id, progress=Progress(phase, done, total, message, adversary, attack))

    def _finish(self, exercise_id: str, state: ExerciseState, message: str) -> ExerciseRecord:
        record = self._db.transition(exercise_id, state, allowed_from=[ExerciseState.RUNNING],
                                     message=message)
        if record.started_at is not None and record.finished_at is not None:
            self._metrics.durations.labels(state.value).observe(
                record.finished_at - record.started_at)
        self._emit(exercise_id, state=state, log=message or None)
        return record

    # --------------------------------------------------------------------- run

    def run(self, exercise_id: str, control: ExerciseControl) -> ExerciseRecord:
        """Run a QUEUED exercise to a final state. Never raises for the exercise's own errors."""
        record = self._db.transition(exercise_id, ExerciseState.RUNNING,
                                     allowed_from=[ExerciseState.QUEUED])
        self._emit(exercise_id, state=ExerciseState.RUNNING)
        watchdog_stop = threading.Event()
        try:
            plan = sweep_plan(parse_spec(record.spec_yaml))
            done: list[tuple[_Context, list[AttackOutcome]]] = []
            for variant in plan:
                ctx = self._prepare(record, variant, control, watchdog_stop)
                self._run_attacks(ctx)
                done.append((ctx, self._outcomes(ctx)))
                if len(plan) > 1:  # the next variant gets its own target service
                    watchdog_stop.set()
                    self._backend.teardown(exercise_id)
                    watchdog_stop = threading.Event()
            return self._report(record, done)
        except BaseException as err:  # noqa: BLE001 - every outcome becomes a final state
            return self._fail(exercise_id, control, err)
        finally:
            watchdog_stop.set()
            self._backend.teardown(exercise_id)

    def _fail(self, exercise_id: str, control: ExerciseControl, err: BaseException
              ) -> ExerciseRecord:
        if control.kind == "shutdown":
            return self._finish(exercise_id, ExerciseState.INTERRUPTED, control.reason)
        if control.kind == "cancel":
            return self._finish(exercise_id, ExerciseState.CANCELLED, control.reason)
        if control.kind == "failure":
            return self._finish(exercise_id, ExerciseState.FAILED, control.reason)
        if isinstance(err, RangeError):
            return self._finish(exercise_id, ExerciseState.FAILED, str(err))
        log.error("exercise failed", extra={"exercise": exercise_id}, exc_info=err)
        return self._finish(exercise_id, ExerciseState.FAILED, INTERNAL_FAILURE)

    def _prepare(
        self, record: ExerciseRecord, variant: VariantRun, control: ExerciseControl,
        watchdog_stop: threading.Event,
    ) -> _Context:
        eid = record.id
        spec = variant.spec
        self._progress(eid, "target_training", 0, 1, "preparing the target" + (
            f" (variant {variant.name})" if variant.in_sweep else ""))
        kind, part = resolve(spec.target)
        target = kind.prepare(part, PrepareContext(
            self._store, self._datasets,
            progress=lambda done, total: self._progress(eid, "target_training", done, total),
            should_stop=control.stopped, federation=self._backend.federation_host(eid),
        ))
        self._progress(eid, "target_training", 1, 1, "target ready")
        control.raise_if_stopped()
        view = target.adversary_view(spec, self._datasets)
        tokens = {name: secrets.token_urlsafe(24) for name in spec.adversary_names()}
        self._progress(eid, "deploying", 0, 1, f"starting services ({self._backend.name})")
        deployment = self._backend.deploy(
            eid, target.deploy_spec(spec.threat_model.access), spec.families(), tokens,
        )
        self._progress(eid, "deploying", 1, 1, "services ready")
        threading.Thread(target=self._watch_backend, args=(deployment, control, watchdog_stop),
                         name=f"watchdog-{eid}", daemon=True).start()
        control.raise_if_stopped()
        return _Context(eid, spec, control, deployment, tokens, view, record.attempts, target,
                        variant)

    def _watch_backend(self, deployment: Deployment, control: ExerciseControl,
                       stop: threading.Event) -> None:
        while not stop.wait(self._settings.check_interval):
            reason = self._backend.check(deployment)
            if reason is not None:
                control.stop("failure", reason)
                return

    # ----------------------------------------------------------------- attacks

    def _run_attacks(self, ctx: _Context) -> None:
        done = {(a.adversary, a.attack) for a in self._db.attacks(ctx.exercise_id)
                if a.status == "succeeded"}
        names = [ctx.variant.record_name(n) for n in ctx.spec.adversary_names()]
        for i, adversary in enumerate(ctx.spec.adversaries):
            queries = 0
            for j, attack in enumerate(adversary.attacks):
                if (names[i], attack.name) in done:
                    continue
                ctx.control.raise_if_stopped()
                record = self._run_attack(ctx, i, adversary, j, attack)
                ctx.control.raise_if_stopped()
                self._db.save_attack(ctx.exercise_id, record)
                self._metrics.attacks.labels(adversary.family, record.status).inc()
                if record.status != "succeeded":
                    self._metrics.attack_failures.labels(adversary.family).inc()
                self._emit(ctx.exercise_id, attack_finished=record)
                queries += int(next((f.value for f in record.facts if f.name == "queries"), 0))
                self._progress(ctx.exercise_id, "queries", queries,
                               ctx.spec.threat_model.access.query_budget,
                               "records queried", names[i])

    def _run_attack(self, ctx: _Context, i: int, adversary: AdversarySpec, j: int,
                    attack: AttackSpec) -> AttackRecord:
        principal = ctx.spec.adversary_names()[i]
        name = ctx.variant.record_name(principal)
        address = ctx.deployment.attack_addresses[adversary.family]
        run_id = f"{ctx.exercise_id}-{name.replace('/', '-')}-{attack.name}-{ctx.attempt}"
        request = run_request(
            run_id=run_id,
            attack=attack, threat_model=ctx.spec.threat_model,
            target_address=ctx.deployment.target_address, target_token=ctx.tokens[principal],
            data=ctx.view.data, seed=attack_seed(ctx.spec.seed, i, j),
        )
        relay = FanoutRelay.open(self._backend, ctx.exercise_id, run_id, ctx.control.stopped,
                                 lambda note: self._emit(ctx.exercise_id,
                                                         log=f"{name}/{attack.name}: {note}"))
        if relay is not None:
            request.reference_fanout.CopyFrom(relay.offer())
        started = time.monotonic()
        self._progress(ctx.exercise_id, "attack", 0, 1, "started", name, attack.name)
        channel = open_channel(address, ctx.deployment.attack_token)
        result: attack_pb2.AttackResult | None = None
        try:
            stub = attack_pb2_grpc.AttackStub(channel)
            call = stub.Run(request)
            ctx.control.attach(call)
            for event in call:
                kind = event.WhichOneof("event")
                if kind == "progress":
                    p = event.progress
                    self._progress(ctx.exercise_id, p.phase, p.done, p.total, p.message,
                                   name, attack.name)
                elif kind == "log":
                    self._emit(ctx.exercise_id, log=f"{name}/{attack.name}: {event.log.message}")
                elif kind == "result":
                    result = event.result
                elif kind == "reference_fanout" and relay is not None:
                    relay.handle(event.reference_fanout, stub)
        except grpc.RpcError as err:
            ctx.control.raise_if_stopped()
            reason = self._dead_service(ctx.deployment, err)
            if reason is not None:
                ctx.control.stop("failure", reason)
                ctx.control.raise_if_stopped()
            return self._failed(adversary, name, attack, str(from_rpc_error(err)))
        finally:
            if relay is not None:  # its Job is deleted before the channel closes
                relay.close()
            ctx.control.detach()
            channel.close()
        seconds = time.monotonic() - started
        self._progress(ctx.exercise_id, "attack", 1, 1, "finished", name, attack.name)
        if result is None:
            return self._failed(adversary, name, attack, "the attack returned no result")
        self._progress(ctx.exercise_id, "scoring", 0, 1, "", name, attack.name)
        try:
            kind = self._catalogue.get(adversary.family, attack.name).result_kind
            accepted = scorer_for(kind).accept(
                result, ctx.view.truth_for(kind), self._store,
                n_bootstrap=self._settings.headline_bootstrap, seed=ctx.spec.seed,
            )
        except RangeError as err:
            return self._failed(adversary, name, attack, str(err))
        metrics = tuple(MetricValue(key, e.value, e.ci_low, e.ci_high)
                        for key, e in accepted.headline)
        facts = (*(MetricValue(m.name, m.value) for m in result.metrics),
                 MetricValue("seconds", seconds))
        return AttackRecord(
            adversary=name, family=adversary.family, attack=attack.name, status="succeeded",
            metrics=metrics, scores=accepted.artifact, facts=facts,
        )

    def _dead_service(self, deployment: Deployment, err: grpc.RpcError) -> str | None:
        """Why the call broke, if a service of the deployment died. A connection that drops
        with UNAVAILABLE usually means the process is exiting: give the backend a moment to
        see the exit before calling it an attack failure."""
        tries = 20 if err.code() == grpc.StatusCode.UNAVAILABLE else 1
        for attempt in range(tries):
            reason = self._backend.check(deployment)
            if reason is not None or attempt == tries - 1:
                return reason
            time.sleep(0.1)
        return None

    @staticmethod
    def _failed(adversary: AdversarySpec, name: str, attack: AttackSpec, message: str
                ) -> AttackRecord:
        return AttackRecord(adversary=name, family=adversary.family, attack=attack.name,
                            status="failed", message=message)

    # ------------------------------------------------------------------ report

    def _outcomes(self, ctx: _Context) -> list[AttackOutcome]:
        """Every attack of one (variant's) run joined with its ground truth, for the report."""
        by_key = {(a.adversary, a.attack): a for a in self._db.attacks(ctx.exercise_id)}
        names = ctx.spec.adversary_names()
        families = [a.family for a in ctx.spec.adversaries]
        outcomes: list[AttackOutcome] = []
        for i, adversary in enumerate(ctx.spec.adversaries):
            for attack in adversary.attacks:
                done = by_key.get((ctx.variant.record_name(names[i]), attack.name))
                label = ctx.variant.label(attack.name if families.count(adversary.family) == 1
                                          else f"{attack.name} ({names[i]})")
                facts = {f.name: f.value for f in done.facts} if done else {}
                kind = self._catalogue.get(adversary.family, attack.name).result_kind
                evidence = scorer_for(kind).evidence(
                    self._store, done.scores, ctx.view.truth_for(kind),
                ) if done and done.scores else {}
                outcomes.append(AttackOutcome(
                    family=adversary.family, attack=label, result_kind=kind,
                    params=dict(attack.params),
                    seconds=float(facts.get("seconds", 0.0)),
                    queries_used=int(facts.get("queries", 0)),
                    reference_models=int(facts.get("reference_models", 0)),
                    error=None if done and done.status == "succeeded"
                    else (done.message if done else "not run"),
                    **evidence,
                ))
        return outcomes

    def _report(self, record: ExerciseRecord, done: list[tuple[_Context, list[AttackOutcome]]]
                ) -> ExerciseRecord:
        from leakrange.report import build_report, write_report
        from leakrange.report.publish import report_json
        from leakrange.report.sweep import VariantOutcomes

        eid = record.id
        self._progress(eid, "report", 0, 1, "building the report")
        attacks = self._db.attacks(eid)
        ctx = done[0][0]
        variants = [VariantOutcomes(c.variant.name, c.variant.overrides,
                                    c.target.report_info(c.view), o)
                    for c, o in done] if ctx.variant.in_sweep else None
        report = build_report(
            exercise_id=eid, name=ctx.spec.name,
            created=datetime.fromtimestamp(record.created_at, UTC),
            finished=datetime.now(UTC), threat_model=ctx.spec.threat_model,
            target=ctx.target.report_info(ctx.view),
            outcomes=[o for _, outcomes in done for o in outcomes],
            n_bootstrap=self._settings.report_bootstrap, seed=ctx.spec.seed, variants=variants,
        )
        if ctx.spec.report.html:
            json_ref, html_ref = write_report(report, self._store)
        else:
            json_ref, html_ref = self._store.put_bytes(report_json(report), MEDIA_JSON), None
        self._db.set_report(eid, json_ref, html_ref, report.overall.risk_level)
        self._progress(eid, "report", 1, 1, "report stored")
        if not any(a.status == "succeeded" for a in attacks):
            return self._finish(eid, ExerciseState.FAILED, "every attack failed")
        return self._finish(eid, ExerciseState.SUCCEEDED, "")

"""Reference models trained in worker processes, one torch thread each, to fill the CPU cores.

Workers come from the ``forkserver`` start method: the server process imports torch once
(preloaded) and forks each worker from that clean state, so a worker costs a fork, not a torch
import, and never inherits the parent's gRPC or OpenMP threads (``fork`` from a threaded server
is unsafe). Each worker receives the pool's arrays once when it starts and builds its tensors
once; after that a task is only (model rows, seed). Messages travel over multiprocessing pipes
between this process and the children it started (pickle on a private channel, never data from
outside). Results are yielded range by range, in order, as soon as a range is complete.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import itertools
import multiprocessing as mp
import queue
import resource
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from leakrange.common.errors import Cancelled, InvalidArgument
from leakrange.models.malloc import keep_freed_memory
from leakrange.models.precision import dtype_from_name, dtype_name
from leakrange.models.recipe import TrainRecipe
from leakrange.models.spec import ModelSpec
from leakrange.models.trainer import ProgressFn, StopFn, input_tensor, training_tensors

_PRELOAD = ["torch", "torch._dynamo", "leakrange.models.batched_trainer"]
"""Imported once by the fork server, so a worker imports nothing. ``torch._dynamo`` is imported
lazily by the first optimiser step and took 5-12 s on a loaded 2-core machine."""
_START_LOCK = threading.Lock()


@contextlib.contextmanager
def _main_not_reimported() -> Iterator[None]:
    """Workers need nothing from the main script (their target lives in this module), but
    spawn-style children re-run a main script given by path (3.4 s for the bench's imports on
    a loaded 2-core box). Naming the main module ``__main__`` while the workers start makes
    multiprocessing skip that (``spawn._fixup_main_from_name``); Python 3.11's forkserver
    ignores a ``__main__`` preload (it looks for a ``main_path`` key that is never set)."""
    main = sys.modules["__main__"]
    with _START_LOCK:
        saved = getattr(main, "__spec__", None)
        main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)
        try:
            yield
        finally:
            main.__spec__ = saved
_POLL_SECONDS = 0.2
_USAGE_WAIT_SECONDS = 5.0
Task = tuple[int, list[np.ndarray], list[int]]


@dataclass
class WorkerUsage:
    """What the worker processes of one run used, each as it reported when told to stop
    (forkserver workers are not this process's children, so ``RUSAGE_CHILDREN`` misses them)."""

    cpu_s: list[float] = field(default_factory=list)  # user + system CPU seconds per worker
    peak_rss_mb: list[float] = field(default_factory=list)  # peak RSS per worker
    # Proportional set size as each worker stopped: its share of pages it shares with the
    # fork server and the other workers (torch's libraries) counted once, so the sum is fair.
    pss_mb: list[float] = field(default_factory=list)

    @property
    def total_cpu_s(self) -> float:
        return float(sum(self.cpu_s))

    @property
    def max_peak_rss_mb(self) -> float:
        return float(max(self.peak_rss_mb, default=0.0))

    @property
    def total_pss_mb(self) -> float:
        return float(sum(self.pss_mb))


def worker_context() -> Any:
    """The forkserver context, its server preloaded with torch and the trainer."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def warm_up_workers(timeout: float = 300.0) -> None:
    """Start the fork server now (a service calls this at start), not at the first run, and
    wait until its preload has finished: ``ensure_running`` returns at once (0.01 s), and the
    first worker then waited for the server's imports of torch and torch._dynamo (14.4 s wall
    on the loaded 2-core dev machine, 2026-12-02), time no run's CPU seconds showed. One
    short-lived process forked now takes that wait at start-up instead."""
    from multiprocessing import forkserver

    ctx = worker_context()
    forkserver.ensure_running()
    with _main_not_reimported():
        proc = ctx.Process(target=_ready, daemon=True)
        proc.start()
    proc.join(timeout)


def _ready() -> None:
    """A forked worker that only proves the fork server is serving."""


def worker_logits(
    spec: ModelSpec,
    recipe: TrainRecipe,
    x: np.ndarray,
    y: np.ndarray,
    masks: np.ndarray,
    eval_x: np.ndarray,
    seeds: list[int],
    kernel: str,
    ranges: Sequence[tuple[int, int]],
    workers: int,
    progress: ProgressFn | None,
    should_stop: StopFn | None,
    usage: WorkerUsage | None = None,
    compute_dtype: torch.dtype = torch.float32,
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Logits of the models in each range, trained by ``workers`` processes, in range order.

    Sequential kernel: one task per model. Batched kernel: each range split into ``workers``
    parts, each part trained as one stacked chunk. ``usage``, when given, receives each
    worker's CPU seconds and peak RSS once the workers stop.
    """
    # Validate here, in the parent, so errors name the field before any process starts.
    training_tensors(spec, x, y, torch.device("cpu"))
    input_tensor(spec, eval_x, torch.device("cpu"))
    tasks: list[tuple[int, int, int]] = []  # (range index, first model, one past last)
    for r, (start, stop) in enumerate(ranges):
        parts = (stop - start) if kernel == "sequential" else min(workers, stop - start)
        bounds = np.linspace(start, stop, parts + 1).round().astype(int)
        tasks += [(r, int(a), int(b)) for a, b in itertools.pairwise(bounds)
                  if b > a]
    total = sum(b - a for _, a, b in tasks)
    ctx = worker_context()
    stop_event = ctx.Event()
    task_q, result_q = ctx.Queue(), ctx.Queue()
    args = (spec.model_dump_json(), recipe.model_dump_json(), kernel, dtype_name(compute_dtype),
            np.ascontiguousarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64),
            np.ascontiguousarray(eval_x, dtype=np.float32), task_q, result_q, stop_event)
    procs = [ctx.Process(target=_worker_main, args=args, daemon=True)
             for _ in range(min(workers, len(tasks)))]
    with _main_not_reimported():
        for proc in procs:
            proc.start()
    try:
        next_task, done = 0, 0
        pending: dict[int, dict[int, np.ndarray]] = {}
        remaining = {r: 0 for r in range(len(ranges))}
        for r, _, _ in tasks:
            remaining[r] += 1
        emit = 0

        def submit() -> None:
            nonlocal next_task
            # Keep at most two tasks per worker queued: results never pile up unbounded.
            while next_task < len(tasks) and next_task - finished < 2 * len(procs):
                _r, a, b = tasks[next_task]
                task_q.put((next_task, [np.flatnonzero(masks[m]) for m in range(a, b)],
                            seeds[a:b]))
                next_task += 1

        finished = 0
        submit()
        while emit < len(ranges):
            tid, payload = _next_result(result_q, procs, stop_event, should_stop)
            finished += 1
            r, a, b = tasks[tid]
            pending.setdefault(r, {})[a] = payload
            remaining[r] -= 1
            done += b - a
            if progress is not None:
                progress(done, total)
            submit()
            while emit < len(ranges) and remaining[emit] == 0:
                chunk = pending.pop(emit)
                start, stop = ranges[emit]
                yield start, stop, np.concatenate([chunk[k] for k in sorted(chunk)])
                emit += 1
    finally:
        stop_event.set()
        for _ in procs:
            task_q.put(None)
        if usage is not None:
            _collect_usage(result_q, procs, usage)
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        task_q.close()
        result_q.close()


def _collect_usage(result_q: Any, procs: list[Any], usage: WorkerUsage) -> None:
    """Each worker's usage report (sent as it stops); results still in flight are dropped."""
    deadline = time.monotonic() + _USAGE_WAIT_SECONDS
    reports = 0
    while reports < len(procs) and time.monotonic() < deadline:
        try:
            _tid, status, payload = result_q.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if not any(p.is_alive() for p in procs):
                return
            continue
        if status == "usage":
            usage.cpu_s.append(float(payload[0]))
            usage.peak_rss_mb.append(float(payload[1]))
            usage.pss_mb.append(float(payload[2]))
            reports += 1


def _usage_report() -> tuple[float, float, float]:
    """This process's user + system CPU seconds, peak RSS and current PSS in MiB: ``VmHWM`` of
    its own address space where /proc exists (``ru_maxrss`` carries the fork server's peak
    over) and ``Pss`` of ``smaps_rollup`` (0 where there is none)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    peak_kib = _proc_kib("status", "VmHWM:", float(own.ru_maxrss))
    return own.ru_utime + own.ru_stime, peak_kib / 1024, _proc_kib("smaps_rollup", "Pss:", 0) / 1024


def _proc_kib(name: str, key: str, default: float) -> float:
    path = Path("/proc/self") / name
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key):
                return float(line.split()[1])
    except OSError:
        pass
    return default


def _next_result(
    result_q: Any, procs: list[Any], stop_event: Any, should_stop: StopFn | None
) -> tuple[int, np.ndarray]:
    while True:
        if should_stop is not None and should_stop():
            stop_event.set()
            raise Cancelled("training cancelled")
        try:
            tid, status, payload = result_q.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if not all(p.is_alive() for p in procs):
                raise RuntimeError("a reference-training worker process died") from None
            continue
        if status == "ok":
            return tid, payload
        if status == "cancelled":
            raise Cancelled("training cancelled")
        if status == "invalid":
            raise InvalidArgument(*payload)
        raise RuntimeError(f"reference-training worker failed: {payload}")


def _worker_main(
    spec_json: str, recipe_json: str, kernel: str, dtype: str, x: np.ndarray, y: np.ndarray,
    eval_x: np.ndarray, task_q: Any, result_q: Any, stop_event: Any,
) -> None:
    """One worker: tensors built once, then (rows, seeds) tasks until ``None``."""
    from leakrange.models.batched_trainer import models_logits

    torch.set_num_threads(1)
    compute_dtype = dtype_from_name(dtype)
    dev = torch.device("cpu")
    spec = ModelSpec.model_validate_json(spec_json)
    if spec.kind == "cnn":
        # CNN activations are tens of MB a step (malloc.py: 10x fewer page faults). An MLP's
        # are small, and keeping freed memory only grew its workers (1,024 Adult references:
        # both workers' PSS 610 MB with it, 474 MB without, 2026-12-02).
        keep_freed_memory()
    recipe = TrainRecipe.model_validate_json(recipe_json)
    xt, yt = training_tensors(spec, x, y, dev)
    eval_t = input_tensor(spec, eval_x, dev)
    del x, y, eval_x
    while True:
        task = task_q.get()
        if task is None:
            result_q.put((-1, "usage", _usage_report()))
            return
        tid, members, seeds = task
        try:
            logits = models_logits(kernel, spec, recipe, xt, yt, members, seeds,  # type: ignore[arg-type]
                                   eval_t, dev, stop_event.is_set, compute_dtype=compute_dtype)
        except Cancelled:
            result_q.put((tid, "cancelled", None))
            return
        except InvalidArgument as err:
            result_q.put((tid, "invalid", (err.field, err.problem)))
            return
        except Exception as err:  # noqa: BLE001 - reported to the parent, which raises
            result_q.put((tid, "error", type(err).__name__))
            return
        result_q.put((tid, "ok", logits))

"""Prometheus metrics of the orchestrator: exercises by state, durations, attack failures.

Labels stay low-cardinality (state, outcome, family); never an exercise id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from leakrange.orchestrator.records import ExerciseState


class _StateGauge(Collector):
    """``leakrange_exercises{state}`` read from the exercise database at scrape time."""

    def __init__(self, counts: Callable[[], Mapping[ExerciseState, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("leakrange_exercises", "Exercises by state", labels=["state"])
        for state, count in self._counts().items():
            family.add_metric([state.value], count)
        yield family


NAMESPACE = "leakrange"


class OrchestratorMetrics:
    def __init__(
        self, registry: CollectorRegistry,
        counts: Callable[[], Mapping[ExerciseState, int]],
    ) -> None:
        registry.register(_StateGauge(counts))
        # Every metric name is prefixed by the ``leakrange`` namespace (leakrange_..._total).
        self.durations = Histogram(
            "exercise_duration_seconds", "Run time of exercises by outcome",
            ["outcome"], registry=registry, namespace=NAMESPACE,
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14400),
        )
        self.attack_failures = Counter(
            "attack_failures_total", "Attacks that failed, by family",
            ["family"], registry=registry, namespace=NAMESPACE,
        )
        self.attacks = Counter(
            "attacks_total", "Attacks run, by family and outcome",
            ["family", "outcome"], registry=registry, namespace=NAMESPACE,
        )

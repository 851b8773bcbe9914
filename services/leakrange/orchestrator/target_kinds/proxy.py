"""The check every model target shares: a proxy architecture must be a zoo name or inline JSON
(never a path on the orchestrator host)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from leakrange.orchestrator.target_kinds.base import Problems

if TYPE_CHECKING:
    from leakrange.orchestrator.spec import ExerciseSpec


def proxy_problems(exercise: ExerciseSpec) -> Problems:
    from leakrange.models.zoo import ZOO

    knowledge = exercise.threat_model.knowledge
    proxy = knowledge.proxy_model or ""
    if not knowledge.architecture_known and proxy not in ZOO and not proxy.startswith("{"):
        return [("threat_model.knowledge.proxy_model",
                 f"must be a zoo name or a JSON model spec; zoo: {', '.join(sorted(ZOO))}")]
    return []

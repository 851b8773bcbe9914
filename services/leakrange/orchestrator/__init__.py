"""The orchestrator: exercise specs, persistent exercise state, range backends and the service.

Entry points: ``load_spec`` (YAML -> ``ExerciseSpec``), ``Orchestrator`` (the domain core that
queues and runs exercises), ``build_orchestrator_server`` (the gRPC service).
"""

"""``leakrange serve target|attack|orchestrator``: run one range service in this process."""

from __future__ import annotations

import logging
from typing import Annotated, NoReturn

import typer

from leakrange.artifacts import open_store
from leakrange.cli.options import (
    DEFAULT_MAX_MESSAGE,
    FLAG_METAVAR,
    ClientTokens,
    DrainDelay,
    Grace,
    HealthPort,
    Host,
    LogLevel,
    MaxMessage,
    MetricsPort,
    Port,
    Store,
    TlsCert,
    TlsClientCa,
    TlsKey,
    Token,
    server_options,
)
from leakrange.common.errors import RangeError
from leakrange.common.logging_setup import configure_logging
from leakrange.common.parent_watch import watch_parent
from leakrange.common.server import EXIT_ERROR, EXIT_USAGE, RangeServer

serve_app = typer.Typer(help="Run a range service.", no_args_is_help=True)
log = logging.getLogger(__name__)


@serve_app.command("target")
def serve_target(
    model: Annotated[str, typer.Option("--model", envvar="LEAKRANGE_MODEL",
                                       help="Model artifact: sha256:... or a published name.")],
    store: Store = ".leakrange/store",
    output: Annotated[str, typer.Option(
        "--output", envvar="LEAKRANGE_OUTPUT", help="logits | probabilities | topk:K | label")
    ] = "probabilities",
    rounding: Annotated[int | None, typer.Option("--rounding", envvar="LEAKRANGE_ROUNDING")] = None,
    query_budget: Annotated[int, typer.Option(
        "--query-budget", envvar="LEAKRANGE_QUERY_BUDGET", help="Records per principal; 0: none.")
    ] = 0,
    white_box: Annotated[bool, typer.Option(
        "--white-box/--black-box", envvar="LEAKRANGE_WHITE_BOX", metavar=FLAG_METAVAR,
        help="White-box: adversaries may fetch the weights artifact.")
    ] = False,
    max_batch: Annotated[int, typer.Option(
        "--max-batch", envvar="LEAKRANGE_MAX_BATCH", min=1,
        help="Largest batch one Predict may send.")
    ] = 4096,
    weights_store: Annotated[str | None, typer.Option(
        "--weights-store", envvar="LEAKRANGE_WEIGHTS_STORE",
        help="White-box: the adversaries' store, where the weights blob is copied.")
    ] = None,
    exercise_id: Annotated[str | None, typer.Option(
        "--exercise-id", envvar="LEAKRANGE_EXERCISE_ID",
        help="Keep query spending in the store under this exercise (survives redeploys).")
    ] = None,
    host: Host = "127.0.0.1",
    port: Port = 50051,
    metrics_port: MetricsPort = None,
    token: Token = None,
    client_tokens: ClientTokens = None,
    max_message_bytes: MaxMessage = DEFAULT_MAX_MESSAGE,
    grace_seconds: Grace = 10.0,
    drain_delay: DrainDelay = 0.0,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    tls_client_ca: TlsClientCa = None,
    health_port: HealthPort = None,
    log_level: LogLevel = "INFO",
) -> None:
    """Serve a model artifact under an access policy."""
    from leakrange.target.policy import AccessPolicy
    from leakrange.target.service import TargetSettings, build_target_server

    configure_logging(log_level)
    try:
        policy = AccessPolicy.parse(output, rounding, query_budget, white_box)
        options = server_options(host, port, metrics_port, token, client_tokens,
                                 max_message_bytes, grace_seconds, drain_delay,
                                 tls_cert, tls_key, tls_client_ca, health_port)
    except RangeError as err:
        _fail(err, EXIT_USAGE)
    try:
        adversary_store = open_store(weights_store) if weights_store else None
        server = build_target_server(
            open_store(store),
            TargetSettings(model, policy, max_batch, weights_store=adversary_store,
                           exercise_id=exercise_id),
            options,
        ).start()
    except RangeError as err:
        _fail(err, EXIT_ERROR)
    _serve_until_signalled(server)


def _serve_until_signalled(server: RangeServer) -> NoReturn:
    """Print one machine-readable line on stdout (so a parent process learns the bound ports),
    then serve until SIGTERM/SIGINT and exit with the drain's exit code."""
    typer.echo(f"LEAKRANGE_READY port={server.port} metrics_port={server.metrics_port or 0}")
    watch_parent()  # started by the local range: drain when that parent dies
    raise typer.Exit(server.serve_forever())


def _fail(err: RangeError, code: int) -> NoReturn:
    typer.echo(f"error: {err}", err=True)
    raise typer.Exit(code) from None


@serve_app.command("attack")
def serve_attack(
    family: Annotated[str, typer.Option("--family", envvar="LEAKRANGE_FAMILY",
                                        help="mia | inversion | federated | synthetic")],
    store: Store = ".leakrange/store",
    host: Host = "127.0.0.1",
    port: Port = 50061,
    metrics_port: MetricsPort = None,
    token: Token = None,
    client_tokens: ClientTokens = None,
    max_message_bytes: MaxMessage = DEFAULT_MAX_MESSAGE,
    grace_seconds: Grace = 10.0,
    drain_delay: DrainDelay = 0.0,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    tls_client_ca: TlsClientCa = None,
    health_port: HealthPort = None,
    log_level: LogLevel = "INFO",
    cores: Annotated[int | None, typer.Option(
        "--cores", envvar="LEAKRANGE_CORES", min=1,
        help="CPU cores attacks may use (default: the process's affinity, capped by its "
             "cgroup CPU quota)")] = None,
) -> None:
    """Serve one attack family (ListAttacks / Run / Cancel)."""
    from leakrange.attacks.service import build_attack_server

    configure_logging(log_level)
    try:
        options = server_options(host, port, metrics_port, token, client_tokens,
                                 max_message_bytes, grace_seconds, drain_delay,
                                 tls_cert, tls_key, tls_client_ca, health_port)
        server = build_attack_server(open_store(store), family, options, cores).start()
    except RangeError as err:
        _fail(err, EXIT_USAGE)
    _serve_until_signalled(server)


@serve_app.command("orchestrator")
def serve_orchestrator(
    store: Store = ".leakrange/store",
    data_dir: Annotated[str, typer.Option(
        "--data-dir", envvar="LEAKRANGE_DATA_DIR",
        help="Exercise state (SQLite), child-process logs and pid files.")
    ] = ".leakrange/orchestrator",
    backend: Annotated[str, typer.Option(
        "--backend", envvar="LEAKRANGE_BACKEND", help="Range backend: local | kubernetes.")
    ] = "local",
    concurrency: Annotated[int, typer.Option(
        "--concurrency", envvar="LEAKRANGE_CONCURRENCY", help="Exercises run at once.")
    ] = 2,
    child_log_level: Annotated[str, typer.Option(
        "--child-log-level", envvar="LEAKRANGE_CHILD_LOG_LEVEL",
        help="Log level of the target and attack services the local backend starts.")
    ] = "WARNING",
    namespace: Annotated[str, typer.Option(
        "--namespace", envvar="LEAKRANGE_NAMESPACE",
        help="kubernetes backend: namespace of the exercise releases.")
    ] = "default",
    exercise_chart: Annotated[str | None, typer.Option(
        "--exercise-chart", envvar="LEAKRANGE_EXERCISE_CHART",
        help="kubernetes backend: path of the leakrange-exercise chart.")
    ] = None,
    exercise_values: Annotated[str | None, typer.Option(
        "--exercise-values", envvar="LEAKRANGE_EXERCISE_VALUES",
        help="kubernetes backend: defaults file passed (helm -f) to every exercise release.")
    ] = None,
    exercise_pods: Annotated[str | None, typer.Option(
        "--exercise-pods", envvar="LEAKRANGE_EXERCISE_PODS",
        help="kubernetes backend: pod placement file (GPUs, node selectors, tolerations).")
    ] = None,
    helm: Annotated[str, typer.Option(
        "--helm", envvar="LEAKRANGE_HELM", help="kubernetes backend: the helm binary.")
    ] = "helm",
    helm_driver: Annotated[str, typer.Option(
        "--helm-driver", envvar="LEAKRANGE_HELM_DRIVER",
        help="kubernetes backend: where helm keeps release records (configmap | secret).")
    ] = "configmap",
    tokens_secret: Annotated[str, typer.Option(
        "--tokens-secret", envvar="LEAKRANGE_TOKENS_SECRET",
        help="kubernetes backend: the one Secret holding every exercise's tokens.")
    ] = "leakrange-exercise-tokens",  # noqa: S107 - a Secret's name
    host: Host = "127.0.0.1",
    port: Port = 50050,
    metrics_port: MetricsPort = None,
    token: Token = None,
    client_tokens: ClientTokens = None,
    max_message_bytes: MaxMessage = DEFAULT_MAX_MESSAGE,
    grace_seconds: Grace = 10.0,
    drain_delay: DrainDelay = 0.0,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    tls_client_ca: TlsClientCa = None,
    health_port: HealthPort = None,
    log_level: LogLevel = "INFO",
) -> None:
    """Serve the orchestrator: queue, run and report exercises."""
    from pathlib import Path

    from leakrange.orchestrator.service import OrchestratorSettings, build_orchestrator_server

    configure_logging(log_level)
    if backend not in ("local", "kubernetes") or concurrency < 1:
        typer.echo("error: --backend must be local or kubernetes and --concurrency >= 1", err=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        options = server_options(host, port, metrics_port, token, client_tokens,
                                 max_message_bytes, grace_seconds, drain_delay,
                                 tls_cert, tls_key, tls_client_ca, health_port)
        settings = OrchestratorSettings(
            store=store, data_dir=Path(data_dir), backend=backend,  # type: ignore[arg-type]
            concurrency=concurrency, child_log_level=child_log_level, namespace=namespace,
            exercise_chart=Path(exercise_chart) if exercise_chart else None,
            exercise_values=Path(exercise_values) if exercise_values else None, helm_bin=helm,
            exercise_pods=Path(exercise_pods) if exercise_pods else None,
            helm_driver=helm_driver, tokens_secret=tokens_secret,
        )
        server, _orchestrator = build_orchestrator_server(settings, options)
        server.start()
    except RangeError as err:
        _fail(err, EXIT_ERROR)
    _serve_until_signalled(server)

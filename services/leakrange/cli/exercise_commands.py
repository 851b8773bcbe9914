"""``leakrange run | validate | submit | watch | list | cancel | resume | report``.

``run`` is the embedded default: an in-process orchestrator, the local range and a folder
store. The other commands talk to a remote orchestrator (``--endpoint``; the bearer token is
read from ``LEAKRANGE_TOKEN``). Exit codes: 0 success, 2 bad spec or usage, 1 failure.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from google.protobuf.json_format import MessageToJson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from leakrange.cli.options import FLAG_METAVAR, Store
from leakrange.common.errors import InvalidArgument
from leakrange.orchestrator.records import ExerciseState
from leakrange.orchestrator.spec_loading import SpecError
from leakrange.v1 import common_pb2, orchestrator_pb2

if TYPE_CHECKING:
    from leakrange.orchestrator.client import OrchestratorClient

EXIT_OK, EXIT_FAILURE, EXIT_BAD_SPEC = 0, 1, 2

JsonFlag = Annotated[bool, typer.Option("--json", metavar=FLAG_METAVAR,
                                        help="Machine-readable JSON on stdout.")]
SpecFile = Annotated[Path, typer.Argument(help="Exercise spec (YAML).", show_default=False)]
ExerciseId = Annotated[str, typer.Argument(help="Exercise id (ex-...).", show_default=False)]
Endpoint = Annotated[str, typer.Option(
    "--endpoint", envvar="LEAKRANGE_ENDPOINT", help="Orchestrator address host:port.")]
DataDir = Annotated[str, typer.Option(
    "--data-dir", envvar="LEAKRANGE_DATA_DIR", help="Exercise state and service logs.")]

_STATE_NAMES = {
    orchestrator_pb2.EXERCISE_STATE_QUEUED: "queued",
    orchestrator_pb2.EXERCISE_STATE_RUNNING: "running",
    orchestrator_pb2.EXERCISE_STATE_SUCCEEDED: "succeeded",
    orchestrator_pb2.EXERCISE_STATE_FAILED: "failed",
    orchestrator_pb2.EXERCISE_STATE_CANCELLED: "cancelled",
    orchestrator_pb2.EXERCISE_STATE_INTERRUPTED: "interrupted",
}
# Headline numbers shown as percentages (as in the HTML report); others with 3 decimals.
_PERCENT_PREFIXES = ("tpr", "accuracy", "baseline", "model_adds", "eval_accuracy", "advantage",
                     "risk")
_SHORT_NAMES = {"auc": "AUC", "tpr_at_1%_fpr": "TPR@1%", "tpr_at_0.1%_fpr": "TPR@0.1%"}


def _err() -> Console:
    return Console(stderr=True)


def _fail_spec(err: SpecError | InvalidArgument) -> typer.Exit:
    console = _err()
    problems = err.problems if isinstance(err, SpecError) else [(err.field, err.problem)]
    console.print(f"[red]invalid spec[/red] ({len(problems)} problem(s)):")
    for path, problem in problems:
        console.print(f"  {path}: {problem}", markup=False, highlight=False)
    return typer.Exit(EXIT_BAD_SPEC)


def _token() -> str | None:
    return os.environ.get("LEAKRANGE_TOKEN") or None


# ------------------------------------------------------------------ rendering


class ProgressView:
    """Live progress bars (one per phase and attack) from orchestrator events."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            console=console, transient=False,
        )
        self._tasks: dict[tuple[str, str], TaskID] = {}

    def __enter__(self) -> ProgressView:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    def handle(self, event: orchestrator_pb2.ExerciseEvent) -> None:
        kind = event.WhichOneof("event")
        if kind == "progress":
            self._on_progress(event.progress)
        elif kind == "log":
            self._progress.console.print(f"  {event.log.message}", style="dim", markup=False,
                                         highlight=False)
        elif kind == "attack_finished":
            a = event.attack_finished
            metrics = {m.name: m.value for m in a.metrics}
            detail = f"AUC {metrics['auc']:.3f}" if "auc" in metrics else a.message
            mark = "[green]done[/green]" if a.status == "succeeded" else f"[red]{a.status}[/red]"
            self._progress.console.print(f"{mark} {a.family}/{a.attack}: {detail}")
        elif kind == "state":
            self._progress.console.print(f"exercise {_STATE_NAMES.get(event.state, '?')}",
                                         style="bold")

    def _on_progress(self, p: common_pb2.ProgressEvent) -> None:
        phase, done, total, message = p.phase, p.done, p.total, p.message
        label = message.split(": ", 1)[0] if ": " in message else ""
        if phase in ("attack", "scoring", "report", "deploying") and total <= 1:
            if phase == "deploying" and done == 0:
                self._progress.console.print(message, style="dim", markup=False)
            return
        key = (phase, label)
        description = f"{label} {phase.replace('_', ' ')}".strip()
        if key not in self._tasks:
            self._tasks[key] = self._progress.add_task(description, total=total or None)
        self._progress.update(self._tasks[key], completed=done, total=total or None)


def metric_text(name: str, value: float) -> str:
    """A headline number in the report's units: rates as percent, the rest with 3 decimals."""
    label = _SHORT_NAMES.get(name, name)
    if name.startswith(_PERCENT_PREFIXES):
        return f"{label} {value * 100:.1f} %"
    return f"{label} {value:.3f}"


def summary_table(exercise: orchestrator_pb2.Exercise) -> Table:
    """One row per attack: status, its scorer's headline numbers (those with a confidence
    interval; the intervals are in the report) and the queries it spent."""
    table = Table(title=f"{exercise.name} ({exercise.id})")
    table.add_column("attack", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("headline", justify="left")
    table.add_column("queries", justify="right", no_wrap=True)
    for a in exercise.attacks:
        headline = [metric_text(m.name, m.value) for m in a.metrics if m.HasField("ci_low")]
        queries = next((f"{int(m.value):,}" for m in a.metrics if m.name == "queries"), "-")
        table.add_row(f"{a.family}/{a.attack}", a.status, " · ".join(headline) or "-", queries)
    return table


def _print_outcome(exercise: orchestrator_pb2.Exercise, console: Console) -> None:
    console.print(summary_table(exercise))
    for a in exercise.attacks:
        if a.message:
            console.print(f"{a.family}/{a.attack}: {a.message}", markup=False, highlight=False)
    state = _STATE_NAMES.get(exercise.state, "?")
    line = f"state: {state}"
    if exercise.risk_level:
        line += f", overall risk: {exercise.risk_level}"
    if exercise.message:
        line += f" ({exercise.message})"
    console.print(line, markup=False, highlight=False)


def _follow(events: Iterable[orchestrator_pb2.ExerciseEvent], console: Console) -> None:
    with ProgressView(console) as view:
        for event in events:
            view.handle(event)


# ------------------------------------------------------------------- commands


def validate(file: SpecFile, as_json: JsonFlag = False) -> None:
    """Check an exercise spec without running it."""
    from leakrange.orchestrator.spec_loading import load_spec, localise_spec_file

    try:
        spec = load_spec(localise_spec_file(file))
    except SpecError as err:
        if as_json:
            typer.echo(json.dumps({"ok": False, "problems": [
                {"path": path, "problem": problem} for path, problem in err.problems]}))
            raise typer.Exit(EXIT_BAD_SPEC) from None
        raise _fail_spec(err) from None
    attacks = sum(len(a.attacks) for a in spec.adversaries)
    if as_json:
        typer.echo(json.dumps({"ok": True, "name": spec.name,
                               "adversaries": len(spec.adversaries), "attacks": attacks}))
        return
    typer.echo(f"ok: {spec.name} ({len(spec.adversaries)} adversaries, {attacks} attacks)")


def run(
    file: SpecFile,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Also write report.json and report.html here.")] = None,
    store: Store = ".leakrange/store",
    data_dir: DataDir = ".leakrange/orchestrator",
) -> None:
    """Run an exercise here: in-process orchestrator, local range, folder store."""
    from leakrange.orchestrator.convert import event_to_proto, exercise_to_proto
    from leakrange.orchestrator.service import OrchestratorSettings, build_orchestrator
    from leakrange.orchestrator.spec_loading import load_spec, localise_spec_file

    try:
        text = localise_spec_file(file)
        load_spec(text)
    except SpecError as err:
        raise _fail_spec(err) from None
    if out is not None:
        try:
            _check_out(out)
        except InvalidArgument as err:
            _err().print(f"error: {err}", markup=False, highlight=False)
            raise typer.Exit(EXIT_BAD_SPEC) from None
    console = _err()
    console.print(f"spec ok: {file.name}; starting the range (local processes)", style="dim",
                  markup=False, highlight=False)
    # A terminal closed or `timeout` sends SIGHUP/SIGTERM: cancel and tear down as for Ctrl-C.
    _interrupt_on(signal.SIGTERM, signal.SIGHUP)
    orchestrator = build_orchestrator(
        OrchestratorSettings(store=store, data_dir=Path(data_dir), concurrency=1)
    ).start()
    try:
        record = orchestrator.submit(text)
        console.print(f"exercise {record.id}: {record.name}")
        try:
            _follow((p for e in orchestrator.watch(record.id) for p in event_to_proto(e)),
                    console)
        except KeyboardInterrupt:
            console.print("cancelling ...")
            orchestrator.cancel(record.id)
            orchestrator.wait(record.id, timeout=60)
        final = orchestrator.get(record.id)
        _print_outcome(exercise_to_proto(final), Console())
        if final.report_json is not None and out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / "report.json").write_bytes(orchestrator.report(record.id, "json")[0])
            if final.report_html is not None:
                (out / "report.html").write_bytes(orchestrator.report(record.id, "html")[0])
            typer.echo(f"report: {out / 'report.html'}")
        elif final.report_json is not None:
            typer.echo(f"report: {final.report_json.uri} (in {store})")
    finally:
        orchestrator.shutdown()
    if final.state != ExerciseState.SUCCEEDED:
        raise typer.Exit(EXIT_FAILURE)


def _check_out(out: Path) -> None:
    """``--out`` must be a folder this process can write, checked before any work."""
    if out.exists() and not out.is_dir():
        raise InvalidArgument("--out", "exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".leakrange-probe-"):
            pass
    except OSError:
        raise InvalidArgument("--out", "cannot create or write this folder") from None


def _interrupt_on(*signals: signal.Signals) -> None:
    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    for sig in signals:
        signal.signal(sig, interrupt)


def _client(endpoint: str) -> OrchestratorClient:
    from leakrange.orchestrator.client import OrchestratorClient

    return OrchestratorClient(endpoint, _token())


def _exit_for(exercise: orchestrator_pb2.Exercise) -> None:
    if exercise.state != orchestrator_pb2.EXERCISE_STATE_SUCCEEDED:
        raise typer.Exit(EXIT_FAILURE)


def submit(
    file: SpecFile,
    endpoint: Endpoint = "127.0.0.1:50050",
    watch: Annotated[bool, typer.Option("--watch", help="Follow it until it finishes.")] = False,
) -> None:
    """Submit an exercise to a remote orchestrator; prints its id."""
    if not file.is_file():
        raise _fail_spec(InvalidArgument("spec", "file not found"))
    with _client(endpoint) as client:
        try:
            exercise = client.submit(file.read_text(encoding="utf-8"))
        except InvalidArgument as err:
            raise _fail_spec(err) from None
        typer.echo(exercise.id)
        if watch:
            _follow(client.watch(exercise.id), _err())
            final = client.get(exercise.id)
            _print_outcome(final, Console())
            _exit_for(final)


def watch(exercise_id: ExerciseId, endpoint: Endpoint = "127.0.0.1:50050",
          as_json: JsonFlag = False) -> None:
    """Follow an exercise's progress until it finishes (``--json``: one event per line)."""
    with _client(endpoint) as client:
        if as_json:
            for event in client.watch(exercise_id):
                typer.echo(MessageToJson(event, indent=None))
            _exit_for(client.get(exercise_id))
            return
        _follow(client.watch(exercise_id), _err())
        final = client.get(exercise_id)
        _print_outcome(final, Console())
        _exit_for(final)


def list_exercises(
    endpoint: Endpoint = "127.0.0.1:50050",
    state: Annotated[list[str] | None, typer.Option(
        "--state", help="Only these states (repeatable).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List exercises."""
    by_name = {v: k for k, v in _STATE_NAMES.items()}
    codes = []
    for name in state or []:
        if name not in by_name:
            typer.echo(f"error: --state must be one of {', '.join(by_name)}", err=True)
            raise typer.Exit(EXIT_BAD_SPEC)
        codes.append(by_name[name])
    table = Table()
    for column in ("id", "name", "state", "risk", "message"):
        table.add_column(column)
    rows: list[dict[str, str]] = []
    with _client(endpoint) as client:
        token = ""
        while True:
            page = client.list(codes, page_size=200, page_token=token)
            for e in page.exercises:
                rows.append({"id": e.id, "name": e.name, "state": _STATE_NAMES.get(e.state, "?"),
                             "risk": e.risk_level, "message": e.message})
            token = page.next_page_token
            if not token:
                break
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        table.add_row(row["id"], row["name"], row["state"], row["risk"], row["message"])
    Console().print(table)


def cancel(exercise_id: ExerciseId, endpoint: Endpoint = "127.0.0.1:50050") -> None:
    """Cancel a queued or running exercise."""
    with _client(endpoint) as client:
        exercise = client.cancel(exercise_id)
    typer.echo(f"{exercise.id}: {_STATE_NAMES.get(exercise.state, '?')}")


def resume(exercise_id: ExerciseId, endpoint: Endpoint = "127.0.0.1:50050") -> None:
    """Queue an interrupted, failed or cancelled exercise again (finished attacks are kept)."""
    with _client(endpoint) as client:
        exercise = client.resume(exercise_id)
    typer.echo(f"{exercise.id}: {_STATE_NAMES.get(exercise.state, '?')}")


def report(
    exercise_id: ExerciseId,
    endpoint: Endpoint = "127.0.0.1:50050",
    fmt: Annotated[str, typer.Option("--format", help="json | html")] = "json",
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")
                   ] = None,
) -> None:
    """Fetch an exercise's report."""
    if fmt not in ("json", "html"):
        typer.echo("error: --format must be json or html", err=True)
        raise typer.Exit(EXIT_BAD_SPEC)
    with _client(endpoint) as client:
        result = client.report(exercise_id, fmt)  # type: ignore[arg-type]
    if out is None:
        typer.echo(result.content.decode("utf-8"))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(result.content)
        typer.echo(str(out))


def register(app: typer.Typer) -> None:
    """Add the exercise commands to the ``leakrange`` app."""
    app.command("validate")(validate)
    app.command("run")(run)
    app.command("submit")(submit)
    app.command("watch")(watch)
    app.command("list")(list_exercises)
    app.command("cancel")(cancel)
    app.command("resume")(resume)
    app.command("report")(report)

"""Entry point of the ``leakrange`` command."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from leakrange.cli.exercise_commands import register as register_exercise_commands
from leakrange.cli.imports import import_data_command, import_model_command
from leakrange.cli.options import FLAG_METAVAR
from leakrange.cli.reference_shard import reference_shard
from leakrange.cli.serve import serve_app
from leakrange.cli.train import train_target
from leakrange.common.errors import RangeError

app = typer.Typer(
    name="leakrange",
    help="LeakPro Range: measure how much a machine-learning system leaks about its data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
DISTRIBUTION = "leakpro-range"


def _print_version(value: bool) -> None:
    if not value:
        return
    try:
        typer.echo(f"leakrange {version(DISTRIBUTION)}")
    except PackageNotFoundError:
        typer.echo("leakrange (not installed as a distribution)")
    raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[bool, typer.Option(
        "--version", "-V", callback=_print_version, is_eager=True, metavar=FLAG_METAVAR,
        help="Print the version and exit.")
    ] = False,
) -> None:
    """LeakPro Range: measure how much a machine-learning system leaks about its data."""
app.add_typer(serve_app, name="serve")
app.command("train-target")(train_target)
app.command("import-data")(import_data_command)
app.command("import-model")(import_model_command)
app.command("reference-shard")(reference_shard)
register_exercise_commands(app)


def main() -> None:
    try:
        app()
    except RangeError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

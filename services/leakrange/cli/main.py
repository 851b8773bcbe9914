"""Entry point of the ``leakrange`` command."""

from __future__ import annotations

import sys

import typer

from leakrange.cli.exercise_commands import register as register_exercise_commands
from leakrange.cli.imports import import_data_command, import_model_command
from leakrange.cli.serve import serve_app
from leakrange.cli.train import train_target
from leakrange.common.errors import RangeError

app = typer.Typer(
    name="leakrange",
    help="LeakPro Range: measure how much a machine-learning system leaks about its data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(serve_app, name="serve")
app.command("train-target")(train_target)
app.command("import-data")(import_data_command)
app.command("import-model")(import_model_command)
register_exercise_commands(app)


def main() -> None:
    try:
        app()
    except RangeError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

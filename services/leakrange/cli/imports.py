"""``leakrange import-data`` and ``leakrange import-model``: bring-your-own data and models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from leakrange.cli.options import Store
from leakrange.common.errors import RangeError

FileArg = Annotated[Path, typer.Option(
    "--file", help="The file to import (import-data: or an image folder).")]


def _fail(err: RangeError) -> NoReturn:
    typer.echo(f"error: {err}", err=True)
    raise typer.Exit(2) from None


def import_data_command(
    name: Annotated[str, typer.Argument(help="The data set's name in exercises.")],
    file: FileArg,
    label: Annotated[str | None, typer.Option("--label", help="The label column.")] = None,
    schema: Annotated[Path | None, typer.Option(
        "--schema", help="YAML schema: label, id, member, numeric, categorical, standardise.")
    ] = None,
    id_column: Annotated[str | None, typer.Option("--id", help="The record id column.")] = None,
    members: Annotated[Path | None, typer.Option(
        "--members", help="File of member ids, one per line (the records that trained it).")
    ] = None,
    member_column: Annotated[str | None, typer.Option(
        "--member-column", help="A boolean column: true for training records.")] = None,
    store: Store = ".leakrange/store",
) -> None:
    """Validate a CSV / Parquet / .npz data set, or an image folder (one sub-folder per class,
    PNG or JPEG), and store it; prints its reference."""
    from leakrange.artifacts import open_store
    from leakrange.imports.data_import import DataImport, import_data
    from leakrange.imports.data_schema import load_schema, schema_from_doc

    try:
        data_schema = load_schema(schema) if schema else schema_from_doc(
            {"label": label or "label", "id": id_column, "member": member_column}, "options")
        if schema and label and label != data_schema.label:
            _fail(RangeError("--label: differs from the schema's label"))
        result = import_data(open_store(store), DataImport(name, file, data_schema, members))
    except RangeError as err:
        _fail(err)
    members_text = f", {result.members} members" if result.members is not None else ""
    typer.echo(f"{result.rows} records{members_text}", err=True)
    typer.echo(f"{result.name} {result.ref.uri}")


def import_model_command(
    file: FileArg,
    data: Annotated[str, typer.Option("--data", help="The data set it was trained on.")],
    format: Annotated[str, typer.Option(
        "--format", help="onnx | safetensors (default: from the file name)")] = "",
    spec: Annotated[str | None, typer.Option(
        "--spec", help="safetensors: zoo name or JSON model spec.")] = None,
    members: Annotated[Path | None, typer.Option(
        "--members", help="Member ids, one per line (default: the data set's own).")] = None,
    adversary_share: Annotated[float, typer.Option(
        "--adversary-share", help="Share of the non-members the adversary may draw from.")
    ] = 0.5,
    store: Store = ".leakrange/store",
) -> None:
    """Check a model against its data set and store it; prints its artifact reference."""
    from leakrange.artifacts import open_store
    from leakrange.imports.model_formats import refuse_by_name
    from leakrange.imports.model_import import ModelImport, import_model

    try:
        refuse_by_name(file.name)
    except RangeError as err:
        _fail(err)
    fmt = format or {".onnx": "onnx", ".safetensors": "safetensors"}.get(file.suffix.lower(), "")
    if fmt not in ("onnx", "safetensors"):
        _fail(RangeError("--format: give onnx or safetensors"))
    try:
        result = import_model(open_store(store), ModelImport(
            file=file, format=fmt, data=data, spec=spec, members_file=members,  # type: ignore[arg-type]
            adversary_share=adversary_share))
    except RangeError as err:
        _fail(err)
    typer.echo(f"{result.format} model, {len(result.split.members)} members", err=True)
    typer.echo(result.ref.uri)

"""Recognising a model file by its bytes, refusing anything that could execute code.

Accepted: ONNX (a protobuf ``ModelProto``, run by onnxruntime, black-box) and safetensors
(tensors only, with a zoo model spec: white-box ready). Refused before any parsing: pickles
(``torch.save`` zips, raw pickles, ``joblib``), any zip archive (so no zip bomb is ever
expanded), gzip / bz2 / xz streams.

``torch.export`` programs (``.pt2``) were evaluated as the torch-native white-box format and are
refused (torch 2.13): their weights are raw bytes, not pickles, but loading one runs code taken
from the file. ``ExportedProgram.module()`` compiles the archive's ``guards_code`` strings with
``exec`` (torch/export/_unlift.py, ``_convert_guards_code_to_fn``), the deserializer parses
symbolic shape expressions with ``sympy.sympify``, which evaluates its input
(torch/_export/serde/serialize.py), and sample inputs are unpickled (``torch.load``). A
crafted ``.pt2`` is therefore as dangerous as a pickle.
"""

from __future__ import annotations

from typing import Literal

from leakrange.common.errors import InvalidArgument

ModelFormat = Literal["onnx", "safetensors"]
ACCEPTED_MODELS = "accepted: ONNX (.onnx) or safetensors (.safetensors) with a zoo model spec"

# Refused by name as well as by content, with the reason (the content check alone would only
# say "a zip archive").
_REFUSED_SUFFIXES: dict[str, str] = {
    ".pt2": "a torch.export program: loading one executes code from the file (its guards are "
            "compiled with exec, its symbolic shapes parsed by sympy's eval-based sympify)",
    ".pt": "a torch.save file (a pickle)",
    ".pth": "a torch.save file (a pickle)",
    ".ckpt": "a checkpoint (a pickle)",
    ".pkl": "a Python pickle",
    ".pickle": "a Python pickle",
    ".joblib": "a joblib file (a pickle)",
}

_REFUSED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a zip archive (torch.save writes pickles in one)"),
    (b"PK\x05\x06", "a zip archive"),
    (b"\x1f\x8b", "a gzip stream"),
    (b"BZh", "a bz2 stream"),
    (b"\xfd7zXZ\x00", "an xz stream"),
)
_PICKLE_PROTOCOLS = frozenset({2, 3, 4, 5})


def refuse_by_name(file: str) -> None:
    """Refuse a file whose name says it is a pickle or a torch.export program, saying why."""
    suffix = file[file.rfind("."):].lower() if "." in file else ""
    if suffix in _REFUSED_SUFFIXES:
        raise InvalidArgument(file, f"refused: {_REFUSED_SUFFIXES[suffix]}; {ACCEPTED_MODELS}")


def sniff_model(head: bytes, declared: ModelFormat, file: str) -> ModelFormat:
    """The format of a model file whose first bytes are ``head``, or a clear refusal."""
    refuse_by_name(file)
    for magic, what in _REFUSED_MAGIC:
        if head.startswith(magic):
            raise InvalidArgument(file, f"refused: {what}; {ACCEPTED_MODELS}")
    if _looks_like_pickle(head):
        raise InvalidArgument(file, f"refused: a Python pickle; {ACCEPTED_MODELS}")
    if declared == "safetensors" and not _safetensors_framing(head):
        raise InvalidArgument(file, f"not a safetensors file; {ACCEPTED_MODELS}")
    if declared == "onnx" and not _protobuf_start(head):
        raise InvalidArgument(file, f"not an ONNX model; {ACCEPTED_MODELS}")
    return declared


def _looks_like_pickle(head: bytes) -> bool:
    # PROTO opcode 0x80 + protocol byte; a safetensors header length may also start with 0x80,
    # so a plausible safetensors framing wins. Older protocols fail the format checks below.
    if len(head) >= 2 and head[0] == 0x80 and head[1] in _PICKLE_PROTOCOLS:
        return not _safetensors_framing(head)
    return False


def _safetensors_framing(head: bytes) -> bool:
    if len(head) < 10:
        return False
    size = int.from_bytes(head[:8], "little")
    return 2 <= size <= 100 * 1024 * 1024 and head[8:9] == b"{"


def _protobuf_start(head: bytes) -> bool:
    # ModelProto field 1 (ir_version, varint) is written first by every ONNX exporter.
    return head[:1] == b"\x08"

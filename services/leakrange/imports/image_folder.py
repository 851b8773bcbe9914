"""Reading an image folder (one sub-folder per class, PNG or JPEG files) into model input.

``images/<class>/<file>.png``: the classes are the sub-folder names in sorted order, a record's
id is ``<class>/<file>`` (what a members file lists), pixels become float32 in [0, 1] with
shape ``[channels, height, width]`` (1 channel when every image is grey, else RGB).

Every file is checked before any pixel is decoded: its size against the import limit, its first
bytes against PNG / JPEG (the extension alone proves nothing), its declared width and height
against the first image and against a pixel limit (no decompression bomb is ever expanded).
Errors name the file, relative to the folder, and never carry pixel values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leakrange.common.errors import InvalidArgument
from leakrange.imports.data_encode import EncodedData
from leakrange.imports.limits import ImportLimits, checked_file

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_IMAGE_PIXELS = 4096 * 4096
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"))
_GREY_MODES = frozenset({"1", "L", "I;16", "I"})


@dataclass(frozen=True)
class _Entry:
    path: Path
    label: int
    record_id: str


def read_image_folder(folder: Path, limits: ImportLimits) -> EncodedData:
    root = folder.name or str(folder)
    entries, classes = _entries(folder, root, limits)
    from PIL import Image, UnidentifiedImageError

    sizes = []
    modes = []
    for entry in entries:
        where = f"{root}/{entry.record_id}"
        checked_file(entry.path, limits, "image")
        with entry.path.open("rb") as handle:
            head = handle.read(8)
        if not any(head.startswith(magic) for magic, _ in _MAGIC):
            raise InvalidArgument(where, "not a PNG or JPEG file (by its content)")
        try:
            with Image.open(entry.path) as image:  # reads the header only
                sizes.append(image.size)
                modes.append(image.mode)
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError,
                ValueError):
            raise InvalidArgument(where, "not a readable PNG or JPEG image") from None
        width, height = sizes[-1]
        if width * height > MAX_IMAGE_PIXELS:
            raise InvalidArgument(where, f"larger than {MAX_IMAGE_PIXELS} pixels")
        if sizes[-1] != sizes[0]:
            raise InvalidArgument(where, f"{width}x{height} pixels; the first image "
                                  f"({root}/{entries[0].record_id}) is "
                                  f"{sizes[0][0]}x{sizes[0][1]}")
    channels = 1 if all(m in _GREY_MODES for m in modes) else 3
    width, height = sizes[0]
    total = len(entries) * channels * width * height * 4
    if total > limits.max_unpacked_bytes:
        raise InvalidArgument(root, "the images decode to more than the import limit of "
                                    f"{limits.max_unpacked_bytes} bytes")
    x = np.empty((len(entries), channels, height, width), dtype=np.float32)
    for i, entry in enumerate(entries):
        x[i] = _pixels(entry, channels, f"{root}/{entry.record_id}")
    y = np.array([e.label for e in entries], dtype=np.int64)
    return EncodedData(x, y, [e.record_id for e in entries], None, classes, None, "image")


def _entries(folder: Path, root: str,
             limits: ImportLimits) -> tuple[list[_Entry], list[str]]:
    if not folder.is_dir():
        raise InvalidArgument(root, "image folder not found")
    stray = sorted(p.name for p in folder.iterdir()
                   if not p.name.startswith(".") and not p.is_dir())
    if stray:
        raise InvalidArgument(f"{root}/{stray[0]}", "a file beside the class folders (put each "
                                                    "image in the folder of its class)")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and
                     not p.name.startswith("."))
    if len(classes) < 2:
        raise InvalidArgument(root, "needs one sub-folder per class, at least two")
    entries: list[_Entry] = []
    for label, name in enumerate(classes):
        files = sorted(p for p in (folder / name).iterdir() if not p.name.startswith("."))
        if not files:
            raise InvalidArgument(f"{root}/{name}", "a class folder without images")
        for path in files:
            record_id = f"{name}/{path.name}"
            if path.is_dir() or path.is_symlink():
                raise InvalidArgument(f"{root}/{record_id}", "not an image file (folders and "
                                                             "links are refused)")
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                raise InvalidArgument(f"{root}/{record_id}",
                                      "unsupported file; accepted: .png, .jpg, .jpeg")
            entries.append(_Entry(path, label, record_id))
            if len(entries) > limits.max_rows:
                raise InvalidArgument(root, f"more than {limits.max_rows} images")
    return entries, classes


def _pixels(entry: _Entry, channels: int, where: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(entry.path) as image:
            image.load()
            if image.mode in ("I;16", "I"):
                scale, arr = 65535.0, np.asarray(image, dtype=np.float32)
            else:
                scale = 255.0
                arr = np.asarray(image.convert("L" if channels == 1 else "RGB"),
                                 dtype=np.float32)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError,
            ValueError):
        raise InvalidArgument(where, "not a readable PNG or JPEG image (truncated or "
                                     "corrupt)") from None
    arr = np.clip(arr / np.float32(scale), 0.0, 1.0)
    planes = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return np.repeat(planes, channels, axis=0) if len(planes) != channels else planes

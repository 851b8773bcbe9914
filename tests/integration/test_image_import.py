"""Image-folder import (``images/<class>/<file>.png|.jpg``): real PNG and JPEG files written with
Pillow, read back through the one import path; every bad file is named (relative to the
folder) and leaves the store unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from leakrange.artifacts import FolderStore
from leakrange.common.errors import InvalidArgument
from leakrange.datasets import load_dataset
from leakrange.imports.data_import import DataImport, import_data
from leakrange.imports.data_schema import DataSchema

SCHEMA = DataSchema(label="label")  # unused by image folders: the class is the sub-folder


def _folder(root: Path, per_class: int = 4, size: int = 8) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    pixels = {}
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            arr = rng.integers(0, 256, size=(size, size), dtype=np.uint8)
            Image.fromarray(arr, mode="L").save(root / name / f"{i}.png")
            pixels[f"{name}/{i}.png"] = arr
    return pixels


@pytest.fixture
def store(tmp_path: Path) -> FolderStore:
    return FolderStore(tmp_path / "store")


def _files(store: FolderStore) -> set[str]:
    return {str(p) for p in store._root.rglob("*") if p.is_file()}


def test_a_folder_per_class_becomes_a_data_set_by_name(store, tmp_path) -> None:
    images = tmp_path / "images"
    pixels = _folder(images)
    members = tmp_path / "members.txt"
    members.write_text("cat/0.png\ndog/1.png\ndog/3.png\n")
    result = import_data(store, DataImport("scans", images, SCHEMA, members))
    assert result.rows == 8 and result.members == 3
    data = load_dataset("scans", store)
    assert data.kind == "image" and data.input_shape == (1, 8, 8)
    assert data.class_names == ["cat", "dog"]
    assert data.y.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    np.testing.assert_allclose(data.x[5, 0], pixels["dog/1.png"] / 255.0, atol=1e-6)


def test_colour_and_jpeg_images_are_read_as_rgb(store, tmp_path) -> None:
    images = tmp_path / "images"
    _folder(images, per_class=2)
    rgb = np.zeros((8, 8, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    Image.fromarray(rgb, mode="RGB").save(images / "dog" / "red.jpg", quality=95)
    import_data(store, DataImport("colour", images, SCHEMA))
    data = load_dataset("colour", store)
    assert data.input_shape == (3, 8, 8)
    red = data.x[-1]  # dog/red.jpg sorts after dog/1.png
    assert red[0].mean() > 0.9 and red[1].mean() < 0.1 and red[2].mean() < 0.1
    grey = data.x[0]
    np.testing.assert_allclose(grey[0], grey[1])  # grey images are repeated over RGB


def _text_as_png(images: Path) -> None:
    (images / "cat" / "notes.png").write_text("not an image")


def _other_size(images: Path) -> None:
    Image.fromarray(np.zeros((9, 8), dtype=np.uint8)).save(images / "dog" / "odd.png")


def _truncated(images: Path) -> None:
    data = (images / "cat" / "0.png").read_bytes()
    (images / "cat" / "0.png").write_bytes(data[: len(data) // 2])


def _bomb(images: Path) -> None:  # 5000 x 5000 pixels of zeros: ~25 KiB compressed
    Image.new("L", (5000, 5000)).save(images / "cat" / "bomb.png")


@pytest.mark.parametrize(("edit", "expected"), [
    (_text_as_png, "images/cat/notes.png: not a PNG or JPEG file (by its content)"),
    (_other_size, "images/dog/odd.png: 8x9 pixels; the first image (images/cat/0.png) is 8x8"),
    (_truncated, "images/cat/0.png: not a readable PNG or JPEG image"),
    (_bomb, "images/cat/bomb.png: larger than 16777216 pixels"),
    (lambda d: (d / "cat" / "a.gif").write_bytes(b"GIF89a"),
     "images/cat/a.gif: unsupported file; accepted: .png, .jpg, .jpeg"),
    (lambda d: (d / "readme.txt").write_text("x"), "images/readme.txt: a file beside the class"),
    (lambda d: (d / "bird").mkdir(), "images/bird: a class folder without images"),
])
def test_bad_images_are_refused_naming_the_file(store, tmp_path, edit, expected) -> None:
    images = tmp_path / "images"
    _folder(images)
    import_data(store, DataImport("good", images, SCHEMA))
    before = _files(store)
    edit(images)
    with pytest.raises(InvalidArgument) as err:
        import_data(store, DataImport("bad", images, SCHEMA))
    assert str(err.value).startswith(expected), str(err.value)
    assert _files(store) == before


def test_one_class_folder_or_an_unknown_member_is_refused(store, tmp_path) -> None:
    lonely = tmp_path / "lonely"
    (lonely / "cat").mkdir(parents=True)
    Image.new("L", (4, 4)).save(lonely / "cat" / "0.png")
    with pytest.raises(InvalidArgument, match="lonely: needs one sub-folder per class"):
        import_data(store, DataImport("lonely", lonely, SCHEMA))
    images = tmp_path / "images"
    _folder(images)
    members = tmp_path / "members.txt"
    members.write_text("cat/0.png\ncat/9.png\n")
    with pytest.raises(InvalidArgument, match=r"members.txt: line 2: id not in the data set"):
        import_data(store, DataImport("scans", images, SCHEMA, members))
    assert _files(store) == set()

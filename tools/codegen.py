"""Generate Python code for the gRPC contracts (one script, configured in pyproject.toml).

Usage: python tools/codegen.py [--check]
--check regenerates into a temporary folder and fails if anything differs from the committed code.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
import tomllib
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _config() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return data["tool"]["leakrange"]["codegen"]


def _package_dirs(cfg: dict) -> list[str]:
    """The range's contracts first, then the third-party wire formats it speaks as a client
    (``extra_package_dirs``: the Open Inference Protocol)."""
    return [cfg["package_dir"], *cfg.get("extra_package_dirs", [])]


def generate(out_dir: Path, package_dir: str) -> list[Path]:
    from grpc_tools import protoc

    cfg = _config()
    proto_root = ROOT / cfg["proto_root"]
    protos = sorted((ROOT / package_dir).glob("*.proto"))
    well_known = str(resources.files("grpc_tools") / "_proto")
    args = [
        "protoc",
        f"-I{proto_root}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(p) for p in protos],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    relative = Path(package_dir).relative_to(cfg["proto_root"])
    pkg = out_dir / relative
    dotted = ".".join(relative.parts)
    (pkg / "__init__.py").write_text(f'"""Generated gRPC code for {dotted} (do not edit)."""\n')
    return sorted(p for p in pkg.iterdir() if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="fail if committed code drifts")
    args = parser.parse_args()
    cfg = _config()
    failed = 0
    for package_dir in _package_dirs(cfg):
        failed |= _one(cfg, package_dir, args.check)
    return failed


def _one(cfg: dict, package_dir: str, check: bool) -> int:
    committed = ROOT / cfg["out_dir"] / Path(package_dir).relative_to(cfg["proto_root"])
    if not check:
        generate(ROOT / cfg["out_dir"], package_dir)
        print(f"generated {committed.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        files = generate(Path(tmp), package_dir)
        fresh_names = {p.name for p in files}
        have_names = {p.name for p in committed.glob("*") if p.is_file() and p.suffix != ".pyc"}
        drift = sorted(fresh_names ^ have_names)
        drift += [p.name for p in files if p.name in have_names
                  and not filecmp.cmp(p, committed / p.name, shallow=False)]
        if drift:
            print("generated code is out of date: " + ", ".join(drift), file=sys.stderr)
            print("run `make protos` and commit the result", file=sys.stderr)
            return 1
    print(f"generated code is up to date: {committed.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

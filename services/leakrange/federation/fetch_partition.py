"""``python -m leakrange.federation.fetch_partition``: a SuperNode pod's init container copies
its own client's partition file from the range's store (Kubernetes range; the local range
writes the files itself). Runs in the range image, with the range's store identity: the
adversaries' store identity cannot read partitions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from leakrange.artifacts import open_store
from leakrange.common.errors import RangeError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", required=True, help="the range's store URL")
    parser.add_argument("--prefix", required=True, help="manifest prefix of the partitions")
    parser.add_argument("--client", required=True, type=int, help="this node's partition id")
    parser.add_argument("--dest", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        store = open_store(args.store)
        ref = store.resolve(f"{args.prefix}/client-{args.client}")
        args.dest.parent.mkdir(parents=True, exist_ok=True)
        store.get_file(ref, args.dest)
        args.dest.chmod(0o600)
    except RangeError as err:
        print(f"fetch-partition: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

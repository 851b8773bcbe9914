"""Deterministic member / non-member / adversary splits of a data set's row indices."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from leakrange.common.errors import InvalidArgument

_FIELDS = ("members", "nonmembers", "adversary")


@dataclass(frozen=True, eq=False)
class Split:
    """Disjoint int64 row indices into a data set."""

    members: np.ndarray
    nonmembers: np.ndarray
    adversary: np.ndarray

    def __post_init__(self) -> None:
        for field in _FIELDS:
            arr = np.asarray(getattr(self, field))
            if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
                raise InvalidArgument(f"split.{field}", "must be a 1-D list of integer indices")
            if arr.size and arr.min() < 0:
                raise InvalidArgument(f"split.{field}", "indices must be non-negative")
            object.__setattr__(self, field, arr.astype(np.int64))
        joined = np.concatenate([getattr(self, f) for f in _FIELDS])
        if np.unique(joined).size != joined.size:
            raise InvalidArgument("split", "members, nonmembers and adversary must be disjoint")

    def to_json(self) -> str:
        return json.dumps({f: getattr(self, f).tolist() for f in _FIELDS}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Split:
        try:
            doc = json.loads(text)
        except (ValueError, UnicodeDecodeError) as err:
            raise InvalidArgument("split", "not valid JSON") from err
        if not isinstance(doc, dict) or set(doc) != set(_FIELDS):
            raise InvalidArgument("split", f"expected exactly the keys {', '.join(_FIELDS)}")
        arrays = {}
        for field in _FIELDS:
            values = doc[field]
            if not isinstance(values, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in values
            ):
                raise InvalidArgument(f"split.{field}", "must be a list of integers")
            arrays[field] = np.asarray(values, dtype=np.int64)
        return cls(**arrays)

    def fingerprint(self) -> str:
        """sha256 over the three index arrays (little-endian int64, with their lengths)."""
        digest = hashlib.sha256()
        for field in _FIELDS:
            arr = getattr(self, field).astype("<i8")
            digest.update(field.encode())
            digest.update(len(arr).to_bytes(8, "little"))
            digest.update(arr.tobytes())
        return digest.hexdigest()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Split):
            return NotImplemented
        return all(np.array_equal(getattr(self, f), getattr(other, f)) for f in _FIELDS)

    def __hash__(self) -> int:
        return hash(self.fingerprint())


def make_split(
    n_records: int,
    *,
    members: int,
    nonmembers: int | None = None,
    adversary: int | None = None,
    seed: int,
    population: int | None = None,
) -> Split:
    """Split ``range(n_records)`` (or a seeded sample of ``population`` of them).

    ``nonmembers`` defaults to ``members``; ``adversary`` defaults to every remaining row.
    The same arguments always give the same split.
    """
    _check_count("n_records", n_records, minimum=1)
    _check_count("members", members, minimum=1)
    pool_size = n_records if population is None else population
    if population is not None:
        _check_count("population", population, minimum=1)
        if population > n_records:
            raise InvalidArgument("population", "exceeds the number of records")
    n_non = members if nonmembers is None else nonmembers
    _check_count("nonmembers", n_non, minimum=0)
    if members + n_non > pool_size:
        field = "members" if nonmembers is None or members > pool_size else "nonmembers"
        raise InvalidArgument(field, "members + nonmembers exceed the available records")
    n_adv = pool_size - members - n_non if adversary is None else adversary
    _check_count("adversary", n_adv, minimum=0)
    if members + n_non + n_adv > pool_size:
        raise InvalidArgument("adversary", "members + nonmembers + adversary exceed the records")

    rng = np.random.default_rng(np.random.SeedSequence(seed))
    pool = np.arange(n_records, dtype=np.int64)
    if population is not None:
        pool = np.sort(rng.choice(n_records, size=population, replace=False)).astype(np.int64)
    order = pool[rng.permutation(pool_size)]
    return Split(
        members=np.sort(order[:members]),
        nonmembers=np.sort(order[members : members + n_non]),
        adversary=np.sort(order[members + n_non : members + n_non + n_adv]),
    )


def _check_count(field: str, value: int, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidArgument(field, "must be an integer")
    if value < minimum:
        raise InvalidArgument(field, f"must be at least {minimum}")

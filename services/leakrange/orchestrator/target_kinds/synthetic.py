"""``target: {synthetic: {dataset, original, control, generator: {name, params}}}``: a synthetic
release generated in the range.

The range samples three disjoint sets of a registered tabular data set: the original (the
generator's training set), a control set the generator never sees, and reference records the
adversary may hold; it fits the generator on the original only and samples the synthetic table
(as many rows as the original unless ``rows`` says otherwise). Tables are stored in the range's
store by content hash (``cache/synthetic/<key>``); the original and control are ground truth
only. ``targets`` records of each of original and control become the attacked targets.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from leakrange.artifacts import MEDIA_TENSORS
from leakrange.common.attack_info import MEMBERSHIP, SYNTHETIC_RISK
from leakrange.common.errors import IntegrityError, InvalidArgument, NotFound
from leakrange.orchestrator.target_kinds.base import PrepareContext, Problems, TargetKind
from leakrange.orchestrator.target_kinds.synthetic_release import SyntheticRelease, SyntheticTruth

if TYPE_CHECKING:
    from leakrange.orchestrator.spec import ExerciseSpec

SYNTHETIC_CACHE_PREFIX = "cache/synthetic"


class GeneratorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)


class SyntheticSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(min_length=1, max_length=64)
    original: int = Field(default=10_000, ge=50, le=1_000_000)
    control: int = Field(default=2_000, ge=20, le=1_000_000)
    reference: int = Field(default=2_000, ge=20, le=1_000_000,
                           description="records the adversary holds (DOMIAS, DCR holdout)")
    rows: int | None = Field(default=None, ge=10, le=1_000_000)
    targets: int = Field(default=500, ge=10, le=100_000,
                         description="attacked records taken from each of original and control")
    split_seed: int = Field(default=0, ge=0, lt=2**63)
    secret: str | None = Field(default=None, max_length=128,
                               description="categorical column to infer (default: the label)")
    generator: GeneratorSpec


def cache_key(spec: SyntheticSpec) -> str:
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:32]


class SyntheticKind(TargetKind):
    name: ClassVar[str] = "synthetic"
    summary: ClassVar[str] = "A synthetic table generated in the range from a tabular data set."
    spec_type: ClassVar[Any] = SyntheticSpec
    result_kinds: ClassVar[frozenset[str]] = frozenset({MEMBERSHIP, SYNTHETIC_RISK})

    @classmethod
    def check(cls, part: Any, exercise: ExerciseSpec) -> Problems:
        from leakrange.datasets.registry import dataset_entry
        from leakrange.synthetic.generators import generator

        spec: SyntheticSpec = part
        problems: Problems = []
        try:
            entry = dataset_entry(spec.dataset)
            if entry.schema is None:
                problems.append(("target.synthetic.dataset", "not a tabular data set"))
            elif spec.original + spec.control + spec.reference > entry.rows:
                problems.append(("target.synthetic", "original + control + reference exceed "
                                 f"the data set's {entry.rows} rows"))
            elif spec.secret is not None and spec.secret not in (
                    *entry.schema.categorical, entry.schema.target):
                problems.append(("target.synthetic.secret", "not a categorical column"))
        except NotFound as err:
            problems.append(("target.synthetic.dataset", str(err)))
        if spec.targets > min(spec.original, spec.control):
            problems.append(("target.synthetic.targets", "larger than original or control"))
        try:
            generator(spec.generator.name).parse(spec.generator.params)
        except InvalidArgument as err:
            problems.append((err.field, err.problem))
        return problems

    @classmethod
    def prepare(cls, part: Any, ctx: PrepareContext) -> SyntheticRelease:
        from leakrange.datasets.registry import dataset_entry, load_table
        from leakrange.synthetic.table import columns_of, encode

        spec: SyntheticSpec = part
        entry = dataset_entry(spec.dataset)
        if entry.schema is None:
            raise InvalidArgument("target.synthetic.dataset", "not a tabular data set")
        schema = entry.schema
        table = load_table(spec.dataset)
        columns = columns_of(table, (*schema.categorical, schema.target), schema.numeric)
        full = encode(table, columns)
        rng = np.random.default_rng(np.random.SeedSequence([spec.split_seed, 0x5E7]))
        rows = rng.permutation(len(full))
        a, b = spec.original, spec.original + spec.control
        original, control = full[rows[:a]], full[rows[a:b]]
        reference = full[rows[b:b + spec.reference]]
        synthetic = _synthetic(ctx, spec, original, columns, full)
        secret = columns.index(spec.secret or schema.target, "target.synthetic.secret")
        return SyntheticRelease(
            dataset=spec.dataset, generator=spec.generator.name, reference=reference,
            truth=release_truth(spec, original, control, synthetic, columns, secret),
        )


def _synthetic(ctx: PrepareContext, spec: SyntheticSpec, original: np.ndarray,
               columns: Any, full: np.ndarray) -> np.ndarray:
    """The generator's table, from the store when this spec was generated before."""
    from leakrange.synthetic.generators import generator
    from leakrange.synthetic.table import table_bytes, table_from_bytes

    name = f"{SYNTHETIC_CACHE_PREFIX}/{cache_key(spec)}"
    try:
        return table_from_bytes(ctx.store.get_bytes(str(ctx.store.get_manifest(name)["synthetic"])))
    except (NotFound, KeyError, IntegrityError):
        pass
    gen = generator(spec.generator.name)
    rng = np.random.default_rng(np.random.SeedSequence([spec.split_seed, 0x6E4]))
    domain = np.stack([full.min(axis=0), full.max(axis=0)], axis=1)
    synthetic = gen.fit_sample(original, columns, spec.rows or spec.original,
                               gen.parse(spec.generator.params), rng, domain)
    refs = {key: ctx.store.put_bytes(table_bytes(t), MEDIA_TENSORS).uri
            for key, t in (("synthetic", synthetic), ("original", original))}
    ctx.store.put_manifest(name, {**refs, "spec": json.loads(spec.model_dump_json())})
    return synthetic


def release_truth(spec: SyntheticSpec, original: np.ndarray, control: np.ndarray,
           synthetic: np.ndarray, columns: Any, secret: int) -> SyntheticTruth:
    from leakrange.synthetic.utility import utility_summary

    rng = np.random.default_rng(np.random.SeedSequence([spec.split_seed, 0x7A6]))
    n = spec.targets
    audit = np.concatenate([original[rng.choice(len(original), n, replace=False)],
                            control[rng.choice(len(control), n, replace=False)]])
    is_member = np.concatenate([np.ones(n, bool), np.zeros(n, bool)])
    order = rng.permutation(2 * n)
    known = tuple(j for j in range(len(columns.names)) if j != secret)
    half = len(known) // 2
    return SyntheticTruth(
        original=original, control=control, synthetic=synthetic, columns=columns,
        secret=secret, known=known, link_a=known[:half], link_b=known[half:],
        audit=audit[order], is_member=is_member[order],
        link_answer=rng.permutation(2 * n),
        utility=utility_summary(original, synthetic, control, columns, secret, spec.split_seed),
        generator=spec.generator.name,
    )

"""``target: {synthetic: {dataset, original, control, generator: {name, params}}}``: a synthetic
release generated in the range; ``target: {synthetic: {original: FILE, synthetic: FILE,
control: FILE, schema: {...}}}``: one generated elsewhere (bring your own, CSV or Parquet; read,
checked and encoded by ``imports/synthetic_files.py``, stored by content hash).

The range samples three disjoint sets of a registered tabular data set: the original (the
generator's training set), a control set the generator never sees, and reference records the
adversary may hold; it fits the generator on the original only and samples the synthetic table
(as many rows as the original unless ``rows`` says otherwise). Tables are stored in the range's
store by content hash (``cache/synthetic/<key>``); the original and control are ground truth
only. ``targets`` records of each of original and control become the attacked targets, the
two sets matched on the secret column (``synthetic/target_picks.py`` says why).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from leakrange.artifacts import MEDIA_TENSORS
from leakrange.common.attack_info import MEMBERSHIP, SYNTHETIC_RISK
from leakrange.common.errors import IntegrityError, InvalidArgument, NotFound
from leakrange.imports.synthetic_files import ColumnTypes
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
    inpaint_hidden: int = Field(default=3, ge=1, le=64,
                                description="cells hidden per in-painting target")
    split_seed: int = Field(default=0, ge=0, lt=2**63)
    secret: str | None = Field(default=None, max_length=128,
                               description="categorical column to infer (default: the label)")
    generator: GeneratorSpec


    @property
    def generator_name(self) -> str:
        return self.generator.name


_PATH = Field(min_length=1, max_length=1024)
_FILE_FIELDS = ("original", "synthetic", "control", "reference")
BRING_YOUR_OWN = "bring your own"


class SyntheticFiles(BaseModel):
    """A release generated elsewhere: three CSV or Parquet files with the same columns (and
    optionally the adversary's reference records). Paths are relative to the exercise file."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    original: str = _PATH
    synthetic: str = _PATH
    control: str = _PATH
    reference: str | None = Field(default=None, min_length=1, max_length=1024,
                                  description="records the adversary holds (DOMIAS, DCR ratio)")
    column_types: ColumnTypes = Field(default_factory=ColumnTypes, alias="schema")
    secret: str | None = Field(default=None, max_length=128,
                               description="categorical column to infer (default: the last)")
    targets: int = Field(default=500, ge=10, le=100_000)
    inpaint_hidden: int = Field(default=3, ge=1, le=64)
    split_seed: int = Field(default=0, ge=0, lt=2**63)

    @property
    def generator_name(self) -> str:
        return BRING_YOUR_OWN


def _release_kind(value: Any) -> str:
    doc = value if isinstance(value, dict) else {}
    return "files" if isinstance(value, SyntheticFiles) or "synthetic" in doc else "generated"


SyntheticTarget = Annotated[
    Annotated[SyntheticSpec, Tag("generated")] | Annotated[SyntheticFiles, Tag("files")],
    Discriminator(_release_kind),
]


def cache_key(spec: SyntheticSpec) -> str:
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:32]


class SyntheticKind(TargetKind):
    name: ClassVar[str] = "synthetic"
    summary: ClassVar[str] = "A synthetic table generated in the range from a tabular data set."
    spec_type: ClassVar[Any] = SyntheticTarget
    result_kinds: ClassVar[frozenset[str]] = frozenset({MEMBERSHIP, SYNTHETIC_RISK})

    @classmethod
    def localise(cls, doc: Any, base: Path) -> Any:
        if not isinstance(doc, dict) or "synthetic" not in doc:
            return doc
        out = dict(doc)
        for key in _FILE_FIELDS:
            value = out.get(key)
            if isinstance(value, str) and value and not Path(value).is_absolute():
                out[key] = str(base / value)
        return out

    @classmethod
    def check(cls, part: Any, exercise: ExerciseSpec) -> Problems:
        if isinstance(part, SyntheticFiles):
            try:
                _read_files(part)
            except InvalidArgument as err:
                return [(err.field, err.problem)]
            return []
        return cls._check_generated(part)

    @classmethod
    def _check_generated(cls, spec: SyntheticSpec) -> Problems:
        from leakrange.datasets.registry import dataset_entry
        from leakrange.synthetic.generators import generator

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
        if isinstance(part, SyntheticFiles):
            return _prepare_files(part, ctx)
        return cls._prepare_generated(part, ctx)

    @classmethod
    def _prepare_generated(cls, spec: SyntheticSpec, ctx: PrepareContext) -> SyntheticRelease:
        from leakrange.datasets.registry import dataset_entry, load_table
        from leakrange.synthetic.table import columns_of, encode

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


def _read_files(spec: SyntheticFiles) -> Any:
    from leakrange.imports.synthetic_files import read_release, release_paths

    release = read_release(release_paths(spec.original, spec.synthetic, spec.control,
                                         spec.reference), spec.column_types)
    _secret_of(spec, release.columns)
    rows = {role: len(t) for role, t in release.tables.items()}
    for role, least in (("original", 20), ("control", 20), ("synthetic", 10)):
        if rows[role] < least:
            raise InvalidArgument(f"target.synthetic.{role}", f"fewer than {least} records")
    if spec.targets > min(rows["original"], rows["control"]):
        raise InvalidArgument("target.synthetic.targets", "larger than original or control")
    return release


def _secret_of(spec: SyntheticFiles, columns: Any) -> int:
    categorical = [j for j, c in enumerate(columns.categories) if c is not None]
    if spec.secret is None:
        if not categorical:
            raise InvalidArgument("target.synthetic.schema", "no categorical column to infer")
        return categorical[-1]
    j = columns.index(spec.secret, "target.synthetic.secret")
    if j not in categorical:
        raise InvalidArgument("target.synthetic.secret", "not a categorical column")
    return j


def _prepare_files(spec: SyntheticFiles, ctx: PrepareContext) -> SyntheticRelease:
    """Import the files by content hash (tables in the store, a manifest naming them) and
    build the release's ground truth; the reference file, if any, is the adversary's."""
    from leakrange.synthetic.table import table_bytes

    release = _read_files(spec)
    refs = {role: ctx.store.put_bytes(table_bytes(t), MEDIA_TENSORS).uri
            for role, t in release.tables.items()}
    digest = hashlib.sha256(json.dumps(refs, sort_keys=True).encode()).hexdigest()[:32]
    ctx.store.put_manifest(f"{SYNTHETIC_CACHE_PREFIX}/files-{digest}",
                           {**refs, "columns": release.columns.to_doc(),
                            "missing_cells": release.missing})
    t = release.tables
    secret = _secret_of(spec, release.columns)
    reference = t.get("reference", np.zeros((0, len(release.columns.names))))
    return SyntheticRelease(
        dataset=Path(spec.original).stem, generator=BRING_YOUR_OWN, reference=reference,
        truth=release_truth(spec, t["original"], t["control"], t["synthetic"],
                            release.columns, secret),
    )


def release_truth(spec: SyntheticSpec | SyntheticFiles, original: np.ndarray,
                  control: np.ndarray, synthetic: np.ndarray, columns: Any, secret: int
                  ) -> SyntheticTruth:
    from leakrange.synthetic.target_picks import matched_picks
    from leakrange.synthetic.utility import utility_summary

    rng = np.random.default_rng(np.random.SeedSequence([spec.split_seed, 0x7A6]))
    n = spec.targets
    picked = matched_picks(original[:, secret], control[:, secret], n, rng)
    audit = np.concatenate([original[picked[0]], control[picked[1]]])
    is_member = np.concatenate([np.ones(n, bool), np.zeros(n, bool)])
    order = rng.permutation(2 * n)
    known = tuple(j for j in range(len(columns.names)) if j != secret)
    half = len(known) // 2
    inpaint = inpainting_targets(spec, original, control, picked, len(columns.names))
    return SyntheticTruth(
        original=original, control=control, synthetic=synthetic, columns=columns,
        secret=secret, known=known, link_a=known[:half], link_b=known[half:],
        audit=audit[order], is_member=is_member[order],
        link_answer=rng.permutation(2 * n),
        utility=utility_summary(original, synthetic, control, columns, secret, spec.split_seed),
        generator=spec.generator_name,
        inpaint_rows=inpaint[0], inpaint_known=inpaint[1], inpaint_member=inpaint[2],
    )


def inpainting_targets(spec: SyntheticSpec | SyntheticFiles, original: np.ndarray,
                       control: np.ndarray, picked: tuple[np.ndarray, np.ndarray], n_columns: int
                       ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Up to ``targets`` original and as many control records that are not audit targets
    (the adversary holds the audit targets' known columns already), shuffled, each with
    ``inpaint_hidden`` random cells hidden; ``None`` when no record is left."""
    rng = np.random.default_rng(np.random.SeedSequence([spec.split_seed, 0x1A9]))
    free = [np.setdiff1d(np.arange(len(t)), p) for t, p in zip((original, control), picked,
                                                                strict=True)]
    n = min(spec.targets, len(free[0]), len(free[1]))
    hidden = min(spec.inpaint_hidden, n_columns - 1)
    if n == 0 or hidden < 1:
        return None, None, None
    rows = np.concatenate([original[rng.choice(free[0], n, replace=False)],
                           control[rng.choice(free[1], n, replace=False)]])
    member = np.concatenate([np.ones(n, bool), np.zeros(n, bool)])
    order = rng.permutation(2 * n)
    ranks = np.argsort(rng.random((2 * n, n_columns)), axis=1)
    return rows[order], ranks >= hidden, member[order]

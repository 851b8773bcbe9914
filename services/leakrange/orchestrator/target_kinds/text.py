"""``target: {text: {...}}``: the range trains a language model on a text corpus (or fine-tunes
a pretrained base on it), optionally with canaries, and keeps the document split and the
canaries as ground truth.

The adversaries get the audit documents (members and non-members mixed, shuffled, unlabelled)
and their own share of the pool as token ids of the target's public tokenizer, the canary
candidates (true canaries hidden among random fills of the public template) and the template's
prefix. Ground truth by result kind: ``membership`` (the audit set), ``exposure`` (which
candidate is which canary), ``extraction`` (the training documents, for verbatim checks).
Trainings are cached in the store by the hash of their spec.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from leakrange.artifacts import ArtifactRef, ArtifactStore
from leakrange.common.attack_info import EXPOSURE, EXTRACTION, MEMBERSHIP
from leakrange.common.errors import IntegrityError, NotFound, RangeError
from leakrange.common.tensors import to_proto
from leakrange.common.threat_model import Access
from leakrange.datasets import Split
from leakrange.datasets.canaries import Canary, CanarySpec, reference_secrets
from leakrange.models.lm.spec import LM_ZOO, LmRecipe, LmSpec
from leakrange.models.lm.tokenizer import TextTokenizer
from leakrange.orchestrator.backend import TargetDeploySpec
from leakrange.orchestrator.target_kinds.base import (
    AdversaryView,
    PrepareContext,
    PreparedTarget,
    Problems,
    TargetKind,
    name_or_mapping,
)
from leakrange.v1 import attack_pb2

if TYPE_CHECKING:
    from leakrange.datasets.text_corpus import TextCorpus
    from leakrange.orchestrator.dataset_cache import DatasetCache
    from leakrange.orchestrator.spec import ExerciseSpec
    from leakrange.report.schema import TargetInfo

TEXT_CACHE_PREFIX = "cache/text-targets"


class TextTarget(BaseModel):
    """Train (or fine-tune) a language model in the range on a text corpus."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(default="healthtweets", min_length=1, max_length=64)
    members: int = Field(ge=1, le=10_000_000)
    nonmembers: int | None = Field(default=None, ge=1, le=10_000_000)
    population: int | None = Field(
        default=None, ge=2, description="Sample this many documents of the corpus first.")
    split_seed: int = Field(default=0, ge=0, lt=2**63)
    model: Any = Field(default="lm-tiny", description="LM zoo name or an LmSpec mapping.")
    base: str | None = Field(default=None, max_length=64,
                             description="Fine-tune this pretrained base (smollm2-135m) "
                                         "instead of training model from scratch.")
    context: int = Field(default=64, ge=8, le=8192,
                         description="Context of a fine-tuned base (tokens).")
    vocab_size: int = Field(default=2048, ge=300, le=65_536)
    recipe: LmRecipe = LmRecipe()
    canaries: CanarySpec | None = None
    extraction_min_tokens: int = Field(
        default=8, ge=2, le=1024,
        description="Tokens in a row a generation must share with a training document to "
                    "count as extracted.")

    @field_validator("model")
    @classmethod
    def _name_or_mapping(cls, value: Any) -> str | dict[str, Any]:
        return name_or_mapping(value, "an LM zoo name")


def text_cache_key(spec: TextTarget) -> str:
    doc = spec.model_dump(mode="json", exclude={"extraction_min_tokens"})
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def framed(tokenizer: TextTokenizer, texts: list[str], context: int) -> list[list[int]]:
    return [tokenizer.frame(t, context) for t in texts]


def _bundle(docs: list[list[int]], pad: int) -> attack_pb2.TensorBundle:
    tokens, lengths = _pad(docs, pad)
    bundle = attack_pb2.TensorBundle()
    bundle.tensors["tokens"].CopyFrom(to_proto(tokens))
    bundle.tensors["lengths"].CopyFrom(to_proto(lengths))
    return bundle


def _pad(docs: list[list[int]], pad: int) -> tuple[np.ndarray, np.ndarray]:
    width = max((len(d) for d in docs), default=1)
    tokens = np.full((len(docs), width), pad, dtype=np.int64)
    for i, d in enumerate(docs):
        tokens[i, :len(d)] = d
    return tokens, np.asarray([len(d) for d in docs], dtype=np.int64)


def canary_tokens(tokenizer: TextTokenizer, spec: CanarySpec, secrets: list[str]
                  ) -> tuple[list[list[int]], int]:
    """``<bos> + fill`` token ids of each secret, and the number of secret tokens (what
    follows the prefix every fill shares)."""
    rows = [[tokenizer.bos_id, *tokenizer.encode(spec.fill(s))] for s in secrets]
    a = [tokenizer.bos_id, *tokenizer.encode(spec.fill(" ".join("0" * spec.digits)))]
    b = [tokenizer.bos_id, *tokenizer.encode(spec.fill(" ".join("1" * spec.digits)))]
    common = 0
    while common < min(len(a), len(b)) and a[common] == b[common]:
        common += 1
    if len({len(r) for r in rows}) != 1 or len(a) != len(rows[0]):
        raise IntegrityError("the tokenizer does not give every canary fill the same length")
    return rows, len(a) - common


@dataclass(frozen=True, eq=False)
class TextModelTarget(PreparedTarget):
    model_ref: ArtifactRef
    spec: LmSpec
    recipe: LmRecipe
    tokenizer: TextTokenizer
    corpus: TextCorpus
    split: Split
    canaries: tuple[Canary, ...]
    canary_spec: CanarySpec | None
    min_tokens: int
    member_loss: float | None = None
    nonmember_loss: float | None = None

    def deploy_spec(self, access: Access) -> TargetDeploySpec:
        return TargetDeploySpec(self.model_ref.uri, access)

    def adversary_view(self, exercise: ExerciseSpec, datasets: DatasetCache) -> AdversaryView:
        from leakrange.orchestrator.ground_truth import adversary_rows, build_audit
        from leakrange.orchestrator.text_truth import ExposureTruth, ExtractionTruth

        tok, ctx_len = self.tokenizer, self.spec.context
        texts = self.corpus.texts
        audit = build_audit(self.split, exercise.audit.records_per_side, exercise.seed)
        population = adversary_rows(self.split, exercise.threat_model.knowledge, exercise.seed)
        knowledge = exercise.threat_model.knowledge
        spec = self.spec
        proxy = knowledge.proxy_model or ""
        if not knowledge.architecture_known and proxy in LM_ZOO:
            spec = LmSpec.model_validate({**LM_ZOO[proxy],
                                          "vocab_size": self.spec.vocab_size})
        message = attack_pb2.AdversaryData(
            audit=_bundle(framed(tok, [texts[i] for i in audit.rows], ctx_len), tok.pad_id),
            dataset=self.corpus.name, model_spec_json=spec.model_dump_json(),
            recipe_json=(self.recipe if knowledge.recipe_known else LmRecipe()).model_dump_json(),
        )
        if len(population):
            message.population.CopyFrom(_bundle(
                framed(tok, [texts[i] for i in population], ctx_len), tok.pad_id))
        training = framed(tok, [texts[i] for i in self.split.members], ctx_len)
        others = framed(tok, [texts[i] for i in np.concatenate(
            [self.split.nonmembers, self.split.adversary])], ctx_len)
        truth: dict[str, object] = {MEMBERSHIP: audit}
        secrets: list[tuple[int, ...]] = []
        if self.canary_spec is not None and self.canaries:
            cs = self.canary_spec
            refs = reference_secrets(cs, [c.secret for c in self.canaries])
            rows, secret_len = canary_tokens(tok, cs, [c.secret for c in self.canaries] + refs)
            kinds = np.asarray([c.insertions for c in self.canaries] + [-1] * len(refs))
            order = np.random.default_rng(np.random.SeedSequence(
                [exercise.seed, 0xCA11])).permutation(len(rows))
            tokens, _ = _pad([rows[i] for i in order], tok.pad_id)
            message.text.canary_candidates.CopyFrom(to_proto(tokens))
            message.text.canary_prefix.CopyFrom(to_proto(np.asarray(
                rows[0][:len(rows[0]) - secret_len], np.int64)))
            message.text.canary_secret_tokens = secret_len
            truth[EXPOSURE] = ExposureTruth(kinds[order].astype(np.int64), 10 ** cs.digits)
            secrets = [tuple(rows[i][-secret_len:]) for i in range(len(self.canaries))]
            training += [[tok.bos_id, *tok.encode(c.text(cs)), tok.eos_id][:ctx_len]
                         for c in self.canaries if c.insertions > 0]
        truth[EXTRACTION] = ExtractionTruth(
            training, others, secrets, [c.insertions for c in self.canaries],
            self.min_tokens, self.spec.vocab_size)
        return AdversaryView(data=message, truth=truth)

    def report_info(self, view: AdversaryView) -> TargetInfo:
        from leakrange.report.schema import TargetInfo

        audit = view.truth_for(MEMBERSHIP)
        defences: dict[str, Any] = {}
        if self.recipe.weight_decay:
            defences["weight_decay"] = self.recipe.weight_decay
        return TargetInfo(
            model_kind=f"causal-lm ({self.spec.arch}, {self.spec.n_layers} layers)",
            dataset=self.corpus.name, n_members=int(audit.is_member.sum()),
            n_nonmembers=int((~audit.is_member).sum()), train_size=len(self.split.members),
            defences=defences,
        )


class TextKind(TargetKind):
    name: ClassVar[str] = "text"
    summary: ClassVar[str] = ("Train (or fine-tune) a language model in the range on a text "
                              "corpus, with optional canaries.")
    spec_type: ClassVar[Any] = TextTarget
    result_kinds: ClassVar[frozenset[str]] = frozenset({MEMBERSHIP, EXPOSURE, EXTRACTION})

    @classmethod
    def check(cls, part: Any, exercise: ExerciseSpec) -> Problems:
        from leakrange.datasets.text_corpus import TEXT_DATASETS
        from leakrange.models.lm.pretrained import PRETRAINED

        spec: TextTarget = part
        problems: Problems = []
        if spec.dataset not in TEXT_DATASETS:
            problems.append(("target.text.dataset",
                             f"unknown text data set; available: {', '.join(TEXT_DATASETS)}"))
        if isinstance(spec.model, str) and spec.model not in LM_ZOO:
            problems.append(("target.text.model",
                             f"unknown language model; zoo: {', '.join(LM_ZOO)}"))
        if spec.base is not None and spec.base not in PRETRAINED:
            problems.append(("target.text.base",
                             f"unknown pretrained base; available: {', '.join(PRETRAINED)}"))
        if spec.population is not None and spec.members + (spec.nonmembers or spec.members) \
                > spec.population:
            problems.append(("target.text.members", "members + nonmembers must be <= "
                                                    "population"))
        proxy = exercise.threat_model.knowledge.proxy_model
        if proxy and proxy not in LM_ZOO:
            problems.append(("threat_model.knowledge.proxy_model",
                             f"a language-model proxy must be an LM zoo name: "
                             f"{', '.join(LM_ZOO)}"))
        return problems

    @classmethod
    def prepare(cls, part: Any, ctx: PrepareContext) -> TextModelTarget:
        from leakrange.datasets.text_corpus import load_text_corpus
        from leakrange.target.text_training import TextTrainingRequest, train_text_target

        spec: TextTarget = part
        store = ctx.store
        corpus = load_text_corpus(spec.dataset)
        cache_name = f"{TEXT_CACHE_PREFIX}/{text_cache_key(spec)}"
        try:
            cached = store.get_manifest(cache_name)
            return load_text_target(store, store.resolve(str(cached["model"])), corpus,
                                    spec.extraction_min_tokens)
        except (NotFound, KeyError, IntegrityError):
            pass
        result = train_text_target(store, corpus, TextTrainingRequest(
            dataset=spec.dataset, members=spec.members, nonmembers=spec.nonmembers,
            population=spec.population, seed=spec.split_seed, model=spec.model,
            recipe=spec.recipe, vocab_size=spec.vocab_size, canaries=spec.canaries,
            base=spec.base, context=spec.context,
        ), progress=ctx.progress, should_stop=ctx.should_stop)
        store.put_manifest(cache_name, {"model": result.model_ref.uri})
        return TextModelTarget(
            model_ref=result.model_ref, spec=result.spec, recipe=result.recipe,
            tokenizer=result.tokenizer, corpus=corpus, split=result.split,
            canaries=tuple(result.canaries), canary_spec=spec.canaries,
            min_tokens=spec.extraction_min_tokens, member_loss=result.member_loss,
            nonmember_loss=result.nonmember_loss,
        )


def load_text_target(store: ArtifactStore, ref: ArtifactRef, corpus: TextCorpus,
                     min_tokens: int) -> TextModelTarget:
    """A stored language model with the split and canaries the store keeps for it."""
    from leakrange.models.lm.lm_io import lm_header_from_bytes
    from leakrange.target.text_training import text_groundtruth_manifest

    truth = store.get_manifest(text_groundtruth_manifest(ref.sha256))
    try:
        split = Split.from_json(truth["split"])
        canaries = tuple(Canary(str(c["secret"]), int(c["insertions"]))
                         for c in truth["canaries"])
        canary_spec = CanarySpec.model_validate(truth["canary_spec"]) \
            if truth.get("canary_spec") else None
        spec, tokenizer, metadata = lm_header_from_bytes(store.get_bytes(ref))
        recipe = LmRecipe.model_validate_json(metadata.get("recipe", "{}"))
    except (KeyError, TypeError, ValueError, RangeError) as err:
        raise IntegrityError("ground truth of the text target is corrupted") from err
    return TextModelTarget(
        model_ref=ref, spec=spec, recipe=recipe, tokenizer=tokenizer, corpus=corpus,
        split=split, canaries=canaries, canary_spec=canary_spec, min_tokens=min_tokens,
        member_loss=truth.get("member_loss"), nonmember_loss=truth.get("nonmember_loss"),
    )

"""Training a language-model target on a text corpus split and storing it.

Members and non-members are documents drawn uniformly from one pool (same sources, same time:
``datasets/text_corpus.py`` explains why). The tokenizer is trained on the whole pool
(members, non-members and the adversary's share alike), so tokenisation itself carries no
membership signal. Canaries are added to the members' documents ``k`` times each. The model
artifact carries the spec and tokenizer, never the split: split and canaries are stored as
ground truth under ``groundtruth/<model sha>``, which only the range reads.

With ``base`` set, the target is a pretrained model (SmolLM2-135M) fine-tuned on the members
(full fine-tuning, or only its last blocks: ``LmRecipe.train_last_layers``) instead of the
tiny from-scratch transformer: the realistic case of a hospital adapting an open model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from leakrange.artifacts import MEDIA_LM, ArtifactRef, ArtifactStore
from leakrange.datasets import Split, make_split
from leakrange.datasets.canaries import Canary, CanarySpec, inserted_texts, make_canaries
from leakrange.datasets.text_corpus import TextCorpus
from leakrange.models import pick_device
from leakrange.models.lm.lm_io import lm_to_bytes
from leakrange.models.lm.spec import LmRecipe, LmSpec, lm_spec
from leakrange.models.lm.tokenizer import TextTokenizer, train_tokenizer
from leakrange.models.lm.trainer import fit_lm, sequence_log_probs

TOKENIZER_SAMPLE = 20_000


@dataclass
class TextTrainingRequest:
    dataset: str
    members: int
    nonmembers: int | None = None
    population: int | None = None
    seed: int = 0
    model: str | dict[str, Any] = "lm-tiny"
    recipe: LmRecipe = field(default_factory=LmRecipe)
    vocab_size: int = 2048
    canaries: CanarySpec | None = None
    base: str | None = None  # a pretrained base to fine-tune (``models.lm.pretrained``)
    context: int = 64  # context of a fine-tuned base (the tiny models' is in their spec)


@dataclass
class TextTargetResult:
    model_ref: ArtifactRef
    spec: LmSpec
    recipe: LmRecipe
    split: Split
    canaries: list[Canary]
    member_loss: float  # mean per-token NLL on (a sample of) members
    nonmember_loss: float
    seconds_per_epoch: float
    tokenizer: TextTokenizer


def text_groundtruth_manifest(model_sha: str) -> str:
    return f"groundtruth/{model_sha}"


def mean_nll(model: torch.nn.Module, docs: Sequence[Sequence[int]], pad_id: int,
             device: torch.device) -> float:
    lps = sequence_log_probs(model, docs, pad_id, device)
    total = sum(float(-lp.sum()) for lp in lps)
    count = sum(len(lp) for lp in lps)
    return total / max(1, count)


def train_text_target(
    store: ArtifactStore, corpus: TextCorpus, request: TextTrainingRequest,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TextTargetResult:
    split = make_split(len(corpus), members=request.members, nonmembers=request.nonmembers,
                       seed=request.seed, population=request.population)
    canaries = make_canaries(request.canaries) if request.canaries is not None else []
    member_texts = [corpus.texts[i] for i in split.members]
    if request.canaries is not None:
        member_texts += inserted_texts(canaries, request.canaries)
    device = pick_device()
    model: torch.nn.Module | None = None
    if request.base is not None:
        from leakrange.models.lm.pretrained import freeze_all_but_last, load_pretrained

        model, spec, tokenizer = load_pretrained(request.base, request.context)
        freeze_all_but_last(model, request.recipe.train_last_layers)  # type: ignore[arg-type]
    else:
        pool = np.concatenate([split.members, split.nonmembers, split.adversary])
        rng = np.random.default_rng(np.random.SeedSequence([request.seed, 0x70C3]))
        sample = rng.permutation(pool)[:TOKENIZER_SAMPLE]
        tokenizer = train_tokenizer((corpus.texts[i] for i in sample), request.vocab_size)
        spec = lm_spec(request.model, tokenizer.vocab_size)
    docs = [tokenizer.frame(t, spec.context) for t in member_texts]
    fitted = fit_lm(spec, request.recipe, docs, tokenizer.pad_id, device, model=model,
                    progress=progress, should_stop=should_stop)
    sample_rows = np.random.default_rng(request.seed).permutation(len(split.members))[:500]
    member_loss = mean_nll(fitted.model, [docs[i] for i in sample_rows], tokenizer.pad_id,
                           device)
    nonmember_docs = [tokenizer.frame(corpus.texts[i], spec.context)
                      for i in split.nonmembers[:500]]
    nonmember_loss = mean_nll(fitted.model, nonmember_docs, tokenizer.pad_id, device)
    blob = lm_to_bytes(fitted.model, spec, tokenizer, {
        "dataset": corpus.name, "recipe": request.recipe.model_dump_json(),
        "base": request.base or "",
    })
    ref = store.put_bytes(blob, MEDIA_LM)
    store.put_manifest(text_groundtruth_manifest(ref.sha256), {
        "dataset": corpus.name, "split": split.to_json(), "seed": request.seed,
        "canaries": [{"secret": c.secret, "insertions": c.insertions} for c in canaries],
        "canary_spec": json.loads(request.canaries.model_dump_json()) if request.canaries
        else None,
        "member_loss": member_loss, "nonmember_loss": nonmember_loss,
        "seconds_per_epoch": fitted.seconds_per_epoch,
    })
    return TextTargetResult(ref, spec, request.recipe, split, canaries, member_loss,
                            nonmember_loss, fitted.seconds_per_epoch, tokenizer)

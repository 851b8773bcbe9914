"""Reference-model ratio membership inference.

Carlini et al., "Extracting Training Data from Large Language Models", USENIX Security 2021,
section 5.1 ("Small" / "Medium" reference models): the ratio of the target's log-perplexity
to a reference model's calibrates away text that is easy for any language model. The
adversary trains the reference itself on its own documents (``population``, same
distribution, never the target's members unless the threat model says they overlap), with the
architecture and recipe it knows; or, against a fine-tuned pretrained target, uses the public
pretrained base as the reference (the usual calibration for fine-tuned models).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, ValidationError

from leakrange.attacks.base import AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.mia.text.base import TextMembershipAttack
from leakrange.attacks.mia.text.oracle import Documents, LmOracle, documents
from leakrange.attacks.mia.text.scores import reference_score
from leakrange.common.errors import FailedPrecondition
from leakrange.models import pick_device
from leakrange.models.lm.spec import LmRecipe, LmSpec
from leakrange.models.lm.trainer import fit_lm, sequence_log_probs


class ReferenceParams(AttackParams):
    reference: Literal["trained", "pretrained"] = Field(
        default="trained", description="Train a reference LM on the adversary's documents, or "
                                       "use a public pretrained base.")
    pretrained_base: str = Field(default="smollm2-135m", max_length=64)
    epochs: int | None = Field(default=None, ge=1, le=1000,
                               description="Reference training epochs (default: the recipe's).")


class LmReferenceAttack(TextMembershipAttack):
    name = "lm_reference"
    summary = "Target perplexity relative to a reference language model the adversary owns."
    paper = ("Carlini et al., Extracting Training Data from Large Language Models, USENIX "
             "Security 2021")
    Params = ReferenceParams
    uses_reference_models = True

    def score(self, ctx: RunContext, oracle: LmOracle, docs: Documents,
              params: AttackParams) -> list[float]:
        assert isinstance(params, ReferenceParams)
        device = pick_device()
        tok = oracle.tokenizer
        model: torch.nn.Module
        if params.reference == "pretrained":
            from leakrange.models.lm.pretrained import load_pretrained

            model, _spec, _tok = load_pretrained(params.pretrained_base, oracle.desc.context)
        else:
            population = documents(ctx, "population")
            try:
                spec = LmSpec.model_validate_json(ctx.model_spec_json)
                recipe = LmRecipe.model_validate_json(ctx.recipe_json or "{}")
            except ValidationError:
                raise FailedPrecondition("attack 'lm_reference' needs the target's language-"
                                         "model spec (or reference: pretrained)") from None
            if spec.arch != "tiny-gpt":
                raise FailedPrecondition("a fine-tuned pretrained target needs reference: "
                                         "pretrained")
            if params.epochs is not None:
                recipe = recipe.model_copy(update={"epochs": params.epochs})
            recipe = recipe.model_copy(update={"seed": ctx.seed})
            ctx.progress("reference_training", 0, 1, "training the reference model")
            model = fit_lm(spec, recipe, population.rows(), tok.pad_id, device,
                           should_stop=ctx.cancelled).model
            ctx.progress("reference_training", 1, 1, "done")
        reference = sequence_log_probs(model, docs.rows(), tok.pad_id, device)
        target = oracle.log_probs(docs)
        return [reference_score(t, r) for t, r in zip(target, reference, strict=True)]

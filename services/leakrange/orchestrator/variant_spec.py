"""``target.variants``: one exercise, several versions of the target's training recipe.

```yaml
target:
  train: {dataset: adult, members: 2000, recipe: {epochs: 10, privacy: {dp_sgd: {epsilon: 4}}}}
  variants:
    - {name: "epsilon 1", recipe: {privacy: {dp_sgd: {epsilon: 1}}}}
    - {name: "epsilon 8", recipe: {privacy: {dp_sgd: {epsilon: 8}}}}
    - {name: "no DP", recipe: {privacy: null}}
    - {name: "no DP, labels only", recipe: {privacy: null}, access: {output: label}}
```

Each variant's ``recipe`` is merged into ``target.train.recipe`` (mappings merge key by key,
``null`` removes a setting); the sweep (``orchestrator/sweep.py``) trains one target per variant
and runs the same attack plan against each. ``access`` sets the output-side defences the target
is served with for that variant (``threat_model.access``: output kind, top-k, rounding). Only
the recipe and the served output vary, so the data set, the split, the audit set and the
adversary's data are the same for every variant.

A synthetic release generated in the range (``target.synthetic``) varies its generator instead:

```yaml
target:
  synthetic: {dataset: adult, original: 2000, control: 500, generator: {name: copy-with-noise}}
  variants:
    - {name: copy-with-noise}                       # the base generator
    - {name: dp-bayes eps 1, generator: {name: dp-bayes, params: {epsilon: 1}}}
```

Each variant's ``generator`` replaces ``target.synthetic.generator`` (name and params); the
original, control and reference records are the same for every variant, only the fit differs.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from leakrange.common.threat_model import OutputKind

VARIANT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._=,+-]{0,39}$"
MAX_VARIANTS = 12


class OutputDefence(BaseModel):
    """Output-side defences: what the target's API returns for this variant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    output: OutputKind | None = None
    top_k: int | None = Field(default=None, ge=1, le=100_000)
    rounding: int | None = Field(default=None, ge=0, le=12)


class VariantGenerator(BaseModel):
    """The generator a synthetic variant fits (checked against the registry by the sweep)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)


class TargetVariant(BaseModel):
    """One version of the target: recipe settings that replace the base recipe's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(
        default=None, pattern=VARIANT_NAME_PATTERN,
        description="How the report names the variant (default: from its recipe settings).")
    recipe: dict[str, Any] = Field(
        default_factory=dict,
        description="Recipe settings merged into target.train.recipe (null removes one).")
    access: OutputDefence | None = Field(
        default=None, description="Output-side defences replacing threat_model.access's.")
    generator: VariantGenerator | None = Field(
        default=None, description="A synthetic target's generator replacing "
        "target.synthetic.generator (name and params).")

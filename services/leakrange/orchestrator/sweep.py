"""The sweep: one exercise evaluates one attack plan against several target variants
(``target.variants``, see ``variant_spec.py``) in one run.

``sweep_plan`` turns an exercise into one ``VariantRun`` per variant (one plain run when the
exercise has no variants): the variant's exercise spec (the base target with the merged recipe,
no variants) and the key its attack records are stored under.

What the sweep reuses, and why it is valid:

* the data set (the range's ``DatasetCache``), the member / non-member split (drawn from
  ``split_seed`` and the sizes, which no variant changes; early stopping's held-out members are
  drawn from the recipe seed and drop out of that variant's ground truth only), the audit set
  and the adversary's records (both drawn from the split and the exercise seed): every variant is
  attacked on the very same records, so their numbers compare like for like;
* a variant whose merged recipe equals an earlier one's, or a rerun, reuses the trained target
  (targets are cached by the hash of their spec);
* reference models: each attack seeds them the same way in every variant, and the store caches
  their outputs by the hash of what determines them (records, masks, architecture, recipe, seed).
  When the threat model says the recipe is *not* known, the adversary trains them with the same
  approximate recipe for every variant, so they are trained once and reused (the attack reports
  ``reference_cache_hit``); when the recipe is known, they follow each variant's recipe and are
  trained per variant (a DP-SGD reference for a DP-SGD target).

A variant's ``access`` (output-side defences: labels only, top-k, rounding) changes only how
the target is served: with the same recipe its trained model is the cached one.

A synthetic target (``target.synthetic`` generated in the range) varies its generator: the
original, control and reference records are drawn from ``split_seed`` and the sizes, which no
variant changes, and so are the attacked targets and the in-painting records; only the
generator's fit (cached by the hash of its spec) differs.

Not reused: each variant's target service is deployed and torn down in turn (the backends
deploy per exercise), and every attack runs against every variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from leakrange.common.errors import InvalidArgument, RangeError
from leakrange.common.threat_model import Access, ThreatModel
from leakrange.models.recipe import TrainRecipe
from leakrange.orchestrator.spec import ExerciseSpec
from leakrange.orchestrator.variant_spec import MAX_VARIANTS, TargetVariant

WHERE = "target.variants"


@dataclass(frozen=True)
class VariantRun:
    """One variant of a sweep, ready to run like an exercise of its own."""

    index: int
    name: str  # as the report shows it ("" for a plain exercise)
    spec: ExerciseSpec  # the exercise with this variant's target (no variants)
    overrides: dict[str, Any]

    @property
    def in_sweep(self) -> bool:
        return bool(self.name)

    def record_name(self, adversary: str) -> str:
        """The name the exercise records store this variant's results of ``adversary`` under
        (adversary names cannot contain '/', so these never collide with a plain run's)."""
        return f"v{self.index}/{adversary}" if self.in_sweep else adversary

    def label(self, attack_label: str) -> str:
        return f"{attack_label} [{self.name}]" if self.in_sweep else attack_label


def merge_recipe(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` merged into ``base``: mappings key by key, anything else (``None`` too)
    replaces; a ``None`` left at the top removes the setting (the recipe's default applies)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_recipe(out[key], value)
        else:
            out[key] = value
    return {k: v for k, v in out.items() if v is not None}


def variant_overrides(variant: TargetVariant, synthetic: Any = None) -> dict[str, Any]:
    """What a variant changes, as the report lists it; a synthetic variant's ``synthetic``
    target gives the generator it fits (the base one unless the variant names another)."""
    if synthetic is not None:
        return {"generator": synthetic.generator.model_dump(mode="json")}
    out: dict[str, Any] = {"recipe": dict(variant.recipe)}
    if variant.access is not None:
        out["access"] = variant.access.model_dump(exclude_none=True)
    return out


def default_name(override: dict[str, Any]) -> str:
    """A name from the settings a variant changes: ``{privacy: {dp_sgd: {epsilon: 1}}}`` ->
    ``epsilon=1``; ``{privacy: null}`` -> ``privacy=none``."""
    parts: list[str] = []

    def walk(doc: dict[str, Any]) -> None:
        for key, value in doc.items():
            if isinstance(value, dict) and value:
                walk(value)
            else:
                parts.append(f"{key}={'none' if value is None else value}")

    walk(override)
    return (", ".join(parts) or "base recipe")[:40]


def sweep_problems(spec: ExerciseSpec) -> list[tuple[str, str]]:
    """Every problem of ``target.variants``, each under its YAML path."""
    variants: list[TargetVariant] | None = getattr(spec.target, "variants", None)
    if variants is None:
        return []
    train = getattr(spec.target, "train", None)
    synthetic = getattr(spec.target, "synthetic", None)
    if train is None and synthetic is None:
        return [(WHERE, "only a 'train' target (its training recipe) or a 'synthetic' target "
                 "(its generator) can be varied")]
    problems: list[tuple[str, str]] = []
    if not 1 <= len(variants) <= MAX_VARIANTS:
        problems.append((WHERE, f"give between 1 and {MAX_VARIANTS} variants"))
    if train is not None:
        problems += _recipe_problems(train.recipe, variants)
        problems += [(f"{WHERE}[{i}].generator", "only a synthetic target has a generator")
                     for i, v in enumerate(variants) if v.generator is not None]
    else:
        problems += _generator_problems(synthetic, variants)
    problems += _access_problems(spec, variants)
    names = [v.name or _name(v) for v in variants]
    for i, name in enumerate(names):
        if name in names[:i]:
            problems.append((f"{WHERE}[{i}].name", "variant names must be unique (give a name)"))
    return problems


def _recipe_problems(recipe: TrainRecipe, variants: list[TargetVariant]
                     ) -> list[tuple[str, str]]:
    from leakrange.orchestrator.spec_loading import _problem, format_path

    problems: list[tuple[str, str]] = []
    base = recipe.model_dump(mode="json", exclude_unset=True)
    for i, variant in enumerate(variants):
        try:
            TrainRecipe.model_validate(merge_recipe(base, variant.recipe))
        except ValidationError as err:
            problems += [(format_path([WHERE, i, "recipe", *e["loc"]]), _problem(e))
                         for e in err.errors(include_url=False)]
    return problems


def _generator_problems(synthetic: Any, variants: list[TargetVariant]
                        ) -> list[tuple[str, str]]:
    """A synthetic variant names a registered generator with valid params, and nothing a
    synthetic release cannot vary (a recipe, output-side defences)."""
    from leakrange.orchestrator.target_kinds.synthetic import SyntheticFiles
    from leakrange.synthetic.generators import generator

    if isinstance(synthetic, SyntheticFiles):
        return [(WHERE, "a bring-your-own release has no generator to vary")]
    problems: list[tuple[str, str]] = []
    for i, variant in enumerate(variants):
        where = f"{WHERE}[{i}]"
        if variant.recipe:
            problems.append((f"{where}.recipe", "a synthetic target has no training recipe "
                             "(vary its generator)"))
        if variant.access is not None:
            problems.append((f"{where}.access", "a synthetic release is not served (vary its "
                             "generator)"))
        if variant.generator is None:
            continue
        try:
            generator(variant.generator.name).parse(variant.generator.params)
        except InvalidArgument as err:
            problems.append((err.field.replace("target.synthetic.generator",
                                               f"{where}.generator"), err.problem))
    return problems


def _name(variant: TargetVariant) -> str:
    if variant.generator is not None:
        return default_name({"generator": variant.generator.name,
                             **variant.generator.params})
    access = variant.access.model_dump(exclude_none=True) if variant.access else {}
    return default_name({**variant.recipe, **access})


def variant_threat_model(spec: ExerciseSpec, variant: TargetVariant) -> ThreatModel:
    """The exercise's threat model with the variant's output-side defences."""
    if variant.access is None:
        return spec.threat_model
    access = Access.model_validate({**spec.threat_model.access.model_dump(),
                                    **variant.access.model_dump(exclude_none=True)})
    return spec.threat_model.model_copy(update={"access": access})


def _access_problems(spec: ExerciseSpec, variants: list[TargetVariant]
                     ) -> list[tuple[str, str]]:
    """Each variant's served output must be one every attack of the plan can run under."""
    from leakrange.catalogue import load_catalogue

    catalogue = load_catalogue()
    problems: list[tuple[str, str]] = []
    for i, variant in enumerate(variants):
        if variant.access is None:
            continue
        threat_model = variant_threat_model(spec, variant)
        for adversary in spec.adversaries:
            for attack in adversary.attacks:
                try:
                    refusal = catalogue.get(adversary.family, attack.name).refusal(threat_model)
                except RangeError:
                    continue  # unknown attacks are named by the attack checks
                if refusal is not None:
                    problems.append((f"{WHERE}[{i}].access",
                                     f"attack '{attack.name}' cannot run under it: {refusal}"))
    return problems


def sweep_plan(spec: ExerciseSpec) -> list[VariantRun]:
    """One run per variant, in the order the exercise lists them (one plain run without)."""
    from leakrange.orchestrator.spec_loading import SpecError

    variants: list[TargetVariant] | None = getattr(spec.target, "variants", None)
    if variants is None:
        return [VariantRun(0, "", spec, {})]
    problems = sweep_problems(spec)
    if problems:
        raise SpecError(problems)
    runs = []
    for i, variant in enumerate(variants):
        target = _variant_target(spec.target, variant)
        runs.append(VariantRun(
            i, variant.name or _name(variant),
            spec.model_copy(update={"target": target,
                                    "threat_model": variant_threat_model(spec, variant)}),
            variant_overrides(variant, getattr(target, "synthetic", None))))
    return runs


def _variant_target(base_target: BaseModel, variant: TargetVariant) -> BaseModel:
    """The base target with the variant's recipe merged in, or its generator in place."""
    train = getattr(base_target, "train", None)
    if train is not None:
        base = train.recipe.model_dump(mode="json", exclude_unset=True)
        recipe = TrainRecipe.model_validate(merge_recipe(base, variant.recipe))
        return base_target.model_copy(update={
            "train": train.model_copy(update={"recipe": recipe}), "variants": None})
    synthetic = base_target.synthetic  # type: ignore[attr-defined]
    if variant.generator is not None:
        from leakrange.orchestrator.target_kinds.synthetic import GeneratorSpec

        synthetic = synthetic.model_copy(update={
            "generator": GeneratorSpec.model_validate(variant.generator.model_dump())})
    return base_target.model_copy(update={"synthetic": synthetic, "variants": None})

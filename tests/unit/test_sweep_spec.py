"""``target.variants``: recipe overrides merged into the base recipe, every problem named by
its YAML path, and the plan the runner follows (one exercise spec per variant)."""

from __future__ import annotations

import pytest
import yaml

from leakrange.orchestrator.spec_loading import SpecError, load_spec, parse_spec
from leakrange.orchestrator.sweep import default_name, merge_recipe, sweep_plan


def _spec(variants: object, target: str = "train", **extra: object) -> str:
    train = {"dataset": "adult", "members": 500, "split_seed": 3,
             "recipe": {"epochs": 5, "lr": 0.01,
                        "privacy": {"dp_sgd": {"epsilon": 4.0, "delta": 1e-6}}}}
    doc: dict = {"name": "sweep", "target": {target: train, "variants": variants},
                 "adversaries": [{"family": "mia", "attacks": [{"name": "loss"}]}], **extra}
    return yaml.safe_dump(doc)


def _problems(text: str) -> dict[str, str]:
    with pytest.raises(SpecError) as err:
        load_spec(text)
    return dict(err.value.problems)


def test_variants_merge_into_the_base_recipe() -> None:
    spec = load_spec(_spec([
        {"recipe": {"privacy": {"dp_sgd": {"epsilon": 1}}}},
        {"name": "eps 8", "recipe": {"privacy": {"dp_sgd": {"epsilon": 8}}}},
        {"name": "none", "recipe": {"privacy": None}},
        {"name": "wd", "recipe": {"privacy": None, "weight_decay": 0.01, "epochs": 7}},
    ]))
    plan = sweep_plan(spec)
    assert [v.name for v in plan] == ["epsilon=1", "eps 8", "none", "wd"]
    recipes = [v.spec.target.train.recipe for v in plan]
    dps = [r.dp_sgd for r in recipes]
    assert dps[0] is not None and (dps[0].epsilon, dps[0].delta) == (1.0, 1e-6)  # delta kept
    assert dps[1] is not None and dps[1].epsilon == 8.0
    assert dps[2] is None and dps[3] is None
    assert recipes[3].weight_decay == 0.01 and recipes[3].epochs == 7
    assert all(r.lr == 0.01 for r in recipes)  # the base settings every variant shares
    for v in plan:  # what must be shared for the variants to compare like for like
        train = v.spec.target.train
        assert (train.dataset, train.members, train.split_seed) == ("adult", 500, 3)
        assert v.spec.target.variants is None and v.spec.adversaries == spec.adversaries
        assert v.record_name("mia-0") == f"v{v.index}/mia-0"
    # The recipe seed stays unset (it defaults to split_seed in training) unless a variant sets it.
    assert "seed" not in recipes[0].model_dump(exclude_unset=True)


def test_an_exercise_without_variants_is_one_plain_run() -> None:
    spec = load_spec(_spec(None))
    (only,) = sweep_plan(spec)
    assert not only.in_sweep and only.spec is spec and only.record_name("a") == "a"
    assert only.label("loss") == "loss"


def test_every_variant_problem_names_its_field() -> None:
    problems = _problems(_spec([
        {"name": "ok", "recipe": {"privacy": {"dp_sgd": {"epsilon": 2}}}},
        {"name": "bad", "recipe": {"privacy": {"dp_sgd": {"epsilon": -1}}, "lr": 0}},
        {"name": "typo", "recipe": {"epoch": 3}},
        {"name": "ok", "recipe": {"epochs": 3}},
    ]))
    assert problems == {
        "target.variants[1].recipe.privacy.dp_sgd.epsilon": "must be > 0.0",
        "target.variants[1].recipe.lr": "must be > 0.0",
        "target.variants[2].recipe.epoch": "unknown key",
        "target.variants[3].name": "variant names must be unique (give a name)",
    }


def test_structural_variant_problems() -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(_spec([{"name": "x" * 41}, {"recipe": [1]}, {"nme": "a"}]))
    paths = [p for p, _ in err.value.problems]
    assert paths == ["target.variants[0].name", "target.variants[1].recipe",
                     "target.variants[2].nme"]
    assert _problems(_spec([]))["target.variants"].startswith("give between 1 and")
    assert _problems(_spec([{"name": f"v{i}"} for i in range(13)]))["target.variants"] \
        == "give between 1 and 12 variants"


def test_only_a_trained_target_has_a_recipe_to_vary() -> None:
    text = yaml.safe_dump({
        "name": "s", "target": {"model": "sha256:" + "0" * 64, "variants": [{}]},
        "adversaries": [{"family": "mia", "attacks": [{"name": "loss"}]}]})
    problems = _problems(text)
    assert problems["target.variants"] == (
        "only a 'train' target (its training recipe) or a 'synthetic' target (its generator) "
        "can be varied")


def test_subgroup_attribute_must_be_a_categorical_column() -> None:
    problems = _problems(_spec(None, audit={"subgroups": {"attribute": "age"}}))
    assert problems["audit.subgroups.attribute"].startswith("must be a categorical column (")
    assert "sex" in problems["audit.subgroups.attribute"]
    assert _problems(_spec(None, audit={"subgroups": {"attribute": "sex", "fpr": 0}})) == {
        "audit.subgroups.fpr": "must be > 0.0"}
    load_spec(_spec(None, audit={"subgroups": {"attribute": "race", "fpr": 0.05}}))


def test_merge_and_default_names() -> None:
    base = {"lr": 0.1, "privacy": {"dp_sgd": {"epsilon": 4, "delta": 1e-5}}}
    assert merge_recipe(base, {"privacy": {"dp_sgd": {"epsilon": 1}}}) == {
        "lr": 0.1, "privacy": {"dp_sgd": {"epsilon": 1, "delta": 1e-5}}}
    assert merge_recipe(base, {"privacy": None, "lr": None}) == {}
    assert base["privacy"] == {"dp_sgd": {"epsilon": 4, "delta": 1e-5}}  # not mutated
    assert default_name({"privacy": {"dp_sgd": {"epsilon": 1}}}) == "epsilon=1"
    assert default_name({"privacy": None, "weight_decay": 0.01}) == \
        "privacy=none, weight_decay=0.01"
    assert default_name({}) == "base recipe"


def test_output_side_defences_per_variant() -> None:
    spec = load_spec(_spec([
        {"name": "probabilities", "recipe": {"privacy": None}},
        {"name": "rounded", "recipe": {"privacy": None}, "access": {"rounding": 1}},
    ]))
    plain, rounded = sweep_plan(spec)
    assert plain.spec.threat_model == spec.threat_model
    assert rounded.spec.threat_model.access.rounding == 1
    assert rounded.spec.threat_model.access.output == spec.threat_model.access.output
    assert rounded.overrides == {"recipe": {"privacy": None}, "access": {"rounding": 1}}
    # Same recipe, so the trained target is the same (cached) model.
    assert plain.spec.target.train == rounded.spec.target.train
    # An attack that needs scores cannot run against a variant that serves labels only.
    problems = _problems(_spec([{"name": "labels", "access": {"output": "label"}}]))
    assert problems["target.variants[0].access"].startswith("attack 'loss' cannot run under it")
    problems = _problems(_spec([{"name": "bad", "access": {"top_k": 0, "outputs": "x"}}]))
    assert problems["target.variants[0].access.top_k"] == "must be >= 1"
    assert problems["target.variants[0].access.outputs"] == "unknown key"

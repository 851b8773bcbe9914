"""``target.variants`` on a synthetic target: each variant's generator replaces the base one,
the split is the same for every variant, and every problem is named by its YAML path."""

from __future__ import annotations

import pytest
import yaml

from leakrange.orchestrator.spec_loading import SpecError, load_spec
from leakrange.orchestrator.sweep import sweep_plan

SYNTHETIC = {"dataset": "adult", "original": 600, "control": 300, "reference": 300,
             "targets": 150, "split_seed": 4, "generator": {"name": "copy-with-noise",
                                                            "params": {"noise": 0.1}}}


def _spec(variants: object, synthetic: object = SYNTHETIC) -> str:
    return yaml.safe_dump({
        "name": "release-sweep", "target": {"synthetic": synthetic, "variants": variants},
        "adversaries": [{"family": "synthetic", "attacks": [{"name": "dcr"}]}]})


def _problems(text: str) -> dict[str, str]:
    with pytest.raises(SpecError) as err:
        load_spec(text)
    return dict(err.value.problems)


def test_each_variant_fits_its_generator_on_the_same_split() -> None:
    plan = sweep_plan(load_spec(_spec([
        {"name": "copy"},
        {"generator": {"name": "dp-bayes", "params": {"epsilon": 1}}},
        {"name": "argn", "generator": {"name": "tabular-argn", "params": {"epochs": 2}}},
    ])))
    assert [v.name for v in plan] == ["copy", "generator=dp-bayes, epsilon=1", "argn"]
    generators = [v.spec.target.synthetic.generator for v in plan]
    assert [(g.name, g.params) for g in generators] == [
        ("copy-with-noise", {"noise": 0.1}), ("dp-bayes", {"epsilon": 1}),
        ("tabular-argn", {"epochs": 2})]
    assert [v.overrides for v in plan] == [{"generator": g.model_dump()} for g in generators]
    for v in plan:  # what must be shared for the releases to compare like for like
        s = v.spec.target.synthetic
        assert (s.dataset, s.original, s.control, s.reference, s.targets, s.split_seed) == (
            "adult", 600, 300, 300, 150, 4)
        assert v.spec.target.variants is None and v.in_sweep
        assert v.record_name("a") == f"v{v.index}/a"


def test_every_generator_problem_names_its_field() -> None:
    assert _problems(_spec([
        {"name": "ok", "generator": {"name": "dp-bayes"}},
        {"name": "nope", "generator": {"name": "gan-of-doom"}},
        {"name": "bad", "generator": {"name": "dp-bayes", "params": {"epsilon": -1}}},
        {"name": "typo", "generator": {"name": "dp-bayes", "params": {"epsilom": 1}}},
        {"name": "recipe", "recipe": {"epochs": 3}},
        {"name": "served", "access": {"output": "label"}},
        {"name": "ok"},
    ])) == {
        "target.variants[1].generator.name": "unknown generator (available: copy-with-noise, "
                                             "dp-bayes, tabular-argn)",
        "target.variants[2].generator.params.epsilon": "Input should be greater than 0",
        "target.variants[3].generator.params.epsilom": "Extra inputs are not permitted",
        "target.variants[4].recipe": "a synthetic target has no training recipe "
                                     "(vary its generator)",
        "target.variants[5].access": "a synthetic release is not served (vary its generator)",
        "target.variants[6].name": "variant names must be unique (give a name)",
    }


def test_structural_generator_problems() -> None:
    problems = _problems(_spec([{"generator": {"params": {}}}, {"generator": {"name": "x",
                                                                              "extra": 1}}]))
    assert set(problems) == {"target.variants[0].generator.name",
                             "target.variants[1].generator.extra"}


def test_a_train_target_has_no_generator() -> None:
    train = yaml.safe_dump({
        "name": "s", "target": {"train": {"dataset": "adult", "members": 500},
                                "variants": [{"name": "g", "generator": {"name": "dp-bayes"}}]},
        "adversaries": [{"family": "mia", "attacks": [{"name": "loss"}]}]})
    assert _problems(train) == {
        "target.variants[0].generator": "only a synthetic target has a generator"}


def test_a_bring_your_own_release_has_no_generator_to_vary() -> None:
    from pathlib import Path

    from leakrange.orchestrator.spec_loading import localise_spec_file

    example = Path(__file__).resolve().parents[2] / "examples" / "bring-your-own-synthetic.yaml"
    doc = yaml.safe_load(localise_spec_file(example))
    doc["target"]["variants"] = [{"name": "g", "generator": {"name": "dp-bayes"}}]
    assert _problems(yaml.safe_dump(doc)) == {
        "target.variants": "a bring-your-own release has no generator to vary"}

"""Text exercise specs: the examples validate, and bad text specs name their YAML path."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakrange.orchestrator.spec_loading import SpecError, load_spec, load_spec_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

GOOD = """
name: t
target:
  text: {dataset: healthtweets, members: 100, population: 400,
         canaries: {insertions: [0, 10]}}
threat_model: {access: {output: ACCESS, top_k: 20}}
adversaries:
  - family: mia
    attacks: [ATTACKS]
"""


def spec(access: str = "topk", attacks: str = "{name: lm_loss}") -> str:
    return GOOD.replace("ACCESS", access).replace("ATTACKS", attacks)


@pytest.mark.parametrize("name", ["healthtweets-lm.yaml", "smollm2-finetune.yaml"])
def test_text_examples_validate(name: str) -> None:
    loaded = load_spec_file(EXAMPLES / name)
    assert loaded.target.text is not None
    assert {a.name for a in loaded.adversaries[0].attacks} >= {"lm_loss", "canary_exposure",
                                                                "extraction"}


BAD = [
    ("unknown corpus", spec().replace("dataset: healthtweets", "dataset: adult"),
     "target.text.dataset", "unknown text data set"),
    ("unknown base", spec().replace("members: 100,", "members: 100, base: gpt5,"),
     "target.text.base", "unknown pretrained base"),
    ("unknown model", spec().replace("members: 100,", "members: 100, model: lm-huge,"),
     "target.text.model", "unknown language model"),
    ("split too big", spec().replace("members: 100", "members: 300"),
     "target.text.members", "population"),
    ("template without secret", spec().replace("insertions: [0, 10]",
                                                "template: 'my id is secret', insertions: [0]"),
     "target.text.canaries.template", "{secret}"),
    ("min-k++ on log-probs", spec("logits", "{name: min_k_plus_plus}"),
     "adversaries[0].attacks[0]", "cannot run on 'logits' outputs"),
    ("bad k", spec(attacks="{name: min_k, params: {k_percent: 0}}"),
     "adversaries[0].attacks[0].params.k_percent", ""),
]


@pytest.mark.parametrize(("case", "text", "path", "problem"), BAD, ids=[b[0] for b in BAD])
def test_bad_text_spec_names_its_path(case: str, text: str, path: str, problem: str) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(text)
    problems = info.value.problems
    assert any(p.startswith(path) and problem in msg for p, msg in problems), problems


def test_label_only_access_still_allows_extraction() -> None:
    load_spec(spec("label", "{name: extraction}"))
    with pytest.raises(SpecError):
        load_spec(spec("label", "{name: lm_loss}"))

"""Canaries: secret strings inserted k times into a training set to measure memorisation.

Carlini, Liu, Erlingsson, Kos, Song. "The Secret Sharer: Evaluating and Testing Unintended
Memorization in Neural Networks." USENIX Security 2019. A canary fills a public template
("my patient id is {secret}") with random digits; the randomness space R is every digit string
of that length. Exposure (``metrics/exposure.py``) ranks the true canary among candidates drawn
from R. A canary with 0 insertions is the control: the model never saw it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator


class CanarySpec(BaseModel):
    """Which canaries the training set gets and how exposure is estimated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: str = Field(default="my patient id is {secret}", min_length=9, max_length=200)
    digits: int = Field(default=6, ge=3, le=12)
    # One canary per entry, inserted that many times (0 = a control never inserted).
    insertions: list[int] = Field(default_factory=lambda: [0, 1, 10, 100], min_length=1,
                                  max_length=32)
    # Random fills of the template the true canaries are ranked among (exposure by sampling).
    candidates: int = Field(default=2000, ge=10, le=1_000_000)
    seed: int = Field(default=0, ge=0, lt=2**63)

    @field_validator("template")
    @classmethod
    def _one_secret_at_end(cls, value: str) -> str:
        if value.count("{secret}") != 1 or not value.endswith("{secret}"):
            raise ValueError("must end with the one placeholder {secret}")
        if not value[: -len("{secret}")].strip():
            raise ValueError("needs a prefix before {secret}")
        return value

    @field_validator("insertions")
    @classmethod
    def _counts(cls, value: list[int]) -> list[int]:
        if any(k < 0 or k > 10_000 for k in value):
            raise ValueError("each count must be between 0 and 10000")
        return value

    @property
    def prefix(self) -> str:
        """The public part of the template (what an extraction prompt starts with)."""
        return self.template[: -len("{secret}")]

    def fill(self, secret: str) -> str:
        return self.template.replace("{secret}", secret)


@dataclass(frozen=True)
class Canary:
    secret: str  # digits separated by spaces, e.g. "4 1 9 2 0 7"
    insertions: int

    def text(self, spec: CanarySpec) -> str:
        return spec.fill(self.secret)


def random_secret(rng: np.random.Generator, digits: int) -> str:
    return " ".join(str(d) for d in rng.integers(0, 10, size=digits))


def make_canaries(spec: CanarySpec) -> list[Canary]:
    """One canary per insertion count, distinct secrets, same seed -> same canaries."""
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 0xCA7A]))
    secrets: list[str] = []
    while len(secrets) < len(spec.insertions):
        secret = random_secret(rng, spec.digits)
        if secret not in secrets:
            secrets.append(secret)
    return [Canary(s, k) for s, k in zip(secrets, spec.insertions, strict=True)]


def reference_secrets(spec: CanarySpec, exclude: Sequence[str]) -> list[str]:
    """``spec.candidates`` distinct random secrets from R, none of them a canary's."""
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 0x5EC2]))
    space = 10 ** spec.digits
    wanted = min(spec.candidates, space - len(set(exclude)))
    taken = set(exclude)
    out: list[str] = []
    while len(out) < wanted:
        secret = random_secret(rng, spec.digits)
        if secret not in taken:
            taken.add(secret)
            out.append(secret)
    return out


def inserted_texts(canaries: Sequence[Canary], spec: CanarySpec) -> list[str]:
    """Each canary's text repeated its insertion count (added to the training documents)."""
    return [c.text(spec) for c in canaries for _ in range(c.insertions)]

"""What only the range knows about a language-model target besides membership: which canary
candidate is which canary, and the training documents extraction guesses are checked against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class ExposureTruth:
    """Aligned with the candidates the adversary scores: each canary's insertion count
    (0 = the never-inserted control), -1 for a random fill of the template."""

    insertions: np.ndarray  # int64 [m]
    space_size: int  # |R|: every fill of the template (10 ** digits)

    def __len__(self) -> int:
        return len(self.insertions)


@dataclass(frozen=True, eq=False)
class ExtractionTruth:
    """Training documents (members and canary copies, framed as the model saw them), the
    documents it never trained on, and each canary's secret tokens with its insertion count."""

    training: Sequence[Sequence[int]]
    others: Sequence[Sequence[int]]
    canary_secrets: Sequence[tuple[int, ...]]
    canary_insertions: Sequence[int]
    min_tokens: int
    vocab_size: int

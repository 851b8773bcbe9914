"""Verbatim-memorisation checks for training-data extraction (range side only).

Carlini et al., "Extracting Training Data from Large Language Models", USENIX Security 2021:
a generation counts as extracted when it reproduces training text verbatim. Here a generation
is extracted when it contains an n-token window that occurs in the training documents and in
none of the documents the model never trained on (non-members, the adversary's pool): common
phrases ("click here to read") then do not count as memorisation. Only the range runs this: it
needs the training set, which the adversary never sees.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from leakrange.common.errors import InvalidArgument


def ngrams(doc: Sequence[int], n: int) -> Iterable[tuple[int, ...]]:
    return (tuple(doc[i:i + n]) for i in range(len(doc) - n + 1))


@dataclass(frozen=True)
class ExtractionMatch:
    extracted: bool  # holds a training-only window
    documents: frozenset[int]  # training documents it reproduces windows of


class VerbatimIndex:
    """Training-only n-token windows of a training set, mapped to the documents they come from."""

    def __init__(self, training: Sequence[Sequence[int]], others: Sequence[Sequence[int]],
                 n: int) -> None:
        if n < 2:
            raise InvalidArgument("min_tokens", "must be at least 2")
        self.n = n
        public = {g for doc in others for g in ngrams(doc, n)}
        self._owner: dict[tuple[int, ...], int] = {}
        for index, doc in enumerate(training):
            for g in ngrams(doc, n):
                if g not in public:
                    self._owner.setdefault(g, index)

    def __len__(self) -> int:
        return len(self._owner)

    def match(self, generation: Sequence[int]) -> ExtractionMatch:
        docs = {self._owner[g] for g in ngrams(generation, self.n) if g in self._owner}
        return ExtractionMatch(bool(docs), frozenset(docs))

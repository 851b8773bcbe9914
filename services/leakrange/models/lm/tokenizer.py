"""A byte-level BPE tokenizer trained offline with Hugging Face ``tokenizers``.

Digits are split one per token, so a canary's secret ("4 1 9 ...") is one token per digit and
its candidates are enumerable. Documents are framed ``<bos> tokens <eos>``; ``<pad>`` fills
batches and is never scored. The tokenizer is plain JSON: it travels in the model file and the
Target service's ``Describe``, never as a pickle.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from leakrange.common.errors import InvalidArgument

BOS, EOS, PAD = "<bos>", "<eos>", "<pad>"
MAX_TOKENIZER_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class TextTokenizer:
    """Encode / decode documents; ``bos_id``, ``eos_id`` and ``pad_id`` frame and pad them."""

    tokenizer: Tokenizer
    bos_id: int
    eos_id: int
    pad_id: int

    @classmethod
    def from_tokenizer(cls, tok: Tokenizer, bos: str = BOS, eos: str = EOS, pad: str = PAD
                       ) -> TextTokenizer:
        ids = [tok.token_to_id(t) for t in (bos, eos, pad)]
        if any(i is None for i in ids):
            raise InvalidArgument("tokenizer", "lacks its begin, end or padding token")
        return cls(tok, int(ids[0]), int(ids[1]), int(ids[2]))  # type: ignore[arg-type]

    @classmethod
    def from_json(cls, text: str) -> TextTokenizer:
        """From ``to_json``'s envelope: the tokenizers JSON and the names of its framing tokens."""
        if len(text) > MAX_TOKENIZER_BYTES:
            raise InvalidArgument("tokenizer", "larger than 16 MiB")
        try:
            doc = json.loads(text)
            tok = Tokenizer.from_str(doc["tokenizer"])
            names = (str(doc["bos"]), str(doc["eos"]), str(doc["pad"]))
        except Exception:  # noqa: BLE001 - tokenizers raises a bare Exception on bad JSON
            raise InvalidArgument("tokenizer", "not a tokenizer document") from None
        return cls.from_tokenizer(tok, *names)

    def to_json(self) -> str:
        tok = self.tokenizer
        return json.dumps({"tokenizer": tok.to_str(), "bos": tok.id_to_token(self.bos_id),
                           "eos": tok.id_to_token(self.eos_id),
                           "pad": tok.id_to_token(self.pad_id)})

    @property
    def vocab_size(self) -> int:
        return int(self.tokenizer.get_vocab_size())

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without framing."""
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def frame(self, text: str, context: int) -> list[int]:
        """``<bos> text <eos>`` cut to ``context`` tokens."""
        return ([self.bos_id, *self.encode(text), self.eos_id])[:context]

    def decode(self, ids: Iterable[int]) -> str:
        special = {self.bos_id, self.eos_id, self.pad_id}
        return self.tokenizer.decode([int(i) for i in ids if int(i) not in special and i >= 0])

    def pad_batch(self, docs: Sequence[Sequence[int]], length: int | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Right-padded int64 [n, length] and the int64 [n] lengths."""
        longest = max((len(d) for d in docs), default=1)
        width = max(1, length or longest)
        tokens = np.full((len(docs), width), self.pad_id, dtype=np.int64)
        lengths = np.zeros(len(docs), dtype=np.int64)
        for i, doc in enumerate(docs):
            row = list(doc)[:width]
            tokens[i, :len(row)] = row
            lengths[i] = len(row)
        return tokens, lengths


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> TextTokenizer:
    """A byte-level BPE with ``vocab_size`` entries (digits kept one per token)."""
    if not 300 <= vocab_size <= 65_536:
        raise InvalidArgument("tokenizer.vocab_size", "must be between 300 and 65536")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=[BOS, EOS, PAD], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return TextTokenizer.from_tokenizer(tok)

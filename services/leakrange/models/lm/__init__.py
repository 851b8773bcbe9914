"""Causal language models: the tiny from-scratch transformer (the fast default), its tokenizer,
training, safetensors files, and a pretrained SmolLM2 base for fine-tuned targets."""

from leakrange.models.lm.spec import LM_ZOO, LmRecipe, LmSpec, lm_spec
from leakrange.models.lm.tokenizer import TextTokenizer, train_tokenizer

__all__ = ["LM_ZOO", "LmRecipe", "LmSpec", "TextTokenizer", "lm_spec", "train_tokenizer"]

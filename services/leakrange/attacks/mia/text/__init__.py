"""Attacks on language-model targets: membership (loss, zlib ratio, Min-K%, Min-K%++,
reference-model ratio), canary exposure and training-data extraction."""

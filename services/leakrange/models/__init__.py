"""Model zoo, deterministic trainers (single and batched), and safetensors model files."""

from leakrange.models.batched_trainer import Strategy, resolve_strategy, train_reference_logits
from leakrange.models.device import DEVICE_ENV, pick_device
from leakrange.models.recipe import TrainRecipe
from leakrange.models.safetensors_io import model_from_bytes, model_to_bytes
from leakrange.models.spec import ModelKind, ModelSpec
from leakrange.models.trainer import evaluate_accuracy, predict_logits, train_model
from leakrange.models.zoo import ZOO, build_model, spec_from_name_or_json, validate_spec, zoo_spec

__all__ = [
    "DEVICE_ENV",
    "ZOO",
    "ModelKind",
    "ModelSpec",
    "Strategy",
    "TrainRecipe",
    "build_model",
    "evaluate_accuracy",
    "model_from_bytes",
    "model_to_bytes",
    "pick_device",
    "predict_logits",
    "resolve_strategy",
    "spec_from_name_or_json",
    "train_model",
    "train_reference_logits",
    "validate_spec",
    "zoo_spec",
]

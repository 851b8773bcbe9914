"""The Target service: a trained model served under an access policy enforced server side."""

from leakrange.target.client import PredictOutput, TargetClient, TargetDescription
from leakrange.target.policy import AccessPolicy

__all__ = ["AccessPolicy", "PredictOutput", "TargetClient", "TargetDescription"]

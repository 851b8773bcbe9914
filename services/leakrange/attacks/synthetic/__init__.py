"""Attacks on a released synthetic table (one module each; papers in their docstrings)."""

from __future__ import annotations

from leakrange.attacks.base import Attack
from leakrange.attacks.synthetic.dcr import DistanceToClosestRecord
from leakrange.attacks.synthetic.domias import Domias
from leakrange.attacks.synthetic.inference import AttributeInference
from leakrange.attacks.synthetic.inpainting import Inpainting
from leakrange.attacks.synthetic.linkability import Linkability
from leakrange.attacks.synthetic.singling_out import SinglingOut

SYNTHETIC_ATTACKS: tuple[type[Attack], ...] = (
    SinglingOut, Linkability, AttributeInference, Inpainting, DistanceToClosestRecord, Domias,
)

"""Membership-inference attacks (one module each)."""

from leakrange.attacks.base import Attack
from leakrange.attacks.mia.label_only import LabelOnlyAttack
from leakrange.attacks.mia.lira import LiraAttack
from leakrange.attacks.mia.loss import LossAttack
from leakrange.attacks.mia.population import PopulationAttack
from leakrange.attacks.mia.rmia import RmiaAttack
from leakrange.attacks.mia.shadow import ShadowAttack
from leakrange.attacks.mia.text.exposure import CanaryExposureAttack
from leakrange.attacks.mia.text.extraction import ExtractionAttack
from leakrange.attacks.mia.text.loss import LmLossAttack
from leakrange.attacks.mia.text.min_k import MinKAttack, MinKPlusPlusAttack
from leakrange.attacks.mia.text.reference import LmReferenceAttack
from leakrange.attacks.mia.text.zlib_ratio import ZlibRatioAttack

MIA_ATTACKS: tuple[type[Attack], ...] = (
    LossAttack, PopulationAttack, ShadowAttack, LiraAttack, RmiaAttack, LabelOnlyAttack,
    # Language models (target.text)
    LmLossAttack, ZlibRatioAttack, MinKAttack, MinKPlusPlusAttack, LmReferenceAttack,
    CanaryExposureAttack, ExtractionAttack,
)

__all__ = ["MIA_ATTACKS"]

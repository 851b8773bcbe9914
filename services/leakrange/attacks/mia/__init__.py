"""Membership-inference attacks (one module each)."""

from leakrange.attacks.base import Attack
from leakrange.attacks.mia.label_only import LabelOnlyAttack
from leakrange.attacks.mia.lira import LiraAttack
from leakrange.attacks.mia.loss import LossAttack
from leakrange.attacks.mia.population import PopulationAttack
from leakrange.attacks.mia.rmia import RmiaAttack
from leakrange.attacks.mia.shadow import ShadowAttack

MIA_ATTACKS: tuple[type[Attack], ...] = (
    LossAttack, PopulationAttack, ShadowAttack, LiraAttack, RmiaAttack, LabelOnlyAttack,
)

__all__ = ["MIA_ATTACKS"]

"""Inversion attacks (one module each): reconstructions of class representatives and
inference of a hidden attribute."""

from leakrange.attacks.base import Attack
from leakrange.attacks.inversion.attribute_map import AttributeMapAttack
from leakrange.attacks.inversion.class_inversion import ClassInversionAttack
from leakrange.attacks.inversion.csmia import CsmiaAttack
from leakrange.attacks.inversion.gmi import GmiAttack
from leakrange.attacks.inversion.latent_search import LatentSearchAttack
from leakrange.attacks.inversion.lomia import LomiaAttack

INVERSION_ATTACKS: tuple[type[Attack], ...] = (
    ClassInversionAttack, GmiAttack, LatentSearchAttack, AttributeMapAttack, CsmiaAttack,
    LomiaAttack,
)

__all__ = ["INVERSION_ATTACKS"]

"""Attacks on federated learning (one module each; papers in their docstrings): the adversary
as the server (curious or malicious) or as one client of a Flower federation."""

from __future__ import annotations

from leakrange.attacks.base import Attack
from leakrange.attacks.federated.client_mia import ClientLoss, ClientTrajectory
from leakrange.attacks.federated.dlg import Dlg
from leakrange.attacks.federated.fedavg_inversion import FedAvgInversion
from leakrange.attacks.federated.idlg import Idlg
from leakrange.attacks.federated.inverting_gradients import InvertingGradients
from leakrange.attacks.federated.robbing_the_fed import RobbingTheFed

FEDERATED_ATTACKS: tuple[type[Attack], ...] = (
    Dlg, Idlg, InvertingGradients, FedAvgInversion, RobbingTheFed, ClientLoss, ClientTrajectory,
)

"""Gradient and update inversion against federated learning (domain code: torch only).

Server-side attacks on one client's update, each in its own module with its paper:
``dlg.dlg`` / ``dlg.idlg`` (FedSGD, L-BFGS), ``inverting_gradients.inverting_gradients``
(FedSGD, cosine + TV, signed Adam), ``fedavg_inversion.fedavg_inversion`` (FedAvg, simulated
local steps), ``imprint.imprint_model`` + ``imprint.recover_imprint`` (malicious server,
closed form); label recovery in ``labels``; the benchmark's models in ``models``.
"""

from leakrange.fl_attacks.dlg import DLGParams, dlg, idlg
from leakrange.fl_attacks.fedavg_inversion import FedAvgParams, fedavg_inversion
from leakrange.fl_attacks.imprint import Imprinted, ImprintParams, imprint_model, recover_imprint
from leakrange.fl_attacks.inverting_gradients import IGParams, inverting_gradients
from leakrange.fl_attacks.labels import batch_labels, fedavg_batch_labels, idlg_label
from leakrange.fl_attacks.result import Reconstruction
from leakrange.fl_attacks.updates import (
    GradientUpdate,
    Knowledge,
    LocalTraining,
    WeightDeltaUpdate,
    fedavg_update,
    fedsgd_update,
)

__all__ = [
    "DLGParams", "FedAvgParams", "GradientUpdate", "IGParams", "ImprintParams", "Imprinted",
    "Knowledge", "LocalTraining", "Reconstruction", "WeightDeltaUpdate", "batch_labels", "dlg",
    "fedavg_batch_labels", "fedavg_inversion", "fedavg_update", "fedsgd_update", "idlg",
    "idlg_label", "imprint_model", "inverting_gradients", "recover_imprint",
]

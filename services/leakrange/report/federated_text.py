"""What a report says about the attacker of a federated target: its FL role and the setting,
instead of the model-API wording of a served model (the adversary of a federation never
queries an API; it sees what its role in the run let it see)."""

from __future__ import annotations

from typing import Any


def _rounds(setting: dict[str, Any]) -> str:
    observed = setting.get("observed_rounds")
    total = int(setting.get("rounds", 0))
    if observed and len(observed) < total:
        return f"rounds {', '.join(str(r) for r in observed)} of {total}"
    return f"all {total} round{'s' if total != 1 else ''}"


def federated_phrase(setting: dict[str, Any]) -> str:
    """Completes "An attacker ..." for a federated target's verdict."""
    role = setting.get("role")
    clients = int(setting.get("clients", 0))
    if role == "honest_server":
        return (f"running the federation's server honestly but curiously (it sees the global "
                f"model and each of the {clients} clients' updates in {_rounds(setting)})")
    if role == "malicious_server":
        return (f"running a malicious federation server (it sends a crafted model in round "
                f"{setting.get('crafted_round', 1)} and sees each of the {clients} clients' "
                f"updates in {_rounds(setting)})")
    return (f"taking part as client {setting.get('adversary_client', 0)} of the {clients} "
            f"(it holds its own records and sees only the global models its node received)")


def federated_description(setting: dict[str, Any]) -> str:
    """The threat model section's text for a federated target."""
    role = setting.get("role")
    steps = int(setting.get("local_steps", 0))
    how = ("FedSGD: each client's update is one gradient step"
           if setting.get("fedsgd") else f"FedAvg: {steps} local steps per client and round")
    base = (f"The target is a {setting.get('framework', 'flower').title()} federation of "
            f"{setting.get('clients')} clients ({setting.get('partition')} partition, "
            f"{setting.get('records_per_client')} records each, {setting.get('rounds')} rounds; "
            f"{how}, batch {setting.get('batch_size')}, learning rate {setting.get('lr')}). ")
    if role in ("honest_server", "malicious_server"):
        base += (f"The attacker is the federation's server: it sees the global model and every "
                 f"client's returned weights in {_rounds(setting)}, and holds none of the "
                 f"clients' records. ")
        if role == "malicious_server":
            base += (f"It is malicious: in round {setting.get('crafted_round', 1)} it sends the "
                     f"clients a crafted model instead of the global one. ")
        else:
            base += "It follows the protocol (honest but curious). "
        if setting.get("labels_known"):
            base += ("It is also given the true labels of the records behind each update "
                     "(labels known to the attacker), so it recovers no labels itself. ")
    else:
        base += (f"The attacker is client {setting.get('adversary_client', 0)}: it holds its "
                 f"own records and sees only the global models its node received, never "
                 f"another client's update. ")
    return base + "It queries no model API."

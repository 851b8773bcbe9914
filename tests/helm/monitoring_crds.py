"""Schemas of the prometheus-operator custom resources the control-plane chart renders.

kubernetes-validate has no schemas for custom resources, and no CRD can be installed here (no API
server), so the objects are checked against these hand-written JSON schemas: the fields and
constraints of the monitoring.coreos.com/v1 ServiceMonitor and PodMonitor CRDs (openAPIV3Schema
of prometheus-operator 0.9x) for the parts the chart uses, closed (``additionalProperties:
false``) so that a misspelt field fails here instead of being pruned silently by the API server.
Metadata is validated with the real ObjectMeta schema through a stand-in ConfigMap.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import kubernetes_validate

# Prometheus duration (monitoringv1.Duration).
DURATION = {"type": "string",
            "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?"
                       r"(([0-9]+)s)?(([0-9]+)ms)?)$"}
LABEL_SELECTOR = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["key", "operator"],
            "properties": {"key": {"type": "string"},
                           "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                           "values": {"type": "array", "items": {"type": "string"}}}}},
    },
}
NAMESPACE_SELECTOR = {"type": "object", "additionalProperties": False,
                      "properties": {"any": {"type": "boolean"},
                                     "matchNames": {"type": "array",
                                                    "items": {"type": "string"}}}}
ENDPOINT = {
    "type": "object", "additionalProperties": False,
    "properties": {"port": {"type": "string", "minLength": 1}, "path": {"type": "string"},
                   "interval": DURATION, "scrapeTimeout": DURATION,
                   "scheme": {"enum": ["http", "https", "HTTP", "HTTPS"]}},
    "required": ["port"],
}


def _monitor(kind: str, endpoints_key: str) -> dict[str, Any]:
    return {
        "type": "object", "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": kind},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object", "additionalProperties": False,
                "required": ["selector", endpoints_key],
                "properties": {"selector": LABEL_SELECTOR,
                               "namespaceSelector": NAMESPACE_SELECTOR,
                               "jobLabel": {"type": "string"},
                               endpoints_key: {"type": "array", "minItems": 1,
                                               "items": ENDPOINT}},
            },
        },
    }


SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): _monitor("ServiceMonitor", "endpoints"),
    ("monitoring.coreos.com/v1", "PodMonitor"): _monitor("PodMonitor", "podMetricsEndpoints"),
}


def validate_custom_resource(doc: dict[str, Any], kubernetes_version: str) -> None:
    """Raise if ``doc`` breaks its CRD schema above or has invalid metadata."""
    jsonschema.validate(doc, SCHEMAS[(doc["apiVersion"], doc["kind"])])
    kubernetes_validate.validate({"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": doc["metadata"]}, kubernetes_version, strict=True)

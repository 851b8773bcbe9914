"""The Kubernetes API calls of the range backend (official ``kubernetes`` client).

Objects come back as the API's JSON (camelCase dicts) so ``pod_watch`` can classify them without
the client's model classes. Label selectors are also applied here, on the client side, so a
listing can never return another exercise's objects. API failures become ``Unavailable`` with the
call and the HTTP status only: a response body may echo the request, and a request may carry a
token.
"""

from __future__ import annotations

import base64
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from leakrange.common.errors import Unavailable
from leakrange.orchestrator.kubernetes.names import (
    COMPONENT_LABEL,
    EXERCISE_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    exercise_selector,
)

TOKENS_COMPONENT = "exercise-tokens"
CLIENT_TOKENS_KEY = "client-tokens"
SERVICE_TOKEN_KEY = "service-token"  # noqa: S105 - a key name, not a secret
REQUEST_TIMEOUT_S = 30.0


def load_api_client(kubeconfig: str | None = None, context: str | None = None) -> client.ApiClient:
    """In a pod: its service account; elsewhere: the kubeconfig (``KUBECONFIG`` or ~/.kube)."""
    configuration = client.Configuration()
    if kubeconfig is None and context is None:
        try:
            config.load_incluster_config(client_configuration=configuration)
            return client.ApiClient(configuration)
        except ConfigException:
            pass
    try:
        config.load_kube_config(config_file=kubeconfig, context=context,
                                client_configuration=configuration)
    except (ConfigException, OSError):
        raise Unavailable(
            "no Kubernetes configuration: run the orchestrator in a pod or set KUBECONFIG"
        ) from None
    return client.ApiClient(configuration)


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return obj.get("metadata", {}).get("labels") or {}


class ExerciseCluster:
    """Pods, events and token Secrets of exercises in one namespace."""

    def __init__(self, api_client: client.ApiClient, namespace: str) -> None:
        self._client = api_client
        self._core = client.CoreV1Api(api_client)
        self.namespace = namespace

    @property
    def api_client(self) -> client.ApiClient:
        """The API client these calls use (for other namespaced objects, e.g. Jobs)."""
        return self._client

    def _json(self, obj: Any) -> dict[str, Any]:
        data = self._client.sanitize_for_serialization(obj)
        return data if isinstance(data, dict) else {}

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, _request_timeout=REQUEST_TIMEOUT_S, **kwargs)
        except client.ApiException as err:
            raise Unavailable(f"kubernetes API: {what} failed ({err.status} {err.reason})"
                              ) from None
        except urllib3.exceptions.HTTPError:
            raise Unavailable(f"kubernetes API: {what} failed (API server unreachable)"
                              ) from None

    # ---------------------------------------------------------------- pods

    def pods(self, exercise_id: str) -> list[dict[str, Any]]:
        listing = self._call("list pods", self._core.list_namespaced_pod, self.namespace,
                             label_selector=exercise_selector(exercise_id))
        pods = [self._json(p) for p in listing.items]
        return [p for p in pods if _labels(p).get(EXERCISE_LABEL) == exercise_id]

    def warning_events(self) -> list[dict[str, Any]]:
        listing = self._call("list events", self._core.list_namespaced_event, self.namespace,
                             field_selector="type=Warning,reason=FailedCreate")
        events = [self._json(e) for e in listing.items]
        return [e for e in events if e.get("type") == "Warning"]

    # ------------------------------------------------------------- secrets

    def put_tokens_secret(self, name: str, exercise_id: str, client_tokens: str,
                          service_token: str) -> None:
        """Create the exercise's tokens Secret, or overwrite its keys if it exists."""
        labels = {
            EXERCISE_LABEL: exercise_id,
            MANAGED_BY_LABEL: MANAGED_BY,
            COMPONENT_LABEL: TOKENS_COMPONENT,
            "app.kubernetes.io/part-of": "leakrange",
        }
        data: dict[str, bytes | str] = {
            CLIENT_TOKENS_KEY: base64.b64encode(client_tokens.encode()).decode(),
            SERVICE_TOKEN_KEY: base64.b64encode(service_token.encode()).decode(),
        }
        body = client.V1Secret(
            api_version="v1", kind="Secret", type="Opaque", data=data,
            metadata=client.V1ObjectMeta(name=name, namespace=self.namespace, labels=labels),
        )
        try:
            self._core.create_namespaced_secret(self.namespace, body,
                                                _request_timeout=REQUEST_TIMEOUT_S)
            return
        except client.ApiException as err:
            if err.status != 409:
                raise Unavailable(f"kubernetes API: create secret failed ({err.status} "
                                  f"{err.reason})") from None
        except urllib3.exceptions.HTTPError:
            raise Unavailable("kubernetes API: create secret failed (API server unreachable)"
                              ) from None
        self._call("update secret", self._core.patch_namespaced_secret, name, self.namespace,
                   {"metadata": {"labels": labels}, "data": data})

    def delete_secret(self, name: str) -> None:
        """Delete a Secret; one that is already gone is fine."""
        try:
            self._core.delete_namespaced_secret(name, self.namespace,
                                                _request_timeout=REQUEST_TIMEOUT_S)
        except client.ApiException as err:
            if err.status != 404:
                raise Unavailable(f"kubernetes API: delete secret failed ({err.status} "
                                  f"{err.reason})") from None
        except urllib3.exceptions.HTTPError:
            raise Unavailable("kubernetes API: delete secret failed (API server unreachable)"
                              ) from None

    def tokens_secrets(self) -> dict[str, str]:
        """Secret name -> exercise id of every tokens Secret the orchestrator created here."""
        selector = f"{MANAGED_BY_LABEL}={MANAGED_BY},{COMPONENT_LABEL}={TOKENS_COMPONENT}"
        listing = self._call("list secrets", self._core.list_namespaced_secret, self.namespace,
                             label_selector=selector)
        found: dict[str, str] = {}
        for secret in listing.items:
            meta = secret.metadata
            labels = meta.labels or {}
            if (labels.get(MANAGED_BY_LABEL) == MANAGED_BY
                    and labels.get(COMPONENT_LABEL) == TOKENS_COMPONENT
                    and labels.get(EXERCISE_LABEL)):
                found[meta.name] = labels[EXERCISE_LABEL]
        return found

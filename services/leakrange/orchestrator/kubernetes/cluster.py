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
from leakrange.orchestrator.kubernetes.api_call import REQUEST_TIMEOUT_S, api_call
from leakrange.orchestrator.kubernetes.names import (
    COMPONENT_LABEL,
    EXERCISE_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    client_tokens_key,
    exercise_of_tokens_key,
    exercise_selector,
    service_token_key,
)

TOKENS_COMPONENT = "exercise-tokens"


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

    # ---------------------------------------------------------------- pods

    def pods(self, exercise_id: str) -> list[dict[str, Any]]:
        listing = api_call("list pods", self._core.list_namespaced_pod, self.namespace,
                             label_selector=exercise_selector(exercise_id))
        pods = [self._json(p) for p in listing.items]
        return [p for p in pods if _labels(p).get(EXERCISE_LABEL) == exercise_id]

    def warning_events(self) -> list[dict[str, Any]]:
        listing = api_call("list events", self._core.list_namespaced_event, self.namespace,
                             field_selector="type=Warning,reason=FailedCreate")
        events = [self._json(e) for e in listing.items]
        return [e for e in events if e.get("type") == "Warning"]

    # ------------------------------------------------------------- secrets
    # Every exercise's tokens live in ONE Secret (``names.DEFAULT_TOKENS_SECRET`` or the name the
    # control-plane chart passes), two keys per exercise, so the orchestrator's Role can name it
    # (resourceNames: get, patch) and read no other Secret. Keys are added and removed with
    # strategic-merge patches of ``data``: concurrent exercises never overwrite each other.

    def put_exercise_tokens(self, secret: str, exercise_id: str, client_tokens: str,
                            service_token: str) -> None:
        """Set the exercise's two keys in the tokens Secret (created when it does not exist, as
        for an orchestrator outside the chart; in the chart it exists and create is not granted)."""
        data: dict[str, bytes | str] = {
            client_tokens_key(exercise_id): _b64(client_tokens),
            service_token_key(exercise_id): _b64(service_token),
        }
        try:
            self._core.patch_namespaced_secret(secret, self.namespace, {"data": data},
                                               _request_timeout=REQUEST_TIMEOUT_S)
            return
        except client.ApiException as err:
            if err.status != 404:
                raise Unavailable(f"kubernetes API: update tokens secret failed ({err.status} "
                                  f"{err.reason})") from None
        except urllib3.exceptions.HTTPError:
            raise Unavailable("kubernetes API: update tokens secret failed (API server "
                              "unreachable)") from None
        body = client.V1Secret(
            api_version="v1", kind="Secret", type="Opaque", data=data,
            metadata=client.V1ObjectMeta(name=secret, namespace=self.namespace, labels={
                MANAGED_BY_LABEL: MANAGED_BY, COMPONENT_LABEL: TOKENS_COMPONENT,
                "app.kubernetes.io/part-of": "leakrange"}),
        )
        try:
            self._core.create_namespaced_secret(self.namespace, body,
                                                _request_timeout=REQUEST_TIMEOUT_S)
        except client.ApiException as err:
            if err.status != 409:  # another exercise created it meanwhile: patch it
                raise Unavailable(f"kubernetes API: create tokens secret failed ({err.status} "
                                  f"{err.reason})") from None
            api_call("update tokens secret", self._core.patch_namespaced_secret, secret,
                       self.namespace, {"data": data})
        except urllib3.exceptions.HTTPError:
            raise Unavailable("kubernetes API: create tokens secret failed (API server "
                              "unreachable)") from None

    def delete_exercise_tokens(self, secret: str, exercise_id: str) -> None:
        """Remove the exercise's keys; keys or a Secret that are already gone are fine."""
        keys = {client_tokens_key(exercise_id): None, service_token_key(exercise_id): None}
        api_call("update tokens secret", self._core.patch_namespaced_secret, secret,
                 self.namespace, {"data": keys}, ok_statuses=(404,))

    def exercises_with_tokens(self, secret: str) -> set[str]:
        """Ids of the exercises whose keys are in the tokens Secret (none if it is missing)."""
        try:
            found = self._core.read_namespaced_secret(secret, self.namespace,
                                                      _request_timeout=REQUEST_TIMEOUT_S)
        except client.ApiException as err:
            if err.status == 404:
                return set()
            raise Unavailable(f"kubernetes API: read tokens secret failed ({err.status} "
                              f"{err.reason})") from None
        except urllib3.exceptions.HTTPError:
            raise Unavailable("kubernetes API: read tokens secret failed (API server "
                              "unreachable)") from None
        ids = {exercise_of_tokens_key(key) for key in (found.data or {})}
        return {i for i in ids if i is not None}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()

"""Names of what one exercise owns in the cluster (they follow ``helm/leakrange-exercise``).

The orchestrator's exercise id is used as is: it is the chart's ``exercise.id``, the value of the
``leakrange.io/exercise`` label and part of every object name (``ex-<id>-*``), so
``kubectl get pods -l leakrange.io/exercise=<id>`` finds the pods of the id a user was given.
"""

from __future__ import annotations

import re

from leakrange.common.errors import InvalidArgument

EXERCISE_LABEL = "leakrange.io/exercise"
FAMILY_LABEL = "leakrange.io/family"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "leakrange-orchestrator"
RELEASE_PREFIX = "ex-"
GRPC_PORT = 50051

# The chart's exercise.id rule (validateValues and values.schema.json).
_EXERCISE_ID = re.compile(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")


def check_exercise_id(exercise_id: str) -> str:
    """``exercise_id`` if it is DNS-safe (lower case, digits, '-', at most 40 characters)."""
    if not _EXERCISE_ID.match(exercise_id):
        raise InvalidArgument(
            "exercise_id", "must be lower-case letters, digits and '-', at most 40 characters"
        )
    return exercise_id


def release_name(exercise_id: str) -> str:
    """Helm release of the exercise; also the prefix of every object the chart creates."""
    return RELEASE_PREFIX + check_exercise_id(exercise_id)


def exercise_of_release(release: str) -> str | None:
    """The exercise id of an ``ex-<id>`` release, or ``None`` for any other release."""
    if not release.startswith(RELEASE_PREFIX):
        return None
    exercise_id = release[len(RELEASE_PREFIX):]
    return exercise_id if _EXERCISE_ID.match(exercise_id) else None


# The one Secret that holds every exercise's tokens, two keys per exercise. One fixed name lets the
# orchestrator's Role name it (resourceNames) instead of reading every Secret of the namespace;
# the control-plane chart creates it (empty) and passes its name (LEAKRANGE_TOKENS_SECRET).
DEFAULT_TOKENS_SECRET = "leakrange-exercise-tokens"  # noqa: S105 - a Secret's name
CLIENT_TOKENS_SUFFIX = ".client-tokens"
SERVICE_TOKEN_SUFFIX = ".service-token"  # noqa: S105 - a key suffix


def client_tokens_key(exercise_id: str) -> str:
    """Key of the target's ``principal:token,...`` list of the exercise in the tokens Secret."""
    return check_exercise_id(exercise_id) + CLIENT_TOKENS_SUFFIX


def service_token_key(exercise_id: str) -> str:
    """Key of the token the exercise's adversary services require from the orchestrator."""
    return check_exercise_id(exercise_id) + SERVICE_TOKEN_SUFFIX


def exercise_of_tokens_key(key: str) -> str | None:
    """The exercise id of a tokens-Secret key, or ``None`` for any other key."""
    for suffix in (CLIENT_TOKENS_SUFFIX, SERVICE_TOKEN_SUFFIX):
        if key.endswith(suffix):
            exercise_id = key[: -len(suffix)]
            return exercise_id if _EXERCISE_ID.match(exercise_id) else None
    return None


def tokens_secret_ref(secret_name: str, exercise_id: str) -> dict[str, str]:
    """The exercise chart's ``target.tokensSecret``: the shared Secret and this exercise's keys."""
    return {"name": secret_name, "clientTokensKey": client_tokens_key(exercise_id),
            "serviceTokenKey": service_token_key(exercise_id)}


def service_address(exercise_id: str, component: str, namespace: str,
                    port: int = GRPC_PORT) -> str:
    """``host:port`` of an exercise Service: ``component`` is ``target`` or a family."""
    return f"{release_name(exercise_id)}-{component}.{namespace}.svc:{port}"


def exercise_selector(exercise_id: str) -> str:
    """Label selector of every object of the exercise."""
    return f"{EXERCISE_LABEL}={exercise_id}"

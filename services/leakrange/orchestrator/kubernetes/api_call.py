"""One Kubernetes API call with the range's timeout and its errors as ``Unavailable``.

Every call the orchestrator makes goes through ``api_call``: a refused call becomes
"kubernetes API: <what> failed (<status> <reason>)", an unreachable server "... failed (API
server unreachable)", and neither carries the request's body. ``ok_statuses`` are answers the
caller expects (404 when deleting what may be gone, 409 when creating what may exist): the call
then returns None.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import urllib3
from kubernetes import client

from leakrange.common.errors import Unavailable

REQUEST_TIMEOUT_S = 30.0


def api_call(what: str, fn: Callable[..., Any], *args: Any,
             ok_statuses: Collection[int] = (), **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with ``REQUEST_TIMEOUT_S``; None for a status in ``ok_statuses``."""
    try:
        return fn(*args, _request_timeout=REQUEST_TIMEOUT_S, **kwargs)
    except client.ApiException as err:
        if err.status in ok_statuses:
            return None
        raise Unavailable(f"kubernetes API: {what} failed ({err.status} {err.reason})"
                          ) from None
    except urllib3.exceptions.HTTPError:
        raise Unavailable(f"kubernetes API: {what} failed (API server unreachable)") from None

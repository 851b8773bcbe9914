"""Attack parameters that cannot be parsed safely are INVALID_ARGUMENT, not INTERNAL."""

from __future__ import annotations

import grpc
import pytest

from leakrange.v1 import attack_pb2


@pytest.mark.parametrize(("params", "problem"), [
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ('{"a": "' + "x" * 70_000 + '"}', "larger than"),
    ("{not json", "not a JSON object"),
])
def test_hostile_params_json_is_invalid_argument(attack_server, params: str, problem: str
                                                 ) -> None:
    request = attack_pb2.RunRequest(run_id="p", attack="loss", params_json=params)
    with pytest.raises(grpc.RpcError) as err:
        list(attack_server.Run(request))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert problem in err.value.details()

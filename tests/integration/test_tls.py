"""TLS and mutual TLS on the shared server factory and client channel helper, over real gRPC on
loopback, with a CA and certificates generated here (the `cryptography` package of the lock)."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from leakrange.common.client import ChannelTLS, open_channel
from leakrange.common.errors import InvalidArgument
from leakrange.common.server import ServerOptions, ServiceBinding, build_server
from leakrange.v1 import target_pb2, target_pb2_grpc


class _Target(target_pb2_grpc.TargetServicer):
    def Describe(self, request, context):
        return target_pb2.TargetInfo(model_kind="mlp")


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(folder: Path, stem: str, cn: str, ca: tuple | None, server: bool) -> tuple:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = (ca[0].subject, ca[1]) if ca else (_name(cn), key)
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca is None, path_length=None),
                              critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    (folder / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{stem}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    ca = _issue(folder, "ca", "leakrange test CA", None, server=False)
    _issue(folder, "server", "localhost", ca, server=True)
    _issue(folder, "client", "orchestrator", ca, server=False)
    other = _issue(folder, "other-ca", "someone else", None, server=False)
    _issue(folder, "stranger", "stranger", other, server=False)
    return folder


def _serve(pki: Path, mutual: bool):
    binding = ServiceBinding(target_pb2.DESCRIPTOR.services_by_name["Target"], _Target(),
                             target_pb2_grpc.add_TargetServicer_to_server)
    options = ServerOptions(port=0, grace_seconds=0, tls_cert_file=str(pki / "server.crt"),
                            tls_key_file=str(pki / "server.key"),
                            tls_client_ca_file=str(pki / "ca.crt") if mutual else None)
    return build_server([binding], options).start()


def _describe(channel: grpc.Channel) -> str:
    return target_pb2_grpc.TargetStub(channel).Describe(target_pb2.DescribeRequest(),
                                                        timeout=10).model_kind


def test_tls_server_answers_a_client_that_verifies_it(pki: Path) -> None:
    server = _serve(pki, mutual=False)
    try:
        tls = ChannelTLS(str(pki / "ca.crt"))
        assert _describe(open_channel(f"localhost:{server.port}", tls=tls)) == "mlp"
        with pytest.raises(grpc.RpcError) as err:  # plaintext clients get no answer
            _describe(open_channel(f"localhost:{server.port}", tls=None))
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        with pytest.raises(grpc.RpcError):  # a server not signed by the client's CA is refused
            _describe(open_channel(f"localhost:{server.port}",
                                   tls=ChannelTLS(str(pki / "other-ca.crt"))))
    finally:
        server.stop(0)


def test_mutual_tls_refuses_clients_without_a_certificate_from_the_ca(pki: Path) -> None:
    server = _serve(pki, mutual=True)
    address = f"localhost:{server.port}"
    try:
        good = ChannelTLS(str(pki / "ca.crt"), str(pki / "client.crt"), str(pki / "client.key"))
        assert _describe(open_channel(address, tls=good)) == "mlp"
        for tls in (ChannelTLS(str(pki / "ca.crt")),
                    ChannelTLS(str(pki / "ca.crt"), str(pki / "stranger.crt"),
                               str(pki / "stranger.key"))):
            with pytest.raises(grpc.RpcError) as err:
                _describe(open_channel(address, tls=tls))
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop(0)


def test_client_tls_from_the_environment(pki: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = _serve(pki, mutual=True)
    try:
        monkeypatch.setenv("LEAKRANGE_CLIENT_TLS_CA", str(pki / "ca.crt"))
        monkeypatch.setenv("LEAKRANGE_CLIENT_TLS_CERT", str(pki / "client.crt"))
        monkeypatch.setenv("LEAKRANGE_CLIENT_TLS_KEY", str(pki / "client.key"))
        monkeypatch.setenv("LEAKRANGE_CLIENT_TLS_SERVER_NAME", "localhost")
        assert _describe(open_channel(f"127.0.0.1:{server.port}")) == "mlp"
    finally:
        server.stop(0)


@pytest.mark.parametrize("fields, option", [
    ({"tls_cert_file": "server.crt"}, "tls_key"),
    ({"tls_key_file": "server.key"}, "tls_cert"),
    ({"tls_client_ca_file": "ca.crt"}, "tls_client_ca"),
    ({"tls_cert_file": "missing.crt", "tls_key_file": "server.key"}, "tls_cert"),
    ({"tls_cert_file": "server.crt", "tls_key_file": "not-pem.key"}, "tls_key"),
])
def test_incomplete_or_unreadable_tls_settings_name_the_option(
    pki: Path, fields: dict[str, str], option: str
) -> None:
    (pki / "not-pem.key").write_text("secret-material-that-must-not-leak")
    binding = ServiceBinding(target_pb2.DESCRIPTOR.services_by_name["Target"], _Target(),
                             target_pb2_grpc.add_TargetServicer_to_server)
    options = ServerOptions(port=0, **{k: str(pki / v) for k, v in fields.items()})
    with pytest.raises(InvalidArgument) as err:
        build_server([binding], options)
    assert str(err.value).startswith(option)
    assert "secret-material" not in str(err.value)


def test_a_tls_server_answers_plaintext_health_probes_on_its_health_port_only(pki: Path) -> None:
    """Kubelet's native gRPC probes cannot do TLS: the health port serves grpc.health.v1 in
    plaintext with the main port's states, and nothing else."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    binding = ServiceBinding(target_pb2.DESCRIPTOR.services_by_name["Target"], _Target(),
                             target_pb2_grpc.add_TargetServicer_to_server)
    options = ServerOptions(port=0, grace_seconds=0, tls_cert_file=str(pki / "server.crt"),
                            tls_key_file=str(pki / "server.key"),
                            tls_client_ca_file=str(pki / "ca.crt"), health_port=0)
    server = build_server([binding], options)
    assert server.health_port and server.health_port != server.port
    probe = grpc.insecure_channel(f"127.0.0.1:{server.health_port}")
    check = health_pb2_grpc.HealthStub(probe).Check
    server.start()
    try:
        for name in ("", "leakrange.v1.Target"):
            reply = check(health_pb2.HealthCheckRequest(service=name), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as err:  # the probe port serves health only
            _describe(probe)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
        with pytest.raises(grpc.RpcError) as err:  # the main port still wants mutual TLS
            health_pb2_grpc.HealthStub(grpc.insecure_channel(f"127.0.0.1:{server.port}")).Check(
                health_pb2.HealthCheckRequest(), timeout=10)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        server.health.enter_graceful_shutdown()  # draining shows on the probe port at once
        reply = check(health_pb2.HealthCheckRequest(), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        server.stop(0)
        probe.close()
    with pytest.raises(InvalidArgument, match="health_port"):
        build_server([binding], ServerOptions(port=50999, health_port=50999))

"""tls_check against a real nginx serving certificates that expire at chosen dates."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.nginx_tls import NginxTLS
from tests.harness import Target, make_ctx, run_module


def _probe(target: Target, server: NginxTLS, name: str, **extra: Any) -> Any:
    args = {"host": "127.0.0.1", "port": server.https_port, "server_name": name,
            "ca_file": str(server.ca_file)} | extra
    return run_module("tls_check", make_ctx(target), args)


@pytest.mark.parametrize(("name", "status"), [
    ("good.test", "ok"), ("soon.test", "warn"), ("critical.test", "fail"),
    ("expired.test", "fail"),
])
def test_days_left_against_thresholds(nginx_tls: NginxTLS, name: str, status: str,
                                      tmp_path: Any) -> None:
    from runbook_engine.connection.local import LocalConnection

    local = Target("localhost", LocalConnection(), str(tmp_path))
    result = _probe(local, nginx_tls, name)
    check = result.data["check"]
    assert check["status"] == status, result.msg
    assert result.failed is (status == "fail")
    tls = result.data["tls"]
    assert tls["fingerprint_sha256"] == nginx_tls.fingerprints[name]
    assert tls["sans"] == [name]
    assert tls["hostname_match"] is True
    assert "runbook test CA" in tls["issuer"]


def test_good_certificate_facts(nginx_tls: NginxTLS, target: Target) -> None:
    result = _probe(target, nginx_tls, "good.test")
    tls = result.data["tls"]
    assert not result.failed
    assert 89 < tls["days_left"] <= 90
    assert tls["chain_verified"] is True and tls["verify_error"] is None
    assert result.data["check"]["value"] == tls["days_left"]
    assert result.data["check"]["threshold"] == {"warn_days": 30, "fail_days": 7}


def test_expired_chain_is_reported_as_untrusted(nginx_tls: NginxTLS, target: Target) -> None:
    result = _probe(target, nginx_tls, "expired.test")
    assert result.failed
    assert "expired" in result.data["check"]["detail"]
    assert result.data["tls"]["chain_verified"] is False


def test_self_signed_fails_verification_but_dates_are_read(nginx_tls: NginxTLS,
                                                          target: Target) -> None:
    result = _probe(target, nginx_tls, "selfsigned.test")
    assert result.failed
    assert "chain not trusted" in result.msg
    assert "self" in result.data["tls"]["verify_error"].lower()
    unverified = _probe(target, nginx_tls, "selfsigned.test", verify_chain=False)
    assert not unverified.failed, unverified.msg


def test_name_mismatch_from_the_default_server(nginx_tls: NginxTLS, target: Target) -> None:
    result = _probe(target, nginx_tls, "unknown.test")
    assert result.failed
    assert result.data["tls"]["hostname_match"] is False
    assert "unknown.test not in default.test" in result.msg


def test_expected_fingerprint_catches_a_stale_certificate(nginx_tls: NginxTLS,
                                                         target: Target) -> None:
    stale = _probe(target, nginx_tls, "good.test",
                   expect_fingerprint=nginx_tls.fingerprints["soon.test"], wait=0.5)
    assert stale.failed and "not the expected one" in stale.msg
    rejected = _probe(target, nginx_tls, "good.test",
                      reject_fingerprint=nginx_tls.fingerprints["good.test"])
    assert rejected.failed and "old certificate is still served" in rejected.msg



class _AlternatingTLSServer:
    """A loopback TLS server that serves certificate A on odd connections and B on even
    ones, like nginx while a reload's old and new workers both accept."""

    def __init__(self, tmp_path: Any, a: tuple[bytes, bytes], b: tuple[bytes, bytes]) -> None:
        import socket
        import ssl
        import threading

        self.contexts = []
        for label, (cert, key) in (("a", a), ("b", b)):
            (tmp_path / f"{label}.crt").write_bytes(cert)
            (tmp_path / f"{label}.key").write_bytes(key)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tmp_path / f"{label}.crt", tmp_path / f"{label}.key")
            self.contexts.append(context)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        import contextlib
        import ssl

        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return  # closed
            context = self.contexts[self.connections % 2]
            self.connections += 1
            with contextlib.suppress(OSError, ssl.SSLError), \
                    context.wrap_socket(sock, server_side=True) as tls:
                tls.recv(1)  # until the client hangs up

    def close(self) -> None:
        self.listener.close()
        self.thread.join(5)


def test_the_certificate_verified_is_the_one_described(nginx_tls: NginxTLS, target: Target,
                                                       tmp_path: Any) -> None:
    """Right after a reload one connection may reach a new worker and the next an old one:
    the expected (trusted) certificate must not be reported untrusted because a second
    handshake met the old (untrusted) one."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    new = nginx_tls.ca.issue(("alt.test",), 90)
    old = nginx_tls.ca.issue(("alt.test",), 1, self_signed=True)
    expected = x509.load_pem_x509_certificate(new[0]).fingerprint(hashes.SHA256()).hex()
    server = _AlternatingTLSServer(tmp_path, new, old)
    try:
        result = run_module("tls_check", make_ctx(target), {
            "host": "127.0.0.1", "port": server.port, "server_name": "alt.test",
            "ca_file": str(nginx_tls.ca_file), "expect_fingerprint": expected, "wait": 5})
    finally:
        server.close()
    assert not result.failed, result.msg
    assert result.data["tls"]["fingerprint_sha256"] == expected
    assert result.data["tls"]["chain_verified"] is True

def test_nothing_listening_is_a_clear_failure(target: Target) -> None:
    from tests.fixtures._processes import free_port

    result = run_module("tls_check", make_ctx(target), {"host": "127.0.0.1",
                                                         "port": free_port()})
    assert result.failed
    assert "could not complete a TLS handshake with 127.0.0.1" in result.msg


def test_certificate_file_on_the_host(nginx_tls: NginxTLS, target: Target) -> None:
    cert_pem, _ = nginx_tls.ca.issue(("files.test", "www.files.test"), 20)
    path = f"{target.scratch}/fullchain.pem"
    written = target.conn.run(f"cat > {path}", stdin=cert_pem + nginx_tls.ca.pem())
    assert written.rc == 0
    result = run_module("tls_check", make_ctx(target), {
        "path": path, "ca_file": str(nginx_tls.ca_file), "server_name": "www.files.test"})
    assert result.data["check"]["status"] == "warn", result.msg
    assert result.data["tls"]["sans"] == ["files.test", "www.files.test"]
    assert result.data["tls"]["chain_verified"] is True
    untrusted = run_module("tls_check", make_ctx(target), {"path": path})
    assert untrusted.failed and "chain not trusted" in untrusted.msg
    missing = run_module("tls_check", make_ctx(target), {"path": f"{path}.nope"})
    assert missing.failed and "could not read" in missing.msg


def test_probe_from_the_host_with_openssl(nginx_tls: NginxTLS, target: Target) -> None:
    soon = _probe(target, nginx_tls, "soon.test", from_host=True)
    assert soon.data["check"]["status"] == "warn", soon.msg
    assert soon.data["tls"]["fingerprint_sha256"] == nginx_tls.fingerprints["soon.test"]
    assert soon.data["tls"]["chain_verified"] is True
    assert "from " + target.name in soon.data["check"]["name"]
    selfsigned = _probe(target, nginx_tls, "selfsigned.test", from_host=True)
    assert selfsigned.failed and "chain not trusted" in selfsigned.msg
    from tests.fixtures._processes import free_port

    closed = _probe(target, nginx_tls, "good.test", from_host=True, port=free_port())
    assert closed.failed and "openssl s_client on the host got no certificate" in closed.msg

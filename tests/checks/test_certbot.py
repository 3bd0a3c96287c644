"""certbot against Debian's pebble with real http-01 validation through a real nginx:
issue, renew a short-lived certificate, reload nginx and re-probe what it serves."""

from __future__ import annotations

from typing import Any

import pytest

from runbook_engine.modules.base import Become, Result
from tests.fixtures.nginx_tls import ACME_NAMES, NginxTLS
from tests.fixtures.pebble import Pebble
from tests.harness import Target, make_ctx, run_module

pytestmark = pytest.mark.slow


def _ctx(target: Target, check: bool = False) -> Any:
    # certbot and the nginx files belong to root: over SSH the test user becomes root
    become = None if target.name == "localhost" else Become()
    return make_ctx(target, check=check, become=become)


def _args(target: Target, pebble: Pebble, nginx: NginxTLS, **extra: Any) -> dict[str, Any]:
    base = f"{target.scratch}/letsencrypt"
    hook = (f'cp "$RENEWED_LINEAGE/privkey.pem" {nginx.acme_key} && '
            f'cp "$RENEWED_LINEAGE/fullchain.pem" {nginx.acme_cert} && {nginx.reload_command()}')
    return {"cert_name": ACME_NAMES[0], "domains": list(ACME_NAMES),
            "webroot": str(nginx.webroot), "acme_server": pebble.directory_url,
            "ca_bundle": str(pebble.api_ca_file), "deploy_hook": hook,
            "config_dir": f"{base}/etc", "work_dir": f"{base}/work",
            "logs_dir": f"{base}/logs"} | extra


def _served(target: Target, nginx: NginxTLS, roots: str, **extra: Any) -> Result:
    return run_module("tls_check", make_ctx(target), {
        "host": "127.0.0.1", "port": nginx.https_port, "server_name": ACME_NAMES[1],
        "ca_file": roots, "warn_days": 0, "fail_days": 0, "wait": 10} | extra)


def test_issue_renew_and_prove_the_new_certificate_is_served(
    target: Target, pebble: Pebble, nginx_tls: NginxTLS
) -> None:
    roots = str(pebble.issuing_roots())
    args = _args(target, pebble, nginx_tls)

    planned = run_module("certbot", _ctx(target, check=True), args)
    assert planned.changed and planned.data["certbot"]["action"] == "would_issue"

    issued = run_module("certbot", _ctx(target), args)
    assert not issued.failed, issued.msg
    assert issued.changed and issued.data["certbot"]["action"] == "issued"
    first = issued.data["certbot"]["after"]
    assert first["sans"] == sorted(ACME_NAMES) or set(first["sans"]) == set(ACME_NAMES)
    assert "Pebble" in first["issuer"]
    assert first["days_left"] < 0.05  # pebble issues one-hour certificates here

    probe = _served(target, nginx_tls, roots, expect_fingerprint=first["fingerprint_sha256"])
    assert not probe.failed, probe.msg
    assert probe.data["tls"]["chain_verified"] is True

    # One hour left: Debian's certbot finds it due; the deploy hook reloads nginx.
    renewed = run_module("certbot", _ctx(target), args)
    assert not renewed.failed, renewed.msg
    assert renewed.changed and renewed.data["certbot"]["action"] == "renewed"
    second = renewed.data["certbot"]["after"]
    assert second["fingerprint_sha256"] != first["fingerprint_sha256"]
    assert renewed.data["certbot"]["before"]["fingerprint_sha256"] == \
        first["fingerprint_sha256"]

    live = _served(target, nginx_tls, roots, expect_fingerprint=second["fingerprint_sha256"],
                   reject_fingerprint=first["fingerprint_sha256"])
    assert not live.failed, live.msg


def test_renewal_without_reload_is_caught_by_the_probe(
    pebble: Pebble, nginx_tls: NginxTLS, tmp_path: Any
) -> None:
    from runbook_engine.connection.local import LocalConnection

    local = Target("localhost", LocalConnection(), str(tmp_path))
    roots = str(pebble.issuing_roots())
    silent = _args(local, pebble, nginx_tls, cert_name="quiet", deploy_hook=None)
    issued = run_module("certbot", _ctx(local), silent)
    assert issued.changed, issued.msg
    stale = _served(local, nginx_tls, roots, wait=0.5,
                    expect_fingerprint=issued.data["certbot"]["fingerprint_sha256"])
    assert stale.failed
    assert "not the expected one" in stale.msg


def test_failing_challenge_is_reported_clearly(
    target: Target, pebble: Pebble, nginx_tls: NginxTLS
) -> None:
    # broken.example resolves to nginx, but certbot writes its answer where nginx never looks
    assert target.conn.run(f"mkdir -p {target.scratch}/not-served").rc == 0
    args = _args(target, pebble, nginx_tls, cert_name="broken.example",
                 domains=["broken.example"], webroot=f"{target.scratch}/not-served",
                 deploy_hook=None)
    result = run_module("certbot", _ctx(target), args)
    assert result.failed and not result.changed
    assert "certbot failed issuing broken.example" in result.msg
    assert "Domain: broken.example" in result.msg
    assert "unauthorized" in result.msg.lower() and "404" in result.msg
    assert result.data["certbot"]["after"] is None


def test_standalone_issue_when_no_web_server_runs(pebble_standalone: Pebble,
                                                  tmp_path: Any) -> None:
    from runbook_engine.connection.local import LocalConnection

    local = Target("localhost", LocalConnection(), str(tmp_path))
    base = tmp_path / "le"
    result = run_module("certbot", _ctx(local), {
        "cert_name": "alone.example", "domains": ["alone.example"],
        "authenticator": "standalone", "http_port": pebble_standalone.http_port,
        "http_address": "127.0.0.1", "acme_server": pebble_standalone.directory_url,
        "ca_bundle": str(pebble_standalone.api_ca_file), "config_dir": f"{base}/etc",
        "work_dir": f"{base}/work", "logs_dir": f"{base}/logs"})
    assert not result.failed, result.msg
    assert result.data["certbot"]["action"] == "issued"
    assert result.data["certbot"]["after"]["sans"] == ["alone.example"]
    assert (base / "etc" / "live" / "alone.example" / "fullchain.pem").exists()

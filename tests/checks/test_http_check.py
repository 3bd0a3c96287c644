"""http_check against the real nginx of the nginx_tls fixture."""

from __future__ import annotations

from typing import Any

import pytest

from runbook_engine.connection.local import LocalConnection
from runbook_engine.modules.base import Result
from tests.fixtures._processes import free_port
from tests.fixtures.nginx_tls import HTTP_PASSWORD, HTTP_USER, NginxTLS
from tests.harness import Target, make_ctx, run_module


@pytest.fixture
def controller(tmp_path: Any) -> Target:
    return Target("localhost", LocalConnection(), str(tmp_path))  # http_check: ON_CONTROLLER


def _check(controller: Target, url: str, **extra: Any) -> Result:
    return run_module("http_check", make_ctx(controller), {"url": url} | extra)


def test_healthy_endpoint_with_body_rules(controller: Target, nginx_tls: NginxTLS) -> None:
    url = f"http://127.0.0.1:{nginx_tls.http_port}/health"
    result = _check(controller, url, body_contains=["status: ok"], body_not_contains=["error"])
    assert not result.failed, result.msg
    assert result.data["check"]["status"] == "ok"
    assert result.data["check"]["value"] == 200
    assert result.data["http"]["elapsed_ms"] > 0
    wrong = _check(controller, url, body_contains=["version: 2"])
    assert wrong.failed and "body lacks ['version: 2']" in wrong.msg


def test_server_error_and_forbidden_text(controller: Target, nginx_tls: NginxTLS) -> None:
    url = f"http://127.0.0.1:{nginx_tls.http_port}/broken"
    result = _check(controller, url, body_not_contains=["database down"])
    assert result.failed
    assert "status 500, expected 200" in result.msg
    assert "body contains ['database down']" in result.msg
    accepted = _check(controller, url, status=500)
    assert not accepted.failed


def test_redirects_followed_refused_and_looping(controller: Target,
                                                nginx_tls: NginxTLS) -> None:
    base = f"http://127.0.0.1:{nginx_tls.http_port}"
    followed = _check(controller, f"{base}/moved", body_contains=["status: ok"])
    assert not followed.failed, followed.msg
    assert followed.data["http"]["url"] == f"{base}/health"
    assert followed.data["http"]["redirects"] == [f"301 {base}/health"]
    kept = _check(controller, f"{base}/moved", follow_redirects=False, status=[301])
    assert not kept.failed and kept.data["check"]["value"] == 301
    loop = _check(controller, f"{base}/loop", max_redirects=3)
    assert loop.failed and "redirect loop or too many redirects" in loop.msg


def test_latency_thresholds(controller: Target, nginx_tls: NginxTLS) -> None:
    url = f"http://127.0.0.1:{nginx_tls.http_port}/health"
    slow = _check(controller, url, warn_ms=0)
    assert slow.data["check"]["status"] == "warn" and not slow.failed
    assert "slow" in slow.data["check"]["detail"]


def test_tls_verification(controller: Target, nginx_tls: NginxTLS) -> None:
    # nginx answers default.test for 127.0.0.1: the name does not match, so verify fails
    url = f"https://127.0.0.1:{nginx_tls.https_port}/"
    refused = _check(controller, url, ca_file=str(nginx_tls.ca_file))
    assert refused.failed and "CERTIFICATE_VERIFY_FAILED" in refused.msg
    unverified = _check(controller, url, validate_certs=False,
                        body_contains=["hello from default.test"])
    assert not unverified.failed, unverified.msg


def test_nothing_listening(controller: Target) -> None:
    result = _check(controller, f"http://127.0.0.1:{free_port()}/")
    assert result.failed and "no answer" in result.msg
    assert "refused" in result.msg.lower()


def test_basic_auth_from_the_url_and_the_password_never_shown(controller: Target,
                                                              nginx_tls: NginxTLS) -> None:
    private = f"127.0.0.1:{nginx_tls.http_port}/private"
    denied = _check(controller, f"http://{private}")
    assert denied.failed and "status 401" in denied.msg
    allowed = _check(controller, f"http://{HTTP_USER}:{HTTP_PASSWORD}@{private}",
                     body_contains=["private: ok"])
    assert not allowed.failed, allowed.msg
    shown = repr(allowed.registered())
    assert HTTP_PASSWORD not in shown
    assert f"http://{HTTP_USER}:***@{private}" in allowed.data["check"]["name"]

"""domain_expiry against a local RDAP server and a local WHOIS server (recorded answers)."""

from __future__ import annotations

from typing import Any

import pytest

from runbook_engine.checks.domains import rdap_base
from runbook_engine.connection.local import LocalConnection
from runbook_engine.modules.base import Result
from tests.fixtures.rdap import RdapServer, WhoisServer
from tests.harness import Target, make_ctx, run_module


@pytest.fixture
def controller(tmp_path: Any) -> Target:
    return Target("localhost", LocalConnection(), str(tmp_path))  # ON_CONTROLLER module


def _expiry(controller: Target, domain: str, **extra: Any) -> Result:
    return run_module("domain_expiry", make_ctx(controller), {"domain": domain} | extra)


@pytest.mark.parametrize(("domain", "status", "days", "registrar"), [
    ("healthy.com", "ok", 400, "MarkMonitor Inc."),
    ("soon.com", "warn", 20, "MarkMonitor Inc."),
    ("lapsing.org", "fail", 3, "NameCheap, Inc."),
])
def test_rdap_through_the_bootstrap(controller: Target, rdap_server: RdapServer, domain: str,
                                    status: str, days: int, registrar: str) -> None:
    result = _expiry(controller, domain, bootstrap_file=str(rdap_server.bootstrap_file))
    assert result.data["check"]["status"] == status, result.msg
    assert result.failed is (status == "fail")
    info = result.data["domain"]
    assert abs(info["days_left"] - days) <= 1
    assert info["registrar"] == registrar
    assert info["source"] == f"rdap {rdap_server.base_url}domain/{domain}"
    assert registrar in result.data["check"]["detail"]


def test_rdap_url_override_and_unregistered_domain(controller: Target,
                                                   rdap_server: RdapServer) -> None:
    ok = _expiry(controller, "healthy.com", rdap_url=rdap_server.base_url)
    assert not ok.failed
    missing = _expiry(controller, "nobody-registered-this.com", rdap_url=rdap_server.base_url)
    assert missing.failed and "is not registered (RDAP 404" in missing.msg


@pytest.mark.parametrize(("domain", "status", "registrar"), [
    ("example.io", "ok", "Gandi SAS"),
    ("nearly.ru", "warn", "RU-CENTER-RU"),
])
def test_whois_fallback_for_tlds_without_rdap(controller: Target, rdap_server: RdapServer,
                                              whois_server: WhoisServer, domain: str,
                                              status: str, registrar: str) -> None:
    result = _expiry(controller, domain, bootstrap_file=str(rdap_server.bootstrap_file),
                     whois_server=whois_server.address)
    assert result.data["check"]["status"] == status, result.msg
    assert result.data["domain"]["registrar"] == registrar
    assert result.data["domain"]["source"] == f"whois {whois_server.address}"


def test_whois_unknown_domain_and_dead_server(controller: Target, rdap_server: RdapServer,
                                              whois_server: WhoisServer) -> None:
    gone = _expiry(controller, "gone.io", bootstrap_file=str(rdap_server.bootstrap_file),
                   whois_server=whois_server.address)
    assert gone.failed and "gone.io is not registered" in gone.msg
    from tests.fixtures._processes import free_port

    dead = _expiry(controller, "example.io", bootstrap_file=str(rdap_server.bootstrap_file),
                   whois_server=f"127.0.0.1:{free_port()}", timeout=2)
    assert dead.failed and "WHOIS 127.0.0.1" in dead.msg


def test_shipped_bootstrap_covers_common_tlds() -> None:
    assert rdap_base("com") == "https://rdap.verisign.com/com/v1/"
    assert rdap_base("org") is not None and rdap_base("dev") is not None
    assert rdap_base("io") is None  # -> WHOIS


def test_bootstrap_fetched_once_then_cached_for_a_week(
    controller: Target, rdap_server: RdapServer, tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os
    import time

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = _expiry(controller, "healthy.com", bootstrap_url=rdap_server.bootstrap_url)
    assert not first.failed, first.msg
    [cached] = (tmp_path / "cache" / "runbook-engine").glob("rdap-*.json")
    # The cached copy is used as long as it is fresh: point .com at a dead server in it.
    cached.write_text('{"services": [[["com"], ["http://127.0.0.1:9/"]]]}')
    from_cache = _expiry(controller, "healthy.com", bootstrap_url=rdap_server.bootstrap_url,
                         timeout=2)
    assert from_cache.failed and "http://127.0.0.1:9/domain/healthy.com" in from_cache.msg
    week_ago = time.time() - 8 * 86400
    os.utime(cached, (week_ago, week_ago))
    refreshed = _expiry(controller, "healthy.com", bootstrap_url=rdap_server.bootstrap_url)
    assert not refreshed.failed, refreshed.msg
    # a bootstrap URL that never answered and has no copy: the shipped subset is used
    from runbook_engine.checks.domains import cached_bootstrap

    assert cached_bootstrap("http://127.0.0.1:9/dns.json", timeout=2) is None

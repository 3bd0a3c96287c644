"""The shipped playbooks, run end to end with `runbook run` against real servers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.nginx_tls import ACME_NAMES, NginxTLS
from tests.fixtures.pebble import Pebble

REPO = Path(__file__).resolve().parents[2]
LOCAL_INVENTORY = {"all": {"hosts": {"localhost": {"ansible_connection": "local"}}}}


def _find(doc: Any, key: str) -> list[Any]:
    """Every value stored under `key` anywhere in the JSON run document."""
    if isinstance(doc, dict):
        return ([doc[key]] if key in doc else []) + [
            v for value in doc.values() for v in _find(value, key)]
    if isinstance(doc, list):
        return [v for value in doc for v in _find(value, key)]
    return []


def _runbook(playbook: str, tmp_path: Path, extra: dict[str, Any], *flags: str,
             inventory: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    inv = tmp_path / "inventory.json"
    inv.write_text(json.dumps(inventory or LOCAL_INVENTORY))
    extra_file = tmp_path / "extra.json"
    extra_file.write_text(json.dumps(extra))
    return subprocess.run(
        [sys.executable, "-m", "runbook_engine", "run", str(REPO / "playbooks" / playbook),
         "-i", str(inv), "-e", f"@{extra_file}", "--no-journal", "--format", "json", *flags],
        capture_output=True, text=True, cwd=tmp_path, timeout=240)


@pytest.mark.slow
def test_cert_renew_playbook_issues_reloads_and_proves_the_new_cert(
    pebble: Pebble, nginx_tls: NginxTLS, tmp_path: Path
) -> None:
    state = tmp_path / "letsencrypt"
    hook = (f'cp "$RENEWED_LINEAGE/privkey.pem" {nginx_tls.acme_key} && '
            f'cp "$RENEWED_LINEAGE/fullchain.pem" {nginx_tls.acme_cert}')
    extra = {
        "cert_renew_certificates": [{"name": "e2e.example", "domains": list(ACME_NAMES),
                                     "webroot": str(nginx_tls.webroot)}],
        "cert_renew_acme_directory": pebble.directory_url,
        "cert_renew_ca_bundle": str(pebble.api_ca_file),
        "cert_renew_deploy_hook": hook,
        "cert_renew_config_dir": f"{state}/etc", "cert_renew_work_dir": f"{state}/work",
        "cert_renew_logs_dir": f"{state}/logs",
        "cert_renew_reload_command": nginx_tls.reload_command(),
        "cert_renew_probe_host": "127.0.0.1", "cert_renew_probe_port": nginx_tls.https_port,
        "cert_renew_probe_ca_file": str(pebble.issuing_roots()),
        "cert_renew_warn_days": 0, "cert_renew_fail_days": 0,
    }
    first = _runbook("cert-renew.yml", tmp_path, extra)
    assert first.returncode == 0, first.stdout + first.stderr
    run = json.loads(first.stdout)
    [certbot] = _find(run, "certbot")
    assert certbot["action"] == "issued"
    [tls] = _find(run, "tls")
    assert tls["fingerprint_sha256"] == certbot["fingerprint_sha256"]
    assert tls["chain_verified"] is True

    # Without a reload the renewed certificate is on disk but not served: the probe fails.
    stale = _runbook("cert-renew.yml", tmp_path, extra | {"cert_renew_reload_command": "",
                                                          "cert_renew_probe_wait": 1})
    assert stale.returncode == 4, stale.stdout + stale.stderr
    [renewed] = _find(json.loads(stale.stdout), "certbot")
    assert renewed["action"] == "renewed"
    assert "not the expected one" in stale.stdout


def test_health_playbook_reports_and_exits_by_the_worst_check(nginx_tls: NginxTLS,
                                                              tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("started\nERROR disk quota\n")
    extra = {
        "health_load": False,  # a shared test machine's load is nobody's business here
        "health_disk_mounts": [str(tmp_path)], "health_disk_warn_percent": 100,
        "health_disk_fail_percent": 100,
        "health_services": [{"process": "nginx", "port": nginx_tls.http_port}],
        "health_http": [{"url": f"http://127.0.0.1:{nginx_tls.http_port}/health",
                         "body_contains": ["status: ok"]}],
        "health_tls": [{"host": "127.0.0.1", "port": nginx_tls.https_port,
                        "server_name": "soon.test"}],
        "health_tls_ca_file": str(nginx_tls.ca_file),
        "health_logs": [{"path": str(log), "patterns": ["ERROR"], "warn_count": 1,
                         "fail_count": 5, "state_file": str(tmp_path / "log.offset")}],
    }
    green = _runbook("health-check.yml", tmp_path, extra)
    assert green.returncode == 0, green.stdout + green.stderr  # warnings only
    strict = _runbook("health-check.yml", tmp_path, extra | {"health_fail_on_warn": True})
    assert strict.returncode == 4, strict.stdout + strict.stderr
    assert "soon.test" in strict.stdout and "WARN" in strict.stdout

    broken_url = f"http://127.0.0.1:{nginx_tls.http_port}/broken"
    broken = extra | {"health_http": [{"url": broken_url}],
                      "health_tls": [{"host": "127.0.0.1", "port": nginx_tls.https_port,
                                      "server_name": "expired.test"}]}
    red = _runbook("health-check.yml", tmp_path, broken)
    assert red.returncode == 4, red.stdout + red.stderr
    found = [c for checks in _find(json.loads(red.stdout), "check") if checks
             for c in (checks if isinstance(checks, list) else [checks])]
    statuses = {c["name"]: c["status"] for c in found}
    assert statuses[f"http http://127.0.0.1:{nginx_tls.http_port}/broken"] == "fail"
    assert statuses[f"tls 127.0.0.1:{nginx_tls.https_port} (expired.test)"] == "fail"
    assert statuses[f"log {log}"] == "ok"  # the ERROR line was already seen by the green run
    assert statuses["process nginx"] == "ok"


def test_report_sink_through_the_engine_over_local_and_ssh(
    ssh_hosts: Any, nginx_tls: NginxTLS, tmp_path: Path
) -> None:
    from runbook_engine.engine import RunRequest, prepare
    from runbook_engine.output.checks_report import ChecksReport

    remote = ssh_hosts[0]
    inventory = {"all": {"hosts": {"localhost": {"ansible_connection": "local"},
                                   remote.name: remote.inventory_vars()}}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    extra = {"health_load": False, "health_memory": False,
             "health_disk_mounts": ["/"], "health_disk_warn_percent": 0,
             "health_http": [{"url": f"http://127.0.0.1:{nginx_tls.http_port}/broken"}]}
    request = RunRequest(playbook=REPO / "playbooks" / "health-check.yml",
                         inventories=[str(tmp_path / "inventory.json")],
                         extra_vars=[json.dumps(extra)], journal=False, lock=False)
    html_report = ChecksReport.for_file(tmp_path / "health.html")
    json_report = ChecksReport.for_file(tmp_path / "health.json")
    exit_code = prepare(request).run([html_report, json_report])
    html_report.close()
    json_report.close()

    assert exit_code == 4
    doc = json.loads((tmp_path / "health.json").read_text())
    assert set(doc["hosts"]) == {"localhost", remote.name}
    for host in doc["hosts"].values():
        by_name = {c["name"]: c["status"] for c in host["checks"]}
        assert by_name["disk /"] == "warn"
        assert by_name[f"http http://127.0.0.1:{nginx_tls.http_port}/broken"] == "fail"
        assert host["status"] == "fail"
    assert doc["summary"] == {"ok": 0, "warn": 2, "fail": 2}
    page = (tmp_path / "health.html").read_text()
    assert remote.name in page and "status 500, expected 200" in page

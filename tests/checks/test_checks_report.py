"""The checks report sink, fed by real check results through the real event bus."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from runbook_engine.events import EventBus
from runbook_engine.modules.base import Result
from runbook_engine.output.checks_report import ChecksReport
from tests.fixtures.nginx_tls import NginxTLS
from tests.harness import Target, make_ctx, run_module


def _emit(bus: EventBus, host: str, task: str, result: Result) -> None:
    status = "failed" if result.failed else "changed" if result.changed else "ok"
    bus.emit("host_result", play="health", task=task, host=host, status=status,
             result=result, duration=0.1)


def test_report_renders_console_json_and_html(target: Target, nginx_tls: NginxTLS,
                                              tmp_path: Path) -> None:
    log = f"{target.scratch}/web.log"
    assert target.conn.run(
        f"printf 'ERROR <script>alert(1)</script> & more\\n' > {log}").rc == 0
    results = {
        "disk": run_module("disk_check", make_ctx(target), {"mounts": [target.scratch],
                                                            "warn_percent": 100,
                                                            "fail_percent": 100}),
        "tls soon": run_module("tls_check", make_ctx(target), {
            "host": "127.0.0.1", "port": nginx_tls.https_port, "server_name": "soon.test",
            "ca_file": str(nginx_tls.ca_file)}),
        "tls expired": run_module("tls_check", make_ctx(target), {
            "host": "127.0.0.1", "port": nginx_tls.https_port, "server_name": "expired.test",
            "ca_file": str(nginx_tls.ca_file)}),
        "log": run_module("log_scan", make_ctx(target), {
            "path": log, "patterns": ["ERROR"], "state_file": f"{target.scratch}/st"}),
        "not a check": Result(changed=True, msg="copied"),
    }
    html_path, json_path = tmp_path / "out" / "report.html", tmp_path / "report.json"
    console = Console(record=True, width=200, color_system=None)
    report = ChecksReport(html_path=html_path, json_path=json_path, console=console)
    bus = EventBus([report])
    bus.emit("run_start", playbook="playbooks/health-check.yml")
    for task, result in results.items():
        _emit(bus, "web1", task, result)
    bus.emit("host_unreachable", task="disk", host="db1", msg="connection refused")
    bus.close()

    doc = json.loads(json_path.read_text())
    assert doc["status"] == "fail"
    assert doc["summary"] == {"ok": 1, "warn": 1, "fail": 3}
    assert doc["playbook"] == "playbooks/health-check.yml"
    web = doc["hosts"]["web1"]
    assert web["status"] == "fail"
    names = [c["name"] for c in web["checks"]]
    assert names[0].startswith("disk /")
    assert f"tls 127.0.0.1:{nginx_tls.https_port} (soon.test)" in names
    assert doc["hosts"]["db1"]["checks"][0]["detail"] == "connection refused"

    page = html_path.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page and "<link" not in page and "src=" not in page
    assert "<script>" not in page
    assert "ERROR &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "expired.test" in page and "warn_days=30, fail_days=7" in page
    assert "<title>Health report: FAIL</title>" in page

    text = console.export_text()
    assert "Health report: FAIL" in text
    assert "1 ok  1 warn  3 fail" in text
    assert "soon.test" in text and "WARN" in text


def test_an_all_green_run_and_an_empty_one(target: Target, tmp_path: Path) -> None:
    report = ChecksReport(html_path=tmp_path / "r.html")
    bus = EventBus([report])
    ok = run_module("load_check", make_ctx(target), {"warn_per_core": 1000,
                                                     "fail_per_core": 1000})
    _emit(bus, target.name, "load", ok)
    bus.close()
    assert report.status == "ok"
    assert report.to_json()["summary"] == {"ok": 1, "warn": 0, "fail": 0}
    assert "Health report: OK" in (tmp_path / "r.html").read_text()

    empty = ChecksReport(html_path=tmp_path / "e.html")
    empty.close()
    assert "No checks ran." in (tmp_path / "e.html").read_text()

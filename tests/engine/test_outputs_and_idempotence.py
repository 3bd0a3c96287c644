"""What CI consumes (JSON, JUnit, step summary) and idempotence, end to end over SSH."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.fixtures.sshd import write_inventory

pytestmark = pytest.mark.ssh


@pytest.fixture
def two_hosts(ssh_hosts, tmp_path: Path, request):
    hosts = ssh_hosts[:2]
    dirs = {}
    for host in hosts:
        d = Path(host.scratch) / request.node.name
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        entry = pwd.getpwnam(host.user)
        os.chown(d, entry.pw_uid, entry.pw_gid)
        dirs[host.name] = str(d)
    inv = write_inventory(tmp_path / "inv.yml", hosts)
    return hosts, dirs, inv


def test_json_junit_and_step_summary_with_a_failure(two_hosts, write, runbook, tmp_path,
                                                    monkeypatch):
    hosts, dirs, inv = two_hosts
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pb = write("site.yml", f"""
        - name: ci play
          hosts: testhosts
          gather_facts: false
          tasks:
            - name: ok everywhere
              command: "true"
            - name: fails on one
              command: /bin/false
              when: inventory_hostname == '{hosts[1].name}'
    """)
    junit = tmp_path / "report.xml"
    result = runbook("run", pb, "-i", inv, "--format", "json", "--junit", junit,
                     "-e", json.dumps({"dirs": dirs}))
    assert result.rc == 4
    doc = json.loads(result.out)
    assert doc["exit_code"] == 4
    assert doc["stats"][hosts[1].name]["failed"] == 1
    assert doc["stats"][hosts[0].name]["failed"] == 0
    tasks = {t["name"]: t for t in doc["plays"][0]["tasks"]}
    failed = tasks["fails on one"]["results"][hosts[1].name]
    failed = failed[0] if isinstance(failed, list) else failed
    assert failed["status"] == "failed"
    cases = ET.parse(junit).getroot().iter("testcase")
    failures = [c for c in cases if c.find("failure") is not None]
    assert len(failures) == 1 and hosts[1].name in failures[0].get("classname", "")
    assert "fails on one" in summary.read_text()


def test_second_run_changes_nothing(two_hosts, write, runbook, tmp_path):
    hosts, dirs, inv = two_hosts
    write("templates/app.conf.j2", "name={{ inventory_hostname }}\nport={{ port }}\n")
    pb = write("site.yml", """
        - hosts: testhosts
          gather_facts: false
          vars:
            port: 8080
            root: "{{ dirs[inventory_hostname] }}"
          tasks:
            - file:
                path: "{{ root }}/etc"
                state: directory
                mode: "0750"
            - template:
                src: app.conf.j2
                dest: "{{ root }}/etc/app.conf"
                mode: "0640"
            - copy:
                content: "hello\\n"
                dest: "{{ root }}/hello.txt"
            - lineinfile:
                path: "{{ root }}/etc/extra.conf"
                line: "debug=false"
                create: true
            - blockinfile:
                path: "{{ root }}/etc/extra.conf"
                block: "# managed block"
            - stat:
                path: "{{ root }}/hello.txt"
              register: st
            - assert:
                that: st.stat.exists
    """)
    args = ["run", pb, "-i", inv, "-e", json.dumps({"dirs": dirs}), "--format", "json"]
    first = runbook(*args)
    assert first.rc == 0, first.out
    assert all(s["changed"] >= 5 for s in json.loads(first.out)["stats"].values())
    second = runbook(*args)
    assert second.rc == 0
    assert all(s["changed"] == 0 for s in json.loads(second.out)["stats"].values())
    for host in hosts:
        conf = Path(dirs[host.name], "etc/app.conf").read_text()
        assert conf == f"name={host.name}\nport=8080\n"
        extra = Path(dirs[host.name], "etc/extra.conf").read_text()
        assert extra.startswith("debug=false\n") and "# managed block" in extra
        assert oct(Path(dirs[host.name], "etc/app.conf").stat().st_mode & 0o777) == "0o640"
    check = runbook("run", pb, "-i", inv, "-e", json.dumps({"dirs": dirs}), "--check")
    assert check.rc == 0

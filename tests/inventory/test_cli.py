from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = str(REPO / ".venv" / "bin" / "runbook")

VAULTED = """
all:
  vars:
    db_password: !vault |
      $ANSIBLE_VAULT;1.1;AES256
      3132333435363738
  children:
    web:
      hosts:
        web1:
          http_port: 8080
"""


def runbook(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "RUNBOOK_VAULT_PASSWORD"}
    return subprocess.run([RUNBOOK, "inventory", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=60, env=env)


def test_list_shipped_example_as_json():
    proc = runbook("-i", "inventories/example.yml", "--list")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["webservers"]["hosts"] == ["web01", "web02", "web03", "web04", "web05"]
    assert data["production"]["children"] == ["eu", "monitoring"]
    assert data["_meta"]["hostvars"]["db-c"]["ansible_port"] == 2222
    assert data["_meta"]["hostvars"]["db-c"]["region"] == "eu-west"


def test_host_graph_and_limit_on_shipped_ini():
    host = runbook("-i", "inventories/example.ini", "--host", "mon01")
    assert host.returncode == 0, host.stderr
    assert json.loads(host.stdout)["runbook_host_key_checking"] == "accept-new"
    graph = runbook("-i", "inventories/example.ini", "--graph", "eu")
    assert graph.stdout.splitlines()[:3] == ["@eu:", "  |--@dbservers:", "  |  |--db-a"]
    limited = runbook("-i", "inventories/example.ini", "--list", "--limit", "dbservers:&eu")
    assert json.loads(limited.stdout)["dbservers"]["hosts"] == ["db-a", "db-b", "db-c"]
    assert "webservers" not in json.loads(limited.stdout)


def test_vaulted_values_are_masked_in_every_view(tmp_path):
    path = tmp_path / "hosts.yml"
    path.write_text(VAULTED)
    views = [["--list"], ["--list", "--yaml"], ["--host", "web1"], ["--graph", "--vars"]]
    for view in views:
        proc = runbook("-i", str(path), *view)
        assert proc.returncode == 0, proc.stderr
        assert "3132333435363738" not in proc.stdout and "ANSIBLE_VAULT" not in proc.stdout
        assert "<vaulted>" in proc.stdout
    listed = yaml.safe_load(runbook("-i", str(path), "--list", "-y").stdout)
    assert listed["all"]["children"]["web"]["hosts"]["web1"]["http_port"] == 8080


def test_malformed_inventory_exits_2_with_file_line(tmp_path):
    path = tmp_path / "hosts.ini"
    path.write_text("[web]\nw1\n[prod:children]\nweb\nwbe\n")
    proc = runbook("-i", str(path), "--list")
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"{path}:5:1: error: [prod:children] names group 'wbe'")
    assert "did you mean 'web'?" in proc.stderr
    assert proc.stdout == ""


def test_unknown_host_exits_2_with_suggestion():
    proc = runbook("-i", "inventories/example.yml", "--host", "web6")
    assert proc.returncode == 2
    assert "host 'web6' is not in the inventory" in proc.stderr
    assert "did you mean" in proc.stderr


def test_local_inventory_for_the_demo():
    proc = runbook("-i", "inventories/local.yml", "--host", "localhost")
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == {"ansible_connection": "local"}


def test_whole_file_vaulted_vars_need_a_password_and_are_shown_masked(tmp_path):
    from runbook_engine import vault

    secret = vault.VaultSecret(b"correct horse")
    (tmp_path / "hosts.ini").write_text("[web]\nw1\n")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "web.yml").write_text(
        vault.encrypt("db_password: s3cret-value\nport: 5432\n", secret)
    )
    (tmp_path / "pass").write_text("correct horse\n")
    refused = runbook("-i", str(tmp_path / "hosts.ini"), "--host", "w1")
    assert refused.returncode == 2
    assert "vault-encrypted and no vault password" in refused.stderr
    shown = runbook("-i", str(tmp_path / "hosts.ini"), "--host", "w1",
                    "--vault-password-file", str(tmp_path / "pass"))
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == {"db_password": "<vaulted>", "port": "<vaulted>"}

"""Nothing secret crosses or rests in Redis in clear: every command Redis receives during a
celery run (MONITOR), Celery's base64 message bodies decoded, and every key left behind."""

from __future__ import annotations

import base64
import binascii
import json
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from runbook_engine import vault
from tests.distributed.conftest import host_dirs, read_tree
from tests.fixtures.sshd import write_inventory

pytestmark = pytest.mark.ssh

VAULT_PASSWORD = "vault-pw-Quokka-7731"
VAULTED = "vaulted-Wombat-5521"
EXTRA = "extra-Platypus-9083"
HOST_VAR = "hostvar-Numbat-4410"
SECRETS = (VAULT_PASSWORD, VAULTED, EXTRA, HOST_VAR)
BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")


def _decoded_views(text: str) -> list[str]:
    """The text itself and every long base64 run in it, decoded (Celery's Redis transport
    base64-encodes message bodies, so a clear payload would hide from a plain grep)."""
    views = [text]
    for run in BASE64_RUN.findall(text):
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                views.append(decode(run + "=" * (-len(run) % 4)).decode("utf-8", "replace"))
            except (binascii.Error, ValueError):
                continue
    return views


def test_no_secret_in_redis_traffic_or_keys(ssh_hosts, celery_env, runbook, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNBOOK_VAULT_PASSWORD", VAULT_PASSWORD)
    ciphertext = vault.encrypt(VAULTED, vault.VaultSecret(VAULT_PASSWORD.encode()))
    playbook = tmp_path / "secret.yml"
    playbook.write_text(textwrap.dedent("""
        - hosts: testhosts
          gather_facts: false
          vars:
        {vaulted}
            out: "{{{{ dirs[inventory_hostname] }}}}/s"
          tasks:
            - name: write the secrets
              shell: echo "{{{{ vaulted }}}} {{{{ extra }}}} {{{{ db_password }}}}" > {{{{ out }}}}
            - name: read them back
              command: cat {{{{ out }}}}
              register: back
            - name: as another user, with the become password
              command: whoami
              become: true
              become_user: daemon
        """).format(vaulted=textwrap.indent(vault.inline_yaml(ciphertext, "vaulted"), "    ")))
    become_password = ssh_hosts[0].password  # the same for every test host
    inventory = write_inventory(tmp_path / "inv.yml", ssh_hosts, {
        "db_password": HOST_VAR, "ansible_become_password": become_password})
    dirs = host_dirs(ssh_hosts, "secrets")
    redis = celery_env.redis
    log = tmp_path / "monitor.log"
    with log.open("w") as out:
        monitor = subprocess.Popen(["redis-cli", "-p", str(redis.port), "monitor"], stdout=out)
    try:
        result = runbook("run", playbook, "-i", inventory, "--executor", "celery",
                         "--format", "json",
                         "-e", json.dumps({"dirs": dirs, "extra": EXTRA}))
    finally:
        monitor.terminate()
        monitor.wait(timeout=10)
    assert result.rc == 0, result.err
    # the secrets did travel: the hosts got them, through the workers
    for d in dirs.values():
        assert read_tree(d)["s"] == f"{VAULTED} {EXTRA} {HOST_VAR}\n"
    # ... sealed: no view of the traffic or of the keys left behind shows any of them
    traffic = log.read_text(errors="replace")
    at_rest = "\n".join(redis.cli("-n", "0", "get", key)
                        for key in redis.cli("-n", "0", "--scan", "--pattern",
                                             "runbook:*").split()
                        if redis.cli("-n", "0", "type", key).strip() == "string")
    views = _decoded_views(traffic) + _decoded_views(at_rest)
    assert any("gAAAAA" in view for view in views[1:])  # decoded Celery bodies: Fernet tokens
    assert "runbook:bundle:" in traffic and "runbook:reply:" in traffic
    for secret in (*SECRETS, become_password):
        assert not any(secret in view for view in views), secret
    # the outputs mask the vault value and the become password (learnt on the workers)
    assert VAULTED not in result.out and become_password not in result.out
    became = result.json()["plays"][0]["tasks"][2]["results"]
    assert {r["stdout"] for r in became.values()} == {"daemon"}

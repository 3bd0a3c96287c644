"""Runs against real sshd hosts: results per host, failures isolated, exit codes."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.engine.conftest import runbook_process
from tests.fixtures.sshd import blackhole, nft_available, write_inventory

pytestmark = pytest.mark.ssh


def _read(path: str) -> str:
    return Path(path).read_text()


@pytest.fixture
def fleet(ssh_hosts, tmp_path: Path, request):
    """Three hosts, a clean scratch dir each, and an inventory with per-host vars."""
    dirs = []
    for host in ssh_hosts:
        d = Path(host.scratch) / request.node.name
        if d.exists():
                shutil.rmtree(d)
        d.mkdir(parents=True)
        os.chown(d, *_ids(host.user))
        dirs.append(str(d))
    inv = write_inventory(tmp_path / "inv.yml", ssh_hosts, {"colour": "blue"})
    text = inv.read_text()
    return ssh_hosts, dirs, inv, text


def _ids(user: str) -> tuple[int, int]:
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def test_runs_on_every_host_with_host_vars(fleet, write, runbook):
    hosts, dirs, inv, _ = fleet
    pb = write("site.yml", """
        - hosts: testhosts
          gather_facts: false
          tasks:
            - shell: echo "{{ inventory_hostname }} {{ colour }} $(whoami)" > {{ dir }}/who
              vars:
                dir: "{{ dirs[inventory_hostname] }}"
    """)
    mapping = {h.name: d for h, d in zip(hosts, dirs, strict=True)}
    result = runbook("run", pb, "-i", inv, "-e", json.dumps({"dirs": mapping}))
    assert result.rc == 0, result.out
    for host, d in zip(hosts, dirs, strict=True):
        assert _read(f"{d}/who") == f"{host.name} blue {host.user}\n"


def test_one_failing_host_does_not_stop_the_others(fleet, write, runbook):
    hosts, dirs, inv, _ = fleet
    bad = hosts[1].name
    mapping = {h.name: d for h, d in zip(hosts, dirs, strict=True)}
    pb = write("site.yml", f"""
        - hosts: testhosts
          gather_facts: false
          tasks:
            - command: /bin/false
              when: inventory_hostname == '{bad}'
            - shell: echo done > {{{{ dirs[inventory_hostname] }}}}/done
    """)
    result = runbook("run", pb, "-i", inv, "-e", json.dumps({"dirs": mapping}))
    assert result.rc == 4
    assert not Path(dirs[1], "done").exists()
    assert Path(dirs[0], "done").exists() and Path(dirs[2], "done").exists()
    recap = result.out[result.out.index("PLAY RECAP"):]
    assert f"{bad}" in recap and "failed=1" in recap


def test_extra_vars_override_the_inventorys_connection_variables(
    fleet, write, runbook, tmp_path: Path
):
    """`-e ansible_user=... -e ansible_port=...` win over the inventory, as in Ansible."""
    hosts, dirs, _, _ = fleet
    host = hosts[0]
    wrong = {**host.inventory_vars(), "ansible_user": "nobody", "ansible_port": 1}
    inv = tmp_path / "one.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {host.name: wrong}}}))
    pb = write("site.yml", f"""
        - hosts: all
          gather_facts: false
          tasks:
            - shell: whoami > {dirs[0]}/who
    """)
    refused = runbook("run", pb, "-i", inv)
    assert refused.rc == 8, refused.out  # the inventory's values alone: unreachable
    result = runbook("run", pb, "-i", inv, "-e", f"ansible_user={host.user} ansible_port=22")
    assert result.rc == 0, result.out + result.err
    assert _read(f"{dirs[0]}/who") == f"{host.user}\n"


def test_inline_vaulted_ssh_password_reaches_the_connection_decrypted(
    fleet, write, runbook, tmp_path: Path
):
    from runbook_engine import vault

    hosts, dirs, _, _ = fleet
    host = hosts[2]
    secret = vault.VaultSecret(b"vault-pass-ssh")
    (tmp_path / "pw").write_text("vault-pass-ssh")
    cipher = "\n".join("        " + line
                       for line in vault.encrypt(host.password, secret).splitlines())
    host_vars = {k: v for k, v in host.inventory_vars().items()
                 if k != "ansible_ssh_private_key_file"}  # the password is the only way in
    inv = tmp_path / "vaulted.yml"
    inv.write_text(
        "all:\n  hosts:\n    " + host.name + ":\n"
        + "".join(f"      {k}: {v}\n" for k, v in host_vars.items())
        + "      ansible_password: !vault |\n" + cipher + "\n"
    )
    pb = write("site.yml", f"""
        - hosts: all
          gather_facts: false
          tasks:
            - shell: whoami > {dirs[2]}/who
    """)
    result = runbook("run", pb, "-i", inv, "--vault-password-file", tmp_path / "pw")
    assert result.rc == 0, result.out + result.err
    assert _read(f"{dirs[2]}/who") == f"{host.user}\n"
    assert host.password not in result.out + result.err
    # without the vault password: refused up front, the host named
    refused = runbook("run", pb, "-i", inv)
    assert refused.rc == 2, refused.out + refused.err
    assert f"host {host.name}: a !vault value needs a vault password" in refused.err


def test_unreachable_host_reported_exit_8(fleet, write, runbook, tmp_path: Path):
    hosts, dirs, inv, _ = fleet
    # a fourth host on an address where nothing listens
    data = yaml.safe_load(inv.read_text())
    ghost = dict(hosts[0].inventory_vars(), ansible_host="127.0.9.254")
    data["all"]["children"]["testhosts"]["hosts"]["ghost"] = ghost
    inv.write_text(yaml.safe_dump(data))
    mapping = {h.name: d for h, d in zip(hosts, dirs, strict=True)}
    mapping["ghost"] = "/nonexistent"
    pb = write("site.yml", """
        - hosts: testhosts
          gather_facts: false
          tasks:
            - shell: echo ok > {{ dirs[inventory_hostname] }}/ok
    """)
    result = runbook("run", pb, "-i", inv, "-e", json.dumps({"dirs": mapping}))
    assert result.rc == 8, result.out
    assert all(Path(d, "ok").exists() for d in dirs)
    recap = result.out[result.out.index("PLAY RECAP"):]
    ghost_line = next(line for line in recap.splitlines() if line.startswith("ghost"))
    assert "unreachable=1" in ghost_line


@pytest.mark.skipif(not nft_available()[0], reason="nftables not usable here")
def test_silent_host_times_out_others_finish(fleet, write, runbook):
    hosts, dirs, inv, _ = fleet
    mapping = {h.name: d for h, d in zip(hosts, dirs, strict=True)}
    data = yaml.safe_load(inv.read_text())
    # The short connect timeout for the silent host only: on a loaded machine a healthy
    # host's handshake can take longer than 2 s, which is not what this test is about.
    data["all"]["children"]["testhosts"]["hosts"][hosts[2].name]["ansible_ssh_timeout"] = 2
    inv.write_text(yaml.safe_dump(data))
    pb = write("site.yml", """
        - hosts: testhosts
          gather_facts: false
          tasks:
            - shell: echo ok > {{ dirs[inventory_hostname] }}/ok
    """)
    with blackhole(hosts[2]):
        result = runbook("run", pb, "-i", inv, "-e", json.dumps({"dirs": mapping}))
    assert result.rc == 8
    assert Path(dirs[0], "ok").exists() and Path(dirs[1], "ok").exists()
    assert not Path(dirs[2], "ok").exists()


def test_sshd_killed_mid_task(fleet, write, tmp_path: Path):
    hosts, dirs, inv, _ = fleet
    victim = hosts[0]
    mapping = {h.name: d for h, d in zip(hosts, dirs, strict=True)}
    pb = write("site.yml", """
        - hosts: testhosts
          gather_facts: false
          tasks:
            - shell: touch {{ dirs[inventory_hostname] }}/started; sleep 8; echo x
            - shell: echo after > {{ dirs[inventory_hostname] }}/after
    """)
    started = Path(dirs[0], "started")

    def kill_when_started() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not started.exists():
            time.sleep(0.05)
        victim.kill_sessions()

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    result = runbook_process("run", pb, "-i", inv, "-e", json.dumps({"dirs": mapping}))
    killer.join()
    assert result.rc == 8, result.out + result.err
    assert not Path(dirs[0], "after").exists()
    assert Path(dirs[1], "after").exists() and Path(dirs[2], "after").exists()
    assert "unreachable" in result.out


def test_serial_with_max_fail_percentage_stops_rollout(fleet, write, runbook):
    hosts, dirs, inv, _ = fleet
    mapping = {h.name: d for h, d in zip(hosts, dirs, strict=True)}
    pb = write("site.yml", f"""
        - hosts: testhosts
          gather_facts: false
          serial: 1
          max_fail_percentage: 0
          tasks:
            - command: /bin/false
              when: inventory_hostname == '{hosts[1].name}'
            - shell: echo done > {{{{ dirs[inventory_hostname] }}}}/done
    """)
    result = runbook("run", pb, "-i", inv, "-e", json.dumps({"dirs": mapping}))
    assert result.rc == 4
    assert Path(dirs[0], "done").exists()
    assert not Path(dirs[1], "done").exists()
    assert not Path(dirs[2], "done").exists(), "the third batch must not start"
    assert "max_fail_percentage" in result.out + result.err


def test_become_and_run_once_and_delegate(fleet, write, runbook, tmp_path: Path):
    hosts, dirs, inv, _ = fleet
    mapping = {h.name: d for h, d in zip(hosts, dirs, strict=True)}
    local = tmp_path / "local"
    pb = write("site.yml", f"""
        - hosts: testhosts
          gather_facts: false
          tasks:
            - command: whoami
              become: true
              register: who
            - shell: echo {{{{ who.stdout }}}} > {{{{ dirs[inventory_hostname] }}}}/root
            - shell: echo once >> {local}
              delegate_to: localhost
              run_once: true
    """)
    result = runbook("run", pb, "-i", inv, "-e", json.dumps({"dirs": mapping}))
    assert result.rc == 0, result.out
    assert all(_read(f"{d}/root") == "root\n" for d in dirs)
    assert local.read_text() == "once\n"


def test_become_password_never_reaches_the_command(fleet, write, runbook):
    hosts, _dirs, inv, _ = fleet
    host = hosts[0]
    data = yaml.safe_load(inv.read_text())
    data["all"]["vars"]["ansible_become_password"] = host.password
    inv.write_text(yaml.safe_dump(data))
    pb = write("site.yml", f"""
        - hosts: {host.name}
          gather_facts: false
          tasks:
            - name: root needs no password here (NOPASSWD)
              command: cat
              args: {{stdin: payload}}
              become: true
              register: as_root
            - name: daemon needs the password
              command: whoami
              become: true
              become_user: daemon
              register: as_daemon
            - assert:
                that:
                  - as_root.stdout == 'payload'
                  - as_daemon.stdout == 'daemon'
    """)
    result = runbook("run", pb, "-i", inv, "-v")
    assert result.rc == 0, result.out
    assert host.password not in result.out + result.err


def test_templated_connection_variables_are_rendered_from_inventory_and_extra_vars(
    ssh_hosts, tmp_path: Path, write, runbook
):
    """`ansible_user: "{{ deploy_user }}"` is common in Ansible inventories; taken
    literally, the run would log in as "{{ deploy_user }}"."""
    host = ssh_hosts[0]
    real = host.inventory_vars()
    prefix, last_octet = real["ansible_host"].rsplit(".", 1)
    entry = {**real, "ansible_user": "{{ deploy_user }}", "last_octet": int(last_octet),
             "ansible_host": "{{ address_prefix }}.{{ last_octet }}"}
    inventory = {"all": {"vars": {"deploy_user": real["ansible_user"]},
                         "hosts": {host.name: entry}}}
    inv = tmp_path / "inv.yml"
    inv.write_text(yaml.safe_dump(inventory, sort_keys=False))
    pb = write("site.yml", """
        - hosts: all
          gather_facts: false
          tasks:
            - command: whoami
              register: who
            - debug:
                msg: "logged in as {{ who.stdout }}"
    """)
    result = runbook("run", pb, "-i", inv, "-e", f"address_prefix={prefix}")
    assert result.rc == 0, result.out + result.err
    assert f"logged in as {real['ansible_user']}" in result.out
    undefined = runbook("run", pb, "-i", inv)  # no address_prefix
    assert undefined.rc == 2
    assert f"{inv}:" in undefined.err and "ansible_host" in undefined.err
    assert "address_prefix" in undefined.err and "is undefined" in undefined.err

"""The sshd test hosts themselves: reachable with the suite key, sudo as documented."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.fixtures.sshd import HostPool, SSHHost, write_inventory


def _ssh(host: SSHHost, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "ssh", "-i", host.key_file, "-o", f"UserKnownHostsFile={host.known_hosts}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-p", str(host.port), f"{host.user}@{host.address}", command,
        ],
        capture_output=True, text=True, timeout=30,
    )


def test_hosts_answer_with_strict_host_keys(ssh_hosts: list[SSHHost]) -> None:
    assert len({h.address for h in ssh_hosts}) == 3
    for host in ssh_hosts:
        done = _ssh(host, f"id -un && touch {host.scratch}/ok && sudo -n id -u")
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [host.user, "0"]
        assert Path(host.scratch, "ok").exists()


def test_nosudo_host_is_refused_sudo(ssh_host_nosudo: SSHHost) -> None:
    done = _ssh(ssh_host_nosudo, "sudo -n true")
    assert done.returncode != 0
    assert "password" in done.stderr.lower() or "not allowed" in done.stderr.lower()


def test_write_inventory(ssh_hosts: list[SSHHost], tmp_path: Path) -> None:
    path = write_inventory(tmp_path / "inv.yml", ssh_hosts[:2], {"x": 1})
    data = yaml.safe_load(path.read_text())
    hosts = data["all"]["children"]["testhosts"]["hosts"]
    assert hosts[ssh_hosts[0].name]["ansible_host"] == ssh_hosts[0].address
    assert data["all"]["vars"] == {"x": 1}


def test_start_many_gives_distinct_working_hosts(sshd_pool: HostPool) -> None:
    hosts = sshd_pool.start_many(["many1", "many2"], sudo=False)
    assert len({h.address for h in hosts}) == len({h.user for h in hosts}) == 2
    for host in hosts:
        done = _ssh(host, "id -un")
        assert (done.returncode, done.stdout.strip()) == (0, host.user), done.stderr

"""Host key verification: strict by default, accept-new records, a changed key is refused."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from runbook_engine.connection.factory import connection_for
from runbook_engine.errors import HostUnreachable
from tests.fixtures.sshd import SSHHost


def _vars(host: SSHHost, known_hosts: Path, **extra: Any) -> dict[str, Any]:
    return {**host.inventory_vars(), "runbook_known_hosts_file": str(known_hosts), **extra}


def _whoami(host: SSHHost, host_vars: dict[str, Any]) -> str:
    conn = connection_for(host.name, host_vars)
    try:
        return conn.run("id -un").stdout.strip()
    finally:
        conn.close()


def _other_key_line(host: SSHHost, tmp_path: Path) -> str:
    key = tmp_path / "impostor"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return f"{host.address} {' '.join(Path(f'{key}.pub').read_text().split()[:2])}\n"


def test_known_key_is_accepted(ssh_hosts: list[SSHHost]) -> None:
    host = ssh_hosts[0]
    assert _whoami(host, host.inventory_vars()) == host.user


def test_unknown_host_is_refused_with_the_way_to_trust_it(
    ssh_hosts: list[SSHHost], tmp_path: Path
) -> None:
    host = ssh_hosts[0]
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(HostUnreachable) as refused:
        _whoami(host, _vars(host, empty))
    message = str(refused.value)
    assert "not known" in message
    assert f"ssh-keyscan -t ed25519 {host.address} >> {empty}" in message
    assert "accept-new" in message
    assert empty.read_text() == ""  # nothing recorded


def test_accept_new_records_the_key_then_verifies_it(
    ssh_hosts: list[SSHHost], tmp_path: Path
) -> None:
    host = ssh_hosts[1]
    known = tmp_path / "known_hosts"
    assert _whoami(host, _vars(host, known, runbook_host_key_checking="accept-new")) == host.user
    assert known.read_text() == host.known_hosts_line()
    # recorded: a strict connection now succeeds with that file alone
    assert _whoami(host, _vars(host, known)) == host.user


def test_changed_key_is_refused_even_with_accept_new(
    ssh_hosts: list[SSHHost], tmp_path: Path
) -> None:
    host = ssh_hosts[0]
    known = tmp_path / "known_hosts"
    known.write_text(_other_key_line(host, tmp_path))
    before = known.read_text()
    for checking in ("strict", "accept-new"):
        with pytest.raises(HostUnreachable, match="HOST KEY CHANGED") as refused:
            _whoami(host, _vars(host, known, runbook_host_key_checking=checking))
        assert f"ssh-keygen -R {host.address} -f {known}" in str(refused.value)
    assert known.read_text() == before


def test_checking_off_connects_to_an_unknown_host(
    ssh_hosts: list[SSHHost], tmp_path: Path
) -> None:
    host = ssh_hosts[0]
    known = tmp_path / "known_hosts"
    host_vars = _vars(host, known, ansible_host_key_checking=False)
    assert _whoami(host, host_vars) == host.user
    assert not known.exists()


def test_ansible_known_hosts_var_is_honoured(ssh_hosts: list[SSHHost]) -> None:
    host = ssh_hosts[2]
    host_vars = host.inventory_vars()
    host_vars["ansible_ssh_known_hosts_file"] = host_vars.pop("runbook_known_hosts_file")
    assert _whoami(host, host_vars) == host.user


def test_hashed_known_hosts_entries_are_honoured(
    ssh_hosts: list[SSHHost], tmp_path: Path
) -> None:
    """`HashKnownHosts yes` (Debian's default for ~/.ssh/known_hosts) stores names hashed."""
    host, other = ssh_hosts[0], ssh_hosts[1]
    known = tmp_path / "known_hosts"
    known.write_text(other.known_hosts_line() + host.known_hosts_line())
    subprocess.run(["ssh-keygen", "-H", "-f", str(known)], check=True, capture_output=True)
    assert host.address not in known.read_text()  # hashed now
    assert _whoami(host, _vars(host, known)) == host.user
    # ...and a hashed entry with another key still means "changed", not "unknown"
    known.write_text(_other_key_line(host, tmp_path))
    subprocess.run(["ssh-keygen", "-H", "-f", str(known)], check=True, capture_output=True)
    with pytest.raises(HostUnreachable, match="HOST KEY CHANGED"):
        _whoami(host, _vars(host, known))


def test_only_the_hosts_own_entry_counts_in_a_shared_file(
    ssh_hosts: list[SSHHost], tmp_path: Path
) -> None:
    """One known_hosts file for a fleet: another host's entries neither let this host in
    nor keep it out."""
    host, other = ssh_hosts[0], ssh_hosts[1]
    known = tmp_path / "known_hosts"
    known.write_text(host.known_hosts_line().replace(host.address, other.address, 1))
    with pytest.raises(HostUnreachable, match="not known"):
        _whoami(host, _vars(host, known))  # its key, under another name: not trusted
    known.write_text(other.known_hosts_line() + host.known_hosts_line())
    assert _whoami(host, _vars(host, known)) == host.user

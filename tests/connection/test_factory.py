"""Inventory variables -> connection settings (no server needed)."""

from __future__ import annotations

import pytest

from runbook_engine.connection.factory import (
    command_line_overrides,
    connection_for,
    ssh_settings,
)
from runbook_engine.connection.local import LocalConnection
from runbook_engine.connection.ssh import JumpHost, SSHConnection
from runbook_engine.errors import InputError


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1"])
def test_localhost_without_a_connection_var_is_local(name: str) -> None:
    assert isinstance(connection_for(name, {}), LocalConnection)


def test_explicit_connection_wins() -> None:
    assert isinstance(connection_for("web1", {"ansible_connection": "local"}), LocalConnection)
    conn = connection_for("localhost", {"ansible_connection": "ssh"})
    assert isinstance(conn, SSHConnection)
    assert isinstance(connection_for("localhost", {"ansible_host": "10.0.0.5"}), SSHConnection)


def test_unknown_connection_type_is_an_input_error() -> None:
    with pytest.raises(InputError, match="winrm"):
        connection_for("web1", {"ansible_connection": "winrm"})


def test_ansible_vars_map_to_settings() -> None:
    settings = ssh_settings(
        "web1",
        {
            "ansible_host": "192.0.2.10",
            "ansible_port": "2222",
            "ansible_user": "deploy",
            "ansible_ssh_private_key_file": "~/.ssh/deploy",
            "ansible_password": "secret",
            "ansible_ssh_timeout": 4,
            "ansible_ssh_common_args": "-o ProxyJump=jump@bastion:2200,hop2 -o ControlMaster=auto",
            "ansible_ssh_extra_args": "-o ServerAliveInterval=7",
            "runbook_host_key_checking": "accept-new",
            "runbook_known_hosts_file": "/etc/runbook/known_hosts",
        },
    )
    assert (settings.address, settings.port, settings.user) == ("192.0.2.10", 2222, "deploy")
    assert settings.key_files == ("~/.ssh/deploy",)
    assert settings.password == "secret"
    assert settings.connect_timeout == 4
    assert settings.jumps == (JumpHost("bastion", 2200, "jump"), JumpHost("hop2", 22, None))
    assert settings.keepalive_interval == 7
    assert settings.host_key_checking == "accept-new"
    assert settings.known_hosts_file == "/etc/runbook/known_hosts"


def test_defaults_are_strict_and_use_the_inventory_name() -> None:
    settings = ssh_settings("db.example.com", {})
    assert (settings.address, settings.port, settings.user) == ("db.example.com", 22, None)
    assert settings.host_key_checking == "strict"
    assert settings.jumps == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, "strict"), (False, "off"), ("false", "off"), ("yes", "strict"),
     ("accept-new", "accept-new")],
)
def test_host_key_checking_values(value: object, expected: str) -> None:
    settings = ssh_settings("h", {"ansible_host_key_checking": value})
    assert settings.host_key_checking == expected


def test_strict_host_key_checking_from_ssh_args() -> None:
    settings = ssh_settings("h", {"ansible_ssh_common_args": "-o StrictHostKeyChecking=no"})
    assert settings.host_key_checking == "off"


def test_bad_values_are_input_errors() -> None:
    with pytest.raises(InputError, match="host key checking"):
        ssh_settings("h", {"runbook_host_key_checking": "sometimes"})
    with pytest.raises(InputError, match="web1"):
        ssh_settings("web1", {"ansible_port": "twenty-two"})


def test_bad_values_given_with_e_are_the_command_lines() -> None:
    with pytest.raises(InputError) as port:
        command_line_overrides({"ansible_port": "twenty-two"})
    assert port.value.message == "-e: ansible_port 'twenty-two' is not a number"
    with pytest.raises(InputError) as args:
        command_line_overrides({"ansible_ssh_common_args": "-o 'ProxyJump=unclosed"})
    assert args.value.message.startswith("-e ansible_ssh_common_args: cannot parse ssh args")


def test_jump_host_forms() -> None:
    assert JumpHost.parse("bastion") == JumpHost("bastion", 22, None)
    assert JumpHost.parse("u@h:2022") == JumpHost("h", 2022, "u")
    assert JumpHost.parse("u@[2001:db8::1]:2022") == JumpHost("2001:db8::1", 2022, "u")
    assert JumpHost.parse_all("a, u@b:2022") == (JumpHost("a"), JumpHost("b", 2022, "u"))
    assert JumpHost.parse_all("none") == JumpHost.parse_all(None) == ()
    with pytest.raises(ValueError, match="jump host 'b:x': port 'x' is not a number"):
        JumpHost.parse_all("a,b:x")


def test_templated_connection_variables_render_through_other_templates(tmp_path) -> None:
    from runbook_engine.connection.factory import host_connection_vars
    from runbook_engine.inventory import load_inventory
    from runbook_engine.templating import Templar

    inv = tmp_path / "inv.yml"
    inv.write_text(
        "all:\n"
        "  vars:\n"
        "    team: ops\n"
        "    deploy_user: '{{ team }}-deploy'\n"
        "  hosts:\n"
        "    web1:\n"
        "      ansible_user: '{{ deploy_user }}'\n"
        "      ansible_host: '{{ inventory_hostname }}.{{ domain }}'\n")
    found = host_connection_vars(load_inventory([str(inv)]), "web1", {}, lambda v: v,
                                 Templar(), {"domain": "example.net"})
    assert found["ansible_user"] == "ops-deploy"
    assert found["ansible_host"] == "web1.example.net"


def test_ssh_args_that_do_not_parse_are_not_echoed() -> None:
    args = '-o ProxyCommand="sshpass -p s3cret-Wombat ssh -W %h:%p jump'  # unclosed quote
    with pytest.raises(InputError) as bad:
        ssh_settings("web1", {"ansible_ssh_common_args": args})
    assert bad.value.message == "host web1: cannot parse ssh args: No closing quotation"
    with pytest.raises(InputError) as listed:
        ssh_settings("web1", {"ansible_ssh_extra_args": ["-o", "ProxyCommand=s3cret-Wombat"]})
    assert "ansible_ssh_extra_args must be text, got a list" in listed.value.message
    assert "s3cret" not in bad.value.render() + listed.value.render()

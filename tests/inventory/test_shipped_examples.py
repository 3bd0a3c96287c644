from __future__ import annotations

from pathlib import Path

from runbook_engine.inventory import load_inventory

INVENTORIES = Path(__file__).resolve().parents[2] / "inventories"


def test_yaml_and_ini_examples_describe_the_same_fleet():
    from_yaml = load_inventory([str(INVENTORIES / "example.yml")])
    from_ini = load_inventory([str(INVENTORIES / "example.ini")])
    assert from_yaml.groups == from_ini.groups
    assert from_yaml.select("production:&dbservers:!db-c") == ["db-a", "db-b"]
    for host in ("web02", "db-c", "mon01"):
        assert from_yaml.group_names(host) == from_ini.group_names(host)


def test_example_host_key_guidance_is_applied_per_host():
    inventory = load_inventory([str(INVENTORIES / "example.yml")])
    assert inventory.host_vars("web01")["runbook_host_key_checking"] is True
    assert inventory.host_vars("mon01")["runbook_host_key_checking"] == "accept-new"
    assert inventory.host_vars("web05")["ansible_host"] == "198.51.100.15"


def test_local_inventory_is_this_machine_only():
    inventory = load_inventory([str(INVENTORIES / "local.yml")])
    assert inventory.select("all") == ["localhost"]
    assert inventory.host_vars("localhost")["ansible_connection"] == "local"


def test_magic_vars_of_a_host():
    path = INVENTORIES / "example.yml"
    magic = load_inventory([str(path)]).magic_vars("db-a")
    assert magic["inventory_hostname"] == "db-a"
    assert magic["inventory_hostname_short"] == "db-a"
    assert magic["group_names"] == ["dbservers", "eu", "production"]
    assert magic["groups"]["monitoring"] == ["mon01"]
    assert magic["inventory_file"] == str(path)
    assert magic["inventory_dir"] == str(INVENTORIES)

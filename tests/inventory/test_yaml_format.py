from __future__ import annotations

from runbook_engine.inventory import load_inventory
from runbook_engine.loader.yaml_source import VaultTagged, YamlMap

FLEET = """
all:
  vars:
    ntp: time.example.net
  hosts:
    bastion:
  children:
    webservers:
      hosts:
        web[01:03]:
          http_port: 8080
        web10:2222:
      vars:
        role: web
    dbservers:
      hosts:
        db1:
          ansible_host: 10.0.0.5
    prod:
      children:
        webservers:
        dbservers:
      vars:
        env: production
"""


def test_yaml_hosts_groups_and_implicit_groups(write):
    inventory = load_inventory([str(write("hosts.yml", FLEET))])
    assert inventory.hosts == ["bastion", "web01", "web02", "web03", "web10", "db1"]
    groups = inventory.groups
    assert groups["webservers"] == ["web01", "web02", "web03", "web10"]
    assert groups["prod"] == ["web01", "web02", "web03", "web10", "db1"]
    assert groups["ungrouped"] == ["bastion"]
    assert groups["all"] == inventory.hosts
    assert inventory.group_names("web02") == ["prod", "webservers"]
    assert inventory.group_names("bastion") == ["ungrouped"]


def test_yaml_host_vars_port_and_inheritance(write):
    inventory = load_inventory([str(write("hosts.yml", FLEET))])
    assert inventory.host_vars("web02") == {
        "ntp": "time.example.net", "env": "production", "role": "web", "http_port": 8080,
    }
    assert inventory.host_vars("web10")["ansible_port"] == 2222
    assert inventory.host_vars("db1")["ansible_host"] == "10.0.0.5"


def test_yaml_values_are_kept_as_loaded(write):
    path = write("hosts.yml", """
        all:
          hosts:
            h1:
              secret: !vault |
                $ANSIBLE_VAULT;1.1;AES256
                6162
              nested: {a: 1}
        """)
    variables = load_inventory([str(path)]).host_vars("h1")
    assert isinstance(variables["secret"], VaultTagged)
    assert isinstance(variables["nested"], YamlMap)
    assert str(variables["nested"].pos("a")).startswith(f"{path}:")


def test_top_level_groups_other_than_all_become_children_of_all(write):
    path = write("hosts.yaml", """
        web:
          hosts:
            w1:
        empty:
        """)
    inventory = load_inventory([str(path)])
    assert inventory.group_objects["all"].children == ["ungrouped", "web", "empty"]
    assert inventory.groups["empty"] == []


def test_json_inventory_file_reads_as_yaml(write):
    path = write("hosts.json", '{"all": {"hosts": {"j1": {"x": 1}}}}')
    assert load_inventory([str(path)]).host_vars("j1") == {"x": 1}


def test_yaml_content_without_suffix_is_detected(write):
    path = write("hosts", "all:\n  hosts:\n    s1:\n")
    assert load_inventory([str(path)]).hosts == ["s1"]

from __future__ import annotations

from runbook_engine.inventory import load_inventory

FLEET = """
# comment
bastion ansible_host=192.0.2.1

[webservers]
web[01:02] http_port=8080 tags="['a', 'b']" motd="hello world"  # trailing comment
web03:2222 debug=True

[dbservers]
db-[a:c]

[prod:children]
webservers
dbservers

[prod:vars]
env = production
retries=3
greeting=hello there # comment

; another comment
[dbservers:vars]
env=db-prod
"""


def test_ini_groups_children_and_ungrouped(write):
    inventory = load_inventory([str(write("hosts.ini", FLEET))])
    assert inventory.hosts == ["bastion", "web01", "web02", "web03", "db-a", "db-b", "db-c"]
    assert inventory.groups["prod"] == ["web01", "web02", "web03", "db-a", "db-b", "db-c"]
    assert inventory.groups["ungrouped"] == ["bastion"]
    assert inventory.group_names("db-b") == ["dbservers", "prod"]


def test_ini_inline_values_are_python_literals_else_text(write):
    inventory = load_inventory([str(write("hosts.ini", FLEET))])
    web01 = inventory.host_vars("web01")
    assert web01["http_port"] == 8080
    assert web01["tags"] == ["a", "b"]
    assert web01["motd"] == "hello world"
    web03 = inventory.host_vars("web03")
    assert web03["debug"] is True and web03["ansible_port"] == 2222


def test_ini_group_vars_and_child_group_wins(write):
    inventory = load_inventory([str(write("hosts.ini", FLEET))])
    assert inventory.host_vars("web01")["env"] == "production"
    assert inventory.host_vars("web01")["retries"] == 3
    assert inventory.host_vars("web01")["greeting"] == "hello there"
    assert inventory.host_vars("db-a")["env"] == "db-prod"


def test_ini_children_may_be_declared_before_the_group(write):
    path = write("hosts", """
        [all_servers:children]
        late
        [late]
        l1
        """)
    inventory = load_inventory([str(path)])
    assert inventory.groups["all_servers"] == ["l1"]


def test_host_in_two_groups_merges_inline_vars(write):
    path = write("hosts.ini", """
        [a]
        h1 x=1
        [b]
        h1 y=2
        """)
    inventory = load_inventory([str(path)])
    assert inventory.host_vars("h1") == {"x": 1, "y": 2}
    assert inventory.groups["ungrouped"] == []

from __future__ import annotations

import json
import time

from runbook_engine.inventory import load_inventory

INVENTORY = """
all:
  vars:
    level: all-inline
    from_all: yes
  children:
    parent:
      vars:
        level: parent-inline
      children:
        child:
          vars:
            level: child-inline
          hosts:
            h1:
              level: host-inline
            h2:
"""


def test_child_group_beats_parent_beats_all(write):
    inventory = load_inventory([str(write("inv/hosts.yml", INVENTORY))])
    assert inventory.host_vars("h2")["level"] == "child-inline"
    assert inventory.host_vars("h2")["from_all"] is True
    assert inventory.host_vars("h1")["level"] == "host-inline"


def test_group_vars_files_beat_inline_and_host_vars_beat_everything(write, tmp_path):
    path = write("inv/hosts.yml", INVENTORY)
    write("inv/group_vars/all.yml", "level: all-file\nonly_all_file: 1\n")
    write("inv/group_vars/parent.yaml", "level: parent-file\n")
    write("inv/host_vars/h1.json", '{"level": "host-file"}')
    inventory = load_inventory([str(path)])
    # Ansible's default order: group_vars/ files come after every inline group var
    assert inventory.host_vars("h2")["level"] == "parent-file"
    assert inventory.host_vars("h2")["only_all_file"] == 1
    assert inventory.host_vars("h1")["level"] == "host-file"


def test_playbook_dir_vars_beat_inventory_dir_vars(write, tmp_path):
    path = write("inv/hosts.yml", INVENTORY)
    write("inv/group_vars/child.yml", "level: inventory-dir\n")
    write("play/group_vars/child.yml", "level: playbook-dir\n")
    write("play/host_vars/localhost.yml", "local_only: 1\n")
    inventory = load_inventory([str(path)], extra_var_dirs=[tmp_path / "play"])
    assert inventory.host_vars("h2")["level"] == "playbook-dir"
    assert inventory.host_vars("localhost")["local_only"] == 1


def test_vars_directory_files_merge_in_sorted_order(write, tmp_path):
    path = write("hosts.ini", "[web]\nw1\n")
    write("group_vars/web/10-base.yml", "a: base\nb: base\n")
    write("group_vars/web/20-override.yml", "b: override\n")
    write("group_vars/web/notes.txt", "c: ignored\n")
    write("group_vars/web.yml", "a: shadowed-by-directory\n")
    assert load_inventory([str(path)]).host_vars("w1") == {"a": "base", "b": "override"}


def test_group_priority_orders_siblings_then_name(write):
    path = write("hosts.ini", """
        [alpha]
        h1
        [beta]
        h1
        [alpha:vars]
        x=alpha
        [beta:vars]
        x=beta
        """)
    assert load_inventory([str(path)]).host_vars("h1")["x"] == "beta"  # same depth: by name
    path.write_text(path.read_text().replace("x=alpha", "x=alpha\nansible_group_priority=20"))
    variables = load_inventory([str(path)]).host_vars("h1")
    assert variables["x"] == "alpha"
    assert "ansible_group_priority" not in variables


def test_depth_beats_priority(write):
    path = write("hosts.yml", """
        all:
          children:
            outer:
              vars: {x: outer, ansible_group_priority: 99}
              children:
                inner:
                  vars: {x: inner}
                  hosts: {h1: }
        """)
    assert load_inventory([str(path)]).host_vars("h1")["x"] == "inner"


def test_implicit_localhost_is_local_and_not_in_all(write):
    path = write("hosts.yml", "all:\n  vars:\n    site: s1\n  hosts:\n    web1:\n")
    inventory = load_inventory([str(path)])
    assert inventory.select("localhost") == ["localhost"]
    assert inventory.host_vars("localhost") == {"site": "s1", "ansible_connection": "local"}
    assert "localhost" not in inventory.groups["all"]
    assert inventory.select("all") == ["web1"]


def test_declared_localhost_keeps_its_own_vars(write):
    path = write("hosts.yml", "all:\n  hosts:\n    localhost:\n      ansible_connection: ssh\n")
    inventory = load_inventory([str(path)])
    assert inventory.host_vars("localhost") == {"ansible_connection": "ssh"}
    assert inventory.select("all") == ["localhost"]


def test_host_vars_returns_a_copy_and_is_cached(write):
    inventory = load_inventory([str(write("hosts.yml", INVENTORY))])
    first = inventory.host_vars("h1")
    first["level"] = "mutated"
    assert inventory.host_vars("h1")["level"] == "host-inline"


def test_500_hosts_load_and_merge_fast(write, tmp_path):
    lines = ["[web]", "web[001:250] http_port=8080", "[prod:children]", "web", "[prod:vars]",
             "env=prod"]
    path = write("big.ini", "\n".join(lines) + "\n")
    groups = {f"g{i}": {"hosts": {f"y{i:03d}": {"n": i}}, "vars": {"v": i}} for i in range(250)}
    yaml_path = write("big.yml", json.dumps({"all": {"children": groups}}))

    def load_and_merge() -> float:
        start = time.process_time()
        inventory = load_inventory([str(path), str(yaml_path)])
        for host in inventory.hosts:
            inventory.host_vars(host)
        inventory.select("prod:&web:!web00*")
        assert len(inventory.hosts) == 500
        assert inventory.host_vars("y042") == {"v": 42, "n": 42}
        return time.process_time() - start

    # CPU time, best of three: the machine is shared, wall time would measure the others
    assert min(load_and_merge() for _ in range(3)) < 0.1


def _where(inventory, host: str, name: str) -> tuple[str, int] | None:
    position = inventory.var_position(host, name)
    return None if position is None else (position.file.rsplit("/", 1)[-1], position.line)


def test_var_position_names_the_source_that_wins(write, tmp_path):
    path = write("inv/hosts.yml", INVENTORY)
    write("inv/group_vars/parent.yaml", "x: 1\nlevel: parent-file\n")
    write("inv/host_vars/h1/10-a.yml", "level: host-file-a\n")
    write("inv/host_vars/h1/20-b.yml", "a: 1\nb: 2\nlevel: host-file-b\n")
    write("play/group_vars/all.yml", "only_here: 1\n")
    inventory = load_inventory([str(path)], extra_var_dirs=[tmp_path / "play"])
    assert _where(inventory, "h2", "level") == ("parent.yaml", 2)
    assert _where(inventory, "h1", "level") == ("20-b.yml", 3)  # the last file wins
    assert _where(inventory, "h2", "from_all") == ("hosts.yml", 4)  # all's inline vars
    assert _where(inventory, "h2", "only_here") == ("all.yml", 1)
    assert inventory.var_position("h2", "nowhere") is None


def test_var_position_in_ini_points_at_the_variable_itself(write):
    path = write("hosts.ini", "[web]\nw1   port_here=1 ansible_user=deploy\n\n"
                 "[web:vars]\ngroup_level=2\n")
    inventory = load_inventory([str(path)])
    user = inventory.var_position("w1", "ansible_user")
    assert (user.line, user.column) == (2, 18)
    assert inventory.var_position("w1", "group_level").line == 5

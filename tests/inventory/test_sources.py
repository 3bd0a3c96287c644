from __future__ import annotations

import stat
import sys

import pytest

from runbook_engine.errors import InputError
from runbook_engine.inventory import load_inventory


def test_several_sources_merge_into_one_inventory(write):
    first = write("a.yml", "web:\n  hosts:\n    w1:\n")
    second = write("b.ini", "[web]\nw2\n[db]\nd1\n")
    inventory = load_inventory([str(first), str(second)])
    assert inventory.hosts == ["w1", "w2", "d1"]
    assert inventory.groups["web"] == ["w1", "w2"]


def test_directory_source_reads_every_file_and_its_vars_dirs(write, tmp_path):
    write("inv/10-web.yml", "web:\n  hosts:\n    w1:\n")
    write("inv/20-db", "[db]\nd1\n")
    write("inv/README.md", "not an inventory: [ignored\n")
    write("inv/.hidden.yml", "- not: even a mapping\n")
    write("inv/group_vars/web.yml", "tier: front\n")
    write("inv/host_vars/d1/main.yml", "role: primary\n")
    inventory = load_inventory([str(tmp_path / "inv")])
    assert inventory.hosts == ["w1", "d1"]
    assert inventory.host_vars("w1") == {"tier": "front"}
    assert inventory.host_vars("d1") == {"role": "primary"}


def test_comma_list_source(tmp_path):
    inventory = load_inventory(["h1, h2:2200,"])
    assert inventory.hosts == ["h1", "h2"]
    assert inventory.groups["ungrouped"] == ["h1", "h2"]
    assert inventory.host_vars("h2") == {"ansible_port": 2200}


def test_missing_source_is_input_error_with_hint():
    with pytest.raises(InputError, match="inventory source 'nosuchhost' not found") as info:
        load_inventory(["nosuchhost"])
    assert "nosuchhost," in info.value.hint


def _script(write, name: str, body: str):
    path = write(name, f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


LIST_OUTPUT = {
    "web": {"hosts": ["w1", "w2"], "vars": {"tier": "front"}, "children": ["canary"]},
    "canary": ["w3"],
    "_meta": {"hostvars": {"w1": {"ansible_host": "10.0.0.1"}}},
}


def test_dynamic_inventory_script_with_meta(write):
    path = _script(write, "dyn.py", f"import json\nprint(json.dumps({LIST_OUTPUT!r}))\n")
    inventory = load_inventory([str(path)])
    assert inventory.groups["web"] == ["w1", "w2", "w3"]
    assert inventory.host_vars("w1") == {"tier": "front", "ansible_host": "10.0.0.1"}
    assert inventory.host_vars("w3") == {"tier": "front"}


def test_dynamic_inventory_script_without_meta_asks_each_host(write):
    body = (
        "import json, sys\n"
        "if sys.argv[1] == '--list':\n"
        "    print(json.dumps({'db': ['d1', 'd2']}))\n"
        "else:\n"
        "    print(json.dumps({'asked': sys.argv[2]}))\n"
    )
    inventory = load_inventory([str(_script(write, "dyn", body))])
    assert inventory.host_vars("d2") == {"asked": "d2"}


def test_failing_script_is_input_error_naming_it(write):
    path = _script(write, "broken.sh", "import sys\nsys.exit('backend down')\n")
    with pytest.raises(InputError, match="exited with status 1") as info:
        load_inventory([str(path)])
    assert "backend down" in info.value.message
    assert info.value.position.file == str(path)


def test_script_printing_invalid_json(write):
    path = _script(write, "bad.py", "print('{not json')\n")
    with pytest.raises(InputError, match="invalid JSON at output line 1"):
        load_inventory([str(path)])


def test_non_executable_file_is_not_run(write):
    path = write("plain.py", "#!/bin/sh\n[web]\nw1\n")
    assert load_inventory([str(path)]).hosts == ["w1"]



ENVELOPE = "$ANSIBLE_VAULT;1.1;AES256\n6162636465\n"


def test_vault_encrypted_vars_file_needs_a_password(write):
    path = write("hosts.ini", "[web]\nw1\n")
    secret = write("group_vars/web/vault.yml", ENVELOPE)
    with pytest.raises(InputError, match="vault-encrypted and no vault password") as info:
        load_inventory([str(path)])
    assert info.value.position.file == str(secret)


def test_vault_encrypted_files_are_decrypted_by_the_given_decoder(write):
    inventory_file = write("hosts.yml", ENVELOPE)
    write("group_vars/web/vault.yml", ENVELOPE)
    plaintexts = {
        "hosts.yml": "web:\n  hosts:\n    w1:\n",
        "vault.yml": "db_password: s3cret\n",
    }

    def decode(text: str, path):
        assert text == ENVELOPE
        return plaintexts[path.name]

    inventory = load_inventory([str(inventory_file)], vault=decode)
    assert inventory.host_vars("w1") == {"db_password": "s3cret"}

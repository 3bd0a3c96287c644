"""Each malformed inventory stops with an InputError naming file:line:column."""

from __future__ import annotations

import pytest

from runbook_engine.errors import InputError
from runbook_engine.inventory import load_inventory

CASES = [
    pytest.param(
        "hosts.yml",
        "all:\n  children:\n    web:\n      host:\n        w1:\n",
        "4:7", "unknown key 'host' in group 'web'", "did you mean 'hosts'?",
        id="yaml-typo-host-for-hosts",
    ),
    pytest.param(
        "hosts.yml",
        "all:\n  children:\n    web:\n      hosts:\n        - w1\n        - w2\n",
        "5:9", "'hosts' of group 'web' must be a mapping, got a list", "not a '- item' list",
        id="yaml-hosts-as-list",
    ),
    pytest.param(
        "hosts.yml",
        "all:\n  children:\n    web:\n      children:\n        web:\n",
        "5:9", "group 'web' cannot be a child of 'web': that makes a cycle",
        "cannot contain itself",
        id="yaml-group-its-own-child",
    ),
    pytest.param(
        "hosts.yml",
        "a:\n  children:\n    b:\n      children:\n        c:\n          children:\n"
        "            a:\n",
        "7:13", "cycle (c -> a -> b -> c)", "",
        id="yaml-indirect-cycle",
    ),
    pytest.param(
        "hosts.yml",
        "all:\n  hosts:\n    ok1:\n    web[01:3]:\n",
        "4:5", "zero-padded start and its end must have the same width", "web[01:03]",
        id="yaml-malformed-range",
    ),
    pytest.param(
        "hosts.yml",
        "all:\n  hosts:\n    h1:\n      port: [1, 2\n",
        "5:1", "YAML syntax", "",
        id="yaml-syntax-error",
    ),
    pytest.param(
        "hosts.yml",
        "all:\n  hosts:\n    h1: 5\n",
        "3:9", "variables of host 'h1' must be a mapping", "",
        id="yaml-host-vars-not-mapping",
    ),
    pytest.param(
        "hosts.yml",
        "- web1\n- web2\n",
        "1:1", "a YAML inventory is a mapping of group names, got a list", "start the file with",
        id="yaml-top-level-list",
    ),
    pytest.param(
        "hosts.yml",
        "all:\n  vars:\n    a: 1\n    a: 2\n",
        "4:5", "duplicate key 'a'", "",
        id="yaml-duplicate-key",
    ),
    pytest.param(
        "hosts.yml",
        "all:\n  children:\n    web:\n      vars:\n        ansible_group_priority: high\n",
        "5:33", "ansible_group_priority of group 'web' must be an integer", "",
        id="yaml-priority-not-int",
    ),
    pytest.param(
        "hosts.ini",
        "[web]\nw1\n\n[db\nd1\n",
        "4:1", "malformed section header '[db'", "[group:children]",
        id="ini-malformed-header",
    ),
    pytest.param(
        "hosts.ini",
        "[web]\nw1\n[prod:child]\nweb\n",
        "3:7", "section [prod:child] has unknown type 'child'", "did you mean 'children'?",
        id="ini-unknown-section-type",
    ),
    pytest.param(
        "hosts.ini",
        "[web]\n  w1 ansible_port=22 primary\n",
        "2:22", "expected key=value after host 'w1', got 'primary'", "quote values",
        id="ini-host-token-without-equals",
    ),
    pytest.param(
        "hosts.ini",
        "[webservers]\nw1\n[prod:children]\nwebserver\n",
        "4:1", "[prod:children] names group 'webserver', which is not defined",
        "did you mean 'webservers'?",
        id="ini-undefined-child-group",
    ),
    pytest.param(
        "hosts.ini",
        "[web]\nw1\n[wbe:vars]\nx=1\n",
        "4:1", "section [wbe:vars] is for group 'wbe', which is not defined",
        "did you mean 'web'?",
        id="ini-vars-for-undefined-group",
    ),
    pytest.param(
        "hosts.ini",
        "[web]\nw1\n[web:vars]\nhttp_port 80\n",
        "4:1", "expected key=value in [web:vars]", "",
        id="ini-vars-line-without-equals",
    ),
    pytest.param(
        "hosts.ini",
        "# fleet\n[web]\n\nweb[1:b]\n",
        "4:1", "malformed host range '[1:b]' in 'web[1:b]'", "[start:end]",
        id="ini-malformed-range",
    ),
    pytest.param(
        "hosts.ini",
        "[a:children]\nb\n[b:children]\na\n",
        "4:1", "group 'a' cannot be a child of 'b': that makes a cycle (b -> a -> b)", "",
        id="ini-cycle",
    ),
    pytest.param(
        "hosts.ini",
        "[web]\nw1 motd='unclosed\n",
        "2:1", "cannot read host line: No closing quotation", "",
        id="ini-unclosed-quote",
    ),
]


@pytest.mark.parametrize(("name", "text", "where", "message", "hint"), CASES)
def test_malformed_inventory_names_file_line_column(write, name, text, where, message, hint):
    path = write(name, text)
    with pytest.raises(InputError) as info:
        load_inventory([str(path)])
    error = info.value
    assert message in error.message
    assert hint in error.hint
    assert str(error.position) == f"{path}:{where}"
    assert error.render().startswith(f"{path}:{where}: error: ")


def test_vars_file_that_is_not_a_mapping(write, tmp_path):
    path = write("hosts.ini", "[web]\nw1\n")
    bad = write("group_vars/web.yml", "# web servers\n- http_port: 80\n")
    with pytest.raises(InputError, match="a vars file holds a mapping") as info:
        load_inventory([str(path)])
    assert str(info.value.position) == f"{bad}:2:1"


def test_vars_file_with_yaml_error_names_its_line(write):
    path = write("hosts.ini", "[web]\nw1\n")
    bad = write("host_vars/w1.yml", "a: 1\nb: [unclosed\n")
    with pytest.raises(InputError, match="YAML syntax") as info:
        load_inventory([str(path)])
    assert info.value.position.file == str(bad)
    assert info.value.position.line == 3

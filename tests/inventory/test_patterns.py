from __future__ import annotations

import pytest

from runbook_engine.errors import InputError, Position
from runbook_engine.inventory import load_inventory

INVENTORY = """
[webservers]
web1
web2
web3
[dbservers]
db1
db2
[staging]
web3
db2
[empty]
"""


@pytest.fixture
def inventory(write):
    return load_inventory([str(write("hosts.ini", INVENTORY))])


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("all", ["web1", "web2", "web3", "db1", "db2"]),
        ("*", ["web1", "web2", "web3", "db1", "db2"]),
        ("web2", ["web2"]),
        ("dbservers", ["db1", "db2"]),
        ("dbservers:webservers", ["web1", "web2", "web3", "db1", "db2"]),
        ("db1,web1", ["web1", "db1"]),
        ("webservers:&staging", ["web3"]),
        ("webservers:!staging", ["web1", "web2"]),
        ("all:!webservers", ["db1", "db2"]),
        ("!staging", ["web1", "web2", "db1"]),
        ("webservers:dbservers:&staging:!db2", ["web3"]),
        ("web*", ["web1", "web2", "web3"]),
        ("db?", ["db1", "db2"]),
        ("~web[12]", ["web1", "web2"]),
        (r"~(web|db)\d$", ["web1", "web2", "web3", "db1", "db2"]),
        ("webservers[0]", ["web1"]),
        ("webservers[-1]", ["web3"]),
        ("webservers[0:1]", ["web1", "web2"]),
        ("webservers[1:]", ["web2", "web3"]),
        ("webservers[0]:dbservers[1]", ["web1", "db2"]),
        ("web1:web1:webservers", ["web1", "web2", "web3"]),
        (["dbservers", "web2"], ["web2", "db1", "db2"]),
    ],
)
def test_patterns_select_in_inventory_order(inventory, pattern, expected):
    assert inventory.select(pattern) == expected


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("webservers", ["web1", "web2", "web3"]),
        ("staging", ["web3", "db2"]),
        ("all:!web1", ["web2", "web3", "db1", "db2"]),
        ("db*", ["db1", "db2"]),
    ],
)
def test_limit_narrows_the_pattern(inventory, limit, expected):
    assert inventory.select("all", limit=limit) == expected


def test_limit_from_file_one_host_a_line(inventory, write, tmp_path):
    retry = write("site.retry", "web2\n\n# a comment\n  db1  \n")
    assert inventory.select("all", limit=f"@{retry}") == ["web2", "db1"]
    assert inventory.select("all", limit=f"@{retry},web3") == ["web2", "web3", "db1"]


def test_limit_file_with_unknown_host_names_its_line(inventory, write):
    retry = write("site.retry", "web2\nweb9\n")
    with pytest.raises(InputError) as info:
        inventory.select("all", limit=f"@{retry}")
    assert str(info.value.position) == f"{retry}:2:1"
    assert "did you mean" in info.value.hint


def test_missing_limit_file(inventory, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        inventory.select("all", limit=f"@{tmp_path}/none.retry")


def test_limit_outside_the_pattern_skips_it_but_an_empty_limit_is_an_error(inventory):
    assert inventory.select("webservers", limit="dbservers") == []
    with pytest.raises(InputError, match="--limit 'empty' matches no hosts"):
        inventory.select("webservers", limit="empty")
    with pytest.raises(InputError, match="--limit 'dbserver' matches no host or group"):
        inventory.select("webservers", limit="dbserver")


def test_unknown_name_suggests_close_names_with_playbook_position(inventory):
    where = Position("site.yml", 3, 10)
    with pytest.raises(InputError) as info:
        inventory.select("webservers:dbserver", position=where)
    error = info.value
    assert "'dbserver' matches no host or group" in error.message
    assert "'dbservers'" in error.hint
    assert error.render().startswith("site.yml:3:10: error:")


def test_unmatched_wildcard_and_regex_are_errors(inventory):
    with pytest.raises(InputError, match="'mail\\*' matches no host or group"):
        inventory.select("mail*")
    with pytest.raises(InputError, match=r"'~\^mx' matches no host or group"):
        inventory.select("~^mx")


def test_invalid_regex_is_input_error(inventory):
    with pytest.raises(InputError, match="invalid regular expression"):
        inventory.select("~web[")


def test_empty_result_is_error_unless_allowed(inventory):
    with pytest.raises(InputError, match="'empty' matches no hosts"):
        inventory.select("empty")
    assert inventory.select("empty", allow_empty=True) == []
    assert inventory.select("webservers:&dbservers", allow_empty=True) == []


def test_subscript_out_of_range(inventory):
    with pytest.raises(InputError, match="index 5 is out of range, 'dbservers' has 2 hosts"):
        inventory.select("dbservers[5]")


def test_localhost_is_implicit_only_when_named(inventory):
    assert inventory.select("localhost:webservers[0]") == ["web1", "localhost"]
    assert inventory.group_names("localhost") == []

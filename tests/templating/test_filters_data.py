"""Data filters: conversions, JSON/YAML, dictionaries, lists and sets."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
import yaml

from runbook_engine.templating import Templar, TemplateError


@pytest.mark.parametrize(
    ("value", "expected"),
    [("yes", True), ("On", True), ("1", True), ("true", True), (1, True),
     ("no", False), ("y", False), ("off", False), ("0", False), ("", False), (None, False),
     (False, False)],
)  # fmt: skip
def test_bool_follows_ansible_truth_words(templar: Templar, value: object, expected: bool) -> None:
    assert templar.evaluate("v | bool", {"v": value}) is expected


def test_int_float_string_default(templar: Templar) -> None:
    assert templar.evaluate("'42' | int + 1", {}) == 43
    assert templar.evaluate("'2.5' | float * 2", {}) == 5.0
    assert templar.render("{{ 5 | string }}", {}) == "5"
    assert templar.evaluate("missing | default('fallback')", {}) == "fallback"
    assert templar.evaluate("missing.deeper | d(7)", {}) == 7


def test_to_json_handles_dates_and_sets(templar: Templar) -> None:
    value = {"when": dt.date(2024, 1, 2), "tags": {"a"}}
    assert json.loads(templar.evaluate("v | to_json", {"v": value})) == {
        "when": "2024-01-02",
        "tags": ["a"],
    }


def test_to_nice_json_is_sorted_and_indented(templar: Templar) -> None:
    out = templar.evaluate("{'b': 1, 'a': [1]} | to_nice_json", {})
    assert out == '{\n    "a": [\n        1\n    ],\n    "b": 1\n}'


def test_from_json_round_trip_and_error_names_filter(templar: Templar) -> None:
    assert templar.evaluate("'{\"a\": [1, 2]}' | from_json", {}) == {"a": [1, 2]}
    with pytest.raises(TemplateError, match=r"from_json: not valid JSON.*'nope'"):
        templar.evaluate("'nope' | from_json", {})


def test_yaml_filters(templar: Templar) -> None:
    assert templar.evaluate("{'a': [1, 2]} | to_yaml", {}) == "a: [1, 2]\n"
    nice = templar.evaluate("{'a': {'b': [1]}} | to_nice_yaml", {})
    assert nice == "a:\n    b:\n    - 1\n"
    assert templar.evaluate("'a: [1, {b: c}]' | from_yaml", {}) == {"a": [1, {"b": "c"}]}
    assert templar.evaluate("'a: 1\n---\nb: 2' | from_yaml_all", {}) == [{"a": 1}, {"b": 2}]
    with pytest.raises(TemplateError, match=r"from_yaml: not valid YAML"):
        templar.evaluate("'a: [' | from_yaml", {})


def test_to_yaml_of_rendered_text_and_tuples(templar: Templar) -> None:
    assert yaml.safe_load(templar.evaluate("('x', 'y') | to_yaml", {})) == ["x", "y"]


def test_combine_shallow_and_recursive(templar: Templar) -> None:
    base = {"a": 1, "nested": {"x": 1, "y": 1}, "list": [1, 2]}
    over = {"b": 2, "nested": {"y": 2}, "list": [2, 3]}
    variables = {"base": base, "over": over}
    assert templar.evaluate("base | combine(over)", variables) == {
        "a": 1, "b": 2, "nested": {"y": 2}, "list": [2, 3]
    }  # fmt: skip
    assert templar.evaluate("base | combine(over, recursive=True)", variables)["nested"] == {
        "x": 1,
        "y": 2,
    }
    assert base == {"a": 1, "nested": {"x": 1, "y": 1}, "list": [1, 2]}  # untouched


@pytest.mark.parametrize(
    ("how", "expected"),
    [("replace", [2, 3]), ("keep", [1, 2]), ("append", [1, 2, 2, 3]),
     ("prepend", [2, 3, 1, 2]), ("append_rp", [1, 2, 3]), ("prepend_rp", [2, 3, 1])],
)  # fmt: skip
def test_combine_list_merge(templar: Templar, how: str, expected: list[int]) -> None:
    out = templar.evaluate(f"{{'l': [1, 2]}} | combine({{'l': [2, 3]}}, list_merge='{how}')", {})
    assert out == {"l": expected}


def test_combine_list_of_dicts_and_bad_option(templar: Templar) -> None:
    assert templar.evaluate("[{'a': 1}, {'b': 2}] | combine", {}) == {"a": 1, "b": 2}
    with pytest.raises(TemplateError, match=r"combine: list_merge must be one of"):
        templar.evaluate("{} | combine({}, list_merge='zip')", {})
    with pytest.raises(TemplateError, match=r"combine: expects dictionaries.*got 3"):
        templar.evaluate("{} | combine(3)", {})


def test_dict2items_and_back(templar: Templar) -> None:
    assert templar.evaluate("{'a': 1} | dict2items", {}) == [{"key": "a", "value": 1}]
    assert templar.evaluate("{'a': 1} | dict2items('k', 'v')", {}) == [{"k": "a", "v": 1}]
    items = [{"name": "x", "port": 1}]
    assert templar.evaluate("i | items2dict('name', 'port')", {"i": items}) == {"x": 1}
    with pytest.raises(TemplateError, match=r"items2dict: each item needs 'key' and 'value'"):
        templar.evaluate("[{'a': 1}] | items2dict", {})
    with pytest.raises(TemplateError, match=r"dict2items: expects a dictionary \(got \[1\]\)"):
        templar.evaluate("[1] | dict2items", {})


def test_mandatory_names_the_variable(templar: Templar) -> None:
    assert templar.evaluate("x | mandatory", {"x": 0}) == 0
    with pytest.raises(TemplateError, match=r"mandatory variable 'db_password' is not defined"):
        templar.evaluate("db_password | mandatory", {})
    with pytest.raises(TemplateError, match=r"set db_host in group_vars"):
        templar.evaluate("db_host | mandatory('set db_host in group_vars')", {})


def test_ternary(templar: Templar) -> None:
    assert templar.evaluate("(x > 1) | ternary('big', 'small')", {"x": 2}) == "big"
    assert templar.evaluate("x | ternary('y', 'n', 'none')", {"x": None}) == "none"
    assert templar.evaluate("x | ternary('y', 'n')", {"x": None}) == "n"


def test_set_theory_keeps_order_and_handles_dicts(templar: Templar) -> None:
    v = {"a": [3, 1, 3, 2], "b": [2, 4], "d": [{"x": 1}, {"x": 1}]}
    assert templar.evaluate("a | unique", v) == [3, 1, 2]
    assert templar.evaluate("d | unique", v) == [{"x": 1}]
    assert templar.evaluate("['a', 'A', 'b'] | unique", v) == ["a", "b"]
    assert templar.evaluate("['a', 'A'] | unique(case_sensitive=True)", v) == ["a", "A"]
    users = [{"n": "a", "g": 1}, {"n": "b", "g": 1}, {"n": "c", "g": 2}]
    by_group = "u | unique(attribute='g') | map(attribute='n') | list"
    assert templar.evaluate(by_group, {"u": users}) == ["a", "c"]
    assert templar.evaluate("a | union(b)", v) == [3, 1, 2, 4]
    assert templar.evaluate("a | intersect(b)", v) == [2]
    assert templar.evaluate("a | difference(b)", v) == [3, 1]
    assert templar.evaluate("a | symmetric_difference(b)", v) == [3, 1, 4]


def test_flatten(templar: Templar) -> None:
    v = {"l": [1, [2, [3, None, [4]]], None]}
    assert templar.evaluate("l | flatten", v) == [1, 2, 3, 4]
    assert templar.evaluate("l | flatten(levels=1)", v) == [1, 2, [3, None, [4]]]
    assert templar.evaluate("l | flatten(skip_nulls=False)", v) == [1, 2, 3, None, 4, None]


def test_zip_product_and_friends(templar: Templar) -> None:
    assert templar.evaluate("[1, 2] | zip(['a', 'b'])", {}) == [[1, "a"], [2, "b"]]
    assert templar.evaluate("[1, 2] | zip_longest(['a'], fillvalue='-')", {}) == [
        [1, "a"],
        [2, "-"],
    ]
    assert templar.evaluate("['a', 'b'] | product([1, 2])", {}) == [
        ["a", 1], ["a", 2], ["b", 1], ["b", 2]
    ]  # fmt: skip
    assert templar.evaluate("[1, 2, 3] | combinations(2) | list", {}) == [[1, 2], [1, 3], [2, 3]]
    assert templar.evaluate("[1, 2] | permutations | list", {}) == [[1, 2], [2, 1]]


def test_min_max_split_type_debug(templar: Templar) -> None:
    assert templar.evaluate("[3, 1, 2] | min", {}) == 1
    assert templar.evaluate("[3, 1, 2] | max", {}) == 3
    assert templar.evaluate("'a,b,,c' | split(',')", {}) == ["a", "b", "", "c"]
    assert templar.evaluate("'a b  c' | split", {}) == ["a", "b", "c"]
    assert templar.evaluate("{} | type_debug", {}) == "dict"
    assert templar.evaluate("'s' | type_debug", {}) == "str"


def test_random_and_shuffle_are_seedable(templar: Templar) -> None:
    first = templar.evaluate("60 | random(seed='web1')", {})
    assert first == templar.evaluate("60 | random(seed='web1')", {})
    assert 0 <= first < 60
    assert templar.evaluate("10 | random(start=5, step=5, seed=1)", {}) == 5
    assert templar.evaluate("['only'] | random", {}) == "only"
    shuffled = templar.evaluate("[1, 2, 3, 4, 5] | shuffle(seed='x')", {})
    assert sorted(shuffled) == [1, 2, 3, 4, 5]
    assert shuffled == templar.evaluate("[1, 2, 3, 4, 5] | shuffle(seed='x')", {})
    with pytest.raises(TemplateError, match=r"random: cannot choose from an empty sequence"):
        templar.evaluate("[] | random", {})


def test_subelements(templar: Templar) -> None:
    users = [
        {"name": "alice", "keys": ["k1", "k2"]},
        {"name": "bob", "keys": []},
        {"name": "carol"},
    ]
    pairs = templar.evaluate("users | subelements('keys', skip_missing=True)", {"users": users})
    assert [(u["name"], k) for u, k in pairs] == [("alice", "k1"), ("alice", "k2")]
    with pytest.raises(TemplateError, match=r"subelements: no key 'keys' in.*carol"):
        templar.evaluate("users | subelements('keys')", {"users": users})


def test_extract(templar: Templar) -> None:
    hostvars = {"web1": {"ip": "10.0.0.1", "net": {"mtu": 1500}}}
    v = {"hostvars": hostvars, "hosts": ["web1"]}
    assert templar.evaluate("hosts | map('extract', hostvars, 'ip') | list", v) == ["10.0.0.1"]
    assert templar.evaluate("'web1' | extract(hostvars, ['net', 'mtu'])", v) == 1500
    with pytest.raises(TemplateError, match=r"extract: 'db1'"):
        templar.evaluate("'db1' | extract(hostvars)", v)


def test_json_query(templar: Templar) -> None:
    v = {"users": [{"name": "a", "shell": "/bin/bash"}, {"name": "b", "shell": "/bin/sh"}]}
    assert templar.evaluate("users | json_query(\"[?shell=='/bin/bash'].name\")", v) == ["a"]
    assert templar.evaluate("users | community.general.json_query('[].name')", v) == ["a", "b"]
    with pytest.raises(TemplateError, match=r"json_query: bad query '\[\?'"):
        templar.evaluate("users | json_query('[?')", v)


def test_to_uuid_is_stable_in_ansibles_namespace(templar: Templar) -> None:
    assert templar.evaluate("'web1' | to_uuid", {}) == str(
        uuid.uuid5(uuid.UUID("361E6D51-FAEC-444A-9079-341386DA8E2E"), "web1")
    )
    assert templar.evaluate("'web1' | to_uuid", {}) == templar.evaluate("'web1' | to_uuid", {})


def test_fully_qualified_names(templar: Templar) -> None:
    assert templar.evaluate("{'a': 1} | ansible.builtin.to_json", {}) == '{"a": 1}'
    assert templar.evaluate("[3, 1] | ansible.builtin.max", {}) == 3
    assert templar.evaluate("missing | ansible.builtin.default(2)", {}) == 2
    assert templar.evaluate("'1.2' is ansible.builtin.version('1.1', '>')", {}) is True
    assert templar.evaluate("lookup('ansible.builtin.items', [1])", {}) == 1

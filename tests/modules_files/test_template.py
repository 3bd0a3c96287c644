"""template: rendering with host variables, idempotence, check and diff mode, safety."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_engine.errors import ModuleFailure
from tests.harness import Target
from tests.modules_files.helpers import apply, host_exists, host_mode, host_read, hostile_values


@pytest.fixture
def role(tmp_path: Path) -> Path:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "app.conf.j2").write_text(
        "# {{ ansible_managed }}\nport={{ port }}\n{% for u in users %}user={{ u }}\n{% endfor %}"
    )
    return tmp_path


def test_renders_with_host_variables(target: Target, role: Path) -> None:
    dest = f"{target.scratch}/app.conf"
    args = {"src": "app.conf.j2", "dest": dest, "mode": "0600"}
    variables = {"port": 8080, "users": ["ann", "bob"]}
    res = apply(target, "template", args, variables=variables, search_paths=[role])
    assert res.changed and res.data["dest"] == dest
    assert host_read(target, dest) == b"# Ansible managed\nport=8080\nuser=ann\nuser=bob\n"
    assert host_mode(target, dest) == "0600"
    again = apply(target, "template", args, variables=variables, search_paths=[role])
    assert not again.changed


def test_check_and_diff_mode(target: Target, role: Path) -> None:
    dest = f"{target.scratch}/app.conf"
    args = {"src": "app.conf.j2", "dest": dest}
    v1, v2 = {"port": 1, "users": []}, {"port": 2, "users": []}
    apply(target, "template", args, variables=v1, search_paths=[role])
    res = apply(target, "template", args, variables=v2, search_paths=[role], check=True, diff=True)
    assert res.changed and host_read(target, dest) == b"# Ansible managed\nport=1\n"
    assert res.diff[0]["before"].endswith("port=1\n") and res.diff[0]["after"].endswith("port=2\n")


def test_newline_sequence(target: Target, role: Path) -> None:
    dest = f"{target.scratch}/win.ini"
    args = {"src": "app.conf.j2", "dest": dest, "newline_sequence": "\r\n"}
    apply(target, "template", args, variables={"port": 1, "users": []}, search_paths=[role])
    assert host_read(target, dest) == b"# Ansible managed\r\nport=1\r\n"


def test_undefined_variable_fails_and_writes_nothing(target: Target, role: Path) -> None:
    dest = f"{target.scratch}/app.conf"
    with pytest.raises(ModuleFailure, match="port"):
        apply(target, "template", {"src": "app.conf.j2", "dest": dest}, search_paths=[role])
    assert not host_exists(target, dest)


def test_hostile_values_stay_data(target: Target, role: Path) -> None:
    canary = f"{target.scratch}/pwned"
    dest = f"{target.scratch}/x; touch pwned $(touch pwned)"
    for value in hostile_values(canary):
        variables = {"port": value, "users": [value]}
        apply(target, "template", {"src": "app.conf.j2", "dest": dest},
              variables=variables, search_paths=[role])  # fmt: skip
        assert (
            host_read(target, dest) == f"# Ansible managed\nport={value}\nuser={value}\n".encode()
        )
        assert not host_exists(target, canary)


def test_whitespace_options(target: Target, tmp_path: Path) -> None:
    (tmp_path / "ws.j2").write_text("a:\n  {% if x %}\n  x: 1\n  {% endif %}\nb: 2\n")
    dest = f"{target.scratch}/ws.yml"
    args = {"src": "ws.j2", "dest": dest, "lstrip_blocks": True}
    apply(target, "template", args, variables={"x": True}, search_paths=[tmp_path])
    assert host_read(target, dest) == b"a:\n  x: 1\nb: 2\n"
    apply(target, "template", {**args, "lstrip_blocks": False}, variables={"x": True},
          search_paths=[tmp_path])  # fmt: skip
    assert host_read(target, dest) == b"a:\n    x: 1\n  b: 2\n"


@pytest.mark.parametrize("lstrip_blocks", [False, True])
def test_a_failure_names_the_templates_line(target: Target, tmp_path: Path,
                                             lstrip_blocks: bool) -> None:
    (tmp_path / "long.j2").write_text("# header\n" * 20 + "port={{ port }}\n" + "x=1\n" * 5)
    args = {"src": "long.j2", "dest": f"{target.scratch}/long.conf",
            "lstrip_blocks": lstrip_blocks}
    with pytest.raises(ModuleFailure) as failure:
        apply(target, "template", args, search_paths=[tmp_path])
    assert str(failure.value) == "long.j2: 'port' is undefined in line 21: 'port={{ port }}'"

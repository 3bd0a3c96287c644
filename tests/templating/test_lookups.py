"""lookup()/query(): env, file, template, first_found, vars, fileglob and the loop helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_engine.templating import Templar, TemplateError


@pytest.fixture
def project(tmp_path: Path) -> Path:
    role = tmp_path / "roles" / "web"
    (role / "files").mkdir(parents=True)
    (role / "templates").mkdir()
    (role / "files" / "motd").write_text("welcome\n")
    (role / "files" / "a.conf").write_text("a")
    (role / "files" / "b.conf").write_text("b")
    (role / "templates" / "site.j2").write_text("server {{ name }} {{ port | default(80) }}\n")
    (tmp_path / "playbook_file.txt").write_text("  from the playbook dir  \n")
    return tmp_path


@pytest.fixture
def templar(project: Path) -> Templar:
    return Templar(search_paths=[project / "roles" / "web", project])


def test_env_lookup(templar: Templar, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNBOOK_TEST_VALUE", "v1")
    assert templar.evaluate("lookup('env', 'RUNBOOK_TEST_VALUE')", {}) == "v1"
    assert templar.evaluate("lookup('env', 'RUNBOOK_NOT_SET', default='d')", {}) == "d"
    assert templar.evaluate("query('env', 'RUNBOOK_TEST_VALUE')", {}) == ["v1"]


def test_file_lookup_searches_files_dir_then_base(templar: Templar, project: Path) -> None:
    assert templar.evaluate("lookup('file', 'motd')", {}) == "welcome"
    assert templar.evaluate("lookup('file', 'playbook_file.txt')", {}) == "  from the playbook dir"
    assert templar.evaluate("lookup('file', 'a.conf', 'b.conf')", {}) == "a,b"
    assert templar.evaluate("q('file', 'a.conf', 'b.conf')", {}) == ["a", "b"]
    absolute = str(project / "roles" / "web" / "files" / "motd")
    assert templar.evaluate("lookup('file', p, rstrip=False)", {"p": absolute}) == "welcome\n"
    with pytest.raises(TemplateError, match=r"file: could not find 'nope' in .*roles/web/files"):
        templar.evaluate("lookup('file', 'nope')", {})
    assert templar.evaluate("lookup('file', 'nope', errors='ignore')", {}) == ""
    assert templar.evaluate("query('file', 'nope', errors='ignore')", {}) == []


def test_template_lookup_uses_current_variables(templar: Templar) -> None:
    assert templar.evaluate("lookup('template', 'site.j2')", {"name": "web1"}) == "server web1 80\n"
    rendered = templar.render(
        "{% set port = 8080 %}{{ lookup('template', 'site.j2') }}", {"name": "web2"}
    )
    assert rendered == "server web2 8080\n"
    extra = "lookup('template', 'site.j2', template_vars={'port': 443})"
    assert templar.evaluate(extra, {"name": "web3"}) == "server web3 443\n"
    with pytest.raises(TemplateError, match="'name' is undefined"):
        templar.evaluate("lookup('template', 'site.j2')", {})


def test_first_found(templar: Templar, project: Path) -> None:
    files = "['missing.conf', 'b.conf', 'a.conf']"
    found = templar.evaluate(f"lookup('first_found', {files})", {})
    assert found == str(project / "roles" / "web" / "files" / "b.conf")
    spec = {"files": ["x.txt", "playbook_file.txt"], "paths": [str(project)]}
    assert templar.evaluate("lookup('first_found', s)", {"s": spec}) == str(
        project / "playbook_file.txt"
    )
    assert templar.evaluate("q('first_found', 'nope', skip=True)", {}) == []
    assert templar.evaluate("lookup('first_found', 'nope', skip=True)", {}) == ""
    relative = "lookup('first_found', 'a.conf', 'motd', paths=['files'])"
    assert templar.evaluate(relative, {}) == str(project / "roles" / "web" / "files" / "a.conf")
    in_dir = "lookup('first_found', files=['playbook_file.txt', 'motd'], paths=[d])"
    files = project / "roles" / "web" / "files"
    assert templar.evaluate(in_dir, {"d": str(files)}) == str(files / "motd")
    with pytest.raises(TemplateError, match="first_found: none of these files was found: nope, z"):
        templar.evaluate("lookup('first_found', ['nope', 'z'])", {})


def test_vars_lookup(templar: Templar) -> None:
    v = {"web_port": 80, "which": "web"}
    assert templar.evaluate("lookup('vars', which ~ '_port')", v) == 80
    assert templar.evaluate("lookup('vars', 'nope', default=1)", v) == 1
    with pytest.raises(TemplateError, match="lookup\\('vars'\\): variable 'nope' is not defined"):
        templar.evaluate("lookup('vars', 'nope')", v)


def test_fileglob(templar: Templar, project: Path) -> None:
    files = project / "roles" / "web" / "files"
    assert templar.evaluate("q('fileglob', '*.conf')", {}) == [
        str(files / "a.conf"), str(files / "b.conf")
    ]  # fmt: skip
    absolute = str(files / "*.conf")
    assert templar.evaluate("lookup('fileglob', p)", {"p": absolute}) == ",".join(
        [str(files / "a.conf"), str(files / "b.conf")]
    )


def test_loop_helper_lookups(templar: Templar) -> None:
    assert templar.evaluate("q('items', [1, 2], 3)", {}) == [1, 2, 3]
    assert templar.evaluate("q('indexed_items', ['a', 'b'])", {}) == [(0, "a"), (1, "b")]
    assert templar.evaluate("q('dict', {'a': 1})", {}) == [{"key": "a", "value": 1}]
    assert templar.evaluate("lookup('dict', {'a': 1})", {}) == {"key": "a", "value": 1}
    assert templar.evaluate("q('nested', ['a'], [1, 2])", {}) == [["a", 1], ["a", 2]]
    assert templar.evaluate("q('together', ['a', 'b'], [1])", {}) == [["a", 1], ["b", None]]
    assert templar.evaluate("q('sequence', 'start=1 end=3 format=web%02d')", {}) == [
        "web01", "web02", "web03"
    ]  # fmt: skip
    assert templar.evaluate("q('sequence', 'count=3 start=10 stride=5')", {}) == [
        "10", "15", "20"
    ]  # fmt: skip
    assert templar.evaluate("lookup('items', [1, 2], wantlist=True)", {}) == [1, 2]
    with pytest.raises(TemplateError, match="sequence: bad format '%s%s'"):
        templar.evaluate("q('sequence', 'end=2 format=%s%s')", {})


def test_range_global(templar: Templar) -> None:
    assert templar.evaluate("range(1, 4) | list", {}) == [1, 2, 3]


def test_unknown_and_dangerous_lookups_are_refused(templar: Templar) -> None:
    with pytest.raises(TemplateError, match=r"unknown lookup 'pipe' \(it runs controller"):
        templar.evaluate("lookup('pipe', 'id')", {})
    with pytest.raises(TemplateError, match="unknown lookup 'redis'; available: dict, env"):
        templar.evaluate("lookup('redis', 'k')", {})
    with pytest.raises(TemplateError, match=r"lookup\('env'\): .*unexpected keyword"):
        templar.evaluate("lookup('env', 'HOME', colour=1)", {})


def test_flattened_and_file_lstrip(templar: Templar) -> None:
    assert templar.evaluate("q('flattened', [1, [2, [3]]], 4)", {}) == [1, 2, 3, 4]
    assert templar.evaluate("lookup('file', 'playbook_file.txt', lstrip=True)", {}) == (
        "from the playbook dir"
    )


def test_task_search_path_comes_first(templar: Templar, tmp_path: Path) -> None:
    other_role = tmp_path / "roles" / "db"
    (other_role / "files" / "conf.d").mkdir(parents=True)
    (other_role / "files" / "motd").write_text("db role motd")
    (other_role / "files" / "conf.d" / "x.cnf").write_text("x")
    task_vars = {"ansible_search_path": [str(other_role)]}
    assert templar.evaluate("lookup('file', 'motd')", task_vars) == "db role motd"
    assert templar.evaluate("lookup('file', 'a.conf')", task_vars) == "a"  # Templar's paths
    assert templar.evaluate("q('fileglob', 'conf.d/*.cnf')", task_vars) == [
        str(other_role / "files" / "conf.d" / "x.cnf")
    ]

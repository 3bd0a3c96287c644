"""The seven documented levels of variable precedence, one test per level, and roles."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def project(write, tmp_path: Path):
    """A role `probe` that writes the value of `v` it sees, with every level settable."""
    write("roles/probe/defaults/main.yml", "v: role-default\nother: d\n")
    write("roles/probe/tasks/main.yml", """
        - name: record v
          shell: echo "{{ v }}" > {{ out }}
    """)
    return tmp_path


def _inventory(write, host_value: str | None, group_value: str | None) -> Path:
    lines = ["all:", "  hosts:", "    localhost:", "      ansible_connection: local"]
    if host_value:
        lines.append(f"      v: {host_value}")
    if group_value:
        lines += ["  vars:", f"    v: {group_value}"]
    return write("inv.yml", "\n".join(lines) + "\n")


def _playbook(write, *, play_vars: bool, role_param: bool, task_vars: bool, set_fact: bool) -> Path:
    role = "- role: probe" + ("\n              v: role-param" if role_param else "")
    pre = ""
    if set_fact:
        pre = """
          pre_tasks:
            - set_fact:
                v: fact"""
    return write("site.yml", f"""
        - hosts: localhost
          gather_facts: false{pre}
          vars:
            out: "{{{{ playbook_dir }}}}/seen"
            {"v: play" if play_vars else "unused: 1"}
          roles:
            {role}
          tasks:
            - name: record v again
              shell: echo "{{{{ v }}}}" > {{{{ out }}}}2
              {"vars: {v: task}" if task_vars else ""}
    """)


@pytest.mark.parametrize(
    ("levels", "expected_role", "expected_task"),
    [
        ({}, "role-default", "role-default"),
        ({"group": True}, "group", "group"),
        ({"group": True, "host": True}, "host", "host"),
        ({"host": True, "play": True}, "play", "play"),
        ({"play": True, "role_param": True}, "role-param", "role-param"),
        ({"role_param": True, "task": True}, "role-param", "task"),
        ({"task": True, "fact": True}, "fact", "fact"),
        ({"fact": True, "extra": True}, "extra", "extra"),
    ],
)
def test_precedence_levels(project, write, runbook, levels, expected_role, expected_task):
    inv = _inventory(write, "host" if levels.get("host") else None,
                     "group" if levels.get("group") else None)
    pb = _playbook(write, play_vars=levels.get("play", False),
                   role_param=levels.get("role_param", False),
                   task_vars=levels.get("task", False), set_fact=levels.get("fact", False))
    args = ["run", pb, "-i", inv]
    if levels.get("extra"):
        args += ["-e", "v=extra"]
    result = runbook(*args)
    assert result.rc == 0, result.out + result.err
    assert (project / "seen").read_text().strip() == expected_role
    assert (project / "seen2").read_text().strip() == expected_task


def test_role_files_templates_dependencies_and_handlers(write, runbook, tmp_path: Path):
    out = tmp_path / "out"
    write("roles/base/tasks/main.yml", f"""
        - shell: echo base >> {out}/order
    """)
    write("roles/web/meta/main.yml", "dependencies:\n  - base\n")
    write("roles/web/defaults/main.yml", "port: 8080\n")
    write("roles/web/files/static.txt", "static content\n")
    write("roles/web/templates/conf.j2", "listen {{ port }}\n")
    write("roles/web/tasks/main.yml", f"""
        - shell: echo web >> {out}/order
        - shell: cat {{{{ role_path }}}}/files/static.txt > {out}/static
          notify: restart web
        - template:
            src: conf.j2
            dest: {out}/conf
        - shell: echo "{{{{ lookup('template', 'conf.j2') | trim }}}}" > {out}/conf-lookup
    """)
    write("roles/web/handlers/main.yml", f"""
        - name: restart web
          shell: echo restarted >> {out}/handlers
    """)
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          pre_tasks:
            - command: mkdir -p {out}
          roles:
            - web
            - role: web
          tasks:
            - shell: echo play >> {out}/order
    """)
    result = runbook("run", pb, "-i", "localhost,")
    assert result.rc == 0, result.out + result.err
    assert (out / "order").read_text().split() == ["base", "web", "play"]
    assert (out / "static").read_text() == "static content\n"
    assert (out / "conf").read_text() == "listen 8080\n"
    assert (out / "conf-lookup").read_text() == "listen 8080\n"
    assert (out / "handlers").read_text() == "restarted\n"


def test_include_role_with_tasks_from_and_vars(write, runbook, tmp_path: Path):
    out = tmp_path / "out.txt"
    write("roles/tool/tasks/extra.yml", f"""
        - shell: echo "extra {{{{ flavour }}}}" >> {out}
    """)
    write("roles/tool/defaults/main.yml", "flavour: plain\n")
    pb = write("site.yml", """
        - hosts: localhost
          gather_facts: false
          tasks:
            - include_role:
                name: tool
                tasks_from: extra
            - include_role:
                name: tool
                tasks_from: extra
              vars:
                flavour: spicy
    """)
    result = runbook("run", pb, "-i", "localhost,")
    assert result.rc == 0, result.out + result.err
    assert out.read_text().splitlines() == ["extra plain", "extra spicy"]


def test_lazy_templated_vars_and_extra_vars_forms(write, runbook, tmp_path: Path):
    out = tmp_path / "out.txt"
    write("vars.yml", "from_file: filed\n")
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          vars:
            base: /srv
            path: "{{{{ base }}}}/{{{{ name }}}}"
            name: app
          tasks:
            - shell: echo "{{{{ path }}}} {{{{ from_file }}}} {{{{ json_value.k }}}}" > {out}
    """)
    result = runbook("run", pb, "-i", "localhost,", "-e", f"@{tmp_path / 'vars.yml'}",
                     "-e", '{"json_value": {"k": 42}}', "-e", "base=/opt")
    assert result.rc == 0, result.out + result.err
    assert out.read_text() == "/opt/app filed 42\n"

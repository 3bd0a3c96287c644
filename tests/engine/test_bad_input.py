"""A corpus of malformed playbooks, inventories and variables.

Each must exit with code 2, name the file and line, say what is wrong, and touch no host:
every playbook starts with a task that would create a canary file, which must not exist.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

CANARY_TASK = "    - shell: touch {canary}\n"
HEAD = "- hosts: all\n  gather_facts: false\n  tasks:\n" + CANARY_TASK
GOOD_INV = "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"


def pb(body: str) -> str:
    """A play whose first task is the canary, followed by `body` (task list items)."""
    return HEAD + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"


# name -> (files, file the error is in, line, message fragment); lines count from 1.
# Line 5 is the first task after the canary in pb().
CASES: dict[str, tuple[dict[str, str], str, int, str]] = {
    "yaml-unclosed-flow": ({"site.yml": pb("- debug: {msg: [1, 2}")}, "site.yml", 5,
                           "YAML syntax"),
    "yaml-tab-indent": ({"site.yml": HEAD + "\t- debug: msg=x\n"}, "site.yml", 5, "YAML syntax"),
    "duplicate-key": ({"site.yml": pb("- name: a\n  name: b\n  debug: msg=x")}, "site.yml", 6,
                      "duplicate key 'name'"),
    "play-not-mapping": ({"site.yml": "- just a string\n"}, "site.yml", 1,
                         "a play must be a mapping"),
    "playbook-is-mapping": ({"site.yml": "hosts: all\ntasks: []\n"}, "site.yml", 1,
                            "must be a list of plays"),
    "unknown-play-keyword": ({"site.yml": HEAD.replace("  tasks:", "  taskz: []\n  tasks:")},
                             "site.yml", 3, "did you mean 'tasks'"),
    "unknown-module": ({"site.yml": pb("- commnd: echo hi")}, "site.yml", 5,
                       "did you mean 'command'"),
    "two-modules": ({"site.yml": pb("- command: echo a\n  shell: echo b")}, "site.yml", 6,
                    "names several"),
    "no-module": ({"site.yml": pb("- name: nothing to do")}, "site.yml", 5,
                  "does not say what to run"),
    "unknown-argument": ({"site.yml": pb("- copy:\n    content: x\n    dst: /tmp/x")},
                         "site.yml", 7, "did you mean 'dest'"),
    "missing-argument": ({"site.yml": pb("- file:\n    state: directory")}, "site.yml", 5,
                         "needs the argument 'path'"),
    "when-is-mapping": ({"site.yml": pb("- debug: msg=x\n  when: {a: 1}")}, "site.yml", 6,
                        "when"),
    "mode-decimal-trap": ({"site.yml": pb("- file:\n    path: /tmp/x\n    mode: 644")},
                          "site.yml", 7, "0644"),
    "undefined-var-in-args": ({"site.yml": pb("- debug:\n    msg: \"{{ nope }}\"")},
                              "site.yml", 6, "undefined variable 'nope'"),
    "undefined-var-in-when": ({"site.yml": pb("- debug: msg=x\n  when: missing_flag")},
                              "site.yml", 5, "undefined variable 'missing_flag'"),
    "undefined-var-in-loop": ({"site.yml": pb("- debug: msg={{ item }}\n"
                                              "  loop: \"{{ hosts_list }}\"")},
                              "site.yml", 5, "undefined variable 'hosts_list'"),
    "typo-of-defined-var": ({"site.yml": HEAD.replace("  tasks:", "  vars:\n    version: 1\n"
                                                      "  tasks:") +
                             "    - debug:\n        msg: \"{{ verison }}\"\n"},
                            "site.yml", 8, "did you mean 'version'"),
    "debug-unknown-argument": ({"site.yml": pb("- debug:\n    msgg: hello")}, "site.yml", 6,
                               "did you mean 'msg'"),
    "unknown-loop-control-key": ({"site.yml": pb("- debug: msg=x\n  loop: [1]\n  loop_control:\n"
                                                 "    lable: x")}, "site.yml", 8,
                                 "unknown loop_control keyword 'lable'"),
    "loop-control-key-typo-hint": ({"site.yml": pb("- debug: msg=x\n  loop: [1]\n"
                                                   "  loop_control: {loop_vr: x}")},
                                   "site.yml", 7, "did you mean 'loop_var'"),
    "loop-control-wrong-type": ({"site.yml": pb("- debug: msg=x\n  loop: [1]\n  loop_control:\n"
                                                "    label: [a, b]")}, "site.yml", 8,
                                "'loop_control.label': Input should be a valid string (got list)"),
    "unknown-handler": ({"site.yml": pb("- command: echo x\n  notify: restart nginx")},
                        "site.yml", 5, "handler that does not exist"),
    "role-not-found": ({"site.yml": HEAD.replace("  tasks:", "  roles:\n    - nosuchrole\n"
                                                 "  tasks:")}, "site.yml", 4,
                       "role 'nosuchrole' not found"),
    "import-missing-file": ({"site.yml": pb("- import_tasks: missing.yml")}, "site.yml", 5,
                            "file not found"),
    "vars-file-missing": ({"site.yml": HEAD.replace("  tasks:", "  vars_files:\n    - nope.yml\n"
                                                    "  tasks:")}, "site.yml", 4,
                          "file not found: nope.yml"),
    "error-inside-import": ({"site.yml": pb("- import_tasks: inc.yml"),
                             "inc.yml": "- debug: msg=ok\n- shel: echo\n"}, "inc.yml", 2,
                            "did you mean 'shell'"),
    "jinja-syntax": ({"site.yml": pb("- debug:\n    msg: \"{{ foo }\"")}, "site.yml", 6,
                     "template syntax"),
    "hosts-match-nothing": ({"site.yml": HEAD.replace("hosts: all", "hosts: webservers")},
                            "site.yml", 1, "matches no host"),
    "block-with-module": ({"site.yml": pb("- block:\n    - debug: msg=x\n  command: echo")},
                          "site.yml", 7, "cannot also run a module"),
    "meta-unknown": ({"site.yml": pb("- meta: flush_handler")}, "site.yml", 5,
                     "did you mean 'flush_handlers'"),
    "two-loops": ({"site.yml": pb("- debug: msg=x\n  loop: [1]\n  with_items: [2]")},
                  "site.yml", 7, "one loop"),
    "removed-include": ({"site.yml": pb("- include: other.yml")}, "site.yml", 5,
                        "import_tasks or include_tasks"),
    "serial-wrong-type": ({"site.yml": HEAD.replace("  tasks:", "  serial: {a: 1}\n  tasks:")},
                          "site.yml", 3, "serial"),
    "strategy-invalid": ({"site.yml": HEAD.replace("  tasks:", "  strategy: random\n  tasks:")},
                         "site.yml", 3, "strategy"),
    "role-dependency-missing": ({"site.yml": HEAD.replace("  tasks:", "  roles:\n    - app\n"
                                                          "  tasks:"),
                                 "roles/app/tasks/main.yml": "- debug: msg=x\n",
                                 "roles/app/meta/main.yml": "dependencies:\n  - ghost\n"},
                                "roles/app/meta/main.yml", 2, "role 'ghost' not found"),
    "free-form-for-mapping-module": ({"site.yml": pb("- file: just some words")}, "site.yml", 5,
                                     "key=value"),
    "task-is-string": ({"site.yml": pb("- echo hello")}, "site.yml", 5, "a task must be a mapping"),
    "register-wrong-type": ({"site.yml": pb("- command: echo\n  register: [a]")}, "site.yml", 6,
                            "register"),
    "handler-unknown-module": ({"site.yml": HEAD + "  handlers:\n    - name: h\n"
                                                   "      restart_it: now\n"},
                               "site.yml", 7, "unknown module or task keyword 'restart_it'"),
    "vars-prompt-refused": ({"site.yml": HEAD.replace("  tasks:", "  vars_prompt:\n    - name: x\n"
                                                        "  tasks:")}, "site.yml", 3,
                            "runbook params"),
    "remote-user-refused": ({"site.yml": HEAD.replace("  tasks:", "  remote_user: deploy\n"
                                                        "  tasks:")}, "site.yml", 3,
                            "ansible_user"),
    "connection-var-in-play-vars": ({"site.yml": HEAD.replace(
        "  tasks:", "  vars:\n    port: 80\n    ansible_user: deploy\n  tasks:")},
        "site.yml", 5, "ansible_user is a connection variable"),
    "connection-var-in-task-vars": ({"site.yml": pb(
        "- block:\n    - debug: msg=x\n  vars:\n    ansible_port: 2222")},
        "site.yml", 8, "vars: ansible_port is a connection variable"),
    "connection-var-in-vars-file": ({"site.yml": HEAD.replace(
        "  tasks:", "  vars_files:\n    - conn.yml\n  tasks:"),
        "conn.yml": "motd: hi\nansible_ssh_private_key_file: ~/.ssh/other\n"},
        "conn.yml", 2, "vars file conn.yml: ansible_ssh_private_key_file is a connection"),
    "connection-var-in-role-defaults": ({"site.yml": HEAD.replace(
        "  tasks:", "  roles:\n    - app\n  tasks:"),
        "roles/app/tasks/main.yml": "- debug: msg=x\n",
        "roles/app/defaults/main.yml": "greeting: hi\nansible_user: deploy\n"},
        "roles/app/defaults/main.yml", 2,
        "role app defaults/main.yml: ansible_user is a connection variable"),
    "connection-var-in-role-params": ({"site.yml": HEAD.replace(
        "  tasks:", "  roles:\n    - role: app\n      ansible_port: 2222\n  tasks:"),
        "roles/app/tasks/main.yml": "- debug: msg=x\n"},
        "site.yml", 5, "role app: ansible_port is a connection variable"),
    "connection-var-in-role-entry-vars": ({"site.yml": HEAD.replace(
        "  tasks:", "  roles:\n    - role: app\n      vars:\n        greeting: hi\n"
        "        ansible_host: 10.0.0.9\n  tasks:"),
        "roles/app/tasks/main.yml": "- debug: msg=x\n"},
        "site.yml", 7, "role app: ansible_host is a connection variable"),
    "connection-var-in-set-fact": ({"site.yml": pb(
        "- set_fact:\n    motd: hi\n    ansible_user: deploy")},
        "site.yml", 7, "set_fact: ansible_user is a connection variable"),
    "empty-playbook": ({"site.yml": "# nothing here\n"}, "site.yml", 0, "no plays"),
    "inventory-unknown-key": ({"site.yml": pb("- debug: msg=x"),
                               "inv.yml": "all:\n  host:\n    localhost:\n"}, "inv.yml", 2,
                              "hosts"),
    "inventory-bad-range": ({"site.yml": pb("- debug: msg=x"),
                             "inv.ini": "[web]\nweb[01:x].example.com\n"}, "inv.ini", 2,
                            "range"),
}


def _write_case(tmp_path: Path, files: dict[str, str]) -> Path:
    canary = tmp_path / "canary"
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("{canary}", str(canary)))
    return canary


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_with_position_and_touches_nothing(case, tmp_path: Path, runbook):
    files, error_file, line, fragment = CASES[case]
    files = dict(files)
    inventory = next((n for n in files if n.startswith("inv.")), None)
    if inventory is None:
        inventory = "inv.yml"
        files["inv.yml"] = GOOD_INV
    canary = _write_case(tmp_path, files)
    result = runbook("run", tmp_path / "site.yml", "-i", tmp_path / inventory)
    message = result.err
    assert result.rc == 2, f"{case}: rc={result.rc}\n{result.out}\n{message}"
    assert fragment in message, f"{case}: {message}"
    where = f"{tmp_path / error_file}:{line}:" if line else f"{tmp_path / error_file}"
    assert where in message, f"{case}: expected {where} in {message}"
    assert message.count("error:") == 1, "one message, not a cascade"
    assert not canary.exists(), f"{case}: a host was touched"
    assert result.out == "", "nothing ran, so nothing was printed on stdout"


def test_bad_extra_vars_and_limit(tmp_path: Path, runbook):
    canary = _write_case(tmp_path, {"site.yml": pb("- debug: msg=x"), "inv.yml": GOOD_INV})
    bad_e = runbook("run", tmp_path / "site.yml", "-i", tmp_path / "inv.yml", "-e", "novalue")
    assert bad_e.rc == 2 and "key=value" in bad_e.err
    bad_limit = runbook("run", tmp_path / "site.yml", "-i", tmp_path / "inv.yml",
                        "--limit", "nohost")
    assert bad_limit.rc == 2 and "nohost" in bad_limit.err
    missing_inv = runbook("run", tmp_path / "site.yml", "-i", tmp_path / "none.yml")
    assert missing_inv.rc == 2 and "not found" in missing_inv.err
    assert not canary.exists()


@pytest.mark.parametrize("variable, value, fragment", [
    ("runbook_ssh_reuse_shell", "maybe", "runbook_ssh_reuse_shell 'maybe' is not true or false"),
    ("runbook_host_key_checking", "sometimes", "host key checking 'sometimes'"),
    ("ansible_connection", "winrm", "ansible_connection 'winrm' is not supported"),
    ("ansible_port", "twenty-two", "ansible_port 'twenty-two' is not a number"),
    ("ansible_ssh_timeout", "soon", "ansible_ssh_timeout 'soon' is not a number"),
    ("ansible_ssh_common_args", "-o ProxyJump=bastion:x", "port 'x' is not a number"),
])
def test_bad_connection_variable_exits_2_before_any_host(
    variable, value, fragment, tmp_path: Path, runbook
):
    # localhost would run the canary task first if the bad host were found out only when
    # the run reaches it.
    inventory = (GOOD_INV + f"    web1:\n      ansible_host: 127.0.0.1\n"
                 f"      {variable}: {value}\n")
    canary = _write_case(tmp_path, {"site.yml": pb("- debug: msg=x"), "inv.yml": inventory})
    result = runbook("run", tmp_path / "site.yml", "-i", tmp_path / "inv.yml")
    assert result.rc == 2, result.out + result.err
    assert "host web1" in result.err and fragment in result.err
    assert f"{tmp_path / 'inv.yml'}:7:7: error:" in result.err  # the variable's own line
    assert not canary.exists()


WEB_GROUP = ("all:\n  children:\n    web:\n      hosts:\n        web1:\n"
             "          ansible_host: 127.0.0.1\n")


@pytest.mark.parametrize("files, error_file, line, fragment", [
    # the bad value is in a group's vars, not in the host's entry
    ({"inv.yml": WEB_GROUP + "      vars:\n        ansible_port: twenty-two\n"},
     "inv.yml", 8, "ansible_port 'twenty-two' is not a number"),
    ({"inv.yml": WEB_GROUP, "group_vars/web.yml": "x: 1\nansible_ssh_timeout: soon\n"},
     "group_vars/web.yml", 2, "ansible_ssh_timeout 'soon' is not a number"),
    ({"inv.yml": WEB_GROUP, "group_vars/all/main.yml": "ansible_connection: winrm\n"},
     "group_vars/all/main.yml", 1, "ansible_connection 'winrm' is not supported"),
    # host_vars/ wins over the group's good value: it is the one to blame
    ({"inv.yml": WEB_GROUP + "      vars:\n        ansible_port: 22\n",
      "host_vars/web1.yml": "\nansible_port: [22, 23]\n"},
     "host_vars/web1.yml", 2, "ansible_port [22, 23] is not a number"),
    ({"inv.ini": "[web]\nweb1 ansible_host=127.0.0.1\n\n[web:vars]\nansible_port=abc\n"},
     "inv.ini", 5, "ansible_port 'abc' is not a number"),
    ({"inv.ini": "[web]\nweb1 ansible_host=127.0.0.1 ansible_user=[1]\n"},
     "inv.ini", 2, "ansible_user must be text, got a list ([1])"),
    # values that would have been turned into the text "[...]" or "False" and tried
    ({"inv.yml": WEB_GROUP + "          ansible_user: [deploy, admin]\n"},
     "inv.yml", 7, "ansible_user must be text, got a list (['deploy', 'admin'])"),
    ({"inv.yml": WEB_GROUP + "          ansible_ssh_user: no\n"},
     "inv.yml", 7, 'ansible_ssh_user must be text, got true or false (False)'),
    ({"inv.yml": WEB_GROUP + "          ansible_ssh_private_key_file: {path: k}\n"},
     "inv.yml", 7, "ansible_ssh_private_key_file must be text, got a mapping"),
])
def test_bad_connection_variable_is_reported_where_the_host_got_it(
    files: dict[str, str], error_file: str, line: int, fragment: str, tmp_path: Path, runbook
):
    inventory = next(n for n in files if n.startswith("inv."))
    canary = _write_case(tmp_path, {"site.yml": pb("- debug: msg=x"), **files})
    result = runbook("run", tmp_path / "site.yml", "-i", tmp_path / inventory)
    assert result.rc == 2, result.out + result.err
    assert "host web1" in result.err and fragment in result.err, result.err
    assert f"{tmp_path / error_file}:{line}:" in result.err, result.err
    assert result.err.count("error:") == 1
    assert not canary.exists()


def test_a_password_of_the_wrong_type_is_refused_without_being_printed(
    tmp_path: Path, runbook
):
    inventory = WEB_GROUP + "          ansible_password: [hunter2-secret]\n"
    _write_case(tmp_path, {"site.yml": pb("- debug: msg=x"), "inv.yml": inventory})
    result = runbook("run", tmp_path / "site.yml", "-i", tmp_path / "inv.yml")
    assert result.rc == 2
    assert "ansible_password must be text, got a list" in result.err
    assert "hunter2" not in result.err + result.out


@pytest.mark.parametrize("extra, named", [
    ("runbook_host_key_checking=false", "runbook_host_key_checking"),
    ("ansible_host_key_checking=false", "ansible_host_key_checking"),
    ("runbook_known_hosts_file=/tmp/mine", "runbook_known_hosts_file"),
    ("ansible_ssh_common_args='-o StrictHostKeyChecking=no'",
     "ansible_ssh_common_args (-o StrictHostKeyChecking)"),
    ('ansible_ssh_extra_args="-o UserKnownHostsFile=/dev/null"',
     "ansible_ssh_extra_args (-o UserKnownHostsFile)"),
    ('{"ansible_ssh_common_args": "-oStrictHostKeyChecking=no"}',
     "ansible_ssh_common_args (-o StrictHostKeyChecking)"),
])
def test_host_key_checking_cannot_be_relaxed_with_extra_vars(
    extra: str, named: str, tmp_path: Path, runbook
):
    canary = _write_case(tmp_path, {"site.yml": pb("- debug: msg=x"), "inv.yml": GOOD_INV})
    result = runbook("run", tmp_path / "site.yml", "-i", tmp_path / "inv.yml", "-e", extra)
    assert result.rc == 2, result.out + result.err
    assert f"-e {named}: host key checking can only be set in the inventory" in result.err
    assert not canary.exists()


def test_bad_connection_value_given_with_extra_vars_is_blamed_on_the_command_line(
    tmp_path: Path, runbook
):
    canary = _write_case(tmp_path, {"site.yml": pb("- debug: msg=x"), "inv.yml": GOOD_INV})
    result = runbook("run", tmp_path / "site.yml", "-i", tmp_path / "inv.yml",
                     "-e", "ansible_port=twenty-two")
    assert result.rc == 2, result.out + result.err
    assert "error: -e: ansible_port 'twenty-two' is not a number" in result.err
    assert str(tmp_path / "inv.yml") not in result.err  # the inventory is not to blame
    assert not canary.exists()


def test_syntax_check_accepts_a_good_playbook(tmp_path: Path, runbook):
    canary = _write_case(tmp_path, {"site.yml": pb("- debug: msg=x"), "inv.yml": GOOD_INV})
    result = runbook("run", tmp_path / "site.yml", "-i", tmp_path / "inv.yml", "--syntax-check")
    assert result.rc == 0 and "OK" in result.out
    assert not canary.exists()

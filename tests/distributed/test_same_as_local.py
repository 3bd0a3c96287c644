"""The same playbooks with --executor local and --executor celery (two real workers):
the same per-host statuses, outputs, files on the hosts and exit codes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.distributed.conftest import host_dirs, read_tree, statuses, workers_named
from tests.fixtures.sshd import write_inventory

pytestmark = pytest.mark.ssh

ROLLOUT = """
- name: rollout
  hosts: testhosts
  gather_facts: false
  vars:
    dir: "{{ dirs[inventory_hostname] }}"
    batch: "{{ ansible_play_batch | join(',') }}"
  tasks:
    - name: first
      command: echo first {{ inventory_hostname }}
      register: first
    - name: second
      command: echo second
    - name: loop with register
      command: echo {{ item }}
      loop: [alpha, beta, gamma]
      register: echoed
    - name: facts
      set_fact:
        joined: "{{ echoed.results | map(attribute='stdout') | join(',') }}"
    - name: once
      command: echo once-{{ inventory_hostname }}
      run_once: true
      register: once
    - name: write state
      copy:
        dest: "{{ dir }}/state.txt"
        content: "{{ first.stdout }} {{ joined }} {{ once.stdout }} {{ batch }}\\n"
      notify: handled
    - name: not on the first host
      command: echo not here
      when: inventory_hostname != groups.testhosts[0]
    - name: read another host's registered output
      copy:
        dest: "{{ dir }}/peer.txt"
        content: "{{ hostvars[groups.testhosts[0]].first.stdout }}\\n"
  handlers:
    - name: handled
      shell: echo handled >> {{ dir }}/handler.txt

- name: batches
  hosts: testhosts
  gather_facts: true
  serial: 2
  tasks:
    - name: batch file
      copy:
        dest: "{{ dirs[inventory_hostname] }}/batch.txt"
        content: "{{ ansible_play_batch | join(',') }}\\n"
    - name: a gathered fact
      copy:
        dest: "{{ dirs[inventory_hostname] }}/system.txt"
        content: "{{ ansible_system }} {{ ansible_user_id }}\\n"

- name: free strategy
  hosts: testhosts
  gather_facts: false
  strategy: free
  tasks:
    - name: free one
      command: echo free {{ inventory_hostname }}
      register: free
    - name: free two
      copy:
        dest: "{{ dirs[inventory_hostname] }}/free.txt"
        content: "{{ free.stdout }}\\n"

- name: failure budget
  hosts: testhosts
  gather_facts: false
  max_fail_percentage: 0
  tasks:
    - name: fail on the first host
      fail:
        msg: boom
      when: inventory_hostname == groups.testhosts[0]
    - name: never reached
      copy:
        dest: "{{ dirs[inventory_hostname] }}/after-failure.txt"
        content: x
"""

CHECK_DIFF = """
- hosts: testhosts
  gather_facts: false
  tasks:
    - name: would change
      copy:
        dest: "{{ dirs[inventory_hostname] }}/state.txt"
        content: "changed\\n"
"""


def _rows(document: dict[str, Any], dirs: dict[str, str]) -> list[tuple[Any, ...]]:
    text = json.dumps(statuses(document))
    for path in dirs.values():
        text = text.replace(path, "<dir>")
    rows = [tuple(row) for row in json.loads(text)]
    # Under `strategy: free` hosts interleave differently from run to run: only the set of
    # that play's rows is the same; every other play's rows keep their order.
    free = sorted(row for row in rows if row[0] == "free strategy")
    return [row for row in rows if row[0] != "free strategy"] + free


def _run_both(runbook, playbook: Path, inventory: Path, hosts, label: str,
              *options: str) -> dict[str, Any]:
    runs: dict[str, Any] = {}
    for executor in ("local", "celery"):
        dirs = host_dirs(hosts, f"{label}-{executor}")
        junit = playbook.parent / f"{label}-{executor}.xml"
        result = runbook("run", playbook, "-i", inventory, "-e", json.dumps({"dirs": dirs}),
                         "--executor", executor, "--format", "json", "--junit", junit,
                         *options)
        runs[executor] = (result, dirs, _junit_cases(junit))
    return runs


def _junit_cases(path: Path) -> list[tuple[str, ...]]:
    """Each test case's suite, name and verdict, in file order."""
    cases = []
    for suite in ElementTree.parse(path).getroot().iter("testsuite"):
        for case in suite.iter("testcase"):
            verdict = next((child.tag for child in case
                            if child.tag in ("failure", "error", "skipped")), "passed")
            cases.append((suite.get("name", ""), case.get("name", ""), verdict))
    return cases


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def test_rollout_same_statuses_files_and_exit_code(ssh_hosts, celery_env, runbook,
                                                    tmp_path: Path) -> None:
    playbook = _write(tmp_path, "rollout.yml", ROLLOUT)
    inventory = write_inventory(tmp_path / "inv.yml", ssh_hosts)
    runs = _run_both(runbook, playbook, inventory, ssh_hosts, "rollout")
    (local, local_dirs, local_junit), (celery, celery_dirs, celery_junit) = (
        runs["local"], runs["celery"])
    assert local.rc == celery.rc == 4, celery.err  # max_fail_percentage stops the run
    # (sorted: under `strategy: free` hosts interleave differently from run to run)
    assert sorted(celery_junit) == sorted(local_junit) and len(local_junit) > 20
    doc_local, doc_celery = local.json(), celery.json()
    assert _rows(doc_celery, celery_dirs) == _rows(doc_local, local_dirs)
    assert doc_celery["stats"] == doc_local["stats"]
    for host in ssh_hosts:
        assert read_tree(celery_dirs[host.name]) == read_tree(local_dirs[host.name])
    first, *_ = (h.name for h in ssh_hosts)
    files = read_tree(celery_dirs[first])
    everyone = ",".join(h.name for h in ssh_hosts)
    assert files["state.txt"] == f"first {first} alpha,beta,gamma once-{first} {everyone}\n"
    assert files["handler.txt"] == "handled\n"
    assert files["free.txt"] == f"free {first}\n"
    assert files["system.txt"] == f"Linux {ssh_hosts[0].user}\n"
    assert read_tree(celery_dirs[ssh_hosts[2].name])["peer.txt"] == f"first {first}\n"
    assert files["batch.txt"] == f"{first},{ssh_hosts[1].name}\n"
    assert read_tree(celery_dirs[ssh_hosts[2].name])["batch.txt"] == f"{ssh_hosts[2].name}\n"
    assert not any("after-failure.txt" in read_tree(d) for d in celery_dirs.values())
    # both workers took part, and every result names the worker that produced it
    assert workers_named(doc_celery) == {w.name for w in celery_env.workers}
    assert workers_named(doc_local) == set()


def test_linear_barrier_holds_across_workers(ssh_hosts, celery_env, runbook,
                                             tmp_path: Path) -> None:
    """No host starts `second` before every host finished `first`."""
    playbook = _write(tmp_path, "rollout.yml", ROLLOUT)
    inventory = write_inventory(tmp_path / "inv.yml", ssh_hosts)
    dirs = host_dirs(ssh_hosts, "barrier")
    result = runbook("run", playbook, "-i", inventory, "-e", json.dumps({"dirs": dirs}),
                     "--executor", "celery", "--format", "json")
    tasks = {t["name"]: t["results"] for t in result.json()["plays"][0]["tasks"]}
    first_end = max(r["end"] for r in tasks["first"].values())
    second_start = min(r["start"] for r in tasks["second"].values())
    assert first_end <= second_start


def test_check_and_diff_mode_same_as_local(ssh_hosts, celery_env, runbook,
                                           tmp_path: Path) -> None:
    playbook = _write(tmp_path, "check.yml", CHECK_DIFF)
    inventory = write_inventory(tmp_path / "inv.yml", ssh_hosts)
    runs: dict[str, Any] = {}
    for executor in ("local", "celery"):
        dirs = host_dirs(ssh_hosts, f"check-{executor}")
        for d in dirs.values():
            Path(d, "state.txt").write_text("before\n")
        result = runbook("run", playbook, "-i", inventory, "-e", json.dumps({"dirs": dirs}),
                         "--executor", executor, "--format", "json", "--check", "--diff")
        runs[executor] = (result, dirs)
        assert result.rc == 0, result.err
        assert all(read_tree(d) == {"state.txt": "before\n"} for d in dirs.values())
    (local, local_dirs), (celery, celery_dirs) = runs["local"], runs["celery"]
    rows = _rows(celery.json(), celery_dirs)
    assert rows == _rows(local.json(), local_dirs)
    assert all(row[3] == "changed" and "changed" in row[-1] for row in rows)

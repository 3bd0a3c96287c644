"""A real `runbook serve` on loopback, with a whitelist of three playbooks and two tokens."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.fixtures._processes import free_port
from tests.scheduler.helpers import RUNBOOK, runbook, runbook_env, wait_until, write_playbook

GATE_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: go ahead
      approve:
        msg: touch the marker?
        timeout: 120
    - name: write marker
      shell: echo "{{ ansible_run_id }}" >> {{ marker }}
"""

PARAMS_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  params:
    - {name: ticket, type: str, pattern: "OPS-[0-9]+"}
  tasks:
    - debug:
        msg: "{{ ticket }}"
"""


@dataclass
class Server:
    url: str
    token: str  # may run marker and gate
    other_token: str  # may run only ticket
    state: Path
    work: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def prepare_work(work: Path) -> tuple[Path, str, str]:
    """Playbooks, server.yml and two tokens in `work`: (config, ci token, other token)."""
    state = work / "state"
    write_playbook(work)
    (work / "gate.yml").write_text(GATE_PLAYBOOK)
    (work / "ticket.yml").write_text(PARAMS_PLAYBOOK)
    config = work / "server.yml"
    config.write_text(yaml.safe_dump({"tokens_file": "tokens.json", "playbooks": {
        "marker": {"playbook": "marker.yml", "inventory": "localhost,",
                   "extra_vars": ["marker"], "allow_limit": True},
        "gate": {"playbook": "gate.yml", "inventory": "localhost,", "extra_vars": ["marker"]},
        "ticket": {"playbook": "ticket.yml", "inventory": "localhost,"},
    }}))
    added = runbook(["serve", "--config", str(config), "--add-token", "ci",
                     "--playbooks", "marker,gate"], state, work)
    assert added.returncode == 0, added.stderr
    from runbook_engine.api.config import load_server_config
    from runbook_engine.api.tokens import add_token

    other = add_token(load_server_config(config), "tickets-only", ["ticket"])
    return config, added.stdout.strip(), other


@contextlib.contextmanager
def running_server(work: Path) -> Iterator[tuple[Server, subprocess.Popen[str]]]:
    config, token, other = prepare_work(work)
    state = work / "state"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [*RUNBOOK, "serve", "--config", str(config), "--port", str(port)], cwd=work,
        env=runbook_env(state), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: process.poll() is not None or _answers(url), 60, "the API server")
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        yield Server(url, token, other, state, work), process
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module's tests (each test makes its own runs and checks only them)."""
    with running_server(tmp_path_factory.mktemp("api")) as (started, _process):
        yield started

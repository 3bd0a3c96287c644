"""Faults: a worker killed in the middle of a host's task, the broker going away, and no
worker at all. Each ends the run with a clear message, never a hang or a silent loss."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.distributed.conftest import (
    WORKER_KEY,
    Worker,
    host_dirs,
    read_tree,
    runbook_process,
    start_workers,
)
from tests.fixtures.redis import RedisServer, start_redis
from tests.fixtures.sshd import SSHHost, write_inventory

pytestmark = pytest.mark.ssh

# Waits (bounded) for a release file the test writes; `exec` so that a step orphaned by a
# killed worker can only sleep, never write.
HELD_STEP = """
- hosts: testhosts
  gather_facts: false
  vars:
    dir: "{{ dirs[inventory_hostname] }}"
  tasks:
    - name: held step
      shell: |
        if [ ! -e {{ dir }}/started ]; then
          touch {{ dir }}/started
          exec sleep 300
        fi
        echo ran >> {{ dir }}/runs
    - name: after
      copy:
        dest: "{{ dir }}/after.txt"
        content: done
"""


def _env(url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "RUNBOOK_WORKER_KEY": WORKER_KEY, "RUNBOOK_BROKER_URL": url, **extra}


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"run ended early: {proc.communicate()}")
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)  # polling interval


def _kill_orphaned_sleeps(host: SSHHost) -> None:
    """The held step a killed worker left running on the host (`sleep 300`), by PID."""
    for pid in host.session_pids():
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep\x00300"):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def own_workers(redis_server: RedisServer, tmp_path: Path) -> Iterator[list[Worker]]:
    """Two workers of this test's own, on Redis db 2, one of them to be killed."""
    workers = start_workers(redis_server, 2, ["k1", "k2"], tmp_path / "workers",
                            concurrency=1)
    try:
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def test_worker_killed_mid_task_is_reported_and_resume_finishes(
        ssh_hosts, redis_server: RedisServer, own_workers: list[Worker],
        tmp_path: Path) -> None:
    host = ssh_hosts[0]
    playbook = tmp_path / "held.yml"
    playbook.write_text(textwrap.dedent(HELD_STEP))
    inventory = write_inventory(tmp_path / "inv.yml", [host])
    dirs = host_dirs([host], "killed")
    env = _env(redis_server.url(2))
    proc = runbook_process("run", playbook, "-i", inventory, "--executor", "celery",
                           "--format", "json", "-e", json.dumps({"dirs": dirs}), env=env)
    try:
        _wait_for(Path(dirs[host.name]) / "started", proc)
        claims = redis_server.cli("-n", "2", "--scan", "--pattern", "runbook:claim:*").split()
        holder = redis_server.cli("-n", "2", "get", claims[0]).strip()
        victim = next(w for w in own_workers if w.name == holder)
        survivor = next(w for w in own_workers if w is not victim)
        killed_at = time.monotonic()
        victim.kill()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        _kill_orphaned_sleeps(host)
    noticed = time.monotonic() - killed_at
    assert proc.returncode == 4, err
    document = json.loads(out)
    held = document["plays"][0]["tasks"][0]["results"][host.name]
    assert held["status"] == "failed"
    assert held["msg"].startswith(f"worker lost while running 'held step' on {host.name}")
    assert held["worker"] == victim.name and held["interrupted"] is True
    assert [t["name"] for t in document["plays"][0]["tasks"]] == ["held step"]
    assert noticed < 30
    assert "runs" not in read_tree(dirs[host.name])

    run_id = document["run"]["run_id"]
    shown = subprocess.run(
        [sys.executable, "-m", "runbook_engine", "show", run_id, "--format", "json"],
        capture_output=True, text=True, env=env, timeout=60)
    journal = json.loads(shown.stdout)
    assert journal["status"] == "failed"
    assert "worker lost while running 'held step'" in json.dumps(journal["tasks"])
    resumed = runbook_process("resume", run_id, "--executor", "celery", "--format", "json",
                              env=env)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    files = read_tree(dirs[host.name])
    assert files["runs"] == "ran\n" and files["after.txt"] == "done"
    # `resume` prints a line of its own before the JSON document
    resumed_doc = json.loads(out[out.index("{"):])
    results = [t["results"][host.name] for t in resumed_doc["plays"][0]["tasks"]]
    assert {r["worker"] for r in results} == {survivor.name}


def test_broker_going_away_fails_the_run_clearly(ssh_hosts, tmp_path: Path) -> None:
    host = ssh_hosts[1]
    broker = start_redis(tmp_path / "redis")
    workers: list[Worker] = []
    proc: subprocess.Popen[str] | None = None
    try:
        workers = start_workers(broker, 0, ["b1"], tmp_path / "workers", concurrency=1)
        playbook = tmp_path / "held.yml"
        playbook.write_text(textwrap.dedent(HELD_STEP))
        inventory = write_inventory(tmp_path / "inv.yml", [host])
        dirs = host_dirs([host], "broker")
        proc = runbook_process("run", playbook, "-i", inventory, "--executor", "celery",
                               "--format", "json", "-e", json.dumps({"dirs": dirs}),
                               env=_env(broker.url(0)))
        _wait_for(Path(dirs[host.name]) / "started", proc)
        gone_at = time.monotonic()
        broker.proc.kill()
        broker.proc.wait(timeout=10)
        out, err = proc.communicate(timeout=60)
        noticed = time.monotonic() - gone_at
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        for worker in workers:
            worker.kill()
        broker.stop()
        _kill_orphaned_sleeps(host)
    assert proc.returncode == 4, err
    document = json.loads(out)
    held = document["plays"][0]["tasks"][0]["results"][host.name]
    assert held["status"] == "failed"
    assert f"the broker redis://127.0.0.1:{broker.port}/0 went away" in held["msg"]
    assert any("went away" in w for w in document["warnings"])
    assert noticed < 30


def test_no_worker_alive_fails_instead_of_waiting_forever(ssh_hosts, redis_server, runbook,
                                                          tmp_path: Path) -> None:
    playbook = tmp_path / "one.yml"
    playbook.write_text("- hosts: testhosts\n  gather_facts: false\n  tasks:\n"
                        "    - command: echo hi\n")
    inventory = write_inventory(tmp_path / "inv.yml", ssh_hosts[:1])
    proc = runbook_process("run", playbook, "-i", inventory, "--executor", "celery",
                           "--format", "json", "--no-journal",
                           env=_env(redis_server.url(3), RUNBOOK_NO_WORKER_WAIT="2"))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 4, err
    result = json.loads(out)["plays"][0]["tasks"][0]["results"][ssh_hosts[0].name]
    assert result["msg"].startswith("no runbook worker is alive on redis://127.0.0.1:")
    # the job is marked abandoned, so a worker starting later will not run it behind our back
    claims = redis_server.cli("-n", "3", "--scan", "--pattern", "runbook:claim:*").split()
    assert [redis_server.cli("-n", "3", "get", c).strip() for c in claims] == [
        "<abandoned by the controller>"]


def test_interrupting_the_controller_stops_waiting_on_workers(
        ssh_hosts, redis_server: RedisServer, own_workers: list[Worker],
        tmp_path: Path) -> None:
    hosts = ssh_hosts[:2]
    playbook = tmp_path / "held.yml"
    playbook.write_text(textwrap.dedent(HELD_STEP))
    inventory = write_inventory(tmp_path / "inv.yml", hosts)
    dirs = host_dirs(hosts, "interrupted")
    proc = runbook_process("run", playbook, "-i", inventory, "--executor", "celery",
                           "--format", "json", "-e", json.dumps({"dirs": dirs}),
                           env=_env(redis_server.url(2)))
    try:
        for host in hosts:
            _wait_for(Path(dirs[host.name]) / "started", proc)
        interrupted_at = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        for host in hosts:
            _kill_orphaned_sleeps(host)
    assert proc.returncode == 130, err
    assert time.monotonic() - interrupted_at < 15  # the workers' jobs still ran: no wait
    assert any("interrupted" in w for w in json.loads(out)["warnings"])

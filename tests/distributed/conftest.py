"""Real Celery workers (`runbook worker` processes) on a real Redis, and helpers to run
the same playbook with --executor local and --executor celery."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.redis import RedisServer
from tests.fixtures.sshd import SSHHost

WORKER_KEY = "test-worker-key-not-secret-0123456789"
READY_TIMEOUT = 60.0


@dataclass
class Worker:
    name: str  # the node name, as results carry it
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no goodbye to Redis."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def worker_env(url: str, cache: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(RUNBOOK_WORKER_KEY=WORKER_KEY, RUNBOOK_BROKER_URL=url)
    if cache is not None:
        env["RUNBOOK_WORKER_CACHE"] = str(cache)
    return env


def start_workers(redis: RedisServer, db: int, names: list[str], directory: Path,
                  concurrency: int = 2) -> list[Worker]:
    """Start `runbook worker` processes and wait until each one's liveness key exists
    (set when Celery reports the worker ready)."""
    directory.mkdir(parents=True, exist_ok=True)
    workers = []
    for name in names:
        log = directory / f"{name}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "runbook_engine", "worker", "--broker", redis.url(db),
             "--concurrency", str(concurrency), "--name", name, "--loglevel", "WARNING"],
            stdout=log.open("wb"), stderr=subprocess.STDOUT,
            env=worker_env(redis.url(db), directory / f"cache-{name}"),
        )
        workers.append(Worker(f"{name}@{socket.gethostname()}", proc, log))
    deadline = time.monotonic() + READY_TIMEOUT
    for worker in workers:
        key = f"runbook:worker:{worker.name}"
        while redis.cli("-n", str(db), "exists", key).strip() != "1":
            if worker.proc.poll() is not None or time.monotonic() > deadline:
                for w in workers:
                    w.stop()
                raise RuntimeError(f"worker {worker.name} did not start:\n"
                                   f"{worker.log.read_text()[-3000:]}")
            time.sleep(0.1)  # polling interval
    return workers


@pytest.fixture(scope="session")
def celery_workers(redis_server: RedisServer,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Worker]]:
    """Two workers, two threads each, on Redis db 0."""
    workers = start_workers(redis_server, 0, ["w1", "w2"],
                            tmp_path_factory.mktemp("workers"))
    try:
        yield workers
    finally:
        for worker in workers:
            worker.stop()


@dataclass
class CeleryEnv:
    redis: RedisServer
    workers: list[Worker]
    url: str


@pytest.fixture
def celery_env(redis_server: RedisServer, celery_workers: list[Worker],
               monkeypatch: pytest.MonkeyPatch) -> CeleryEnv:
    """The controller's settings for `runbook run --executor celery` in this process."""
    monkeypatch.setenv("RUNBOOK_WORKER_KEY", WORKER_KEY)
    monkeypatch.setenv("RUNBOOK_BROKER_URL", redis_server.url(0))
    return CeleryEnv(redis_server, celery_workers, redis_server.url(0))


def runbook_process(*args: str | Path, env: dict[str, str],
                    timeout: float = 180) -> subprocess.Popen[str]:
    """Start the real `runbook` command in a child process (the caller waits)."""
    return subprocess.Popen(
        [sys.executable, "-m", "runbook_engine", *[str(a) for a in args]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def host_dirs(hosts: list[SSHHost], label: str) -> dict[str, str]:
    """A fresh directory per host, owned by the host's user: {inventory name: path}."""
    dirs = {}
    for host in hosts:
        path = Path(host.scratch) / label
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        entry = pwd.getpwnam(host.user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
        dirs[host.name] = str(path)
    return dirs


def read_tree(path: str) -> dict[str, str]:
    root = Path(path)
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file()}


VOLATILE = {"duration", "start", "end", "delta", "worker", "attempts"}


def statuses(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Per play, task and host: status, changed, message and output, in document order
    (timings and the worker's name left out)."""
    rows = []
    for play in document["plays"]:
        for task in play["tasks"]:
            for host, entry in sorted(task["results"].items()):
                for item in entry if isinstance(entry, list) else [entry]:
                    rows.append((play["name"], task["name"], host, item["status"],
                                 item["changed"], item["msg"], item["stdout"],
                                 item.get("item"), json.dumps(item["diff"], sort_keys=True)))
    return rows


def workers_named(document: dict[str, Any]) -> set[str]:
    found = set()
    for play in document["plays"]:
        for task in play["tasks"]:
            for entry in task["results"].values():
                for item in entry if isinstance(entry, list) else [entry]:
                    if "worker" in item:
                        found.add(item["worker"])
    return found

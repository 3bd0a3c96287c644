"""The worker side: the Celery task that runs one task on one host.

A worker process keeps, across jobs: the unpacked bundles (on disk, by checksum), the
loaded playbooks (in memory, by checksum and extra vars), the shared blobs (inventory
skeleton, batches) and one connection per host. Each job claims its id in Redis before it
starts (the controller may have given up on it), and pushes its sealed reply to a list
the controller is waiting on.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from runbook_engine.connection.base import Connection
from runbook_engine.connection.factory import command_line_overrides, host_connection_vars
from runbook_engine.distributed import bundle as bundles
from runbook_engine.distributed import codec, protocol
from runbook_engine.distributed.context import (
    CollectingRegistry,
    InventorySlice,
    WorkerRunner,
    play_run,
)
from runbook_engine.distributed.sealing import Sealer
from runbook_engine.executor.runner import HostState, RunOptions
from runbook_engine.executor.task_runner import TaskRunner
from runbook_engine.loader.model import Playbook, Task
from runbook_engine.loader.yaml_source import VaultTagged
from runbook_engine.templating import Templar, TemplateError

CACHE_ENV = "RUNBOOK_WORKER_CACHE"
_KEPT_PLAINTEXTS = 4096  # decrypted inline !vault values kept between jobs (WorkerState)


def default_cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "runbook-worker"


class LoadedPlaybook:
    def __init__(self, playbook: Playbook) -> None:
        self.playbook = playbook
        self.templar = Templar(search_paths=[playbook.path.parent])
        self.tasks: dict[tuple[int, str], Task] = {}
        for index, play in enumerate(playbook.plays):
            for section in (play.pre_tasks, play.tasks, play.post_tasks, play.handlers):
                self._index(index, section)

    def _index(self, play: int, tasks: list[Task]) -> None:
        for task in tasks:
            self.tasks.setdefault((play, task.task_id), task)
            for inner in (task.block, task.rescue, task.always):
                self._index(play, inner)

    def task(self, play_index: int, task_id: str) -> Task:
        if task_id == "facts":  # the controller's implicit fact gathering
            play = self.playbook.plays[play_index]
            return Task(kind="task", position=play.position, name="Gathering Facts",
                        module="setup", task_id="facts", order=-1)
        try:
            return self.tasks[(play_index, task_id)]
        except KeyError:
            raise bundles.BundleError(f"task {task_id} is not in the bundle's play "
                                      f"{play_index}: controller and bundle differ") from None


class ConnectionPool:
    """One connection per host (and connection settings), kept across jobs; closed once
    no job has used it for IDLE_CLOSE seconds, so a long-lived worker does not hold a
    session to every host it ever served."""

    IDLE_CLOSE = float(os.environ.get("RUNBOOK_WORKER_IDLE_CLOSE", "300"))

    def __init__(self) -> None:
        self._connections: dict[tuple[str, str], Connection] = {}
        self._busy: dict[tuple[str, str], int] = {}
        self._released: dict[tuple[str, str], float] = {}
        self._swept = time.monotonic()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def lease(self) -> Iterator[Callable[[str, dict[str, Any]], Connection]]:
        """A getter for one job; the connections it handed out count as busy until the
        job ends."""
        used: set[tuple[str, str]] = set()

        def get(host: str, host_vars: dict[str, Any]) -> Connection:
            from runbook_engine.connection.factory import connection_for

            key = (host, hashlib.sha256(codec.dumps(host_vars).encode()).hexdigest())
            with self._lock:
                conn = self._connections.get(key)
                if conn is None:
                    conn = self._connections[key] = connection_for(host, host_vars)
                if key not in used:
                    used.add(key)
                    self._busy[key] = self._busy.get(key, 0) + 1
                return conn

        try:
            yield get
        finally:
            now = time.monotonic()
            with self._lock:
                for key in used:
                    self._busy[key] -= 1
                    self._released[key] = now
            self._close_idle(now)

    def _close_idle(self, now: float) -> None:
        with self._lock:
            if now - self._swept < min(60.0, self.IDLE_CLOSE):
                return
            self._swept = now
            idle = [key for key, conn in self._connections.items()
                    if not self._busy.get(key) and
                    now - self._released.get(key, now) >= self.IDLE_CLOSE]
            closing = [self._connections.pop(key) for key in idle]
        for conn in closing:
            with contextlib.suppress(Exception):
                conn.close()

    def __len__(self) -> int:
        return len(self._connections)

    def close(self) -> None:
        with self._lock:
            closing = list(self._connections.values())
            self._connections.clear()
        for conn in closing:
            with contextlib.suppress(Exception):
                conn.close()


class WorkerState:
    """Everything one worker process keeps between jobs."""

    def __init__(self, name: str, redis: Any, sealer: Sealer, cache_dir: Path) -> None:
        self.name = name
        self.redis = redis
        self.sealer = sealer
        self.cache_dir = cache_dir
        self.connections = ConnectionPool()
        self._playbooks: OrderedDict[tuple[str, str], LoadedPlaybook] = OrderedDict()
        self._blobs: OrderedDict[str, Any] = OrderedDict()
        self._verified: set[str] = set()
        self._plaintexts: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()

    # -- cached inputs ------------------------------------------------------------------
    def blob(self, digest: str) -> Any:
        with self._lock:
            if digest in self._blobs:
                self._blobs.move_to_end(digest)
                return self._blobs[digest]
        sealed = self.redis.get(protocol.blob_key(digest))
        if sealed is None:
            raise bundles.BundleError(f"shared data {digest[:12]} expired from Redis")
        value = self.sealer.open(sealed)
        with self._lock:
            self._blobs[digest] = value
            while len(self._blobs) > 64:
                self._blobs.popitem(last=False)
        return value

    def playbook(self, sha256: str, extra_vars: dict[str, Any],
                 vault: Callable[[str, Path], str]) -> LoadedPlaybook:
        from runbook_engine.loader.playbook import load_playbook

        key = (sha256, codec.dumps(extra_vars))
        with self._lock:
            loaded = self._playbooks.get(key)
            if loaded is not None:
                return loaded
        directory = self.cache_dir / sha256
        if not (directory / bundles.MANIFEST).is_file():
            sealed = self.redis.get(protocol.bundle_key(sha256))
            if sealed is None:
                raise bundles.BundleError(f"bundle {sha256[:12]} is not in Redis (expired?)")
            bundles.unpack(self.sealer.open_bytes(sealed), sha256, self.cache_dir)
        entry = bundles.verify(directory)
        loaded = LoadedPlaybook(load_playbook(directory / entry, extra_vars=extra_vars,
                                              vault=vault))
        with self._lock:
            self._playbooks[key] = loaded
            while len(self._playbooks) > 16:
                self._playbooks.popitem(last=False)
        return loaded

    # -- one job --------------------------------------------------------------------------
    def handle(self, job: str, token: str) -> None:
        if not self.redis.set(protocol.claim_key(job), self.name, nx=True,
                              ex=protocol.JOB_TTL):
            return  # the controller gave up on this job before any worker took it
        try:
            reply = self.execute(self.sealer.open(token))
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}", "worker": self.name}
        key = protocol.reply_key(job)
        self.redis.rpush(key, self.sealer.seal(reply))
        self.redis.expire(key, protocol.JOB_TTL)

    def revealer(self, passwords: list[Any], secrets: Any,
                 registry: CollectingRegistry) -> Callable[[Any], Any]:
        """`reveal` for one job: decrypts an inline `!vault` value, registering the
        plaintext with the job's `registry`. Key derivation costs ~7 ms, and every job
        would repeat it (a vaulted ansible_password: every task on every host), so
        plaintexts are kept for the worker's life, keyed by ciphertext and a digest of
        the job's vault passwords."""
        from runbook_engine import vault

        digest = hashlib.sha256(repr(sorted(map(tuple, passwords))).encode()).hexdigest()

        def reveal(value: Any) -> Any:
            if not isinstance(value, VaultTagged):
                return value
            if not secrets:
                raise TemplateError("a !vault value needs a vault password "
                                    "(--vault-password-file or RUNBOOK_VAULT_PASSWORD)")
            key = (str(value), digest)
            with self._lock:
                plaintext = self._plaintexts.get(key)
            if plaintext is None:
                plaintext = vault.decrypt_value(value, secrets, registry)
                with self._lock:
                    self._plaintexts[key] = plaintext
                    while len(self._plaintexts) > _KEPT_PLAINTEXTS:
                        self._plaintexts.popitem(last=False)
            else:
                registry.add(plaintext)  # masked in this job's reply too
            return plaintext

        return reveal

    def execute(self, payload: dict[str, Any]) -> dict[str, Any]:
        from runbook_engine import vault

        registry = CollectingRegistry()
        vault_secrets = vault.VaultSecrets(
            vault.VaultSecret(base64.b64decode(password), vault_id)
            for vault_id, password in payload["vault"])
        reveal = self.revealer(payload["vault"], vault_secrets, registry)

        def vault_file(text: str, path: Path) -> str:
            return vault.decrypt_file_text(text, vault_secrets, registry)

        loaded = self.playbook(payload["bundle"], payload["load_vars"], vault_file)
        shared = self.blob(payload["shared"])
        inventory = InventorySlice(shared["hosts"], shared["groups"], payload["host_vars"])
        states = {name: HostState(name, facts=facts) for name, facts in
                  payload["other_facts"].items()}
        host = payload["host"]
        state = states[host] = HostState(host, facts=payload["facts"],
                                         secret_facts=set(payload["secret_facts"]),
                                         notified=set(payload["notified"]))
        before = {k: codec.dumps(v) for k, v in state.facts.items()}
        options = RunOptions(**shared["options"])
        task = loaded.task(payload["play"], payload["task_id"])
        started = time.monotonic()
        overrides = command_line_overrides(payload["load_vars"])  # -e, checked by prepare()
        with self.connections.lease() as get_connection:
            def connect(name: str) -> Connection:
                return get_connection(name, host_connection_vars(
                    inventory, name, overrides, reveal, loaded.templar, options.extra_vars))

            runner = WorkerRunner(loaded.playbook, inventory, options, loaded.templar,
                                  registry, reveal, connect, states)
            run = play_run(runner, payload["play"], self.blob(payload["play_hosts"]),
                           self.blob(payload["batch"]))
            outcome = TaskRunner(run).execute(task, state, payload["extra"])
        for item in outcome.items:
            item.result.data["worker"] = self.name
        changed = {k: v for k, v in state.facts.items() if before.get(k) != codec.dumps(v)}
        return {
            "worker": self.name,
            "outcome": codec.outcome_to_plain(outcome),
            "facts": codec.to_plain(changed),
            "secret_facts": sorted(state.secret_facts),
            "notified": sorted(state.notified),
            "secrets": registry.learnt,
            "events": codec.to_plain(runner.bus.events),
            "seconds": time.monotonic() - started,
        }


_state: WorkerState | None = None


def install(app: Any, state: WorkerState) -> None:
    """Register the job task on `app`, served by `state`."""
    global _state
    _state = state

    @app.task(name=protocol.TASK_NAME)
    def run_host_task(job: str, token: str) -> None:
        assert _state is not None
        _state.handle(job, token)


class Heartbeat(threading.Thread):
    """Keeps `runbook:worker:NAME` alive while this process lives: the controller reads
    its absence as a lost worker. Started when the worker is ready for jobs."""

    def __init__(self, redis: Any, name: str) -> None:
        super().__init__(name="runbook-heartbeat", daemon=True)
        self._redis = redis
        self._key = protocol.worker_key(name)
        self._stop_event = threading.Event()

    def run(self) -> None:
        ttl_ms = int(protocol.LIVENESS_TTL * 1000)
        while not self._stop_event.is_set():
            try:
                self._redis.set(self._key, str(os.getpid()), px=ttl_ms)
            except Exception:
                pass  # Redis away for a moment: the key expires, jobs are reported lost
            self._stop_event.wait(protocol.HEARTBEAT)

    def stop(self) -> None:
        self._stop_event.set()
        try:
            self._redis.delete(self._key)
        except Exception:
            pass

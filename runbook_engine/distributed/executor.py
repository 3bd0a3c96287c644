"""The controller side: `celery_task_executor(prepared)` returns the TaskExecutor that
sends each (task, host) call to a worker and waits for its reply.

Per call, the message carries (sealed): the host's facts, registered variables and
notified handlers, its inventory variables (and its delegate's), the include variables,
the vault passwords and which task of which bundle to run. The inventory skeleton, the
run's options and the host lists live once per run in Redis as sealed blobs. The reply
carries the Outcome and the state delta, which is applied here exactly as
TaskRunner.execute would have applied it locally.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import threading
import time
import uuid
import weakref
from typing import Any

from runbook_engine.distributed import codec, protocol
from runbook_engine.distributed.bundle import build_bundle
from runbook_engine.distributed.sealing import sealer_from_env
from runbook_engine.errors import InputError
from runbook_engine.executor.runner import HostState, PlayRun, local_task_executor
from runbook_engine.executor.task_runner import ItemResult, Outcome
from runbook_engine.loader.model import Task
from runbook_engine.modules.base import Result
from runbook_engine.templating import TemplateError


class BrokerGone(Exception):
    pass


class WorkerLost(Exception):
    def __init__(self, worker: str) -> None:
        super().__init__(worker)
        self.worker = worker


class NoWorker(Exception):
    pass


class Interrupted(Exception):
    def __init__(self, worker: str | None) -> None:
        super().__init__(worker)
        self.worker = worker


class Unserved(Exception):
    """The job's worker died before taking it; the job was withdrawn and can be re-sent."""


def _failed(msg: str, **data: Any) -> Outcome:
    return Outcome(failed=True, items=[ItemResult(Result(failed=True, msg=msg, data=data))])


def safe_url(url: str) -> str:
    from kombu.utils.url import maybe_sanitize_url

    return str(maybe_sanitize_url(url))


class CeleryTaskExecutor:
    def __init__(self, prepared: Any, broker: str | None = None) -> None:
        import redis

        self.prepared = prepared
        self.url = protocol.broker_url(broker)
        self.sealer = sealer_from_env()
        self.redis = protocol.redis_client(self.url)
        try:
            self.redis.ping()
        except redis.RedisError as exc:
            raise InputError(f"cannot reach the broker {safe_url(self.url)}: {exc}",
                             hint=f"start Redis there, or set {protocol.BROKER_ENV}") from None
        self.app = protocol.make_app(self.url)
        # a long-lived process (runbook serve) runs many runs: free their sockets
        weakref.finalize(self, _release, self.app, self.redis)
        self.bundle = build_bundle(prepared.playbook)
        key = protocol.bundle_key(self.bundle.sha256)
        if not self.redis.set(key, self.sealer.seal_bytes(self.bundle.data),
                              nx=True, ex=protocol.BUNDLE_TTL):
            self.redis.expire(key, protocol.BUNDLE_TTL)
        # Other hosts' variables and facts travel only when something may read them.
        self.ships_hostvars = b"hostvars" in self.bundle.data
        self.broken: str | None = None
        self._sent_blobs: dict[str, float] = {}  # digest -> when it was stored
        self._shared: tuple[dict[str, Any], str] | None = None  # value, digest
        self._vault: list[list[str]] | None = None
        self._publish_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._affinity: dict[str, str] = {}  # host -> worker serving it
        self._alive: set[str] = set()
        self._alive_at = 0.0

    # -- the TaskExecutor call ------------------------------------------------------------
    def __call__(self, run: PlayRun, task: Task, state: HostState,
                 extra: dict[str, Any]) -> Outcome:
        if _runs_on_controller(task):
            return local_task_executor(run, task, state, extra)
        if self.broken:
            return _failed(self.broken)
        try:
            reply = self._round_trip(self._payload(run, task, state, extra), state.name,
                                     run.runner.stopping)
        except Interrupted as exc:
            where = f"worker {exc.worker}" if exc.worker else "the queue"
            return _failed(f"interrupted while '{task.display_name}' ran on {state.name} "
                           f"({where}); it may still finish there", worker=exc.worker,
                           interrupted=True)
        except BrokerGone as exc:
            return self._break(run, str(exc))
        except WorkerLost as exc:
            return _failed(
                f"worker lost while running '{task.display_name}' on {state.name}: worker "
                f"{exc.worker} stopped answering; the task may have partly run "
                "(`runbook resume` runs it again)",
                worker=exc.worker, interrupted=True)
        except NoWorker as exc:
            return _failed(str(exc))
        if "error" in reply:
            return _failed(f"worker {reply['worker']}: {reply['error']}", worker=reply["worker"])
        return self._apply(run, state, reply)

    # -- building the message ---------------------------------------------------------------
    def _payload(self, run: PlayRun, task: Task, state: HostState,
                 extra: dict[str, Any]) -> dict[str, Any]:
        runner = run.runner
        inventory = runner.inventory
        targets = {state.name, *self._delegate(run, task, state, extra)}
        other_facts: dict[str, Any] = {}
        if self.ships_hostvars:
            targets |= set(run.batch)
            # dict() copies atomically: under `strategy: free` other hosts' facts change
            other_facts = {h: dict(runner.hosts[h].facts) for h in run.hosts
                           if h != state.name and h in runner.hosts}
        host_vars = {}
        for name in targets:
            try:
                host_vars[name] = inventory.host_vars(name)
            except InputError:
                pass  # a delegate outside the inventory: the worker fails as locally
        return {
            "bundle": self.bundle.sha256,
            "load_vars": self.prepared.extra_vars,
            "vault": self._vault_passwords(),
            "shared": self._shared_blob(run),
            "play": runner.playbook.plays.index(run.play),
            "play_hosts": self._blob(run.hosts),
            "batch": self._blob(run.batch),
            "task_id": task.task_id,
            "host": state.name,
            "host_vars": host_vars,
            "facts": state.facts,
            "secret_facts": sorted(state.secret_facts),
            "notified": sorted(state.notified),
            "other_facts": other_facts,
            "extra": extra,
        }

    def _delegate(self, run: PlayRun, task: Task, state: HostState,
                  extra: dict[str, Any]) -> list[str]:
        if not task.delegate_to:
            return []
        try:
            return [str(run.templar.render(task.delegate_to, run.variables(state, task, extra)))]
        except TemplateError:
            return []

    def _vault_passwords(self) -> list[list[str]]:
        if self._vault is None:
            secrets = self.prepared.vault._vault_secrets()  # the run's own, asked once
            self._vault = [[s.vault_id, base64.b64encode(s.password).decode()]
                           for s in secrets.secrets]
        return self._vault

    def _shared_blob(self, run: PlayRun) -> str:
        if self._shared is None:
            runner = run.runner
            options = runner.options
            value = {
                "hosts": list(runner.inventory.hosts),
                "groups": runner.inventory.groups,
                "options": {
                    "check": options.check, "diff": options.diff,
                    "verbosity": options.verbosity, "run_id": runner.run_id,
                    "extra_vars": options.extra_vars,
                    "preapproved": sorted(options.preapproved),
                },
            }
            self._shared = (value, hashlib.sha256(codec.dumps(value).encode()).hexdigest())
        return self._blob(*self._shared)

    def _blob(self, value: Any, digest: str | None = None) -> str:
        digest = digest or hashlib.sha256(codec.dumps(value).encode()).hexdigest()
        now = time.monotonic()
        with self._state_lock:
            if now - self._sent_blobs.get(digest, -protocol.JOB_TTL) < protocol.JOB_TTL / 2:
                return digest  # sent, and far from expiring (runs may last for days)
        self.redis.set(protocol.blob_key(digest), self.sealer.seal(value), ex=protocol.JOB_TTL)
        with self._state_lock:
            self._sent_blobs[digest] = now
        return digest

    # -- the round trip -----------------------------------------------------------------------
    def _round_trip(self, payload: dict[str, Any], host: str,
                    stopping: threading.Event) -> dict[str, Any]:
        token = self.sealer.seal(payload)
        for _attempt in range(3):
            job = uuid.uuid4().hex
            target = self._route(host)
            self._publish(job, token, target)
            try:
                reply = self._wait(job, target, stopping)
            except Unserved:
                self._unroute(host)
                continue
            self._forget(job)
            return reply
        raise NoWorker(f"no runbook worker took the job for {host}: three workers chosen "
                       "in turn stopped before taking it")

    def _route(self, host: str) -> str | None:
        """The worker that serves `host` (the same one every time, while it lives, so it
        reuses its connection), or None for the shared queue when no worker is alive."""
        alive = self._alive_workers()
        with self._state_lock:
            chosen = self._affinity.get(host)
            if chosen in alive:
                return chosen
            if not alive:
                return None
            load = {name: 0 for name in alive}
            for name in self._affinity.values():
                if name in load:
                    load[name] += 1
            chosen = min(sorted(alive), key=load.__getitem__)
            self._affinity[host] = chosen
            return chosen

    def _unroute(self, host: str) -> None:
        with self._state_lock:
            self._affinity.pop(host, None)
            self._alive_at = 0.0  # look again

    def _alive_workers(self) -> set[str]:
        with self._state_lock:
            if time.monotonic() - self._alive_at < protocol.POLL:
                return self._alive
        prefix = protocol.worker_key("")
        alive = {key.decode()[len(prefix):]
                 for key in self.redis.scan_iter(protocol.worker_key("*"), count=100)}
        with self._state_lock:
            self._alive, self._alive_at = alive, time.monotonic()
        return alive

    def _publish(self, job: str, token: str, target: str | None) -> None:
        import redis
        from kombu.exceptions import OperationalError

        queue = protocol.worker_queue(target) if target else protocol.QUEUE
        try:
            with self._publish_lock:  # one producer connection, used by one thread at a time
                self.app.send_task(
                    protocol.TASK_NAME, args=[job, token], queue=queue, retry=True,
                    retry_policy={"max_retries": 2, "interval_start": 0.5,
                                  "interval_step": 1, "interval_max": 2})
        except (OperationalError, redis.RedisError, OSError) as exc:
            raise BrokerGone(self._gone_message(exc)) from None

    def _wait(self, job: str, target: str | None,
              stopping: threading.Event) -> dict[str, Any]:
        import redis

        reply_key, claim_key = protocol.reply_key(job), protocol.claim_key(job)
        idle_since = time.monotonic()
        broken_since: float | None = None
        while True:
            try:
                if stopping.is_set():
                    self._withdraw(claim_key)
                    raise Interrupted(self._owner(claim_key))
                got = self.redis.blpop([reply_key], timeout=protocol.POLL)
                if got is not None:
                    return dict(self.sealer.open(got[1]))
                owner = self.redis.get(claim_key)
                if owner is not None:
                    if not self.redis.exists(protocol.worker_key(owner.decode())):
                        last = self.redis.lpop(reply_key)  # it may have answered just now
                        if last is not None:
                            return dict(self.sealer.open(last))
                        raise WorkerLost(owner.decode())
                elif target is not None:
                    if (not self.redis.exists(protocol.worker_key(target))
                            and self.redis.set(claim_key, protocol.ABANDONED, nx=True,
                                               ex=protocol.JOB_TTL)):
                        raise Unserved(target)
                elif self._alive_workers():
                    idle_since = time.monotonic()
                elif (time.monotonic() - idle_since > protocol.NO_WORKER_WAIT
                      and self.redis.set(claim_key, protocol.ABANDONED, nx=True,
                                         ex=protocol.JOB_TTL)):
                    raise NoWorker(
                        f"no runbook worker is alive on {safe_url(self.url)} (waited "
                        f"{protocol.NO_WORKER_WAIT:.0f} s): start one with `runbook worker`")
                broken_since = None
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                now = time.monotonic()
                broken_since = broken_since or now
                if now - broken_since > protocol.BROKER_GRACE:
                    raise BrokerGone(self._gone_message(exc)) from None
                time.sleep(0.2)

    def _withdraw(self, claim_key: str) -> None:
        """A job not taken yet never runs: a worker taking it later finds it claimed."""
        self.redis.set(claim_key, protocol.ABANDONED, nx=True, ex=protocol.JOB_TTL)

    def _owner(self, claim_key: str) -> str | None:
        owner = self.redis.get(claim_key)
        text = owner.decode() if owner is not None else None
        return None if text == protocol.ABANDONED else text

    def _forget(self, job: str) -> None:
        import redis

        with contextlib.suppress(redis.RedisError):
            self.redis.delete(protocol.claim_key(job))

    def _gone_message(self, exc: BaseException) -> str:
        return (f"the broker {safe_url(self.url)} went away: {type(exc).__name__}: {exc}; "
                "the run stops (`runbook resume` continues it once Redis is back)")

    def _break(self, run: PlayRun, msg: str) -> Outcome:
        with self._state_lock:
            first = self.broken is None
            self.broken = self.broken or msg
        if first:
            run.bus.emit("warning", msg=msg)
        return _failed(msg)

    # -- applying the reply ----------------------------------------------------------------------
    def _apply(self, run: PlayRun, state: HostState, reply: dict[str, Any]) -> Outcome:
        for secret in reply["secrets"]:
            run.secrets.add(secret)
        state.facts.update(reply["facts"])
        state.secret_facts = set(reply["secret_facts"])
        state.notified = set(reply["notified"])
        for kind, data in reply["events"]:
            run.bus.emit(kind, **run.secrets.mask(data))
        return codec.outcome_from_plain(reply["outcome"])


def _release(app: Any, redis_client: Any) -> None:
    with contextlib.suppress(Exception):
        app.close()
    with contextlib.suppress(Exception):
        redis_client.close()


def _runs_on_controller(task: Task) -> bool:
    """Includes only render templates; run-once modules (pause, approve) need the
    controller's terminal and state store."""
    if task.kind == "include":
        return True
    if task.kind != "task" or not task.module:
        return False
    from runbook_engine.modules import load_module

    return bool(getattr(load_module(task.module), "RUN_ONCE", False))


def celery_task_executor(prepared: Any) -> CeleryTaskExecutor:
    return CeleryTaskExecutor(prepared)

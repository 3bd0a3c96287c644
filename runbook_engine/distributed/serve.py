"""`runbook worker`: a Celery worker (thread pool) serving runbook jobs from Redis.

Threads, not prefork: jobs wait on SSH, not on the CPU, and one process means one
connection pool per host for every job, and one liveness key that dies with the process
(a SIGKILL takes the whole worker down at once, which the controller sees).
"""

from __future__ import annotations

import os
import socket
from typing import Any

from runbook_engine.distributed import protocol
from runbook_engine.distributed.sealing import sealer_from_env
from runbook_engine.distributed.worker import Heartbeat, WorkerState, default_cache_dir, install


def node_name(name: str | None) -> str:
    base = name or f"runbook-{os.getpid()}"
    return base if "@" in base else f"{base}@{socket.gethostname()}"


def serve(broker: str | None, concurrency: int, name: str | None,
          loglevel: str = "INFO") -> int:
    from celery import signals

    url = protocol.broker_url(broker)
    nodename = node_name(name)
    sealer = sealer_from_env()
    redis = protocol.redis_client(url)
    state = WorkerState(nodename, redis, sealer, default_cache_dir())
    app = protocol.make_app(url)
    install(app, state)
    heartbeat = Heartbeat(redis, nodename)

    def on_ready(**_: Any) -> None:
        heartbeat.start()
        print(f"runbook worker {nodename} ready (broker {_safe(url)})", flush=True)

    def on_shutdown(**_: Any) -> None:
        heartbeat.stop()
        state.connections.close()

    signals.worker_ready.connect(on_ready, weak=False)
    signals.worker_shutdown.connect(on_shutdown, weak=False)
    app.worker_main([
        "worker", "--pool=threads", f"--concurrency={concurrency}", "-n", nodename,
        "-Q", f"{protocol.QUEUE},{protocol.worker_queue(nodename)}", f"--loglevel={loglevel}",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
    ])
    return 0


def _safe(url: str) -> str:
    from runbook_engine.distributed.executor import safe_url

    return safe_url(url)

"""What the controller and the workers agree on: the Celery app, Redis key names, timings.

Celery carries the work (one message per task and host, acknowledged when a worker takes
it: a lost worker's message is never redelivered behind the controller's back). Replies,
claims and liveness go through plain Redis keys rather than Celery's result backend: the
controller waits for many hosts on many threads at once, and needs to see *which* worker
holds a job and whether that worker is still alive.
"""

from __future__ import annotations

import os
from typing import Any

TASK_NAME = "runbook.run_host_task"
QUEUE = "runbook"
BROKER_ENV = "RUNBOOK_BROKER_URL"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"

PREFIX = "runbook:"
ABANDONED = "<abandoned by the controller>"


def _seconds(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


# A worker refreshes its liveness key every HEARTBEAT seconds; the key lives LIVENESS_TTL.
HEARTBEAT = _seconds("RUNBOOK_WORKER_HEARTBEAT", 1.0)
LIVENESS_TTL = _seconds("RUNBOOK_WORKER_LIVENESS_TTL", 6.0)
# How long a job may wait in the queue while no worker at all is alive.
NO_WORKER_WAIT = _seconds("RUNBOOK_NO_WORKER_WAIT", 30.0)
# How long the broker may stay unreachable before the run gives up.
BROKER_GRACE = _seconds("RUNBOOK_BROKER_GRACE", 5.0)
POLL = 1.0  # seconds per blocking wait for a reply
BUNDLE_TTL = 7 * 24 * 3600
JOB_TTL = 24 * 3600


def broker_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get(BROKER_ENV) or DEFAULT_BROKER


def worker_queue(name: str) -> str:
    """Each worker also serves a queue of its own: a host's jobs go to the worker that
    already holds its SSH connection."""
    return f"{QUEUE}.{name}"


def worker_key(name: str) -> str:
    return f"{PREFIX}worker:{name}"


def claim_key(job: str) -> str:
    return f"{PREFIX}claim:{job}"


def reply_key(job: str) -> str:
    return f"{PREFIX}reply:{job}"


def bundle_key(sha256: str) -> str:
    return f"{PREFIX}bundle:{sha256}"


def blob_key(sha256: str) -> str:
    return f"{PREFIX}blob:{sha256}"


def redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(
        url, socket_connect_timeout=3, socket_timeout=POLL + 5, health_check_interval=10,
    )


def make_app(url: str) -> Any:
    from celery import Celery

    app = Celery("runbook", broker=url)
    app.conf.update(
        task_acks_late=False,  # acknowledged on receipt: never run twice silently
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        broker_transport_options={"socket_connect_timeout": 3, "socket_timeout": 10},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app

"""Scale-out execution: each (task, host) call runs on a Celery worker over Redis.

The controller keeps the walk, the strategy's barrier, stats and every event; workers only
run `TaskRunner.execute` for one task on one host. See docs/distributed.md.

- `codec`: JSON with the few loader types that must survive the trip (`!vault`, 0644).
- `sealing`: Fernet encryption of everything that enters Redis (key: RUNBOOK_WORKER_KEY).
- `bundle`: the playbook's files as a checksummed tar, cached by workers.
- `protocol`: Celery app, Redis key names, settings shared by both sides.
- `executor`: the controller side, `celery_task_executor(prepared)`.
- `worker`: the worker side, the Celery task and its per-process caches.
"""

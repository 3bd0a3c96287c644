"""`runbook worker`: serve `runbook run --executor celery` jobs from Redis."""

from __future__ import annotations

import argparse
import os

HELP = "run a Celery worker that executes tasks for `runbook run --executor celery`"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker", default=None, metavar="URL",
                        help="Redis URL (default: $RUNBOOK_BROKER_URL or "
                             "redis://127.0.0.1:6379/0)")
    parser.add_argument("--concurrency", type=int,
                        default=int(os.environ.get("RUNBOOK_WORKER_CONCURRENCY", "2")),
                        metavar="N", help="tasks at once (threads; default 2)")
    parser.add_argument("--name", default=None,
                        help="worker name, shown on each host's results (default runbook-PID)")
    parser.add_argument("--loglevel", default="INFO", help="Celery log level (default INFO)")


def main(args: argparse.Namespace) -> int:
    try:
        from runbook_engine.distributed.serve import serve
    except ImportError as exc:
        from runbook_engine.errors import InputError

        raise InputError(f"runbook worker is not available: {exc}",
                         hint="pip install 'runbook-engine[celery]'") from None
    return serve(args.broker, max(1, args.concurrency), args.name, args.loglevel)

"""`runbook scheduler`: the long-lived service that runs playbooks at their cron times."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Run playbooks on the schedules of a schedules file (a service; --once for cron)."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schedules", type=Path, default=Path("schedules.yml"),
                        metavar="FILE", help="the schedules file (default: schedules.yml)")
    parser.add_argument("--once", action="store_true",
                        help="fire what is due now, wait for those runs, exit (for cron)")
    parser.add_argument("--window", type=float, default=60, metavar="SECONDS",
                        help="with --once: a fire this recent is due, an older one is missed "
                             "(default 60: cron calling us every minute)")
    parser.add_argument("--stop-timeout", type=float, default=300, metavar="SECONDS",
                        help="on SIGTERM, wait this long for runs to end before killing them")
    parser.add_argument("--state-dir", type=Path, metavar="DIR",
                        help="where the fire times and run logs live "
                             "(default: $RUNBOOK_STATE_DIR or ./.runbook)")


def main(args: argparse.Namespace) -> int:
    import signal
    import sys
    import threading
    from datetime import timedelta

    from runbook_engine.errors import InputError
    from runbook_engine.scheduler.config import load_schedules_file
    from runbook_engine.scheduler.fire_log import FireLog, default_state_dir, exclusive
    from runbook_engine.scheduler.oneshot import choose_runs, start_and_wait
    from runbook_engine.scheduler.service import Scheduler

    schedules = load_schedules_file(args.schedules)
    state_dir = args.state_dir or default_state_dir()

    def say(message: str) -> None:
        from datetime import UTC, datetime

        print(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC {message}", flush=True)

    stop = threading.Event()

    def request_stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with exclusive(state_dir / "scheduler.lock") as alone:
        if not alone:
            raise InputError(f"another scheduler is running on {state_dir}",
                             hint="stop it first, or use another --state-dir")
        retention = schedules.history_retention
        scheduler = Scheduler(
            schedules.schedules, FireLog(state_dir / "scheduler-fires.json"),
            state_dir / "scheduler-logs", say=say,
            history_retention=timedelta(seconds=retention) if retention else None)
        if not args.once:
            scheduler.serve(stop, args.stop_timeout)
            return 0
        choose_runs(scheduler, args.window)
    # The lock only guards the choice: the next one-shot may start while these runs go on.
    code = start_and_wait(scheduler, stop, args.stop_timeout)
    sys.stdout.flush()
    return code

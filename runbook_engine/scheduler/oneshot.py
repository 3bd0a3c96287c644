"""`runbook scheduler --once`: fire what is due now, wait for those runs, exit.

For a cron job calling us every minute (or every N minutes: pass the same `--window`).
An entry is due when its latest fire time is newer than the one handled last time, and
no older than the window; an older one is a missed fire and follows the `missed` policy.
A run of the same schedule still running (from an earlier one-shot) makes this fire a
skip, whatever the overlap policy: a one-shot cannot queue behind another process.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from runbook_engine.scheduler.service import EntryState, Scheduler, count_fires


def fire_due(scheduler: Scheduler, window: float) -> list[EntryState]:
    """Decide and record which entries fire now; returns them."""
    now = scheduler.clock()
    due: list[EntryState] = []
    for state in scheduler.states:
        entry = state.entry
        latest = entry.previous_fire(now + timedelta(microseconds=1))
        handled = scheduler.fire_log.last_fire(entry.name)
        if handled is not None and latest <= handled:
            continue
        recent = (now - latest).total_seconds() <= window
        scheduler.fire_log.record(entry.name, latest)
        if recent:
            due.append(state)
        elif handled is not None:
            missed = count_fires(entry, handled, now)
            if entry.missed == "run_once":
                scheduler.say(f"{entry.name}: missed {missed} fire time(s); running it once now")
                due.append(state)
            else:
                scheduler.say(f"{entry.name}: missed {missed} fire time(s); skipped")
    return due


def choose_runs(scheduler: Scheduler, window: float) -> None:
    """Record this fire and queue the runs it starts (under the scheduler lock)."""
    from runbook_engine.scheduler.journal_view import running_run_ids
    from runbook_engine.state.store import open_store

    scheduler.prune_if_due()
    due = fire_due(scheduler, window)
    if not due:
        scheduler.say("nothing is due")
        return
    with open_store() as store:
        for state in due:
            busy = running_run_ids(store, state.entry.trigger)
            if busy:
                scheduler.say(f"{state.entry.name}: run {busy[0]} still running; "
                              "this fire is skipped")
            else:
                scheduler.schedule_start(state, scheduler.clock())


def start_and_wait(scheduler: Scheduler, stop: threading.Event,
                   stop_timeout: float = 300.0) -> int:
    """Start the chosen runs after their jitter, wait for them; their combined exit code."""
    while any(s.starts for s in scheduler.states) and not stop.is_set():
        scheduler.tick(fire=False)
        stop.wait(scheduler.seconds_to_next_event())
    scheduler.wait_for_children(None, stop, stop_timeout)
    return combined_exit_code([code for _name, _run, code in scheduler.finished])


def combined_exit_code(codes: list[int]) -> int:
    """130 when any run was interrupted, else the bit-or of the runs' exit codes."""
    if 130 in codes:
        return 130
    combined = 0
    for code in codes:
        combined |= code
    return combined



"""The scheduler: fires each schedule's runs at its cron times, and stops them cleanly.

One loop, one thread: every tick it reaps finished runs, stops runs past their timeout,
fires entries whose time has come (jitter delays the start, never the fire), and starts
what is due according to the entry's overlap policy. The clock is injectable.

`handled_through` (in the fire log) is the time up to which every fire of an entry was
dealt with; a scheduler that starts again after downtime compares it with the cron
expression to find the fires it missed, and applies the entry's `missed` policy.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from runbook_engine.scheduler.config import ScheduleEntry
from runbook_engine.scheduler.fire_log import FireLog
from runbook_engine.scheduler.launch import ChildRun, RunSpec, start_run

if TYPE_CHECKING:
    from runbook_engine.state.retention import PruneResult

MAX_TICK = 0.5  # seconds between looks at the children when no fire is nearer
MISSED_COUNT_CAP = 1000
PRUNE_EVERY = timedelta(days=1)
PRUNE_KEY = "(history retention)"  # its last time, in the fire log beside the schedules'


def utc_now() -> datetime:
    return datetime.now(UTC)


def run_spec(entry: ScheduleEntry) -> RunSpec:
    return RunSpec(playbook=entry.playbook, inventory=list(entry.inventory), limit=entry.limit,
                   extra_vars=dict(entry.extra_vars), params=dict(entry.params),
                   check=entry.check, trigger=entry.trigger)


def count_fires(entry: ScheduleEntry, after: datetime, until: datetime) -> int:
    """Fire times in (after, until], counted up to a cap."""
    times = entry.fire_times_after(after)
    count = 0
    while count < MISSED_COUNT_CAP and times.get_next(datetime) <= until:
        count += 1
    return count


@dataclass
class EntryState:
    entry: ScheduleEntry
    next_fire: datetime
    starts: list[datetime] = field(default_factory=list)  # fired, waiting out their jitter
    running: ChildRun | None = None
    running_since: datetime | None = None  # by the scheduler's clock, for the timeout
    queued: bool = False


class Scheduler:
    def __init__(
        self,
        entries: list[ScheduleEntry],
        fire_log: FireLog,
        log_dir: Path,
        *,
        clock: Callable[[], datetime] = utc_now,
        jitter_fraction: Callable[[], float] = random.random,
        say: Callable[[str], None] = print,
        new_run_id: Callable[[], str] | None = None,
        kill_grace: float = 30.0,
        history_retention: timedelta | None = None,
        prune_history: Callable[[float], PruneResult] | None = None,
    ) -> None:
        """With `history_retention`, runs older than it leave the state store once a day
        (`prune_history(before_epoch)`, by default `state.retention.prune`), and their
        logs leave `log_dir`."""
        from runbook_engine.state.store import new_run_id as default_run_id

        self.fire_log = fire_log
        self.log_dir = log_dir
        self.clock = clock
        self.jitter_fraction = jitter_fraction
        self.say = say
        self.new_run_id = new_run_id or default_run_id
        self.kill_grace = kill_grace
        self.history_retention = history_retention
        self.prune_history = prune_history or _prune_state_store
        now = clock()
        self.states = [EntryState(e, e.next_fire(now)) for e in entries if e.enabled]
        self.finished: list[tuple[str, str, int]] = []  # (schedule, run id, exit code)

    # -- starting up after downtime -------------------------------------------------
    def catch_up(self) -> None:
        """Apply each entry's `missed` policy to the fires it missed while we were down."""
        now = self.clock()
        for state in self.states:
            entry = state.entry
            handled = self.fire_log.last_fire(entry.name)
            if handled is None:
                self.fire_log.record(entry.name, now)
                continue
            missed = count_fires(entry, handled, now)
            if not missed:
                continue
            latest = entry.previous_fire(now)
            self.fire_log.record(entry.name, latest)
            when = f"{missed} fire time(s) of {entry.name} since {handled.isoformat()}"
            if entry.missed == "run_once":
                self.say(f"missed {when}: running it once now")
                state.starts.append(now)
            else:
                self.say(f"missed {when}: skipped (missed: skip)")

    # -- the loop ---------------------------------------------------------------------
    def serve(self, stop: threading.Event, stop_timeout: float = 300.0) -> None:
        self.catch_up()
        names = ", ".join(s.entry.name for s in self.states) or "none"
        self.say(f"scheduler started: {len(self.states)} schedule(s): {names}")
        while not stop.is_set():
            self.tick()
            stop.wait(self.seconds_to_next_event())
        self.shutdown(stop_timeout)

    def seconds_to_next_event(self) -> float:
        now = self.clock()
        moments = [s.next_fire for s in self.states] + [t for s in self.states for t in s.starts]
        if not moments:
            return MAX_TICK
        return max(0.01, min(MAX_TICK, (min(moments) - now).total_seconds()))

    def prune_if_due(self) -> None:
        """Prune the history if a day has passed since the last time (kept in the fire
        log, so a one-shot scheduler called every minute prunes once a day too). A
        failure is said and tried again the next day; it never stops the schedules."""
        if self.history_retention is None:
            return
        now = self.clock()
        last = self.fire_log.last_fire(PRUNE_KEY)
        if last is not None and now - last < PRUNE_EVERY:
            return
        self.fire_log.record(PRUNE_KEY, now)
        from runbook_engine.state.render import when
        from runbook_engine.state.retention import describe

        before = (now - self.history_retention).timestamp()
        try:
            result = self.prune_history(before)
        except Exception as exc:
            self.say(f"history retention: pruning the state store failed: {exc}")
            return
        for run_id in result.removed:
            for suffix in (".jsonl", ".err"):
                (self.log_dir / f"{run_id}{suffix}").unlink(missing_ok=True)
        for line in describe(result, when(before)):
            self.say(f"history retention: {line}")

    def tick(self, *, fire: bool = True) -> None:
        self.prune_if_due()
        now = self.clock()
        for state in self.states:
            self._reap(state)
            if fire and now >= state.next_fire:
                self._fire(state, state.next_fire)
                state.next_fire = state.entry.next_fire(now)
            for start_at in [t for t in state.starts if t <= now]:
                state.starts.remove(start_at)
                self._start_or_apply_overlap(state)

    def schedule_start(self, state: EntryState, fire_time: datetime) -> None:
        """Start the entry once, after its jitter (used by `--once`)."""
        delay = self.jitter_fraction() * state.entry.jitter
        state.starts.append(fire_time + timedelta(seconds=delay))

    def _fire(self, state: EntryState, fire_time: datetime) -> None:
        entry = state.entry
        self.fire_log.record(entry.name, fire_time)
        self.schedule_start(state, fire_time)

    def _start_or_apply_overlap(self, state: EntryState) -> None:
        entry, running = state.entry, state.running
        if running is None:
            self._start(state)
        elif entry.overlap == "skip":
            self.say(f"{entry.name}: run {running.run_id} still running; this fire is skipped")
        elif entry.overlap == "queue":
            state.queued = True
            self.say(f"{entry.name}: run {running.run_id} still running; next run queued")
        else:
            state.queued = True
            self.say(f"{entry.name}: stopping run {running.run_id} (overlap: kill)")
            running.terminate()

    def _start(self, state: EntryState) -> None:
        run_id = self.new_run_id()
        try:
            state.running = start_run(run_spec(state.entry), run_id, self.log_dir)
            state.running_since = self.clock()
        except OSError as exc:
            self.say(f"{state.entry.name}: could not start a run: {exc}")
            return
        self.say(f"{state.entry.name}: run {run_id} started (pid {state.running.pid})")

    def _reap(self, state: EntryState) -> None:
        child = state.running
        if child is None:
            return
        code = child.poll()
        if code is None:
            self._enforce_timeout(state, child)
            return
        state.running = None
        self.finished.append((state.entry.name, child.run_id, code))
        detail = f": {child.error_text(300).strip()}" if code == 2 else ""
        self.say(f"{state.entry.name}: run {child.run_id} ended, exit code {code}{detail}")
        if state.queued:
            state.queued = False
            self._start(state)

    def _enforce_timeout(self, state: EntryState, child: ChildRun) -> None:
        timeout, since = state.entry.timeout, state.running_since
        name = state.entry.name
        if timeout is not None and since is not None and not child.terminated_at \
                and (self.clock() - since).total_seconds() > timeout:
            self.say(f"{name}: run {child.run_id} passed its timeout of {timeout:g} s; "
                     "stopping it")
            child.terminate()
        elif child.terminated_at and time.monotonic() - child.terminated_at > self.kill_grace:
            self.say(f"{name}: run {child.run_id} ignored SIGTERM; killing it")
            child.kill()

    # -- stopping ---------------------------------------------------------------------
    def running(self) -> list[EntryState]:
        return [s for s in self.states if s.running is not None]

    def shutdown(self, timeout: float) -> None:
        """Stop firing; SIGTERM running runs (they end interrupted, resumable); wait."""
        active = self.running()
        self.say(f"scheduler stopping: {len(active)} run(s) to stop")
        for state in self.states:
            state.starts.clear()
            state.queued = False
        for state in active:
            assert state.running is not None
            state.running.terminate()
        self.wait_for_children(timeout)
        self.say("scheduler stopped")

    def wait_for_children(self, timeout: float | None, stop: threading.Event | None = None,
                          stop_timeout: float = 300.0) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.running():
            if stop is not None and stop.is_set():
                self.shutdown(stop_timeout)
                return
            for state in self.running():
                self._reap(state)
            if deadline is not None and time.monotonic() > deadline:
                for state in self.running():
                    assert state.running is not None
                    self.say(f"{state.entry.name}: run {state.running.run_id} still running "
                             "after the stop timeout; killing it")
                    state.running.kill()
                    state.running.process.wait()
                    self._reap(state)
                return
            time.sleep(0.1)


def _prune_state_store(before: float) -> PruneResult:
    from runbook_engine.state import open_store
    from runbook_engine.state.retention import prune

    with open_store() as store:
        return prune(store, before)

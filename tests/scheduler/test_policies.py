"""Overlap and timeout policies, driven tick by tick with an injected clock, real runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runbook_engine.scheduler.config import ScheduleEntry
from runbook_engine.scheduler.fire_log import FireLog
from runbook_engine.scheduler.service import Scheduler
from tests.scheduler.helpers import runs, wait_until, write_playbook


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance_to(self, hour: int) -> None:
        self.now = datetime(2026, 1, 1, hour, 0, tzinfo=UTC) + timedelta(seconds=1)


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "state"
    monkeypatch.setenv("RUNBOOK_STATE_DIR", str(directory))
    monkeypatch.delenv("RUNBOOK_STATE_URL", raising=False)
    return directory


def _scheduler(tmp_path: Path, clock: Clock, messages: list[str], **policy: object) -> Scheduler:
    entry = ScheduleEntry.model_validate({
        "name": "hourly", "playbook": str(write_playbook(tmp_path)), "inventory": "localhost,",
        "extra_vars": {"marker": str(tmp_path / "marker.txt"), "pause": 120},
        "cron": "0 * * * *", **policy})
    return Scheduler([entry], FireLog(tmp_path / "fires.json"), tmp_path / "logs",
                     clock=clock, say=messages.append)


def _ticking_until(scheduler: Scheduler, probe, what: str):  # type: ignore[no-untyped-def]
    def ticked():  # type: ignore[no-untyped-def]
        scheduler.tick()
        return probe()

    return wait_until(ticked, 120, what)


def test_overlap_kill_stops_the_running_run_and_starts_the_new_one(
        tmp_path: Path, state: Path) -> None:
    clock, messages = Clock(), []
    scheduler = _scheduler(tmp_path, clock, messages, overlap="kill")
    marker = tmp_path / "marker.txt"
    try:
        clock.advance_to(1)
        first = _ticking_until(scheduler, lambda: runs(state, "schedule:hourly"), "run 1")[0]
        wait_until(marker.exists, 60, "run 1 to write its marker")
        clock.advance_to(2)
        scheduler.tick()
        assert any("overlap: kill" in m for m in messages)
        second = _ticking_until(
            scheduler, lambda: [r for r in runs(state, "schedule:hourly") if r.id != first.id],
            "run 2")[0]
    finally:
        scheduler.shutdown(60)
    by_id = {r.id: r for r in runs(state, "schedule:hourly")}
    assert (by_id[first.id].status, by_id[first.id].exit_code) == ("interrupted", 130)
    assert by_id[second.id].status == "interrupted"  # stopped by the shutdown
    assert (first.id, 130) in [(run, code) for _name, run, code in scheduler.finished]


def test_a_run_past_its_timeout_is_stopped_cleanly(tmp_path: Path, state: Path) -> None:
    clock, messages = Clock(), []
    scheduler = _scheduler(tmp_path, clock, messages, timeout=1800)
    try:
        clock.advance_to(1)
        run = _ticking_until(scheduler, lambda: runs(state, "schedule:hourly"), "the run")[0]
        wait_until((tmp_path / "marker.txt").exists, 60, "the run's first task")
        scheduler.tick()
        assert not scheduler.finished  # 1 s past the fire: well within its half hour
        clock.now += timedelta(minutes=31)
        _ticking_until(scheduler, lambda: scheduler.finished, "the run to be stopped")
    finally:
        scheduler.shutdown(60)
    [record] = runs(state, "schedule:hourly")
    assert (record.id, record.status, record.exit_code) == (run.id, "interrupted", 130)
    assert scheduler.finished == [("hourly", run.id, 130)]
    assert any("passed its timeout of 1800 s" in m for m in messages)


def test_overlap_queue_starts_the_next_run_when_the_current_one_ends(
        tmp_path: Path, state: Path) -> None:
    clock, messages = Clock(), []
    scheduler = _scheduler(tmp_path, clock, messages, overlap="queue")
    scheduler.states[0].entry = scheduler.states[0].entry.model_copy(update={"extra_vars": {
        "marker": str(tmp_path / "marker.txt"), "pause": 4}})
    try:
        clock.advance_to(1)
        _ticking_until(scheduler, (tmp_path / "marker.txt").exists, "run 1's first task")
        clock.advance_to(2)
        scheduler.tick()
        assert any("next run queued" in m for m in messages)
        _ticking_until(scheduler, lambda: len(scheduler.finished) == 2, "both runs to end")
    finally:
        scheduler.shutdown(60)
    ordered = sorted(runs(state, "schedule:hourly"), key=lambda r: r.started_at)
    assert [(r.status, r.exit_code) for r in ordered] == [("ok", 0), ("ok", 0)]
    assert ordered[1].started_at >= ordered[0].ended_at  # one after the other, never together
    assert (tmp_path / "marker.txt").read_text().split() == [r.id for r in ordered]


def test_a_restarted_scheduler_runs_missed_fires_once(tmp_path: Path, state: Path) -> None:
    clock, messages = Clock(), []
    (tmp_path / "fires.json").write_text(
        '{"last_fire": {"hourly": "2026-01-01T01:00:00+00:00"}}')
    clock.advance_to(5)  # down from just after 01:00 until just after 05:00
    scheduler = _scheduler(tmp_path, clock, messages, missed="run_once")
    scheduler.states[0].entry = scheduler.states[0].entry.model_copy(update={"extra_vars": {
        "marker": str(tmp_path / "marker.txt"), "pause": 0}})
    try:
        scheduler.catch_up()
        _ticking_until(scheduler, lambda: scheduler.finished, "the catch-up run")
    finally:
        scheduler.shutdown(60)
    assert any("missed 4 fire time(s) of hourly" in m and "running it once now" in m
               for m in messages)
    [run] = runs(state, "schedule:hourly")
    assert (run.status, run.exit_code) == ("ok", 0)
    assert '"hourly": "2026-01-01T05:00:00+00:00"' in (tmp_path / "fires.json").read_text()

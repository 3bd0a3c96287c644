"""`history_retention:` in the schedules file: the scheduler prunes the history once a day,
as a service and as a one-shot called by cron."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from runbook_engine.scheduler.fire_log import FireLog
from runbook_engine.scheduler.service import Scheduler
from runbook_engine.state import open_store
from runbook_engine.state.retention import PruneResult
from tests.scheduler.helpers import runbook, runs
from tests.state.journal_helpers import record_aged_run as record


def _old_runs(state: Path, *run_ids: str) -> None:
    """Finished runs of one playbook, 90 days old, and a newer one that stays."""
    with open_store(f"sqlite:///{state}/state.db") as store:
        for run_id in run_ids:
            record(store, run_id, "playbooks/health.yml", 90)
        record(store, f"after-{run_ids[-1]}", "playbooks/health.yml", 1)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def test_the_service_prunes_once_a_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("RUNBOOK_STATE_DIR", str(state))
    monkeypatch.delenv("RUNBOOK_STATE_URL", raising=False)
    _old_runs(state, "old-1")
    clock, messages = Clock(), []
    scheduler = Scheduler([], FireLog(state / "scheduler-fires.json"), state / "logs",
                          clock=clock, say=messages.append,
                          history_retention=timedelta(days=30))

    logs = state / "logs"
    logs.mkdir(parents=True)
    for name in ("old-1.jsonl", "old-1.err", "after-old-1.jsonl"):
        (logs / name).write_text("{}\n")

    scheduler.tick()
    assert [r.id for r in runs(state)] == ["after-old-1"]
    assert any(m.startswith("history retention: removed 1 run(s)") for m in messages)
    assert sorted(p.name for p in logs.iterdir()) == ["after-old-1.jsonl"]

    _old_runs(state, "old-2")
    clock.now += timedelta(hours=23)
    scheduler.tick()
    assert "old-2" in [r.id for r in runs(state)]  # not a day yet

    clock.now += timedelta(hours=2)
    scheduler.tick()
    assert "old-2" not in [r.id for r in runs(state)]


def test_a_failed_prune_is_said_and_the_schedules_go_on(tmp_path: Path) -> None:
    def broken(_before: float) -> PruneResult:
        raise RuntimeError("database is locked")

    messages: list[str] = []
    scheduler = Scheduler([], FireLog(tmp_path / "fires.json"), tmp_path / "logs",
                          clock=Clock(), say=messages.append,
                          history_retention=timedelta(days=30), prune_history=broken)
    scheduler.tick()
    assert messages == ["history retention: pruning the state store failed: database is locked"]


def test_the_one_shot_prunes_once_a_day(tmp_path: Path) -> None:
    state = tmp_path / "state"
    _old_runs(state, "old-1")
    schedules = tmp_path / "schedules.yml"
    schedules.write_text(yaml.safe_dump({"history_retention": "30d", "schedules": [
        {"name": "yearly", "playbook": "x.yml", "inventory": "localhost,",
         "cron": "0 0 1 1 *"}]}), encoding="utf-8")
    (tmp_path / "x.yml").write_text("- hosts: all\n  tasks: []\n", encoding="utf-8")

    first = runbook(["scheduler", "--once", "--schedules", str(schedules)], state, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "history retention: removed 1 run(s)" in first.stdout
    assert [r.id for r in runs(state)] == ["after-old-1"]

    _old_runs(state, "old-2")
    second = runbook(["scheduler", "--once", "--schedules", str(schedules)], state, tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "history retention" not in second.stdout  # pruned less than a day ago
    assert "old-2" in [r.id for r in runs(state)]


def test_a_retention_that_is_not_a_span_is_refused(tmp_path: Path) -> None:
    schedules = tmp_path / "schedules.yml"
    schedules.write_text(yaml.safe_dump({"history_retention": "forever", "schedules": []}),
                         encoding="utf-8")
    done = runbook(["scheduler", "--schedules", str(schedules)], tmp_path / "state", tmp_path)
    assert done.returncode == 2
    assert "history_retention" in done.stderr
    assert "'forever' is not a span: write it like 90d" in done.stderr

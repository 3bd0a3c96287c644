"""`runbook scheduler` as a real process: fires on its cron, records the trigger, stops cleanly."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import yaml

from tests.scheduler.helpers import RUNBOOK, runbook_env, runs, wait_until, write_playbook


def _schedules(path: Path, entries: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"schedules": entries}), encoding="utf-8")
    return path


def test_scheduled_run_is_journaled_and_sigterm_leaves_it_interrupted(tmp_path: Path) -> None:
    state = tmp_path / "state"
    marker = tmp_path / "marker.txt"
    playbook = write_playbook(tmp_path)
    schedules = _schedules(tmp_path / "schedules.yml", [{
        "name": "every-two-seconds", "playbook": playbook.name, "inventory": "localhost,",
        "extra_vars": {"marker": str(marker), "pause": 120},
        "cron": "* * * * * */2", "overlap": "skip",
    }])
    log = tmp_path / "scheduler.log"
    with log.open("w") as sink:
        scheduler = subprocess.Popen(
            [*RUNBOOK, "scheduler", "--schedules", str(schedules)], cwd=tmp_path,
            env=runbook_env(state), stdout=sink, stderr=subprocess.STDOUT, text=True)
    try:
        # The run wrote its marker and is now in the long task, and a later fire was
        # skipped because of it: stop the scheduler there.
        wait_until(lambda: marker.exists(), 90, "the scheduled run's first task")
        record = wait_until(lambda: runs(state, "schedule:every-two-seconds"), 30, "the run")[0]
        wait_until(lambda: _running_task(state, record.id) == "hold", 60, "the second task")
        wait_until(lambda: "this fire is skipped" in log.read_text(), 30, "an overlapping fire")
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(timeout=90)
        output = log.read_text()
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
            scheduler.wait()
    assert scheduler.returncode == 0, output
    assert "this fire is skipped" in output  # overlap: skip, while the long run went on
    assert "scheduler stopped" in output
    [run] = runs(state, "schedule:every-two-seconds")
    assert (run.status, run.exit_code) == ("interrupted", 130)
    assert marker.read_text().split() == [run.id]
    from runbook_engine.state.db import SqliteDatabase
    from runbook_engine.state.store import Store

    with Store(SqliteDatabase(state / "state.db")) as store:
        progress = store.resume_state(run.id).hosts["localhost"]
    assert progress.completed == ["0.0"]  # a resume starts again at the interrupted task
    assert progress.interrupted == ["0.1"]


def _running_task(state: Path, run_id: str) -> str | None:
    from runbook_engine.state.db import SqliteDatabase
    from runbook_engine.state.store import Store

    with Store(SqliteDatabase(state / "state.db")) as store:
        rows = store.task_rows(run_id)
    return next((r["task_name"] for r in rows if r["status"] == "running"), None)

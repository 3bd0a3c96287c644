"""`runbook scheduler --once` (cron-driven) and its missed-run policy; `runbook schedules`."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.scheduler.helpers import runbook, runs, write_playbook


def test_once_runs_a_missed_fire_once_per_policy_and_schedules_shows_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    marker = tmp_path / "marker.txt"
    playbook = write_playbook(tmp_path)
    common = {"playbook": playbook.name, "inventory": "localhost,",
              "extra_vars": {"marker": str(marker)}, "cron": "0 0 1 1 *",
              "timezone": "Europe/Paris"}
    schedules = tmp_path / "schedules.yml"
    schedules.write_text(yaml.safe_dump({"schedules": [
        {"name": "catch-up", "missed": "run_once", **common},
        {"name": "let-go", "missed": "skip", **common},
        {"name": "not-yet-known", "missed": "run_once", **common},
    ]}), encoding="utf-8")
    # Both were last handled long ago: the 1 January fire since then was missed.
    state.mkdir()
    (state / "scheduler-fires.json").write_text(json.dumps({"last_fire": {
        "catch-up": "2020-01-01T00:00:00+01:00", "let-go": "2020-01-01T00:00:00+01:00"}}))

    done = runbook(["scheduler", "--once", "--schedules", str(schedules)], state, tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "catch-up: missed" in done.stdout and "running it once now" in done.stdout
    assert "let-go: missed" in done.stdout and "skipped" in done.stdout
    [run] = runs(state, "schedule:catch-up")
    assert run.status == "ok"
    assert marker.read_text().split() == [run.id]
    assert runs(state, "schedule:let-go") == []
    assert runs(state, "schedule:not-yet-known") == []  # no history: nothing counts as missed

    again = runbook(["scheduler", "--once", "--schedules", str(schedules)], state, tmp_path)
    assert again.returncode == 0 and "nothing is due" in again.stdout
    assert len(runs(state, "schedule:catch-up")) == 1

    listing = runbook(["schedules", "--schedules", str(schedules), "--format", "json"],
                      state, tmp_path)
    assert listing.returncode == 0, listing.stderr
    entries = {e["name"]: e for e in json.loads(listing.stdout)}
    assert entries["catch-up"]["last_run"]["id"] == run.id
    assert entries["catch-up"]["last_run"]["status"] == "ok"
    assert entries["let-go"]["last_run"] is None
    assert entries["catch-up"]["next_run"].startswith(f"{_next_year()}-01-01T00:00:00+01:00")

    text = runbook(["schedules", "--schedules", str(schedules)], state, tmp_path)
    assert "catch-up" in text.stdout and run.id in text.stdout and "never" in text.stdout


def _next_year() -> int:
    from datetime import UTC, datetime

    return datetime.now(UTC).year + 1


def test_an_invalid_schedules_file_is_refused_with_the_entry_named(tmp_path: Path) -> None:
    schedules = tmp_path / "schedules.yml"
    schedules.write_text(yaml.safe_dump({"schedules": [
        {"name": "bad", "playbook": "x.yml", "cron": "every day", "overlap": "sometimes"},
    ]}), encoding="utf-8")
    done = runbook(["scheduler", "--schedules", str(schedules)], tmp_path / "state", tmp_path)
    assert done.returncode == 2
    assert "schedule bad: cron" in done.stderr and "not a cron expression" in done.stderr
    assert "schedule bad: overlap" in done.stderr


def test_the_shipped_example_schedules_file_is_valid() -> None:
    from runbook_engine.scheduler.config import load_schedules

    repo = Path(__file__).resolve().parents[2]
    entries = load_schedules(repo / "schedules.example.yml")
    assert {e.overlap for e in entries} == {"skip", "queue", "kill"}
    assert all(e.playbook.is_file() for e in entries)

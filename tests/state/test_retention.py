"""`runbook prune`: old runs leave the store with everything recorded for them; the runs
something still reads stay. On both store backends."""

from __future__ import annotations

import json
import time
from pathlib import Path

from runbook_engine.events import EventBus
from runbook_engine.modules.base import Result
from runbook_engine.output.journal import JournalSink
from runbook_engine.state import Store, open_store
from runbook_engine.state.retention import prune
from tests.state import journal_helpers as ev
from tests.state.journal_helpers import DAY, runbook
from tests.state.journal_helpers import record_aged_run as record


def rows_of(store: Store, run_id: str) -> dict[str, int]:
    counts = {}
    for table in ("task_results", "host_vars", "run_hosts", "approvals"):
        found = store.db.query(f"SELECT COUNT(*) AS n FROM {table} WHERE run_id = ?", (run_id,))
        counts[table] = int(found[0]["n"])
    counts["runs"] = len(store.db.query("SELECT id FROM runs WHERE id = ?", (run_id,)))
    return counts


def test_old_runs_go_with_everything_recorded_for_them(store: Store) -> None:
    record(store, "old-1", "playbooks/health.yml", 90)
    record(store, "old-2", "playbooks/health.yml", 60, exit_code=4)
    record(store, "recent", "playbooks/health.yml", 2)
    store.request_approval("old-2", "restart", "restart the app?")
    assert rows_of(store, "old-1") == {"task_results": 2, "host_vars": 2, "run_hosts": 2,
                                       "approvals": 0, "runs": 1}

    result = prune(store, time.time() - 30 * DAY)

    assert result.removed == ["old-1", "old-2"]
    assert result.task_results == 4
    for gone in ("old-1", "old-2"):
        assert set(rows_of(store, gone).values()) == {0}, gone
    assert rows_of(store, "recent")["task_results"] == 2
    assert [run.id for run in store.list_runs()] == ["recent"]


def test_what_is_still_read_stays(store: Store) -> None:
    # the newest run of a playbook and of a schedule, however old
    record(store, "only-backup", "playbooks/backup.yml", 100)
    record(store, "drill-1", "playbooks/drill.yml", 95, trigger="schedule:drill")
    record(store, "drill-2", "playbooks/drill.yml", 65, trigger="schedule:drill")
    record(store, "drill-by-hand", "playbooks/drill.yml", 1)
    # a chain of resumes whose last link is recent
    record(store, "patch-a", "playbooks/patch.yml", 80, exit_code=4)
    record(store, "patch-b", "playbooks/patch.yml", 70, exit_code=4, resumed_from="patch-a")
    record(store, "patch-c", "playbooks/patch.yml", 3, resumed_from="patch-b")
    # a run still going
    store.start_run("running", playbook="playbooks/health.yml")
    store.db.execute("UPDATE runs SET started_at = ? WHERE id = ?",
                     (time.time() - 40 * DAY, "running"))

    result = prune(store, time.time() - 30 * DAY)

    assert result.removed == ["drill-1"]
    assert result.kept_newest == ["only-backup", "drill-2"]
    assert result.kept_resumed == ["patch-a", "patch-b"]
    kept = {run.id for run in store.list_runs(limit=100)}
    assert kept == {"only-backup", "drill-2", "drill-by-hand", "patch-a", "patch-b", "patch-c",
                    "running"}
    assert store.resume_chain("patch-c") == ["patch-a", "patch-b", "patch-c"]


def test_runs_by_hand_are_not_kept_as_a_schedule_would_be(store: Store) -> None:
    # the only runs by hand (trigger `cli`) are old; the playbook's newest run is scheduled
    record(store, "by-hand-1", "playbooks/health.yml", 90)
    record(store, "by-hand-2", "playbooks/health.yml", 80)
    record(store, "scheduled", "playbooks/health.yml", 1, trigger="schedule:health")
    result = prune(store, time.time() - 30 * DAY)
    assert (result.removed, result.kept_newest) == (["by-hand-1", "by-hand-2"], [])


def test_a_dry_run_removes_nothing(store: Store) -> None:
    record(store, "old", "playbooks/health.yml", 90)
    record(store, "new", "playbooks/health.yml", 1)
    result = prune(store, time.time() - 30 * DAY, dry_run=True)
    assert (result.removed, result.task_results) == (["old"], 2)
    assert rows_of(store, "old")["task_results"] == 2


def test_the_command(store: Store, state_url: str) -> None:
    record(store, "old", "playbooks/health.yml", 90)
    record(store, "older-but-newest", "playbooks/backup.yml", 120)
    record(store, "new", "playbooks/health.yml", 1)

    done = runbook(state_url, "prune", "--older-than", "30d", "--dry-run", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["removed"], report["task_results"], report["dry_run"]) == (["old"], 2, True)
    assert report["kept_newest"] == ["older-but-newest"]

    done = runbook(state_url, "prune", "--older-than", "30d")
    assert done.returncode == 0, done.stderr
    assert "removed 1 run(s) started before" in done.stdout
    assert "with 2 task result(s)" in done.stdout
    assert "kept 1 older run(s): 1 the newest of their playbook or schedule" in done.stdout
    history = runbook(state_url, "history", "--format", "json")
    assert [run["id"] for run in json.loads(history.stdout)] == ["new", "older-but-newest"]

    done = runbook(state_url, "prune", "--older-than", "last month")
    assert done.returncode == 2
    assert "cannot read the time 'last month'" in done.stderr
    assert len(json.loads(runbook(state_url, "history", "--format", "json").stdout)) == 2


def test_a_kept_aside_spool_goes_with_its_run(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/state/state.db") as store:
        record(store, "old", "playbooks/health.yml", 90)
        record(store, "new", "playbooks/health.yml", 1)
        assert store.journal_dir is not None
        kept_aside = {run_id: store.journal_dir / f"{run_id}.journal.unapplied"
                      for run_id in ("old", "new")}
        for path in kept_aside.values():
            path.write_text("{}\n")
        prune(store, time.time() - 30 * DAY)
    assert not kept_aside["old"].exists()
    assert kept_aside["new"].exists()


def test_vacuum_gives_the_space_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state/state.db"
    with open_store(url) as store:
        bus = EventBus([JournalSink(store)])
        for n in range(30):
            ev.start(bus, f"old-{n}", playbook="playbooks/big.yml")
            ev.play(bus, ["web1"])
            ev.task(bus, "t1", "dump", ["web1"])
            ev.on_host(bus, "t1", "dump", "web1", Result(stdout=f"{n}" * 40_000))
            ev.end(bus, 0)
        store.db.execute("UPDATE runs SET started_at = ?", (time.time() - 90 * DAY,))
    record_path = tmp_path / "state" / "state.db"
    before = record_path.stat().st_size
    done = runbook(url, "prune", "--older-than", "30d", "--vacuum")
    assert done.returncode == 0, done.stderr
    assert "removed 29 run(s)" in done.stdout and "compacted" in done.stdout
    assert record_path.stat().st_size < before / 4

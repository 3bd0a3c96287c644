"""The journal's spool file: on disk before the store, folded in batches, replayed after a crash."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from runbook_engine.events import EventBus
from runbook_engine.modules.base import Result
from runbook_engine.output.journal import JournalSink
from runbook_engine.state import Store, open_store
from runbook_engine.state.journal_spool import FOLD_INTERVAL, JournalWriter, read_spool, spool_path
from tests.state import journal_helpers as ev


def start_entry(seq: int, host: str = "web1", task_id: str = "t1") -> dict[str, object]:
    return {"kind": "start", "seq": seq, "host": host, "task_id": task_id,
            "task_name": "check", "attempt": 1, "time": 100.0}


def result_entry(seq: int, host: str = "web1", status: str = "changed") -> dict[str, object]:
    return {"kind": "result", "seq": seq, "host": host, "status": status, "changed": True,
            "rc": 0, "stdout": "done", "time": 101.0, "duration": 1.0, "vars_seq": 5,
            "vars": [["registered", "out", '{"rc": 0}']]}


def test_an_entry_is_in_the_spool_file_before_the_store_and_the_file_goes_at_the_end(
    store: Store,
) -> None:
    store.start_run("run-spool", playbook="p.yml")
    writer = JournalWriter(store, "run-spool")
    path = spool_path(store.journal_dir, "run-spool")
    writer.write(start_entry(1))
    assert read_spool(path) == [start_entry(1)]
    assert path.stat().st_mode & 0o777 == 0o600
    writer.write(result_entry(1))
    writer.finish()
    [row] = store.task_rows("run-spool")
    assert (row["host"], row["task_id"], row["status"], row["stdout"]) == (
        "web1", "t1", "changed", "done")
    assert store.resume_state("run-spool").hosts["web1"].registered == {"out": {"rc": 0}}
    writer.discard()
    assert not path.exists()


def test_a_running_run_reaches_the_store_without_waiting_for_its_end(store: Store) -> None:
    store.start_run("run-live", playbook="p.yml")
    writer = JournalWriter(store, "run-live")
    writer.write(start_entry(1))
    deadline = time.monotonic() + 50 * FOLD_INTERVAL
    while not store.task_rows("run-live") and time.monotonic() < deadline:
        time.sleep(FOLD_INTERVAL / 4)
    assert [r["status"] for r in store.task_rows("run-live")] == ["running"]
    writer.finish()
    writer.discard()


def test_entries_applied_twice_leave_one_row_with_the_same_values(store: Store) -> None:
    store.start_run("run-twice", playbook="p.yml")
    entries = [start_entry(1), result_entry(1), start_entry(2, "web2")]
    store.apply_journal("run-twice", entries)
    first = store.task_rows("run-twice")
    store.apply_journal("run-twice", entries)
    assert store.task_rows("run-twice") == first
    assert [(r["host"], r["status"]) for r in first] == [("web1", "changed"), ("web2", "running")]


def test_a_half_written_last_line_is_left_out(tmp_path: Path) -> None:
    path = tmp_path / "r.journal"
    path.write_text('{"kind": "start", "seq": 1}\n{"kind": "result", "se')
    assert read_spool(path) == [{"kind": "start", "seq": 1}]


def test_a_sink_run_leaves_no_spool_behind(store: Store) -> None:
    bus = EventBus([JournalSink(store)])
    ev.start(bus, "run-clean")
    ev.play(bus, ["web1"])
    ev.task(bus, "t1", "check", ["web1"])
    ev.on_host(bus, "t1", "check", "web1", Result(stdout="ok", rc=0), registered="out")
    ev.end(bus, 0)
    assert store.journal_dir is not None
    assert not spool_path(store.journal_dir, "run-clean").exists()
    assert [r["status"] for r in store.task_rows("run-clean")] == ["ok"]
    assert store.get_run("run-clean").status == "ok"


def test_a_spool_left_after_its_run_ended_is_removed_and_others_are_kept(
    store: Store, state_url: str,
) -> None:
    """The controller died between marking its run ended and removing the spool."""
    store.start_run("run-ended", playbook="p.yml")
    store.start_run("run-going", playbook="p.yml")
    store.finish_run("run-ended", exit_code=0)
    assert store.journal_dir is not None
    store.journal_dir.mkdir(parents=True, exist_ok=True)
    ended, going, unknown = (spool_path(store.journal_dir, run_id)
                             for run_id in ("run-ended", "run-going", "run-elsewhere"))
    for path in (ended, going, unknown):
        path.write_text("{}\n")
    with open_store(state_url) as reopened:
        assert reopened.get_run("run-ended").status == "ok"
    assert not ended.exists()
    assert going.exists() and unknown.exists()
    going.unlink()
    unknown.unlink()


def test_a_run_id_that_would_leave_the_journal_directory_is_refused(tmp_path: Path) -> None:
    for run_id in ("../escape", "a/b", ".hidden", ""):
        with pytest.raises(ValueError, match="cannot name a journal file"):
            spool_path(tmp_path, run_id)
    assert spool_path(tmp_path, "20261127-071500-3fa9c1").parent == tmp_path


def test_a_dead_runs_spool_that_cannot_be_folded_does_not_stop_the_store_from_opening(
    store: Store, state_url: str, capsys: pytest.CaptureFixture[str],
) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    store.start_run("run-dead", playbook="p.yml")
    store.db.execute("UPDATE runs SET pid = ?, pid_start = NULL WHERE id = ?",
                     (gone.pid, "run-dead"))
    assert store.journal_dir is not None
    store.journal_dir.mkdir(parents=True, exist_ok=True)
    spool = spool_path(store.journal_dir, "run-dead")
    spool.write_text('{"kind": "result"}\n')  # no row to name: cannot be applied
    with open_store(state_url) as reopened:
        assert reopened.recovered == ["run-dead"]
        assert reopened.get_run("run-dead").status == "interrupted"
    warning = capsys.readouterr().err
    assert "run run-dead" in warning and "run-dead.journal.unapplied" in warning
    kept = spool.with_name(spool.name + ".unapplied")
    assert not spool.exists() and kept.read_text() == '{"kind": "result"}\n'
    kept.unlink()

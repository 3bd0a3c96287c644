"""The journal records a run as it happens; resume finds where each host stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from runbook_engine.events import EventBus
from runbook_engine.modules.base import Result
from runbook_engine.output.journal import JournalSink
from runbook_engine.secrets import SecretRegistry
from runbook_engine.state import Store, open_store
from runbook_engine.state.schema import LATEST_VERSION
from tests.state import journal_helpers as ev
from tests.state.journal_helpers import REPO_ROOT


def record_failed_run(store: Store, run_id: str) -> None:
    bus = EventBus([JournalSink(store)])
    ev.start(bus, run_id)
    ev.play(bus, ["web1", "web2"])
    ev.task(bus, "t1", "check version", ["web1", "web2"])
    for host in ("web1", "web2"):
        ev.on_host(bus, "t1", "check version", host, Result(stdout=f"1.1 on {host}", rc=0),
                   registered="version", facts={"pkg_manager": "apt"})
    ev.task(bus, "t2", "upgrade", ["web1", "web2"])
    ev.on_host(bus, "t2", "upgrade", "web1", Result(changed=True, rc=0, stdout="upgraded"))
    ev.on_host(bus, "t2", "upgrade", "web2", Result(failed=True, rc=100, stderr="dpkg lock"))
    ev.end(bus, 4)
    bus.close()


def test_a_run_is_recorded_with_args_hosts_and_results(store: Store) -> None:
    record_failed_run(store, "run-a")
    run = store.get_run("run-a")
    assert (run.status, run.exit_code) == ("failed", 4)
    assert run.playbook == "playbooks/patch.yml" and run.playbook_sha256 == "ab" * 32
    assert run.hosts == ["web1", "web2"] and run.limit == "web*" and run.tags == ["patch"]
    assert run.extra_vars == {"release": "1.2"} and run.params == {"ticket": "OPS-1"}
    assert run.pid == os.getpid() and run.ended_at is not None
    rows = store.task_rows("run-a", host="web2")
    assert [(r["task_id"], r["status"], r["rc"]) for r in rows] == [
        ("t1", "ok", 0), ("t2", "failed", 100)]
    assert rows[1]["stderr"] == "dpkg lock" and rows[1]["task_name"] == "upgrade"


def test_resume_state_lists_done_tasks_and_saved_variables(store: Store) -> None:
    record_failed_run(store, "run-b")
    state = store.resume_state("run-b")
    assert state.hosts["web1"].completed == ["t1", "t2"]
    assert state.hosts["web2"].completed == ["t1"] and state.hosts["web2"].failed
    assert state.hosts["web2"].registered["version"]["stdout"] == "1.1 on web2"
    assert state.hosts["web2"].facts == {"pkg_manager": "apt"}
    assert state.run.params == {"ticket": "OPS-1"}
    assert state.failed_hosts == ["web2"]
    assert state.playbook_changed("cd" * 32) and not state.playbook_changed("ab" * 32)


def test_a_resumed_run_merges_the_earlier_runs_progress(store: Store) -> None:
    record_failed_run(store, "run-c")
    bus = EventBus([JournalSink(store)])
    ev.start(bus, "run-c2", resumed_from="run-c")
    ev.play(bus, ["web2"])
    ev.task(bus, "t2", "upgrade", ["web2"])
    ev.on_host(bus, "t2", "upgrade", "web2", Result(changed=True, rc=0))
    ev.end(bus, 0)
    state = store.resume_state("run-c2")
    assert state.chain == ["run-c", "run-c2"]
    assert state.hosts["web2"].completed == ["t1", "t2"] and not state.hosts["web2"].failed
    assert store.get_run("run-c2").resumed_from == "run-c"


def test_a_failed_loop_item_leaves_the_task_undone(store: Store) -> None:
    bus = EventBus([JournalSink(store)])
    ev.start(bus, "run-loop")
    ev.play(bus, ["db1"])
    ev.task(bus, "t1", "create users", ["db1"])
    ev.on_host(bus, "t1", "create users", "db1", Result(changed=True), item="alice")
    ev.on_host(bus, "t1", "create users", "db1", Result(failed=True), item="bob", start=False)
    ev.end(bus, 4)
    rows = store.task_rows("run-loop")
    assert [(r["item"], r["status"], r["attempt"]) for r in rows] == [
        ("alice", "changed", 1), ("bob", "failed", 1)]
    assert store.resume_state("run-loop").hosts["db1"].completed == []


def test_no_log_register_values_are_not_saved(store: Store) -> None:
    bus = EventBus([JournalSink(store)])
    ev.start(bus, "run-nolog")
    ev.play(bus, ["db1"])
    ev.task(bus, "t1", "read token", ["db1"])
    ev.on_host(bus, "t1", "read token", "db1", Result(stdout="********"),
               registered="token", no_log=True)
    ev.end(bus, 0)
    assert store.resume_state("run-nolog").hosts["db1"].registered == {}


def test_outputs_are_capped_head_and_tail(store: Store) -> None:
    bus = EventBus([JournalSink(store, output_cap=1000)])
    ev.start(bus, "run-big")
    ev.play(bus, ["h"])
    ev.task(bus, "t1", "noisy", ["h"])
    ev.on_host(bus, "t1", "noisy", "h", Result(stdout="START" + "x" * 100_000 + "END"))
    ev.end(bus, 0)
    stdout = store.task_rows("run-big")[0]["stdout"]
    assert stdout.startswith("START") and stdout.endswith("END") and len(stdout) < 1200
    assert "characters not kept" in stdout


def test_history_filters(store: Store) -> None:
    record_failed_run(store, "run-h1")
    bus = EventBus([JournalSink(store)])
    ev.start(bus, "run-h2", playbook="playbooks/backup.yml")
    ev.play(bus, ["db1"])
    ev.end(bus, 0)
    assert [r.id for r in store.list_runs()] == ["run-h2", "run-h1"]
    assert [r.id for r in store.list_runs(host="db1")] == ["run-h2"]
    assert [r.id for r in store.list_runs(status="failed")] == ["run-h1"]
    assert [r.id for r in store.list_runs(playbook="backup.yml")] == ["run-h2"]
    assert [r.id for r in store.list_runs(limit=1)] == ["run-h2"]
    assert store.list_runs(since=store.get_run("run-h2").started_at + 10) == []
    assert store.get_run("last").id == "run-h2"


def test_migrations_are_versioned_and_idempotent(state_url: str) -> None:
    for _ in range(2):
        with open_store(state_url) as opened:
            rows = opened.db.query("SELECT version FROM schema_version")
    assert [r["version"] for r in rows] == list(range(1, LATEST_VERSION + 1))


CRASHING_RUN = textwrap.dedent("""
    import os, signal, sys
    from runbook_engine.events import EventBus
    from runbook_engine.modules.base import Result
    from runbook_engine.output.journal import JournalSink
    from runbook_engine.state import open_store
    from tests.state import journal_helpers as ev

    bus = EventBus([JournalSink(open_store(sys.argv[1]))])
    ev.start(bus, "run-crash")
    ev.play(bus, ["web1"])
    ev.task(bus, "t1", "stop app", ["web1"])
    ev.on_host(bus, "t1", "stop app", "web1", Result(changed=True))
    ev.task(bus, "t2", "migrate", ["web1"])
    bus.emit("host_task_start", play="patch", task="migrate", host="web1", task_id="t2")
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_a_killed_controller_leaves_an_interrupted_run_that_resume_completes(
    state_url: str,
) -> None:
    done = subprocess.run([sys.executable, "-c", CRASHING_RUN, state_url], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    with open_store(state_url) as store:
        assert store.recovered == ["run-crash"]
        assert store.get_run("run-crash").status == "interrupted"
        state = store.resume_state("run-crash")
        assert state.hosts["web1"].completed == ["t1"]
        assert state.hosts["web1"].interrupted == ["t2"]
        bus = EventBus([JournalSink(store)])
        ev.start(bus, "run-crash-2", resumed_from="run-crash")
        ev.play(bus, ["web1"])
        ev.task(bus, "t2", "migrate", ["web1"])
        ev.on_host(bus, "t2", "migrate", "web1", Result(changed=True))
        ev.end(bus, 0)
        rerun = store.task_rows("run-crash-2")[0]
        assert rerun["rerun_after_crash"] and rerun["status"] == "changed"
        assert store.resume_state("run-crash-2").hosts["web1"].completed == ["t1", "t2"]


def test_secrets_never_reach_the_database(store: Store, state_url: str) -> None:
    secret = "hunter2-Xq9-journal"
    registry = SecretRegistry([secret])
    bus = EventBus([JournalSink(store, secrets=registry)])
    ev.start(bus, "run-secret", extra_vars={"db_password": secret},
             params={"token": f"Bearer {secret}"})
    ev.play(bus, ["db1"])
    ev.task(bus, "t1", f"login with {secret}", ["db1"])
    ev.on_host(bus, "t1", f"login with {secret}", "db1",
               Result(stdout=f"password is {secret}", msg=secret, data={"pw": secret}),
               registered="login", facts={"db_pw": secret}, item=secret)
    ev.end(bus, 0)
    assert store.get_run("run-secret").extra_vars == {"db_password": "********"}
    dump = database_dump(store, state_url)
    assert "run-secret" in dump and "db1" in dump
    assert secret not in dump


def database_dump(store: Store, state_url: str) -> str:
    """Every byte the database holds: the SQLite files, or pg_dump of the database."""
    if state_url.startswith("sqlite:///"):
        path = Path(state_url.removeprefix("sqlite://"))
        store.db.execute("PRAGMA wal_checkpoint(FULL)")
        files = (path, path.with_name(path.name + "-wal"))
        chunks = [p.read_bytes() for p in files if p.exists()]
        return b"".join(chunks).decode("latin-1")
    from tests.fixtures.postgres import _find_bin_dir

    bin_dir = _find_bin_dir()
    assert bin_dir is not None
    dumped = subprocess.run([str(bin_dir / "pg_dump"), "-d", state_url], capture_output=True,
                            text=True, timeout=60, check=True)
    return dumped.stdout


def test_values_json_cannot_hold_directly_are_still_saved(store: Store) -> None:
    bus = EventBus([JournalSink(store)])
    ev.start(bus, "run-odd")
    ev.play(bus, ["h"])
    ev.task(bus, "t1", "odd facts", ["h"])
    ev.on_host(bus, "t1", "odd facts", "h", Result(), facts={"ports": {80: "http", "x": 1}})
    ev.end(bus, 0)
    assert store.resume_state("run-odd").hosts["h"].facts == {
        "ports": {"80": "http", "x": 1}}

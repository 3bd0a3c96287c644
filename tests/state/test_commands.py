"""`runbook history|show|locks|approve|deny` as a user runs them, on both store backends."""

from __future__ import annotations

import json
import threading

from runbook_engine.events import EventBus
from runbook_engine.modules.base import Result
from runbook_engine.output.journal import JournalSink
from runbook_engine.state import Decision, Store
from runbook_engine.state.process import current_user
from tests.state import journal_helpers as ev
from tests.state.journal_helpers import runbook


def record(store: Store, run_id: str, playbook: str, fail_on: str | None = None) -> None:
    bus = EventBus([JournalSink(store)])
    ev.start(bus, run_id, playbook=playbook)
    ev.play(bus, ["web1", "web2"])
    ev.task(bus, "t1", "restart app", ["web1", "web2"])
    for host in ("web1", "web2"):
        failed = host == fail_on
        ev.on_host(bus, "t1", "restart app", host,
                   Result(changed=not failed, failed=failed, rc=3 if failed else 0,
                          stdout=f"restarted on {host}", stderr="unit failed" if failed else ""))
    ev.end(bus, 4 if fail_on else 0)


def test_history_lists_and_filters_runs(store: Store, state_url: str) -> None:
    record(store, "run-ok", "playbooks/restart.yml")
    record(store, "run-bad", "playbooks/patch.yml", fail_on="web2")
    done = runbook(state_url, "history")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:2] == ["RUN", "STARTED"]
    assert lines[1].startswith("run-bad") and "failed" in lines[1] and "patch.yml" in lines[1]
    assert lines[2].startswith("run-ok") and " ok " in lines[2]
    done = runbook(state_url, "history", "--status", "failed", "--since", "1h", "--format", "json")
    assert [run["id"] for run in json.loads(done.stdout)] == ["run-bad"]
    assert "no recorded runs" in runbook(state_url, "history", "--host", "db9").stdout


def test_show_prints_the_task_table_one_tasks_output_and_json(
    store: Store, state_url: str,
) -> None:
    record(store, "run-show", "playbooks/patch.yml", fail_on="web2")
    done = runbook(state_url, "show", "run-show")
    assert done.returncode == 0, done.stderr
    assert "status     failed, exit 4" in done.stdout
    table = done.stdout.split("\n\n", 1)[1].splitlines()
    assert table[0].split() == ["N", "HOST", "TASK", "STATUS", "CHANGED", "RC", "TOOK", "NOTES"]
    assert table[2].split()[:6] == ["2", "web2", "restart", "app", "failed", "no"]
    output = runbook(state_url, "show", "run-show", "--task", "2").stdout
    assert "restarted on web2" in output and "unit failed" in output and "web1" not in output
    document = json.loads(runbook(state_url, "show", "last", "--format", "json").stdout)
    assert document["id"] == "run-show" and len(document["tasks"]) == 2
    missing = runbook(state_url, "show", "no-such-run")
    assert missing.returncode == 2 and "no run with id 'no-such-run'" in missing.stderr


def test_locks_lists_holders_and_releases_on_request(store: Store, state_url: str) -> None:
    store.locks.acquire("run-holder", ["db1"], playbook="failover.yml", user="alice")
    done = runbook(state_url, "locks")
    assert done.returncode == 0, done.stderr
    row = done.stdout.splitlines()[1].split()
    assert row[:4] == ["db1", "run-holder", "failover.yml", "alice"] and row[-1] == "held"
    done = runbook(state_url, "locks", "--release", "run-holder")
    assert "released 1 lock(s)" in done.stderr and "no host is locked" in done.stdout
    store.locks.stop_heartbeat()


def test_an_approval_granted_from_another_process_releases_the_waiting_run(
    store: Store, state_url: str,
) -> None:
    record(store, "run-gate", "playbooks/failover.yml")
    store.request_approval("run-gate", "promote replica", "promote db2?")
    outcome: list[Decision] = []
    waiter = threading.Thread(target=lambda: outcome.append(
        store.wait_for_approval("run-gate", "promote replica", timeout=60, poll=0.1)))
    waiter.start()
    done = runbook(state_url, "approve", "run-gate", "--reason", "checked lag")
    waiter.join(60)
    assert done.returncode == 0, done.stderr
    assert f"approved step 'promote replica' of run run-gate as {current_user()}" in done.stdout
    assert outcome[0].approved and outcome[0].decided_by == current_user()
    shown = runbook(state_url, "show", "run-gate").stdout
    assert f"approval   promote replica: approved by {current_user()}" in shown
    again = runbook(state_url, "deny", "run-gate", "--step", "promote replica")
    assert again.returncode == 2 and "already approved" in again.stderr


def test_deny_timeout_and_approvers(store: Store, state_url: str) -> None:
    record(store, "run-deny", "playbooks/failover.yml")
    store.request_approval("run-deny", "drop table")
    assert runbook(state_url, "deny", "run-deny").returncode == 0
    assert store.wait_for_approval("run-deny", "drop table", timeout=5).status == "denied"
    store.request_approval("run-deny", "wipe", approvers=["someone-else"])
    refused = runbook(state_url, "approve", "run-deny", "--step", "wipe")
    assert refused.returncode == 2 and "may not decide" in refused.stderr
    decision = store.wait_for_approval("run-deny", "wipe", timeout=0.3, poll=0.1)
    assert decision.status == "timeout" and not decision.approved
    nothing = runbook(state_url, "approve", "run-deny")
    assert nothing.returncode == 2 and "not waiting" in nothing.stderr


def test_a_step_can_be_approved_before_the_run_reaches_it(store: Store, state_url: str) -> None:
    record(store, "run-pre", "playbooks/failover.yml")
    assert runbook(state_url, "approve", "run-pre", "--step", "restart db").returncode == 0
    assert store.request_approval("run-pre", "restart db").approved
    assert store.wait_for_approval("run-pre", "restart db", timeout=1).approved

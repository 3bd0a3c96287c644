"""Host leases: one run per host, stale leases taken over, no race between real processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from runbook_engine.state import LockedError, Store, open_store
from tests.state.journal_helpers import REPO_ROOT


def test_a_second_run_is_refused_with_the_holders_details(store: Store) -> None:
    store.locks.acquire("run-1", ["web1", "web2"], playbook="patch.yml", user="alice")
    with pytest.raises(LockedError) as caught:
        store.locks.acquire("run-2", ["web2", "web3"], playbook="backup.yml", user="bob")
    message = str(caught.value)
    assert "web2" in message and "run-1" in message and "patch.yml" in message
    assert "alice" in message and "UTC" in message
    # all or nothing: the free host web3 was not taken by the refused run
    assert {(lock.host, lock.run_id) for lock in store.locks.list()} == {
        ("web1", "run-1"), ("web2", "run-1")}
    store.locks.release("run-1")
    store.locks.acquire("run-2", ["web2", "web3"], playbook="backup.yml", user="bob")
    assert {lock.run_id for lock in store.locks.list()} == {"run-2"}


def test_the_same_run_may_extend_its_own_leases(store: Store) -> None:
    store.locks.acquire("run-1", ["web1"])
    store.locks.acquire("run-1", ["web1", "web2"])
    assert [(lock.host, lock.run_id) for lock in store.locks.list()] == [
        ("web1", "run-1"), ("web2", "run-1")]


def test_wait_lock_gets_the_host_once_the_holder_releases(store: Store) -> None:
    store.locks.acquire("run-1", ["db1"])
    releaser = threading.Timer(0.8, store.locks.release, args=("run-1",))
    releaser.start()
    started = time.monotonic()
    store.locks.acquire("run-2", ["db1"], wait=20, poll=0.1)
    assert 0.5 < time.monotonic() - started < 15
    assert [lock.run_id for lock in store.locks.list()] == ["run-2"]


def test_waiting_gives_up_after_the_wait(store: Store) -> None:
    store.locks.acquire("run-1", ["db1"])
    with pytest.raises(LockedError):
        store.locks.acquire("run-2", ["db1"], wait=0.6, poll=0.1)


def test_an_expired_lease_from_another_controller_is_taken_over(store: Store) -> None:
    store.db.execute(
        "INSERT INTO host_locks (host, run_id, playbook, username, controller, pid, pid_start,"
        " acquired_at, expires_at) VALUES ('web1', 'old', 'x.yml', 'carol', 'elsewhere', 1, '',"
        " ?, ?)", (time.time() - 600, time.time() - 1))
    assert store.locks.list()[0].stale
    store.locks.acquire("run-new", ["web1"])
    assert [lock.run_id for lock in store.locks.list()] == ["run-new"]


def test_a_live_lease_from_another_controller_is_respected(store: Store) -> None:
    store.db.execute(
        "INSERT INTO host_locks (host, run_id, playbook, username, controller, pid, pid_start,"
        " acquired_at, expires_at) VALUES ('web1', 'other', 'x.yml', 'carol', 'elsewhere', 1, '',"
        " ?, ?)", (time.time(), time.time() + 600))
    with pytest.raises(LockedError, match="carol"):
        store.locks.acquire("run-new", ["web1"])


def test_the_heartbeat_renews_a_lease(store: Store) -> None:
    store.locks.acquire("run-1", ["web1"], ttl=1.0)
    first = store.locks.list()[0].expires_at
    deadline = time.monotonic() + 10
    while store.locks.list()[0].expires_at == first and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.locks.list()[0].expires_at > first
    assert not store.locks.list()[0].stale


HOLD_AND_DIE = textwrap.dedent("""
    import os, signal, sys
    from runbook_engine.state import open_store
    store = open_store(sys.argv[1])
    store.locks.acquire("run-dead", ["web1"], playbook="p.yml", ttl=3600)
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_a_lease_whose_holder_died_is_taken_over(state_url: str) -> None:
    subprocess.run([sys.executable, "-c", HOLD_AND_DIE, state_url], cwd=REPO_ROOT,
                   timeout=60, check=False)
    with open_store(state_url) as store:
        assert store.locks.list()[0].stale
        store.locks.acquire("run-alive", ["web1"])
        assert [lock.run_id for lock in store.locks.list()] == ["run-alive"]


RACER = textwrap.dedent("""
    import sys, time
    from runbook_engine.state import LockedError, open_store
    url, run_id = sys.argv[1], sys.argv[2]
    store = open_store(url)
    print("ready", flush=True)
    go_at = float(sys.stdin.readline())  # both racers get the same instant, once both are ready
    while time.time() < go_at:
        pass
    try:
        store.locks.acquire(run_id, ["h1", "h2", "h3"], ttl=3600)
        print("won", flush=True)
    except LockedError:
        print("lost", flush=True)
    sys.stdin.read()  # hold the lease (and stay alive) until the test is done looking
    store.close()
""")


def test_two_processes_racing_for_a_host_never_both_win(state_url: str) -> None:
    open_store(state_url).close()  # schema in place before the race
    for round_no in range(3):
        racers = [
            subprocess.Popen([sys.executable, "-c", RACER, state_url, f"r{round_no}-{n}"],
                             cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
            for n in range(2)
        ]
        assert [racer.stdout.readline().strip() for racer in racers] == ["ready", "ready"]
        go_at = time.time() + 0.2
        for racer in racers:
            racer.stdin.write(f"{go_at}\n")
            racer.stdin.flush()
        outcomes = sorted(racer.stdout.readline().strip() for racer in racers)
        for racer in racers:
            racer.communicate("", timeout=30)
        assert outcomes == ["lost", "won"], f"round {round_no}: {outcomes}"
        with open_store(state_url) as store:
            for lock in store.locks.list():
                store.locks.release(lock.run_id)

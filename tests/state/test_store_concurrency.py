"""The store under concurrency: many host threads of one run, several processes at first open."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

from runbook_engine.state import Store, open_store
from runbook_engine.state.journal_spool import JournalWriter
from runbook_engine.state.schema import LATEST_VERSION
from tests.state.journal_helpers import REPO_ROOT


def test_host_threads_can_journal_at_once(store: Store) -> None:
    store.start_run("run-threads", playbook="p.yml")
    writer = JournalWriter(store, "run-threads")
    hosts = [f"web{i}" for i in range(8)]

    def one_host(index: int) -> None:
        host = hosts[index]
        for n in range(15):
            seq = index * 100 + n + 1
            writer.write({"kind": "start", "seq": seq, "host": host, "task_id": f"t{n}",
                          "task_name": f"task {n}", "time": 1.0})
            writer.write({"kind": "result", "seq": seq, "host": host, "status": "ok",
                          "stdout": f"{host} {n}", "time": 2.0, "vars_seq": seq,
                          "vars": [("registered", f"r{n}", f'{{"n": {n}}}')]})

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one_host, range(len(hosts))))
    writer.finish()
    state = store.resume_state("run-threads")
    for host in hosts:
        assert state.hosts[host].completed == [f"t{n}" for n in range(15)]
        assert state.hosts[host].registered["r14"] == {"n": 14}


OPEN_AT_ONCE = textwrap.dedent("""
    import sys
    from runbook_engine.state import open_store
    print("ready", flush=True)
    sys.stdin.readline()
    open_store(sys.argv[1]).close()
    print("opened", flush=True)
""")


def test_processes_opening_a_new_store_at_once_migrate_it_once(state_url: str) -> None:
    openers = [subprocess.Popen([sys.executable, "-c", OPEN_AT_ONCE, state_url], cwd=REPO_ROOT,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for _ in range(3)]
    assert [p.stdout.readline().strip() for p in openers] == ["ready"] * 3
    for opener in openers:
        opener.stdin.write("go\n")
        opener.stdin.flush()
    outputs = [p.communicate(timeout=60)[0].strip() for p in openers]
    assert outputs == ["opened"] * 3 and [p.returncode for p in openers] == [0, 0, 0]
    with open_store(state_url) as store:
        versions = [r["version"] for r in store.db.query("SELECT version FROM schema_version")]
    assert versions == list(range(1, LATEST_VERSION + 1))

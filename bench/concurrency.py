"""Controller CPU and context switches per SSH command, by how many hosts are busy at once.

    .venv/bin/python bench/concurrency.py [THREADS ...]      (default: 1 2 5 20)

Opens 20 connections to 10 sshd hosts and runs `df -P /` on them from 1, 2, 5 or 20
threads at once (1200 commands each time). With one host busy, a command's cost is the
packets; with 20, every system call that releases the GIL can become a context switch,
and those cost more than the packets (session 5: 41 switches and 0.88 ms per command at
20 threads, 8 and 0.43 ms with one, before the read-ahead socket and the shell's
wake-up event). Run it alone: the machine's other load shows up in the numbers.
"""

from __future__ import annotations

import resource
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runbook_engine.connection.base import Connection
from runbook_engine.connection.factory import connection_for
from tests.fixtures.sshd import HostPool

COMMANDS = 1200


def _usage() -> tuple[float, int]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_nvcsw


def measure(connections: list[Connection], threads: int) -> str:
    per_thread = COMMANDS // threads

    def work(conn: Connection) -> None:
        for _ in range(per_thread):
            conn.run("df -P /")

    cpu, switches = _usage()
    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(c,)) for c in connections[:threads]]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - started
    cpu2, switches2 = _usage()
    n = per_thread * threads
    return (f"{threads:3d} at once: {(cpu2 - cpu) / n * 1000:.3f} ms CPU and "
            f"{(switches2 - switches) / n:.1f} context switches per command, "
            f"wall {wall / n * 1000:.3f} ms per command")


def main(argv: list[str]) -> int:
    counts = [int(a) for a in argv] or [1, 2, 5, 20]
    pool = HostPool()
    try:
        hosts = pool.start_many([f"conc{i}" for i in range(10)], sudo=False)
        connections = [connection_for(h.name, h.inventory_vars()) for _ in range(2)
                       for h in hosts]
        for conn in connections:
            conn.run("true")  # connected, shell started: only commands are measured
        for threads in counts:
            print(measure(connections, min(threads, len(connections))), flush=True)
        for conn in connections:
            conn.close()
    finally:
        pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

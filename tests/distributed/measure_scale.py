"""Measure a run over a few hundred inventory hosts: local executor, then Celery with one
and with two workers. Wall time and the controller's peak RSS (ru_maxrss of the child).

    .venv/bin/python -m tests.distributed.measure_scale --hosts 300 --concurrency 2

Starts its own Redis, sshd hosts and workers (stopped by PID at the end). The inventory
names N hosts that point at a few sshd daemons, so the controller and workers really open
N SSH connections each. Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import yaml

from tests.distributed.conftest import WORKER_KEY, start_workers
from tests.fixtures.redis import start_redis
from tests.fixtures.sshd import HostPool

PLAYBOOK = """
- hosts: fleet
  gather_facts: false
  tasks:
    - name: probe
      command: echo {{ inventory_hostname }}
      register: probe
    - name: stamp
      copy:
        dest: "{{ scratch }}/{{ inventory_hostname }}.txt"
        content: "{{ probe.stdout }}\\n"
    - name: report
      debug:
        msg: "{{ inventory_hostname }} ok"
"""


def _inventory(path: Path, hosts: list[Any], count: int) -> None:
    entries = {}
    for index in range(count):
        host = hosts[index % len(hosts)]
        entries[f"node{index:04d}"] = {**host.inventory_vars(), "scratch": host.scratch}
    path.write_text(yaml.safe_dump({"all": {"children": {"fleet": {"hosts": entries}}}}))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=300)
    parser.add_argument("--sshd", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument("--modes", default="local,celery1,celery2")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="runbook-measure-"))
    pool = HostPool()
    redis = start_redis(work / "redis")
    results = []
    try:
        hosts = pool.start_many([f"sshd{i}" for i in range(options.sshd)], sudo=False)
        inventory, playbook = work / "inv.yml", work / "scale.yml"
        _inventory(inventory, hosts, options.hosts)
        playbook.write_text(textwrap.dedent(PLAYBOOK))
        base_env = {**os.environ, "RUNBOOK_STATE_DIR": str(work / "state"),
                    "RUNBOOK_WORKER_KEY": WORKER_KEY}
        args = ["run", str(playbook), "-i", str(inventory), "--format", "json",
                "--no-journal", "-f", str(options.forks)]
        for mode in options.modes.split(","):
            if mode == "local":
                results.append({"mode": "local", **_measured(args, base_env)})
                continue
            count = int(mode.removeprefix("celery"))
            db = len(results) + 1
            workers = start_workers(redis, db, [f"m{db}w{i}" for i in range(count)],
                                    work / f"workers-{db}", concurrency=options.concurrency)
            try:
                env = {**base_env, "RUNBOOK_BROKER_URL": redis.url(db)}
                row = _measured([*args, "--executor", "celery"], env)
                row["worker_rss_mb"] = [_rss_mb(w.pid) for w in workers]
                row["worker_cpu_s"] = [_cpu_s(w.pid) for w in workers]
                results.append({"mode": f"celery x{count} (c={options.concurrency})", **row})
            finally:
                for worker in workers:
                    worker.stop()
    finally:
        redis.stop()
        pool.close()
        shutil.rmtree(work, ignore_errors=True)
    for row in results:
        if row["rc"] == 0:
            row.pop("err")
        print(json.dumps(row))
    return 0


def _measured(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run the controller through /usr/bin/time-like accounting: fork, exec, wait4."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "runbook_engine", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out_chunks, err_chunks = _drain(proc)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    out = b"".join(out_chunks).decode()
    document = json.loads(out) if out.strip().startswith("{") else {}
    stats = document.get("stats", {})
    return {"rc": proc.returncode, "wall_s": round(wall, 1),
            "run_s": round(document.get("duration") or 0, 1),
            "controller_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "controller_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "hosts_ok": sum(1 for s in stats.values() if not s["failed"] and
                            not s["unreachable"]),
            "err": b"".join(err_chunks).decode()[-1500:]}


def _drain(proc: subprocess.Popen[bytes]) -> tuple[list[bytes], list[bytes]]:
    import threading

    out: list[bytes] = []
    err: list[bytes] = []

    def read(stream: Any, sink: list[bytes]) -> None:
        for chunk in iter(lambda: stream.read(65536), b""):
            sink.append(chunk)

    readers = [threading.Thread(target=read, args=(proc.stdout, out)),
               threading.Thread(target=read, args=(proc.stderr, err))]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    return out, err


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process (start-up included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


if __name__ == "__main__":
    sys.exit(main())

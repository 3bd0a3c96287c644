"""Where runbook-engine's controller CPU goes, measured in-process (no sampling profiler:
py-spy's ptrace sampling stalls on a loaded 2-core machine).

    python bench/cpu_breakdown.py run PLAYBOOK -i INVENTORY -f N      (same argv as runbook)

Prints CPU for imports, prepare, the run (module calls in worker threads, output sinks,
paramiko transport threads, the rest), CPU and context switches per thread kind, and
module CPU per call. Patches the engine's classes at run time; the engine itself is not
changed.
"""

from __future__ import annotations

import collections
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class ThreadUse(NamedTuple):
    cpu: float = 0.0  # seconds
    voluntary: int = 0  # context switches: the thread waited
    involuntary: int = 0  # context switches: the thread was preempted


def _thread_use() -> dict[str, ThreadUse]:
    """CPU and context switches of the live threads by kind: the class (paramiko's
    transport threads are `Transport`), or a plain Thread's name up to its number.
    Per-thread clocks: /proc's per-thread tick counts undercount short bursts badly; its
    switch counts are exact."""
    found: dict[str, ThreadUse] = {}
    for t in threading.enumerate():
        if t.ident is None:
            continue
        try:
            cpu = time.clock_gettime(time.pthread_getcpuclockid(t.ident))
            status = Path(f"/proc/self/task/{t.native_id}/status").read_text()
        except (OSError, ProcessLookupError):
            continue
        counts = dict(line.split(":\t") for line in status.splitlines() if "ctxt_switches" in line)
        kind = type(t).__name__
        if kind == "Thread":  # a pool's workers share a name up to their number
            kind = t.name.split("_")[0].split(" ")[0].rstrip("-0123456789") or kind
        so_far = found.get(kind, ThreadUse())
        found[kind] = ThreadUse(so_far.cpu + cpu,
                                so_far.voluntary + int(counts["voluntary_ctxt_switches"]),
                                so_far.involuntary + int(counts["nonvoluntary_ctxt_switches"]))
    return found


def main(argv: list[str]) -> int:
    start = _cpu()
    from runbook_engine import events
    from runbook_engine.cli import main as runbook_main
    from runbook_engine.executor import runner, task_runner

    imported = _cpu()
    lock = threading.Lock()
    module_cpu: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    sink_cpu: collections.Counter[str] = collections.Counter()
    marks: dict[str, float] = {}
    threads: dict[str, ThreadUse] = {}

    call_module = task_runner.TaskRunner._call_module

    def timed_call(self: Any, task: Any, host: Any, variables: Any) -> Any:
        t = time.thread_time()
        try:
            return call_module(self, task, host, variables)
        finally:
            with lock:
                module_cpu[task.module] += time.thread_time() - t
                calls[task.module] += 1

    task_runner.TaskRunner._call_module = timed_call  # type: ignore[method-assign]

    emit = events.EventBus.emit

    def timed_emit(self: Any, kind: str, **kw: Any) -> Any:
        for sink in self.sinks:
            cls = type(sink)
            if not getattr(cls, "_bench_timed", False):
                handle = cls.handle

                def timed_handle(
                    s: Any, event: Any, _h: Any = handle, _n: str = cls.__name__
                ) -> Any:
                    t = time.thread_time()
                    try:
                        return _h(s, event)
                    finally:
                        with lock:
                            sink_cpu[_n] += time.thread_time() - t

                cls.handle = timed_handle
                cls._bench_timed = True
        return emit(self, kind, **kw)

    events.EventBus.emit = timed_emit  # type: ignore[method-assign]

    run = runner.PlaybookRunner.run

    def timed_run(self: Any, *a: Any, **kw: Any) -> Any:
        marks["run_start"] = _cpu()
        close = self.connections.close

        def close_and_measure() -> None:
            threads.update(_thread_use())
            close()

        self.connections.close = close_and_measure
        try:
            return run(self, *a, **kw)
        finally:
            marks["run_end"] = _cpu()

    runner.PlaybookRunner.run = timed_run  # type: ignore[method-assign]
    from runbook_engine.cli import set_up_process

    set_up_process(argv)  # as the `runbook` command (cli.entry) does
    try:
        rc = runbook_main(argv)
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    end = _cpu()
    th = marks["run_end"] - marks["run_start"]
    n = sum(calls.values()) or 1
    transports = threads.get("Transport", ThreadUse()).cpu
    w = sys.stderr.write
    w(f"CPU s: imports {imported - start:.3f} | prepare {marks['run_start'] - imported:.3f} | "
      f"run {th:.3f} | after the run {end - marks['run_end']:.3f} | total {end:.3f}\n")
    w(f"run, per task-host ({n}): {th * 1000 / n:.2f} ms; module calls "
      f"{sum(module_cpu.values()) * 1000 / n:.2f} ms; paramiko transport threads "
      f"{transports * 1000 / n:.2f} ms\n")
    for name, use in sorted(threads.items(), key=lambda kv: -kv[1].cpu):
        w(f"  thread {name:22} {use.cpu * 1000 / n:6.2f} ms, switches {use.voluntary / n:5.1f}"
          f" + {use.involuntary / n:4.1f} (voluntary + not) per task-host\n")
    for name, secs in sink_cpu.most_common():
        w(f"  sink {name:24} {secs * 1000 / n:6.2f} ms per task-host\n")
    for name, secs in module_cpu.most_common():
        w(f"  module {name:12} {secs * 1000 / calls[name]:6.2f} ms per call ({calls[name]})\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(rc or 0))  # skip interpreter teardown: measured separately in the docs


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Why the controller's threads stop running: context switches by thread kind and cause.

    .venv/bin/python bench/profile_runbook.py --hosts 50 --tool switches

records `runbook run` with `perf record -e sched:sched_switch --call-graph dwarf` and
hands the trace here. On this VM a switch costs ~30-50 us of CPU, and a run at 50 hosts
makes ~16k of them against the floor's ~7k: they are most of the difference in CPU.

perf sees C frames only (Python 3.11 has no perf trampoline), so a switch is named by
the C call that gave up the CPU: `GIL-wait` (the thread got its system call's answer and
then waited for another thread to let go of the GIL), `GIL-drop` (it released the GIL and
the kernel ran the woken thread at once), a lock or condition wait, a socket call...
Threads are told apart by what they wait for: the main thread is the process's first,
paramiko's transport threads mostly wait in `recv_into` on their socket, and the rest are
the workers (and any short-lived helper thread).
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

# Frames that say how a thread went to sleep, not why: skipped when naming the cause.
_MECHANICS = (
    "__schedule", "schedule", "exit_to_user", "do_syscall", "entry_SYSCALL", "futex",
    "__futex", "___pthread", "__pthread", "do_futex", "__x64", "__GI", "syscall", "PyCOND",
    "__new_sem", "lll_", "PyThread_acquire_lock_timed", "acquire_timed",
    "PyEval_RestoreThread", "PyEval_SaveThread", "take_gil", "drop_gil",
)


def record_argv(data: Path) -> list[str]:
    """The perf command to put in front of the one to trace."""
    return ["perf", "record", "-q", "-o", str(data), "-e", "sched:sched_switch",
            "--call-graph", "dwarf,16384", "--"]


def _samples(script_output: Iterator[str]) -> Iterator[tuple[int, list[str]]]:
    """(thread id, C frames innermost first) per switch, from `perf script -F tid,ip,sym`
    (a line with the thread id, then a tab-indented `address symbol` line per frame)."""
    tid, frames = None, []
    for line in script_output:
        if not line.strip():
            continue
        if not line.startswith("\t"):
            if tid is not None:
                yield tid, frames
            tid, frames = int(line.split()[0]), []
        else:
            parts = line.split(None, 1)
            frames.append(parts[1].strip() if len(parts) > 1 else "?")
    if tid is not None:
        yield tid, frames


def cause(frames: list[str]) -> str:
    gil = "GIL-wait " if "take_gil" in frames else "GIL-drop " if "drop_gil" in frames else ""
    named = [f for f in frames if not f.startswith(_MECHANICS) and "(inlined)" not in f]
    return gil + " < ".join(named[:2])


def _kinds(samples: list[tuple[int, list[str]]]) -> dict[int, str]:
    per_thread = collections.Counter(tid for tid, _ in samples)
    reading = collections.Counter(tid for tid, f in samples if "sock_recv_into" in f)
    main = min(per_thread)
    return {tid: "main" if tid == main else
            "transport" if reading[tid] >= 0.4 * n else "workers"
            for tid, n in per_thread.items()}


def report(lines: Iterator[str], *, top: int) -> str:
    samples = list(_samples(lines))
    if not samples:
        return "no switches recorded"
    per_thread = collections.Counter(tid for tid, _ in samples)
    kinds = _kinds(samples)
    out = [f"{len(samples)} switches in {len(per_thread)} threads"]
    for kind in ("workers", "transport", "main"):
        causes = collections.Counter(cause(f) for tid, f in samples if kinds[tid] == kind)
        threads = sum(1 for k in kinds.values() if k == kind)
        out.append(f"\n{kind}: {sum(causes.values())} switches in {threads} threads")
        out += [f"  {n:6d}  {what}" for what, n in causes.most_common(top)]
    return "\n".join(out)


def main_report(data: Path, *, top: int = 14) -> str:
    with subprocess.Popen(["perf", "script", "-i", str(data), "-F", "tid,ip,sym"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as perf:
        assert perf.stdout is not None
        return report(perf.stdout, top=top)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="perf.data written by record_argv()")
    p.add_argument("--top", type=int, default=14)
    args = p.parse_args(argv)
    print(main_report(args.data, top=args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

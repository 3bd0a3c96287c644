"""The machine's speed of the moment: CPU time of a fixed piece of pure-Python work.

This machine is shared: the same code's CPU per task and host has measured 1.7 ms in one
hour and 3.8 ms in another. CPU time is not immune: a neighbour contending for caches,
memory bandwidth or a sibling hyperthread slows every instruction. The probe runs in the
benchmark's own process, on one thread, just before each timed run, so a result can be
read against the speed it was measured at.
"""

from __future__ import annotations

import statistics
import time

REPEAT = 3


def _work() -> int:
    """Interpreter work of the kind the engine does: calls, dicts, strings, lists."""
    table: dict[str, int] = {}
    total = 0
    for i in range(30_000):
        key = f"host{i % 500}.var{i % 7}"
        table[key] = table.get(key, 0) + i
        total += len(key.split(".")) + len([c for c in key[:6] if c != "o"])
    return total + len(table)


def probe_ms() -> float:
    """Median CPU milliseconds of `_work` over a few tries (about 0.1 s in all)."""
    times = []
    for _ in range(REPEAT):
        start = time.thread_time()
        _work()
        times.append((time.thread_time() - start) * 1000)
    return statistics.median(times)


if __name__ == "__main__":
    print(f"speed probe: {probe_ms():.1f} ms")

"""Time spent in the cyclic garbage collector during `runbook ...`, with the collector set
up as the `runbook` command sets it up (`cli.entry`).

    python bench/gc_cost.py run PLAYBOOK -i INVENTORY -f N      (same argv as runbook)
    .venv/bin/python bench/profile_runbook.py --hosts 50 --tool gc
"""

from __future__ import annotations

import gc
import resource
import sys
import threading
import time
from typing import Any

spent = {0: 0.0, 1: 0.0, 2: 0.0}
count = {0: 0, 1: 0, 2: 0}
_started: dict[int, float] = {}


def _timed(phase: str, info: dict[str, Any]) -> None:
    thread = threading.get_ident()
    now = time.thread_time()
    if phase == "start":
        _started[thread] = now
    else:
        generation = info["generation"]
        spent[generation] += now - _started.pop(thread, now)
        count[generation] += 1


def main(argv: list[str]) -> int:
    gc.callbacks.append(_timed)
    from runbook_engine import cli

    cli.set_up_process(argv)  # as the `runbook` command (cli.entry) does
    try:
        return cli.main(argv)
    finally:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        by_generation = ", ".join(f"{g}: {count[g]} x, {spent[g] * 1000:.1f} ms" for g in spent)
        print(f"gc: {sum(spent.values()):.3f} s of {usage.ru_utime + usage.ru_stime:.3f} s CPU;"
              f" by generation {by_generation}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

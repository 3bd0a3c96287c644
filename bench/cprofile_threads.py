"""cProfile every thread of `runbook ...` on per-thread CPU clocks; the merged stats go
to the file named by $CPROF_OUT (read them with `pstats`).

    .venv/bin/python bench/profile_runbook.py --hosts 50 --tool cprofile

cProfile's own cost inflates Python-heavy code several times over, and time spent
waiting for the GIL can show up in the call that released it: read ratios, not totals.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import threading
import time
from typing import Any

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _profile_this_thread(*_: Any) -> None:
    # Called once per new thread by threading.setprofile; enable() replaces the hook.
    profile = cProfile.Profile(time.thread_time)
    with _lock:
        _profiles.append(profile)
    profile.enable()


def main(argv: list[str]) -> int:
    threading.setprofile(_profile_this_thread)
    _profile_this_thread()
    from runbook_engine.cli import main as runbook_main
    from runbook_engine.cli import set_up_process

    set_up_process(argv)  # as the `runbook` command (cli.entry) does
    try:
        return runbook_main(argv)
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]
        for profile in _profiles:
            profile.disable()
        stats = pstats.Stats(_profiles[0])
        for profile in _profiles[1:]:
            stats.add(profile)
        stats.dump_stats(os.environ["CPROF_OUT"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

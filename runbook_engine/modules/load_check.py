"""load_check: load average per core (/proc/loadavg and nproc), warn / fail limits.

- load_check: {period: 5, warn_per_core: 1.0, fail_per_core: 2.0}
"""

from __future__ import annotations

from typing import Literal

from runbook_engine.checks import check_item, check_result, status_above
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext, fail

_PERIOD_INDEX = {1: 0, 5: 1, 15: 2}


class Args(ModuleArgs):
    period: Literal[1, 5, 15] = 5
    warn_per_core: float | None = 1.0
    fail_per_core: float | None = 2.0


def run(ctx: TaskContext, args: Args) -> Result:
    out = ctx.run("cat /proc/loadavg && (nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)")
    lines = out.stdout.split("\n")
    try:
        loads = [float(x) for x in lines[0].split()[:3]]
        cores = int(lines[1].strip())
    except (IndexError, ValueError):
        return fail(f"could not read the load average: {out.stderr.strip() or out.stdout!r}")
    load = loads[_PERIOD_INDEX[args.period]]
    per_core = round(load / max(cores, 1), 2)
    status = status_above(per_core, args.warn_per_core, args.fail_per_core)
    item = check_item(
        f"load {args.period}m",
        status,
        per_core,
        {"warn_per_core": args.warn_per_core, "fail_per_core": args.fail_per_core},
        f"{load:.2f} on {cores} core(s) = {per_core:.2f} per core",
    )
    return check_result(
        item,
        data={
            "load": {
                "1m": loads[0],
                "5m": loads[1],
                "15m": loads[2],
                "cores": cores,
                "per_core": per_core,
            }
        },
    )

"""memory_check: memory and swap in use (/proc/meminfo), warn / fail limits.

- memory_check: {warn_percent: 90, fail_percent: 95, min_available: 256M}
"""

from __future__ import annotations

from typing import Any

from runbook_engine.checks import (
    check_item,
    check_result,
    human_bytes,
    parse_size,
    status_above,
    status_below,
    worst,
)
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext, fail


class Args(ModuleArgs):
    warn_percent: float | None = 90
    fail_percent: float | None = 95
    min_available: int | str | None = None
    swap_warn_percent: float | None = 80
    swap_fail_percent: float | None = None


def _meminfo(text: str) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            values[key.strip()] = int(fields[0]) * 1024  # kB
    return values


def run(ctx: TaskContext, args: Args) -> Result:
    try:
        min_available = parse_size(args.min_available)
    except ValueError as exc:
        return fail(str(exc))
    out = ctx.run("cat /proc/meminfo")
    info = _meminfo(out.stdout)
    total = info.get("MemTotal", 0)
    if out.rc != 0 or not total:
        return fail(f"could not read /proc/meminfo: {out.stderr.strip()}")
    # MemAvailable exists since Linux 3.14; older kernels: free + buffers + cache.
    available = info.get("MemAvailable") or (
        info.get("MemFree", 0) + info.get("Buffers", 0) + info.get("Cached", 0)
    )
    percent = round(100.0 * (total - available) / total, 1)
    status = worst(
        [
            status_above(percent, args.warn_percent, args.fail_percent),
            status_below(available, None, min_available),
        ]
    )
    items: list[dict[str, Any]] = [
        check_item(
            "memory",
            status,
            percent,
            {
                "warn_percent": args.warn_percent,
                "fail_percent": args.fail_percent,
                "min_available": min_available,
            },
            f"{percent}% used, {human_bytes(available)} available of {human_bytes(total)}",
        )
    ]
    swap_total = info.get("SwapTotal", 0)
    swap_percent = 0.0
    if swap_total:
        swap_percent = round(100.0 * (swap_total - info.get("SwapFree", 0)) / swap_total, 1)
        items.append(
            check_item(
                "swap",
                status_above(swap_percent, args.swap_warn_percent, args.swap_fail_percent),
                swap_percent,
                {"warn_percent": args.swap_warn_percent, "fail_percent": args.swap_fail_percent},
                f"{swap_percent}% of {human_bytes(swap_total)} swap used",
            )
        )
    memory = {
        "total_bytes": total,
        "available_bytes": available,
        "percent": percent,
        "swap_total_bytes": swap_total,
        "swap_percent": swap_percent,
    }
    return check_result(items, data={"memory": memory})

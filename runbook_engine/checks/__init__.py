"""Shared shape and helpers of the check modules (tls_check, disk_check, ...).

Every check module puts `Result.data["check"]`: one CheckItem dict, or a list of them for
multi-item checks (a disk per mount). The report sink (output/checks_report.py) renders them.

    {"name": "disk /", "status": "ok" | "warn" | "fail", "value": 41.2,
     "threshold": {"warn": 80, "fail": 90}, "detail": "41.2% used, 12.3 GiB free"}

`warn` leaves the task ok; `fail` fails the task (so `ignore_errors` and exit codes work as
for any other failure).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from runbook_engine.modules.base import Result

Status = Literal["ok", "warn", "fail"]
STATUS_ORDER: dict[str, int] = {"ok": 0, "warn": 1, "fail": 2}


def check_item(
    name: str,
    status: Status,
    value: Any,
    threshold: Any = None,
    detail: str = "",
) -> dict[str, Any]:
    return {
        "name": name,
        "status": status,
        "value": value,
        "threshold": threshold,
        "detail": detail,
    }


def worst(statuses: Sequence[str]) -> Status:
    """The most severe status of several (ok when there are none)."""
    rank = max((STATUS_ORDER.get(s, 2) for s in statuses), default=0)
    return ("ok", "warn", "fail")[rank]  # type: ignore[return-value]


def status_above(value: float, warn: float | None, fail: float | None) -> Status:
    """Status when a HIGH value is bad (percent used, load): at or above a limit trips it."""
    if fail is not None and value >= fail:
        return "fail"
    if warn is not None and value >= warn:
        return "warn"
    return "ok"


def status_below(value: float, warn: float | None, fail: float | None) -> Status:
    """Status when a LOW value is bad (days left, free bytes): under a limit trips it."""
    if fail is not None and value < fail:
        return "fail"
    if warn is not None and value < warn:
        return "warn"
    return "ok"


def check_result(
    items: dict[str, Any] | list[dict[str, Any]],
    *,
    data: dict[str, Any] | None = None,
    changed: bool = False,
) -> Result:
    """Wrap check items in a Result: failed when any item failed; msg summarises."""
    as_list = items if isinstance(items, list) else [items]
    overall = worst([i["status"] for i in as_list])
    bad = [i for i in as_list if i["status"] != "ok"]
    if bad:
        msg = "; ".join(f"{i['name']}: {i['status'].upper()} {i['detail']}".strip() for i in bad)
    else:
        msg = "; ".join(f"{i['name']}: ok" for i in as_list) or "nothing to check"
    payload = dict(data or {})
    payload["check"] = items
    payload["check_status"] = overall
    return Result(changed=changed, failed=overall == "fail", msg=msg, data=payload)


_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(value: int | str | None) -> int | None:
    """`1G`, `500M`, `2048` (bytes), `10KiB` -> bytes. None stays None."""
    if value is None or isinstance(value, int):
        return value
    text = value.strip().lower().removesuffix("ib").removesuffix("b")
    number, unit = text, ""
    if text and text[-1] in _UNITS:
        number, unit = text[:-1], text[-1]
    try:
        return int(float(number) * _UNITS[unit])
    except ValueError:
        raise ValueError(f"not a size: {value!r} (use e.g. 500M, 2G, 1048576)") from None


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"

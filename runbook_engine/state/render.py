"""Plain-text rendering for the history commands: times, durations, aligned tables."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from runbook_engine.errors import InputError

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def parse_span(text: str) -> float | None:
    """Seconds in `30m`, `2h`, `90d`, `12w`; None if `text` is not such a span."""
    match = _RELATIVE.match(text.strip())
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else None


def parse_time(text: str) -> float:
    """`2026-11-26`, `2026-11-26T07:30` (UTC unless an offset is given), or `2h` ago."""
    span = parse_span(text)
    if span is not None:
        return time.time() - span
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"cannot read the time {text!r}",
                         hint="use 2026-11-26, 2026-11-26T07:30, or a span like 2h, 3d") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    return "\n".join(lines)

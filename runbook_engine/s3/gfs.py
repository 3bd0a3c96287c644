"""Grandfather-father-son retention, as a pure function of backup times.

Semantics (restic's `forget`): with the backups sorted newest first,
- `keep_last N` keeps the N newest;
- `keep_hourly/daily/weekly/monthly/yearly N` keeps the newest backup of each of the N most
  recent hours/days/ISO weeks/months/years that have a backup (buckets in UTC);
- `keep_within D` keeps every backup at most D older than the NEWEST backup (not than now:
  a backup job that stopped weeks ago must not make retention eat the history).
A backup survives if any rule keeps it; `decide` says which rules did.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

_DURATION_PART = re.compile(r"(\d+)([ymwdh])")
_UNIT = {
    "y": timedelta(days=365),
    "m": timedelta(days=30),
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
}


def parse_duration(text: str) -> timedelta:
    """`1y2m3w4d5h` (y=365 days, m=30 days) -> timedelta."""
    compact = text.replace(" ", "")
    if not compact or _DURATION_PART.sub("", compact):
        raise ValueError(f"duration {text!r}: use numbers with y, m, w, d, h (e.g. 7d, 1m2w)")
    return sum(
        (int(n) * _UNIT[unit] for n, unit in _DURATION_PART.findall(compact)), timedelta()
    )


def _iso_week(t: datetime) -> str:
    year, week, _ = t.isocalendar()
    return f"{year}-W{week:02d}"


BUCKETS: dict[str, Callable[[datetime], str]] = {
    "hourly": lambda t: t.strftime("%Y-%m-%dT%H"),
    "daily": lambda t: t.strftime("%Y-%m-%d"),
    "weekly": _iso_week,
    "monthly": lambda t: t.strftime("%Y-%m"),
    "yearly": lambda t: t.strftime("%Y"),
}


@dataclass(frozen=True, slots=True)
class Policy:
    keep_last: int = 0
    keep_hourly: int = 0
    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0
    keep_yearly: int = 0
    keep_within: timedelta | None = None

    @property
    def empty(self) -> bool:
        counts = (self.keep_last, self.keep_hourly, self.keep_daily, self.keep_weekly,
                  self.keep_monthly, self.keep_yearly)
        return not any(counts) and not self.keep_within

    def bucket_counts(self) -> dict[str, int]:
        return {
            "hourly": self.keep_hourly,
            "daily": self.keep_daily,
            "weekly": self.keep_weekly,
            "monthly": self.keep_monthly,
            "yearly": self.keep_yearly,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    keep: dict[int, list[str]]  # index into the input -> the rules that keep it
    delete: list[int]  # indexes into the input, newest first


def decide(policy: Policy, times: Sequence[datetime]) -> Decision:
    """Which of `times` (any order, timezone-aware) the policy keeps, and why."""
    order = sorted(range(len(times)), key=lambda i: (times[i], i), reverse=True)
    reasons: dict[int, list[str]] = {i: [] for i in order}
    for rank, i in enumerate(order[: policy.keep_last]):
        reasons[i].append(f"last {rank + 1}")
    for rule, count in policy.bucket_counts().items():
        bucket_of = BUCKETS[rule]
        taken: list[str] = []
        for i in order:
            if len(taken) >= count:
                break
            bucket = bucket_of(times[i])
            if not taken or taken[-1] != bucket:
                taken.append(bucket)
                reasons[i].append(f"{rule} {bucket}")
    if policy.keep_within and order:
        horizon = times[order[0]] - policy.keep_within
        for i in order:
            if times[i] >= horizon:
                reasons[i].append(f"within {policy.keep_within} of newest")
    keep = {i: r for i, r in reasons.items() if r}
    return Decision(keep, [i for i in order if i not in keep])

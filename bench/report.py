"""Medians, ratios, the targets of issue #7, and the printed table."""

from __future__ import annotations

import statistics
from typing import Any

from bench.fixtures import TASKS

Results = dict[str, Any]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """runs: [{"first": Measurement dict, "rerun": ...} | {"failed": msg}] of one tool at one N."""
    ok = [r for r in runs if "failed" not in r]
    out: dict[str, Any] = {"runs": len(runs), "ok_runs": len(ok),
                           "failures": [r["failed"] for r in runs if "failed" in r]}
    out["speed_probe_ms"] = median([r["speed_probe_ms"] for r in ok if "speed_probe_ms" in r])
    for phase in ("first", "rerun"):
        for key in ("wall", "cpu", "peak_rss_mb"):
            out[f"{phase}_{key}"] = median([r[phase][key] for r in ok if phase in r])
    return out


def _fmt(v: float | None, spec: str = ".2f") -> str:
    return "-" if v is None else format(v, spec)


def table(n: int, summary: dict[str, dict[str, Any]]) -> str:
    rb = summary.get("runbook", {})
    lines = [f"\n== {n} host(s), {TASKS} tasks each; medians "
             f"(wall s, controller CPU s, CPU ms per task per host, peak RSS MB)",
             f"{'tool':9} {'ok':>5} {'first':>7} {'rerun':>7} {'cpu':>7} {'cpu/t/h':>8} "
             f"{'rss':>7} {'x runbook':>10}"]
    for tool, s in summary.items():
        wall = s.get("first_wall")
        ratio = (wall / rb["first_wall"]) if wall and rb.get("first_wall") else None
        cpu = s.get("first_cpu")
        per = cpu * 1000 / (TASKS * n) if cpu is not None else None
        lines.append(
            f"{tool:9} {s['ok_runs']:>2}/{s['runs']:<2} {_fmt(wall):>7} "
            f"{_fmt(s.get('rerun_wall')):>7} {_fmt(cpu):>7} {_fmt(per):>8} "
            f"{_fmt(s.get('first_peak_rss_mb'), '.0f'):>7} {_fmt(ratio):>10}"
        )
        for f in s["failures"][:2]:
            lines.append(f"          FAILED: {f[:300]}")
    probes = [s["speed_probe_ms"] for s in summary.values() if s.get("speed_probe_ms")]
    if probes:
        lines.append(f"machine speed probe (bench/speed.py, lower is faster): median "
                     f"{statistics.median(probes):.1f} ms")
    return "\n".join(lines)


def targets(n: int, summary: dict[str, dict[str, Any]], startup: dict[str, float]) -> list[
        tuple[str, str, bool | None]]:
    """(target, measured, met) for the issue's targets at this host count."""
    rb = summary.get("runbook", {})
    wall = rb.get("first_wall")

    def ratio(peer: str) -> float | None:
        other = summary.get(peer, {}).get("first_wall")
        return other / wall if wall and other else None

    rows: list[tuple[str, str, bool | None]] = []
    fl = ratio("floor")
    rows.append((f"wall <= 1.25x floor ({n} hosts)",
                 "-" if fl is None else f"{1 / fl:.2f}x floor",
                 None if fl is None else 1 / fl <= 1.25))
    for peer, need in (("pyinfra", 2.0), ("ansible", 20.0)):
        r = ratio(peer)
        rows.append((f">= {need:g}x faster than {peer}", "-" if r is None else f"{r:.2f}x",
                     None if r is None else r >= need))
    cpu = rb.get("first_cpu")
    per = cpu * 1000 / (TASKS * n) if cpu is not None else None
    rows.append(("CPU <= 3 ms per task per host", "-" if per is None else f"{per:.2f} ms",
                 None if per is None else per <= 3))
    rss = rb.get("first_peak_rss_mb")
    rows.append((f"peak RSS <= 150 MB ({n} hosts)", "-" if rss is None else f"{rss:.0f} MB",
                 None if rss is None else rss <= 150))
    re_ = rb.get("rerun_wall")
    rows.append(("re-run faster than first run",
                 "-" if re_ is None or wall is None else f"{re_:.2f} s vs {wall:.2f} s",
                 None if re_ is None or wall is None else re_ < wall))
    v = startup.get("runbook --version")
    rows.append(("runbook --version < 150 ms", "-" if v is None else f"{v * 1000:.0f} ms",
                 None if v is None else v < 0.150))
    return rows


def targets_text(rows: list[tuple[str, str, bool | None]]) -> str:
    mark = {True: "met", False: "MISSED", None: "n/a"}
    return "\n".join(f"  {name:38} {got:>24}  {mark[ok]}" for name, got, ok in rows)


def marginal_cpu(results: dict[str, Any], tool: str = "runbook") -> float | None:
    """CPU ms per extra task-host: start-up cost cancels out between two host counts."""
    points = sorted(
        (int(n), r["summary"][tool]["first_cpu"]) for n, r in results.items()
        if tool in r["summary"] and r["summary"][tool]["first_cpu"] is not None
    )
    if len(points) < 2 or points[-1][0] == points[0][0]:
        return None
    (n0, c0), (n1, c1) = points[0], points[-1]
    return (c1 - c0) * 1000 / (TASKS * (n1 - n0))

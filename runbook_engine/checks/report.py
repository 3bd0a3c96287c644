"""Rendering collected check items: plain values, JSON structure, self-contained HTML."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from runbook_engine.checks import STATUS_ORDER, worst

STATUSES = ("ok", "warn", "fail")


@dataclass
class CheckRow:
    """One check's outcome on one host, for the checks report."""

    host: str
    task: str
    name: str
    status: str
    value: Any
    threshold: Any
    detail: str


def show(value: Any) -> str:
    """A value or threshold as a person reads it: `percent=41.2, free_bytes=...`."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={show(v)}" for k, v in value.items() if v is not None) or "-"
    if isinstance(value, list | tuple):
        return "/".join(show(v) for v in value)
    return str(value)


def headline(value: Any) -> str:
    """The first figure of a value, for narrow places (`percent=41.2, ...` -> `41.2`)."""
    if isinstance(value, dict):
        first = next((v for v in value.values() if v is not None), None)
        return show(first)
    return show(value)


def summary(rows: list[CheckRow]) -> dict[str, int]:
    counts = Counter(r.status for r in rows)
    return {s: counts.get(s, 0) for s in STATUSES}


def as_json(rows: list[CheckRow], meta: dict[str, Any]) -> dict[str, Any]:
    hosts: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = hosts.setdefault(row.host, {"status": "ok", "checks": []})
        entry["checks"].append({k: v for k, v in asdict(row).items() if k != "host"})
        entry["status"] = worst([entry["status"], row.status])
    return {**meta, "status": worst([r.status for r in rows]), "summary": summary(rows),
            "hosts": hosts}


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d232a}
h1{font-size:1.4rem;margin:0 0 .3rem} .meta{color:#5b6570;margin-bottom:1.2rem}
.pills span{display:inline-block;padding:.25rem .7rem;border-radius:1rem;margin-right:.4rem;
font-weight:600} table{border-collapse:collapse;width:100%;margin:.5rem 0 1.6rem}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{background:#f5f7f9;font-size:.85rem;text-transform:uppercase;letter-spacing:.03em}
h2{font-size:1.1rem;margin:1.4rem 0 .2rem} .s{font-weight:700;text-transform:uppercase}
.ok{background:#e3f6e8;color:#17692f} .warn{background:#fff4d6;color:#8a5a00}
.fail{background:#fde4e4;color:#a11d1d} td.s.ok,td.s.warn,td.s.fail{width:4.5rem}
.v{font-variant-numeric:tabular-nums;white-space:nowrap}
"""


def render_html(rows: list[CheckRow], meta: dict[str, Any]) -> str:
    import html  # only for this report; html.entities is large

    e = html.escape
    counts = summary(rows)
    overall = worst([r.status for r in rows])
    pills = "".join(f'<span class="{s}">{counts[s]} {s}</span>' for s in STATUSES)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(str(meta.get('title', 'Checks')))}: {overall.upper()}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(str(meta.get('title', 'Checks')))}: "
        f'<span class="s {overall}">{overall}</span></h1>',
        f'<div class="meta">{e(str(meta.get("playbook") or ""))} '
        f'generated {e(str(meta.get("generated_at", "")))}</div>',
        f'<div class="pills">{pills}</div>',
    ]
    hosts: dict[str, list[CheckRow]] = {}
    for row in rows:
        hosts.setdefault(row.host, []).append(row)
    for host, host_rows in hosts.items():
        host_status = worst([r.status for r in host_rows])
        parts.append(f'<h2>{e(host)} <span class="s {host_status}">{host_status}</span></h2>')
        parts.append("<table><thead><tr><th>Status</th><th>Check</th><th>Value</th>"
                     "<th>Threshold</th><th>Detail</th><th>Task</th></tr></thead><tbody>")
        for row in sorted(host_rows, key=lambda r: -STATUS_ORDER.get(r.status, 2)):
            status = row.status if row.status in STATUSES else "fail"
            parts.append(
                f'<tr><td class="s {status}">{e(row.status)}</td><td>{e(row.name)}</td>'
                f'<td class="v">{e(show(row.value))}</td><td>{e(show(row.threshold))}</td>'
                f"<td>{e(row.detail)}</td><td>{e(row.task)}</td></tr>"
            )
        parts.append("</tbody></table>")
    if not rows:
        parts.append("<p>No checks ran.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)

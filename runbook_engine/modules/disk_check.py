"""disk_check: space and inodes per mount (`df -P`), one round trip, warn / fail limits.

- disk_check: {mounts: [/, /var], warn_percent: 80, fail_percent: 90, min_free: 2G}
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from pydantic import Field

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

# Pseudo and in-memory filesystems: skipped unless a mount is named explicitly.
PSEUDO_FSTYPES = {
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "tmpfs",
    "cgroup",
    "cgroup2",
    "mqueue",
    "squashfs",
    "debugfs",
    "tracefs",
    "securityfs",
    "pstore",
    "bpf",
    "configfs",
    "fusectl",
    "hugetlbfs",
    "autofs",
    "binfmt_misc",
    "nsfs",
    "ramfs",
    "efivarfs",
}


class Args(ModuleArgs):
    mounts: list[str] = Field(
        default_factory=list,
        description="Paths to check (the mount holding each); empty = every real filesystem.",
    )
    warn_percent: float | None = 80
    fail_percent: float | None = 90
    min_free: int | str | None = Field(None, description="Fail when less is free, e.g. 2G.")
    warn_free: int | str | None = Field(None, description="Warn when less is free.")
    inode_warn_percent: float | None = 80
    inode_fail_percent: float | None = 90


@dataclass
class DfRow:
    mount: str
    total: int  # bytes (or inodes)
    used: int
    avail: int

    @property
    def percent(self) -> float:
        usable = self.used + self.avail
        return round(100.0 * self.used / usable, 1) if usable else 0.0


def _parse_df(text: str, unit: int) -> dict[str, DfRow]:
    rows: dict[str, DfRow] = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 6 or not fields[1].isdigit():
            continue
        total, used, avail = (int(f) * unit for f in fields[1:4])
        mount = " ".join(fields[5:])
        rows[mount] = DfRow(mount, total, used, avail)
    return rows


def _fstypes(proc_mounts: str) -> dict[str, str]:
    types: dict[str, str] = {}
    for line in proc_mounts.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            mount = fields[1].encode().decode("unicode_escape")  # \040 for a space
            types[mount] = fields[2]
    return types


def _sections(stdout: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    name = "space"
    for line in stdout.splitlines(keepends=True):
        if line.startswith("@@"):
            name = line[2:].strip()
            continue
        parts[name] = parts.get(name, "") + line
    return parts


def _mount_item(args: Args, row: DfRow, inodes: DfRow | None) -> dict[str, Any]:
    statuses = [status_above(row.percent, args.warn_percent, args.fail_percent)]
    min_free, warn_free = parse_size(args.min_free), parse_size(args.warn_free)
    statuses.append(status_below(row.avail, warn_free, min_free))
    detail = f"{row.percent}% used, {human_bytes(row.avail)} free"
    value: dict[str, Any] = {
        "percent": row.percent,
        "free_bytes": row.avail,
        "size_bytes": row.total,
    }
    if inodes is not None and inodes.total:
        statuses.append(
            status_above(inodes.percent, args.inode_warn_percent, args.inode_fail_percent)
        )
        detail += f", inodes {inodes.percent}% used"
        value["inode_percent"] = inodes.percent
    threshold = {
        "warn_percent": args.warn_percent,
        "fail_percent": args.fail_percent,
        "warn_free": warn_free,
        "min_free": min_free,
        "inode_warn_percent": args.inode_warn_percent,
        "inode_fail_percent": args.inode_fail_percent,
    }
    return check_item(f"disk {row.mount}", worst(statuses), value, threshold, detail)


def run(ctx: TaskContext, args: Args) -> Result:
    try:
        parse_size(args.min_free)
        parse_size(args.warn_free)
    except ValueError as exc:
        return fail(str(exc))
    paths = " ".join(shlex.quote(m) for m in args.mounts)
    target = f" -- {paths}" if paths else ""
    script = (
        f"LC_ALL=C df -Pk{target} || exit $?; echo @@inodes; LC_ALL=C df -Pi{target} 2>/dev/null;"
        " echo @@mounts; cat /proc/mounts 2>/dev/null; true"
    )
    out = ctx.run(script)
    if out.rc != 0:
        return fail(f"df failed: {out.stderr.strip() or out.stdout.strip()}", rc=out.rc)
    parts = _sections(out.stdout)
    space = _parse_df(parts.get("space", ""), 1024)
    inodes = _parse_df(parts.get("inodes", ""), 1)
    types = _fstypes(parts.get("mounts", ""))
    rows = list(space.values())
    if not args.mounts:
        rows = [r for r in rows if r.total and types.get(r.mount) not in PSEUDO_FSTYPES]
    items = [_mount_item(args, r, inodes.get(r.mount)) for r in rows]
    return check_result(
        items,
        data={
            "mounts": [i["value"] | {"mount": r.mount} for i, r in zip(items, rows, strict=True)]
        },
    )

"""Run a backup then a restore in THIS process and report its peak RSS growth for each
(the controller's memory while ~200 MB stream through it). Used by test_large.py:

    python -m tests.backup.measure_memory '{"host": ..., "vars": {...}, "s3": {...}, ...}'
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from runbook_engine.connection.factory import connection_for
from runbook_engine.s3.config import S3Args, make_client
from tests.harness import Target, make_ctx, run_module


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def _measured(name: str, ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    _reset_peak()
    baseline = _status_kib("VmRSS")
    result = run_module(name, ctx, args)
    return {
        "failed": result.failed,
        "msg": result.msg,
        "data": result.data,
        "growth_kib": _status_kib("VmHWM") - baseline,
    }


def main(spec: dict[str, Any]) -> dict[str, Any]:
    conn = connection_for(spec["host"], spec["vars"])
    target = Target(spec["host"], conn, spec["scratch"])
    s3_only = {k: v for k, v in spec["s3"].items() if k in S3Args.model_fields}
    make_client(S3Args.model_validate(s3_only)).list_buckets()  # warm boto3 up first
    conn.run("true")
    report = {"backup": _measured("backup", make_ctx(target), {**spec["s3"], **spec["backup"]})}
    if not report["backup"]["failed"]:
        report["restore"] = _measured(
            "restore", make_ctx(target), {**spec["s3"], **spec["restore"]}
        )
    conn.close()
    return report


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1])), default=str))

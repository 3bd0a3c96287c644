"""disk, load, memory, service and log checks against the real test hosts (local and SSH)."""

from __future__ import annotations

import shlex
import time

from tests.harness import Target, make_ctx, run_module


def _sh(target: Target, command: str) -> str:
    out = target.conn.run(command)
    assert out.rc == 0, out.stderr
    return out.stdout


def _usage_percent(target: Target, path: str) -> float:
    fields = _sh(target, f"df -Pk {shlex.quote(path)}").splitlines()[1].split()
    used, avail = int(fields[2]), int(fields[3])
    return 100.0 * used / (used + avail)


def test_disk_check_reports_the_mount_and_trips_thresholds(target: Target) -> None:
    used = _usage_percent(target, target.scratch)
    ok = run_module("disk_check", make_ctx(target), {
        "mounts": [target.scratch], "warn_percent": used + 5, "fail_percent": used + 6,
        "inode_warn_percent": None, "inode_fail_percent": None,
    })
    assert not ok.failed, ok.msg
    [item] = ok.data["check"]
    assert item["status"] == "ok"
    assert item["name"].startswith("disk /")
    assert abs(item["value"]["percent"] - used) < 1
    assert item["value"]["free_bytes"] > 0

    warn = run_module("disk_check", make_ctx(target), {
        "mounts": [target.scratch], "warn_percent": max(used - 1, 0), "fail_percent": 101,
    })
    assert not warn.failed and warn.data["check"][0]["status"] == "warn"

    free_bytes = ok.data["check"][0]["value"]["free_bytes"]
    short = run_module("disk_check", make_ctx(target), {
        "mounts": [target.scratch], "min_free": f"{free_bytes * 2 // 1024**2}M",
    })
    assert short.failed
    assert short.data["check"][0]["status"] == "fail"
    assert "free" in short.msg


def test_disk_check_without_mounts_skips_pseudo_filesystems(target: Target) -> None:
    result = run_module("disk_check", make_ctx(target), {"warn_percent": 101,
                                                         "fail_percent": 101})
    names = [i["name"] for i in result.data["check"]]
    assert "disk /" in names
    assert "disk /dev" not in names and "disk /dev/shm" not in names


def test_load_check_per_core(target: Target) -> None:
    cores = int(_sh(target, "nproc").strip())
    result = run_module("load_check", make_ctx(target), {"period": 1})
    load = result.data["load"]
    assert load["cores"] == cores
    assert load["per_core"] == round(load["1m"] / cores, 2)
    tripped = run_module("load_check", make_ctx(target), {"warn_per_core": 0,
                                                          "fail_per_core": None})
    assert tripped.data["check"]["status"] == "warn" and not tripped.failed


def test_memory_check_matches_meminfo(target: Target) -> None:
    total_kb = int(_sh(target, "awk '/^MemTotal:/{print $2}' /proc/meminfo"))
    result = run_module("memory_check", make_ctx(target), {"warn_percent": 100,
                                                           "fail_percent": 100})
    assert not result.failed
    assert result.data["memory"]["total_bytes"] == total_kb * 1024
    failing = run_module("memory_check", make_ctx(target), {"min_available": "1000T"})
    assert failing.failed and "memory" in failing.msg


def test_service_check_finds_a_process_and_a_listening_port(target: Target) -> None:
    # A real daemon on the target: a renamed copy of sleep, and a listening socket.
    name = f"rbk-svc-{int(time.time() * 1000) % 100000}"
    binary = f"{target.scratch}/{name}"
    pid = _sh(target, f"cp /bin/sleep {binary} && "
                      f"({binary} 300 >/dev/null 2>&1 </dev/null & echo $!)")
    listener = _sh(target, (
        "python3 -c 'import socket,time; s=socket.socket(); s.bind((\"127.0.0.1\",0));"
        " s.listen(); print(s.getsockname()[1], flush=True); time.sleep(300)'"
        f" > {target.scratch}/port 2>/dev/null </dev/null & echo $!"
    ))
    try:
        for _ in range(100):
            port = _sh(target, f"cat {target.scratch}/port").strip()
            if port:
                break
            time.sleep(0.05)
        up = run_module("service_check", make_ctx(target), {"process": name,
                                                            "port": int(port)})
        assert not up.failed, up.msg
        statuses = {i["name"]: (i["status"], i["value"]) for i in up.data["check"]}
        assert statuses[f"process {name}"] == ("ok", 1)
        assert statuses[f"port {port}"] == ("ok", "listening")
    finally:
        pids = f"{pid.strip()} {listener.strip()}"
        # wait until both are gone (a zombie left for PID 1 to reap counts as gone)
        _sh(target, f"kill {pids}; for i in $(seq 100); do alive=; for p in {pids}; do"
                    " grep -qv ') Z ' /proc/$p/stat 2>/dev/null && alive=1; done;"
                    ' [ -z "$alive" ] && break; sleep 0.05; done')
    down = run_module("service_check", make_ctx(target), {"name": name, "port": int(port)})
    assert down.failed
    assert {i["status"] for i in down.data["check"]} == {"fail"}
    assert "not listening" in down.msg


def _log_scan(target: Target, log: str, check: bool = False) -> dict:
    args = {"path": log, "patterns": ["ERROR", "panic:"], "warn_count": 1, "fail_count": 3,
            "state_file": f"{target.scratch}/scan.state"}
    result = run_module("log_scan", make_ctx(target, check=check), args)
    return {"status": result.data["check"]["status"], "count": result.data["check"]["value"],
            "lines": result.data["log_scan"].get("lines", []), "failed": result.failed,
            "info": result.data["log_scan"]}


def test_log_scan_reads_only_new_lines_and_survives_rotation(target: Target) -> None:
    log = f"{target.scratch}/app.log"
    _sh(target, f"printf 'start\\nERROR one\\nfine\\n' > {log}")
    first = _log_scan(target, log)
    assert (first["status"], first["count"], first["lines"]) == ("warn", 1, ["ERROR one"])

    assert _log_scan(target, log)["count"] == 0  # nothing new since the saved offset

    _sh(target, f"printf 'ERROR two\\npanic: three\\nERROR four\\n' >> {log}")
    third = _log_scan(target, log)
    assert (third["status"], third["count"], third["failed"]) == ("fail", 3, True)

    # logrotate: the old file moves to .1 (with a last line written before the move)
    _sh(target, f"printf 'ERROR late\\n' >> {log} && mv {log} {log}.1 && "
                f"printf 'ERROR fresh\\nok\\n' > {log}")
    rotated = _log_scan(target, log)
    assert rotated["info"]["rotated"]
    assert rotated["lines"] == ["ERROR late", "ERROR fresh"]

    _sh(target, f": > {log}.tmp && printf 'x\\n' > {log}.tmp && cat {log}.tmp > {log}")
    truncated = _log_scan(target, log)
    assert truncated["info"]["truncated"] and truncated["count"] == 0


def test_log_scan_check_mode_keeps_the_offset_and_reports_a_missing_log(
    target: Target,
) -> None:
    log = f"{target.scratch}/app.log"
    _sh(target, f"printf 'ERROR a\\n' > {log}")
    assert _log_scan(target, log, check=True)["count"] == 1
    assert _log_scan(target, log)["count"] == 1  # check mode saved nothing
    missing = _log_scan(target, f"{target.scratch}/nope.log")
    assert missing["failed"] and missing["status"] == "fail"

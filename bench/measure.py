"""Run one tool as a child process and measure it: wall time, controller CPU
(user+sys of the whole process tree) and peak controller memory.

The benchmark makes itself a child subreaper, so processes a tool leaves behind (ssh
ControlPersist masters) are re-parented to it; they are reaped with wait4 and their CPU
is counted too. Memory: the largest single process (ru_maxrss from wait4) and the
sampled sum of PSS over the tool's process tree (fair to forking tools: shared
copy-on-write pages are split, not counted per process); the peak is the larger.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
SAMPLE_INTERVAL = 0.1


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


@dataclass
class Measurement:
    rc: int
    wall: float  # seconds
    cpu: float  # seconds, user + sys of the tool and everything it started
    peak_rss_mb: float
    log: str  # path of stdout+stderr
    loadavg: float = 0.0  # 1-minute load average right after the run (machine noise)

    def as_dict(self) -> dict[str, float | int | str]:
        return {"rc": self.rc, "wall": self.wall, "cpu": self.cpu,
                "peak_rss_mb": self.peak_rss_mb, "loadavg": self.loadavg, "log": self.log}


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children")
                          .read_text().split()]
    return found


def _tree(roots: list[int]) -> list[int]:
    out, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += _children(pid)
    return out


def _pss_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def orphans(keep: set[int]) -> list[int]:
    """Our direct children that are not the sshd daemons (`keep`) nor ourselves."""
    return [p for p in _children(os.getpid()) if p not in keep]


def _on_a_target(pid: int) -> bool:
    """A process of a target's unix user: the hosts' sshd sessions are descendants of the
    daemons this benchmark started, so a remote shell that outlives its sshd session is
    re-parented to us like a controller's orphan. Its CPU is the target's, not the tool's."""
    try:
        return os.stat(f"/proc/{pid}").st_uid != os.getuid()
    except OSError:
        return False


def controller_orphans(keep: set[int]) -> list[int]:
    return [p for p in orphans(keep) if not _on_a_target(p)]


class _Sampler(threading.Thread):
    def __init__(self, root: int, keep: set[int]) -> None:
        super().__init__(daemon=True)
        self.root, self.keep = root, keep
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_INTERVAL):
            pids = _tree([self.root, *controller_orphans(self.keep | {self.root})])
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(p) for p in pids))


def _reap(pid: int, deadline: float) -> tuple[float, int]:
    """(cpu seconds, maxrss KiB) of a child (and its reaped descendants), waiting for it."""
    while True:
        try:
            got, _, ru = os.wait4(pid, os.WNOHANG if time.monotonic() < deadline else 0)
        except ChildProcessError:
            return 0.0, 0
        if got:
            return ru.ru_utime + ru.ru_stime, ru.ru_maxrss
        if time.monotonic() >= deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)


def reap_orphans(keep: set[int]) -> tuple[float, int]:
    """Reap what the tool left behind (after it was told to exit); kill stragglers."""
    cpu, rss = 0.0, 0
    deadline = time.monotonic() + 10
    for pid in orphans(keep):
        target_side = _on_a_target(pid)
        c, r = _reap(pid, deadline)
        if not target_side:
            cpu, rss = cpu + c, max(rss, r)
    return cpu, rss


def run_measured(argv: list[str], *, env: dict[str, str], cwd: str, log: Path,
                 keep: set[int], timeout: float) -> tuple[Measurement, subprocess.Popen[bytes]]:
    """Run argv to completion; orphans are NOT reaped here (see `finish`)."""
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        sampler = _Sampler(proc.pid, keep)
        sampler.start()
        deadline = time.monotonic() + timeout
        while True:
            got, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if got:
                break
            if time.monotonic() > deadline:
                proc.kill()
            time.sleep(0.005)
        wall = time.perf_counter() - start
        sampler.done.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    m = Measurement(rc=proc.returncode, wall=wall, cpu=ru.ru_utime + ru.ru_stime,
                    peak_rss_mb=max(ru.ru_maxrss, sampler.peak_kb) / 1024, log=str(log))
    return m, proc

"""A/B: controller CPU and wall time of `runbook run` from two (or more) source trees,
interleaved run by run on the same hosts.

    git worktree add /tmp/before <commit>
    .venv/bin/python bench/ab.py --hosts 50 --rounds 5 /tmp/before .

The machine's speed drifts by 15-20% within an hour, so two `make bench` runs an hour
apart cannot show a 5-10% change; alternating the trees run by run can. Each tree is put
first on PYTHONPATH (ahead of the editable install), so it must be a checkout of this
repository; the workload, verifier and hosts are this tree's. CPU is the `runbook`
process's own (RUSAGE_CHILDREN around each run: the hosts' sshd sessions are reaped by
their daemons, not by us).
"""

from __future__ import annotations

import argparse
import compileall
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import speed, tools
from bench.fixtures import make_cert, make_targets, prepare
from bench.verify import verify
from tests.fixtures.sshd import HostPool


def _children_usage() -> tuple[float, int]:
    """CPU seconds and context switches of the reaped children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_nvcsw + usage.ru_nivcsw


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("trees", nargs="+", help="source trees (checkouts) to compare")
    p.add_argument("--hosts", type=int, default=50)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--daemons", type=int, default=50, help="sshd daemons (hosts share them)")
    args = p.parse_args(argv)
    trees = [str(Path(t).resolve()) for t in args.trees]
    work = Path(tempfile.mkdtemp(prefix="runbook-ab-"))
    pool = HostPool()
    runs: dict[str, list[tuple[float, float]]] = {t: [] for t in trees}
    switches: dict[str, list[int]] = {t: [] for t in trees}
    try:
        cert = make_cert(work)
        daemons = pool.start_many([f"ab{i}" for i in range(min(args.hosts, args.daemons))],
                                  sudo=False)
        targets = make_targets(daemons, args.hosts)
        inv = tools.invocation("runbook", work, targets, min(args.hosts, 20))
        for tree in trees:
            # As tools.runbook does for this tree: with PYTHONDONTWRITEBYTECODE=1 set, an
            # uncompiled tree pays ~0.13 s per run to compile itself (session 6 found the
            # earlier A/Bs had compared a compiled tree with an uncompiled one).
            compileall.compile_dir(str(Path(tree) / "runbook_engine"), quiet=1)
        for round_no in range(1, args.rounds + 1):
            for tree in trees:
                prepare(targets, "runbook", cert)
                probe = speed.probe_ms()
                (cpu_before, switches_before), start = _children_usage(), time.perf_counter()
                done = subprocess.run(inv.argv, env={**inv.env, "PYTHONPATH": tree},
                                      cwd=inv.cwd, capture_output=True, text=True)
                wall = time.perf_counter() - start
                cpu_after, switches_after = _children_usage()
                cpu = cpu_after - cpu_before
                switches[tree].append(switches_after - switches_before)
                errors = verify(targets, "runbook", cert)
                if done.returncode != 0 or errors:
                    print(f"{tree}: rc={done.returncode} {errors[:3]}\n{done.stderr[-2000:]}")
                    return 1
                runs[tree].append((wall, cpu))
                print(f"round {round_no} {tree}: wall {wall:.2f} s, cpu {cpu:.3f} s, "
                      f"{switches[tree][-1]} context switches, speed probe {probe:.1f} ms",
                      flush=True)
        for tree in trees:
            walls = [w for w, _ in runs[tree]]
            cpus = [c for _, c in runs[tree]]
            print(f"{tree}: median wall {statistics.median(walls):.2f} s, "
                  f"median cpu {statistics.median(cpus):.3f} s, median "
                  f"{statistics.median(switches[tree]):.0f} context switches over "
                  f"{len(cpus)} runs")
        print(_paired(runs, trees))
    finally:
        pool.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _paired(runs: dict[str, list[tuple[float, float]]], trees: list[str]) -> str:
    """Each tree's CPU over the first tree's, round by round. The machine's speed moves
    within minutes; two runs side by side in one round share it, so the median of these
    ratios is steadier than the ratio of the medians."""
    first = runs[trees[0]]
    lines = []
    for tree in trees[1:]:
        ratios = sorted(c / c0 for (_, c), (_, c0) in zip(runs[tree], first, strict=True))
        lines.append(f"{tree} / {trees[0]}: CPU ratio per round, median "
                     f"{statistics.median(ratios):.3f} (from {ratios[0]:.2f} to {ratios[-1]:.2f})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

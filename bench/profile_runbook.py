"""Profile `runbook run` on the benchmark workload (for finding where time goes).

    .venv/bin/python bench/profile_runbook.py --hosts 10 [--rerun] [--tool pyinstrument|py-spy]

`breakdown` (default, CPU by phase, sink and module), `gc` (time in the cyclic garbage
collector) and `cprofile` (every thread, on per-thread CPU clocks) need nothing;
`switches` (context switches by thread kind and cause, bench/switches.py) needs perf;
pyinstrument or py-spy must be installed into .venv by hand (not project dependencies).
Writes the profile next to the results (bench/results/profile-*.{txt,svg}).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import switches, tools
from bench.fixtures import make_cert, make_targets, prepare
from bench.run import RESULTS
from bench.verify import verify
from tests.fixtures.sshd import HostPool


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--hosts", type=int, default=10)
    p.add_argument("--rerun", action="store_true", help="profile the idempotent re-run")
    p.add_argument("--tool", default="breakdown",
                   choices=("breakdown", "gc", "cprofile", "switches", "pyinstrument", "py-spy"))
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="runbook-profile-"))
    cert = make_cert(work)
    pool = HostPool()
    try:
        daemons = [pool.start(f"prof{i}", sudo=False) for i in range(args.hosts)]
        targets = make_targets(daemons, args.hosts)
        prepare(targets, "runbook", cert)
        inv = tools.invocation("runbook", work, targets, min(args.hosts, 20))
        if args.rerun:
            subprocess.run(inv.argv, env=inv.env, cwd=inv.cwd, capture_output=True, check=True)
        RESULTS.mkdir(exist_ok=True)
        stamp = time.strftime("%H%M%S")
        bin_ = Path(sys.executable).parent
        if args.tool in ("breakdown", "gc"):
            out = RESULTS / f"{args.tool}-{args.hosts}-{stamp}.txt"
            name = "cpu_breakdown.py" if args.tool == "breakdown" else "gc_cost.py"
            script = Path(__file__).resolve().parent / name
            argv2 = [sys.executable, str(script), *inv.argv[1:]]
        elif args.tool == "cprofile":
            out = RESULTS / f"cprofile-{args.hosts}-{stamp}.prof"
            script = Path(__file__).resolve().parent / "cprofile_threads.py"
            argv2 = [sys.executable, str(script), *inv.argv[1:]]
            inv.env["CPROF_OUT"] = str(out)
        elif args.tool == "switches":
            if shutil.which("perf") is None:
                raise SystemExit("--tool switches needs perf (apt-get install linux-perf)")
            data = RESULTS / f"switches-{args.hosts}-{stamp}.data"
            out = RESULTS / f"switches-{args.hosts}-{stamp}.txt"
            argv2 = [*switches.record_argv(data), *inv.argv]
        elif args.tool == "pyinstrument":
            out = RESULTS / f"profile-{args.hosts}-{stamp}.txt"
            argv2 = [str(bin_ / "pyinstrument"), "-o", str(out), "--show-all", *inv.argv]
        else:
            out = RESULTS / f"profile-{args.hosts}-{stamp}.svg"
            argv2 = [str(bin_ / "py-spy"), "record", "-o", str(out), "--threads", "-r", "200",
                     *(["-f", "raw"] if os.environ.get("PYSPY_RAW") else []),
                     "--", *inv.argv]
        start = time.perf_counter()
        done = subprocess.run(argv2, env=inv.env, cwd=inv.cwd, capture_output=True, text=True)
        print(f"wall {time.perf_counter() - start:.2f}s rc={done.returncode}; profile: {out}")
        if args.tool in ("breakdown", "gc"):
            out.write_text(done.stderr)
            print(done.stderr)
        if args.tool == "switches":
            text = switches.main_report(data)
            out.write_text(text + "\n")
            print(text)
            data.unlink(missing_ok=True)  # perf may have failed to start (rc above)
        errors = verify(targets, "runbook", cert)
        print("verify:", "ok" if not errors else errors[:3])
    finally:
        pool.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0 if os.path.exists(out) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

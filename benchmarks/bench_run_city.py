"""Benchmark: `python -m analysis run --per-unit` on the bank at a city branch's volume.

Writes the folder once (``python -m analysis generate --scale city --out DIR/raw``, reused while its
README.md says the same seed), then times the whole run as one process tree: clean, every notebook,
the overview and the 25 unit pages. Wall time from start to exit; peak memory is the summed resident
set of the process and all its descendants (``bench_clean.run``). The issue's aim: within 5 minutes
on 2 cores, peak RSS under 4 GiB.

    python benchmarks/bench_run_city.py [--dir /tmp/analysis-bench-city] [--small-2015] [--jobs 2]

This is not a unit test: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_clean import ENV, PY, run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", type=Path, default=Path("/tmp/analysis-bench-city"))
    ap.add_argument("--seed", type=int, default=2016)
    ap.add_argument("--small-2015", dest="small_2015", action="store_true", help="2015 at the sample's size (generate --small-2015)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    args = ap.parse_args()
    raw = args.dir / "raw"
    readme = raw / "README.md"
    stamp = f"with seed {args.seed}"
    if not (readme.exists() and stamp in readme.read_text(encoding="utf-8")) or (raw / ".small-2015").exists() != args.small_2015:
        shutil.rmtree(raw, ignore_errors=True)
        t0 = time.perf_counter()
        cmd = [PY, "-m", "analysis", "generate", "--scale", "city", "--out", str(raw), "--seed", str(args.seed)] + (["--small-2015"] if args.small_2015 else [])
        subprocess.run(cmd, env=ENV, check=True)
        if args.small_2015:
            (raw / ".small-2015").touch()
        print(f"generated {raw} in {time.perf_counter() - t0:.0f} s")
    for sub in ("processed", "reports"):
        shutil.rmtree(args.dir / sub, ignore_errors=True)
    print(f"load before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cores")
    wall, rss, cpu = run([PY, "-m", "analysis", "run", "--raw", str(raw), "--processed", str(args.dir / "processed"), "--out", str(args.dir / "reports"),
                          "--per-unit", "--jobs", str(args.jobs)], ENV)
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n| city-scale folder | wall | peak RSS (process tree) | CPU of the main process and its waited-for children |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| run --per-unit{' (2015 small)' if args.small_2015 else ''} | {wall:.0f} s | {rss:,.0f} MiB | {cpu:.0f} s |")


if __name__ == "__main__":
    main()

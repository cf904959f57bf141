"""Benchmark: `python -m analysis run --per-unit` on the bank at a city branch's volume.

Writes the folder once (``python -m analysis generate --scale city --out DIR/raw``, reused while its
README.md says the same seed), then times the whole run as one process tree: clean, every notebook,
the overview and the 25 unit pages. Wall time from start to exit. The process tree (the run, its
worker processes, the notebook kernels) is sampled from /proc every 0.2 s: peak memory as the summed
proportional set size (PSS: a page shared by forked workers counts once, split between them; the
summed RSS, which counts shared pages in every process, is printed beside it), the largest single
process, and CPU seconds (user + system) summed over every process seen. CPU seconds / cores is
what the wall time would be on idle cores if the work were spread evenly: on a shared machine it
is the figure to compare. The run's own lines are printed with the seconds since start, so each
step's time shows. The issue's aim: within 5 minutes on 2 cores, peak memory under 4 GiB.

    python benchmarks/bench_run_city.py [--dir /tmp/analysis-bench-city] [--small-2015] [--jobs 2] [--no-clean]

This is not a unit test: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_clean import ENV, PY, descendants  # noqa: E402  (the benchmarks folder is not a package)

TICK = os.sysconf("SC_CLK_TCK")


def _sample(pid: int) -> tuple[float, int, int, str] | None:
    """CPU seconds, RSS and PSS (KiB) and a short label of one process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICK
        rss = pss = 0
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for ln in fh:
                if ln.startswith("Rss:"):
                    rss = int(ln.split()[1])
                elif ln.startswith("Pss:"):
                    pss = int(ln.split()[1])
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            label = fh.read().replace(b"\0", b" ").decode(errors="replace")[:90]
        return cpu, rss, pss, label
    except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
        return None


def run_tree(cmd: list[str], env: dict) -> dict:
    """Run ``cmd``; print its output lines with the seconds since start; sample its process tree."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    cpu: dict[int, float] = {}
    peak = {"pss": 0, "rss": 0, "one": 0, "one_label": ""}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            pss = rss = 0
            for pid in descendants(p.pid):
                got = _sample(pid)
                if got is None:
                    continue
                c, r, s, label = got
                cpu[pid] = max(cpu.get(pid, 0.0), c)
                pss, rss = pss + s, rss + r
                if r > peak["one"]:
                    peak["one"], peak["one_label"] = r, label
            peak["pss"], peak["rss"] = max(peak["pss"], pss), max(peak["rss"], rss)
            stop.wait(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    tail = []
    for line in p.stdout:
        tail = (tail + [line])[-40:]
        print(f"  [{time.perf_counter() - t0:6.0f} s] {line.rstrip()}", flush=True)
    code = p.wait()
    wall = time.perf_counter() - t0
    stop.set()
    th.join()
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{''.join(tail)}")
    return {"wall": wall, "cpu": sum(cpu.values()), "processes": len(cpu), **peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", type=Path, default=Path("/tmp/analysis-bench-city"))
    ap.add_argument("--seed", type=int, default=2016)
    ap.add_argument("--small-2015", dest="small_2015", action="store_true", help="2015 at the sample's size (generate --small-2015)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--no-clean", dest="no_clean", action="store_true", help="keep DIR/processed from the last run and time only the notebooks and pages (run --no-clean)")
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
    for sub in ("reports",) if args.no_clean else ("processed", "reports"):
        shutil.rmtree(args.dir / sub, ignore_errors=True)
    print(f"load before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cores")
    res = run_tree([PY, "-m", "analysis", "run", "--raw", str(raw), "--processed", str(args.dir / "processed"), "--out", str(args.dir / "reports"),
                    "--per-unit", "--jobs", str(args.jobs)] + (["--no-clean"] if args.no_clean else []), ENV)
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    cores = os.cpu_count()
    print(f"\n| city-scale folder | wall | CPU (all {res['processes']} processes) | CPU / {cores} cores | peak PSS (tree) | peak RSS (tree, shared pages counted per process) | largest process |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| run --per-unit{' --no-clean' if args.no_clean else ''}{' (2015 small)' if args.small_2015 else ''} | {res['wall']:.0f} s | {res['cpu']:.0f} s | {res['cpu'] / cores:.0f} s | "
          f"{res['pss'] / 1024:,.0f} MiB | {res['rss'] / 1024:,.0f} MiB | {res['one'] / 1024:,.0f} MiB |")
    print(f"largest process: {res['one_label']}")


if __name__ == "__main__":
    main()

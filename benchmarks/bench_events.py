"""Benchmark: `python -m analysis calls` on 10 million call records against plain pandas and bare DuckDB.

Each contender runs as its own process, timed wall-clock from start to exit, with its peak memory
(max resident set size) taken from the operating system for that child alone (``os.wait4``):

  analysis   python -m analysis calls --input DIR --out OUT.csv          (Ibis on DuckDB, the product)
  pandas     python benchmarks/pandas_calls.py DIR OUT.csv                (the same table, plain pandas)
  duckdb     python benchmarks/bench_events.py --bare-duckdb DIR OUT.csv  (one hand-written SQL query)

The three tables are compared (same rows, same numbers) before any figure is printed. With
``--huge`` it also generates 100 million records, runs the command out-of-core with a 1 GB DuckDB
memory limit, and deletes the files afterwards.

    python benchmarks/bench_events.py [--dir /tmp/analysis-bench] [--rows 10000000] [--repeat 5] [--huge]

This is not a unit test: run it on a quiet machine and paste its Markdown table into the README.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

BARE_SQL = """
WITH c AS (
  SELECT center, arrived_at,
         floor(epoch(answered_at)) - floor(epoch(arrived_at)) AS ans,
         floor(epoch(abandoned_at)) - floor(epoch(arrived_at)) AS ab,
         answered_at IS NOT NULL AS is_ans,
         answered_at IS NULL AND abandoned_at IS NOT NULL AS is_ab
  FROM read_parquet('{src}/*.parquet')
), ok AS (
  SELECT * FROM c WHERE center IS NOT NULL AND arrived_at IS NOT NULL AND coalesce(ans, 0) >= -60 AND coalesce(ab, 0) >= -60
)
SELECT center, arrived_at::DATE AS date,
       count(*) AS offered,
       count(*) FILTER (is_ans) AS answered,
       count(*) FILTER (is_ans AND greatest(ans, 0) <= 20) AS answered_in_threshold,
       count(*) FILTER (is_ab) AS abandoned,
       count(*) FILTER (is_ans) / count(*) AS answer_rate,
       count(*) FILTER (is_ans AND greatest(ans, 0) <= 20) / count(*) AS service_level,
       sum(greatest(ans, 0)) FILTER (is_ans) / count(*) FILTER (is_ans) AS mean_wait_answered
FROM ok GROUP BY ALL ORDER BY ALL
"""


def bare_duckdb(src: str, out: str) -> None:
    import duckdb

    duckdb.sql(BARE_SQL.format(src=src)).df().to_csv(out, index=False, date_format="%Y-%m-%d")


def run(cmd: list[str], env: dict | None = None) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MiB) and CPU seconds (user + system) of one child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env or ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode not in (0,):
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{err}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # ru_maxrss: KiB on Linux


def measure(name: str, cmd: list[str], repeat: int, env: dict | None = None) -> dict:
    return measure_all({name: cmd}, repeat, env)[0]


def measure_all(cmds: dict[str, list[str]], repeat: int, env: dict | None = None) -> list[dict]:
    """Run the contenders in turn, ``repeat`` rounds (interleaved, so that a burst of load from
    other processes hits all of them alike); report the best and the median wall time."""
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cmds}
    for _ in range(repeat):
        for name, cmd in cmds.items():
            runs[name].append(run(cmd, env))
    results = []
    for name, cmd in cmds.items():
        walls = [w for w, _, _ in runs[name]]
        cpu = [c for _, _, c in runs[name]]
        r = {"name": name, "best": min(walls), "median": statistics.median(walls), "rss": max(m for _, m, _ in runs[name]), "cpu": min(cpu), "cmd": " ".join(cmd), "walls": walls}
        print(f"  {name:<9} best {r['best']:6.2f} s  median {r['median']:6.2f} s  CPU {r['cpu']:6.2f} s  peak RSS {r['rss']:7.0f} MiB  ({' '.join(f'{w:.2f}' for w in walls)})", flush=True)
        results.append(r)
    return results


def same_tables(a: Path, b: Path, columns: list[str]) -> None:
    import pandas as pd

    x = pd.read_csv(a, encoding="utf-8-sig")[columns]
    y = pd.read_csv(b, encoding="utf-8-sig")[columns]
    pd.testing.assert_frame_equal(x, y, check_exact=False, rtol=1e-12, check_dtype=False)


def generate(folder: Path, rows: int) -> None:
    if folder.exists() and sum(1 for _ in folder.glob("part-*.parquet")) == -(-rows // 1_000_000):
        print(f"using {rows:,} records already in {folder}")
        return
    t0 = time.perf_counter()
    subprocess.run([PY, "-m", "analysis", "generate", "--scale", "large", "--out", str(folder), "--rows", str(rows)], env=ENV, check=True)
    size = sum(p.stat().st_size for p in folder.glob("*.parquet")) / 2**20
    print(f"generated {rows:,} records in {time.perf_counter() - t0:.1f} s ({size:,.0f} MiB of Parquet)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", type=Path, default=Path("/tmp/analysis-bench"))
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--huge", action="store_true", help="also run on 100 million records out-of-core (then delete them)")
    ap.add_argument("--bare-duckdb", nargs=2, metavar=("DIR", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.bare_duckdb:
        bare_duckdb(*args.bare_duckdb)
        return

    args.dir.mkdir(parents=True, exist_ok=True)
    data = args.dir / f"calls_{args.rows // 1_000_000}m"
    generate(data, args.rows)
    print(f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min), {os.cpu_count()} cores")
    out = {k: args.dir / f"out_{k}.csv" for k in ("analysis", "pandas", "duckdb")}
    results = measure_all(
        {
            "analysis": [PY, "-m", "analysis", "calls", "--input", str(data), "--out", str(out["analysis"])],
            "pandas": [PY, str(ROOT / "benchmarks" / "pandas_calls.py"), str(data), str(out["pandas"])],
            "duckdb": [PY, __file__, "--bare-duckdb", str(data), str(out["duckdb"])],
        },
        args.repeat,
    )
    core = ["center", "date", "offered", "answered", "answered_in_threshold", "abandoned", "answer_rate", "service_level", "mean_wait_answered"]
    same_tables(out["analysis"], out["pandas"], core + ["skew_clamped", "unresolved"])
    same_tables(out["analysis"], out["duckdb"], core)
    print("the three tables agree")
    load = os.getloadavg()
    a, p, d = results
    print(f"\n| {args.rows:,} call records | wall, best of {args.repeat} | wall, median | CPU (user+sys), least | peak RSS |")
    print("| --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['name']} | {r['best']:.2f} s | {r['median']:.2f} s | {r['cpu']:.2f} s | {r['rss']:,.0f} MiB |")
    print(
        f"\nanalysis against pandas: {p['best'] / a['best']:.1f}x faster (best), {p['median'] / a['median']:.1f}x (median); "
        f"against bare DuckDB SQL: {a['best'] - d['best']:+.2f} s ({a['best'] / d['best']:.2f}x, best)"
    )
    print(f"load after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")

    if args.huge:
        huge = args.dir / "calls_100m"
        free = shutil.disk_usage(args.dir).free / 2**30
        if free < 10:
            raise SystemExit(f"--huge needs about 3 GiB for the files and DuckDB's spill; only {free:.0f} GiB free in {args.dir}")
        try:
            generate(huge, 100_000_000)
            env = {**ENV, "ANALYSIS_DUCKDB_MEMORY_LIMIT": "1GB", "ANALYSIS_DUCKDB_TEMP_DIR": str(args.dir / "duckdb_tmp")}
            h = measure("100M", [PY, "-m", "analysis", "calls", "--input", str(huge), "--out", str(args.dir / "out_100m.csv")], 1, env)
            print(f"\n100,000,000 records: {h['best']:.1f} s, peak RSS {h['rss']:,.0f} MiB (memory_limit 1GB); load {os.getloadavg()[0]:.2f}")
        finally:
            shutil.rmtree(huge, ignore_errors=True)
            shutil.rmtree(args.dir / "duckdb_tmp", ignore_errors=True)
            print(f"deleted {huge}")


if __name__ == "__main__":
    main()

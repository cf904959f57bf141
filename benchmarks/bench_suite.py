"""Time the report suite two ways on the same notebooks and data, side by side.

naive   python -m analysis clean, then for each notebook, one after another:
        the papermill CLI (execute) and the `jupyter nbconvert --to html` CLI (export)
suite   python -m analysis run --jobs N  (clean, then one process: a pool of N workers that each
        execute and export with papermill's and nbconvert's Python APIs)

Both start from the same raw data and write into fresh temporary folders. Prints a table and writes
the figures to benchmarks/results/bench_suite.json.

    PYTHONPATH=src python benchmarks/bench_suite.py            # or: make bench
    PYTHONPATH=src python benchmarks/bench_suite.py --jobs 2 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from analysis import config  # noqa: E402
from analysis.report.runner import discover, read_info, select_parameters  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "bench_suite.json"


def _tool(name: str) -> list[str]:
    """A console script of this Python's environment (papermill, jupyter)."""
    script = Path(sys.executable).parent / name
    return [str(script)] if script.exists() else [sys.executable, "-m", name]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _timed(cmd: list[str]) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True)
    return time.perf_counter() - t0, proc.returncode, (proc.stderr or "")[-2000:]


def naive(notebooks: list[Path], raw: Path, work: Path, period: str) -> dict:
    processed, reports, executed = work / "processed", work / "reports", work / "executed"
    for d in (reports, executed):
        d.mkdir(parents=True)
    steps, failures = [], []
    t, rc, err = _timed([sys.executable, "-m", "analysis", "clean", "--raw", str(raw), "--out", str(processed)])
    steps.append({"step": "clean (python -m analysis clean)", "seconds": t})
    if rc:
        raise SystemExit(f"clean failed:\n{err}")
    offered = {"period": period, "processed_dir": str(processed), "reports_dir": str(reports)}
    for nb in notebooks:
        params = select_parameters(read_info(nb), offered)
        out = executed / nb.name
        cmd = [*_tool("papermill"), str(nb), str(out), "-k", config.KERNEL_NAME, "--no-progress-bar"]
        for k, v in params.items():
            cmd += ["-p", k, str(v)]
        t, rc, err = _timed(cmd)
        steps.append({"step": f"{nb.stem}: papermill CLI", "seconds": t})
        if rc:
            failures.append(f"{nb.stem} papermill: {err.strip().splitlines()[-1] if err.strip() else rc}")
        t, rc, err = _timed([*_tool("jupyter"), "nbconvert", "--to", "html", "--no-input", str(out), "--output-dir", str(reports)])
        steps.append({"step": f"{nb.stem}: nbconvert CLI", "seconds": t})
        if rc:
            failures.append(f"{nb.stem} nbconvert: {err.strip().splitlines()[-1] if err.strip() else rc}")
    return {"seconds": sum(s["seconds"] for s in steps), "steps": steps, "failures": failures}


def suite(notebooks_dir: Path, raw: Path, work: Path, period: str, jobs: int) -> dict:
    cmd = [sys.executable, "-m", "analysis", "run", "--raw", str(raw), "--processed", str(work / "processed"), "--out", str(work / "reports"), "--notebooks", str(notebooks_dir), "--period", period, "--jobs", str(jobs)]
    t, rc, err = _timed(cmd)
    return {"seconds": t, "exit_code": rc, "command": " ".join(["python", *cmd[1:]])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--notebooks", type=Path, default=config.NOTEBOOKS_DIR)
    ap.add_argument("--raw", type=Path, default=config.RAW_DIR)
    ap.add_argument("--period", default=config.DEFAULT_PERIOD)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="workers for the suite (default: CPU count)")
    ap.add_argument("--repeat", type=int, default=1, help="run both ways this many times; the median counts")
    ap.add_argument("--out", type=Path, default=RESULTS, help="where the figures go (JSON)")
    args = ap.parse_args(argv)

    notebooks = discover(args.notebooks)
    if not notebooks:
        raise SystemExit(f"no notebooks in {args.notebooks}")
    print(f"{len(notebooks)} notebook(s) from {args.notebooks}, raw data {args.raw}, {args.jobs} worker(s), {os.cpu_count()} CPU(s)", flush=True)
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    runs = []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="bench-naive-") as a, tempfile.TemporaryDirectory(prefix="bench-suite-") as b:
            # Alternate the order so neither way always profits from a warm file cache.
            if i % 2 == 0:
                n = naive(notebooks, args.raw, Path(a), args.period)
                s = suite(args.notebooks, args.raw, Path(b), args.period, args.jobs)
            else:
                s = suite(args.notebooks, args.raw, Path(b), args.period, args.jobs)
                n = naive(notebooks, args.raw, Path(a), args.period)
        runs.append({"naive": n, "suite": s, "load_average_after": [round(x, 2) for x in os.getloadavg()]})
        print(f"run {i + 1}: naive {n['seconds']:.1f} s, suite {s['seconds']:.1f} s  (load average {os.getloadavg()[0]:.1f})", flush=True)

    naive_s = statistics.median(r["naive"]["seconds"] for r in runs)
    suite_s = statistics.median(r["suite"]["seconds"] for r in runs)
    speedup = naive_s / suite_s
    last = runs[-1]["naive"]["steps"]
    width = max(len(s["step"]) for s in last) + 2
    print()
    print(f"{'step (last run)':<{width}}{'naive':>10}{'suite':>10}")
    for s in last:
        print(f"{s['step']:<{width}}{s['seconds']:>9.1f}s{'':>10}")
    print(f"{'python -m analysis run --jobs ' + str(args.jobs):<{width}}{'':>10}{runs[-1]['suite']['seconds']:>9.1f}s")
    print("-" * (width + 20))
    print(f"{'total (median of ' + str(args.repeat) + ')':<{width}}{naive_s:>9.1f}s{suite_s:>9.1f}s")
    print(f"{'speed-up':<{width}}{speedup:>19.1f}x")
    failures = [f for r in runs for f in r["naive"]["failures"]]
    bad_suite = [r["suite"]["exit_code"] for r in runs if r["suite"]["exit_code"]]
    if failures or bad_suite:
        print(f"warning: failures during the benchmark: naive {failures}, suite exit codes {bad_suite}", file=sys.stderr)

    figures = {
        "measured": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "PYTHONPATH=src python benchmarks/bench_suite.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        # Other work on the machine competes for the CPUs: the load average says how much there was.
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(), "load_average_at_start": load_at_start},
        "notebooks": [p.name for p in notebooks],
        "jobs": args.jobs,
        "repeat": args.repeat,
        "naive_seconds": round(naive_s, 2),
        "suite_seconds": round(suite_s, 2),
        "speedup": round(speedup, 2),
        "runs": [
            {"naive": {**r["naive"], "seconds": round(r["naive"]["seconds"], 2), "steps": [{**s, "seconds": round(s["seconds"], 2)} for s in r["naive"]["steps"]]},
             "suite": {**r["suite"], "seconds": round(r["suite"]["seconds"], 2)}, "load_average_after": r["load_average_after"]}
            for r in runs
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"\nfigures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

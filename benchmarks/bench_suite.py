"""Time the report suite against the naive way, on the same notebooks and data, side by side.

naive     python -m analysis clean, then for each notebook, one after another: the papermill CLI
          (execute) and the `jupyter nbconvert --to html --no-input` CLI (export)
one       python -m analysis run --jobs 1   (one process: executes and exports every notebook)
suite     python -m analysis run --jobs N   (the same with a pool of N workers; N = CPUs)

Each way starts from the raw data and writes into fresh temporary folders. Wall-clock time depends
on what else the machine is doing, so CPU time (user + system, every process of the way included)
is measured too: it is the work each way does. Prints a table and writes the figures to
benchmarks/results/bench_suite.json.

    PYTHONPATH=src python benchmarks/bench_suite.py            # or: make bench
    PYTHONPATH=src python benchmarks/bench_suite.py --jobs 2 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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


def _subreaper() -> bool:
    """Adopt orphaned descendants (Linux), so the CPU time of the suite's forkserver and its workers,
    which outlive the main process by a moment, is counted with the suite."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _reap() -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed(cmd: list[str]) -> tuple[float, int, str, float]:
    """Wall seconds, exit code, end of stderr, CPU seconds of the command and its descendants."""
    c0, t0 = _cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    _reap()
    return wall, proc.returncode, (proc.stderr or "")[-2000:], _cpu() - c0


def naive(notebooks: list[Path], raw: Path, work: Path, period: str) -> dict:
    processed, reports, executed = work / "processed", work / "reports", work / "executed"
    for d in (reports, executed):
        d.mkdir(parents=True)
    steps, failures = [], []
    t, rc, err, cpu = _timed([sys.executable, "-m", "analysis", "clean", "--raw", str(raw), "--out", str(processed)])
    steps.append({"step": "clean (python -m analysis clean)", "seconds": t, "cpu": cpu})
    if rc:
        raise SystemExit(f"clean failed:\n{err}")
    offered = {"period": period, "processed_dir": str(processed), "reports_dir": str(reports)}
    for nb in notebooks:
        params = select_parameters(read_info(nb), offered)
        out = executed / nb.name
        cmd = [*_tool("papermill"), str(nb), str(out), "-k", config.KERNEL_NAME, "--no-progress-bar"]
        for k, v in params.items():
            cmd += ["-p", k, str(v)]
        t, rc, err, cpu = _timed(cmd)
        steps.append({"step": f"{nb.stem}: papermill CLI", "seconds": t, "cpu": cpu})
        if rc:
            failures.append(f"{nb.stem} papermill: {err.strip().splitlines()[-1] if err.strip() else rc}")
        t, rc, err, cpu = _timed([*_tool("jupyter"), "nbconvert", "--to", "html", "--no-input", str(out), "--output-dir", str(reports)])
        steps.append({"step": f"{nb.stem}: nbconvert CLI", "seconds": t, "cpu": cpu})
        if rc:
            failures.append(f"{nb.stem} nbconvert: {err.strip().splitlines()[-1] if err.strip() else rc}")
    return {"seconds": sum(s["seconds"] for s in steps), "cpu": sum(s["cpu"] for s in steps), "steps": steps, "failures": failures}


def suite(notebooks_dir: Path, raw: Path, work: Path, period: str, jobs: int) -> dict:
    cmd = [sys.executable, "-m", "analysis", "run", "--raw", str(raw), "--processed", str(work / "processed"), "--out", str(work / "reports"), "--notebooks", str(notebooks_dir), "--period", period, "--jobs", str(jobs), "--no-overview"]
    # --no-overview: the same work as the naive way (the notebooks and their pages); the campaign
    # overview and the unit pages are measured by benchmarks/bench_units.py.
    t, rc, err, cpu = _timed(cmd)
    return {"seconds": t, "cpu": cpu, "exit_code": rc, "command": " ".join(["python", *cmd[1:]])}


def _r(x: float) -> float:
    return round(x, 2)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--notebooks", type=Path, default=config.NOTEBOOKS_DIR)
    ap.add_argument("--raw", type=Path, default=config.RAW_DIR)
    ap.add_argument("--period", default=config.DEFAULT_PERIOD)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="workers for the suite (default: CPU count)")
    ap.add_argument("--repeat", type=int, default=1, help="run every way this many times; the median counts")
    ap.add_argument("--out", type=Path, default=RESULTS, help="where the figures go (JSON)")
    args = ap.parse_args(argv)

    notebooks = discover(args.notebooks)
    if not notebooks:
        raise SystemExit(f"no notebooks in {args.notebooks}")
    counted = _subreaper()
    print(f"{len(notebooks)} notebook(s) from {args.notebooks}, raw data {args.raw}, {os.cpu_count()} CPU(s)", flush=True)
    load_at_start = [_r(x) for x in os.getloadavg()]
    ways = {
        "naive": lambda work: naive(notebooks, args.raw, work, args.period),
        "one": lambda work: suite(args.notebooks, args.raw, work, args.period, 1),
        "suite": lambda work: suite(args.notebooks, args.raw, work, args.period, args.jobs),
    }
    runs = []
    for i in range(args.repeat):
        run = {}
        # Rotate the order so no way always profits from a warm file cache or a quiet moment.
        order = list(ways)[i % 3:] + list(ways)[: i % 3]
        for name in order:
            with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as work:
                run[name] = ways[name](Path(work))
        run["load_average_after"] = [_r(x) for x in os.getloadavg()]
        runs.append(run)
        print(f"run {i + 1}: naive {run['naive']['seconds']:.1f} s, one process {run['one']['seconds']:.1f} s, "
              f"suite --jobs {args.jobs} {run['suite']['seconds']:.1f} s  (load average {os.getloadavg()[0]:.1f})", flush=True)

    med = {w: {k: statistics.median(r[w][k] for r in runs) for k in ("seconds", "cpu")} for w in ways}
    last = runs[-1]["naive"]["steps"]
    width = max(len(st["step"]) for st in last) + 2
    print()
    print(f"{'naive steps (last run)':<{width}}{'wall':>9}{'CPU':>9}")
    for st in last:
        print(f"{st['step']:<{width}}{st['seconds']:>8.1f}s{st['cpu']:>8.1f}s")
    print()
    print(f"{'way (median of ' + str(args.repeat) + ')':<{width}}{'wall':>9}{'CPU':>9}{'speed-up':>10}")
    labels = {"naive": "naive (clean + papermill CLI + nbconvert CLI)", "one": "python -m analysis run --jobs 1", "suite": f"python -m analysis run --jobs {args.jobs}"}
    for w in ways:
        cpu = f"{med[w]['cpu']:>8.1f}s" if counted or w != "suite" else f"{'n/a':>9}"
        print(f"{labels[w]:<{width}}{med[w]['seconds']:>8.1f}s{cpu}{med['naive']['seconds'] / med[w]['seconds']:>9.1f}x")
    failures = [f for r in runs for f in r["naive"]["failures"]]
    bad = [r[w]["exit_code"] for r in runs for w in ("one", "suite") if r[w]["exit_code"]]
    if failures or bad:
        print(f"warning: failures during the benchmark: naive {failures}, suite exit codes {bad}", file=sys.stderr)

    figures = {
        "measured": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "PYTHONPATH=src python benchmarks/bench_suite.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        # Other work on the machine competes for the CPUs: the load average says how much there was.
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(), "load_average_at_start": load_at_start},
        "notebooks": [p.name for p in notebooks],
        "jobs": args.jobs,
        "repeat": args.repeat,
        "median": {w: {"wall_seconds": _r(med[w]["seconds"]), "cpu_seconds": _r(med[w]["cpu"]), "speedup": _r(med["naive"]["seconds"] / med[w]["seconds"])} for w in ways},
        "cpu_counted_for_pool": counted,
        "runs": [
            {
                **{w: {**r[w], "seconds": _r(r[w]["seconds"]), "cpu": _r(r[w]["cpu"]),
                       **({"steps": [{**st, "seconds": _r(st["seconds"]), "cpu": _r(st["cpu"])} for st in r[w]["steps"]]} if "steps" in r[w] else {})}
                   for w in ways},
                "load_average_after": r["load_average_after"],
            }
            for r in runs
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"\nfigures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

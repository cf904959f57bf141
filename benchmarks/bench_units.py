"""What the campaign overview and the unit pages cost: the report suite timed three ways on the
same clean tables, interleaved (so a change in the machine's load hits every variant alike).

no-overview   python -m analysis run --no-clean --no-overview         the notebooks only
suite         python -m analysis run --no-clean                       + the overview (make report before --per-unit)
per-unit      python -m analysis run --no-clean --per-unit            + one page per unit (make report now)

Every run starts with a cold cache of the shared figures (``<processed>/derived`` removed), as a
scheduled run on new data does. The clean step is left out (the same for all three; see the
suite's own benchmark). Prints a table and writes benchmarks/results/bench_units.json.

    PYTHONPATH=src python benchmarks/bench_units.py --jobs 2 --repeat 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
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

RESULTS = ROOT / "benchmarks" / "results" / "bench_units.json"
VARIANTS = {"no-overview": ["--no-overview"], "suite": [], "per-unit": ["--per-unit"]}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])])
    return env


def run_once(variant: str, processed: Path, work: Path, jobs: int, period: str) -> dict:
    shutil.rmtree(processed / "derived", ignore_errors=True)  # a cold cache
    out = work / f"reports-{variant}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "analysis", "run", "--no-clean", "--processed", str(processed), "--out", str(out), "--jobs", str(jobs),
           "--period", period, *VARIANTS[variant]]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {"variant": variant, "seconds": round(seconds, 2), "load_before": load, "pages": len(manifest["reports"]) + len(manifest.get("units", [])),
            "shared_seconds": (manifest.get("overview") or {}).get("seconds")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--period", default=config.DEFAULT_PERIOD)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-units-") as tmp:
        work = Path(tmp)
        processed = work / "processed"
        print(f"clean: {config.RAW_DIR} -> {processed}", flush=True)
        subprocess.run([sys.executable, "-m", "analysis", "clean", "--out", str(processed)], cwd=ROOT, env=_env(), check=True, capture_output=True)
        runs = []
        for i in range(args.repeat):
            for variant in VARIANTS:
                r = run_once(variant, processed, work, args.jobs, args.period)
                r["round"] = i + 1
                runs.append(r)
                print(f"round {i + 1}  {variant:<12} {r['seconds']:7.1f} s  {r['pages']:3d} pages  load {r['load_before']:.2f}", flush=True)
    summary = {}
    for variant in VARIANTS:
        s = [r["seconds"] for r in runs if r["variant"] == variant]
        summary[variant] = {"best": min(s), "median": statistics.median(s), "runs": s}
    base = summary["suite"]["best"]
    print(f"\n{'variant':<12} {'best':>8} {'median':>8}  vs suite")
    for variant, v in summary.items():
        print(f"{variant:<12} {v['best']:7.1f}s {v['median']:7.1f}s  {v['best'] - base:+.1f} s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "when": datetime.now().astimezone().isoformat(timespec="seconds"), "jobs": args.jobs, "period": args.period,
        "cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform(),
        "summary": summary, "runs": runs,
    }, indent=1), encoding="utf-8")
    print(f"\nwritten: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

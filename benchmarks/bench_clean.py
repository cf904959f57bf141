"""Benchmark: `python -m analysis clean` on one big GB18030 queue-ticket export against a bare DuckDB ingest.

For each size (1 M and 10 M tickets by default; 100 M with ``--huge``) the input is one GB18030 CSV
written by :func:`analysis.volume.write_bench_queue` (alias headers 流水号/网点号/业务类别/取票时间/叫号时间,
compact times ``20160305 090229``, every kind of planted defect, the last record cut off) beside
机构信息.xlsx (the outlets the ids are checked against) and ``planted_defects.csv``. Two contenders run
side by side, each as a whole process, interleaved ``--repeat`` times:

  clean  python -m analysis clean --raw DIR --out OUT --only queue_tickets        (the product)
  bare   python benchmarks/bench_clean.py --bare DIR OUT [--memory-limit 2GB]      (hand-written DuckDB)

The bare contender streams the file through Python's incremental GB18030 decoder into a UTF-8 copy
(16 MiB at a time), reads it with ``read_csv(all_varchar)`` (malformed records into DuckDB's reject
table), runs the same checks in one SQL query (compact timestamps via ``try_strptime``, required
cells, business-type labels (an unknown one kept as unmapped), outlet ids in the outlets table, called_at not before issued_at by more
than 60 s, exact duplicates, repeated ticket ids, 合计 rows), writes the clean rows to Parquet and the
rejected rows (file, line, reason, original cells) to CSV. Line numbers assume no quoted newlines (true
of these files), DuckDB's insertion order (``row_number() OVER ()``) and malformed records only at the
end (a truncated export): DuckDB's own line numbers for rejected CSV records were one too high at 10 M
records, so the baseline counts them after the last good record.

Wall time is taken from start to exit; peak memory is the peak of the summed resident set of the
process and all its descendants (sampled every 20 ms from /proc), and never below the child's own
``ru_maxrss`` (``os.wait4``). Before any figure is printed both contenders' rejected rows are checked
against ``planted_defects.csv`` (every planted defect rejected with its reason, nothing else) and
``rows in = clean + rejected``. ``--memory-limit`` sets DuckDB's limit for both contenders
(``ANALYSIS_DUCKDB_MEMORY_LIMIT`` for the product); the 100 M case always runs with 2 GB.

    python benchmarks/bench_clean.py [--dir /tmp/analysis-bench-clean] [--sizes 1000000,10000000] [--repeat 3] [--huge]
    python benchmarks/bench_clean.py --sizes 1000000 --repeat 1            # today's pandas clean: 1 M only
    python benchmarks/bench_clean.py --rows 10000000 --generate-only        # just write the input

This is not a unit test: run it on a quiet machine and paste its Markdown table into the README.
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
QUEUE_FILE = "排队叫号_bench.csv"
CHUNK_BYTES = 16 * 2**20

# Labels the queue_tickets source accepts (sources/queue_tickets.yaml) -> canonical code.
BUSINESS_TYPES = {"高柜": "high_counter", "对私高柜": "high_counter", "现金业务": "high_counter", "低柜": "low_counter", "对私低柜": "low_counter",
                  "非现金业务": "low_counter", "贵宾": "vip", "贵宾业务": "vip", "vip": "vip", "high_counter": "high_counter", "low_counter": "low_counter"}

BARE_SQL = """
CREATE TEMP TABLE raw AS
SELECT row_number() OVER () + 1 AS line, *
FROM read_csv('{src}', all_varchar = true, header = true, auto_detect = false, delim = ',', quote = '"',
              columns = {{'ticket_id': 'VARCHAR', 'outlet_id': 'VARCHAR', 'business_type': 'VARCHAR', 'issued_at': 'VARCHAR', 'called_at': 'VARCHAR'}},
              store_rejects = true, rejects_scan = 'scan', rejects_table = 'malformed');

-- every row typed and checked; the original cells stay in raw (only rejected rows go back to them)
CREATE TEMP TABLE p AS
WITH t AS (
  SELECT line, hash(ticket_id, outlet_id, business_type, issued_at, called_at) AS h,
         nullif(trim(ticket_id), '') AS k, nullif(trim(outlet_id), '') AS o, nullif(trim(business_type), '') AS b,
         nullif(trim(issued_at), '') AS i, nullif(trim(called_at), '') AS c
  FROM raw
), q AS (
  SELECT t.*, try_strptime(i, '%Y%m%d %H%M%S') AS issued, try_strptime(c, '%Y%m%d %H%M%S') AS called, bt.code AS btype,
         lower(coalesce(k, '') || ' ' || coalesce(o, '')) AS ko
  FROM t LEFT JOIN bt ON lower(t.b) = bt.label
)
SELECT line, h, k, o, btype, issued, called,
  CASE WHEN contains(ko, '合计') OR contains(ko, '总计') OR contains(ko, '小计') OR contains(ko, 'total') THEN 'summary row (合计), not a record' ELSE
  nullif(concat_ws('; ',
    CASE WHEN k IS NULL THEN 'ticket_id (票号流水): empty, but required' END,
    CASE WHEN o IS NULL THEN 'outlet_id (网点编号): empty, but required' END,
    CASE WHEN b IS NULL THEN 'business_type (业务类型): empty, but required' END,
    CASE WHEN i IS NULL THEN 'issued_at (取号时间): empty, but required'
         WHEN issued IS NULL THEN 'issued_at (取号时间): not a date: ' || i END,
    CASE WHEN c IS NOT NULL AND called IS NULL THEN 'called_at (叫号时间): not a date: ' || c END,
    CASE WHEN epoch(issued) - epoch(called) > 60 THEN 'called_at (叫号时间) is before issued_at by more than 60 s: impossible' END,
    CASE WHEN o IS NOT NULL AND o NOT IN (SELECT outlet_id FROM outlets) THEN 'outlet_id (网点编号): ' || o || ' is not in outlets.outlet_id (unknown unit)' END
  ), '') END AS reason
FROM q;

-- exact duplicates among the rows that pass (every original cell equal; candidates by hash, then the cells compared): the first stays
CREATE TEMP TABLE rej AS
WITH cand AS (
  SELECT raw.* FROM p JOIN (SELECT h FROM p WHERE reason IS NULL GROUP BY h HAVING count(*) > 1) g ON p.h = g.h
  JOIN raw ON raw.line = p.line WHERE p.reason IS NULL
), dup AS (
  SELECT line, min(line) OVER (PARTITION BY ticket_id, outlet_id, business_type, issued_at, called_at) AS first_line FROM cand
)
SELECT line, reason FROM p WHERE reason IS NOT NULL
UNION ALL SELECT line, 'duplicate of line ' || first_line FROM dup WHERE line <> first_line;
INSERT INTO rej
WITH rest AS (SELECT line, k FROM p WHERE reason IS NULL AND line NOT IN (SELECT line FROM rej)),
     kg AS (SELECT k, min(line) AS first_key_line FROM rest GROUP BY k HAVING count(*) > 1)
SELECT line, 'repeats the key (ticket_id=' || k || ') of line ' || first_key_line || ' with different values' FROM rest JOIN kg USING (k) WHERE line <> first_key_line;

COPY (SELECT '{label}' AS source_file, line AS source_line, k AS ticket_id, o AS outlet_id, coalesce(btype, 'unmapped') AS business_type, issued AS issued_at, called AS called_at
      FROM p WHERE line NOT IN (SELECT line FROM rej)) TO '{out}/queue_tickets.parquet' (FORMAT parquet);
COPY (SELECT '{label}' AS file, line, reason, ticket_id, outlet_id, business_type, issued_at, called_at FROM rej JOIN raw USING (line)
      UNION ALL SELECT '{label}', (SELECT count(*) FROM raw) + 1 + row_number() OVER (ORDER BY line), 'record has too few fields (the file looks cut off): ' || csv_line,
                       NULL, NULL, NULL, NULL, NULL FROM malformed
      ORDER BY line) TO '{out}/rejected_queue_tickets.csv' (HEADER, DELIMITER ',');
"""


def _outlet_ids(raw: Path) -> list[str]:
    """The outlet ids in 机构信息.xlsx (first column under the header row with 网点编号)."""
    from openpyxl import load_workbook

    wb = load_workbook(raw / "机构信息.xlsx", read_only=True, data_only=True)
    ids, seen_header = [], False
    for row in wb.worksheets[0].iter_rows(values_only=True):
        if not seen_header:
            seen_header = row and row[0] == "网点编号"
            continue
        if row and row[0] is not None:
            ids.append(str(int(row[0])) if isinstance(row[0], (int, float)) else str(row[0]).strip())
    return ids


def transcode(src: Path, dst: Path) -> None:
    """GB18030 -> UTF-8, a chunk at a time (never the whole file in memory)."""
    dec = codecs.getincrementaldecoder("gb18030")()
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        while chunk := fi.read(CHUNK_BYTES):
            fo.write(dec.decode(chunk).encode("utf-8"))
        fo.write(dec.decode(b"", final=True).encode("utf-8"))


def bare(raw: str, out: str, memory_limit: str | None) -> None:
    import duckdb

    raw_p, out_p = Path(raw), Path(out)
    out_p.mkdir(parents=True, exist_ok=True)
    utf8 = out_p / "queue.utf8.csv"
    transcode(raw_p / QUEUE_FILE, utf8)
    con = duckdb.connect()
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{out_p / 'duckdb_tmp'}'")
    con.execute("CREATE TEMP TABLE outlets (outlet_id VARCHAR)")
    con.executemany("INSERT INTO outlets VALUES (?)", [[i] for i in _outlet_ids(raw_p)])
    con.execute("CREATE TEMP TABLE bt (label VARCHAR, code VARCHAR)")
    con.executemany("INSERT INTO bt VALUES (?, ?)", [[k.lower(), v] for k, v in BUSINESS_TYPES.items()])
    con.execute(BARE_SQL.format(src=utf8, out=out_p, label=QUEUE_FILE))
    rows_in, rejected = con.execute("SELECT (SELECT count(*) FROM raw) + (SELECT count(*) FROM malformed), (SELECT count(*) FROM rej) + (SELECT count(*) FROM malformed)").fetchone()
    clean = con.execute(f"SELECT count(*) FROM read_parquet('{out_p / 'queue_tickets.parquet'}')").fetchone()[0]
    (out_p / "report.json").write_text(json.dumps({"rows_in": rows_in, "clean": clean, "rejected": rejected}))
    utf8.unlink()
    shutil.rmtree(out_p / "duckdb_tmp", ignore_errors=True)


# ---------------------------------------------------------------------------------- measuring
def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc; processes gone meanwhile are skipped)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return out


def _tree_rss(pid: int) -> int:
    """Summed VmRSS (KiB) of ``pid`` and its descendants."""
    total = 0
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/status") as fh:
                for ln in fh:
                    if ln.startswith("VmRSS:"):
                        total += int(ln.split()[1])
                        break
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def run(cmd: list[str], env: dict) -> tuple[float, float, float]:
    """Wall seconds, peak RSS of the process tree (MiB) and CPU seconds (user + system, the child and
    the descendants it waited for) of one command."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss(p.pid))
            stop.wait(0.02)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    err = p.stderr.read().decode(errors="replace")  # drains stderr so the child never blocks on it
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    stop.set()
    th.join()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{err[-4000:]}")
    return wall, max(peak[0], usage.ru_maxrss) / 1024, usage.ru_utime + usage.ru_stime


def measure_all(cmds: dict[str, list[str]], repeat: int, env: dict) -> dict[str, dict]:
    """Interleaved rounds (a burst of load from other processes hits both alike); medians and peaks."""
    runs: dict[str, list[tuple[float, float, float]]] = {n: [] for n in cmds}
    for _ in range(repeat):
        for name, cmd in cmds.items():
            runs[name].append(run(cmd, env))
            w, m, c = runs[name][-1]
            print(f"    {name:<6} {w:8.2f} s  peak RSS {m:7.0f} MiB  CPU {c:7.2f} s", flush=True)
    return {n: {"median": statistics.median(w for w, _, _ in r), "best": min(w for w, _, _ in r), "rss": max(m for _, m, _ in r),
                "cpu": statistics.median(c for _, _, c in r), "walls": [w for w, _, _ in r]} for n, r in runs.items()}


# ---------------------------------------------------------------------------------- checking
def check(raw: Path, rejected_csv: Path, rows_in: int, clean: int, rejected: int, who: str) -> None:
    import pandas as pd

    from analysis.volume import check_rejected

    rej = pd.read_csv(rejected_csv, encoding="utf-8-sig", dtype=str, usecols=["file", "line", "reason"]) if rejected_csv.exists() else pd.DataFrame(columns=["file", "line", "reason"])
    problems = check_rejected(raw, rej)
    if rows_in != clean + rejected:
        problems.insert(0, f"rows in {rows_in:,} != clean {clean:,} + rejected {rejected:,}")
    if problems:
        raise SystemExit(f"{who}: {len(problems)} problems, e.g.\n  " + "\n  ".join(problems[:15]))
    print(f"    {who}: {rows_in:,} rows in = {clean:,} clean + {rejected:,} rejected; every planted defect rejected with its reason, nothing else")


def generate(folder: Path, rows: int, seed: int) -> None:
    stamp = folder / ".bench-input.json"
    want = {"rows": rows, "seed": seed}
    if stamp.exists() and json.loads(stamp.read_text()) == want and (folder / QUEUE_FILE).exists():
        print(f"  using {rows:,} tickets already in {folder}")
        return
    sys.path.insert(0, str(ROOT / "src"))
    from analysis.volume import write_bench_queue

    shutil.rmtree(folder, ignore_errors=True)
    res = write_bench_queue(folder, rows, seed)
    stamp.write_text(json.dumps(want))
    size = (folder / QUEUE_FILE).stat().st_size / 2**20
    print(f"  generated {rows:,} tickets ({res.files[0][3]:,} records with the planted rows, {size:,.0f} MiB of GB18030) in {res.seconds:.1f} s")


def bench_size(args, rows: int, memory_limit: str | None, repeat: int) -> dict:
    raw = args.dir / f"queue_{rows}"
    generate(raw, rows, args.seed)
    out_clean, out_bare = args.dir / f"out_clean_{rows}", args.dir / f"out_bare_{rows}"
    env = dict(ENV)
    if memory_limit:
        env["ANALYSIS_DUCKDB_MEMORY_LIMIT"] = memory_limit
        env["ANALYSIS_DUCKDB_TEMP_DIR"] = str(args.dir / "duckdb_tmp")
    cmds = {}
    if not args.bare_only and (args.clean_max_rows is None or rows <= args.clean_max_rows):
        cmds["clean"] = [PY, "-m", "analysis", "clean", "--raw", str(raw), "--out", str(out_clean), "--only", "queue_tickets"]
    cmds["bare"] = [PY, __file__, "--bare", str(raw), str(out_bare)] + (["--memory-limit", memory_limit] if memory_limit else [])
    print(f"  {rows:,} tickets: load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    res = measure_all(cmds, repeat, env)
    sys.path.insert(0, str(ROOT / "src"))
    if "clean" in res:
        rep = json.loads((out_clean / "clean_report.json").read_text(encoding="utf-8"))["queue_tickets"]
        check(raw, out_clean / "rejected" / "queue_tickets.csv", rep["rows_in"], rep["clean"], rep["rejected"], "clean")
    rep = json.loads((out_bare / "report.json").read_text())
    check(raw, out_bare / "rejected_queue_tickets.csv", rep["rows_in"], rep["clean"], rep["rejected"], "bare")
    return {"rows": rows, "memory_limit": memory_limit, "load": os.getloadavg(), **{k: v for k, v in res.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", type=Path, default=Path("/tmp/analysis-bench-clean"))
    ap.add_argument("--sizes", default="1000000,10000000", help="queue tickets per run, comma-separated (default 1 M and 10 M)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=2016)
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory limit for both contenders (e.g. 2GB; default DuckDB's own)")
    ap.add_argument("--huge", action="store_true", help="also 100 M tickets (about 6 GiB), DuckDB limited to 2 GB, once; files deleted afterwards")
    ap.add_argument("--clean-max-rows", type=int, default=None, help="run the clean contender only up to this many tickets")
    ap.add_argument("--bare-only", action="store_true", help="time only the bare DuckDB contender")
    ap.add_argument("--rows", type=int, default=None, help="with --generate-only: write the input for this many tickets")
    ap.add_argument("--generate-only", action="store_true", help="write the input (DIR/queue_ROWS) and stop")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--bare", nargs=2, metavar=("RAW", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.bare:
        bare(*args.bare, args.memory_limit)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.generate_only:
        for rows in [args.rows] if args.rows else sizes:
            generate(args.dir / f"queue_{rows}", rows, args.seed)
        return
    print(f"load before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min), {os.cpu_count()} cores")
    results = [bench_size(args, rows, args.memory_limit, args.repeat) for rows in sizes]
    if args.huge:
        free = shutil.disk_usage(args.dir).free / 2**30
        if free < 20:
            raise SystemExit(f"--huge needs about 15 GiB (the file, its UTF-8 copy, DuckDB's spill); only {free:.0f} GiB free in {args.dir}")
        try:
            results.append(bench_size(args, 100_000_000, "2GB", 1))
        finally:
            for p in args.dir.glob("*_100000000"):
                shutil.rmtree(p, ignore_errors=True)
            shutil.rmtree(args.dir / "duckdb_tmp", ignore_errors=True)
    print(f"\nload after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| queue tickets | clean, median | bare DuckDB, median | ratio | clean peak RSS | bare peak RSS |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        c, b = r.get("clean"), r["bare"]
        limit = f" (DuckDB {r['memory_limit']})" if r["memory_limit"] else ""
        print(f"| {r['rows']:,}{limit} | {c['median']:.2f} s | {b['median']:.2f} s | {c['median'] / b['median']:.1f}x | {c['rss']:,.0f} MiB | {b['rss']:,.0f} MiB |" if c else
              f"| {r['rows']:,}{limit} | not run | {b['median']:.2f} s | | | {b['rss']:,.0f} MiB |")
    print(f"\nmedians of {args.repeat} interleaved runs (100 M: one run); peak RSS of each process tree; load average at the end of each size: "
          + ", ".join(f"{r['rows']:,}: {r['load'][0]:.2f}" for r in results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()

"""A GB18030 queue-ticket export larger than DuckDB's memory limit cleans completely, as a stream.

The file (about 110 MB) is written in chunks; ``python -m analysis clean`` runs on it in a child
process with ``ANALYSIS_DUCKDB_MEMORY_LIMIT=64MB``; its peak resident memory (``getrusage`` of the
children) must stay far below the file's size, and every planted defect must be rejected.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

OUTLETS = "机构号,网点名称,支行号,支行名称,城乡属性,网点类型\n33180101,城东支行营业部,331801,城东支行,市区,旗舰网点\n33180102,解放路分理处,331801,城东支行,市区,基础网点\n"
HEADER = "流水号,网点号,业务类别,取票时间,叫号时间\n"
ROWS = 2_000_000
BLOCK = 100_000
MEMORY_LIMIT = "64MB"
RSS_BOUND_MB = 1024  # measured 495 MB for the 109 MB file (the pandas door took 3 GB for 2 M tickets)


def write_tickets(path: Path) -> dict[str, int]:
    """Two million tickets in GB18030, compact timestamps; planted defects counted as written."""
    planted = {"called before issued": 0, "unknown outlet": 0, "duplicate": 0, "not a date": 0}
    kinds = ["高柜", "低柜", "贵宾"]
    with open(path, "wb") as fh:
        fh.write(HEADER.encode("gb18030"))
        for start in range(0, ROWS, BLOCK):
            out = []
            for i in range(start, start + BLOCK):
                outlet = "33180101" if i % 2 else "33180102"
                mm, ss = divmod(i % 3600, 60)
                issued = f"20160305 09{mm:02d}{ss:02d}"
                called = f"20160305 10{mm:02d}{ss:02d}"
                if i % 1000 == 7:
                    called = f"20160305 08{mm:02d}{ss:02d}"
                    planted["called before issued"] += 1
                elif i % 1000 == 500:
                    outlet = "99999999"
                    planted["unknown outlet"] += 1
                elif i % 1000 == 900:
                    issued = "2016年2月30日"
                    planted["not a date"] += 1
                row = f"T{i:09d},{outlet},{kinds[i % 3]},{issued},{called}\n"
                out.append(row)
                if i % 10_000 == 1:
                    out.append(row)
                    planted["duplicate"] += 1
            fh.write("".join(out).encode("gb18030"))
    return planted


@pytest.mark.slow
def test_gb18030_file_larger_than_the_memory_limit_cleans_as_a_stream(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "机构信息.csv").write_text(OUTLETS, encoding="utf-8")
    tickets = raw / "排队叫号_2016.csv"
    planted = write_tickets(tickets)
    size_mb = tickets.stat().st_size / 2**20
    assert size_mb > 100
    out = tmp_path / "processed"
    env = {**os.environ, "ANALYSIS_DUCKDB_MEMORY_LIMIT": MEMORY_LIMIT, "ANALYSIS_DUCKDB_TEMP_DIR": str(tmp_path / "spill")}
    # a wrapper process runs the command and reports its children's peak RSS: only this command's
    # (getrusage in this process would count every child pytest has had)
    probe = "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); print('PEAK_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(r.returncode)"
    cmd = [sys.executable, "-m", "analysis", "clean", "--raw", str(raw), "--out", str(out), "--only", "queue_tickets"]
    done = subprocess.run([sys.executable, "-c", probe, *cmd], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    peak_mb = int(done.stderr.rsplit("PEAK_KB", 1)[1].split()[0]) / 1024  # Linux: kilobytes
    assert peak_mb < RSS_BOUND_MB, f"peak RSS {peak_mb:.0f} MB for a {size_mb:.0f} MB file"
    print(f"peak RSS {peak_mb:.0f} MB for a {size_mb:.0f} MB file; {done.stdout.strip()}")

    rep = json.loads((out / "clean_report.json").read_text(encoding="utf-8"))["queue_tickets"]
    rows_in = ROWS + planted["duplicate"]
    bad = planted["called before issued"] + planted["unknown outlet"] + planted["not a date"] + planted["duplicate"]
    assert (rep["rows_in"], rep["clean"], rep["rejected"]) == (rows_in, ROWS - bad + planted["duplicate"], bad)
    (f,) = rep["files"]
    assert f["encoding"] == "gb18030" and f["rows_in"] == f["clean"] + f["rejected"]
    assert rep["reasons"] == {
        "called_at (叫号时间) is before issued_at by more than 60 s: impossible": planted["called before issued"],
        "outlet_id (网点编号): not in outlets.outlet_id": planted["unknown outlet"],
        "issued_at (取号时间): not a date": planted["not a date"],
        "duplicate row": planted["duplicate"],
    }
    import pyarrow.parquet as pq

    assert pq.ParquetFile(out / "queue_tickets.parquet").metadata.num_rows == rep["clean"]

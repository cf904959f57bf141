"""Write the telecom branch's synthetic work-order export (plan 3): ``raw/工单_2009.csv``.

Deterministic (numpy's default_rng with a fixed seed; tests/test_workorders.py checks the bytes).
A city branch of a telecom (分公司) and its district offices (分局), one year of customer work
orders in its customer-service system's own layout (headers the suite's aliases do not know, read
through ``mapping.yaml``): 工单流水号, 处理分局, 工单分类, 建单时间,
要求完成时间, 归档时间, 越级申诉, 回访标志, 回访满意. UTF-8 with a BOM, ISO dates with seconds.
吴江分局 is slow, leaves about 3% of its orders open and had an escalated complaint in late October;
the other offices' last escalation is months back (昆山分局: none all year).
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import numpy as np

SEED = 2009
# office -> (orders a year, median hours to close, share closed late, escalations: day-of-year list)
OFFICES = {
    "姑苏分局": (260, 20.0, [40]),
    "吴中分局": (200, 30.0, [75, 150]),
    "吴江分局": (150, 44.0, [120, 300]),
    "昆山分局": (220, 26.0, []),
}
TYPES = {"故障报修": 24, "业务咨询": 48, "计费投诉": 72, "装机移机": 120}  # promised hours
HEADER = ["工单流水号", "处理分局", "工单分类", "建单时间", "要求完成时间", "归档时间", "越级申诉", "回访标志", "回访满意", "处理过程"]


def rows(seed: int = SEED) -> list[list[str]]:
    import pandas as pd

    rng = np.random.default_rng(seed)
    out = []
    n = 0
    cut = pd.Timestamp(2010, 1, 5)
    for office, (volume, median_h, escalations) in OFFICES.items():
        k = int(rng.poisson(volume))
        offsets = np.sort(rng.uniform(0, 364, k))
        esc_days = set(escalations)
        for off in offsets:
            n += 1
            received = (pd.Timestamp(2009, 1, 1) + pd.Timedelta(days=float(off))).round("s")
            kind = list(TYPES)[int(rng.integers(0, len(TYPES)))]
            due = received + pd.Timedelta(hours=TYPES[kind])
            closed = (received + pd.Timedelta(hours=float(rng.lognormal(np.log(median_h), 0.7)))).round("s")
            day = int(off)
            escalated = day in esc_days
            esc_days.discard(day)
            called = rng.random() < 0.85
            satisfied = rng.random() < 0.9
            stuck = rng.random() < (0.03 if office == "吴江分局" else 0.004)  # never archived: open
            done = closed < cut and not stuck
            out.append([
                f"TT09{n:06d}", office, kind, received.strftime("%Y-%m-%d %H:%M:%S"), due.strftime("%Y-%m-%d %H:%M:%S"),
                closed.strftime("%Y-%m-%d %H:%M:%S") if done else "", "Y" if escalated else "N",
                ("Y" if called else "N") if done else "", ("Y" if satisfied else "N") if done and called else "",
                "已处理" if done else "处理中",
            ])
        for day in sorted(esc_days):  # an escalation day that drew no order: add one that day
            n += 1
            received = pd.Timestamp(2009, 1, 1) + pd.Timedelta(days=day, hours=10)
            closed = received + pd.Timedelta(hours=30)
            out.append([f"TT09{n:06d}", office, "计费投诉", received.strftime("%Y-%m-%d %H:%M:%S"),
                        (received + pd.Timedelta(hours=72)).strftime("%Y-%m-%d %H:%M:%S"), closed.strftime("%Y-%m-%d %H:%M:%S"), "Y", "Y", "N", "已处理"])
    return out


def write(out_dir: Path | str) -> Path:
    path = Path(out_dir) / "工单_2009.csv"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    w.writerows(rows())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode("utf-8-sig"))
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "raw")
    print(write(ap.parse_args().out))

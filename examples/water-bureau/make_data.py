"""Write the water bureau's synthetic work-order export (plan 5): ``raw/办件_2013-2014.csv``.

Deterministic (numpy's default_rng with a fixed seed): running it again writes the same bytes, which
tests/test_workorders.py checks. Four service units of a city water bureau (局 → 站/窗口), 2013 (the
baseline) and 2014 (the campaign year). In 2014 the service-centre window and the water-supply
station halve their processing time, the drainage station improves a little and the 河西站 not at
all. Due times are the promised days after receipt (承诺时限, calendar days), given as a number of
days for some items and as a due time for the others, as real exports mix them. Planted defects,
each rejected by the clean door with its line and reason: an application closed before it was
received, and a 合计 (total) row at the end.

    python examples/water-bureau/make_data.py [--out examples/water-bureau/raw]
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import numpy as np

SEED = 2014
# unit -> (applications a year, 2013 median days, 2014 median days)
UNITS = {
    "政务服务中心水务窗口": (160, 8.0, 3.2),
    "城区供水站": (140, 10.0, 4.0),
    "排水管理站": (90, 12.0, 9.5),
    "河西站": (70, 9.0, 9.0),
}
# item -> promised days (承诺时限), given as a number of days (True) or as a due time (False)
ITEMS = {"供水报装": (20, True), "水表更换": (10, False), "排水许可": (20, False), "取水许可": (30, True), "用水变更": (15, True)}
CHANNELS = ["窗口", "窗口", "窗口", "网上申报", "电话预约"]
HEADER = ["办件编号", "受理窗口", "事项名称", "受理渠道", "收件时间", "承诺时限(天)", "应办结时间", "办结时间", "是否越级", "是否回访", "回访是否满意"]


def _fmt(ts) -> str:
    return ts.strftime("%Y/%m/%d %H:%M")


def rows(seed: int = SEED) -> list[list[str]]:
    import pandas as pd

    rng = np.random.default_rng(seed)
    out = []
    n = 0
    for year in (2013, 2014):
        cut = pd.Timestamp(2015, 1, 1) if year == 2013 else pd.Timestamp(2015, 1, 10)  # the export's date
        for unit, (volume, m13, m14) in UNITS.items():
            median = m13 if year == 2013 else m14
            k = int(rng.poisson(volume))
            days = rng.lognormal(np.log(median), 0.55, k)
            start = pd.Timestamp(year, 1, 2)
            offsets = np.sort(rng.uniform(0, 362, k))
            for off, d in zip(offsets, days):
                n += 1
                received = (start + pd.Timedelta(days=float(off))).replace(hour=int(rng.integers(8, 17)), minute=int(rng.integers(0, 60)))
                item = list(ITEMS)[int(rng.integers(0, len(ITEMS)))]
                promised, as_days = ITEMS[item]
                due = received + pd.Timedelta(days=promised)
                closed = (received + pd.Timedelta(days=float(d))).round("min")
                escalated = rng.random() < 0.01
                called = rng.random() < 0.8
                satisfied = called and rng.random() < (0.86 if year == 2013 else 0.93)
                out.append([
                    f"SW{year}{n:05d}", unit, item, CHANNELS[int(rng.integers(0, len(CHANNELS)))], _fmt(received),
                    str(promised) if as_days else "", "" if as_days else _fmt(due),
                    _fmt(closed) if closed < cut else "", "是" if escalated else "否",
                    ("是" if called else "否") if closed < cut else "", ("是" if satisfied else "否") if called and closed < cut else "",
                ])
    # planted: closed before it was received (a typed year)
    bad = out[len(out) // 2]
    bad[7] = bad[4].replace(bad[4][:4], str(int(bad[4][:4]) - 1), 1)
    out.append(["合计", "", "", "", "", "", "", "", "", "", ""])
    return out


def write(out_dir: Path | str) -> Path:
    path = Path(out_dir) / "办件_2013-2014.csv"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HEADER)
    w.writerows(rows())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode("gb18030"))
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "raw")
    print(write(ap.parse_args().out))

"""Write the county hospital's synthetic task ledger (plan 6, "执行力提升年"): ``raw/任务台账_2011.csv``,
and its outpatient register (plan 4, 门诊量): ``raw/门诊登记_2011.csv``.

Deterministic (numpy's default_rng with a fixed seed; tests/test_workorders.py checks the bytes).
Every department (科室) of a county hospital gets tasks with deadlines from the hospital office
(院办) between April and November 2011; the ledger records when each was assigned (交办时间), its
deadline (完成时限, a date), and when it was done (完成时间, empty = not done). Headers are among the
aliases of ``sources/workorders.yaml``: no mapping needed. UTF-8, dates as 2011年5月6日.

The outpatient register has one row per visit (就诊流水号, 就诊科室, 就诊日期, 号别) of the four
clinical departments, a Poisson number a day (more on weekdays), and one planted defect: a visit
exported twice (the same serial number), which the clean step rejects as a duplicate. Headers are
among the aliases of ``sources/visits.yaml``; no patient data.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import numpy as np

SEED = 2011
# department -> (tasks, share done late, share never done)
DEPARTMENTS = {"内科": (18, 0.05, 0.0), "外科": (16, 0.15, 0.0), "妇产科": (12, 0.0, 0.0), "儿科": (10, 0.1, 0.2),
               "药剂科": (9, 0.3, 0.12), "院办": (14, 0.0, 0.0), "医务科": (11, 0.1, 0.0)}
TASKS = ["撰写心得体会", "整改方案报送", "岗位说明书编制", "目标责任书签订", "征求意见汇总", "专项督查整改", "培训计划上报"]
HEADER = ["任务编号", "责任科室", "任务名称", "交办时间", "完成时限", "完成时间"]


def _zh(ts) -> str:
    return f"{ts.year}年{ts.month}月{ts.day}日"


def rows(seed: int = SEED) -> list[list[str]]:
    import pandas as pd

    rng = np.random.default_rng(seed)
    out = []
    n = 0
    for dept, (k, late, never) in DEPARTMENTS.items():
        for _ in range(k):
            n += 1
            assigned = pd.Timestamp(2011, 4, 1) + pd.Timedelta(days=int(rng.integers(0, 230)))
            due = assigned + pd.Timedelta(days=int(rng.choice([7, 14, 30])))
            r = rng.random()
            if r < never:
                done = None
            elif r < never + late:
                done = due + pd.Timedelta(days=int(rng.integers(1, 15)))
            else:
                done = assigned + pd.Timedelta(days=int(rng.integers(0, (due - assigned).days + 1)))
            # a deadline date means the end of that day: done on the day is on time
            out.append([f"ZX2011-{n:03d}", dept, TASKS[int(rng.integers(0, len(TASKS)))], _zh(assigned),
                        f"{due.year}-{due.month:02d}-{due.day:02d} 23:59", _zh(done) if done is not None else ""])
    return out


def write(out_dir: Path | str) -> Path:
    path = Path(out_dir) / "任务台账_2011.csv"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    w.writerows(rows())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode("utf-8"))
    return path


# clinical department -> mean visits a weekday (a weekend day: half); 2011
VISITS_PER_DAY = {"内科": 4.0, "外科": 2.5, "妇产科": 1.5, "儿科": 2.5}
VISIT_HEADER = ["就诊流水号", "就诊科室", "就诊日期", "号别"]


def visit_rows(seed: int = SEED) -> list[list[str]]:
    import pandas as pd

    rng = np.random.default_rng(seed + 4)
    out = []
    for day in pd.date_range("2011-01-01", "2011-12-31", freq="D"):
        n_day = 0
        for dept, mean in VISITS_PER_DAY.items():
            for _ in range(int(rng.poisson(mean if day.weekday() < 5 else mean / 2))):
                n_day += 1
                kind = "专家号" if rng.random() < 0.2 else "普通号"
                out.append([f"MZ{day:%Y%m%d}-{n_day:03d}", dept, f"{day:%Y-%m-%d}", kind])
    out.insert(1000, list(out[999]))  # the planted defect: one visit exported twice
    return out


def write_visits(out_dir: Path | str) -> Path:
    path = Path(out_dir) / "门诊登记_2011.csv"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(VISIT_HEADER)
    w.writerows(visit_rows())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode("utf-8"))
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "raw")
    out = ap.parse_args().out
    print(write(out))
    print(write_visits(out))

"""The same call-centre table as ``python -m analysis calls``, as a plain pandas script.

The baseline of benchmarks/bench_events.py: read the Parquet folder with pandas, apply the same
definitions (waits in whole seconds, clock skew -60..-1 s counts as 0, below -60 s rejected,
threshold <= 20 s, no short abandons) and group by center x date.

    python benchmarks/pandas_calls.py DIR OUT.csv
"""

import sys

import numpy as np
import pandas as pd

THRESHOLD = 20
SKEW = 60


def main(source: str, out: str) -> None:
    df = pd.read_parquet(source, columns=["center", "arrived_at", "answered_at", "abandoned_at"])
    arrived = df["arrived_at"].dt.floor("s")
    answer_raw = (df["answered_at"].dt.floor("s") - arrived).dt.total_seconds()
    abandon_raw = (df["abandoned_at"].dt.floor("s") - arrived).dt.total_seconds()
    rejected = df["center"].isna() | arrived.isna() | (answer_raw < -SKEW) | (abandon_raw < -SKEW)

    is_answered = df["answered_at"].notna()
    answer_wait = answer_raw.clip(lower=0)
    calls = pd.DataFrame(
        {
            "center": df["center"],
            "date": arrived.dt.normalize(),
            "answered": is_answered,
            "answered_in_threshold": is_answered & (answer_wait <= THRESHOLD),
            "abandoned": ~is_answered & df["abandoned_at"].notna(),
            "wait_answered_s": answer_wait.where(is_answered, 0),
            "skew_clamped": answer_raw.between(-SKEW, -1) | abandon_raw.between(-SKEW, -1),
        }
    )[~rejected]
    t = calls.groupby(["center", "date"], sort=True).agg(
        offered=("answered", "size"),
        answered=("answered", "sum"),
        answered_in_threshold=("answered_in_threshold", "sum"),
        abandoned=("abandoned", "sum"),
        wait_answered_s=("wait_answered_s", "sum"),
        skew_clamped=("skew_clamped", "sum"),
    ).reset_index()
    t["answer_rate"] = t["answered"] / t["offered"]
    t["service_level"] = t["answered_in_threshold"] / t["offered"]
    t["mean_wait_answered"] = (t["wait_answered_s"] / t["answered"]).replace([np.inf], np.nan)
    t["abandon_rate"] = t["abandoned"] / t["offered"]
    t["short_abandoned"] = 0
    t["unresolved"] = t["offered"] - t["answered"] - t["abandoned"]
    t["records"] = t["offered"]
    cols = ["center", "date", "offered", "answered", "answered_in_threshold", "abandoned", "answer_rate", "service_level",
            "mean_wait_answered", "abandon_rate", "short_abandoned", "unresolved", "skew_clamped", "records"]  # fmt: skip
    t[cols].to_csv(out, index=False, date_format="%Y-%m-%d")
    print(f"{len(t):,} rows, {int(rejected.sum()):,} rejected")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

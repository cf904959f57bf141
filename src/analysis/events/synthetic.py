"""Large synthetic call records for benchmarks: ``write_large_calls(out, seed, rows)``.

Writes ``rows`` call records with the canonical columns of the clean ``calls`` table (call_id,
center, arrived_at, answered_at, abandoned_at) as a folder of Parquet files, one file per chunk of
one million records, so memory stays bounded (about 100 MB) whatever ``rows`` is. Chunk ``k`` is
drawn from its own random stream ``(seed, k)``: the same seed and rows give the same files.

The records look like a year (2016) at two centers: 95599 (70%) and the credit-card centre (30%);
arrivals follow a daytime profile; about 86% answered (exponential wait, 95599 faster), 12%
abandoned, 0.2% neither (still waiting at the cut-off), 1.5% with a few seconds of clock skew
(answer logged before arrival) and 0.01% impossible (answered an hour before arrival), so every
rule of :mod:`analysis.events.callcentre` is exercised at scale.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from analysis.errors import InputValueError

CHUNK_ROWS = 1_000_000
YEAR_START = np.datetime64("2016-01-01T00:00:00", "s")
DAYS = 366
# Share of a day's calls per hour of the day (a contact centre's usual double hump).
HOUR_WEIGHTS = np.array([1, 0.5, 0.3, 0.3, 0.3, 0.5, 1, 3, 7, 10, 11, 10, 8, 8, 9, 9, 8, 7, 6, 6, 5, 4, 3, 2], dtype=float)
CENTERS = np.array(["95599", "credit_card"])


def write_large_calls(out: Path | str, seed: int = 2016, rows: int = 10_000_000, *, chunk_rows: int = CHUNK_ROWS) -> Path:
    """Write ``rows`` synthetic call records as ``out/part-NNNNN.parquet``; returns the folder.

    An existing ``out`` folder is replaced only when it holds nothing but such part files (so a
    wrong ``--out`` cannot wipe unrelated data).
    """
    import pyarrow.parquet as pq

    if rows < 0 or chunk_rows <= 0:
        raise InputValueError(f"rows must be >= 0 and chunk_rows > 0, got rows={rows}, chunk_rows={chunk_rows}")
    out = Path(out)
    if out.exists():
        others = [p for p in out.iterdir() if not (p.name.startswith("part-") and p.suffix == ".parquet")]
        if others:
            raise InputValueError(f"{out} exists and holds other files ({others[0].name}, ...): choose an empty or new folder for the large call records")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for k, start in enumerate(range(0, rows, chunk_rows)):
        n = min(chunk_rows, rows - start)
        pq.write_table(_chunk(seed, k, start, n), out / f"part-{k:05d}.parquet", compression="snappy")
    return out


def _chunk(seed: int, k: int, start: int, n: int):
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng([seed, k])
    day = rng.integers(0, DAYS, n)
    hour = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    arrived_s = day * 86400 + hour * 3600 + rng.integers(0, 3600, n)
    center = (rng.random(n) < 0.30).astype(np.int8)  # 0 = 95599, 1 = credit_card

    u = rng.random(n)
    answered = u < 0.86
    abandoned = (u >= 0.86) & (u < 0.998)  # the rest: neither (still waiting when the log was cut)
    mean_wait = np.where(center == 0, 18.0, 35.0) * np.where((hour >= 9) & (hour <= 11), 1.6, 1.0)
    answer_wait = np.rint(rng.exponential(mean_wait)).astype(np.int64)
    abandon_wait = np.rint(rng.exponential(40.0, n)).astype(np.int64)
    v = rng.random(n)
    answer_wait = np.where(v < 0.015, -rng.integers(1, 6, n), answer_wait)  # clock skew: counted as 0
    answer_wait = np.where(v > 0.9999, -3600, answer_wait)  # impossible: rejected

    arrived = YEAR_START + arrived_s.astype("timedelta64[s]")
    ids = pc.binary_join_element_wise("C", pc.cast(pa.array(np.arange(start, start + n, dtype=np.int64)), pa.string()), "")
    ts = pa.timestamp("us")
    return pa.table(
        {
            "call_id": ids,
            "center": pa.array(CENTERS[center]),
            "arrived_at": pa.array(arrived, type=ts),
            "answered_at": pa.array(arrived + answer_wait.astype("timedelta64[s]"), type=ts, mask=~answered),
            "abandoned_at": pa.array(arrived + abandon_wait.astype("timedelta64[s]"), type=ts, mask=~abandoned),
        }
    )

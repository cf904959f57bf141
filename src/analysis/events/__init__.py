"""Service events at scale: waiting times, call-centre service and teller ratings.

Each aggregation is one Ibis expression that runs on DuckDB (default: embedded, out-of-core, reading
CSV or Parquet files or folders) or on Spark (``engine="spark"``); see :mod:`analysis.events.engine`.

    from analysis.events import calls_table, waits_table, ratings_table
    calls_table("data/processed/calls.parquet")                  # center x date
    calls_table(path, by=["center", "hour"])                     # hour-of-day profile
    waits_table(path, by=["outlet_id", "weekday", "hour"])       # for a heatmap
    ratings_table(path, engine="spark")

``calls``/``waits``/``ratings`` return an :class:`~analysis.events.common.EventResult` with the table,
the accounting of every record and the rejected records. Importing this package is cheap: Ibis,
DuckDB and pyspark are imported when a function runs.
"""

from __future__ import annotations

__all__ = ["calls", "calls_table", "waits", "waits_table", "ratings", "ratings_table", "ENGINES"]

ENGINES = ("duckdb", "spark")

_LAZY = {
    "calls": "analysis.events.callcentre",
    "calls_table": "analysis.events.callcentre",
    "waits": "analysis.events.queues",
    "waits_table": "analysis.events.queues",
    "ratings": "analysis.events.tellers",
    "ratings_table": "analysis.events.tellers",
}


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'analysis.events' has no attribute {name!r}")

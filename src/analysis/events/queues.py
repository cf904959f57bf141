"""Waiting times at outlets from queue tickets: tickets, mean and 90th-percentile wait, share over 10 min.

Definitions (DOMAIN.md §3 and §6: the target is an average wait of at most 10 minutes):

- wait = called_at - issued_at, whole seconds; the clock-skew rule of the call records applies
  (-60 s to -1 s counts as 0 and is counted in ``skew_clamped``; below -60 s the ticket is rejected);
- ``tickets`` = every ticket issued; ``called`` = tickets whose customer was called; ``left`` =
  tickets without a call time (the customer left before being called: their wait is unknown);
- ``mean_wait`` and ``p90_wait`` are over called tickets, in **minutes** (p90 interpolates linearly
  between the two nearest waits, like ``numpy.percentile``'s default);
- ``over_10min`` = called tickets that waited more than 600 s; ``share_over_10min`` = over_10min / called.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.events.common import SKEW_TOLERANCE_S, EventResult, as_timestamp, check_by, flag, parse_failed, ratio, run, seconds, time_key

TICKET_COLUMNS = ["ticket_id", "outlet_id", "business_type", "issued_at", "called_at"]
ENTITY_KEYS = ("outlet_id", "business_type")
DEFAULT_BY = ("outlet_id", "date", "business_type")
TARGET_MINUTES = 10
OVER_SECONDS = TARGET_MINUTES * 60
OUTPUT_COLUMNS = ["tickets", "called", "left", "mean_wait", "p90_wait", "over_10min", "share_over_10min", "skew_clamped"]


def waits_expr(t, *, by: Sequence[str] = DEFAULT_BY, period=None):
    """The waiting-time aggregation as Ibis pieces: (classified records, keys, metrics, derived)."""
    import ibis

    keys = check_by(by, ENTITY_KEYS, "waits")
    outlet = t.outlet_id.cast("string").strip()
    business = t.business_type.cast("string").strip()
    issued = as_timestamp(t.issued_at)
    called = as_timestamp(t.called_at)
    wait_raw = seconds(called) - seconds(issued)
    reason = ibis.cases(
        (outlet.isnull() | (outlet == ""), "outlet_id missing"),
        (business.isnull() | (business == ""), "business_type missing"),
        (t.issued_at.isnull(), "issued_at missing"),
        (issued.isnull(), "issued_at is not a date-time"),
        (parse_failed(t.called_at, called), "called_at is not a date-time"),
        (wait_raw < -SKEW_TOLERANCE_S, f"called_at before issued_at by more than {SKEW_TOLERANCE_S} s: impossible"),
        else_=ibis.null("string"),
    )
    c = t.mutate(
        reason=reason,
        _outlet=outlet,
        _business=business,
        _issued=issued,
        _is_called=called.notnull(),
        # (greatest() skips nulls on both engines, so a ticket never called must be nulled explicitly)
        _wait=ibis.ifelse(called.notnull(), ibis.greatest(wait_raw, 0), ibis.null("int64")),
        _skewed=wait_raw.between(-SKEW_TOLERANCE_S, -1).fill_null(False),
    )
    if period is not None:
        c = c.filter(c._issued.isnull() | ((c._issued >= period.start.to_pydatetime()) & (c._issued < period.end.to_pydatetime())))
    entity = {"outlet_id": c._outlet, "business_type": c._business}
    key_exprs = {k: entity[k] if k in entity else time_key(c._issued, k) for k in keys}
    metrics = {
        "called": flag(c._is_called).sum(),
        "wait_s": ibis.ifelse(c._is_called, c._wait, 0).sum(),
        "p90_wait_s": c._wait.quantile(0.9),
        "over_10min": flag(c._is_called & (c._wait > OVER_SECONDS)).sum(),
        "skew_clamped": flag(c._skewed).sum(),
    }
    derived = {
        "tickets": lambda g: g.records,
        "left": lambda g: g.records - g.called,
        "mean_wait_s": lambda g: ratio(g.wait_s, g.called),
        "share_over_10min": lambda g: ratio(g.over_10min, g.called),
    }
    return c, key_exprs, metrics, derived


def waits(source: Path | str | pd.DataFrame, engine: str = "duckdb", *, by: str | Sequence[str] = DEFAULT_BY, period=None) -> EventResult:
    """Waiting times per ``by`` group with the accounting of every ticket (see module doc)."""
    from analysis.events.engine import connect, source_table
    from analysis.periods import Period

    con = connect(engine)
    t = source_table(con, source, TICKET_COLUMNS, source_name="queue_tickets")
    c, keys, metrics, derived = waits_expr(t, by=by, period=Period.parse(period) if period is not None else None)
    result = run(con, c, keys, metrics, derived, record_columns=list(t.columns), what="waits", source=source if not isinstance(source, pd.DataFrame) else "")
    table = result.table
    # Minutes for the reader; the percentile rounded to the microsecond so that both engines agree
    # to the last bit (their interpolation formulas differ in rounding).
    table["mean_wait"] = table["mean_wait_s"] / 60
    table["p90_wait"] = np.round(table["p90_wait_s"].astype("float64"), 6) / 60
    result.table = table[[*keys, *OUTPUT_COLUMNS]]
    return result


def waits_table(source: Path | str | pd.DataFrame, engine: str = "duckdb", *, by: str | Sequence[str] = DEFAULT_BY, period=None) -> pd.DataFrame:
    """The waiting-time table (one row per outlet x date x business type by default): tickets, called,
    left, mean_wait and p90_wait (minutes), over_10min, share_over_10min, skew_clamped.
    ``table.attrs["counts"]`` holds the accounting; :func:`waits` also gives the rejected tickets."""
    result = waits(source, engine, by=by, period=period)
    result.table.attrs["counts"] = result.counts
    return result.table

"""Waiting times at outlets from queue tickets: tickets, mean and 90th-percentile wait, share over 10 min.

Definitions (DOMAIN.md §3; the target, an average wait of at most 10 minutes in plan 1, is read from
the targets file by the pages, never from here):

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
from typing import TYPE_CHECKING

from analysis.events.common import (
    SKEW_TOLERANCE_S,
    EventResult,
    as_timestamp,
    check_by,
    is_frame,
    is_text,
    parse_failed,
    ratio,
    reason_code,
    run,
    seconds,
    time_key,
)
from analysis.rejects import Reason

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

TICKET_COLUMNS = ["ticket_id", "outlet_id", "business_type", "issued_at", "called_at"]
ENTITY_KEYS = ("outlet_id", "business_type")
DEFAULT_BY = ("outlet_id", "date", "business_type")
# "Share waiting over 10 minutes" is a measure of its own (DOMAIN.md §3), named by its 10 minutes in
# every table and page: a definition, not the waiting-time target, which comes from the targets file.
OVER_MINUTES = 10
OVER_SECONDS = OVER_MINUTES * 60
OUTPUT_COLUMNS = ["tickets", "called", "left", "mean_wait", "p90_wait", "over_10min", "share_over_10min", "skew_clamped"]


def waits_expr(t, *, by: Sequence[str] = DEFAULT_BY, period=None, earliest: dict | None = None):
    """The waiting-time aggregation as Ibis pieces: (classified records, keys, metrics, derived).
    ``earliest``: column -> earliest plausible date (see :func:`analysis.events.records.time_rules`)."""
    import ibis

    from analysis.events.records import time_rules

    keys = check_by(by, ENTITY_KEYS, "waits")
    c = t.mutate(_outlet=t.outlet_id.cast("string"), _business=t.business_type.cast("string"), _issued=as_timestamp(t.issued_at), _called=as_timestamp(t.called_at))
    c = c.mutate(_wait_raw=seconds(c._called) - seconds(c._issued))
    reason, labels = reason_code(
        [
            (c._outlet.isnull() | (c._outlet == ""), Reason.MISSING, {"column": "outlet_id"}),
            (c._business.isnull() | (c._business == ""), Reason.MISSING, {"column": "business_type"}),
            (c.issued_at.isnull(), Reason.MISSING, {"column": "issued_at"}),
            (c._issued.isnull() if is_text(t.issued_at) else None, Reason.NOT_A_DATETIME, {"column": "issued_at"}),
            (parse_failed(c.called_at, c._called) if is_text(t.called_at) else None, Reason.NOT_A_DATETIME, {"column": "called_at"}),
            *time_rules(c, {"issued_at": c._issued, "called_at": c._called}, earliest or {}),
            (c._wait_raw < -SKEW_TOLERANCE_S, Reason.TIME_ORDER, {"column": "called_at", "reference": "issued_at", "seconds": SKEW_TOLERANCE_S}),
        ]
    )
    c = c.mutate(
        reason=reason,
        _is_called=c._called.notnull(),
        # (greatest() skips nulls on both engines, so a ticket never called must be nulled explicitly)
        _wait=ibis.ifelse(c._called.notnull(), ibis.greatest(c._wait_raw, 0), ibis.null("int64")),
        _skewed=c._wait_raw.between(-SKEW_TOLERANCE_S, -1).fill_null(False),
    )
    if period is not None:
        c = c.filter(c._issued.isnull() | ((c._issued >= period.start.to_pydatetime()) & (c._issued < period.end.to_pydatetime())))
    entity = {"outlet_id": c._outlet, "business_type": c._business}
    key_exprs = {k: entity[k] if k in entity else time_key(c._issued, k) for k in keys}
    metrics = {
        "called": c.count(where=c._is_called),
        "wait_s": c._wait.sum(where=c._is_called).fill_null(0),
        "p90_wait_s": c._wait.quantile(0.9),
        "over_10min": c.count(where=c._is_called & (c._wait > OVER_SECONDS)),
        "skew_clamped": c.count(where=c._skewed),
    }
    derived = {
        "tickets": lambda g: g.records,
        "left": lambda g: g.records - g.called,
        "mean_wait_s": lambda g: ratio(g.wait_s, g.called),
        "share_over_10min": lambda g: ratio(g.over_10min, g.called),
    }
    return c, key_exprs, metrics, derived, labels


def waits(source: Path | str | pd.DataFrame, engine: str = "duckdb", *, by: str | Sequence[str] = DEFAULT_BY, period=None) -> EventResult:
    """Waiting times per ``by`` group with the accounting of every ticket (see module doc)."""
    import pyarrow.compute as pc

    from analysis.events.engine import connect
    from analysis.events.records import add_malformed, event_source

    if period is not None:
        from analysis.periods import Period

        period = Period.parse(period)
    con = connect(engine)
    with event_source(con, source, TICKET_COLUMNS, source_name="queue_tickets") as (t, malformed, earliest):
        c, keys, metrics, derived, labels = waits_expr(t, by=by, period=period, earliest=earliest)
        result = run(con, c, keys, metrics, derived, record_columns=list(t.columns), labels=labels, what="waits", source="" if is_frame(source) else source)
    add_malformed(result, malformed)
    table = result.arrow
    # Minutes for the reader; the percentile rounded to the microsecond first so that both engines
    # agree to the last bit (their interpolation formulas differ in rounding).
    minutes = {
        "mean_wait": pc.divide(pc.cast(table["mean_wait_s"], "float64"), 60.0),
        "p90_wait": pc.divide(pc.round(pc.cast(table["p90_wait_s"], "float64"), 6), 60.0),
    }
    for name, values in minutes.items():
        table = table.append_column(name, values)
    result.arrow = table.select([*keys, *OUTPUT_COLUMNS])
    return result


def waits_table(source: Path | str | pd.DataFrame, engine: str = "duckdb", *, by: str | Sequence[str] = DEFAULT_BY, period=None) -> pd.DataFrame:
    """The waiting-time table (one row per outlet x date x business type by default): tickets, called,
    left, mean_wait and p90_wait (minutes), over_10min, share_over_10min, skew_clamped.
    ``table.attrs["counts"]`` holds the accounting; :func:`waits` also gives the rejected tickets."""
    result = waits(source, engine, by=by, period=period)
    result.table.attrs["counts"] = result.counts
    return result.table

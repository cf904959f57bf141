"""Teller ratings from the evaluation devices: rating rate and satisfaction.

Definitions (DOMAIN.md §3; target: satisfaction >= 90%):

- one record per counter transaction; ``rating`` 1-5, empty = the customer did not rate;
- ``transactions`` = records; ``rated`` = records with a rating; ``rating_rate`` = rated / transactions;
- ``satisfied`` = ratings of 4 or 5; ``satisfaction`` = satisfied / rated;
- a rating that is not a whole number from 1 to 5, or a transaction without outlet or time, is
  rejected with a reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from analysis.events.common import EventResult, as_timestamp, check_by, flag, ratio, run, time_key

RATING_COLUMNS = ["event_id", "outlet_id", "teller_id", "txn_at", "rating"]
ENTITY_KEYS = ("outlet_id", "teller_id")
DEFAULT_BY = ("outlet_id", "month")
SATISFIED_MIN = 4
TARGET = 0.90
OUTPUT_COLUMNS = ["transactions", "rated", "rating_rate", "satisfied", "satisfaction"]


def _rating_value(col):
    """The rating as an integer; null when empty; ``-1`` when given but not a whole number."""
    import ibis

    dtype = col.type()
    if dtype.is_integer():
        return col.cast("int64")
    if dtype.is_floating() or dtype.is_decimal():
        whole = col.floor() == col
        return ibis.ifelse(col.isnull(), ibis.null("int64"), ibis.ifelse(whole, col.cast("int64"), -1))
    text = col.cast("string").strip()
    number = text.try_cast("float64")
    whole = number.floor() == number
    return ibis.cases(
        (text.isnull() | (text == ""), ibis.null("int64")),
        (number.isnull() | ~whole, -1),
        else_=number.cast("int64"),
    )


def ratings_expr(t, *, by: Sequence[str] = DEFAULT_BY, period=None):
    """The rating aggregation as Ibis pieces: (classified records, keys, metrics, derived)."""
    import ibis

    keys = check_by(by, ENTITY_KEYS, "ratings")
    outlet = t.outlet_id.cast("string").strip()
    teller = t.teller_id.cast("string").strip()
    txn = as_timestamp(t.txn_at)
    rating = _rating_value(t.rating)
    reason = ibis.cases(
        (outlet.isnull() | (outlet == ""), "outlet_id missing"),
        (t.txn_at.isnull(), "txn_at missing"),
        (txn.isnull(), "txn_at is not a date-time"),
        (rating.notnull() & ~rating.between(1, 5), "rating is not a whole number from 1 to 5"),
        else_=ibis.null("string"),
    )
    c = t.mutate(reason=reason, _outlet=outlet, _teller=teller, _txn=txn, _rating=rating)
    if period is not None:
        c = c.filter(c._txn.isnull() | ((c._txn >= period.start.to_pydatetime()) & (c._txn < period.end.to_pydatetime())))
    entity = {"outlet_id": c._outlet, "teller_id": c._teller}
    key_exprs = {k: entity[k] if k in entity else time_key(c._txn, k) for k in keys}
    metrics = {
        "rated": flag(c._rating.notnull()).sum(),
        "satisfied": flag(c._rating >= SATISFIED_MIN).sum(),
    }
    derived = {
        "transactions": lambda g: g.records,
        "rating_rate": lambda g: ratio(g.rated, g.records),
        "satisfaction": lambda g: ratio(g.satisfied, g.rated),
    }
    return c, key_exprs, metrics, derived


def ratings(source: Path | str | pd.DataFrame, engine: str = "duckdb", *, by: str | Sequence[str] = DEFAULT_BY, period=None) -> EventResult:
    """Rating rate and satisfaction per ``by`` group with the accounting of every record."""
    from analysis.events.engine import connect, source_table
    from analysis.periods import Period

    con = connect(engine)
    t = source_table(con, source, RATING_COLUMNS, source_name="teller_ratings")
    c, keys, metrics, derived = ratings_expr(t, by=by, period=Period.parse(period) if period is not None else None)
    result = run(con, c, keys, metrics, derived, record_columns=list(t.columns), what="ratings", source=source if not isinstance(source, pd.DataFrame) else "")
    result.table = result.table[[*keys, *OUTPUT_COLUMNS]]
    return result


def ratings_table(source: Path | str | pd.DataFrame, engine: str = "duckdb", *, by: str | Sequence[str] = DEFAULT_BY, period=None) -> pd.DataFrame:
    """The teller-rating table (one row per outlet x month by default): transactions, rated,
    rating_rate, satisfied, satisfaction. ``table.attrs["counts"]`` holds the accounting."""
    result = ratings(source, engine, by=by, period=period)
    result.table.attrs["counts"] = result.counts
    return result.table

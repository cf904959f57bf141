"""Every record of an event command's input accounted for, with its file and line.

The event commands (``calls``, ``waits``, ``ratings``) read CSV files the way ``clean`` reads raw
exports (:func:`analysis.clean.stage.stage_file`): UTF-8 or GB18030, headers matched through the
source's aliases, a quoted field may span lines while an unbalanced quote cannot swallow the records
after it, and a line with bytes that are neither UTF-8 nor GB18030 is a *malformed record* with its
line number instead of a read that aborts naming no line. Each record keeps ``source_file`` and
``source_line``, so every rejected record in ``OUT.rejected.csv`` says where it came from. Parquet
files (the clean tables, which already carry both columns) and DataFrames are read as they are.

:func:`event_source` yields the Ibis table and the malformed records; :func:`add_malformed` adds the
latter to a result's accounting (records = used + rejected, a reason each). :func:`time_rules` are
the plausibility rules on event times: after today is impossible; before the column's ``earliest``
(``sources/<source>.yaml``, 1990-01-01 by default) when the source definition is at hand.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from analysis.events.common import is_frame


def _is_local(source) -> bool:
    text = str(source)
    return "://" not in text


@contextlib.contextmanager
def event_source(con, source, columns: list[str], *, source_name: str) -> Iterator[tuple[Any, Any, dict]]:
    """``(table, malformed, earliest)`` for an event aggregation over ``source``.

    ``table``: the canonical ``columns`` plus ``source_file``/``source_line`` where known;
    ``malformed``: an Arrow table (reason, source_file, source_line, raw_record) of the CSV records
    that could not be read, or None; ``earliest``: column -> earliest plausible date from the source
    definition (empty when the input was not staged). The staged files live until the block ends.
    """
    from analysis.events.engine import resolve_files, source_table

    if is_frame(source) or not _is_local(source):
        yield source_table(con, source, columns, source_name=source_name), None, {}
        return
    files, fmt = resolve_files(source)
    if fmt != "csv":
        yield source_table(con, source, columns, source_name=source_name), None, {}
        return
    with tempfile.TemporaryDirectory(prefix="analysis-events-") as tmp:
        table, malformed, earliest = _staged(con, files, columns, source_name, Path(tmp))
        yield table, malformed, earliest


def _staged(con, files: list[Path], columns: list[str], source_name: str, workdir: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from analysis.clean.rules import DEFAULT_EARLIEST
    from analysis.clean.sources import load_sources
    from analysis.clean.stage import NORM, stage_file
    from analysis.events.engine import quiet_library_warnings

    src = load_sources()[source_name]
    staged = []
    for k, path in enumerate(files):
        staged += stage_file(src, path, workdir, k)
    missing = [c for c in columns if all(c not in st.columns for st in staged)]
    if missing:  # a source whose YAML does not require a column the aggregation needs
        from analysis.events.engine import source_error

        raise source_error(files[0], f"missing column(s) {', '.join(missing)} ({', '.join(src.columns[c].title for c in missing if c in src.columns)})", column=missing[0])
    parts, bad = [], []
    for st in staged:
        name = str(st.file)
        if st.rows:
            with quiet_library_warnings():
                t = con.read_parquet(str(st.parquet))
            import ibis

            values = {}
            for c in columns:
                if c in st.columns:  # the NFKC form where it differs; an empty cell is missing (as DuckDB reads CSV)
                    values[c] = (t[c + NORM].fill_null(t[c]) if c + NORM in t.columns else t[c]).nullif("")
                else:
                    values[c] = ibis.null("string")
            parts.append(t.select(**values, source_file=ibis.literal(name, "string"), source_line=t["_line"].cast("int64")))
        if st.malformed:
            m = pq.read_table(st.malformed_parquet)
            bad.append(pa.table({"reason": m["reason"], "source_file": pa.array([name] * m.num_rows, pa.string()), "source_line": m["line"], "raw_record": m["raw_record"]}))
    if not parts:  # nothing readable: an empty table of the right shape
        import ibis

        empty = pa.table({**{c: pa.array([], pa.string()) for c in columns}, "source_file": pa.array([], pa.string()), "source_line": pa.array([], pa.int64())})
        table = ibis.memtable(empty)
    else:
        table = parts[0]
        for p in parts[1:]:
            table = table.union(p)
    malformed = pa.concat_tables(bad) if bad else None
    earliest = {n: (c.earliest or DEFAULT_EARLIEST) for n, c in src.columns.items() if c.type in ("date", "datetime")}
    return table, malformed, earliest


def time_rules(c, columns: dict[str, Any], earliest: dict[str, dt.date], today: dt.date | None = None) -> list[tuple]:
    """Reason rules for event times: ``columns`` maps a column name to its parsed timestamp. After
    today is impossible; before ``earliest[column]`` (when given) is not plausible."""
    import ibis

    from analysis.rejects import Reason

    today = today or dt.date.today()
    tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time())
    rules = []
    for name, ts in columns.items():
        rules.append((ts.notnull() & (ts >= ibis.timestamp(tomorrow)), Reason.IN_FUTURE, {"column": name, "today": f"{today:%Y-%m-%d}"}))
        if name in earliest:
            first = earliest[name]
            rules.append((ts.notnull() & (ts < ibis.timestamp(dt.datetime.combine(first, dt.time()))), Reason.TOO_EARLY, {"column": name, "earliest": f"{first:%Y-%m-%d}"}))
    return rules


def add_malformed(result, malformed) -> None:
    """Add the malformed records of a staged input to ``result`` (an EventResult) through its
    collector: counted in ``records`` and ``rejected`` (code ``malformed``, each under its own
    text, which names the line and the byte), the records with file and line in the rejected records."""
    if malformed is None or malformed.num_rows == 0:
        return
    from collections import Counter

    from analysis.rejects import Reason

    n = malformed.num_rows
    c = result.counts
    c["records"] += n
    c["rejected"] += n
    col = result.collector
    for reason, k in Counter(malformed["reason"].to_pylist()).items():
        col.count(Reason.MALFORMED, k, text=reason)
    c["reasons"] = col.reasons()
    rejected = result.rejected_arrow
    if rejected is None or rejected.num_rows == 0:
        rejected = malformed
    else:
        rejected = pa_concat([rejected, malformed])
    order = [k for k in ("source_file", "source_line") if k in rejected.column_names]
    result.rejected_arrow = rejected.sort_by([(k, "ascending") for k in order]) if order else rejected
    col.add_arrow(malformed)


def pa_concat(tables):
    import pyarrow as pa

    return pa.concat_tables(tables, promote_options="permissive")

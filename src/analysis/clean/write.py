"""Writing the clean door's outputs in batches: the clean table (Parquet, pandas dtypes kept in its
metadata) and the rejected rows (CSV for Excel: UTF-8 with BOM, formula-like cells neutralised),
personal data masked on the way. (The rejected rows go through the collector's streaming CSV
writer, :func:`analysis.rejects.stream_csv`.) An engine result is streamed as Arrow record batches, so neither
output is ever whole in memory."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.clean.sources import Source

BATCH = 1 << 20


def _replace(tmp: Path, path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    os.replace(tmp, path)


def record_batches(con, expr, size):
    from analysis.clean.engine import record_batches as rb

    return rb(con, expr, size)


def _schema(src: Source) -> pa.Schema:
    from analysis.clean.engine import _empty

    return pa.Schema.from_pandas(_empty(src), preserve_index=False)


def write_frame(df: pd.DataFrame, path: Path) -> None:
    """A small DataFrame as the clean table (the empty table of a missing optional source)."""
    tmp = path.with_name(path.name + ".tmp")
    df.to_parquet(tmp, index=False)
    _replace(tmp, path)


def _mask_text(text):
    from analysis.masking import mask_text

    return mask_text(text) if text else text


def _mask_array(arr: pa.Array) -> pa.Array:
    from analysis.masking import mask_series

    s = pd.Series(arr.to_pylist(), dtype="string")
    return pa.array(mask_series(s).astype(object).where(s.notna(), None).tolist(), pa.string())


def write_clean(con, expr, src: Source, columns: list[str], labels: dict[int, str], path: Path, mask_cols: list[str]) -> int:
    """Stream the clean rows of ``expr`` (``_file``, ``_line`` and the typed ``columns``) to ``path``."""
    schema = _schema(src)
    names = pa.array([labels[i] for i in range(len(labels))], pa.string())
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with pq.ParquetWriter(tmp, schema, compression="snappy") as writer:
        for batch in record_batches(con, expr, BATCH):
            if not batch.num_rows:
                continue
            arrays = {"source_file": names.take(batch.column("_file")), "source_line": batch.column("_line").cast(pa.int64())}
            for c in columns:
                a = batch.column(c)
                if c in mask_cols:
                    a = _mask_array(a)
                arrays[c] = a
            table = pa.table([arrays[f.name].cast(f.type) for f in schema], schema=schema)
            writer.write_table(table)
            n += batch.num_rows
    _replace(tmp, path)
    return n


def write_rejected(con, expr, src: Source, labels: dict[int, str], staged: list, path: Path, mask_cols: list[str]) -> int:
    """Stream the rejected rows of ``expr`` and the staged malformed records to one CSV at ``path``
    (through :func:`analysis.rejects.stream_csv`, a batch at a time): file, line, reason, the
    original cells and, for records that could not be split into fields, the raw record; every
    cell masked. No rejected row: no file. Returns the number of rows written."""
    from analysis.rejects import stream_csv

    cols = list(src.columns)
    malformed = any(st.malformed for st in staged)
    header = ["file", "line", "reason", *cols, *(["raw_record"] if malformed else [])]
    with stream_csv(path, header) as out:
        raw_names = [f"_raw_{c}" for c in cols]
        for batch in record_batches(con, expr, BATCH // 4):
            if not batch.num_rows:
                continue
            data = {name: batch.column(name) for name in batch.schema.names}
            # Rejected rows are few and any cell may hold what should not be there (a phone number
            # typed as an outlet id): every cell is masked, and the reason, which quotes values.
            for c in cols:
                data[f"_raw_{c}"] = _mask_array(data[f"_raw_{c}"])
            data["_reason"] = _mask_array(data["_reason"])
            rows = zip(
                (labels[i] for i in data["_file"].to_pylist()),
                data["_line"].to_pylist(),
                data["_reason"].to_pylist(),
                *[data[r].to_pylist() for r in raw_names],
            )
            for row in rows:
                out.write([*row, *([""] if malformed else [])])
        for st in staged:
            if not st.malformed:
                continue
            pf = pq.ParquetFile(st.malformed_parquet)
            for batch in pf.iter_batches(batch_size=50_000):
                raw = _mask_array(batch.column("raw_record"))
                for line, reason, text in zip(batch.column("line").to_pylist(), batch.column("reason").to_pylist(), raw.to_pylist()):
                    out.write([st.label, line, _mask_text(reason), *[""] * len(cols), text or ""])
    return out.rows

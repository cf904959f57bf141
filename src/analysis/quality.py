"""Data quality of the cleaned sources: row accounting, rejection reasons, coverage, suspicious values.

Everything here reads what ``clean`` wrote (the clean tables and ``clean_report.json``) and returns
DataFrames; the data-quality notebook shows them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis import config
from analysis.clean.engine import load_clean_report, load_table
from analysis.clean.sources import Source, load_sources

ROBUST_Z_LIMIT = 5.0  # |value - median| / (1.4826 MAD) beyond this is listed as suspicious
JUMP_LIMIT = 0.5  # a month-end balance moving by more than 50% in a month is listed
GROUP_COLUMNS = ("outlet_id", "sub_branch_id", "unit_id", "entity", "bank", "metric")  # "the same unit"
MIN_GROUP = 6  # fewer values than this say nothing about what is usual


def accounting(processed_dir: Path | str = config.PROCESSED_DIR) -> pd.DataFrame:
    """Per source: files, rows in, clean, rejected and the rejected share."""
    report = load_clean_report(processed_dir)
    rows = [
        {
            "source": name,
            "title": r["title"],
            "files": len(r["files"]),
            "rows_in": r["rows_in"],
            "clean": r["clean"],
            "rejected": r["rejected"],
        }
        for name, r in report.items()
    ]
    out = pd.DataFrame(rows)
    out["rejected_share"] = out["rejected"] / out["rows_in"].where(out["rows_in"] > 0)
    out.attrs["absent"] = absent_optional_columns(processed_dir, [n for n, r in report.items() if r["rows_in"]])
    return out


def absent_optional_columns(processed_dir: Path | str, names) -> dict[str, list[str]]:
    """Per source, the titles of the optional columns (``required: false``) the export lacked: empty
    in every clean record (a file without the column gives empty cells). The pages say "not in this
    export" for the figures that need them."""
    import pyarrow.parquet as pq

    sources = load_sources()
    out: dict[str, list[str]] = {}
    for name in names:
        src = sources.get(name)
        path = config.table_path(name, processed_dir)
        optional = [c for c, col in src.columns.items() if not col.required] if src else []
        if not optional or not path.exists():
            continue
        t = pq.read_table(path, columns=[c for c in optional if c in pq.read_schema(path).names])
        gone = [src.columns[c].title for c in optional if c not in t.column_names or t[c].null_count == t.num_rows]
        if gone and t.num_rows:
            out[name] = gone
    return out


def file_accounting(processed_dir: Path | str = config.PROCESSED_DIR) -> pd.DataFrame:
    """Per file (or sheet): encoding, header line, rows in / clean / rejected, blank rows, ignored columns,
    and what the reader repaired (``notes``, e.g. "merged cells filled: 12 cell(s) in 3 merged range(s)")."""
    report = load_clean_report(processed_dir)
    rows = []
    for name, r in report.items():
        for f in r["files"]:
            rows.append(
                {
                    "source": name,
                    "file": f["file"],
                    "encoding": f["encoding"] or "xlsx",
                    "header_line": f["header_line"],
                    "rows_in": f["rows_in"],
                    "clean": f["clean"],
                    "rejected": f["rejected"],
                    "blank_rows": f["blank_rows"],
                    "ignored_columns": ", ".join(f["ignored_columns"]),
                    "notes": "; ".join(f.get("notes") or []),
                }
            )
    return pd.DataFrame(rows)


def rejection_reasons(processed_dir: Path | str = config.PROCESSED_DIR) -> pd.DataFrame:
    """Rejected rows by source and kind of reason, most frequent first."""
    report = load_clean_report(processed_dir)
    rows = [{"source": name, "reason": reason, "rows": n} for name, r in report.items() for reason, n in r["reasons"].items()]
    if not rows:
        return pd.DataFrame(columns=["source", "reason", "rows"])
    return pd.DataFrame(rows).sort_values(["rows", "source"], ascending=[False, True], ignore_index=True)


def rejected_examples(source: str, processed_dir: Path | str = config.PROCESSED_DIR, n: int = 5) -> pd.DataFrame:
    """The first rejected rows of a source as written to ``rejected/<source>.csv``: file, line, reason,
    and the row's non-empty original values as ``field=value`` pairs.

    Only the source's own columns (and ``raw_record``, a record that could not be split) are shown: a
    column the schema does not know (a 客户姓名 an export added) is dropped, whatever wrote the file.
    Values and reasons pass through :func:`analysis.masking.mask_series` again on their way to the page
    (masking is idempotent): the page shows free text, and a reason can quote a value."""
    from analysis.masking import mask_series

    path = config.rejected_dir(processed_dir) / f"{source}.csv"
    if not path.exists():
        return pd.DataFrame(columns=["file", "line", "reason", "original"])
    rej = pd.read_csv(path, encoding="utf-8-sig", dtype=str, nrows=n, keep_default_na=False)
    sources = load_sources()
    known = sources[source].columns if source in sources else {}
    fields = [c for c in rej.columns if c in known or c == "raw_record"]
    masked = pd.DataFrame({c: mask_series(rej[c]).fillna("") for c in fields}, index=rej.index)
    original = masked.apply(lambda r: "  ".join(f"{k}={v}" for k, v in r.items() if v != ""), axis=1) if fields else pd.Series("", index=rej.index)
    out = rej[["file", "line"]].assign(reason=mask_series(rej["reason"]).fillna(""))
    return out.assign(original=original if len(rej) else pd.Series(dtype=str))


def _time_column(src: Source) -> str | None:
    for kind in ("month", "date", "datetime"):
        for name, col in src.columns.items():
            if col.type == kind and not col.nullable:
                return name
    return None


def _unit_column(src: Source) -> str | None:
    for name in ("outlet_id", "unit_id", "sub_branch_id"):
        if name in src.columns:
            return name
    return None


def _records_per_unit_month(path: Path, unit: str, when: str, kind: str) -> pd.DataFrame:
    """Clean records per unit and month of one table, counted on the engine (an event table of
    millions of rows is never loaded): columns unit, month, records."""
    from analysis.events import engine as eng

    con = eng.connect("duckdb")
    with eng.quiet_library_warnings():
        t = eng.source_table(con, path, [unit, when], source_name=path.stem)
        month = t[when] if kind == "month" else t[when].strftime("%Y-%m")
        out = t.filter(t[unit].notnull() & t[when].notnull()).group_by(unit=t[unit], month=month).aggregate(records=t[when].count()).to_pandas()
    return out.astype({"unit": "string", "month": "string", "records": "int64"})


def coverage(processed_dir: Path | str = config.PROCESSED_DIR) -> pd.DataFrame:
    """Clean records per source × sub-branch × month (long form), for every source that has both a
    unit and a time column. Sources by year only (mystery shopper rounds, surveys) use their dates."""
    sources = load_sources()
    outlets = load_table("outlets", processed_dir)[["outlet_id", "sub_branch_id"]]
    frames = []
    for name, src in sources.items():
        unit, when = _unit_column(src), _time_column(src)
        if unit is None or when is None or not config.table_path(name, processed_dir).exists():
            continue
        counts = _records_per_unit_month(config.table_path(name, processed_dir), unit, when, src.columns[when].type)
        if counts.empty:
            continue
        sb = counts["unit"] if unit == "sub_branch_id" else counts["unit"].map(outlets.set_index("outlet_id")["sub_branch_id"])
        g = pd.DataFrame({"source": name, "sub_branch_id": sb, "month": counts["month"], "records": counts["records"]}).dropna()
        frames.append(g.groupby(["source", "sub_branch_id", "month"], as_index=False)["records"].sum())
    if not frames:
        return pd.DataFrame(columns=["source", "sub_branch_id", "month", "records"])
    return pd.concat(frames, ignore_index=True).sort_values(["source", "sub_branch_id", "month"], ignore_index=True)


def coverage_gaps(cov: pd.DataFrame, processed_dir: Path | str = config.PROCESSED_DIR) -> pd.DataFrame:
    """Sub-branch × month cells with no record in a source although the source has data for that month
    elsewhere: a missing export, not a quiet month. Only sources declared ``coverage: monthly``."""
    if cov.empty:
        return pd.DataFrame(columns=["source", "sub_branch_id", "month"])
    units = load_table("outlets", processed_dir)["sub_branch_id"].drop_duplicates()
    sources = load_sources()
    gaps = []
    for source, g in cov.groupby("source"):
        if sources[source].coverage != "monthly":  # sparse sources (complaints, media) have quiet months
            continue
        months = g["month"].unique()
        full = pd.MultiIndex.from_product([units, months], names=["sub_branch_id", "month"])
        have = pd.MultiIndex.from_frame(g[["sub_branch_id", "month"]])
        missing = full.difference(have)
        if len(missing):
            gaps.append(missing.to_frame(index=False).assign(source=source))
    if not gaps:
        return pd.DataFrame(columns=["source", "sub_branch_id", "month"])
    return pd.concat(gaps, ignore_index=True)[["source", "sub_branch_id", "month"]].sort_values(["source", "sub_branch_id", "month"], ignore_index=True)


def suspicious_values(processed_dir: Path | str = config.PROCESSED_DIR, limit: float = ROBUST_Z_LIMIT) -> pd.DataFrame:
    """Values that passed validation but sit far from the same unit's other values in that column
    (robust z-score beyond ``limit``), and month-end balances that jump by more than half in a month.
    Listed for a human to check, not rejected."""
    sources = load_sources()
    rows = []
    for name, src in sources.items():
        if not config.table_path(name, processed_dir).exists():
            continue
        numeric = [c for c, d in src.columns.items() if d.type in ("number", "int", "percent") and c not in ("year", "round")]
        # Event logs (a record per ticket, call or rating: the sources with a time of day) are
        # judged in aggregate by their own pages, not value by value.
        if not numeric or any(d.type == "datetime" for d in src.columns.values()):
            continue
        t = load_table(name, processed_dir)
        # A big flagship outlet is not an outlier: compare each value with the same unit's other values
        # (and, in long-form tables, the same metric's).
        keys = [c for c in GROUP_COLUMNS if c in t]
        groups = t.groupby(keys, sort=False, dropna=False).indices.values() if keys else [np.arange(len(t))]
        for c in numeric:
            x_all = pd.to_numeric(t[c], errors="coerce").astype("float64")
            for idx in groups:
                x = x_all.iloc[idx]
                med = x.median()
                mad = (x - med).abs().median() * 1.4826
                if x.notna().sum() < MIN_GROUP or not np.isfinite(mad) or mad == 0:
                    continue
                z = (x - med) / mad
                for j in np.flatnonzero((z.abs() > limit).fillna(False).to_numpy()):
                    i = int(idx[j])
                    rows.append(_suspect(name, src, t, i, c, x_all.iloc[i], f"far from the same unit's median {med:,.0f} (robust z {z.iloc[j]:+.1f})" if abs(med) >= 100 else f"far from the same unit's median {med:,.2f} (robust z {z.iloc[j]:+.1f})", abs(z.iloc[j])))
    rows.extend(_balance_jumps(processed_dir, sources))
    cols = ["source", "file", "line", "unit", "column", "value", "why", "severity"]
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame(rows, columns=cols).sort_values("severity", ascending=False, ignore_index=True)


def _suspect(name, src, t, i, column, value, why, severity) -> dict:
    unit_col = _unit_column(src)
    return {
        "source": name,
        "file": t["source_file"].iloc[i],
        "line": int(t["source_line"].iloc[i]),
        "unit": t[unit_col].iloc[i] if unit_col else "",
        "column": f"{column} ({src.columns[column].title})",
        "value": value,
        "why": why,
        "severity": float(severity),
    }


def _balance_jumps(processed_dir, sources) -> list[dict]:
    if "business" not in sources or not config.table_path("business", processed_dir).exists():
        return []
    src = sources["business"]
    t = load_table("business", processed_dir).sort_values(["outlet_id", "month"]).reset_index(drop=True)
    rows = []
    for c in ("personal_deposits", "vip_customers"):
        prev = t.groupby("outlet_id")[c].shift()
        change = (t[c] - prev) / prev.where(prev > 0)
        for i in np.flatnonzero((change.abs() > JUMP_LIMIT).fillna(False).to_numpy()):
            rows.append(_suspect("business", src, t, i, c, t[c].iloc[i], f"moved {change.iloc[i]:+.0%} on the month before ({prev.iloc[i]:,.0f})", 10 * abs(change.iloc[i])))
    return rows


def summary(acc: pd.DataFrame) -> str:
    """One paragraph for the reader: how much was read, kept and rejected."""
    total, clean, rejected = int(acc["rows_in"].sum()), int(acc["clean"].sum()), int(acc["rejected"].sum())
    worst = acc.sort_values("rejected_share", ascending=False).iloc[0]
    text = (
        f"{len(acc)} 个数据源共读入 **{total:,}** 行：**{clean:,}** 行通过清洗，**{rejected:,}** 行被剔除"
        f"（{rejected / total:.2%}），每一行都附原因写入 `rejected/<数据源>.csv`，读入 = 通过 + 剔除，无一遗漏。"
    )
    if rejected:
        text += f" 剔除比例最高的是{worst['title']}（{worst['source']}）：{int(worst['rejected']):,} / {int(worst['rows_in']):,} 行。"
    absent = acc.attrs.get("absent") or {}
    if absent:
        from analysis.report.display import not_in_export

        titles = dict(zip(acc["source"], acc["title"]))
        text += " " + not_in_export("；".join(f"{titles.get(n, n)}的{'、'.join(cols)}" for n, cols in absent.items()),
                                    "这些可选列照常读入为空，需要它们的数字在各页注明，不以0代替")
    return text

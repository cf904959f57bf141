"""Any complaint export in, the canonical complaint table out, every record accounted for, masked.

    res = load_complaints("exports/complaints.csv", load_mapping("cfpb_classic"))
    res.table      # clean records, canonical fields, personal data masked, source_file/source_line
    res.rejected   # file, line, reason, the original fields the mapping reads (masked), raw_record for unsplittable ones
    res.rows_in == len(res.table) + len(res.rejected)   # always (checked: AccountingError otherwise)

Reading goes through :mod:`analysis.io.read` (encoding detection, header search, line numbers, records
cut off mid-field returned apart) and values through :mod:`analysis.io.parse`. A record is rejected,
with its line and every reason, when its received date is empty or unparseable, another date or a
yes/no cell is unparseable, it was resolved before it was received, a required cell is empty, or its
complaint_id repeats an earlier line's (the first one stays). When the export has no complaint id,
stable ids are generated from the record's content and line (``G-`` + 16 characters), so a rerun on
the same file gives the same ids.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.clean.sources import header_key
from analysis.complaints.mapping import CANONICAL, TITLES, TYPES, ComplaintMapping, load_mapping
from analysis.io import parse
from analysis.io.read import RawTable, SourceError, read_tables
from analysis.masking import find_personal_numbers, mask_series
from analysis.rejects import Reason, Rejected

TEXT_FIELDS = ("unit_id", "channel", "category", "cause", "description")
DTYPES = {"id": "string", "name": "string", "text": "string", "bool": "boolean", "datetime": "datetime64[ns]"}


@dataclass
class LoadResult:
    table: pd.DataFrame
    rejected: pd.DataFrame
    rows_in: int
    mapping: ComplaintMapping
    files: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # mapped optional fields no table had: "not in this export"

    @property
    def collector(self) -> Rejected:
        """The rejected records in the one collector (:class:`analysis.rejects.Rejected`), counted by reason."""
        rej = Rejected(self.files[0]["file"] if self.files else "")
        if not self.rejected.empty:
            rej.add_frame(self.rejected, kinds="reason_kind", codes="reason_code")
        return rej

    @property
    def reasons(self) -> dict[str, int]:
        """Rejections by kind, most first (a record with two problems counts under both)."""
        return dict(self.collector.texts.most_common())

    def summary(self) -> str:
        return f"records in {self.rows_in:,} = clean {len(self.table):,} + rejected {len(self.rejected):,}"


def _stable_id(prefix: str, text: str) -> str:
    digest = hashlib.sha1(text.encode("utf-8")).digest()[:10]
    return prefix + base64.b32encode(digest).decode("ascii")


def _missing(s: pd.Series) -> pd.Series:
    return s.isna() | s.str.lower().isin(parse.MISSING_TOKENS)


def _parse_dates(s: pd.Series, formats: list[str]) -> tuple[pd.Series, pd.Series]:
    if not formats:
        return parse.parse_datetime(s)
    text = parse.normalize_text(s)
    missing = _missing(text)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    for fmt in formats:
        todo = out.isna() & ~missing
        if not todo.any():
            break
        out[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce").astype("datetime64[ns]")
    errors = pd.Series(pd.NA, index=s.index, dtype="string")
    bad = out.isna() & ~missing
    errors[bad] = f"not a date in the form {' or '.join(formats)}: " + text[bad].map(repr)
    return out, errors


def _parse_labels(s: pd.Series, values: dict[str, str] | None, closed: bool) -> tuple[pd.Series, pd.Series | None]:
    labels = parse.normalize_name(s)
    labels = labels.mask(_missing(labels))
    if not values:
        return labels, None
    lookup = {parse.nfkc(k).lower(): v for k, v in values.items()}
    mapped = labels.str.lower().map(lookup).astype("string")
    if closed:  # a label outside the list is kept, as unmapped (issue 11; as the clean door does)
        mapped = mapped.mask(mapped.isna() & labels.notna(), "unmapped")
    else:
        mapped = mapped.fillna(labels)
    return mapped, None


def closest_headers(header: str, candidates: list[str], n: int = 3) -> list[str]:
    """The candidates most like ``header`` (compared the way headers are matched), best first."""
    import difflib

    keyed = {header_key(c): c for c in candidates}
    return [keyed[k] for k in difflib.get_close_matches(header_key(header), list(keyed), n=n, cutoff=0.4)]


def _locate(raw: RawTable, m: ComplaintMapping) -> dict[str, int]:
    """Canonical field -> position of its column in this table. Every missing required column is
    named in one error, with the headers found and, for each, the found headers closest to it."""
    keys = [header_key(h) for h in raw.header]
    pos: dict[str, int] = {}
    missing: list[str] = []
    for canon in m.columns:
        accepted = {header_key(h) for h in m.headers(canon)}
        hits = [i for i, k in enumerate(keys) if k in accepted]
        if not hits:
            if canon not in m.optional:
                missing.append(canon)
            continue
        if len(hits) > 1:
            raise SourceError(raw.path, f"two columns match {canon}: {[raw.header[i] for i in hits]}", column=raw.header[hits[1]])
        pos[canon] = hits[0]
    if missing:
        found = [h for h in raw.header if h]
        parts = []
        for canon in missing:
            expected = m.headers(canon)
            near = list(dict.fromkeys(c for h in expected for c in closest_headers(h, found)))
            hint = f" (closest headers found: {', '.join(repr(h) for h in near)})" if near else ""
            parts.append(f"{canon} ({TITLES[canon]}): expects {' / '.join(repr(h) for h in expected)}{hint}")
        raise SourceError(
            raw.path,
            f"{len(missing)} required column(s) not found with mapping {m.name!r}: " + "; ".join(parts)
            + f". Headers found: {found}. (Only the date and the category are needed to read an export; "
            "list other columns under 'optional:' in the mapping, or run `python -m analysis inspect` on the file.)",
            column=m.headers(missing[0])[0],
        )
    return pos


def _header_names(header: list[str]) -> list[str]:
    names, seen = [], {}
    for i, h in enumerate(header):
        h = h or f"column_{i + 1}"
        if h in seen:
            seen[h] += 1
            h = f"{h}_{seen[h]}"
        else:
            seen[h] = 1
        names.append(h)
    return names


def _implausible_dates(typed: pd.DataFrame, add) -> None:
    """The clean door's date rules (issue 11): after today is in the future; before the column's
    ``earliest`` in sources/complaints.yaml (1990-01-01 unless it says otherwise) is not plausible."""
    from analysis.clean.rules import DEFAULT_EARLIEST
    from analysis.clean.sources import load_sources

    columns = load_sources()["complaints"].columns
    today = pd.Timestamp.today().normalize()
    for canon in ("received_at", "resolved_at"):
        col = columns.get(canon)
        first = pd.Timestamp((col.earliest if col is not None else None) or DEFAULT_EARLIEST)
        label, when = f"{canon} ({TITLES[canon]})", typed[canon]
        add((when >= today + pd.Timedelta(days=1)).fillna(False), f"{label}: in the future", f"{label}: after today ({today:%Y-%m-%d}), in the future: " + when.dt.strftime("%Y-%m-%d %H:%M:%S").fillna(""), Reason.IN_FUTURE)
        add((when < first).fillna(False), f"{label}: before {first:%Y-%m-%d}", f"{label}: before {first:%Y-%m-%d}, not plausible: " + when.dt.strftime("%Y-%m-%d").fillna(""), Reason.TOO_EARLY)


def _read_one(raw: RawTable, m: ComplaintMapping):
    """Parse one table. Returns typed fields, original cells, per-row reasons and whether ids are given."""
    pos = _locate(raw, m)
    n = len(raw.cells)
    index = pd.RangeIndex(n)
    original = pd.DataFrame({name: raw.cells[i].astype("string") for i, name in enumerate(_header_names(raw.header))}, index=index)
    reasons: dict[int, list[tuple[str, str, str]]] = {}  # row -> (kind, message, reason code)

    def add(mask: pd.Series, kind: str, messages: pd.Series | str, reason: Reason | None = None) -> None:
        code = (reason or Reason.of_text(kind)).code  # a kind of the closed set, or its code given
        for i in np.flatnonzero(mask.to_numpy(dtype=bool, na_value=False)):
            msg = messages if isinstance(messages, str) else messages.iloc[i]
            reasons.setdefault(int(i), []).append((kind, msg, code))

    typed = pd.DataFrame(index=index)
    formats = m.date_formats()
    for canon in CANONICAL:
        kind = TYPES[canon]
        if canon not in pos:
            typed[canon] = pd.Series(pd.NA if kind != "datetime" else pd.NaT, index=index, dtype=DTYPES[kind])
            continue
        cells = raw.cells[pos[canon]].astype("string")
        errors = None
        if canon == "unit_id":
            # An outlet code (33180101, or 33180101.0 from Excel) or a company name (Wells Fargo & Company):
            # spaces between words stay, stray spaces between Chinese characters go.
            values = parse.normalize_name(cells).str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
            values = values.mask(_missing(values))
        elif kind == "id":
            values = parse.normalize_id(cells)
            values = values.mask(_missing(values))
        elif kind == "text":
            values = parse.normalize_text(cells)
            values = values.mask(_missing(values))
        elif kind == "name":
            values, errors = _parse_labels(cells, m.values.get(canon), m.closed_values)
        elif kind == "bool":
            values, errors = parse.parse_bool(cells)
        else:
            values, errors = _parse_dates(cells, formats)
        typed[canon] = values.astype(DTYPES[kind])
        label = f"{canon} ({TITLES[canon]})"
        if errors is not None:
            bad = errors.notna()
            add(bad, Reason.UNREADABLE.en(column=canon), label + ": " + errors.fillna(""))
        required = canon == "received_at" or canon in m.not_empty or canon == "complaint_id"
        if required:
            add(typed[canon].isna() & (errors.isna() if errors is not None else True), Reason.MISSING.en(column=canon), f"{label}: empty, but required")

    late = (typed["received_at"] - typed["resolved_at"]).dt.total_seconds() > 0
    add(late.fillna(False), Reason.RESOLVED_BEFORE_RECEIVED.en(), "resolved_at (办结时间) is before received_at (受理时间): impossible")
    _implausible_dates(typed, add)

    lines = pd.Series(raw.lines, index=index, dtype="int64")
    if "complaint_id" not in pos:
        content = original.fillna("").agg("\x1f".join, axis=1) if n else pd.Series([], dtype="string")
        typed["complaint_id"] = pd.Series(
            [_stable_id("G-", f"{line}\x1e{c}") for line, c in zip(lines, content)], index=index, dtype="string"
        )
    typed.insert(len(typed.columns), "source_file", pd.Series(raw.label, index=index, dtype="string"))
    typed.insert(len(typed.columns), "source_line", lines)
    # The original cells go out with rejected records: only the columns the mapping reads. A column it
    # does not know (a 客户姓名 an export added) is dropped from every output, never masked as a guess.
    original = original.iloc[:, sorted(pos.values())]
    return typed, original, reasons, "complaint_id" in pos


def load_complaints(path: Path | str, mapping: ComplaintMapping | str | None = None) -> LoadResult:
    """Read one export (CSV in any usual encoding, or a workbook) through ``mapping``."""
    path = Path(path)
    m = mapping if isinstance(mapping, ComplaintMapping) else load_mapping(mapping)
    all_headers = {header_key(h) for c in m.columns for h in m.headers(c)}

    def score(header: list[str]) -> int:
        return sum(header_key(h) in all_headers for h in header)

    tables = read_tables(path, header_score=score)
    usable = [t for t in tables if score(t.header) > 0]
    if not usable:
        from analysis.io.read import header_text

        first = header_text(tables[0].header) if tables else "[]"
        raise SourceError(path, f"no header matches mapping {m.name!r}; first header row: {first}")

    warnings: list[str] = []
    typed_parts, rejected_parts, files = [], [], []
    rows_in = 0
    present: set[str] = set()
    for raw in usable:
        typed, original, reasons, has_ids = _read_one(raw, m)
        present.update(_locate(raw, m))
        n = len(typed)
        ok = ~typed.index.isin(list(reasons))
        if has_ids:
            ids = typed["complaint_id"]
            seen = ids[ok].dropna()
            dup = seen.duplicated(keep="first")
            if dup.any():
                first_line = typed.loc[seen.index, "source_line"].groupby(seen.values).transform("first")
                for i in seen.index[dup]:
                    reasons.setdefault(int(i), []).append(
                        (Reason.DUPLICATE_ID.en(column="complaint_id"), f"duplicate: complaint_id {ids[i]!r} repeats line {first_line[i]}", Reason.DUPLICATE_ID.code)
                    )
        else:
            same = original.fillna("\x00").duplicated(keep=False)
            if same.any():
                warnings.append(
                    f"{raw.label}: {int(original.fillna(chr(0)).duplicated().sum())} record(s) identical to an earlier line; kept "
                    "(the export has no complaint id to tell repeats from distinct complaints)"
                )
        bad = typed.index.isin(list(reasons))
        part = typed[~bad]
        typed_parts.append(part)
        rej = original[bad].copy()
        rej.insert(0, "reason_code", pd.Series({i: "; ".join(c for _, _, c in reasons[i]) for i in np.flatnonzero(bad)}, dtype="string"))
        rej.insert(0, "reason_kind", pd.Series({i: "; ".join(k for k, _, _ in reasons[i]) for i in np.flatnonzero(bad)}, dtype="string"))
        rej.insert(0, "reason", pd.Series({i: "; ".join(msg for _, msg, _ in reasons[i]) for i in np.flatnonzero(bad)}, dtype="string"))
        rej.insert(0, "line", typed.loc[bad, "source_line"])
        rej.insert(0, "file", raw.label)
        if raw.malformed:
            mal = pd.DataFrame(
                {
                    "file": raw.label,
                    "line": [x.line for x in raw.malformed],
                    "reason": [x.reason for x in raw.malformed],
                    "reason_kind": Reason.MALFORMED.en(),
                    "reason_code": Reason.MALFORMED.code,
                    "raw_record": [x.text for x in raw.malformed],
                }
            )
            rej = pd.concat([rej, mal], ignore_index=True)
        rejected_parts.append(rej)
        file_rows = n + len(raw.malformed)
        rows_in += file_rows
        files.append({"file": raw.label, "encoding": raw.encoding, "header_line": raw.header_line, "rows_in": file_rows,
                      "clean": len(part), "rejected": len(rej), "ids": "given" if has_ids else "generated"})
        if not has_ids:
            warnings.append(f"{raw.label}: no complaint id column; stable ids generated from each record's content and line")

    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            if fh.tell():
                fh.seek(-1, 2)
                if fh.read(1) not in (b"\n", b"\r"):
                    warnings.append(
                        f"{path.name}: the file does not end with a line break; if the export was cut off, its last record may be incomplete"
                    )

    table = pd.concat(typed_parts, ignore_index=True)
    rejected = pd.concat(rejected_parts, ignore_index=True) if rejected_parts else pd.DataFrame()
    # Ids are unique across sheets too.
    if any(f["ids"] == "given" for f in files) and len(usable) > 1:
        dup = table["complaint_id"].duplicated(keep="first")
        if dup.any():
            first = table.groupby("complaint_id", sort=False)[["source_file", "source_line"]].transform("first")
            moved = table[dup]
            extra = pd.DataFrame({
                "file": moved["source_file"], "line": moved["source_line"],
                "reason": "duplicate: complaint_id " + moved["complaint_id"] + " repeats " + first.loc[dup, "source_file"] + " line " + first.loc[dup, "source_line"].astype("string"),
                "reason_kind": Reason.DUPLICATE_ID.en(column="complaint_id"),
                "reason_code": Reason.DUPLICATE_ID.code,
            })
            for c in CANONICAL:
                extra[c] = moved[c].astype("string")
            rejected = pd.concat([rejected, extra], ignore_index=True)
            table = table[~dup].reset_index(drop=True)
            for f in files:
                k = int((moved["source_file"] == f["file"]).sum())
                f["clean"] -= k
                f["rejected"] += k

    table, n_ids = _mask_table(table)
    if n_ids:
        warnings.append(f"{n_ids} complaint id(s) contained a personal number; replaced by stable ids 'M-...'")
    rejected = _mask_rejected(rejected)
    collector = Rejected(path)
    collector.add_frame(rejected, kinds="reason_kind", codes="reason_code")
    collector.check(rows_in, len(table))
    absent = [c for c in CANONICAL if c not in present and c != "complaint_id"]
    needed = [c for c in absent if c in ("responsible", "major", "escalated", "resolved_at")]
    if needed:
        warnings.append(
            f"{path.name}: not in this export: {', '.join(f'{c} ({TITLES[c]})' for c in needed)}; "
            "the figures that need them say 'not in this export'"
        )
    table = table.reset_index(drop=True)
    table.attrs["absent_columns"] = absent
    return LoadResult(table, rejected.reset_index(drop=True), rows_in, m, files, warnings, absent)


def _mask_table(table: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    table = table.copy()
    for c in TEXT_FIELDS:
        table[c] = mask_series(table[c])
    ids = table["complaint_id"]
    personal = ids.notna() & ids.map(lambda v: bool(find_personal_numbers(v)) if isinstance(v, str) else False).astype(bool)
    if personal.any():
        table.loc[personal, "complaint_id"] = ids[personal].map(lambda v: _stable_id("M-", v))
    return table, int(personal.sum())


def _mask_rejected(rej: pd.DataFrame) -> pd.DataFrame:
    """Every field of a rejected record is masked (they are the original cells, any could hold a number)."""
    rej = rej.copy()
    for c in rej.columns:
        if c in ("file", "line", "reason_kind", "reason_code"):
            continue
        rej[c] = mask_series(rej[c].astype("string"))
    return rej


def counts_by(table: pd.DataFrame, column: str, missing_label: str = "(missing)") -> pd.DataFrame:
    """Complaints per value of ``column``, most first; missing values are a row of their own, never dropped."""
    s = table[column].astype("string").fillna(missing_label)
    out = s.value_counts().rename_axis(column).reset_index(name="complaints")
    return out.sort_values(["complaints", column], ascending=[False, True], kind="stable").reset_index(drop=True)


def write_outputs(res: LoadResult, out_dir: Path | str) -> dict[str, Path]:
    """complaints.parquet (clean, masked), rejected.csv, by_category.csv and by_unit.csv in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "complaints": out / "complaints.parquet",
        "rejected": out / "rejected.csv",
        "by_category": out / "by_category.csv",
        "by_unit": out / "by_unit.csv",
    }
    res.table.to_parquet(paths["complaints"], index=False)
    res.collector.write_csv(paths["rejected"], drop=["reason_kind", "reason_code"], empty=pd.DataFrame(columns=["file", "line", "reason"]))
    from analysis.report.excel import write_csv

    write_csv(counts_by(res.table, "category"), paths["by_category"])
    write_csv(counts_by(res.table, "unit_id"), paths["by_unit"])
    return paths

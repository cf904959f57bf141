"""Reading exported tables (CSV in any of the usual encodings, .xlsx workbooks) cell for cell as text.

Nothing is interpreted here: every cell comes back as a string, every record keeps the line (CSV) or
row (Excel) it came from, and records that cannot be split into fields (a file cut off mid-record, a
row with too many cells) are returned apart as malformed, with their line and the reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import InputError
from analysis.io.encoding import EncodingError, decode_lines

HEADER_SEARCH_ROWS = 10  # a title or a blank line may sit above the header in hand-made exports
_DELIMITERS = ",\t;|"


class SourceError(InputError):
    """A problem that stops loading a file: unreadable, or a required column missing.

    The message always names the file (and the column or row when there is one).
    """

    def __init__(self, path: Path | str, message: str, *, column: str | None = None, line: int | None = None):
        super().__init__(message, path=path, line=line, column=column)


@dataclass
class Malformed:
    line: int
    text: str
    reason: str


def header_text(header: list[str], limit: int = 20) -> str:
    """A header row for an error message: its non-empty cells (with their column numbers when some
    are empty), at most ``limit`` of them -- a sheet whose one cell is at XFD has 16,383 empty ones."""
    named = [(i + 1, h) for i, h in enumerate(header) if str(h).strip()]
    if len(named) == len(header):
        shown = [repr(h) for _, h in named[:limit]]
    else:
        shown = [f"column {i}: {h!r}" for i, h in named[:limit]]
    more = f", ... ({len(named) - limit} more)" if len(named) > limit else ""
    return "[" + ", ".join(shown) + more + "]" + (f" ({len(header) - len(named)} empty)" if len(named) < len(header) else "")


@dataclass
class RawTable:
    """One sheet or CSV file as text."""

    path: Path
    sheet: str | None
    header: list[str]
    header_line: int
    cells: pd.DataFrame  # object columns named by position 0..n-1, one row per record
    lines: list[int]  # where each record starts (1-based line or sheet row)
    malformed: list[Malformed] = field(default_factory=list)
    blank_rows: int = 0
    encoding: str | None = None
    delimiter: str | None = None  # CSV only
    notes: list[str] = field(default_factory=list)  # what the reader repaired (merged cells filled, ...)

    @property
    def label(self) -> str:
        return f"{self.path.name}[{self.sheet}]" if self.sheet else self.path.name


HeaderScore = Callable[[list[str]], int]
Record = tuple[int, list[str]]


def _pick_header(records: list[Record], score: HeaderScore | None) -> int:
    """Index of the header record: the first non-blank one, or the best-scoring among the first rows."""
    candidates = [i for i, (_, r) in enumerate(records[:HEADER_SEARCH_ROWS]) if any(c.strip() for c in r)]
    if not candidates:
        return -1
    if score is None:
        return candidates[0]
    best = max(candidates, key=lambda i: (score(records[i][1]), -i))
    return best if score(records[best][1]) > 0 else candidates[0]


def _build(path, sheet, records, score, encoding, malformed_seed=(), *, header_at: int | None = None,
           bad: dict[int, str] | None = None, text_of: Callable[[int], str] | None = None,
           delimiter: str | None = None, notes: list[str] | None = None) -> RawTable:
    """Header, cells and malformed records from split records. ``bad``: record start line -> reason it
    is rejected whatever its fields (an undecodable byte, a formula without a value)."""
    malformed = list(malformed_seed)
    bad = bad or {}
    h = _pick_header(records, score) if header_at is None else header_at
    if h < 0:
        raise SourceError(path, "the file has no header row (it is empty)")
    header_line, header = records[h]
    header = [c.strip() for c in header]
    while header and not header[-1]:
        header.pop()
    width = len(header)
    rows, lines, blank = [], [], 0
    body = records[h + 1 :]
    for k, (line, rec) in enumerate(body):
        if line in bad:
            malformed.append(Malformed(line, text_of(line) if text_of else _join(rec), bad[line]))
            continue
        if not any(c.strip() for c in rec):
            blank += 1
            continue
        if len(rec) > width and not any(c.strip() for c in rec[width:]):
            rec = rec[:width]
        if len(rec) != width:
            last = k == len(body) - 1
            reason = f"record has {len(rec)} fields, the header has {width}"
            if last and len(rec) < width:
                reason += " (the file looks cut off)"
            malformed.append(Malformed(line, text_of(line) if text_of else _join(rec), reason))
            continue
        rows.append(rec)
        lines.append(line)
    cells = pd.DataFrame(rows, columns=range(width), dtype=object) if rows else pd.DataFrame(columns=range(width), dtype=object)
    return RawTable(Path(path), sheet, header, header_line, cells, lines, malformed, blank, encoding, delimiter, list(notes or []))


def _join(rec: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(rec)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------- CSV
# The reader keeps physical records apart. A quoted field may span lines (CFPB narratives do), but a
# quote that does not close where a quoted field closes (before a delimiter or the line's end) is text:
#   - ``"金钥匙"理财收益`` (a quote followed by more text): the field is read literally, quotes kept;
#   - ``"95599,网点,...`` (a quote still open at the end of the line): when the next line is a
#     well-formed record on its own, the field ends with its line and is read literally (``"95599``
#     stays ``"95599``: an unknown value, not a call centre); otherwise the field continues on the
#     next lines, and if it never closes properly before a well-formed line, the record falls back to
#     its own line, read literally, and the following lines are read as records of their own;
#   - a quote still open at the end of a file that does not end with a line break: the file looks cut
#     off; that record (from its first line to the end) is malformed.
# No limit on the size of a field (the csv module stops at 131,072 characters).

def _fields_one_line(line: str, d: str, strict: bool) -> list[str] | None:
    """The fields of one physical line. A quote that does not close properly is text (``strict``:
    return None instead, and for a quote inside an unquoted field too).

    Why a strictly well-formed line is never the last line of a multi-line quoted field: every
    quote of such a line belongs to a properly quoted field, so it holds an even number of quotes;
    the last line of a multi-line field holds the field's doubled quotes (even), its closing quote
    and the rest of a valid record (even): an odd number."""
    if '"' not in line:
        return line.split(d)
    out: list[str] = []
    pos, n = 0, len(line)
    while True:
        if line.startswith('"', pos):
            k, pieces = pos + 1, []
            while True:
                q = line.find('"', k)
                if q < 0:
                    break  # open at the end of the line
                if line.startswith('"', q + 1):
                    pieces.append(line[k : q + 1])
                    k = q + 2
                    continue
                if q + 1 == n or line[q + 1] == d:
                    pieces.append(line[k:q])
                    break
                q = -2  # a quote followed by text: not a quoted field
                break
            if q >= 0:
                out.append("".join(pieces))
                if q + 1 == n:
                    return out
                pos = q + 2
                continue
            if strict:
                return None
        e = line.find(d, pos)
        if strict and '"' in (line[pos:] if e < 0 else line[pos:e]):
            return None  # a bare quote inside a field: not a line that stands on its own
        if e < 0:
            out.append(line[pos:])
            return out
        out.append(line[pos:e])
        pos = e + 1
        if pos == n:
            out.append("")
            return out


def _well_formed(line: str, d: str, width: int) -> bool:
    """A line that is a complete record on its own: every quote closes properly and it has the
    header's number of fields (extra empty ones allowed, as Excel writes them)."""
    f = _fields_one_line(line, d, strict=True)
    if f is None or len(f) < width:
        return False
    return len(f) == width or not any(c.strip() for c in f[width:])


MAX_SPAN_LINES = 5_000  # a quoted field longer than this many lines is taken for a stray quote


def _parse_record(lines: list[str], i: int, d: str, width: int, ends_with_newline: bool = True) -> tuple[list[str], int, str | None]:
    """The record starting at physical line ``i``: its fields, the index of the line after it, and
    (when the file is cut off inside an open quote) why it is malformed. Works line by line: a long
    multi-line field costs its length, not its length squared."""

    def literal() -> tuple[list[str], int, None]:  # the record is line i, its quotes read as text
        return _fields_one_line(lines[i], d, strict=False), i + 1, None

    def finish(out: list[str]):
        if j > i and not _width_ok(out, width):
            return literal()
        return out, j + 1, None

    j, cur, pos, out = i, lines[i], 0, []
    while True:
        if cur.startswith('"', pos):
            field_line, k, pieces = j, pos + 1, []
            while True:
                q = cur.find('"', k)
                if q < 0:  # still open at the end of physical line j
                    if j + 1 >= len(lines):
                        if not ends_with_newline:  # cut off inside the field
                            return ["\n".join(lines[i : j + 1])], j + 1, "a quoted field is still open at the end of the file (the file looks cut off)"
                        return literal()
                    if j - i >= MAX_SPAN_LINES or _well_formed(lines[j + 1], d, width):
                        return literal()
                    pieces.append(cur[k:])
                    pieces.append("\n")
                    j, cur, k = j + 1, lines[j + 1], 0
                    continue
                if cur.startswith('"', q + 1):  # a doubled quote inside the field
                    pieces.append(cur[k : q + 1])
                    k = q + 2
                    continue
                if q + 1 == len(cur) or cur[q + 1] == d:  # the field closes
                    pieces.append(cur[k:q])
                    out.append("".join(pieces))
                    if q + 1 == len(cur):
                        return finish(out)
                    pos = q + 2
                    break
                # A quote followed by text: not a quoted field. On its own line it is text up to the
                # next delimiter; after spanning lines, the whole record falls back to its first line.
                if j > field_line:
                    return literal()
                e = cur.find(d, pos)
                if e < 0:
                    out.append(cur[pos:])
                    return finish(out)
                out.append(cur[pos:e])
                pos = e + 1
                break
            if pos == len(cur):
                out.append("")
                return finish(out)
            continue
        e = cur.find(d, pos)
        if e < 0:
            out.append(cur[pos:])
            return finish(out)
        out.append(cur[pos:e])
        pos = e + 1
        if pos == len(cur):
            out.append("")
            return finish(out)


def _width_ok(fields: list[str], width: int) -> bool:
    return len(fields) == width or (len(fields) > width and not any(c.strip() for c in fields[width:]))


def split_records(lines: list[str], d: str, width: int, ends_with_newline: bool = True) -> tuple[list[tuple[int, int, list[str]]], dict[int, str]]:
    """Physical lines -> records ``(first line index, index after the last line, fields)`` and the
    records that the end of the file cut off (first line index -> reason)."""
    out: list[tuple[int, int, list[str]]] = []
    cut: dict[int, str] = {}
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if '"' not in line:
            out.append((i, i + 1, line.split(d)))
            i += 1
            continue
        try:  # the common case, a line whose quoted fields all close on it: the csv module's C parser
            out.append((i, i + 1, next(csv.reader((line,), delimiter=d, strict=True))))
            i += 1
            continue
        except (csv.Error, StopIteration):  # open at the end of the line, a stray quote, a huge field
            pass
        fields, nxt, reason = _parse_record(lines, i, d, width, ends_with_newline)
        if reason:
            cut[i] = reason
        out.append((i, nxt, fields))
        i = nxt
    return out, cut


def _header_width(lines: list[str], d: str) -> tuple[int, int]:
    """(index, field count) of the first line among the first rows with more than one field."""
    seen = 0
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        f = _fields_one_line(line, d, strict=False)
        if len(f) > 1:
            return i, len(f)
        seen += 1
        if seen >= HEADER_SEARCH_ROWS:
            break
    return -1, 1


def sniff_delimiter(lines: list[str], probe: int = 30) -> str:
    """The delimiter that splits the header and the lines after it into the same number of fields.

    For each candidate the header is the first line it splits into more than one field; the score is
    how many of the next records (quote-aware, multi-line fields joined) have exactly that many. A
    description with many ``;`` in one line does not make ``;`` win: the other lines disagree."""
    best, best_key = ",", (-1, -1)
    for rank, d in enumerate(_DELIMITERS):
        h, width = _header_width(lines, d)
        if h < 0:
            continue
        sample = lines[h + 1 : h + 1 + probe * 4]
        recs, _ = split_records(sample, d, width)
        recs = [r for r in recs[:probe] if any(c.strip() for c in r[2])]
        agree = sum(_width_ok(r[2], width) for r in recs)
        key = (agree + 1, -rank)  # +1: the header itself agrees
        if key > best_key:
            best, best_key = d, key
    return best


def read_csv_text(path: Path | str, data: bytes | None = None, header_score: HeaderScore | None = None) -> RawTable:
    path = Path(path)
    try:
        data = path.read_bytes() if data is None else data
    except OSError as exc:
        raise SourceError(path, f"cannot read the file ({exc.strerror or exc})") from exc
    try:
        decoded = decode_lines(data)
    except (EncodingError, UnicodeDecodeError) as exc:
        raise SourceError(path, str(exc).split(": ", 1)[-1]) from exc
    lines = decoded.lines
    d = sniff_delimiter(lines)
    # Find the header among the first rows (split line by line), then split the whole file with the
    # header's width: the width is what tells a well-formed line from the inside of a quoted field.
    first = [(i + 1, _fields_one_line(ln, d, strict=False)) for i, ln in enumerate(lines[: HEADER_SEARCH_ROWS * 4])]
    h = _pick_header(first, header_score)
    if h < 0:
        raise SourceError(path, "the file has no header row (it is empty)")
    header_line = first[h][0]
    width = len(first[h][1])
    while width > 1 and not first[h][1][width - 1].strip():
        width -= 1
    recs, cut = split_records(lines, d, width, decoded.ends_with_newline)
    records: list[Record] = [(start + 1, fields) for start, _, fields in recs]
    spans = {start + 1: nxt for start, nxt, _ in recs if nxt - start > 1}
    bad: dict[int, str] = {start + 1: reason for start, reason in cut.items()}
    if decoded.bad:  # each undecodable line rejects the record it is in
        import bisect

        starts = [start for start, _, _ in recs]
        per_record: dict[int, list[str]] = {}
        for k in sorted(decoded.bad):
            r = starts[bisect.bisect_right(starts, k) - 1]
            per_record.setdefault(r + 1, []).append(f"line {k + 1}: {decoded.bad[k]}")
        for line, reasons in per_record.items():
            bad[line] = "; ".join(reasons) + " (the record is rejected, the rest of the file is read)"
    header_at = next((k for k, (line, _) in enumerate(records) if line == header_line), None)
    if header_at is None:  # the header line was inside a record spanning lines: take that record
        header_at = max(k for k, (line, _) in enumerate(records) if line <= header_line)

    def text_of(line: int) -> str:
        return "\n".join(lines[line - 1 : spans.get(line, line)])

    return _build(path, None, records, None, decoded.encoding, header_at=header_at, bad=bad, text_of=text_of, delimiter=d)


# ------------------------------------------------------------------------------------------- Excel
def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d") if v.time() == dt.time(0) else v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, dt.time):
        return v.strftime("%H:%M:%S")
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _sheet_extras(wb, ws) -> tuple[list[str], dict[int, list[str]]]:
    """Merged ranges (``A2:A4``) and formula cells without a cached value (row -> cell references),
    from one streaming pass over the sheet's XML (openpyxl's read-only mode reads neither)."""
    from xml.etree.ElementTree import iterparse

    merged: list[str] = []
    formulas: dict[int, list[str]] = {}
    path = getattr(ws, "_worksheet_path", None)
    archive = getattr(wb, "_archive", None)
    if path is None or archive is None:
        return merged, formulas
    with archive.open(path) as src:
        for _, el in iterparse(src, events=("end",)):
            tag = el.tag
            if tag == _NS + "c":
                f = el.find(_NS + "f")
                if f is not None:
                    v = el.find(_NS + "v")
                    # No cached value: no <v>, or an empty one (openpyxl writes <v/>), unless the
                    # formula is a text one whose cached value is "" (t="str").
                    if v is None or (not v.text and el.get("t") != "str"):
                        ref = el.get("r", "")
                        row = int("".join(ch for ch in ref if ch.isdigit()) or 0)
                        formulas.setdefault(row, []).append(ref)
                el.clear()
            elif tag == _NS + "row":
                el.clear()
            elif tag == _NS + "mergeCell":
                merged.append(el.get("ref", ""))
    return merged, formulas


def _fill_merged(records: list[Record], merged: list[str], header_line: int) -> str | None:
    """Give every cell of a merged range below the header its range's value (openpyxl reads them as
    empty). Rows that hold nothing of their own stay blank. Returns the note, or None."""
    from openpyxl.utils.cell import range_boundaries

    by_row = {line: rec for line, rec in records}
    filled, ranges = 0, 0
    for ref in merged:
        try:
            c1, r1, c2, r2 = range_boundaries(ref)
        except (ValueError, TypeError):
            continue
        if r1 <= header_line or (r2 - r1 + 1) * (c2 - c1 + 1) > 1_000_000:
            continue
        top = by_row.get(r1)
        value = top[c1 - 1] if top is not None and len(top) >= c1 else ""
        if not value.strip():
            continue
        n = 0
        for r in range(r1, r2 + 1):
            rec = by_row.get(r)
            if rec is None or not any(c.strip() for c in rec):
                continue
            if len(rec) < c2:
                rec.extend([""] * (c2 - len(rec)))
            for c in range(c1, c2 + 1):
                if (r, c) != (r1, c1) and not rec[c - 1].strip():
                    rec[c - 1] = value
                    n += 1
        if n:
            filled += n
            ranges += 1
    if not filled:
        return None
    return f"merged cells filled: {filled} cell(s) in {ranges} merged range(s) took their range's value"


def read_xlsx_sheets(path: Path | str, header_score: HeaderScore | None = None) -> Iterator[RawTable]:
    """Every non-empty sheet of a workbook, as text. Formulas give their cached values; a formula
    without one rejects its row; merged cells take their range's value. The sheet's extent is what its
    rows hold, not the dimension it declares (a stray cell at XFD1048576 allocates nothing)."""
    from openpyxl import load_workbook

    path = Path(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise SourceError(path, f"cannot read the workbook ({type(exc).__name__}: {exc})") from exc
    try:
        for ws in wb.worksheets:
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()  # read what the rows hold, not the declared A1:XFD1048576
                ws._min_row = ws._min_column = 1
            records: list[Record] = []
            for i, row in enumerate(ws.iter_rows(min_row=1, min_col=1, values_only=True), start=1):
                if not any(v is not None and str(v).strip() for v in row):
                    continue  # blank rows are counted from the gaps between records below
                records.append((i, [_cell_text(v) for v in row]))
            if not records:
                continue
            try:
                merged, formulas = _sheet_extras(wb, ws)
            except Exception as exc:  # a damaged sheet part
                raise SourceError(path, f"cannot read sheet {ws.title!r} ({type(exc).__name__}: {exc})") from exc
            h = _pick_header(records, header_score)
            header_line = records[h][0]
            notes = []
            note = _fill_merged(records, merged, header_line)
            if note:
                notes.append(note)
            bad = {row: f"formula without a value in {', '.join(refs)} (the workbook was never calculated; open and save it in Excel, or enter the value)"
                   for row, refs in formulas.items() if row > header_line}
            # Blank rows between the header and the last record (not the trailing ones up to a
            # declared dimension, which are no part of the table).
            blank = sum(records[k + 1][0] - records[k][0] - 1 for k in range(h, len(records) - 1))
            t = _build(path, ws.title, records, None, None, header_at=h, bad=bad, notes=notes)
            t.blank_rows += blank
            yield t
    finally:
        wb.close()


def read_tables(path: Path | str, header_score: HeaderScore | None = None) -> list[RawTable]:
    """All tables in a file: one for a CSV, one per non-empty sheet for a workbook."""
    path = Path(path)
    if not path.exists():
        raise SourceError(path, "file not found")
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return list(read_xlsx_sheets(path, header_score))
    if suffix in {".csv", ".txt", ".tsv"}:
        return [read_csv_text(path, header_score=header_score)]
    raise SourceError(path, f"unsupported file type {suffix!r} (expected .csv or .xlsx)")

"""Reading exported tables (CSV in any of the usual encodings, .xlsx workbooks) cell for cell as text.

Nothing is interpreted here: every cell comes back as a string, every record keeps the line (CSV) or
row (Excel) it came from, and records that cannot be split into fields (a file cut off mid-record, a
row with too many cells) are returned apart as malformed, with their line and the reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.io.encoding import decode_bytes

HEADER_SEARCH_ROWS = 10  # a title or a blank line may sit above the header in hand-made exports
_DELIMITERS = ",\t;|"


class SourceError(Exception):
    """A problem that stops loading a file: unreadable, or a required column missing.

    The message always names the file (and the column or row when there is one).
    """

    def __init__(self, path: Path | str, message: str, *, column: str | None = None, line: int | None = None):
        self.path = str(path)
        self.message = message
        self.column = column
        self.line = line
        where = self.path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")

    def __reduce__(self):
        # Picklable, so an error raised while cleaning in a worker process reaches the command line.
        return (functools.partial(SourceError, column=self.column, line=self.line), (self.path, self.message))


@dataclass
class Malformed:
    line: int
    text: str
    reason: str


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

    @property
    def label(self) -> str:
        return f"{self.path.name}[{self.sheet}]" if self.sheet else self.path.name


HeaderScore = Callable[[list[str]], int]


def _pick_header(records: list[tuple[int, list[str]]], score: HeaderScore | None) -> int:
    """Index of the header record: the first non-blank one, or the best-scoring among the first rows."""
    candidates = [i for i, (_, r) in enumerate(records[:HEADER_SEARCH_ROWS]) if any(c.strip() for c in r)]
    if not candidates:
        return -1
    if score is None:
        return candidates[0]
    best = max(candidates, key=lambda i: (score(records[i][1]), -i))
    return best if score(records[best][1]) > 0 else candidates[0]


def _build(path, sheet, records, score, encoding, malformed_seed=()) -> RawTable:
    malformed = list(malformed_seed)
    h = _pick_header(records, score)
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
            malformed.append(Malformed(line, _join(rec), reason))
            continue
        rows.append(rec)
        lines.append(line)
    cells = pd.DataFrame(rows, columns=range(width), dtype=object) if rows else pd.DataFrame(columns=range(width), dtype=object)
    return RawTable(Path(path), sheet, header, header_line, cells, lines, malformed, blank, encoding)


def _join(rec: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(rec)
    return buf.getvalue()


def _sniff_delimiter(text: str) -> str:
    first = text.split("\n", HEADER_SEARCH_ROWS)[:HEADER_SEARCH_ROWS]
    counts = {d: max((ln.count(d) for ln in first), default=0) for d in _DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _csv_records(text: str) -> tuple[list[tuple[int, list[str]]], list[Malformed]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text), strict=True)
    records: list[tuple[int, list[str]]] = []
    malformed: list[Malformed] = []
    start = 1
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # An unterminated quote: everything from the start of this record to the end of the file.
            tail = "\n".join(text.splitlines()[start - 1 :])
            malformed.append(Malformed(start, tail[:500], f"malformed record ({exc}); the file looks cut off"))
            break
        records.append((start, rec))
        start = reader.line_num + 1
    return records, malformed


def read_csv_text(path: Path | str, data: bytes | None = None, header_score: HeaderScore | None = None) -> RawTable:
    path = Path(path)
    try:
        data = path.read_bytes() if data is None else data
    except OSError as exc:
        raise SourceError(path, f"cannot read the file ({exc.strerror or exc})") from exc
    try:
        text, encoding = decode_bytes(data, str(path))
    except ValueError as exc:
        raise SourceError(path, str(exc).split(": ", 1)[-1]) from exc
    records, malformed = _csv_records(text)
    return _build(path, None, records, header_score, encoding, malformed)


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


def read_xlsx_sheets(path: Path | str, header_score: HeaderScore | None = None) -> Iterator[RawTable]:
    """Every non-empty sheet of a workbook, as text. Formulas give their cached values."""
    from openpyxl import load_workbook

    path = Path(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise SourceError(path, f"cannot read the workbook ({type(exc).__name__}: {exc})") from exc
    try:
        for ws in wb.worksheets:
            records = [
                (i, [_cell_text(v) for v in row])
                for i, row in enumerate(ws.iter_rows(values_only=True), start=1)
            ]
            if not any(any(c.strip() for c in r) for _, r in records):
                continue
            yield _build(path, ws.title, records, header_score, None)
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


# ------------------------------------------------------------------ record rules, for the staging step
def sniff_delimiter(text: str) -> str:
    """The field delimiter of a CSV text (from its first lines)."""
    return _sniff_delimiter(text)


def pick_header(records: list[tuple[int, list[str]]], score: HeaderScore | None) -> int:
    """Index of the header among ``records`` (see :func:`read_csv_text`)."""
    return _pick_header(records, score)


def split_records(text: str, delimiter: str, first_line: int = 1) -> tuple[list[tuple[int, list[str]]], list[Malformed]]:
    """CSV ``text`` split into records by the reader's rules, each with the line it starts on
    (``first_line`` is the line number of the text's first line)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    malformed: list[Malformed] = []
    start = 1
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            tail = "\n".join(text.splitlines()[start - 1 :])
            malformed.append(Malformed(start + first_line - 1, tail[:500], f"malformed record ({exc}); the file looks cut off"))
            break
        records.append((start + first_line - 1, rec))
        start = reader.line_num + 1
    return records, malformed


def join_record(rec: list[str], delimiter: str = ",") -> str:
    """A record as one CSV line (for showing a malformed record)."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="").writerow(rec)
    return buf.getvalue()

"""Staging: one raw export file into a Parquet file of text cells, streamed, with every record's line.

The first half of the clean door (the second is :mod:`analysis.clean.rules`, which parses and checks
the staged cells on DuckDB or Spark). Staging does only what an engine cannot:

- decoding: UTF-8 (with or without BOM) is read as is; GB18030/GBK is transcoded chunk by chunk
  (chunks end at a newline byte, which is never inside a multi-byte character in either encoding),
  so no file is ever whole in memory. A line with bytes that are neither is a malformed record with
  its line number, not a refused file;
- splitting records: a line without a quote character that has the header's number of fields is a
  record (Arrow splits millions of these at C speed); every other line (quotes, a wrong field count)
  goes through :func:`analysis.io.read.split_records`, the same record rules as for small files, so a
  quoted field may span lines while one unbalanced quote cannot swallow the records after it;
- the header: found among the first lines (a title row above it is skipped), matched through the
  source's aliases; columns the source does not know are dropped here and never reach an output;
- NFKC: only cells beyond ASCII, once per distinct value, kept beside the original text
  (``<column>__n``), so rejected rows can show what the file really held.

Excel sheets are read cell for cell by :func:`analysis.io.read.read_tables` and staged the same way.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analysis.clean.sources import Source, header_key
from analysis.errors import InvariantError
from analysis.io import read as rd
from analysis.io.read import SourceError

CHUNK_BYTES = 16 << 20
BATCH_ROWS = 1 << 20
LINE = "_line"
NORM = "__n"  # suffix of the NFKC form of a column (null where NFKC changes nothing)
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_BAD_BYTES = re.compile("[\udc80-\udcff]")


@dataclass
class Staged:
    """One staged table (a CSV file or a workbook sheet)."""

    file: Path
    sheet: str | None
    label: str
    encoding: str | None
    header_line: int
    header: list[str]
    columns: list[str]  # canonical columns present in the file
    ignored: list[str]  # headers the source does not know (dropped)
    parquet: Path
    malformed_parquet: Path
    rows: int = 0  # records staged (well-formed)
    malformed: int = 0
    blank_rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return self.rows + self.malformed


def normalize_cell(text: str) -> str:
    """NFKC with zero-width characters removed (trimming and whitespace runs are the engine's)."""
    return _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text))


def staged_schema(columns: list[str]) -> pa.Schema:
    fields = [pa.field(LINE, pa.int64())]
    for c in columns:
        fields += [pa.field(c, pa.string()), pa.field(c + NORM, pa.string())]
    return pa.schema(fields)


MALFORMED_SCHEMA = pa.schema([pa.field("line", pa.int64()), pa.field("reason", pa.string()), pa.field("raw_record", pa.string())])


def _with_norm(arrays: dict[str, pa.Array], lines: pa.Array, columns: list[str]) -> pa.Table:
    """A staged batch: each column's text and its NFKC form where that differs."""
    out = {LINE: lines}
    for c in columns:
        a = arrays[c]
        out[c] = a
        wide = pc.invert(pc.string_is_ascii(a))
        if not pc.any(wide).as_py():
            out[c + NORM] = pa.nulls(len(a), pa.string())
            continue
        uniq = pc.unique(a.filter(wide))
        normed = pa.array([normalize_cell(u) for u in uniq.to_pylist()], pa.string())
        changed = pc.not_equal(uniq, normed)
        idx = pc.index_in(a, value_set=uniq)
        mapped = pc.take(pc.if_else(changed, normed, pa.nulls(len(normed), pa.string())), idx)
        out[c + NORM] = pc.if_else(wide, mapped, pa.nulls(len(a), pa.string()))
    return pa.table(out, schema=staged_schema(columns))


class _Writer:
    """Staged batches and malformed records to their Parquet files, a batch at a time."""

    def __init__(self, st: Staged):
        self.st = st
        self.rows = pq.ParquetWriter(st.parquet, staged_schema(st.columns), compression="none")
        self.bad = pq.ParquetWriter(st.malformed_parquet, MALFORMED_SCHEMA, compression="snappy")
        self.pending: list[tuple[int, str, str]] = []

    def records(self, arrays: dict[str, pa.Array], lines: pa.Array) -> None:
        if len(lines):
            self.rows.write_table(_with_norm(arrays, lines, self.st.columns))
            self.st.rows += len(lines)

    def malformed(self, line: int, reason: str, text: str) -> None:
        self.pending.append((line, reason, text))
        self.st.malformed += 1
        if len(self.pending) >= 10_000:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            lines, reasons, texts = zip(*self.pending)
            self.bad.write_table(pa.table({"line": pa.array(lines, pa.int64()), "reason": pa.array(reasons, pa.string()), "raw_record": pa.array(texts, pa.string())}))
            self.pending = []

    def close(self) -> None:
        self._flush()
        self.rows.close()
        self.bad.close()


# ------------------------------------------------------------------------------------------- header
def match_columns(src: Source, path: Path, header: list[str]) -> tuple[dict[int, str], list[str]]:
    """Header positions -> canonical columns, and the headers the source does not know. Every
    required column that is missing is named in one error, with the closest headers found."""
    mapping = src.match_headers(header)
    present = list(mapping.values())
    dup = sorted({c for c in present if present.count(c) > 1})
    if dup:
        raise SourceError(path, f"two headers map to the same column ({', '.join(h for i, h in enumerate(header) if mapping.get(i) in dup)})", column=dup[0])
    missing = [n for n, col in src.columns.items() if col.required and n not in present]
    if missing:
        found = [h for h in header if h]
        parts = []
        for n in missing:
            col = src.columns[n]
            close = difflib.get_close_matches(header_key(col.title), [header_key(h) for h in found], n=1, cutoff=0.5)
            hint = f"; closest header found: {found[[header_key(h) for h in found].index(close[0])]!r}" if close else ""
            parts.append(f"{n} ({col.title}; accepted headers: {', '.join([col.title, *col.aliases])}{hint})")
        raise SourceError(path, f"required column(s) missing: {'; '.join(parts)}. Headers found: {found}. Add the export's header as an alias in sources/{src.name}.yaml or pass a mapping", column=missing[0])
    ignored = [h for i, h in enumerate(header) if i not in mapping and h]
    return mapping, ignored


# ---------------------------------------------------------------------------------------------- CSV
def _detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    cut = head.rfind(b"\n")
    sample = head[: cut + 1] if cut >= 0 else head
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    text = sample.decode("gb18030", "surrogateescape")
    bad_gb = len(_BAD_BYTES.findall(text))
    bad_u8 = len(_BAD_BYTES.findall(sample.decode("utf-8", "surrogateescape")))
    return "gb18030" if bad_gb <= bad_u8 else "utf-8"


def _byte_chunks(path: Path, size: int = CHUNK_BYTES):
    """The file in chunks that end just after a newline byte (the last may not)."""
    with open(path, "rb") as f:
        rest = b""
        while True:
            block = f.read(size)
            if not block:
                if rest:
                    yield rest
                return
            block = rest + block
            cut = block.rfind(b"\n")
            if cut < 0:
                rest = block
                continue
            yield block[: cut + 1]
            rest = block[cut + 1 :]


class _Decoder:
    """Bytes of one file to text lines, with the encoding decided on the first non-ASCII chunk
    (an ASCII prefix reads the same in UTF-8 and GB18030)."""

    def __init__(self, encoding: str):
        self.encoding = encoding
        self.decided = encoding != "utf-8"

    def lines(self, chunk: bytes) -> tuple[pa.Array, dict[int, str]]:
        """The chunk's lines (without line ends) as Arrow strings, and the undecodable ones by index."""
        if self.encoding == "utf-16":
            raise InvariantError("utf-16 is staged through the small-file reader")
        if self.encoding in ("utf-8", "utf-8-sig"):
            try:
                arr = pa.array([chunk], pa.binary()).cast(pa.string())
                return _split_lines(arr), {}
            except pa.ArrowInvalid:
                if not self.decided:
                    self.decided = True
                    self.encoding = _detect_encoding(chunk) if not chunk.isascii() else self.encoding
                    if self.encoding != "utf-8":
                        return self.lines(chunk)
        self.decided = True
        text = chunk.decode("gb18030" if self.encoding == "gb18030" else "utf-8", "surrogateescape")
        bad: dict[int, str] = {}
        if _BAD_BYTES.search(text):
            parts = text.split("\n")
            for i, p in enumerate(parts):
                if _BAD_BYTES.search(p):
                    bad[i] = p.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                    parts[i] = ""
            text = "\n".join(parts)
        return _split_lines(pa.array([text], pa.string())), bad


def _split_lines(arr: pa.Array) -> pa.Array:
    lines = pc.split_pattern(arr, "\n").flatten()
    if len(lines) and lines[-1].as_py() == "":
        lines = lines.slice(0, len(lines) - 1)
    return pc.utf8_rtrim(lines, characters="\r")


def _stage_csv(src: Source, path: Path, st_paths: tuple[Path, Path]) -> Staged:
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    encoding = _detect_encoding(head)
    if encoding == "utf-16":  # rare and small: the small-file reader decodes it whole
        return _stage_tables(src, path, st_paths)
    dec = _Decoder(encoding)
    body_path = path
    if encoding == "gb18030":
        fast = _iconv(path, st_paths[0].with_suffix(".utf8"))
        if fast is not None:  # the whole file is valid GB18030: read its UTF-8 copy
            body_path, dec = fast, _Decoder("utf-8")
            dec.decided = True
    skip_bom = encoding == "utf-8-sig"
    head_text = head[3:] if skip_bom else head
    cut = head_text.rfind(b"\n")
    head_text = (head_text[: cut + 1] if cut >= 0 else head_text).decode("gb18030" if encoding == "gb18030" else "utf-8", "replace")
    head_lines = [ln.rstrip("\r") for ln in head_text.split("\n")]
    delim = rd.sniff_delimiter(head_lines)
    records = [(i + 1, rd._fields_one_line(ln, delim, strict=False)) for i, ln in enumerate(head_lines[: rd.HEADER_SEARCH_ROWS * 4])]
    h = rd._pick_header(records, src.header_score)
    if h < 0:
        raise SourceError(path, "the file has no header row (it is empty)")
    header_line, header = records[h]
    header = [c.strip() for c in header]
    while header and not header[-1]:
        header.pop()
    if src.header_score(header) == 0:
        raise SourceError(path, f"no header matches source {src.name!r}; first header row: {header}")
    mapping, ignored = match_columns(src, path, header)
    width = len(header)
    st = Staged(path, None, path.name, encoding, header_line, header, list(mapping.values()), ignored, *st_paths)
    w = _Writer(st)
    base = 0  # lines before this chunk
    carry: list[tuple[int, str]] = []  # special lines waiting for the next chunk (an open quote)
    try:
        first = True
        chunks = _byte_chunks(body_path)
        nxt = next(chunks, None)
        while nxt is not None:
            chunk, nxt = nxt, next(chunks, None)
            final = nxt is None
            if first and skip_bom:
                chunk = chunk[3:]
            first = False
            lines, undecodable = dec.lines(chunk)
            n = len(lines)
            numbers = np.arange(base + 1, base + n + 1, dtype=np.int64)
            body = numbers > header_line
            fields = pc.split_pattern(lines, delim)
            ok = pc.and_(pc.equal(pc.list_value_length(fields), width), pc.invert(pc.match_substring(lines, '"')))
            blank = pc.equal(pc.utf8_trim_whitespace(pc.replace_substring(lines, delim, "")), "")
            blankn = blank.to_numpy(zero_copy_only=False) & body
            okn = ok.to_numpy(zero_copy_only=False) & body & ~blankn
            for i in undecodable:
                okn[i] = blankn[i] = False
            st.blank_rows += int(blankn.sum())
            special = np.flatnonzero(body & ~okn & ~blankn)
            take = pa.array(np.flatnonzero(okn))
            good = pc.take(fields, take)
            arrays = {name: pc.list_element(good, i) for i, name in mapping.items()}
            good_lines = pa.array(numbers[okn])
            # Special lines: in runs of consecutive lines, through the record rules for small files.
            runs = _runs(special, numbers, lines, undecodable, carry)
            carry = []
            for k, run in enumerate(runs):
                ends_chunk = k == len(runs) - 1 and run[-1][0] == base + n
                if ends_chunk and not final and _open_quote(run):
                    carry = run  # may continue in the next chunk
                    continue
                _rescue(run, delim, width, mapping, w, at_end=final and ends_chunk, cut_off=final and ends_chunk and not chunk.endswith(b"\n"))
            for i, text in undecodable.items():
                if numbers[i] > header_line:
                    w.malformed(int(numbers[i]), "bytes that are neither UTF-8 nor GB18030 (the line cannot be read)", text[:500])
            w.records(arrays, good_lines)
            base += n
    finally:
        w.close()
        if body_path != path:
            body_path.unlink(missing_ok=True)
    st.encoding = dec.encoding if body_path == path else encoding
    return st


def _iconv(path: Path, out: Path) -> Path | None:
    """GB18030 -> UTF-8 by the system's iconv (a C stream, ten times Python's codec), or None when
    iconv is missing or the file has bytes that are not GB18030 (then Python's decoder finds the
    lines they are on)."""
    import shutil
    import subprocess

    exe = shutil.which("iconv")
    if exe is None:
        return None
    with open(out, "wb") as fh:
        done = subprocess.run([exe, "-f", "GB18030", "-t", "UTF-8", str(path)], stdout=fh, stderr=subprocess.DEVNULL)
    if done.returncode != 0:
        out.unlink(missing_ok=True)
        return None
    return out


def _open_quote(run: list[tuple[int, str]]) -> bool:
    return sum(t.count('"') for _, t in run) % 2 == 1


def _runs(special: np.ndarray, numbers: np.ndarray, lines: pa.Array, undecodable: dict[int, str], carry: list) -> list[list[tuple[int, str]]]:
    runs: list[list[tuple[int, str]]] = []
    cur: list[tuple[int, str]] = list(carry)
    prev = cur[-1][0] if cur else None
    for i in special:
        if int(i) in undecodable:
            continue
        num = int(numbers[i])
        if cur and prev is not None and num != prev + 1:
            runs.append(cur)
            cur = []
        cur.append((num, lines[int(i)].as_py()))
        prev = num
    if cur:
        runs.append(cur)
    return runs


def _rescue(run: list[tuple[int, str]], delim: str, width: int, mapping: dict[int, str], w: _Writer, at_end: bool = False, cut_off: bool = False) -> None:
    """Lines the fast split could not take, through the small-file record rules
    (:func:`analysis.io.read.split_records`): quoted fields, fields spanning lines, stray quotes."""
    texts = [t for _, t in run]
    recs, cut = rd.split_records(texts, delim, width, ends_with_newline=not cut_off)
    good: list[tuple[int, list[str]]] = []
    for k, (start, nxt, rec) in enumerate(recs):
        line = run[start][0]
        if start in cut:
            w.malformed(line, cut[start], "\n".join(texts[start:nxt])[:500])
            continue
        if not any(c.strip() for c in rec):
            w.st.blank_rows += 1
            continue
        if len(rec) > width and not any(c.strip() for c in rec[width:]):
            rec = rec[:width]
        if len(rec) != width:
            reason = f"record has {len(rec)} fields, the header has {width}"
            if at_end and k == len(recs) - 1 and len(rec) < width:
                reason += " (the file looks cut off)"
            w.malformed(line, reason, _join(rec, delim)[:500])
            continue
        good.append((line, rec))
    if good:
        arrays = {name: pa.array([r[i] for _, r in good], pa.string()) for i, name in mapping.items()}
        w.records(arrays, pa.array([ln for ln, _ in good], pa.int64()))


def _join(rec: list[str], delim: str) -> str:
    import io

    buf = io.StringIO()
    csv.writer(buf, delimiter=delim, lineterminator="").writerow(rec)
    return buf.getvalue()


# ------------------------------------------------------------------------------- workbooks, small CSV
def _stage_tables(src: Source, path: Path, st_paths: tuple[Path, Path]) -> list[Staged] | Staged:
    tables = rd.read_tables(path, header_score=src.header_score)
    usable = [t for t in tables if src.header_score(t.header) > 0]
    if not usable:
        raise SourceError(path, f"no sheet or header matches source {src.name!r}; first header row: {tables[0].header if tables else []}")
    out = []
    for k, raw in enumerate(usable):
        mapping, ignored = match_columns(src, path, raw.header)
        rows_p, bad_p = st_paths
        if k:
            rows_p, bad_p = rows_p.with_name(f"{rows_p.stem}-{k}.parquet"), bad_p.with_name(f"{bad_p.stem}-{k}.parquet")
        st = Staged(path, raw.sheet, raw.label, raw.encoding, raw.header_line, raw.header, list(mapping.values()), ignored, rows_p, bad_p, blank_rows=raw.blank_rows)
        st.notes = list(getattr(raw, "notes", []) or [])
        w = _Writer(st)
        try:
            for start in range(0, max(len(raw.cells), 1), BATCH_ROWS):
                part = raw.cells.iloc[start : start + BATCH_ROWS]
                if not len(part):
                    break
                arrays = {name: pa.array(part[i].astype(object).where(part[i].notna(), "").tolist(), pa.string()) for i, name in mapping.items()}
                w.records(arrays, pa.array(raw.lines[start : start + BATCH_ROWS], pa.int64()))
            for m in raw.malformed:
                w.malformed(m.line, m.reason, m.text[:500])
        finally:
            w.close()
        out.append(st)
    return out if len(out) > 1 or path.suffix.lower() in {".xlsx", ".xlsm"} else out[0]


def stage_file(src: Source, path: Path, workdir: Path, index: int) -> list[Staged]:
    """Stage one raw file of ``src`` into ``workdir``: one :class:`Staged` per table in it."""
    path = Path(path)
    if not path.exists():
        raise SourceError(path, "file not found")
    paths = (workdir / f"{src.name}-{index}.parquet", workdir / f"{src.name}-{index}-malformed.parquet")
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt", ".tsv"}:
        res = _stage_csv(src, path, paths)
    elif suffix in {".xlsx", ".xlsm"}:
        res = _stage_tables(src, path, paths)
    else:
        raise SourceError(path, f"unsupported file type {suffix!r} (expected .csv or .xlsx)")
    return res if isinstance(res, list) else [res]

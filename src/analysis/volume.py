"""Real volume: the sample bank's raw exports at a city branch's or a whole bank's size.

``python -m analysis generate --scale city --out DIR`` writes the same bank as the bundled sample
(:func:`analysis.generate.build_bank`, same seed: 25 sub-branches, 148 outlets) with every small
source exactly as the sample writes it, and the three event sources at a real city branch's volume:
about 15 million queue tickets, 15 million teller ratings and 3 million calls a year, for 2015 and
2016 (``small_2015=True`` keeps 2015 at the sample's size). The event files have the sample's names,
encodings, headers, time spellings and line endings (``排队叫号_2016.csv``: GBK/GB18030, times as
``20160305 091233``), and carry planted defects of every kind at about the sample's rate (one
duplicate, one repeated key, one bad value, ... per 20,000 records), a 合计 row after every month,
odd but valid rows (clock skew), and ``planted_defects.csv`` lists each planted row with its file,
line, what the cleaning step must do with it (reject or keep), a short kind and a fragment of the
reason the engine gives. ``--scale bank --outlets N`` builds a bank of N outlets (the city branch
first, then more city branches drawn the same way) and scales every event source with it.

Speed and memory: nothing is formatted in Python per record. A chunk of about a million records is
drawn with numpy (days in order, so each file is sorted by time as a real export is), every field is
laid out as bytes in a ``(rows, width)`` matrix with a mask of the bytes in use (digits by integer
arithmetic, labels by table look-up of their already encoded bytes, so the GB18030 encoding happens
once per label, not per row), and ``matrix[mask]`` is the chunk's file content, appended to the
file. The few planted rows are spliced in as text. Each chunk has its own random stream (seed, file,
chunk): the same seed and sizes give the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import config
from analysis import generate as g

CHUNK_ROWS = 1_000_000
# A city branch's year: 2016 volumes; 2015 keeps the sample's ratio to 2016.
CITY_2016 = {"queue_tickets": 15_000_000, "teller_ratings": 15_000_000, "calls": 3_000_000}
SAMPLE_OUTLETS = 148
GHOST_OUTLET = f"{g.BRANCH_ID}1099"  # an outlet closed in 2015, no longer in the master data (as in the sample)
# Planted rows per record (the sample's rates: about one of each kind per 20,000 records, a few more
# unknown outlets and impossible times), by source. "skew" rows are odd but valid (kept).
RATES = {
    "queue_tickets": {"duplicate": 1, "repeated_key": 1, "unknown_outlet": 6, "time_order": 4, "not_a_date": 1, "unknown_value": 1, "empty_required": 1, "skew": 8},
    "teller_ratings": {"duplicate": 1, "repeated_key": 1, "unknown_outlet": 2, "not_a_number": 1, "above_maximum": 1, "not_a_date": 1, "empty_required": 1},
    "calls": {"duplicate": 1, "repeated_key": 1, "unknown_value": 1, "time_order": 2, "not_a_date": 1, "empty_required": 1, "skew": 4},
}
RATE_PER = 20_000
# The engine's reason contains this fragment, for each kind (source-specific ones below).
REASONS = {
    "duplicate": "duplicate of line {first}", "repeated_key": "repeats the key", "unknown_outlet": "is not in outlets.outlet_id",
    "not_a_date": "not a date", "unknown_value": "unknown value", "not_a_number": "not a number", "above_maximum": "above the maximum",
    "empty_required": "empty, but required", "time_order": "by more than 60 s", "summary_row": "summary row (合计)", "cut_off": "looks cut off",
}
WHAT = {
    "duplicate": "an exact duplicate row", "repeated_key": "a repeated key with different values", "unknown_outlet": f"outlet {GHOST_OUTLET}, not in the master data",
    "not_a_date": "a date that does not exist (February 30)", "unknown_value": "a label that is not on the list (kept, as unmapped, with its label)", "not_a_number": "a rating label that is not on the list (好评)",
    "above_maximum": "a rating of 6", "empty_required": "a required cell left empty", "time_order": "a time minutes before the one it follows",
    "summary_row": "a 合计 (total) row after the month", "cut_off": "the last record cut off mid-field (a truncated export)", "skew": "a few seconds of clock skew (valid)",
    "still_queued": "neither answered nor abandoned (still queued when the log was cut; valid)",
}


@dataclass
class Plant:
    source: str
    file: str
    line: int
    expect: str  # reject | valid | blank
    kind: str
    reason: str
    what: str


@dataclass
class Written:
    """What :func:`write_volume` wrote: files (name, source, encoding, records, bytes) and planted rows."""

    out: Path
    files: list[tuple[str, str, str, int, int]] = field(default_factory=list)
    planted: list[Plant] = field(default_factory=list)
    seconds: float = 0.0


# ------------------------------------------------------------------------------ bytes, vectorised
_PAIRS = np.array([[48 + i // 10, 48 + i % 10] for i in range(100)], dtype=np.uint8)
_EPOCH_DAY = np.datetime64("1970-01-01", "D")


class _Rows:
    """One chunk's records laid out as bytes: each field a ``(n, width)`` uint8 block, with a mask of
    the bytes used where a field's width varies; :meth:`bytes` joins them row by row."""

    def __init__(self, n: int):
        self.n = n
        self.blocks: list[np.ndarray] = []
        self.masks: list[np.ndarray | None] = []

    def _add(self, block: np.ndarray, mask: np.ndarray | None = None) -> None:
        self.blocks.append(block)
        self.masks.append(mask)

    def const(self, b: bytes, keep: np.ndarray | None = None) -> None:
        if b:
            self._add(np.broadcast_to(np.frombuffer(b, np.uint8), (self.n, len(b))), None if keep is None else np.broadcast_to(keep[:, None], (self.n, len(b))))

    def digits(self, v: np.ndarray, width: int, keep: np.ndarray | None = None) -> None:
        """``v`` (non-negative, below 2**32) as decimal digits, zero-padded to ``width``: two digits per
        division, by table look-up."""
        v = np.asarray(v).astype(np.uint32)
        out = np.empty((self.n, width), np.uint8)
        pos = width
        while pos >= 2:
            out[:, pos - 2 : pos] = _PAIRS[v % 100]
            v = v // 100
            pos -= 2
        if pos:
            out[:, 0] = 48 + v % 10
        self._add(out, None if keep is None else np.broadcast_to(keep[:, None], (self.n, width)))

    def lookup(self, codes: np.ndarray, table: list[bytes], keep: np.ndarray | None = None) -> None:
        w = max(1, max(len(b) for b in table))
        t = np.zeros((len(table), w), np.uint8)
        lens = np.array([len(b) for b in table])
        for i, b in enumerate(table):
            t[i, : len(b)] = np.frombuffer(b, np.uint8)
        mask = None if (lens == w).all() else np.arange(w) < lens[codes][:, None]
        if keep is not None:
            mask = np.broadcast_to(keep[:, None], (self.n, w)) if mask is None else mask & keep[:, None]
        self._add(t[codes], mask)

    def time(self, t: np.ndarray, style: str, keep: np.ndarray | None = None) -> None:
        """Datetimes (datetime64[s]) as the exporting system spells them (:func:`analysis.generate._fmt_times`);
        NaT (or ``keep`` False) is an empty cell. The date part is looked up per day, the time by digit pairs."""
        t = np.asarray(t, dtype="datetime64[s]")
        nat = np.isnat(t)
        keep = ~nat if keep is None else keep & ~nat
        sec = np.where(nat, 0, t.astype(np.int64))
        day = sec // 86400
        lo = int(day[keep].min()) if keep.any() else 0
        hi = int(day[keep].max()) if keep.any() else 0
        day = np.clip(day - lo, 0, hi - lo)
        dates = (_EPOCH_DAY + np.arange(lo, hi + 1)).astype(object)
        sod = (sec % 86400).astype(np.int64)
        h, mi, s = sod // 3600, sod // 60 % 60, sod % 60
        if style == "compact":
            self.lookup(day, [f"{d:%Y%m%d} ".encode() for d in dates], keep)
            self.digits(h, 2, keep), self.digits(mi, 2, keep), self.digits(s, 2, keep)
        elif style == "iso":
            self.lookup(day, [f"{d:%Y-%m-%d} ".encode() for d in dates], keep)
            self.digits(h, 2, keep), self.const(b":", keep), self.digits(mi, 2, keep), self.const(b":", keep), self.digits(s, 2, keep)
        elif style == "slash":
            self.lookup(day, [f"{d.year}/{d.month}/{d.day} ".encode() for d in dates], keep)
            self.lookup(h, [str(i).encode() for i in range(24)], keep)
            self.const(b":", keep), self.digits(mi, 2, keep), self.const(b":", keep), self.digits(s, 2, keep)
        else:
            raise ValueError(style)

    def bytes(self) -> tuple[bytes, np.ndarray]:
        """The chunk's bytes and each record's length."""
        widths = [b.shape[1] for b in self.blocks]
        total = sum(widths)
        mat = np.empty((self.n, total), np.uint8)
        mask = np.ones((self.n, total), bool) if any(m is not None for m in self.masks) else None
        c = 0
        for b, m, w in zip(self.blocks, self.masks, widths):
            mat[:, c : c + w] = b
            if m is not None:
                mask[:, c : c + w] = m
            c += w
        if mask is None:
            return mat.tobytes(), np.full(self.n, total)
        return mat[mask].tobytes(), mask.sum(axis=1)


def _offsets(lengths: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)])


def _csv_line(cells: list[str], newline: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerow(cells)
    return buf.getvalue()


class _File:
    """A CSV file written chunk by chunk, with planted rows spliced in and each record's line counted."""

    def __init__(self, path: Path, source: str, header: list[str], encoding: str, newline: str, bom: bytes = b""):
        self.path, self.source, self.encoding, self.newline = path, source, encoding, newline
        self.fh = open(path, "wb")
        self.fh.write(bom + _csv_line(header, newline).encode(encoding))
        self.line = 2  # the next record's line
        self.records = 0
        self.planted: list[Plant] = []

    def chunk(self, blob: bytes, lengths: np.ndarray, edits: dict[int, list[tuple[list[str] | None, tuple | None]]]) -> None:
        """Write a chunk; ``edits[i]`` replaces record ``i`` by the listed records: ``(cells, plant)``
        where cells None means record ``i`` as it is, and plant is ``(expect, kind, reason, what)`` or None.
        A reason may name ``{first}``: the line of the first record of that list."""
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        pos = 0
        for i in sorted(edits):
            if i > pos:
                self.fh.write(blob[offsets[pos] : offsets[i]])
                self.line += i - pos
                self.records += i - pos
            orig = blob[offsets[i] : offsets[i + 1]]
            first = self.line
            for cells, plant in edits[i]:
                self.fh.write(orig if cells is None else _csv_line(cells, self.newline).encode(self.encoding))
                if plant:
                    expect, kind, reason, what = plant
                    self.planted.append(Plant(self.source, self.path.name, self.line, expect, kind, reason.format(first=first), what))
                self.line += 1
                self.records += 1
            pos = i + 1
        self.fh.write(blob[offsets[pos] :])
        self.line += len(lengths) - pos
        self.records += len(lengths) - pos

    def cells(self, blob: bytes, offsets: np.ndarray, i: int) -> list[str]:
        """Record ``i`` of a chunk as its cells (``offsets``: :func:`_offsets` of the chunk's lengths)."""
        return blob[offsets[i] : offsets[i + 1]].decode(self.encoding).rstrip("\r\n").split(",")

    def cut_last(self, field_from_end: int = 2) -> None:
        """Cut the file off in the middle of the last record's ``field_from_end``-th field from the end
        (no final newline): the record has fewer fields than the header, as a truncated export has."""
        self.fh.flush()
        size = self.fh.tell()
        back = min(size, 4096)
        with open(self.path, "rb") as fh:
            fh.seek(size - back)
            tail = fh.read()
        start = tail.rstrip(b"\r\n").rfind(b"\n") + 1
        rec = tail[start:].rstrip(b"\r\n").decode(self.encoding)
        cells = rec.split(",")
        keep = ",".join(cells[: len(cells) - field_from_end]) + "," + cells[-field_from_end][: max(1, len(cells[-field_from_end]) // 2)]
        self.fh.seek(size - back + start)
        self.fh.truncate()
        self.fh.write(keep.encode(self.encoding))
        self.planted.append(Plant(self.source, self.path.name, self.line - 1, "reject", "cut_off", REASONS["cut_off"], WHAT["cut_off"]))

    def close(self) -> None:
        self.fh.close()


# ------------------------------------------------------------------------------------ the drawing
def _chunks_of_days(rng, n: int, year: int, kind: str, chunk_rows: int):
    """Records per day (multinomial over the year's day weights), grouped into runs of whole days of
    about ``chunk_rows`` records: yields (day index of each record, sorted) per chunk, plus the
    global index of the last record of every month."""
    days, w = g._day_weights(year, kind)
    counts = rng.multinomial(n, w / w.sum())
    month_last = []
    cum = np.cumsum(counts)
    for mo in range(1, 13):
        last = np.flatnonzero(days.month == mo)[-1]
        if counts[days.month == mo].sum():
            month_last.append(int(cum[last]) - 1)
    groups, cur, size = [], [], 0
    for d, c in enumerate(counts):
        cur.append(d)
        size += c
        if size >= chunk_rows:
            groups.append(cur)
            cur, size = [], 0
    if cur:
        groups.append(cur)
    out = [np.repeat(np.array(gr), counts[gr]) for gr in groups]
    return days, w, [o for o in out if len(o)], month_last


def _times(rng, day_idx: np.ndarray, days, w, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Times within the given days (sorted) and each one's relative load, as :func:`generate._sample_times`."""
    hours = g.COUNTER_HOURS if kind == "counter" else g.CALL_HOURS
    n = len(day_idx)
    h = rng.choice(24, size=n, p=hours / hours.sum())
    sec = h * 3600 + rng.integers(0, 3600, size=n)
    order = np.argsort(day_idx.astype(np.int64) * 86400 + sec, kind="stable")
    h, sec = h[order], sec[order]
    t = days.to_numpy().astype("datetime64[s]")[day_idx] + sec.astype("timedelta64[s]")
    hour_mean = (hours[hours > 0] ** 2).sum() / hours.sum()
    day_mean = (w * w).sum() / w.sum()
    return t, (w[day_idx] / day_mean) * (hours[h] / hour_mean)


def _mean_load_power(year: int, kind: str, power: float) -> float:
    """E[load ** power] over a year's records (exactly, from the day and hour weights)."""
    days, w = g._day_weights(year, kind)
    hours = g.COUNTER_HOURS if kind == "counter" else g.CALL_HOURS
    hour_mean = (hours[hours > 0] ** 2).sum() / hours.sum()
    day_mean = (w * w).sum() / w.sum()
    pd_, ph = w / w.sum(), hours / hours.sum()
    return float(((pd_ * (w / day_mean) ** power).sum()) * ((ph * (hours / hour_mean) ** power).sum()))


def _planted_positions(rng, n: int, source: str, reserve_tail: int = 0) -> dict[int, str]:
    """Global record index -> planted kind: each kind about ``RATES[source][kind] / RATE_PER`` of ``n``,
    at least one of each, at distinct records (the last ``reserve_tail`` records left alone)."""
    want = {k: max(1, int(round(n * r / RATE_PER))) for k, r in RATES[source].items()}
    total = sum(want.values())
    span = max(1, n - reserve_tail)
    if total > span:
        raise ValueError(f"{n:,} records are too few for {total} planted rows; ask for more records")
    pos = np.array([], dtype=np.int64)
    while len(pos) < total:
        pos = np.unique(np.concatenate([pos, rng.integers(0, span, total * 2 + 10)]))
    pos = rng.permutation(pos)[:total]
    out, k = {}, 0
    for kind, c in want.items():
        for p in pos[k : k + c]:
            out[int(p)] = kind
        k += c
    return out


def _month_summary(year_month: str) -> list[str]:
    return [f"{year_month}合计"]


# ------------------------------------------------------------------------------------ the sources
@dataclass
class _Outlets:
    ids: np.ndarray  # str
    size: np.ndarray
    quality: np.ndarray
    improvement: np.ndarray
    wait: dict[int, np.ndarray]
    tellers: dict[int, np.ndarray]

    @classmethod
    def of(cls, bank: g.Bank) -> _Outlets:
        o = bank.outlets
        staff = g._staffing_table(bank)
        tellers = {y: staff[staff["as_of"] == f"{y}-12-31"].set_index("outlet_id")["tellers"].reindex(o["outlet_id"]).to_numpy() for y in g.YEARS}
        return cls(o["outlet_id"].to_numpy().astype(str), o["size"].to_numpy(), o["quality"].to_numpy(), o["improvement"].to_numpy(),
                   {y: o[f"wait_{y}"].to_numpy() for y in g.YEARS}, tellers)


QUEUE_HEADERS = {2015: ["流水号", "网点号", "业务类型", "取号时间", "叫号时间"], 2016: ["票号流水", "网点编号", "队列类型", "取号时刻", "叫号时刻"]}
BENCH_QUEUE_HEADER = ["流水号", "网点号", "业务类别", "取票时间", "叫号时间"]  # the benchmark file


def write_queue_file(path: Path, bank: g.Bank, year: int, n: int, *, seed: int | None = None, header: list[str] | None = None,
                     encoding: str = "gbk", style: str | None = None, cut_off: bool = False, chunk_rows: int = CHUNK_ROWS,
                     outlets: _Outlets | None = None) -> _File:
    """``n`` queue tickets of ``year`` (and the planted rows) into one CSV; returns the closed file's record."""
    seed = bank.seed if seed is None else seed
    o = outlets or _Outlets.of(bank)
    m = len(o.ids)
    labels = g.QUEUE_LABELS[year]
    style = style or ("slash" if year == 2015 else "compact")
    f = _File(Path(path), "queue_tickets", header or QUEUE_HEADERS[year], encoding, "\r\n")
    rng = g._rng(seed, f"volume-queue-{year}-{n}")
    days, w, chunks, month_last = _chunks_of_days(rng, n, year, "counter", chunk_rows)
    planted = _planted_positions(rng, n, "queue_tickets", reserve_tail=2 if cut_off else 0)
    month_last = set(month_last) - ({n - 1} if cut_off else set())  # a cut-off export has no final 合计 row
    type_factor = np.array([1.05, 1.15, 0.45]) / 0.993
    norm = _mean_load_power(year, "counter", 0.55)
    sigma = 0.75
    out_ids = [s.encode(encoding) for s in o.ids]
    label_b = [labels[t].encode(encoding) for t in g.QUEUE_TYPES]
    yy = year % 100
    start = 0
    for k, day_idx in enumerate(chunks):
        r = g._rng(seed, f"volume-queue-{year}-{n}-{k}")
        c = len(day_idx)
        t, load = _times(r, day_idx, days, w, "counter")
        idx = r.choice(m, size=c, p=o.size / o.size.sum())
        kind = r.choice(3, size=c, p=[0.5, 0.36, 0.14])
        mean = o.wait[year][idx] * type_factor[kind] * load**0.55 / norm
        wait_min = mean * np.exp(r.normal(-sigma**2 / 2, sigma, c))
        wait_s = np.maximum(np.round(wait_min * 60), 5).astype("int64")
        left = r.random(c) < (0.012 + 0.02 * np.minimum(wait_min / 15, 2.0))
        called = np.where(left, np.datetime64("NaT"), t + wait_s.astype("timedelta64[s]"))
        here = {p - start: kd for p, kd in planted.items() if start <= p < start + c}
        # Time-order rows are drawn into the arrays (they must stay well formed); the rest are edits of the text.
        for i, kd in here.items():
            if kd == "skew":
                called[i] = t[i] - np.timedelta64(int(r.integers(1, 51)), "s")
            elif kd == "time_order":
                called[i] = t[i] - np.timedelta64(int(r.integers(3, 40)) * 60, "s")
        rows = _Rows(c)
        rows.const(f"Q{yy}".encode())
        rows.digits(np.arange(start + 1, start + c + 1), 8)
        rows.const(b",")
        rows.lookup(idx, out_ids)
        rows.const(b",")
        rows.lookup(kind, label_b)
        rows.const(b",")
        rows.time(t, style)
        rows.const(b",")
        rows.time(called, style)
        rows.const(b"\r\n")
        blob, lengths = rows.bytes()
        offs = _offsets(lengths)
        edits = {}
        for i, kd in here.items():
            cells = f.cells(blob, offs, i)
            edits[i] = _queue_edit(kd, cells, labels, r)
        for gi in month_last:
            if start <= gi < start + c:
                i = gi - start
                ym = str(t[i])[:7]
                edits.setdefault(i, [(None, None)]).append((_month_summary(ym) + [""] * 4, ("reject", "summary_row", REASONS["summary_row"], WHAT["summary_row"])))
        f.chunk(blob, lengths, edits)
        start += c
    if cut_off:
        f.cut_last()
    f.close()
    return f


def _rej(kind: str, reason: str | None = None) -> tuple:
    return ("reject", kind, reason or REASONS[kind], WHAT[kind])


def _feb30(text: str, style: str) -> str:
    y = text[:4]
    rest = text.split(" ", 1)[1] if " " in text else "09:00:00"
    return {"compact": f"{y}0230 {rest}", "iso": f"{y}-02-30 {rest}", "slash": f"{y}/2/30 {rest}"}[style]


def _style_of(text: str) -> str:
    return "compact" if text[4:5].isdigit() else "iso" if text[4:5] == "-" else "slash"


def _queue_edit(kind: str, cells: list[str], labels: dict, r) -> list:
    if kind == "duplicate":
        return [(None, None), (None, _rej("duplicate"))]
    if kind == "repeated_key":
        other = [v for v in labels.values() if v != cells[2]][int(r.integers(0, 2))]
        return [(None, None), ([cells[0], cells[1], other, cells[3], cells[4]], _rej("repeated_key"))]
    if kind == "unknown_outlet":
        return [([cells[0], GHOST_OUTLET, *cells[2:]], _rej("unknown_outlet"))]
    if kind == "not_a_date":
        return [([*cells[:3], _feb30(cells[3], _style_of(cells[3])), cells[4]], _rej("not_a_date"))]
    if kind == "unknown_value":
        return [([cells[0], cells[1], "对公", *cells[3:]], ("valid", "unknown_value", "", WHAT["unknown_value"]))]
    if kind == "empty_required":
        return [([cells[0], "", *cells[2:]], _rej("empty_required"))]
    if kind == "time_order":
        return [(None, _rej("time_order", "is before issued_at by more than 60 s"))]
    if kind == "skew":
        return [(None, ("valid", "skew", "", WHAT["skew"]))]
    raise ValueError(kind)


TELLER_HEADERS = {2015: ["流水号", "网点号", "柜员号", "交易时间", "评价"], 2016: ["交易流水号", "网点编号", "柜员编号", "评价时间", "评价结果"]}


def write_teller_file(path: Path, bank: g.Bank, year: int, n: int, *, outlets: _Outlets | None = None, chunk_rows: int = CHUNK_ROWS) -> _File:
    """``n`` counter transactions with ratings (UTF-8 with BOM, as the sample); 2016's export is cut off."""
    o = outlets or _Outlets.of(bank)
    m = len(o.ids)
    f = _File(Path(path), "teller_ratings", TELLER_HEADERS[year], "utf-8", "\n", bom=b"\xef\xbb\xbf")
    rng = g._rng(bank.seed, f"volume-teller-{year}-{n}")
    q = o.quality + 0.5 * rng.normal(0, 1, m)
    imp = o.improvement
    rated = (0.71 + 0.05 * q + rng.normal(0, 0.04, m) + (0.04 * imp if year == 2016 else 0)).clip(0.58, 0.86)
    satisfied = (0.897 + 0.02 * q + rng.normal(0, 0.01, m) + (0.014 * imp if year == 2016 else 0)).clip(0.87, 0.975)
    days, w, chunks, month_last = _chunks_of_days(rng, n, year, "counter", chunk_rows)
    planted = _planted_positions(rng, n, "teller_ratings", reserve_tail=2)
    month_last = set(month_last) - ({n - 1} if year == 2016 else set())  # 2016's export is cut off: no final 合计 row
    style = "iso" if year == 2016 else "slash"
    out_ids = [s.encode() for s in o.ids]
    teller_prefix = [f"G{s[4:]}".encode() for s in o.ids]
    rating_b = [b""] + [g.RATING_LABELS[v].encode() for v in (1, 2, 3, 4, 5)]
    yy = year % 100
    start = 0
    for k, day_idx in enumerate(chunks):
        r = g._rng(bank.seed, f"volume-teller-{year}-{n}-{k}")
        c = len(day_idx)
        t, _ = _times(r, day_idx, days, w, "counter")
        idx = r.choice(m, size=c, p=o.size / o.size.sum())
        teller = (r.random(c) * o.tellers[year][idx]).astype(int) + 1
        is_rated = r.random(c) < rated[idx]
        u = r.random(c)
        s = satisfied[idx]
        rating = np.select([u < 0.7 * s, u < s, u < s + 0.6 * (1 - s), u < s + 0.9 * (1 - s)], [5, 4, 3, 2], 1)
        rating = np.where(is_rated, rating, 0)
        rows = _Rows(c)
        rows.digits(yy * 10**8 + np.arange(start + 1, start + c + 1), 10)
        rows.const(b",")
        rows.lookup(idx, out_ids)
        rows.const(b",")
        rows.lookup(idx, teller_prefix)
        rows.digits(teller, 2)
        rows.const(b",")
        rows.time(t, style)
        rows.const(b",")
        rows.lookup(rating, rating_b)
        rows.const(b"\n")
        blob, lengths = rows.bytes()
        offs = _offsets(lengths)
        edits = {}
        for gi, kd in planted.items():
            if start <= gi < start + c:
                i = gi - start
                edits[i] = _teller_edit(kd, f.cells(blob, offs, i), r)
        for gi in month_last:
            if start <= gi < start + c:
                i = gi - start
                edits.setdefault(i, [(None, None)]).append((_month_summary(str(t[i])[:7]) + [""] * 4, _rej("summary_row")))
        f.chunk(blob, lengths, edits)
        start += c
    if year == 2016:
        f.cut_last()
    f.close()
    return f


def _teller_edit(kind: str, cells: list[str], r) -> list:
    if kind == "duplicate":
        return [(None, None), (None, _rej("duplicate"))]
    if kind == "repeated_key":
        other = "满意" if cells[4] != "满意" else "一般"
        return [(None, None), ([*cells[:4], other], _rej("repeated_key"))]
    if kind == "unknown_outlet":
        return [([cells[0], GHOST_OUTLET, *cells[2:]], _rej("unknown_outlet"))]
    if kind == "not_a_number":
        return [([*cells[:4], "好评"], _rej("not_a_number", "rating (评价结果): not a number"))]
    if kind == "above_maximum":
        return [([*cells[:4], "6"], _rej("above_maximum", "rating (评价结果): above the maximum"))]
    if kind == "not_a_date":
        return [([*cells[:3], _feb30(cells[3], _style_of(cells[3])), cells[4]], _rej("not_a_date"))]
    if kind == "empty_required":
        return [([cells[0], "", *cells[2:]], _rej("empty_required"))]
    raise ValueError(kind)


CALL_HEADERS = {"95599": ["呼叫流水号", "服务中心", "转人工时间", "接通时间", "放弃时间"], "credit_card": ["流水号", "中心", "进线时间", "应答时间", "客户放弃时间"]}


def write_calls_file(path: Path, bank: g.Bank, center: str, years_rows: dict[int, int], *, chunk_rows: int = CHUNK_ROWS) -> _File:
    """A call log (UTF-8) of ``center`` with ``years_rows[year]`` calls a year, in year order."""
    label = "95599" if center == "95599" else "信用卡"
    f = _File(Path(path), "calls", CALL_HEADERS[center], "utf-8", "\n")
    prefix = "H" if center == "95599" else "C"
    last_year = max(years_rows)
    for year, n in years_rows.items():
        rng = g._rng(bank.seed, f"volume-calls-{center}-{year}-{n}")
        style = "compact" if center == "credit_card" else "slash" if year == 2015 else "iso"
        ar, sl = g.CALL_TARGETS[(center, year)]
        ar, sl = ar + rng.normal(0, 0.005), sl + rng.normal(0, 0.008)
        # Calibrate on a sample of the year's calls (the whole year would take minutes).
        cal_n = min(n, 100_000)
        _, cal_load = g._sample_times(rng, cal_n, year, "calls")
        z, mean_delay = g._calibrate_calls(g._call_draws(rng.random((4, cal_n)), cal_load, g.PATIENCE_S[center]), ar, sl)
        days, w, chunks, month_last = _chunks_of_days(rng, n, year, "calls", chunk_rows)
        planted = _planted_positions(rng, n, "calls", reserve_tail=5)
        month_last = set(month_last)
        start = 0
        for k, day_idx in enumerate(chunks):
            r = g._rng(bank.seed, f"volume-calls-{center}-{year}-{n}-{k}")
            c = len(day_idx)
            t, load = _times(r, day_idx, days, w, "calls")
            delay, wait, answered = g._simulate_calls(g._call_draws(r.random((4, c)), load, g.PATIENCE_S[center]), z, mean_delay)
            nat = np.datetime64("NaT", "s")
            ans = np.where(answered, t + np.round(delay).astype("int64").astype("timedelta64[s]"), nat)
            abd = np.where(answered, nat, t + np.round(wait).astype("int64").astype("timedelta64[s]"))
            here = {p - start: kd for p, kd in planted.items() if start <= p < start + c}
            for i, kd in here.items():
                if kd == "skew":
                    ans[i], abd[i] = t[i] - np.timedelta64(1, "s"), nat
                elif kd == "time_order":
                    ans[i], abd[i] = t[i] - np.timedelta64(int(r.integers(5, 60)) * 60, "s"), nat
            queued = []
            if year == last_year and start + c == n:  # the log was cut at the end of the year: the last calls still waiting
                queued = list(range(c - 3, c))
                ans[queued], abd[queued] = nat, nat
            rows = _Rows(c)
            rows.const(f"{prefix}{year % 100}".encode())
            rows.digits(np.arange(start + 1, start + c + 1), 8)
            rows.const(f",{label},".encode())
            rows.time(t, style)
            rows.const(b",")
            rows.time(ans, style)
            rows.const(b",")
            rows.time(abd, style)
            rows.const(b"\n")
            blob, lengths = rows.bytes()
            offs = _offsets(lengths)
            edits = {i: _calls_edit(kd, f.cells(blob, offs, i)) for i, kd in here.items()}
            for i in queued:
                edits[i] = [(None, ("valid", "still_queued", "", WHAT["still_queued"]))]
            for gi in month_last:
                if start <= gi < start + c:
                    i = gi - start
                    if i in queued:
                        continue
                    edits.setdefault(i, [(None, None)]).append((_month_summary(str(t[i])[:7]) + [""] * 4, _rej("summary_row")))
            f.chunk(blob, lengths, edits)
            start += c
    f.close()
    return f


def _calls_edit(kind: str, cells: list[str]) -> list:
    if kind == "duplicate":
        return [(None, None), (None, _rej("duplicate"))]
    if kind == "repeated_key":
        # Same call id, every time one second later: a different record, still valid.
        shifted = [_shift1(c) for c in cells[2:]]
        return [(None, None), ([cells[0], cells[1], *shifted], _rej("repeated_key"))]
    if kind == "unknown_value":
        return [([cells[0], "坐席外呼", *cells[2:]], ("valid", "unknown_value", "", WHAT["unknown_value"]))]
    if kind == "not_a_date":
        return [([cells[0], cells[1], _feb30(cells[2], _style_of(cells[2])), "", ""], _rej("not_a_date"))]
    if kind == "empty_required":
        return [([cells[0], cells[1], "", *cells[3:]], _rej("empty_required"))]
    if kind == "time_order":
        return [(None, _rej("time_order", "is before arrived_at by more than 60 s"))]
    if kind == "skew":
        return [(None, ("valid", "skew", "", "answered 1 s before arrival (clock skew, valid)"))]
    raise ValueError(kind)


def _shift1(text: str) -> str:
    if not text:
        return text
    style = _style_of(text)
    fmt = {"compact": "%Y%m%d %H%M%S", "iso": "%Y-%m-%d %H:%M:%S", "slash": "%Y/%m/%d %H:%M:%S"}[style]
    ts = dt.datetime.strptime(text, fmt) + dt.timedelta(seconds=1)
    rows = _Rows(1)
    rows.time(np.array([np.datetime64(ts, "s")]), style)
    return rows.bytes()[0].decode()


# ------------------------------------------------------------------------------------ the bank
CITY_NAMES = ["河阳", "临川", "松江", "云岭", "东海", "西山", "南浦", "北原", "青州", "白水", "长沙湾", "金城", "玉泉", "石川", "清远", "安定"]


def scaled_bank(seed: int, outlets: int | None = None) -> g.Bank:
    """The sample bank (``outlets`` None or 148), or a bank of ``outlets`` outlets: the sample's city
    branch first, then more city branches drawn the same way (each from its own seed), renumbered
    ``BBBB SS OO`` (branch, sub-branch, outlet) and renamed after their city."""
    base = g.build_bank(seed)
    if outlets is None or outlets == len(base.outlets):
        return base
    if outlets < 1:
        raise ValueError(f"--outlets must be at least 1, got {outlets}")
    subs, outs, total, b = [], [], 0, 0
    while total < outlets:
        bk = base if b == 0 else g.build_bank(seed * 1000 + b)
        prefix = f"{int(g.BRANCH_ID) + b:04d}"
        if int(prefix) > 9999:
            raise ValueError(f"{outlets:,} outlets need more than {b} city branches of about 148 outlets; at most about 980,000 outlets")
        city = "" if b == 0 else (CITY_NAMES[(b - 1) % len(CITY_NAMES)] + (str((b - 1) // len(CITY_NAMES) + 1) if b > len(CITY_NAMES) else ""))
        s = bk.subs.copy()
        s["sub_branch_id"] = prefix + s["sub_branch_id"].str[4:]
        s["name"] = city + s["name"]
        o = bk.outlets.copy()
        o["outlet_id"] = prefix + o["outlet_id"].str[4:]
        o["sub_branch_id"] = prefix + o["sub_branch_id"].str[4:]
        o["sub_branch_name"] = city + o["sub_branch_name"]
        o["outlet_name"] = city + o["outlet_name"]
        take = min(len(o), outlets - total)
        o = o.iloc[:take]
        s = s[s["sub_branch_id"].isin(o["sub_branch_id"])]
        subs.append(s)
        outs.append(o)
        total += take
        b += 1
    return g.Bank(seed=seed, subs=pd.concat(subs, ignore_index=True), outlets=pd.concat(outs, ignore_index=True), strong=base.strong, weak=base.weak,
                  complaints_up=base.complaints_up, troubled=base.troubled, slow_deposits=base.slow_deposits, slow_vip=base.slow_vip, slow_echannel=base.slow_echannel)


def volumes(scale: str, outlets: int | None = None, tickets: int | None = None, small_2015: bool = False) -> dict[str, dict]:
    """Records per event file: ``queue_tickets``/``teller_ratings`` {year: n}, ``calls`` {(center, year): n}.
    City: :data:`CITY_2016` (``tickets`` overrides the queue tickets, the others follow in proportion);
    bank: the city's volumes times ``outlets / 148``; 2015 keeps the sample's ratio to 2016."""
    q16 = tickets if tickets is not None else CITY_2016["queue_tickets"]
    f = q16 / CITY_2016["queue_tickets"]
    if scale == "bank":
        f *= (outlets or SAMPLE_OUTLETS) / SAMPLE_OUTLETS
    elif scale != "city":
        raise ValueError(f"unknown scale {scale!r}")
    t16, c16 = CITY_2016["teller_ratings"] * f, CITY_2016["calls"] * f
    q16 = CITY_2016["queue_tickets"] * f
    calls16 = g.CALL_ROWS[("95599", 2016)] + g.CALL_ROWS[("credit_card", 2016)]
    v = {"queue_tickets": {2016: q16, 2015: q16 * g.QUEUE_ROWS[2015] / g.QUEUE_ROWS[2016]},
         "teller_ratings": {2016: t16, 2015: t16 * g.TELLER_ROWS[2015] / g.TELLER_ROWS[2016]},
         "calls": {(c, y): c16 * g.CALL_ROWS[(c, 2016)] / calls16 * g.CALL_ROWS[(c, y)] / g.CALL_ROWS[(c, 2016)] for c in ("95599", "credit_card") for y in g.YEARS}}
    out = {k: {kk: max(1000, int(round(n))) for kk, n in d.items()} for k, d in v.items()}
    if small_2015:
        out["queue_tickets"][2015] = g.QUEUE_ROWS[2015]
        out["teller_ratings"][2015] = g.TELLER_ROWS[2015]
        for c in ("95599", "credit_card"):
            out["calls"][(c, 2015)] = g.CALL_ROWS[(c, 2015)]
    return out


def _kind_of(p: g.Planted) -> str:
    for frag, kind in (("duplicate of line", "duplicate"), ("repeats the key", "repeated_key"), ("not in outlets", "unknown_outlet"), ("not a date", "not_a_date"),
                       ("above the maximum", "above_maximum"), ("below the minimum", "below_minimum"), ("not a number", "not_a_number"),
                       ("summary row", "summary_row"), ("is before", "time_order"), ("cut off", "cut_off"), ("unknown value", "unknown_value")):
        if frag in p.reason:
            return kind
    return p.kind if p.kind != "reject" else "other"


MANIFEST = "planted_defects.csv"
MANIFEST_COLUMNS = ["source", "file", "line", "expect", "kind", "reason", "what"]


def write_manifest(out: Path, planted: list[Plant]) -> Path:
    path = Path(out) / MANIFEST
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(MANIFEST_COLUMNS)
        for p in sorted(planted, key=lambda p: (p.source, p.file, p.line)):
            w.writerow([p.source, p.file, p.line, p.expect, p.kind, p.reason, p.what])
    return path


def read_manifest(out: Path | str) -> pd.DataFrame:
    return pd.read_csv(Path(out) / MANIFEST, encoding="utf-8", dtype={"line": "int64"}, keep_default_na=False)


EVENT_SOURCES = ("teller_ratings", "queue_tickets", "calls")


def write_volume(out: Path | str, seed: int = config.DEFAULT_SEED, *, scale: str = "city", outlets: int | None = None, tickets: int | None = None,
                 small_2015: bool = False, chunk_rows: int = CHUNK_ROWS, echo=print) -> Written:
    """Write the bank at real volume into ``out`` (an empty or new folder; never the bundled sample's)."""
    t0 = time.perf_counter()
    out = Path(out)
    if out.resolve() == config.RAW_DIR.resolve():
        raise ValueError(f"{out} is the bundled sample's folder: write real volume elsewhere (--out /tmp/city)")
    out.mkdir(parents=True, exist_ok=True)
    bank = scaled_bank(seed, outlets if scale == "bank" else None)
    vol = volumes(scale, outlets, tickets, small_2015)
    res = Written(out)
    # Every small source exactly as the sample writes it (for the same bank).
    small = g.Sample(seed)
    for name in g.WRITERS:
        if name in EVENT_SOURCES:
            continue
        if name == "complaints":
            g.write_complaints(bank, g._media_plan(bank), out, small)
        else:
            getattr(g, f"write_{name}")(bank, out, small)
    for fi in small.files:
        res.files.append((fi.name, fi.source, fi.encoding, fi.rows, (out / fi.name).stat().st_size))
    res.planted += [Plant(p.source, p.file, p.line, "reject" if p.kind == "reject" else p.kind, _kind_of(p), p.reason, p.what) for p in small.planted]
    # The real public files the sample folder carries beside the generated ones (peers, bulletins).
    for name in ("同业对标_2015.csv", "cbirc_bank_complaint_bulletins_2020-2022_part.csv", "README-real-data.md"):
        if (config.RAW_DIR / name).is_file():
            shutil.copyfile(config.RAW_DIR / name, out / name)
    echo(f"master data and small sources: {time.perf_counter() - t0:.1f} s")
    o = _Outlets.of(bank)

    def done(f: _File, encoding: str) -> None:
        res.files.append((f.path.name, f.source, encoding, f.records, f.path.stat().st_size))
        res.planted.extend(f.planted)
        echo(f"{f.path.name}: {f.records:,} records, {f.path.stat().st_size / 2**20:,.0f} MiB ({time.perf_counter() - t0:.0f} s)")

    for year in g.YEARS:
        done(write_teller_file(out / f"柜员服务评价_{year}.csv", bank, year, vol["teller_ratings"][year], outlets=o, chunk_rows=chunk_rows), "UTF-8 with BOM")
    for year in g.YEARS:
        done(write_queue_file(out / f"排队叫号_{year}.csv", bank, year, vol["queue_tickets"][year], outlets=o, chunk_rows=chunk_rows), "GBK (GB18030)")
    for year in g.YEARS:
        done(write_calls_file(out / f"呼叫记录_95599_{year}.csv", bank, "95599", {year: vol["calls"][("95599", year)]}, chunk_rows=chunk_rows), "UTF-8")
    done(write_calls_file(out / "呼叫记录_信用卡中心_2015-2016.csv", bank, "credit_card", {y: vol["calls"][("credit_card", y)] for y in g.YEARS}, chunk_rows=chunk_rows), "UTF-8")
    write_manifest(out, res.planted)
    res.seconds = time.perf_counter() - t0
    (out / "README.md").write_text(_readme(res, bank, scale, seed, vol), encoding="utf-8")
    return res


def write_bench_queue(out: Path | str, rows: int, seed: int = config.DEFAULT_SEED, *, chunk_rows: int = CHUNK_ROWS) -> Written:
    """The benchmark's input: ``out/机构信息.xlsx`` (the master data the outlet ids are checked against)
    and one GB18030 queue-ticket file ``out/排队叫号_bench.csv`` of ``rows`` tickets of 2016 with the
    alias headers 流水号/网点号/业务类别/取票时间/叫号时间, compact times (``20160305 090229``), every
    kind of planted defect (and the last record cut off), and ``planted_defects.csv``."""
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    bank = g.build_bank(seed)
    small = g.Sample(seed)
    g.write_outlets(bank, out, small)
    res = Written(out)
    f = write_queue_file(out / "排队叫号_bench.csv", bank, 2016, rows, header=BENCH_QUEUE_HEADER, encoding="gb18030", style="compact", cut_off=True, chunk_rows=chunk_rows)
    res.files.append((f.path.name, f.source, "GB18030", f.records, f.path.stat().st_size))
    res.planted = f.planted
    write_manifest(out, res.planted)
    res.seconds = time.perf_counter() - t0
    return res


def _readme(res: Written, bank: g.Bank, scale: str, seed: int, vol: dict) -> str:
    kinds: dict[tuple[str, str, str], int] = {}
    for p in res.planted:
        kinds[(p.file, p.expect, p.kind)] = kinds.get((p.file, p.expect, p.kind), 0) + 1
    lines = [
        f"# The sample bank at real volume ({scale}, synthetic)",
        "",
        f"Written by `python -m analysis generate --scale {scale}` with seed {seed} in {res.seconds:.0f} s: {_bank_label(bank)}.",
        "Every small source is written exactly as in the bundled sample (`data/raw/README.md` describes their quirks); the teller",
        "ratings, queue tickets and calls are at a real branch's volume, with the sample's file names, encodings, headers and time",
        "spellings, and planted defects at about the sample's rate. `planted_defects.csv` lists every planted row: source, file,",
        "line, expect (reject or valid), kind, a fragment of the reason the cleaning step gives, and what was planted.",
        "",
        "| file | source | encoding | records | MiB |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for name, source, enc, rows, size in res.files:
        lines.append(f"| {name} | {source} | {enc} | {rows:,} | {size / 2**20:,.1f} |")
    lines += ["", "## Planted rows", "", "| file | expect | kind | rows |", "| --- | --- | --- | ---: |"]
    for (file, expect, kind), c in sorted(kinds.items()):
        lines.append(f"| {file} | {expect} | {kind} | {c:,} |")
    lines.append("")
    return "\n".join(lines)


def _bank_label(bank: g.Bank) -> str:
    return f"{len(bank.subs):,} sub-branches, {len(bank.outlets):,} outlets"


def main(out: Path | str, seed: int = config.DEFAULT_SEED, scale: str = "city", outlets: int | None = None, tickets: int | None = None, small_2015: bool = False) -> None:
    res = write_volume(out, seed, scale=scale, outlets=outlets, tickets=tickets, small_2015=small_2015)
    total = sum(f[4] for f in res.files)
    rejects = sum(1 for p in res.planted if p.expect == "reject")
    print(f"wrote {len(res.files)} files ({total / 2**30:.2f} GiB, {rejects:,} planted rows to reject, listed in {MANIFEST}) for seed {seed} to {out} in {res.seconds:.0f} s")


def check_rejected(raw_dir: Path | str, rejected: pd.DataFrame, files: list[str] | None = None) -> list[str]:
    """Compare a cleaning step's rejected rows (columns file, line, reason) with ``planted_defects.csv``
    in ``raw_dir``: every planted reject rejected with its reason, nothing else rejected, no valid planted
    row rejected. Returns the problems (empty when all is well); ``files`` limits the comparison."""
    want = read_manifest(raw_dir)
    if files is not None:
        want = want[want["file"].isin(files)]
        rejected = rejected[rejected["file"].isin(files)]
    got = {(f, int(ln)): str(r) for f, ln, r in zip(rejected["file"], rejected["line"], rejected["reason"])}
    problems = []
    rej = want[want["expect"] == "reject"]
    for f, ln, reason in zip(rej["file"], rej["line"], rej["reason"]):
        if (f, ln) not in got:
            problems.append(f"{f} line {ln}: planted ({reason}) but not rejected")
        elif reason not in got[(f, ln)]:
            problems.append(f"{f} line {ln}: rejected for {got[(f, ln)]!r}, expected {reason!r}")
    planted = set(zip(rej["file"], rej["line"]))
    valid = set(zip(want.loc[want["expect"] == "valid", "file"], want.loc[want["expect"] == "valid", "line"]))
    for key, reason in got.items():
        if key in valid:
            problems.append(f"{key[0]} line {key[1]}: odd but valid, yet rejected ({reason})")
        elif key not in planted:
            problems.append(f"{key[0]} line {key[1]}: rejected ({reason}) but nothing was planted there")
    return problems

"""Why a record is rejected, and the one collector of rejected records every reader uses.

A closed set of reason codes, each with its Chinese and English text: every reader says why it
leaves a record out with one of these codes (never free text), so the data-quality page, the
command line and the rejected-rows files count the same kinds:

    from analysis.rejects import Reason
    Reason.MISSING.en(column="outlet_id")          # 'outlet_id missing'
    Reason.MISSING.zh(column="outlet_id")          # 'outlet_id 为空'
    Reason.TIME_ORDER.en(column="called_at", reference="issued_at", seconds=60)
    Reason.of_text("outlet_id missing")            # Reason.MISSING (a text of the set back to its code)

The English text is what the rejected-rows files (file, line, reason, the original values) and the
reason counts carry; the Chinese text is for the pages.

:class:`Rejected` is the one collector, used by the clean door (:mod:`analysis.clean.engine`), the
event readers (:mod:`analysis.events.common`, ``records``, ``queues``/``tellers``/``callcentre``) and
the complaints reader (:mod:`analysis.complaints.load`):

    rej = Rejected("投诉_2016.csv")
    rej.add_frame(frame, kinds="reason_kind", codes="reason_code")   # pandas records; counts each row's reasons
    rej.add_arrow(table)                           # Arrow records (the event engines' result)
    rej.count(Reason.MALFORMED, 2, text="line 6: byte FF ...")   # counted where the records are streamed
    rej.codes, rej.texts                           # rejections per reason code / per English text
    rej.check(rows_in, clean)                      # rows in = clean + rejected, else AccountingError
    rej.write_csv(path)                            # the rejected-rows CSV (cells neutralised)

An engine relation is never pulled into memory: the clean door streams its rejected rows in record
batches through :func:`stream_csv` (a CSV writer whose every cell goes through
:func:`analysis.report.excel.safe_cell`) and counts them here from the engine's count query, so only
a batch at a time is held. The records a collector holds (pandas or Arrow) are written by
``write_csv`` through :func:`analysis.report.excel.write_csv` or
:func:`analysis.report.excel.write_arrow_csv`; the three forms each reader wrote before are kept
byte for byte (the clean door's CSV rows end in CRLF, the event readers quote every text cell).
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from enum import Enum
from pathlib import Path

from analysis.errors import AccountingError, InvariantError, check_rows


class Reason(Enum):
    """A closed set: ``code`` (stable, for counting), ``zh`` and ``en`` text templates."""

    MISSING = ("missing", "{column} 为空", "{column} missing")
    UNREADABLE = ("unreadable", "{column} 无法识别", "{column}: unreadable")
    NOT_A_DATETIME = ("not_a_datetime", "{column} 不是日期时间", "{column} is not a date-time")
    TIME_ORDER = ("time_order", "{column} 早于 {reference} 超过 {seconds} 秒：不可能", "{column} before {reference} by more than {seconds} s: impossible")
    IN_FUTURE = ("in_future", "{column} 晚于今天（{today}），不可能", "{column}: after today ({today}), in the future")
    TOO_EARLY = ("too_early", "{column} 早于 {earliest}，不可信", "{column}: before {earliest}, not plausible")
    RESOLVED_BEFORE_RECEIVED = ("resolved_before_received", "办结时间早于受理时间", "resolved before received")
    NOT_ON_SCALE = ("not_on_scale", "{column} 不是 {low} 到 {high} 的整数", "{column} is not a whole number from {low} to {high}")
    DUPLICATE_ROW = ("duplicate_row", "重复记录", "duplicate row")
    DUPLICATE_ID = ("duplicate_id", "{column} 重复", "duplicate {column}")
    REPEATED_KEY = ("repeated_key", "主键重复", "repeated key")
    KEY_IN_ANOTHER_FILE = ("key_in_another_file", "主键与另一文件重复", "key repeated in another file")
    SUMMARY_ROW = ("summary_row", "合计行，不是记录", "summary row (合计)")
    MALFORMED = ("malformed", "记录格式错误（被截断或字段数不对）", "malformed record")
    # the clean door's parse and range checks (``sources/*.yaml``); ``column`` is "name (title)"
    NOT_A_NUMBER = ("not_a_number", "{column} 不是数字", "{column}: not a number")
    NOT_A_PERCENTAGE = ("not_a_percentage", "{column} 不是百分比", "{column}: not a percentage")
    NOT_FINITE = ("not_finite", "{column} 不是有限的数", "{column}: not a finite number")
    NOT_WHOLE = ("not_whole", "{column} 不是整数", "{column}: not a whole number")
    NOT_YES_NO = ("not_yes_no", "{column} 不是“是/否”", "{column}: not yes/no")
    NOT_A_DATE = ("not_a_date", "{column} 不是日期", "{column}: not a date")
    DATE_WITH_TIME = ("date_with_time", "{column} 应为日期，不带时间", "{column}: expected a date without a time")
    NOT_A_MONTH = ("not_a_month", "{column} 不是月份", "{column}: not a month")
    BELOW_MINIMUM = ("below_minimum", "{column} 低于下限 {minimum}", "{column}: below the minimum {minimum}")
    ABOVE_MAXIMUM = ("above_maximum", "{column} 高于上限 {maximum}", "{column}: above the maximum {maximum}")
    NOT_IN_REFERENCE = ("not_in_reference", "{column} 不在 {target} 中", "{column}: not in {target}")
    # an adapter's left-out records (the anonymous bank's call log): by definition not an event, or unusable
    EXCLUDED = ("excluded", "按定义不计入：{what}", "excluded: {what}")
    NOT_USABLE = ("not_usable", "无法使用：{what}", "rejected: {what}")

    def __init__(self, code: str, zh: str, en: str):
        self.code = code
        self._zh = zh
        self._en = en

    def en(self, **fields) -> str:
        """The English text (what rejected-rows files and reason counts carry)."""
        return self._en.format(**fields)

    def zh(self, **fields) -> str:
        """The Chinese text (for the pages)."""
        return self._zh.format(**fields)

    def both(self, **fields) -> str:
        """Chinese first, English after: ``outlet_id 为空（outlet_id missing）``."""
        return f"{self.zh(**fields)}（{self.en(**fields)}）"

    @classmethod
    def of_text(cls, text: str) -> Reason:
        """The reason whose English text ``text`` is (``"outlet_id missing"`` -> ``MISSING``); where
        two templates fit (``rejected: c missing``), the one with more fixed text wins."""
        fits = [r for r in cls if _pattern(r).match(text)]
        if fits:
            return max(fits, key=lambda r: len(re.sub(r"\{[a-z_]+\}", "", r._en)))
        raise InvariantError(f"reason text {text!r} is none of the closed set (analysis.rejects.Reason)")

    @classmethod
    def of_code(cls, code: str) -> Reason:
        for r in cls:
            if r.code == code:
                return r
        raise KeyError(f"unknown reason code {code!r}; known: {', '.join(r.code for r in cls)}")


_PATTERNS: dict[Reason, re.Pattern] = {}


def _pattern(r: Reason) -> re.Pattern:
    if r not in _PATTERNS:
        parts = re.split(r"(\{[a-z_]+\})", r._en)
        _PATTERNS[r] = re.compile("".join(".+?" if p.startswith("{") else re.escape(p) for p in parts) + r"\Z", re.S)
    return _PATTERNS[r]


# ------------------------------------------------------------------------------- the collector
class Rejected:
    """The rejected records of one read (``where``: the file or source, for the accounting error).

    ``codes``: rejections per reason code; ``texts``: per English text (what the reports count; a
    record with two problems counts under both); ``records``: how many records were rejected (held
    here, or streamed elsewhere and counted with :meth:`add_streamed`).
    """

    def __init__(self, where: str | Path = ""):
        self.where = str(where)
        self.codes: Counter[str] = Counter()
        self.texts: Counter[str] = Counter()
        self.records = 0
        self._parts: list = []  # pandas frames or Arrow tables, in the order added

    def count(self, reason: Reason, n: int = 1, *, text: str | None = None) -> None:
        """Count ``n`` rejections for ``reason``, under ``text`` (default: its English text without fields)."""
        if not isinstance(reason, Reason):
            raise TypeError(f"a rejection needs a Reason code (analysis.rejects), not {reason!r}")
        if n:
            self.codes[reason.code] += int(n)
            self.texts[reason.en() if text is None else text] += int(n)

    def count_text(self, text: str, n: int = 1) -> None:
        """Count ``n`` rejections under ``text``, the English text of a reason of the set."""
        self.count(Reason.of_text(text), n, text=text)

    def add_frame(self, frame, *, kinds: str | None = None, codes: str | None = None) -> None:
        """Hold the records of a pandas frame. ``kinds``: a column of ``"; "``-joined reason texts to
        count (each the English text of a reason of the set, unless ``codes`` names a column of the
        ``"; "``-joined reason codes that go with them, one per text)."""
        if frame is None or not len(frame):
            return
        self._parts.append(frame)
        self.records += len(frame)
        if kinds is None:
            return
        texts = frame[kinds].str.split("; ").explode()
        if codes is None:
            for text, n in texts.value_counts().items():
                self.count_text(str(text), int(n))
            return
        pairs = Counter()
        for ks, cs in zip(frame[kinds], frame[codes]):
            if isinstance(ks, str) and isinstance(cs, str):
                k, c = ks.split("; "), cs.split("; ")
                if len(k) != len(c):
                    raise InvariantError(f"{self.where}: reason texts {ks!r} and codes {cs!r} do not pair up")
                pairs.update(zip(c, k))
        for (code, text), n in pairs.items():
            self.count(Reason.of_code(code), n, text=text)

    def add_arrow(self, table) -> None:
        """Hold the records of an Arrow table (counted by the caller, which knows the reason codes)."""
        if table is None or not table.num_rows:
            return
        self._parts.append(table)
        self.records += table.num_rows

    def add_streamed(self, n: int) -> None:
        """``n`` records written elsewhere (streamed by :func:`stream_csv`), counted here."""
        self.records += int(n)

    def reasons(self) -> dict[str, int]:
        """Rejections per English text, sorted by text."""
        return dict(sorted(self.texts.items()))

    def check(self, rows_in: int, clean: int) -> None:
        """Raise :class:`~analysis.errors.AccountingError` unless rows in = clean + rejected."""
        check_rows(rows_in, clean, self.records, self.where)

    def check_collected(self, counted: int) -> None:
        """Raise :class:`~analysis.errors.AccountingError` unless the records counted are the records held."""
        held = sum(len(p) if _is_frame(p) else p.num_rows for p in self._parts)
        if counted != held:
            raise AccountingError(f"{self.where}: rejected records counted {counted:,} but collected {held:,}")

    def holds_frames(self) -> bool:
        return any(_is_frame(p) for p in self._parts)

    def arrow(self):
        """The held Arrow records as one table (missing columns empty), or None."""
        import pyarrow as pa

        tables = [p for p in self._parts if not _is_frame(p)]
        if not tables:
            return None
        return tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")

    def frame(self, *, columns=("reason",)):
        """Every held record as one pandas frame (Arrow records converted; an empty frame of
        ``columns`` when none)."""
        import pandas as pd

        parts = [p if _is_frame(p) else _arrow_frame(p) for p in self._parts]
        parts = [p for p in parts if len(p)]
        if not parts:
            return pd.DataFrame(columns=list(columns))
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]

    def write_csv(self, path: Path | str, *, empty=None, drop=()) -> int:
        """The rejected-rows CSV at ``path`` (UTF-8 with BOM; cells Excel would run as formulas get a
        leading apostrophe): pandas records through :func:`analysis.report.excel.write_csv`, Arrow
        records through :func:`analysis.report.excel.write_arrow_csv`, ``drop``: columns left out.
        With no record, ``empty`` (a header-only pandas frame or Arrow table; default: an Arrow
        table of one ``reason`` column). Returns the number of records written."""
        from analysis.report import excel

        if self.holds_frames():
            frame = self.frame().drop(columns=list(drop), errors="ignore")
            excel.write_csv(frame, path)
            return len(frame)
        table = self.arrow()
        if table is None:
            if empty is None:
                import pyarrow as pa

                empty = pa.table({"reason": pa.array([], pa.string())})
            if _is_frame(empty):
                excel.write_csv(empty, path)
            else:
                excel.write_arrow_csv(empty, path)
            return 0
        table = table.drop_columns([c for c in drop if c in table.column_names])
        excel.write_arrow_csv(table, path)
        return table.num_rows


def _is_frame(obj) -> bool:
    return hasattr(obj, "iloc")


def _arrow_frame(table):
    from analysis.events.common import to_frame

    return to_frame(table)


class stream_csv:
    """A rejected-rows CSV written a row at a time (the clean door's, from an engine's record
    batches): UTF-8 with BOM, CRLF row ends, every cell through ``safe_cell`` (``None`` -> empty),
    written to a temporary file next to ``path`` and moved into place on close when it holds a
    row; with none, no file (and an old one is removed)."""

    def __init__(self, path: Path | str, header: list[str]):
        from analysis.report.excel import safe_cell

        self.path = Path(path)
        self._safe = safe_cell
        self._tmp = self.path.with_name(self.path.name + ".tmp")
        self._fh = open(self._tmp, "w", encoding="utf-8-sig", newline="")
        self._out = csv.writer(self._fh)
        self._out.writerow(header)
        self.rows = 0

    def write(self, row) -> None:
        self._out.writerow([self._safe(v) if v is not None else "" for v in row])
        self.rows += 1

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self._fh.close()
        if exc_type is not None:
            self._tmp.unlink(missing_ok=True)
            return False
        if self.rows:
            if self.path.is_dir():
                import shutil

                shutil.rmtree(self.path)
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink()
            self.path.unlink(missing_ok=True)
        return False

"""Why a record is rejected: one closed set of reason codes, each with its Chinese and English text.

Every reader says why it leaves a record out with one of these codes (never free text), so the
data-quality page, the command line and the rejected-rows files count the same kinds:

    from analysis.rejects import Reason
    Reason.MISSING.en(column="outlet_id")          # 'outlet_id missing'
    Reason.MISSING.zh(column="outlet_id")          # 'outlet_id 为空'
    Reason.TIME_ORDER.en(column="called_at", reference="issued_at", seconds=60)

The English text is what the rejected-rows files (file, line, reason, the original values) and the
reason counts carry, as before; the Chinese text is for the pages. Each reader still collects its
rejected records its own way (the clean door in its query, the event readers per reason code in
their scan, the complaints reader per row): one collector for all of them is still to come.

Used by: the event readers (``analysis.events``: queue tickets, teller ratings, calls), the
complaints reader (``analysis.complaints.load``) and the clean door's fixed kinds
(``analysis.clean.rules``: duplicates, repeated keys, summary rows).
"""

from __future__ import annotations

from enum import Enum


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
    def of_code(cls, code: str) -> Reason:
        for r in cls:
            if r.code == code:
                return r
        raise KeyError(f"unknown reason code {code!r}; known: {', '.join(r.code for r in cls)}")

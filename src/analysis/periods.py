"""Reporting periods: a year (``2016``), a year to date (``2016-06``) or a quarter to date (``2016Q2``).

A period always starts on 1 January of its year and runs to the end of its last month, because
campaigns are judged on the year so far. ``previous()`` is the same span one year earlier, which is
what "prev" means in the schemes and what "against last year" means in the reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from analysis.errors import InputValueError

_PATTERNS = (
    (re.compile(r"^(\d{4})$"), lambda m: (int(m[1]), 12)),
    (re.compile(r"^(\d{4})-(\d{1,2})$"), lambda m: (int(m[1]), int(m[2]))),
    (re.compile(r"^(\d{4})[Qq]([1-4])$"), lambda m: (int(m[1]), 3 * int(m[2]))),
)


@dataclass(frozen=True, order=True)
class Period:
    year: int
    last_month: int = 12

    def __post_init__(self) -> None:
        if not 1 <= self.last_month <= 12:
            raise InputValueError(f"period month must be 1-12, got {self.last_month}")
        if not 1900 <= self.year <= 2200:
            raise InputValueError(f"period year out of range: {self.year}")

    @classmethod
    def parse(cls, text: str | int | Period) -> Period:
        """Parse ``2016``, ``"2016"``, ``"2016-06"`` or ``"2016Q2"``."""
        if isinstance(text, Period):
            return text
        s = str(text).strip()
        for pattern, build in _PATTERNS:
            m = pattern.match(s)
            if m:
                return cls(*build(m))
        raise InputValueError(f"not a period: {text!r} (expected 2016, 2016-06 or 2016Q2)")

    @property
    def label(self) -> str:
        return str(self.year) if self.last_month == 12 else f"{self.year}-{self.last_month:02d}"

    @property
    def label_zh(self) -> str:
        """How the reports say it: 2016年, or 2016年1–6月 for a year to date."""
        return f"{self.year}年" if self.is_full_year else f"{self.year}年1–{self.last_month}月"

    @property
    def is_full_year(self) -> bool:
        return self.last_month == 12

    @property
    def start(self) -> pd.Timestamp:
        """First instant of the period (1 January)."""
        return pd.Timestamp(self.year, 1, 1)

    @property
    def end(self) -> pd.Timestamp:
        """First instant after the period (exclusive end)."""
        return pd.Timestamp(self.year, self.last_month, 1) + pd.offsets.MonthBegin(1)

    @property
    def months(self) -> list[str]:
        """Months covered, as ``YYYY-MM`` strings."""
        return [f"{self.year}-{m:02d}" for m in range(1, self.last_month + 1)]

    @property
    def last_month_label(self) -> str:
        return f"{self.year}-{self.last_month:02d}"

    @property
    def fraction_of_year(self) -> float:
        return self.last_month / 12

    def previous(self) -> Period:
        """The same span one year earlier."""
        return Period(self.year - 1, self.last_month)

    def contains(self, when: pd.Series) -> pd.Series:
        """Boolean mask: which timestamps fall inside the period."""
        return (when >= self.start) & (when < self.end)

    def __str__(self) -> str:
        return self.label

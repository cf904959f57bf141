"""Parsing the values banks type into spreadsheets: full-width digits, "90%", "1,234.5", "2016年3月5日".

Each parser takes a Series of raw strings and returns ``(values, errors)``: the parsed Series and a
Series holding an error message where a non-empty cell could not be parsed (empty otherwise). Empty
cells are missing values, not errors; whether a value is required is the validator's business.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

MISSING_TOKENS = frozenset({"", "-", "--", "—", "——", "/", "n/a", "na", "nan", "null", "none", "#n/a", "无数据"})

_WS = re.compile(r"\s+")
_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def nfkc(text: str) -> str:
    """NFKC-normalise (full-width digits and letters to ASCII) and trim."""
    return _WS.sub(" ", _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text))).strip()


def normalize_text(values: pd.Series) -> pd.Series:
    """NFKC, zero-width characters removed, whitespace runs collapsed, trimmed. Missing stays missing,
    and a cell that is empty after trimming is missing too (an empty CSV field is not a value)."""
    s = values.astype("string")
    # NFKC changes nothing in printable ASCII: normalise only the cells that have something else.
    special = s.str.contains(r"[^\x20-\x7e]", regex=True, na=False)
    if special.any():
        s = s.mask(special, s[special].map(nfkc, na_action="ignore").astype("string"))
    s = s.str.strip()
    doubled = s.str.contains("  ", regex=False, na=False)
    if doubled.any():
        s = s.mask(doubled, s[doubled].str.replace(r" +", " ", regex=True))
    return s.mask(s == "")


def normalize_name(values: pd.Series) -> pd.Series:
    """A unit or person name: normalised text with stray spaces between Chinese characters removed."""
    return normalize_text(values).str.replace(_SPACE_BETWEEN_CJK, "", regex=True)


def normalize_id(values: pd.Series) -> pd.Series:
    """An identifier: normalised text without spaces; ``33180101.0`` (an Excel float) becomes ``33180101``."""
    s = normalize_text(values).str.replace(" ", "", regex=False)
    return s.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)


def _missing_mask(s: pd.Series) -> pd.Series:
    return s.isna() | s.str.lower().isin(MISSING_TOKENS)


def _errors_like(s: pd.Series) -> pd.Series:
    return pd.Series(pd.NA, index=s.index, dtype="string")


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(\D|$))")


def parse_number(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers with full-width digits, thousands separators, spaces, ``(1,234)`` as negative."""
    s = normalize_text(values)
    missing = _missing_mask(s)
    t = s.str.replace(_THOUSANDS, "", regex=True).str.replace(" ", "", regex=False)
    paren = t.str.match(r"^\(.*\)$", na=False)
    t = t.where(~paren, "-" + t.str.slice(1, -1))
    ok = t.str.match(_NUMBER, na=False)
    out = pd.Series(np.nan, index=s.index, dtype="float64")
    out[ok & ~missing] = t[ok & ~missing].astype("float64")
    errors = _errors_like(s)
    bad = ~ok & ~missing
    errors[bad] = "not a number: " + s[bad].map(repr)
    return out, errors


def parse_int(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole numbers (``1,200`` and ``１２`` accepted); ``2.5`` is an error."""
    num, errors = parse_number(values)
    frac = num.notna() & (num != np.round(num))
    errors[frac] = "not a whole number: " + normalize_text(values)[frac].map(repr)
    num[frac] = np.nan
    return num.astype("Int64"), errors


def parse_percent(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Percentages as fractions: ``"90%"`` → 0.9, ``"0.9"`` → 0.9.

    Bare numbers are read as fractions unless some bare number in the column exceeds 1.5, in which
    case the whole column is taken to be in percentage points (``"90"`` → 0.9). Mixing the two styles
    in one column is therefore safe only when the column has a ``%`` on every value above 1.5.
    """
    s = normalize_text(values)
    has_pct = s.str.endswith("%", na=False) | s.str.endswith("％", na=False)
    stripped = s.where(~has_pct, s.str.rstrip("%％").str.strip())
    num, errors = parse_number(stripped)
    lone_sign = has_pct & _missing_mask(stripped)  # "%" alone is not an empty cell
    errors[lone_sign] = "x"
    errors[errors.notna()] = "not a percentage: " + s[errors.notna()].map(repr)
    bare = num.notna() & ~has_pct
    points = bool((num[bare].abs() > 1.5).any())
    scale = has_pct | (bare & points)
    num[scale] = num[scale] / 100.0
    return num, errors


_TRUE = frozenset({"是", "y", "yes", "true", "t", "1", "有", "√", "✓", "对", "通过", "已完成", "完成"})
_FALSE = frozenset({"否", "n", "no", "false", "f", "0", "无", "×", "✗", "错", "未通过", "未完成"})


def parse_bool(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Yes/no in the forms exports use: 是/否, Y/N, true/false, 1/0, 有/无, √/×, 通过/未通过."""
    s = normalize_text(values)
    low = s.str.lower()
    missing = _missing_mask(s)
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[low.isin(_TRUE)] = True
    out[low.isin(_FALSE)] = False
    errors = _errors_like(s)
    bad = out.isna() & ~missing
    errors[bad] = "not yes/no: " + s[bad].map(repr)
    return out, errors


# Date and time: the forms seen in exports, rewritten to ISO before pandas parses them.
_DATE_RE = re.compile(
    r"^(?P<y>\d{4})\s*(?:[-/.年])\s*(?P<m>\d{1,2})\s*(?:[-/.月])\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*[T ]?\s*(?P<H>\d{1,2})\s*[:时]\s*(?P<M>\d{1,2})\s*(?:[:分]\s*(?P<S>\d{1,2}(?:\.\d+)?)\s*秒?)?\s*分?)?$"
)
_COMPACT_RE = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:\s*(?P<H>\d{2}):?(?P<M>\d{2}):?(?P<S>\d{2})?)?$")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _to_iso(s: pd.Series) -> pd.Series:
    parts = s.str.extract(_DATE_RE)
    compact = s.str.extract(_COMPACT_RE)
    parts = parts.fillna(compact)
    iso = (
        parts["y"]
        + "-"
        + parts["m"].str.zfill(2)
        + "-"
        + parts["d"].str.zfill(2)
        + " "
        + parts["H"].fillna("0").str.zfill(2)
        + ":"
        + parts["M"].fillna("0").str.zfill(2)
        + ":"
        + parts["S"].fillna("0").str.replace(r"^(\d)(\.|$)", r"0\1\2", regex=True)
    )
    return iso


def parse_datetime(values: pd.Series, *, excel_serials: bool = True) -> tuple[pd.Series, pd.Series]:
    """Dates and times: ``2016-03-05``, ``2016/3/5 9:05``, ``2016年3月5日``, ``20160305``, ``2016.3.5``.

    With ``excel_serials``, a bare number between 20000 and 80000 is an Excel day serial
    (1954-2119), which is what a date cell becomes when a workbook is saved as text.
    """
    s = normalize_text(values)
    missing = _missing_mask(s)
    # Fast path: event logs are nearly all "YYYY-MM-DD HH:MM:SS" already (the year range is checked
    # below, as for the rest); only the other cells go through the rewriting.
    out = pd.to_datetime(s.where(s.str.match(r"^(19|20|21)\d\d-\d\d-\d\d \d\d:\d\d:\d\d$", na=False)), format="%Y-%m-%d %H:%M:%S", errors="coerce").astype("datetime64[ns]")
    rest = out.isna() & ~missing
    if rest.any():
        iso = _to_iso(s[rest])
        # Years outside 1900-2199 are typos (or ids read as compact dates), and would overflow nanoseconds.
        iso = iso.where(iso.str.slice(0, 4).between("1900", "2199"))
        out[rest] = pd.to_datetime(iso, format="%Y-%m-%d %H:%M:%S", errors="coerce").astype("datetime64[ns]")
        frac = iso.str.contains(r"\.\d+$", na=False)
        if frac.any():
            out[frac[frac].index] = pd.to_datetime(iso[frac], format="%Y-%m-%d %H:%M:%S.%f", errors="coerce").astype("datetime64[ns]")
    if excel_serials:
        num = pd.to_numeric(s.where(out.isna() & ~missing), errors="coerce")
        serial = num.between(20000, 80000)
        if serial.any():
            out[serial] = _EXCEL_EPOCH + pd.to_timedelta(num[serial], unit="D").dt.round("s")
    out = out.astype("datetime64[ns]")
    errors = _errors_like(s)
    bad = out.isna() & ~missing
    errors[bad] = "not a date: " + s[bad].map(repr)
    return out, errors


def parse_date(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A calendar date; a time part, if present, is an error only when it is not midnight."""
    out, errors = parse_datetime(values)
    timed = out.notna() & (out != out.dt.normalize())
    errors[timed] = "expected a date without a time: " + normalize_text(values)[timed].map(repr)
    out[timed] = pd.NaT
    return out, errors


_MONTH_RE = re.compile(r"^(?P<y>\d{4})\s*(?:[-/.年])\s*(?P<m>\d{1,2})\s*月?$|^(?P<y2>\d{4})(?P<m2>\d{2})$")


def parse_month(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A month as ``YYYY-MM`` text: ``2016-03``, ``2016/3``, ``2016年3月``, ``201603`` or a full date."""
    s = normalize_text(values)
    missing = _missing_mask(s)
    parts = s.str.extract(_MONTH_RE)
    year = parts["y"].fillna(parts["y2"])
    month = parts["m"].fillna(parts["m2"])
    dates, _ = parse_datetime(s.where(year.isna()))
    year = year.fillna(dates.dt.year.astype("Int64").astype("string"))
    month = month.fillna(dates.dt.month.astype("Int64").astype("string"))
    m = pd.to_numeric(month, errors="coerce")
    ok = year.notna() & m.between(1, 12)
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    out[ok] = year[ok] + "-" + month[ok].str.zfill(2)
    errors = _errors_like(s)
    bad = ~ok & ~missing
    errors[bad] = "not a month: " + s[bad].map(repr)
    return out, errors


def parse_category(values: pd.Series, mapping: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """A closed set of labels; ``mapping`` maps every accepted spelling to its canonical code."""
    s = normalize_name(values)
    missing = _missing_mask(s)
    lookup = {nfkc(k).lower(): v for k, v in mapping.items()}
    out = s.str.lower().map(lookup).astype("string")
    errors = _errors_like(s)
    bad = out.isna() & ~missing
    allowed = ", ".join(sorted(set(mapping)))
    errors[bad] = "unknown value " + s[bad].map(repr) + f" (accepted: {allowed})"
    return out, errors

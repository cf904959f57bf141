"""Value parsers: hand-checked cases and properties (hypothesis) for encodings, numbers, percentages,
full-width digits and dates."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from analysis.io import parse
from analysis.io.encoding import EncodingError, decode_bytes

from conftest import costly_examples

FULLWIDTH = str.maketrans("0123456789.,%-", "０１２３４５６７８９．，％－")


def one(fn, value):
    out, err = fn(pd.Series([value], dtype="object"))
    return out.iloc[0], (None if pd.isna(err.iloc[0]) else err.iloc[0])


# ------------------------------------------------------------------------------------- hand cases
@pytest.mark.parametrize(
    "text, expected",
    [
        ("1,234.5", 1234.5),
        ("１２３", 123.0),
        ("(1,000)", -1000.0),
        ("  42 ", 42.0),
        ("-3.5", -3.5),
        ("1e3", 1000.0),
        ("12 345", 12345.0),
        ("1,234,567.25", 1234567.25),
    ],
)
def test_parse_number_accepts_export_forms(text, expected):
    value, err = one(parse.parse_number, text)
    assert err is None and value == expected


@pytest.mark.parametrize("text", ["abc", "1,23", "12..3", "1.2.3", "5元"])
def test_parse_number_rejects_with_the_value_quoted(text):
    value, err = one(parse.parse_number, text)
    assert math.isnan(value) and err == f"not a number: {parse.nfkc(text)!r}"


@pytest.mark.parametrize("text", ["", "  ", "-", "—", "N/A", None])
def test_missing_tokens_are_missing_not_errors(text):
    value, err = one(parse.parse_number, text)
    assert math.isnan(value) and err is None


def test_parse_percent_with_sign_and_bare_fractions():
    out, err = parse.parse_percent(pd.Series(["90%", "85.5％", "0.9", "", "１００％"]))
    assert out.iloc[:3].tolist() == pytest.approx([0.9, 0.855, 0.9])
    assert math.isnan(out.iloc[3]) and out.iloc[4] == pytest.approx(1.0)
    assert err.isna().all()


def test_parse_percent_column_of_points_without_sign():
    # Some bare value exceeds 1.5, so the column is in percentage points: 90 -> 0.90, 1 -> 0.01.
    out, _ = parse.parse_percent(pd.Series(["90", "1", "75.5"]))
    assert out.tolist() == pytest.approx([0.90, 0.01, 0.755])


def test_parse_int_refuses_fractions():
    out, err = parse.parse_int(pd.Series(["1,200", "１２", "2.5"]))
    assert out.iloc[0] == 1200 and out.iloc[1] == 12 and pd.isna(out.iloc[2])
    assert err.iloc[2] == "not a whole number: '2.5'"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2016年3月5日", dt.datetime(2016, 3, 5)),
        ("2016/3/5", dt.datetime(2016, 3, 5)),
        ("2016.3.5", dt.datetime(2016, 3, 5)),
        ("20160305", dt.datetime(2016, 3, 5)),
        ("2016-03-05 09:05", dt.datetime(2016, 3, 5, 9, 5)),
        ("2016年3月5日 9时5分", dt.datetime(2016, 3, 5, 9, 5)),
        ("２０１６－０３－０５ 10:11:12", dt.datetime(2016, 3, 5, 10, 11, 12)),
        ("42434", dt.datetime(2016, 3, 5)),  # Excel serial: 1899-12-30 + 42434 days
        ("2016-03-05 10:11:12.5", dt.datetime(2016, 3, 5, 10, 11, 12, 500000)),
    ],
)
def test_parse_datetime_forms(text, expected):
    value, err = one(parse.parse_datetime, text)
    assert err is None and value == pd.Timestamp(expected)


@pytest.mark.parametrize("text", ["2016年2月30日", "2016-13-01", "yesterday", "2016-02-29 25:00"])
def test_parse_datetime_rejects_impossible_dates(text):
    value, err = one(parse.parse_datetime, text)
    assert pd.isna(value) and err.startswith("not a date")


def test_parse_date_refuses_a_time_of_day():
    value, err = one(parse.parse_date, "2016-03-05 09:00")
    assert pd.isna(value) and err.startswith("expected a date without a time")


def test_parse_month_forms():
    out, err = parse.parse_month(pd.Series(["2016年3月", "201603", "2016-3", "2016/03/31", "2016-13"]))
    assert out.iloc[:4].tolist() == ["2016-03"] * 4
    assert pd.isna(out.iloc[4]) and err.iloc[4] == "not a month: '2016-13'"


def test_parse_bool_forms():
    out, err = parse.parse_bool(pd.Series(["是", "否", "Y", "n", "√", "×", "通过", "maybe", ""]))
    assert out.iloc[:7].tolist() == [True, False, True, False, True, False, True]
    assert err.iloc[7] == "not yes/no: 'maybe'" and pd.isna(out.iloc[8]) and pd.isna(err.iloc[8])


def test_parse_category_maps_spellings_and_lists_accepted():
    out, err = parse.parse_category(pd.Series(["市区", " 县 域 ", "乡村"]), {"市区": "urban", "县域": "county"})
    assert out.iloc[:2].tolist() == ["urban", "county"]
    assert err.iloc[2] == "unknown value '乡村' (accepted: 县域, 市区)"


def test_names_and_ids_are_trimmed():
    assert parse.normalize_name(pd.Series([" 城东  支行 "])).iloc[0] == "城东支行"
    assert parse.normalize_name(pd.Series(["Bank  of 城东"])).iloc[0] == "Bank of 城东"
    assert parse.normalize_id(pd.Series(["33180101.0", " ３３１８ "])).tolist() == ["33180101", "3318"]


def test_empty_text_cells_are_missing():
    # An empty CSV field (or one holding only spaces / a zero-width space) is no value, not the text "".
    for f in (parse.normalize_text, parse.normalize_name, parse.normalize_id):
        out = f(pd.Series(["", "  ", "\u200b", None, "x"]))
        assert out.isna().tolist() == [True, True, True, True, False]


# ------------------------------------------------------------------------------------- properties
# The parsers are vectorised (a column at a time) and cost a few milliseconds per call whatever the
# length, so each example is a column of up to 25 values: the property is checked value by value,
# and also holds for values mixed in one column as an export mixes them. 40 examples of up to 25
# values check more values than 100 single ones did, in about a third of the time.
COLUMNS = settings(max_examples=costly_examples(ci=20, random=40))  # 20 columns in the fast tier and CI
finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


def parsed(fn, texts: list[str]) -> list[tuple[object, object]]:
    """(value, error or None) for each text, parsed together as one column."""
    out, err = fn(pd.Series(texts, dtype="object"))
    return [(v, None if pd.isna(e) else e) for v, e in zip(out.tolist(), err.tolist())]


def columns_of(strategy):
    return st.lists(strategy, min_size=1, max_size=25)


@given(columns_of(st.integers(min_value=-(10**12), max_value=10**12)))
@COLUMNS
def test_property_thousands_separators_and_fullwidth_round_trip(ns):
    texts = [f"{n:,}" for n in ns]
    assert [v for v, _ in parsed(parse.parse_number, texts)] == ns
    assert [v for v, _ in parsed(parse.parse_number, [t.translate(FULLWIDTH) for t in texts])] == ns


@given(columns_of(st.decimals(min_value=0, max_value=1000, places=2)))
@COLUMNS
def test_property_percent_sign_divides_by_100(ds):
    texts = [f"{d}%" for d in ds]
    for (value, err), d in zip(parsed(parse.parse_percent, texts), ds):
        assert err is None and value == pytest.approx(float(d) / 100)
    for (value, _), d in zip(parsed(parse.parse_percent, [t.translate(FULLWIDTH) for t in texts]), ds):
        assert value == pytest.approx(float(d) / 100)


STYLES = ["cn", "iso", "slash", "dot", "compact", "fw"]


def _date_text(d: dt.date, style: str) -> str:
    return {
        "cn": f"{d.year}年{d.month}月{d.day}日",
        "iso": d.isoformat(),
        "slash": f"{d.year}/{d.month}/{d.day}",
        "dot": f"{d.year}.{d.month}.{d.day}",
        "compact": d.strftime("%Y%m%d"),
        "fw": d.isoformat().translate(FULLWIDTH),
    }[style]


@given(columns_of(st.tuples(st.dates(min_value=dt.date(1960, 1, 1), max_value=dt.date(2100, 12, 31)), st.sampled_from(STYLES))))
@COLUMNS
def test_property_dates_in_every_style(cells):
    for (value, err), (d, style) in zip(parsed(parse.parse_date, [_date_text(d, s) for d, s in cells]), cells):
        assert err is None and value == pd.Timestamp(d), (d, style)


@given(columns_of(st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2090, 1, 1)).map(lambda x: x.replace(microsecond=0))))
@COLUMNS
def test_property_datetime_round_trip(ts):
    for (value, err), t in zip(parsed(parse.parse_datetime, [t.strftime("%Y年%m月%d日 %H:%M:%S") for t in ts]), ts):
        assert err is None and value == pd.Timestamp(t)


@given(columns_of(st.text(max_size=40)))
@settings(max_examples=costly_examples(ci=10, random=20))  # five parsers per example, each a column of up to 25 texts: 10 columns (20 under the random profile)
def test_property_parsers_never_raise_and_always_explain(texts):
    for fn in (parse.parse_number, parse.parse_percent, parse.parse_datetime, parse.parse_bool, parse.parse_month):
        for (value, err), text in zip(parsed(fn, texts), texts):
            # Either a value, or an error, or the cell was empty: never a silent loss.
            empty = parse.nfkc(text).lower() in parse.MISSING_TOKENS
            assert pd.notna(value) or err is not None or empty, (fn.__name__, text)


@given(st.text(alphabet=st.characters(codec="gb18030", exclude_categories=("Cs",)), max_size=200))
@settings(max_examples=200)
def test_property_encodings_detected(text):
    for bom in (b"", b"\xef\xbb\xbf"):
        decoded, used = decode_bytes(bom + text.encode("utf-8"))
        assert decoded == text and used == ("utf-8-sig" if bom else "utf-8")
    # GB18030 vs UTF-8 is ambiguous on short texts: about 930 GB2312 characters encode to bytes that
    # are valid UTF-8 on their own ('蹮', '襽', '聫'). UTF-8 is tried first, so such bytes read as
    # UTF-8; every other GB18030 text is read back exactly (the property that is true).
    data = text.encode("gb18030")
    decoded, used = decode_bytes(data)
    if _valid_utf8(data):
        assert used == "utf-8" and decoded == data.decode("utf-8")
    else:
        assert (decoded, used) == (text, "gb18030")


@given(st.text(alphabet="城东支行网点投诉客户满意度神秘人检查得分排队", min_size=1, max_size=50))
def test_property_gbk_chinese_is_not_read_as_utf8(text):
    data = text.encode("gbk")
    assume(not _valid_utf8(data))
    decoded, used = decode_bytes(data)
    assert (decoded, used) == (text, "gb18030")


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def test_undecodable_bytes_name_the_file():
    with pytest.raises(EncodingError, match=r"bad\.csv: cannot decode"):
        decode_bytes(b"\x81\x30\xff\xff", "bad.csv")

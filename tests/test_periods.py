"""Reporting periods: parsing, spans, the previous period and the Chinese label."""

import pandas as pd
import pytest

from analysis.periods import Period


@pytest.mark.parametrize(
    "text, year, last, label, zh",
    [("2016", 2016, 12, "2016", "2016年"), ("2016-06", 2016, 6, "2016-06", "2016年1–6月"), ("2016Q3", 2016, 9, "2016-09", "2016年1–9月"), (2015, 2015, 12, "2015", "2015年")],
)
def test_parse_and_labels(text, year, last, label, zh):
    p = Period.parse(text)
    assert (p.year, p.last_month, p.label, p.label_zh) == (year, last, label, zh)


def test_span_months_and_previous():
    p = Period.parse("2016-03")
    assert (p.start, p.end) == (pd.Timestamp("2016-01-01"), pd.Timestamp("2016-04-01"))
    assert p.months == ["2016-01", "2016-02", "2016-03"]
    assert p.previous() == Period(2015, 3)
    when = pd.Series(pd.to_datetime(["2015-12-31 23:59", "2016-01-01 00:00", "2016-03-31 23:59", "2016-04-01 00:00"]))
    assert p.contains(when).tolist() == [False, True, True, False]


@pytest.mark.parametrize("bad", ["2016-13", "16", "2016Q5", "next year", ""])
def test_bad_periods_are_refused(bad):
    with pytest.raises(ValueError):
        Period.parse(bad)

"""Complaint exports as banks send them: the regulators' hotlines and e-channels are known channels,
only the date and the category are required, and a figure whose column is not in the export says so."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.complaints import report as R
from analysis.complaints import stats as S
from analysis.complaints.load import load_complaints
from analysis.io.read import SourceError
from analysis.periods import Period

HEADER = "投诉编号,受理时间,被投诉网点编号,投诉渠道,业务类别,投诉原因,投诉内容,是否有责,是否重大投诉,是否越级,办结时间\n"


def _write(tmp_path, text: str, name="投诉_x.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="gb18030")
    return path


CHANNEL_LABELS = [
    ("12378", "12378"), ("12363", "12363"), ("12378热线", "12378"), ("微信银行", "wechat"), ("手机银行", "mobile_banking"),
    ("网上银行", "online_banking"), ("信用卡中心", "credit_card_centre"), ("银保监转办", "regulator"), ("人民银行转办", "regulator"),
    ("金融监管总局转办", "regulator"), ("监管转办", "regulator"),
]


@pytest.fixture(scope="module")
def channel_export(tmp_path_factory):
    """One export with a record per label above (label i on line i + 2), loaded once for the cases below."""
    rows = "".join(f"TS{i},2016-03-05 09:10,33180101,{label},信用卡,服务态度,客户反映,否,否,否,2016-03-06\n" for i, (label, _) in enumerate(CHANNEL_LABELS))
    return load_complaints(_write(tmp_path_factory.mktemp("channels"), HEADER + rows))


@pytest.mark.parametrize("label, code", CHANNEL_LABELS)
def test_regulator_hotlines_and_e_channels_are_known_channels(channel_export, label, code):
    res, n = channel_export, len(CHANNEL_LABELS)
    assert (res.rows_in, len(res.table), len(res.rejected)) == (n, n, 0)
    line = [lab for lab, _ in CHANNEL_LABELS].index(label) + 2
    assert res.table.loc[res.table["source_line"] == line, "channel"].tolist() == [code]
    assert code in R.CHANNELS_ZH  # the pages that list channels name it


def test_a_stray_quote_before_95599_is_not_a_call_centre(tmp_path):
    path = _write(tmp_path, HEADER + 'TS1,2016-03-05,33180101,"95599,信用卡,服务态度,客户反映,否,否,否,\n'
                  + "TS2,2016-03-06,33180101,95599,信用卡,服务态度,客户反映,否,否,否,\n")
    res = load_complaints(path)
    assert res.rows_in == 2 == len(res.table) + len(res.rejected)
    line2 = res.table[res.table["source_line"] == 2]
    assert (line2["channel"] != "95599").all()  # kept apart: unmapped or rejected, never counted as 95599
    assert res.table.loc[res.table["source_line"] == 3, "channel"].tolist() == ["95599"]


def test_an_export_without_optional_columns_loads_and_says_not_in_this_export(tmp_path):
    text = ("投诉编号,受理时间,投诉渠道,业务类别\n"
            "TS1,2016-03-05,95599,信用卡\n"
            "TS2,2016-03-20,网点,借记卡\n"
            "TS3,2015-03-07,12378,信用卡\n")
    res = load_complaints(_write(tmp_path, text))
    assert (res.rows_in, len(res.table), len(res.rejected)) == (3, 3, 0)
    assert {"escalated", "resolved_at", "major", "responsible"} <= set(res.absent)
    assert any("not in this export" in w and "是否越级" in w and "办结时间" in w for w in res.warnings)
    f = S.flag_summary(res.table, "2016").set_index("measure")
    assert f.loc["complaints", "current"] == 2 and f.loc["complaints", "previous"] == 1
    for m in ("responsible", "major", "major_responsible", "escalated", "overdue", "open"):
        assert pd.isna(f.loc[m, "current"]) and f.loc[m, "note"] == S.NOT_IN_EXPORT  # not a zero
    t = S.time_to_resolve(res.table, "2016")
    assert t["note"].tolist() == [S.NOT_IN_EXPORT] and t["resolved"].isna().all()
    d = R.ComplaintData(Period.parse("2016"), res.table, None, None, None)
    flags = R.flags(d)
    assert "not in this export" in flags.text and "越级投诉" in flags.text and flags.table["measure"].tolist() == ["投诉总量"]
    assert "not in this export" in R.resolution(d).text


def test_present_columns_still_give_their_figures(tmp_path):
    text = ("受理时间,业务类别,是否越级\n"
            "2016-03-05,信用卡,是\n"
            "2016-03-06,信用卡,否\n")
    res = load_complaints(_write(tmp_path, text))
    f = S.flag_summary(res.table, "2016").set_index("measure")
    assert f.loc["escalated", "current"] == 1 and f.loc["escalated", "note"] == ""
    assert f.loc["major", "note"] == S.NOT_IN_EXPORT


def test_every_missing_required_column_is_named_in_one_message(tmp_path):
    path = _write(tmp_path, "投诉编号,受理日子,业务种类,投诉渠道\nTS1,2016-03-05,信用卡,95599\n")
    with pytest.raises(SourceError) as exc:
        load_complaints(path, None)
    msg = str(exc.value)
    assert "2 required column(s) not found" in msg
    assert "received_at (受理时间)" in msg and "category (业务类别)" in msg
    assert "'受理日子'" in msg and "'业务种类'" in msg  # the closest headers found, for each
    assert "Headers found: ['投诉编号', '受理日子', '业务种类', '投诉渠道']" in msg

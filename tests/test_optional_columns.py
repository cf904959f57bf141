"""Optional columns the export lacks (issue 11): the figures that need them say "not in this export"
(one wording, from the presentation layer), never 0, nan or a wrong figure. Hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.report.display import NOT_IN_EXPORT, NOT_IN_EXPORT_ZH, not_in_export
from analysis.scoring import load_scheme
from analysis.scoring.build import build_inputs

from scoring_helpers import bank

WORDING = f"{NOT_IN_EXPORT_ZH}（{NOT_IN_EXPORT}）"


def test_the_one_wording():
    assert not_in_export("办结时间", "办结用时不计算") == f"办结时间：{WORDING}，办结用时不计算。"
    from analysis.complaints import stats

    assert stats.NOT_IN_EXPORT is NOT_IN_EXPORT and stats.NOT_IN_EXPORT_ZH is NOT_IN_EXPORT_ZH


def test_competition_without_major_or_outlet_columns_notes_it_instead_of_counting_empty_cells():
    b = bank()
    b["complaints"] = b["complaints"].assign(major=pd.NA, responsible=pd.NA, unit_id=pd.Series(pd.NA, index=b["complaints"].index, dtype="string"))
    built = build_inputs(b, "2016", load_scheme("competition-2011"))
    t = built.table.set_index("unit_id")
    assert t["major_complaints"].tolist() == [0, 0]  # no deduction can be computed ...
    assert any(n.startswith("被投诉网点编号（unit_id）、是否重大投诉（major）、是否有责（responsible）：" + WORDING) for n in built.notes)  # ... and the page says why
    assert not any("未写明网点" in n for n in built.notes)  # not "8 complaints name no outlet": the column is not there
    assert t["negative_media"].tolist() == [1, 1]  # the media part of the deduction still counts


def test_survey_without_standard_deviation_is_said_once():
    b = bank()
    b["satisfaction"] = b["satisfaction"].assign(score_sd=np.nan)
    built = build_inputs(b, "2016", load_scheme("competition-2011"))
    assert built.survey_se.isna().all()
    assert sum("得分标准差（score_sd）：" + WORDING in n for n in built.notes) == 1


def test_peer_funnel_without_outlet_column():
    from analysis import peers
    from analysis.plots.funnel import plot_funnel

    inputs = pd.DataFrame({"outlet_id": ["O1", "O2"], "outlet_name": ["东一", "东二"], "area": ["urban"] * 2, "grade": ["basic"] * 2,
                           "numerator": [np.nan, np.nan], "denominator": [1000, 2000]})
    inputs.attrs["absent"] = "unit_id"
    f = peers.unit_funnel(inputs, "complaints")
    assert f.absent == not_in_export("被投诉网点编号（unit_id）", "每万笔金融交易投诉量的漏斗图不计算")
    assert peers.funnel_summary(f, "complaints") == f.absent
    assert peers.funnel_outliers(f, "complaints")["说明"].tolist() == [f.absent]
    ax = plot_funnel(f, **peers.plot_args("complaints"))
    assert [t.get_text() for t in ax.texts] == [f.absent]


def test_unit_rate_inputs_give_no_complaint_rate_without_outlet_column():
    from analysis import peers

    b = bank()
    comp = b["complaints"].assign(unit_id=pd.Series(pd.NA, index=b["complaints"].index, dtype="string"))
    tickets = pd.DataFrame({"ticket_id": ["t1"], "outlet_id": ["O1"], "business_type": ["vip"], "issued_at": [pd.Timestamp("2016-03-01 09:00")],
                            "called_at": [pd.Timestamp("2016-03-01 09:05")]})
    ratings = pd.DataFrame({"event_id": ["e1"], "outlet_id": ["O1"], "teller_id": ["T"], "txn_at": [pd.Timestamp("2016-03-01 09:00")], "rating": [5]})
    inputs = peers.unit_rate_inputs(b["outlets"], comp, b["business"], tickets, ratings, "2016")
    assert inputs["complaints"].attrs["absent"] == "unit_id" and inputs["complaints"]["numerator"].isna().all()
    assert inputs["waits"]["denominator"].tolist()[0] == 1  # the other funnels are untouched


def test_95599_target_without_channel_column_is_not_in_this_export():
    from analysis.metrics import NoData, Selection, complaints_95599
    from analysis.periods import Period

    class Data:
        def table(self, name):
            return bank()["complaints"].assign(channel=pd.Series(pd.NA, index=range(9), dtype="string"))

    sel = Selection(label="全行", kind="bank")
    try:
        complaints_95599(Data(), Period.parse("2016"), sel, {"channel": "95599"})
    except NoData as exc:
        assert str(exc) == not_in_export("受理渠道（channel）", "95599服务投诉不计算")
    else:
        raise AssertionError("a 95599 figure from a table without channels")


def test_data_quality_lists_the_absent_optional_columns(tmp_path):
    import json

    from analysis import quality

    pd.DataFrame({"outlet_id": ["O1"], "outlet_name": ["东一"], "sub_branch_id": ["S1"], "sub_branch_name": ["城东支行"], "area": ["urban"],
                  "grade": ["basic"], "opened_on": pd.Series([pd.NaT], dtype="datetime64[ns]")}).to_parquet(tmp_path / "outlets.parquet")
    report = {"outlets": {"source": "outlets", "title": "机构信息（网点）", "files": [], "rows_in": 1, "clean": 1, "rejected": 0, "reasons": {}}}
    (tmp_path / "clean_report.json").write_text(json.dumps(report), encoding="utf-8")
    acc = quality.accounting(tmp_path)
    assert acc.attrs["absent"] == {"outlets": ["开业日期"]}
    assert "机构信息（网点）的开业日期：" + WORDING in quality.summary(acc)


def test_unit_page_complaint_sentence_without_outlet_column():
    from types import SimpleNamespace

    from analysis.periods import Period
    from analysis.scorecard.page import complaints_text

    figures = pd.DataFrame([{"metric": "complaints_per_10k", "scope_kind": "unit", "scope": "S1", "value": np.nan, "num": np.nan,
                             "prev_value": np.nan, "prev_num": np.nan, "verdict": NOT_IN_EXPORT, "verdict_zh": NOT_IN_EXPORT_ZH, "p_value": np.nan}])
    view = SimpleNamespace(figures=figures, name="城东支行", period=Period.parse("2016"))
    assert complaints_text(view) == not_in_export("被投诉网点编号（unit_id）", "本支行的投诉量与投诉率不计算")

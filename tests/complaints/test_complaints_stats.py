"""Complaint figures: the rate test against independent computations, unit tables by hand, JR/T classification."""

from __future__ import annotations

import math
from math import comb

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from analysis.complaints import stats as S
from analysis.complaints.classify import UNMAPPED, load_classifier
from analysis.yamlio import ConfigError

# ------------------------------------------------------------------------------------- rate test


def test_rate_test_by_hand_equal_exposure():
    # k1 = 10 over 1,000, k2 = 2 over 1,000. Equal rates: k2 | 12 ~ Bin(12, 0.5).
    # P(X <= 2) = (C(12,0) + C(12,1) + C(12,2)) / 2^12 = (1 + 12 + 66) / 4096 = 79 / 4096 = 0.0192871...
    t = S.rate_test(10, 1000, 2, 1000)
    assert t["p_less"] == pytest.approx(79 / 4096, rel=1e-12)
    assert t["p_value"] == t["p_less"]
    assert t["rate_ratio"] == pytest.approx(0.2)  # (2/1000) / (10/1000)
    assert (t["rate1"], t["rate2"]) == (pytest.approx(100.0), pytest.approx(20.0))  # per 10,000
    assert t["expected2"] == pytest.approx(6.0)  # 12 x 0.5
    assert t["verdict"] == "decrease"
    # Two-sided: the distribution is symmetric, so twice the tail: 158 / 4096.
    assert S.rate_test(10, 1000, 2, 1000, alternative="two-sided")["p_value"] == pytest.approx(158 / 4096, rel=1e-9)


def test_rate_test_against_scipy_binomtest():
    # Unequal exposures: 30 over 2,000 then 12 over 1,000. p0 = 1000 / 3000 = 1/3, n = 42.
    t = S.rate_test(30, 2000, 12, 1000, alternative="less")
    ref = sps.binomtest(12, 42, 1 / 3, alternative="less")
    assert t["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert t["p_greater"] == pytest.approx(sps.binomtest(12, 42, 1 / 3, alternative="greater").pvalue, rel=1e-10)
    two = S.rate_test(30, 2000, 12, 1000, alternative="two-sided")
    assert two["p_value"] == pytest.approx(sps.binomtest(12, 42, 1 / 3).pvalue, rel=1e-9)
    # RR = (12/1000) / (30/2000) = 0.8; its bounds from the exact bounds for p = 12/42: RR = p/(1-p) x 2000/1000.
    # The bounds are the one-sided 95% ones (matching the one-sided verdict): the two-sided 90% exact interval.
    ci = sps.binomtest(12, 42, 1 / 3).proportion_ci(confidence_level=0.90, method="exact")
    assert t["rate_ratio"] == pytest.approx(0.8)
    assert t["ci_low"] == pytest.approx(ci.low / (1 - ci.low) * 2, rel=1e-9)
    assert t["ci_high"] == pytest.approx(ci.high / (1 - ci.high) * 2, rel=1e-9)
    # The hand sum for the lower tail: sum_{i<=12} C(42,i) (1/3)^i (2/3)^(42-i).
    hand = sum(comb(42, i) * (1 / 3) ** i * (2 / 3) ** (42 - i) for i in range(13))
    assert t["p_less"] == pytest.approx(hand, rel=1e-10)


def test_rate_test_matches_r_poisson_test_example():
    # R's ?poisson.test example: poisson.test(c(11, 6 + 8 + 7), c(800, 1083 + 1050 + 878)) prints
    # "count1 = 11, expected count1 = 6.7174, p-value = 0.07967; 95 percent confidence interval:
    # 0.8584264 4.2772659; rate ratio 1.971488" (two-sided). Our period 2 is R's first sample; a
    # two-sided 95% interval is the pair of one-sided 97.5% bounds.
    t = S.rate_test(21, 3011, 11, 800, alternative="two-sided", confidence=0.975)
    assert t["rate_ratio"] == pytest.approx(1.971488, abs=5e-7)
    assert t["expected2"] == pytest.approx(6.7174, abs=5e-5)
    assert t["p_value"] == pytest.approx(0.07967, abs=5e-6)
    assert (t["ci_low"], t["ci_high"]) == (pytest.approx(0.8584264, abs=5e-8), pytest.approx(4.2772659, abs=5e-8))
    assert t["interval_level"] == pytest.approx(0.95)


def test_one_sided_verdict_prints_its_one_sided_bound():
    # The case: 400 then 350 on equal exposure. p_less = P(Bin(750, 1/2) <= 350) = 0.0368 < 0.05: a decrease.
    # The two-sided 95% interval 0.76-1.01 contains 1 and must not be printed beside it; the one-sided
    # 95% upper bound (two-sided 90% interval 0.774-0.989) is below 1.
    t = S.rate_test(400, 1e6, 350, 1e6)
    assert t["verdict"] == "decrease" and t["p_less"] == pytest.approx(sps.binom.cdf(350, 750, 0.5), rel=1e-12)
    assert t["ci_high"] == pytest.approx(sps.beta.ppf(0.95, 351, 400) / (1 - sps.beta.ppf(0.95, 351, 400)), rel=1e-12)
    assert t["ci_high"] == pytest.approx(0.98948, abs=1e-5) and t["ci_low"] == pytest.approx(0.77359, abs=1e-5)
    s = S.change_sentence(t, "全行投诉", "2016")
    assert "单侧95%置信上限0.99，低于1" in s and "下降是真实的" in s
    assert "0.76" not in s and "1.01" not in s
    u = S.change_sentence(S.rate_test(10, 1000, 30, 1000), "某支行", "2016")
    assert "单侧95%置信下限" in u and "高于1" in u and "确实上升" in u
    with pytest.raises(ValueError, match="confidence"):
        S.rate_test(1, 1, 1, 1, confidence=0.4)


def test_bound_close_to_one_is_not_rounded_onto_one():
    assert S._b(0.9962) == "0.996" and S._b(0.98) == "0.98" and S._b(math.inf) == "∞" and S._b(1.0) == "1.00"


@settings(max_examples=300, deadline=None)
@given(k1=st.integers(0, 400), k2=st.integers(0, 400), e1=st.integers(1, 10**6), e2=st.integers(1, 10**6))
def test_printed_interval_excludes_one_exactly_when_verdict_is_a_real_change(k1, k2, e1, e2):
    t = S.rate_test(k1, e1, k2, e2)
    if k1 + k2 == 0:
        return
    # away from exact ties at the 5% boundary (floating point decides those either way)
    if abs(t["p_less"] - 0.05) > 1e-9:
        assert (t["verdict"] == "decrease") == (t["ci_high"] < 1)
    if abs(t["p_greater"] - 0.05) > 1e-9:
        assert (t["verdict"] == "increase") == (t["ci_low"] > 1)


def test_rate_test_edges():
    none = S.rate_test(0, 1000, 0, 1000)
    assert none["p_value"] == 1.0 and none["verdict"] == "no change" and math.isnan(none["rate_ratio"])
    zero_now = S.rate_test(8, 1000, 0, 1000)
    # P(X <= 0) = 0.5^8 = 1/256; the lower end of the RR interval is 0.
    assert zero_now["p_less"] == pytest.approx(1 / 256) and zero_now["ci_low"] == 0.0 and zero_now["rate_ratio"] == 0.0
    zero_before = S.rate_test(0, 1000, 5, 1000)
    assert zero_before["rate_ratio"] == math.inf and zero_before["ci_high"] == math.inf
    assert S.rate_test(5, 0, 3, 100)["verdict"] == "no data"
    with pytest.raises(ValueError, match="alternative"):
        S.rate_test(1, 1, 1, 1, alternative="down")
    with pytest.raises(ValueError, match="non-negative"):
        S.rate_test(-1, 1, 1, 1)


@settings(max_examples=200, deadline=None)
@given(k1=st.integers(0, 300), k2=st.integers(0, 300), e1=st.integers(1, 10**6), e2=st.integers(1, 10**6))
def test_rate_test_properties(k1, k2, e1, e2):
    t = S.rate_test(k1, e1, k2, e2)
    if k1 + k2 == 0:
        return
    # The interval holds the estimate; swapping the periods inverts ratio and interval.
    assert t["ci_low"] <= t["rate_ratio"] * (1 + 1e-9) + 1e-12
    assert t["rate_ratio"] <= t["ci_high"] * (1 + 1e-9) + 1e-12 or t["ci_high"] == math.inf
    s = S.rate_test(k2, e2, k1, e1)
    if 0 < t["rate_ratio"] < math.inf:
        assert s["rate_ratio"] == pytest.approx(1 / t["rate_ratio"], rel=1e-9)
    if 0 < t["ci_low"] and t["ci_high"] < math.inf:
        assert s["ci_high"] == pytest.approx(1 / t["ci_low"], rel=1e-6)
        assert s["ci_low"] == pytest.approx(1 / t["ci_high"], rel=1e-6)
    # One-sided p-values: P(X <= k) + P(X >= k) = 1 + P(X = k).
    pmf = sps.binom.pmf(k2, k1 + k2, e2 / (e1 + e2))
    assert t["p_less"] + t["p_greater"] == pytest.approx(1 + pmf, abs=1e-9)


# ------------------------------------------------------------------------------------ unit figures
OUTLETS = pd.DataFrame(
    {
        "outlet_id": ["A1", "A2", "B1"],
        "outlet_name": ["甲一", "甲二", "乙一"],
        "sub_branch_id": ["A", "A", "B"],
        "sub_branch_name": ["甲支行", "甲支行", "乙支行"],
        "opened_on": pd.to_datetime(["2000-01-01", "2000-01-01", "2000-01-01"]),
    }
)
BUSINESS = pd.DataFrame(
    {
        "outlet_id": ["A1", "A2", "B1"] * 4,
        "month": ["2015-01"] * 3 + ["2015-02"] * 3 + ["2016-01"] * 3 + ["2016-02"] * 3,
        "fin_txn": [1000, 1000, 500, 1000, 1000, 500, 2000, 2000, 1000, 2000, 2000, 1000],
        "counter_txn": [1] * 12,
    }
)


def _complaints(rows):
    df = pd.DataFrame(rows, columns=["complaint_id", "received_at", "resolved_at", "unit_id", "channel", "responsible", "major", "escalated"])
    df["received_at"] = pd.to_datetime(df["received_at"], format="mixed")
    df["resolved_at"] = pd.to_datetime(df["resolved_at"], format="mixed")
    for c in ("responsible", "major", "escalated"):
        df[c] = df[c].astype("boolean")
    df["unit_id"] = df["unit_id"].astype("string")
    return df


COMPLAINTS = _complaints(
    [
        # 2015-01..02 (the previous span of period 2016-02): A has 3, B has 1, one names no outlet.
        ("p1", "2015-01-05", "2015-01-06", "A1", "95599", True, False, False),
        ("p2", "2015-01-20", "2015-02-10", "A2", "outlet", False, False, False),
        ("p3", "2015-02-03", "2015-02-04", "A1", "95599", True, False, False),
        ("p4", "2015-02-14", "2015-02-15", "B1", "95599", False, False, False),
        ("p5", "2015-02-20", "2015-02-21", None, "95599", False, False, False),
        # 2016-01..02: A has 1, B has 3.
        ("c1", "2016-01-04 09:00", "2016-01-19 09:00", "A1", "95599", True, True, False),   # exactly 15 days: on time
        ("c2", "2016-01-10 09:00", "2016-01-25 09:01", "B1", "95599", True, False, True),   # 15 days 1 minute: overdue
        ("c3", "2016-02-01 09:00", None, "B1", "outlet", False, False, False),              # open 27 days at cut-off: overdue
        ("c4", "2016-02-20 09:00", None, "B1", "regulator", False, False, False),           # open 8 days: open, not yet due
        ("c5", "2016-02-28 09:00", "2016-02-28 09:00", None, "95599", False, False, False),  # cut-off = 2016-02-28 09:00
        # Outside both spans.
        ("x1", "2016-03-01", "2016-03-02", "A1", "95599", False, False, False),
    ]
)


def test_unit_table_by_hand():
    u = S.unit_table(COMPLAINTS, BUSINESS, OUTLETS, "2016-02").set_index("unit")
    # A: 2 outlets, 1 complaint now, 3 before; transactions 2016-01..02 = 2*(2000+2000) = 8000, before 4000.
    a = u.loc["A"]
    assert (a.outlets, a.complaints, a.complaints_prev, a.transactions, a.transactions_prev) == (2, 1, 3, 8000, 4000)
    assert a.per_outlet == 0.5 and a.per_10k == pytest.approx(1 / 8000 * 10_000)
    assert a.increment == -2 and a.increment_per_outlet == -1.0  # (1 - 3) / 2
    assert (a.responsible, a.major, a.major_responsible) == (1, 1, 1)
    b = u.loc["B"]
    assert (b.complaints, b.complaints_prev, b.transactions, b.increment_per_outlet) == (3, 1, 2000, 2.0)
    assert b.escalated == 1


def test_bank_totals_and_increment_by_hand():
    t = S.bank_totals(COMPLAINTS, BUSINESS, OUTLETS, "2016-02")
    # Now: 5 complaints (4 naming an outlet); before: 5 (4 naming an outlet); 3 outlets.
    assert (t["complaints"], t["complaints_prev"], t["named"], t["no_unit"]) == (5, 5, 4, 1)
    assert t["increment_per_outlet"] == 0.0  # (4 - 4) / 3
    assert t["transactions"] == 10_000 and t["transactions_prev"] == 5_000
    tests = S.change_tests(S.unit_table(COMPLAINTS, BUSINESS, OUTLETS, "2016-02"), t)
    assert list(tests["unit"]) == ["全行", "A", "B"]
    # The bank: 5 over 5,000 then 5 over 10,000: RR = 0.5; P(X <= 5 | 10, 2/3).
    assert tests.iloc[0]["rate_ratio"] == pytest.approx(0.5)
    assert tests.iloc[0]["p_less"] == pytest.approx(sps.binom.cdf(5, 10, 2 / 3))
    assert tests["q_value"].iloc[1:].notna().all() and pd.isna(tests["q_value"].iloc[0])


def test_overdue_and_flags_by_hand():
    f = S.flag_summary(COMPLAINTS, "2016-02").set_index("measure")
    # Cut-off 2016-02-28 09:00 (the last time stamp in the span). c2 and c3 overdue; c4 open.
    assert f.loc["complaints", "current"] == 5
    assert f.loc["overdue", "current"] == 2 and f.loc["open", "current"] == 1
    assert f.loc["major_responsible", "current"] == 1 and f.loc["escalated", "current"] == 1
    assert f.loc["overdue", "current_share"] == pytest.approx(2 / 5)
    # The previous span: p2 took 21 days.
    assert f.loc["overdue", "previous"] == 1


def test_monthly_trend_and_time_to_resolve():
    m = S.monthly_trend(COMPLAINTS, "2016-02")
    assert m.to_dict("list")["current"] == [2, 3] and m.to_dict("list")["previous"] == [2, 3]
    t = S.time_to_resolve(COMPLAINTS, "2016-02").set_index("group")
    # Resolved: c1 15 d, c2 15 d + 1 min, c5 0 d. Median 15 d; 2 open (c3, c4).
    assert t.loc["全部", "resolved"] == 3 and t.loc["全部", "open"] == 2
    assert t.loc["全部", "median_days"] == pytest.approx(15.0)
    assert t.loc["全部", "within_15d"] == pytest.approx(2 / 3)


def test_breakdown_keeps_missing():
    b = S.breakdown(COMPLAINTS.assign(cat=["x", None, "x", "y", None, "x", None, "y", "y", "x", "x"]), "cat", "2016-02")
    assert b.set_index("cat")["current"].to_dict() == {"y": 2, "x": 2, "(未填写)": 1}
    assert b["current"].sum() == 5


def test_unknown_unit_is_an_error():
    bad = COMPLAINTS.copy()
    bad.loc[0, "unit_id"] = "Z9"
    with pytest.raises(ValueError, match="Z9"):
        S.unit_table(bad, BUSINESS, OUTLETS, "2016-02")


def test_sentence_reads_the_result():
    t = S.rate_test(907, 110708440, 762, 113946077)
    s = S.change_sentence(t, "全行投诉", "2016")
    assert "2016年762件" in s and "2015年907件" in s and "下降16.0%" in s and "p<0.001" in s and "真实" in s
    s = S.change_sentence(S.rate_test(20, 1000, 18, 1000), "某支行", "2016-06")
    assert "2016年1–6月18件" in s and "随机波动" in s


# ---------------------------------------------------------------------------------- classification
def test_jrt_classification_and_unmapped_listed():
    clf = load_classifier()
    df = pd.DataFrame(
        {
            "category": ["借记卡", "信用卡", "电子银行", "社保卡代发", "储蓄业务 ", None],
            "cause": ["ATM吞卡", "收费问题", "系统故障", "服务态度", None, "催收方式"],
            "channel": ["outlet", "95599", "95599", "95599", "outlet", "95599"],
            "unit_id": ["A1", None, None, "A1", "A1", None],
        }
    )
    out = clf.classify(df)
    assert list(out["jrt_business"]) == ["银行卡类", "银行卡类", "其他类", UNMAPPED, "人民币储蓄类", UNMAPPED]
    assert list(out["jrt_cause"]) == [
        "因服务设施、设备、业务系统引起的投诉", "因定价收费引起的投诉", "因服务设施、设备、业务系统引起的投诉",
        "因服务态度及服务质量引起的投诉", UNMAPPED, "因债务催收方式和手段引起的投诉"]
    # A: by cause (ATM吞卡 -> 自助机具; 催收方式 -> 中后台), by category (电子银行), a named outlet -> 营业现场; else unmapped.
    assert list(out["jrt_channel"]) == ["自助机具", UNMAPPED, "电子渠道", "营业现场", "营业现场", "中、后台业务渠道"]
    assert list(out["jrt_channel_group"])[:3] == ["自助机具", UNMAPPED, "电子渠道"]
    assert len(out) == len(df)  # nothing dropped
    um = clf.unmapped_labels(out)
    assert set(zip(um["dimension"], um["label"])) == {("A", "信用卡 / 收费问题 / 95599"), ("B", "社保卡代发"), ("B", "(未填写)"), ("C", "(未填写)")}


def test_jrt_mapping_names_are_checked(tmp_path):
    import shutil

    from analysis import config

    shutil.copy(config.MAPPINGS_DIR / "jrt0169-2018_structure.csv", tmp_path)
    p = tmp_path / "jrt.yaml"
    p.write_text("structure: jrt0169-2018_structure.csv\nbusiness_type: {储蓄业务: 储蓄类}\ncause: {服务态度: 因服务态度及服务质量引起的投诉}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_classifier(p)
    assert str(p) in str(exc.value) and "business_type.储蓄业务" in str(exc.value) and "储蓄类" in str(exc.value)
    p.write_text("structure: jrt0169-2018_structure.csv\nchannel: {outlet_named: 其他}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="电子渠道/其他"):  # 其他 is ambiguous in A: the known names qualify it
        load_classifier(p)

"""Metrics declared in a targets file's YAML (analysis.declared_metrics), on hand-made clean tables."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import config, targets
from analysis.declared_metrics import DeclaredMetric, Filter, measure
from analysis.metrics import REGISTRY, Data
from analysis.periods import Period
from analysis.yamlio import ConfigError

from conftest import FIXTURES_DIR

# Five mystery-shopper checks; the 2015 one is outside every 2016 window.
CHECKS = pd.DataFrame({
    "outlet_id": ["o1", "o2", "o1", "o2", "o1"],
    "year": [2016, 2016, 2016, 2016, 2015],
    "round": [1, 1, 2, 2, 4],
    "checked_on": pd.to_datetime(["2016-03-10", "2016-03-20", "2016-06-05", "2016-06-15", "2015-12-01"]),
    "score": [80.0, 90.0, 70.0, 100.0, 60.0],
    "inspector": ["a", "b", "a", "b", "a"],
})


@pytest.fixture
def data(tmp_path):
    CHECKS.to_parquet(config.table_path("mystery_shopper", tmp_path), index=False)
    return Data(tmp_path)


def _decl(**kw):
    base = {"title": "t", "title_en": "t", "source": "mystery_shopper", "time": "checked_on", "unit": "points", "better": "higher"}
    return DeclaredMetric.model_validate(base | kw)


def test_each_statistic_by_hand(data):
    h1 = Period.parse("2016-06")
    # 2016 checks: 80, 90, 70, 100 -> mean 85; sd = sqrt((25 + 25 + 225 + 225) / 3) = sqrt(500/3)
    m = measure(_decl(statistic="mean", column="score"), data, h1)
    assert m.value == 85 and m.n == 4 and m.sd == pytest.approx((500 / 3) ** 0.5) and m.kind == "mean"
    assert measure(_decl(statistic="mean", column="score"), data, Period.parse("2016-03")).value == 85  # 80 and 90
    # filters: round 2 only -> 70, 100
    assert measure(_decl(statistic="mean", column="score", where=[{"column": "round", "op": "eq", "value": 2}]), data, h1).value == 85
    assert measure(_decl(statistic="mean", column="score", where=[{"column": "outlet_id", "op": "in", "value": ["o1"]}]), data, h1).value == 75
    # the median of 70, 80, 90, 100 is 85; exact -> no noise
    q = measure(_decl(statistic="quantile", column="score", q=0.5, noise="exact"), data, h1)
    assert q.value == 85 and q.extra["exact"]
    # checks scoring at least 90: 90 and 100
    assert measure(_decl(statistic="count", unit="count", where=[{"column": "score", "op": "ge", "value": 90}]), data, h1).value == 2
    share = measure(_decl(statistic="share", unit="share", share_of=[{"column": "score", "op": "ge", "value": 90}]), data, h1)
    assert share.value == 0.5 and list(share.series["num"]) == [1.0, 1.0] and list(share.series["den"]) == [2.0, 2.0]


TARGETS = """\
name: declared
title: 声明的指标
groups: {g: 组}
metrics:
  ms_mean_declared:
    title: 神秘人检查均分（声明）
    title_en: declared mystery-shopper mean
    source: mystery_shopper
    time: checked_on
    statistic: mean
    column: score
    unit: points
    better: higher
  ms_top_share_declared:
    title: 90分以上检查占比
    title_en: share of checks at 90 or more
    source: mystery_shopper
    time: checked_on
    statistic: share
    share_of: [{column: score, op: ge, value: 90}]
    unit: share
    better: higher
targets:
  - {id: mean80, title: 均分80, title_en: mean 80, group: g, metric: ms_mean_declared, rule: at_least, value: 80, deadline: 2016-06-30, source: test}
  - {id: top40, title: 占比40%, title_en: top 40%, group: g, metric: ms_top_share_declared, rule: at_least, value: 0.4, deadline: 2016-06-30, source: test}
"""


def test_targets_on_declared_metrics(tmp_path, data):
    path = tmp_path / "t.yaml"
    path.write_text(TARGETS, encoding="utf-8")
    t = targets.evaluate(path, "2016-06", data).table.set_index("target_id")
    assert "ms_mean_declared" in REGISTRY
    # mean 85 of 4 checks, sd 12.91: the one-sided 95% bound 85 - 2.353 x 6.455 = 69.8 is below 80, so
    # at the deadline it is met, though not beyond noise (the reason says so)
    assert t.loc["mean80", "actual"] == 85 and t.loc["mean80", "actual_low"] == pytest.approx(85 - 2.3534 * (500 / 3) ** 0.5 / 2, abs=1e-3)
    assert t.loc["mean80", "status"] == "met" and targets.status_reason(t.loc["mean80"]) == "已到期限：实际达到目标，但未超出抽样误差"
    assert t.loc["top40", "actual"] == 0.5 and t.loc["top40", "status"] == "met"  # a share of every check: exact
    # loading the same file again is fine (the same definitions)
    targets.load_targets(path)


@pytest.mark.parametrize(
    "body, words",
    [
        ("source: mystery_shopper\n    time: checked_on\n    statistic: mean\n    column: nope\n    unit: points", "no column 'nope'"),
        ("source: mystery_shopper\n    time: score\n    statistic: count\n    unit: count", "not a date"),
        ("source: mystery_shopper\n    time: checked_on\n    statistic: mean\n    column: inspector\n    unit: points", "not a number"),
        ("source: nosuch\n    time: checked_on\n    statistic: count\n    unit: count", "source 'nosuch' is not defined"),
        ("source: mystery_shopper\n    time: checked_on\n    statistic: share\n    unit: share", "share_of"),
        ("source: mystery_shopper\n    time: checked_on\n    statistic: count\n    unit: count\n    where: [{column: score, op: ge, value: abc}]", "compares with a number"),
        ("source: mystery_shopper\n    time: checked_on\n    statistic: count\n    unit: count\n    where: [{column: score, op: eval, value: 1}]", "'eq'"),
    ],
)
def test_bad_declarations_name_file_and_metric(tmp_path, body, words):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: x\ntitle: x\ngroups: {g: g}\nmetrics:\n  bad_metric_x:\n    title: x\n    title_en: x\n    better: higher\n    " + body
        + "\ntargets:\n  - {id: a, title: a, title_en: a, group: g, metric: bad_metric_x, rule: at_least, value: 1, deadline: 2016-12-31, source: test}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as exc:
        targets.load_targets(path)
    msg = str(exc.value)
    assert str(path) in msg and "bad_metric_x" in msg and words in msg
    assert "bad_metric_x" not in REGISTRY


def test_a_declared_metric_cannot_replace_a_builtin_or_change(tmp_path):
    def write(name, metric_id, column):
        p = tmp_path / name
        p.write_text(
            f"name: x\ntitle: x\ngroups: {{g: g}}\nmetrics:\n  {metric_id}:\n    title: x\n    title_en: x\n    source: mystery_shopper\n"
            f"    time: checked_on\n    statistic: mean\n    column: {column}\n    unit: points\n    better: higher\n"
            f"targets:\n  - {{id: a, title: a, title_en: a, group: g, metric: {metric_id}, rule: at_least, value: 1, deadline: 2016-12-31, source: test}}\n",
            encoding="utf-8")
        return p

    with pytest.raises(ConfigError, match="built-in"):
        targets.load_targets(write("a.yaml", "approval_time", "score"))
    targets.load_targets(write("b.yaml", "ms_changing_declared", "score"))
    with pytest.raises(ConfigError, match="different definition"):
        targets.load_targets(write("c.yaml", "ms_changing_declared", "round"))


def test_work_order_share_declared_on_the_fixture(tmp_path):
    from analysis.workorders_load import read_orders

    res = read_orders(FIXTURES_DIR / "workorders" / "办件_2013-2014_gb18030.csv")
    res.table.to_parquet(config.table_path("workorders", tmp_path), index=False)
    decl = DeclaredMetric.model_validate({"title": "越级占比", "title_en": "escalated share", "source": "workorders", "time": "received_at",
                                          "statistic": "share", "share_of": [{"column": "escalated", "op": "eq", "value": True}],
                                          "unit": "share", "better": "lower"})
    decl.check_source()
    # received in 2014Q1: 8 orders (tests/test_workorders.py), one escalated (A2)
    assert measure(decl, Data(tmp_path), Period.parse("2014Q1")).value == pytest.approx(1 / 8)
    urgent = decl.model_copy(update={"statistic": "count", "unit": "count", "share_of": [],
                                     "where": [Filter(column="type", value="供水报装")]})
    assert measure(urgent, Data(tmp_path), Period.parse("2014Q1")).value == 3  # A1, A3, B2

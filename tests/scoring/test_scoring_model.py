"""Scheme YAML validation: every error names the file and the field."""

from __future__ import annotations

import copy

import pytest
import yaml

from analysis import config
from analysis.scoring import load_scheme
from analysis.scoring.model import available_schemes
from analysis.yamlio import ConfigError

RAW = yaml.safe_load((config.SCHEMES_DIR / "competition-2011.yaml").read_text(encoding="utf-8"))


def write(tmp_path, data, name="bad.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def error_of(tmp_path, mutate) -> str:
    data = copy.deepcopy(RAW)
    mutate(data)
    p = write(tmp_path, data)
    with pytest.raises(ConfigError) as e:
        load_scheme(p)
    msg = str(e.value)
    assert str(p) in msg, msg  # the file is named
    return msg


def test_bundled_schemes_load():
    assert {"competition-2011", "evaluation-2016"} <= set(available_schemes())
    comp = load_scheme("competition-2011")
    assert [i.weight for i in comp.indicators] == [20, 20, 10, 10, 10, 10, 10, 10]
    assert all(comp.cap_of(i) == 1.2 and comp.floor_of(i) == 0 for i in comp.indicators)
    assert not comp.assumed and comp.deductions[0].points == {"major_complaints": 1, "negative_media": 1}
    assert comp.eligibility[0].ineligible_at == 3
    ev = load_scheme(config.SCHEMES_DIR / "evaluation-2016.yaml")  # a path works as well as a name
    assert ev.assumed and "假设" in ev.notice
    # plan 1's structure: mechanisms 30, supervision 70
    groups = {}
    for i in ev.indicators:
        groups[i.group] = groups.get(i.group, 0) + i.weight
    assert groups == {"服务管理机制落实": 30, "服务监督检查": 70}
    assert all(i.assumed and i.note for i in ev.indicators)


def test_unknown_field_is_named(tmp_path):
    msg = error_of(tmp_path, lambda d: d["indicators"][1].update(wieght=5))
    assert "indicators.1" in msg and "wieght" in msg


def test_negative_weight_is_named(tmp_path):
    msg = error_of(tmp_path, lambda d: d["indicators"][2].update(weight=-10))
    assert "indicators.2" in msg and "weight" in msg


def test_unknown_kind_is_named(tmp_path):
    msg = error_of(tmp_path, lambda d: d["indicators"][0].update(kind="python_expression"))
    assert "indicators.0" in msg and "python_expression" in msg


def test_unknown_column_is_named(tmp_path):
    msg = error_of(tmp_path, lambda d: d["indicators"][3].update(numerator="e_txns"))
    assert "indicators.3 (e_channel)" in msg and "e_txns" in msg


def test_weights_must_sum_to_total(tmp_path):
    msg = error_of(tmp_path, lambda d: d["indicators"][0].update(weight=25))
    assert "indicators: weights sum to 105" in msg


def test_weight_set_must_cover_every_indicator(tmp_path):
    msg = error_of(tmp_path, lambda d: d["weight_sets"][0]["weights"].pop("vip_cards"))
    assert "weight_sets.0.weights" in msg and "vip_cards" in msg


def test_assumed_rule_needs_a_note(tmp_path):
    msg = error_of(tmp_path, lambda d: d["indicators"][0].update(assumed=True))
    assert "indicators.0" in msg and "note" in msg


def test_alias_naming_two_columns(tmp_path):
    msg = error_of(tmp_path, lambda d: d["inputs"]["vip"]["aliases"].append("贵宾卡发卡数"))
    assert "inputs.vip.aliases" in msg or "inputs.cards_issued.aliases" in msg


def test_not_yaml_mapping_and_unknown_scheme(tmp_path):
    p = tmp_path / "list.yaml"
    p.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="list.yaml"):
        load_scheme(p)
    with pytest.raises(ConfigError, match="known schemes: .*competition-2011"):
        load_scheme("competition-2099")

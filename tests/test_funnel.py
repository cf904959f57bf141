"""Funnel limits (Spiegelhalter 2005) against exact limits computed independently, by brute force."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.funnel import (
    estimate_overdispersion,
    exact_limit,
    flag_label,
    funnel_limits,
    funnel_table,
    winsorize,
)


# ---------------------------------------------------------------- independent reference implementation
def brute_limit(n: int | float, target: float, p: float, kind: str) -> float:
    """Walk r = 0, 1, 2, ... summing the probability mass until the cdf reaches p (no ppf used),
    then Spiegelhalter's interpolation alpha = (F(r) - p) / (F(r) - F(r-1)), limit = (r - alpha) / n."""
    cdf_prev, cdf, r = 0.0, 0.0, -1
    while cdf < p:
        r += 1
        cdf_prev = cdf
        if kind == "binomial":
            m = int(n)
            log_pmf = math.lgamma(m + 1) - math.lgamma(r + 1) - math.lgamma(m - r + 1) + r * math.log(target) + (m - r) * math.log1p(-target)
        else:
            mu = n * target
            log_pmf = -mu + r * math.log(mu) - math.lgamma(r + 1)
        cdf += math.exp(log_pmf)
    alpha = (cdf - p) / (cdf - cdf_prev)
    return (r - alpha) / n


def test_hand_computed_binomial_20_at_2_percent():
    # Binomial(20, 0.02): P(0) = 0.98^20 = 0.667608, P(1) = 20 * 0.02 * 0.98^19 = 0.272493,
    # P(2) = 190 * 0.0004 * 0.98^18 = 0.052830, so F(1) = 0.940101, F(2) = 0.992931.
    # p = 0.975: r_p = 2, alpha = (0.992931 - 0.975) / (0.992931 - 0.940101) = 0.339411,
    # limit = (2 - 0.339411) / 20 = 0.083029.
    assert exact_limit(20, 0.02, 0.975) == pytest.approx(0.083029, abs=1e-6)
    # P(3) = 1140 * 0.02^3 * 0.98^17 = 0.006469, F(3) = 0.999400; p = 0.999: r_p = 3,
    # alpha = (0.999400 - 0.999) / 0.006469 = 0.061885, limit = (3 - 0.061885) / 20 = 0.146906.
    assert exact_limit(20, 0.02, 0.999) == pytest.approx(0.146906, abs=2e-6)


@pytest.mark.parametrize("kind", ["binomial", "poisson"])
@pytest.mark.parametrize("n", [1, 3, 20, 57, 400, 2500, 12000])
@pytest.mark.parametrize("target", [0.005, 0.02, 0.3, 0.9])
@pytest.mark.parametrize("p", [0.001, 0.025, 0.975, 0.999])
def test_exact_limit_matches_brute_force(kind, n, target, p):
    assert exact_limit(n, target, p, kind) == pytest.approx(brute_limit(n, target, p, kind), rel=1e-7, abs=1e-10)


def test_funnel_limits_columns_and_values_at_given_exposures():
    lim = funnel_limits([20, 400, 5000], 0.02, "binomial", grid=False)
    assert list(lim.columns) == ["exposure", "target", "lower_95", "upper_95", "lower_99.8", "upper_99.8"]
    for row in lim.itertuples(index=False):
        n = int(row.exposure)
        assert row.upper_95 == pytest.approx(brute_limit(n, 0.02, 0.975, "binomial"))
        assert row._5 == pytest.approx(brute_limit(n, 0.02, 0.999, "binomial"))  # upper_99.8
        assert row.lower_95 == pytest.approx(max(0.0, brute_limit(n, 0.02, 0.025, "binomial")))
    # at n = 20 the lower limits are negative before clipping: nobody can fall below them
    assert lim.loc[0, "lower_95"] == 0.0


def test_poisson_limits_per_10000():
    # 2 complaints per 10,000 transactions; exposure 30,000 transactions -> mean 6 complaints.
    lim = funnel_limits([30_000], 2.0 / 10_000, "poisson", grid=False, per=10_000)
    assert lim.loc[0, "target"] == pytest.approx(2.0)
    assert lim.loc[0, "upper_95"] == pytest.approx(brute_limit(30_000, 2e-4, 0.975, "poisson") * 10_000)
    assert lim.loc[0, "lower_95"] == pytest.approx(brute_limit(30_000, 2e-4, 0.025, "poisson") * 10_000)
    assert lim.loc[0, "lower_95"] > 0
    # Poisson(6): P(0) = e^-6 = 0.00248 >= 0.001, so the 99.8% lower limit is negative: clipped to 0
    assert brute_limit(30_000, 2e-4, 0.001, "poisson") < 0 and lim.loc[0, "lower_99.8"] == 0.0


def test_limits_approach_normal_for_large_exposure():
    n = 1_000_000
    lim = funnel_limits([n], 0.1, "binomial", grid=False)
    s = math.sqrt(0.1 * 0.9 / n)
    assert lim.loc[0, "upper_95"] == pytest.approx(0.1 + 1.959964 * s, abs=2e-6)
    assert lim.loc[0, "lower_99.8"] == pytest.approx(0.1 - 3.090232 * s, abs=2e-6)


def test_grid_is_monotone_funnel():
    lim = funnel_limits(np.array([50, 5000]), 0.05, "binomial")
    assert lim["exposure"].is_monotonic_increasing
    assert lim["exposure"].min() >= 40 and lim["exposure"].max() <= 5500
    assert (lim["exposure"] == np.round(lim["exposure"])).all()
    assert {50, 5000} <= set(lim["exposure"])
    # wider at small exposures (allowing the tiny saw-tooth of a discrete distribution)
    assert lim["upper_99.8"].iloc[0] > lim["upper_99.8"].iloc[-1] + 0.05
    assert (lim["upper_99.8"] >= lim["upper_95"]).all() and (lim["lower_99.8"] <= lim["lower_95"]).all()


def test_small_unit_is_not_flagged_on_noise_but_large_unit_is():
    df = pd.DataFrame(
        {
            "outlet": ["小网点", "大网点", "中网点", "无业务"],
            "events": [1, 260, 21, 0],
            "txn": [20, 10_000, 1_000, 0],
        }
    )
    f = funnel_table(df, "outlet", "events", "txn", "binomial", target=0.02, overdispersion=None)
    u = f.units.set_index("unit")
    # 1/20 = 5%, 2.5 times the target, but the 95% upper limit at n = 20 is 8.3%: inside.
    assert u.loc["小网点", "rate"] == pytest.approx(0.05)
    assert u.loc["小网点", "upper_95"] == pytest.approx(0.083029, abs=1e-6)
    assert u.loc["小网点", "flag"] == "inside"
    # 260/10,000 = 2.6% against 2%: z = 0.006 / sqrt(0.02 * 0.98 / 10000) = 4.2857; above 99.8%.
    assert u.loc["大网点", "z"] == pytest.approx(0.006 / math.sqrt(0.0196 / 10_000))
    assert u.loc["大网点", "flag"] == "above 99.8%"
    assert u.loc["大网点", "flag_zh"] == "高于99.8%控制限"
    assert u.loc["中网点", "flag"] == "inside"
    assert u.loc["无业务", "flag"] == "no exposure"
    assert np.isnan(u.loc["无业务", "rate"])
    assert list(f.excluded["unit"]) == ["无业务"]
    # exact one-sided p-value for the small unit: P(Y >= 1) = 1 - 0.98^20
    assert u.loc["小网点", "p_high"] == pytest.approx(1 - 0.98**20)
    assert list(f.outside()["unit"]) == ["大网点"]


def test_counts_at_twenty_transactions_against_two_percent():
    # Binomial(20, 0.02): P(Y >= 2) = 1 - 0.940101 = 0.0599, P(Y >= 3) = 1 - 0.992931 = 0.00707,
    # P(Y >= 4) = 1 - 0.999400 = 0.000600.
    # 2/20 = 10% is drawn beyond the 95% curve (8.3%), but one event fewer (5%) is not: inside.
    # 3/20: P = 0.7% <= 2.5% -> above 95%; 4/20: P = 0.06% <= 0.1% -> above 99.8%.
    df = pd.DataFrame({"u": ["two", "three", "four"], "r": [2, 3, 4], "n": [20, 20, 20]})
    u = funnel_table(df, "u", "r", "n", target=0.02, overdispersion=None).units.set_index("unit")
    assert u.loc["two", "rate"] > u.loc["two", "upper_95"]
    assert u.loc["two", "flag"] == "inside"
    assert u.loc["three", "flag"] == "above 95%"
    assert u.loc["four", "flag"] == "above 99.8%"
    assert u.loc["three", "p_high"] == pytest.approx(0.007069, abs=1e-6)


def test_flags_below_and_direction():
    df = pd.DataFrame({"u": ["a", "b"], "r": [800, 9], "n": [1000, 10]})
    f = funnel_table(df, "u", "r", "n", target=0.9, overdispersion=None, higher_is_better=True)
    u = f.units.set_index("unit")
    # 80% of 1000 against 90%: z = -0.1 / sqrt(0.09 / 1000) = -10.5
    assert u.loc["a", "flag"] == "below 99.8%"
    assert u.loc["a", "direction"] == "worse"
    assert u.loc["b", "flag"] == "inside" and u.loc["b", "direction"] == ""


def test_overall_target_when_none_given():
    df = pd.DataFrame({"u": ["a", "b"], "r": [10, 30], "n": [1000, 1000]})
    f = funnel_table(df, "u", "r", "n", overdispersion=None)
    assert f.target == pytest.approx(0.02)  # 40 / 2000
    assert f.target_source == "overall"


def test_per_scales_rates_limits_and_target():
    df = pd.DataFrame({"u": ["a"], "r": [9], "n": [30_000]})
    f = funnel_table(df, "u", "r", "n", "poisson", target=2.0, per=10_000, overdispersion=None)
    assert f.units.loc[0, "rate"] == pytest.approx(3.0)
    assert f.target == pytest.approx(2.0)
    assert f.units.loc[0, "upper_95"] == pytest.approx(brute_limit(30_000, 2e-4, 0.975, "poisson") * 10_000)


# --------------------------------------------------------------------------------- overdispersion
def test_winsorize_ten_percent_each_tail():
    z = np.arange(1.0, 21.0)  # 20 values: k = 2 replaced at each end
    w = winsorize(z)
    assert list(w[:3]) == [3.0, 3.0, 3.0] and list(w[-3:]) == [18.0, 18.0, 18.0]
    assert list(w[3:17]) == list(z[3:17])
    assert list(winsorize([5.0, -1.0, 2.0])) == [5.0, -1.0, 2.0]  # fewer than 10 values: none replaced


def _constructed_units():
    # 20 units of n = 400 against theta = 0.1 (s^2 = 0.1 * 0.9 / 400 = 0.000225, s = 0.015).
    # Counts chosen so z = (r/400 - 0.1) / 0.015 = (r - 40) / 6: r = 40 + 6 z.
    z = np.array([-4, -3, -2.5, -2, -1.5, -1.5, -1, -1, -0.5, 0, 0, 0.5, 1, 1, 1.5, 1.5, 2, 2.5, 3, 5], dtype=float)
    r = 40 + 6 * z
    return pd.DataFrame({"u": [f"U{i:02d}" for i in range(20)], "r": r, "n": 400}), z


def test_overdispersion_constructed_example():
    df, z = _constructed_units()
    # Winsorised (k = 2): -4, -3 -> -2.5 and 3, 5 -> 2.5. Sum of squares:
    # 4 * 6.25 (the four +-2.5 from the tails) + 2 * 6.25 (the original +-2.5) + 2 * 4 + 4 * 2.25
    # (-1.5, -1.5, 1.5, 1.5) + 4 * 1 + 2 * 0.25 + 0 = 37.5 + 8 + 9 + 4 + 0.5 = 59.0; phi = 59 / 20 = 2.95.
    od = estimate_overdispersion(df["r"], df["n"], 0.1, "binomial", adjustment="additive")
    assert od.phi == pytest.approx(2.95)
    assert od.statistic == pytest.approx(59.0)
    assert od.df == 19
    assert od.p_value == pytest.approx(stats.chi2.sf(59.0, 19))
    assert od.overdispersed and od.method == "additive"
    # tau^2 = (59 - 19) / (sum w - sum w^2 / sum w), w = 1/0.000225 = 4444.44 for all 20:
    # denominator = 20 w - 20 w^2 / (20 w) = 19 w = 84444.4; tau^2 = 40 / 84444.4 = 0.000473684
    assert od.tau2 == pytest.approx(40 / (19 / 0.000225))
    f = funnel_table(df, "u", "r", "n", target=0.1, overdispersion="additive")
    u = f.units.set_index("unit")
    s_adj = math.sqrt(0.000225 + od.tau2)
    assert u.loc["U19", "z_adjusted"] == pytest.approx(0.075 / s_adj)
    # The exact limit's distance from the target is widened by s_adj / s = 0.02643 / 0.015 ...
    widened = 0.1 + (brute_limit(400, 0.1, 0.999, "binomial") - 0.1) * s_adj / 0.015
    assert u.loc["U19", "upper_99.8"] == pytest.approx(widened)
    # ... which at n = 400 is close to Spiegelhalter's normal limit 0.1 + 3.09 * s_adj = 0.1817
    # (the binomial's right skew puts the exact one 1.4% higher).
    assert u.loc["U19", "upper_99.8"] == pytest.approx(0.1 + 3.090232 * s_adj, rel=0.02)
    # Before the adjustment U00 (z = -4, 16 events), U01 (z = -3, 22 events: the binomial's left tail
    # is short, P(Y <= 22) = 0.00088 < 0.001) and U19 (z = 5) are beyond 99.8%, U18 (z = 3, 58 events:
    # P(Y >= 58) = 0.0027) only beyond 95%; after, s_adj = sqrt(0.000225
    # + 0.000474) = 0.02643, U19 (z_adj = 0.075 / 0.02643 = 2.84) and U00 (-2.27) are beyond 95% only.
    raw = funnel_table(df, "u", "r", "n", target=0.1, overdispersion=None).units.set_index("unit")
    assert set(raw.index[raw["flag"] == "above 99.8%"]) == {"U19"}
    assert set(raw.index[raw["flag"] == "below 99.8%"]) == {"U00", "U01"}
    assert raw.loc["U18", "flag"] == "above 95%"
    assert u.loc["U19", "flag"] == "above 95%" and u.loc["U00", "flag"] == "below 95%"
    assert (~u["flag"].str.contains("99.8")).all()
    # multiplicative: limits widened by sqrt(phi)
    m = funnel_table(df, "u", "r", "n", target=0.1, overdispersion="multiplicative")
    assert m.overdispersion.method == "multiplicative"
    assert m.units.loc[19, "z_adjusted"] == pytest.approx(5 / math.sqrt(2.95))


def test_no_adjustment_when_spread_is_chance():
    # z-scores -1 .. 1: phi well below the chi2 threshold
    z = np.array([-1, -0.5, 0, 0.5, 1] * 4, dtype=float)
    df = pd.DataFrame({"u": range(20), "r": 40 + 6 * z, "n": 400})
    f = funnel_table(df, "u", "r", "n", target=0.1, overdispersion="additive")
    assert not f.overdispersion.overdispersed and f.overdispersion.method == "none"
    assert f.overdispersion.tau2 == 0.0
    exact = funnel_limits([400], 0.1, grid=False)
    assert f.units.loc[0, "upper_95"] == pytest.approx(exact.loc[0, "upper_95"])
    assert "no more spread than chance" in f.overdispersion.sentence()


def test_small_units_keep_exact_limits_under_additive_adjustment():
    df, _ = _constructed_units()
    f = funnel_table(pd.concat([df, pd.DataFrame({"u": ["tiny"], "r": [1], "n": [5]})]), "u", "r", "n", target=0.1)
    tiny = f.units.set_index("unit").loc["tiny"]
    # at n = 5, s^2 = 0.018 dwarfs tau^2 (~0.0005): the limit moves by under 2%
    assert tiny["upper_95"] == pytest.approx(brute_limit(5, 0.1, 0.975, "binomial"), rel=0.02)


# ------------------------------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    "r,n,message",
    [(5, 3, "more events than exposure"), (-1, 10, "negative"), (1.5, 10, "fractional"), ("x", 10, "not a number")],
)
def test_refusals_name_the_unit(r, n, message):
    df = pd.DataFrame({"u": ["ok", "城东网点"], "r": [1, r], "n": [10, n]}, dtype=object)
    with pytest.raises(ValueError, match=f"城东网点.*{message}"):
        funnel_table(df, "u", "r", "n", target=0.1)


def test_refuses_duplicated_units_and_bad_target():
    with pytest.raises(ValueError, match="more than once"):
        funnel_table(pd.DataFrame({"u": ["a", "a"], "r": [1, 2], "n": [10, 10]}), "u", "r", "n")
    with pytest.raises(ValueError, match="between 0 and 1"):
        funnel_limits([10], 1.5, "binomial")


# -------------------------------------------------------------------------------------- properties
@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3000), target=st.floats(0.001, 0.999), level=st.sampled_from([0.95, 0.998]))
def test_property_limits_bracket_target_and_nest(n, target, level):
    lim = funnel_limits([n], target, grid=False, levels=(0.95, 0.998))
    lo, hi = lim.loc[0, f"lower_{level * 100:g}"], lim.loc[0, f"upper_{level * 100:g}"]
    # (the upper limit may fall below the target at tiny exposures: at n = 1 and target < 2.5% a
    # single event is already significant, and the limit is 0)
    assert 0.0 <= lo <= target + 1e-12 and lo <= hi <= 1.0
    if n * target >= 1:
        assert hi >= target
    assert lim.loc[0, "upper_99.8"] >= lim.loc[0, "upper_95"] - 1e-12


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 400),
    target=st.floats(0.0005, 0.6),
    kind=st.sampled_from(["binomial", "poisson"]),
    level=st.sampled_from([0.95, 0.998]),
)
def test_property_false_alarm_rate_never_exceeds_nominal(n, target, kind, level):
    # Under the target, the probability that a unit of any size is flagged above (or below) the
    # level's limits is at most (1 - level) / 2: summed exactly over every possible count.
    top = n if kind == "binomial" else int(stats.poisson.ppf(1 - 1e-12, n * target)) + 2
    r = np.arange(top + 1)
    df = pd.DataFrame({"u": r, "r": r, "n": n})
    u = funnel_table(df, "u", "r", "n", kind, target=target, overdispersion=None).units
    pmf = stats.binom.pmf(r, n, target) if kind == "binomial" else stats.poisson.pmf(r, n * target)
    name = f"{level * 100:g}%"
    beyond_above = u["flag"].isin([f"above {name}", "above 99.8%"] if level == 0.95 else ["above 99.8%"])
    beyond_below = u["flag"].isin([f"below {name}", "below 99.8%"] if level == 0.95 else ["below 99.8%"])
    tail = (1 - level) / 2
    assert pmf[beyond_above.to_numpy()].sum() <= tail + 1e-12
    assert pmf[beyond_below.to_numpy()].sum() <= tail + 1e-12
    # and the flag is exactly the one-sided exact test
    assert (beyond_above == (u["p_high"] <= tail + 1e-12)).all()
    assert (beyond_below == (u["p_low"] < tail - 1e-12)).all()


def test_single_event_with_tiny_expectation_is_not_an_outlier():
    # 20 transactions against 0.2%: 0.04 expected. One event is drawn beyond the 99.8% curve
    # (r_p = 0 there), but P(Y >= 1) = 1 - 0.998^20 = 3.9%: not even beyond 95%.
    df = pd.DataFrame({"u": ["a"], "r": [1], "n": [20]})
    u = funnel_table(df, "u", "r", "n", target=0.002, overdispersion=None).units
    assert u.loc[0, "rate"] > u.loc[0, "upper_99.8"]
    assert u.loc[0, "p_high"] == pytest.approx(1 - 0.998**20)
    assert u.loc[0, "flag"] == "inside"


def test_flag_labels():
    assert flag_label("below 95%") == "低于95%控制限"
    assert flag_label("inside") == "控制限内"


# ------------------------------------------------------------------------------------------- plot
def test_plot_funnel_draws_chinese_labels_without_missing_glyphs(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.plots.funnel import plot_funnel

    df, _ = _constructed_units()
    df["name"] = [f"城东第{i}网点" for i in range(20)]
    f = funnel_table(df, "u", "r", "n", target=0.1, overdispersion=None, label="name")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_funnel(f, title="投诉率漏斗图", xlabel="交易笔数", ylabel="投诉率")
        ax.figure.savefig(tmp_path / "funnel.png")
    texts = [t.get_text() for t in ax.texts]
    assert set(texts) == {"城东第19网点", "城东第0网点", "城东第1网点"}  # the three beyond 99.8%
    assert ax.get_title() == "投诉率漏斗图"
    _, ax2 = plt.subplots()
    assert plot_funnel(f, ax=ax2) is ax2
    plt.close("all")

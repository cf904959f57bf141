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
    flag_above,
    flag_below,
    flag_label,
    funnel_limits,
    funnel_table,
    transformed,
    winsorize,
)

from conftest import costly_examples


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
    # The target is per `per`, as in funnel_table (one convention everywhere): 2.0 per 10,000.
    lim = funnel_limits([30_000], 2.0, "poisson", grid=False, per=10_000)
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
    # 260/10,000 = 2.6% against 2%: z on the arcsine scale (where overdispersion is estimated) =
    # (asin(sqrt(0.026)) - asin(sqrt(0.02))) x 2 sqrt(10,000) = 4.011 (4.29 on the raw scale); above 99.8%.
    assert u.loc["大网点", "z"] == pytest.approx((math.asin(math.sqrt(0.026)) - math.asin(math.sqrt(0.02))) * 200)
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
def test_winsorize_ten_percent_each_tail_with_r_quantiles():
    # R's type-7 quantiles, as FunnelPlotR: 20 values 1..20, the 10th percentile sits at position
    # 0.1 x 19 = 1.9 -> 2 + 0.9 x (3 - 2) = 2.9, the 90th at 17.1 -> 18.1.
    z = np.arange(1.0, 21.0)
    w = winsorize(z)
    assert w[:2] == pytest.approx([2.9, 2.9]) and w[-2:] == pytest.approx([18.1, 18.1])
    assert list(w[2:18]) == list(z[2:18])
    # 3 values: positions 0.2 and 1.8 -> -1 + 0.2 x 3 = -0.4 and 2 + 0.8 x 3 = 4.4
    assert list(winsorize([5.0, -1.0, 2.0])) == pytest.approx([4.4, -0.4, 2.0])


def test_transformed_scales_by_hand():
    # proportions: asin(sqrt(0.25)) = pi/6, asin(sqrt(0.5)) = pi/4, s = 1 / (2 sqrt(100)) = 0.05
    y, t, s = transformed([25, 75], [100, 100], 0.5, "binomial")
    assert y == pytest.approx([math.pi / 6, math.pi / 3]) and t == pytest.approx(math.pi / 4) and s == pytest.approx([0.05, 0.05])
    # rates: observed / expected on the square-root scale; E = 10,000 x 0.01 = 100, O = 121 -> 1.1, s = 1/20
    y, t, s = transformed([121], [10_000], 0.01, "poisson")
    assert y == pytest.approx([1.1]) and t == 1.0 and s == pytest.approx([0.05])


def _constructed_units():
    # 10 units with 10,000 transactions against 100 per 10,000 (0.01): E = 100 each. On the square-root
    # scale z = (sqrt(O/E) - 1) / (1 / (2 sqrt(E))) = 2 (sqrt(O) - 10), so perfect squares give whole z.
    counts = [64, 81, 81, 100, 100, 100, 100, 121, 121, 169]  # z = -4, -2, -2, 0 x 4, 2, 2, 6
    return pd.DataFrame({"u": [f"U{i}" for i in range(10)], "r": counts, "n": 10_000})


def test_overdispersion_constructed_example():
    df = _constructed_units()
    # Winsorised at R's 10th / 90th percentiles: positions 0.9 and 8.1 of the sorted z:
    # -4 + 0.9 x 2 = -2.2 and 2 + 0.1 x 4 = 2.4. Squares: 4.84 + 4 + 4 + 0 x 4 + 4 + 4 + 5.76 = 26.6;
    # phi = 26.6 / 10 = 2.66.
    od = estimate_overdispersion(df["r"], df["n"], 100, "poisson", adjustment="additive", per=10_000)
    assert od.phi == pytest.approx(2.66) and od.statistic == pytest.approx(26.6) and od.df == 9
    assert od.scale == "sqrt" and od.overdispersed and od.method == "additive"
    assert od.p_value == pytest.approx(stats.chi2.sf(26.6, 9))
    # w = 1 / s^2 = 4 E = 400 each: sum w = 4000, sum w^2 / sum w = 400; tau^2 = (26.6 - 9) / 3600
    assert od.tau2 == pytest.approx(17.6 / 3600)
    f = funnel_table(df, "u", "r", "n", "poisson", target=100, per=10_000)
    u = f.units.set_index("unit")
    s_adj = math.sqrt(1 / 400 + 17.6 / 3600)  # 0.085959
    # U9: sqrt(169/100) = 1.3: z_adj = 0.3 / 0.085959 = 3.490 -> beyond 99.8% (3.090); U0: -0.2 / s_adj = -2.327 -> 95% only
    assert u.loc["U9", "z"] == pytest.approx(6.0) and u.loc["U9", "z_adjusted"] == pytest.approx(0.3 / s_adj)
    assert u.loc["U9", "flag"] == "above 99.8%" and u.loc["U0", "flag"] == "below 95%"
    assert (u.drop(["U0", "U9"])["flag"] == "inside").all()
    # the p-values beside the flags are the adjusted ones; the exact ones are kept apart
    assert u.loc["U0", "p_low"] == pytest.approx(stats.norm.cdf(-0.2 / s_adj))
    assert u.loc["U0", "p_low_exact"] == pytest.approx(stats.poisson.cdf(64, 100))
    # adjusted limits: normal on the square-root scale, mapped back: 100 x (1 +/- z_p s_adj)^2 per 10,000
    assert u.loc["U9", "upper_99.8"] == pytest.approx(100 * (1 + stats.norm.ppf(0.999) * s_adj) ** 2)
    assert u.loc["U9", "lower_95"] == pytest.approx(100 * (1 - stats.norm.ppf(0.975) * s_adj) ** 2)
    assert f.limits["upper_95"].iloc[-1] < f.limits["upper_99.8"].iloc[-1]
    # Unadjusted (exact): U0 (P(Y <= 64 | Poisson(100)) = 7.8e-5) and U9 beyond 99.8%; U7, U8 (121:
    # P(Y >= 121) = 0.0227) beyond 95%; U1, U2 (81: P(Y <= 81) = 0.029) inside.
    raw = funnel_table(df, "u", "r", "n", "poisson", target=100, per=10_000, overdispersion=None).units.set_index("unit")
    assert raw.loc["U0", "flag"] == "below 99.8%" and raw.loc["U9", "flag"] == "above 99.8%"
    assert list(raw.loc[["U7", "U8"], "flag"]) == ["above 95%"] * 2 and list(raw.loc[["U1", "U2"], "flag"]) == ["inside"] * 2
    assert raw.loc["U7", "p_high"] == pytest.approx(stats.poisson.sf(120, 100))
    # multiplicative: z / sqrt(phi) = 6 / sqrt(2.66) = 3.679
    m = funnel_table(df, "u", "r", "n", "poisson", target=100, per=10_000, overdispersion="multiplicative")
    assert m.overdispersion.method == "multiplicative"
    assert m.units.loc[9, "z_adjusted"] == pytest.approx(6 / math.sqrt(2.66))
    assert m.units.loc[9, "upper_95"] == pytest.approx(100 * (1 + 1.959964 * math.sqrt(2.66) * 0.05) ** 2, rel=1e-6)


def test_funnelplotr_formulas_on_its_own_test_data():
    # FunnelPlotR's tests/testthat data: numerator c(100, 150, 180, 80, 120, 225), denominator
    # c(108, 112, 165, 95, 100, 220) as standardised ratios (O / E), sr_method "CQC" (square root,
    # Winsorised by 0.1): Uzscore = (sqrt(O/E) - 1) / (1 / (2 sqrt(E))), Wuzscore clipped at R's
    # quantile(., 0.1) and quantile(., 0.9), phi = sum(Wuzscore^2) / n, tau2 = max(0, (n phi - (n - 1)) /
    # (sum(1/S^2) - sum((1/S^2)^2) / sum(1/S^2))). Here: a Poisson funnel with exposure E and target 1.
    o = np.array([100, 150, 180, 80, 120, 225.0])
    e = np.array([108, 112, 165, 95, 100, 220.0])
    z = 2 * (np.sqrt(o) - np.sqrt(e))
    srt = np.sort(z)  # six values: R's 10th percentile at position 0.5, the 90th at 4.5
    lz, uz = srt[0] + 0.5 * (srt[1] - srt[0]), srt[4] + 0.5 * (srt[5] - srt[4])
    phi = float(np.mean(np.clip(z, lz, uz) ** 2))
    w = 4 * e
    tau2 = max(0.0, (6 * phi - 5) / (w.sum() - (w**2).sum() / w.sum()))
    od = estimate_overdispersion(o, e, 1.0, "poisson", adjustment="additive")
    assert od.phi == pytest.approx(phi, rel=1e-12) and od.tau2 == pytest.approx(tau2, rel=1e-12)
    assert od.phi > 1 and od.method == "additive"


from conftest import FIXTURES_DIR as FIXTURES  # noqa: E402 - beside the tests that use it


def test_funnelplotr_documented_shmi_example():
    # FunnelPlotR (nhs-r-community/FunnelPlotR), tests/testthat/test-classes_methods.R:
    #   a <- funnel_plot(c(100, 150,180,80,120, 225), c(108, 112, 165,95,100, 220), factor(c("a",...,"f")))
    #   expect_equal(round(phi.funnelplot(a),6), 2.948033)
    # with its defaults data_type = "SR", sr_method = "SHMI", trim_by = 0.1, draw_adjusted = TRUE:
    # a standardised ratio O / E is a Poisson funnel with exposure E and target 1.
    df = pd.read_csv(FIXTURES / "funnelplotr" / "testthat_six_units.csv")
    o, e = df["numerator"].to_numpy(float), df["denominator"].to_numpy(float)
    od = estimate_overdispersion(o, e, 1.0, "poisson", adjustment="additive", ratio_scale="log")
    assert round(od.phi, 6) == 2.948033  # the documented value, to its printed precision
    assert od.scale == "log" and od.trim == "truncate" and od.n_used == 6
    # By hand, following R/od_adjustment.R: Uzscore <- sqrt(denominator) * log(numerator / denominator);
    # truncation(): k <- 1/trim_by = 10, sp <- floor(rank(Uzscore) * k / (length + 1)), kept when
    # 0 < sp < 9: ranks 1..6 give sp = 1, 2, 4, 5, 7, 8, so all six are kept;
    # phi_func: (1/n) * sum(z^2) = (0.6397 + 9.5585 + 1.2492 + 2.8056 + 3.3241 + 0.1111) / 6.
    z = np.sqrt(e) * np.log(o / e)
    assert z == pytest.approx([-0.799803, 3.091681, 1.117681, -1.674989, 1.823216, 0.333326], abs=1e-6)
    # tau_func: max(0, (n * phi - (n - 1)) / (sum(1/S^2) - sum((1/S^2)^2) / sum(1/S^2))), S = 1 / sqrt(E):
    # (17.688199 - 5) / (800 - 118858 / 800) = 12.688199 / 651.4275 = 0.0194775
    assert od.tau2 == pytest.approx(12.688199 / (800 - 118858 / 800), rel=1e-6)
    assert round(od.tau2, 7) == 0.0194775
    # R/calculate_limits.R, draw_adjusted, sr_method "SHMI":
    #   odll95 <- multiplier * exp(-1.959964 * sqrt((1/number.seq) + tau2)),  odul998 <- exp(3.090232 * ...)
    f = funnel_table(df, "group", "numerator", "denominator", "poisson", target=1.0, ratio_scale="log")
    u = f.units.set_index("unit")
    for g, ee in zip(df["group"], e):
        sd = math.sqrt(1 / ee + od.tau2)
        assert u.loc[g, "lower_95"] == pytest.approx(math.exp(-1.959964 * sd), rel=1e-6)
        assert u.loc[g, "upper_95"] == pytest.approx(math.exp(1.959964 * sd), rel=1e-6)
        assert u.loc[g, "upper_99.8"] == pytest.approx(math.exp(3.090232 * sd), rel=1e-6)
    # b (150 / 112 = 1.339) is beyond its unadjusted log-scale z (3.09 > 1.96) but inside once tau^2
    # widens the limits (upper 95% at E = 112: exp(1.959964 sqrt(1/112 + 0.0194775)) = 1.391)
    assert u.loc["b", "z"] == pytest.approx(3.091681, abs=1e-6) and u.loc["b", "flag"] == "inside"
    assert u.loc["b", "upper_95"] == pytest.approx(1.391, abs=5e-4)
    # test-funnel_plot.R: the unadjusted lower 95% limit of unit 5 lies above the adjusted one
    raw = funnel_table(df, "group", "numerator", "denominator", "poisson", target=1.0, overdispersion=None)
    assert raw.units.loc[4, "lower_95"] > f.units.loc[4, "lower_95"]


def test_funnelplotr_documented_poisson_limits():
    # FunnelPlotR tests/testthat/test-poisson_limits.R: calculate_limits(number_seq = c(15, 20, 30),
    # target = 1, draw_adjusted = FALSE):
    #   ll95 = 0.5596924 0.6108260 0.6746958, ul95 = 1.649348 1.544419 1.427562
    #   ll99 = 0.3862650 0.4479107 0.5289724, ul99 = 2.082907 1.902094 1.702771
    # (qchisq(0.975, 2E, lower.tail = FALSE) / 2 / E and qchisq(0.025, 2(E + 1), lower.tail = FALSE) / 2 / E)
    lim = funnel_limits([15, 20, 30], 1.0, "poisson", grid=False, exact="chisq")
    assert list(lim["lower_95"].round(7)) == [0.5596924, 0.6108260, 0.6746958]
    assert list(lim["upper_95"].round(6)) == [1.649348, 1.544419, 1.427562]
    assert list(lim["lower_99.8"].round(7)) == [0.3862650, 0.4479107, 0.5289724]
    assert list(lim["upper_99.8"].round(6)) == [2.082907, 1.902094, 1.702771]
    # the same bounds per 10,000 with a target of 2 per 10,000 (E = 75,000 x 2e-4 = 15)
    per = funnel_limits([75_000], 2.0, "poisson", grid=False, per=10_000, exact="chisq")
    assert per.loc[0, "upper_95"] == pytest.approx(2 * 1.649348, abs=2e-6)
    # the suite's default (Spiegelhalter's interpolated quantiles of the count) is narrower
    ours = funnel_limits([15], 1.0, "poisson", grid=False)
    assert ours.loc[0, "upper_95"] == pytest.approx(brute_limit(15, 1.0, 0.975, "poisson")) and ours.loc[0, "upper_95"] < 1.649348
    with pytest.raises(ValueError, match="chisq"):
        funnel_limits([15], 0.2, "binomial", grid=False, exact="chisq")


def test_truncation_and_log_scale_rules():
    from analysis.funnel import truncation_kept

    # 25 values: groups floor(R x 10 / 26): ranks 1, 2 -> 0 (left out), 24, 25 -> 9 (left out)
    kept = truncation_kept(np.arange(25.0))
    assert list(np.flatnonzero(~kept)) == [0, 1, 23, 24]
    # a unit without events cannot go on the log scale: refused by name
    df = pd.DataFrame({"u": ["A", "B", "C"], "o": [0, 5, 9], "e": [4.0, 5.0, 8.0]})
    with pytest.raises(ValueError, match="A.*log scale"):
        funnel_table(df, "u", "o", "e", "poisson", target=1.0, ratio_scale="log")
    assert funnel_table(df, "u", "o", "e", "poisson", target=1.0).overdispersion.scale == "sqrt"


def test_no_adjustment_when_spread_is_chance():
    # z-scores within -1 .. 1 on the square-root scale (O = 81, 100, 121 with E = 100 would be -2, 0, 2;
    # here O = 90.25, 100, 110.25: z = -1, 0, 1): phi < (I - 1) / I, so tau^2 = 0 and nothing is adjusted
    df = pd.DataFrame({"u": range(12), "r": [90.25, 100, 110.25] * 4, "n": 100})
    f = funnel_table(df, "u", "r", "n", "poisson", target=1.0, overdispersion="additive")
    od = f.overdispersion
    assert od.phi == pytest.approx(8 / 12) and not od.overdispersed and od.method == "none" and od.tau2 == 0.0
    exact = funnel_limits([100], 1.0, "poisson", grid=False)
    assert f.units.loc[0, "upper_95"] == pytest.approx(exact.loc[0, "upper_95"])
    assert (f.units["p_high"] == f.units["p_high_exact"]).all()
    assert "no more spread than chance" in od.sentence()


def test_adjustment_does_not_wait_for_a_significance_test():
    # I phi just above I - 1 (phi < 1 even): tau^2 > 0, so the additive adjustment is applied, although
    # a chi-squared test on I - 1 df is nowhere near significant
    z = np.array([-1.2, 0, 1.2, -1.2, 0, 1.2, -1.2, 0, 1.2, -1.2, 0, 1.2])  # Winsorised at +-1.2 already
    df = pd.DataFrame({"u": range(12), "r": (10 + z / 2) ** 2, "n": 100})
    od = estimate_overdispersion(df["r"], df["n"], 1.0, "poisson", adjustment="additive")
    assert od.phi == pytest.approx(8 * 1.44 / 12) and od.statistic > od.df and od.p_value > 0.3
    # w = 4 E = 400 each: sum w = 4800, sum w^2 / sum w = 400 -> tau^2 = (11.52 - 11) / 4400
    assert od.method == "additive" and od.tau2 == pytest.approx(0.52 / 4400)
    assert estimate_overdispersion(df["r"], df["n"], 1.0, "poisson", adjustment="multiplicative").method == "none"  # phi = 0.96 < 1


@settings(max_examples=costly_examples(ci=25, random=60), deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(400, 2000)), min_size=3, max_size=30), st.sampled_from(["additive", "multiplicative", None]))
def test_property_flags_agree_with_the_p_values_beside_them(rows, adjustment):
    df = pd.DataFrame({"u": range(len(rows)), "r": [r for r, _ in rows], "n": [n for _, n in rows]})
    if df["r"].sum() == 0 or df["r"].sum() == df["n"].sum():  # the overall rate must lie strictly inside (0, 1)
        return
    f = funnel_table(df, "u", "r", "n", "binomial", overdispersion=adjustment)
    u = f.units
    for level in f.levels:
        tail = (1 - level) / 2
        wider = [x for x in f.levels if x >= level]
        above = u["flag"].isin([flag_above(x) for x in wider])
        below = u["flag"].isin([flag_below(x) for x in wider])
        if f.overdispersion.applied:
            assert (above == (u["p_high"] <= tail)).all() and (below == (u["p_low"] <= tail)).all()
        else:
            assert (above == (u["p_high"] <= tail + 1e-12)).all() and (below == (u["p_low"] < tail - 1e-12)).all()


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


@settings(max_examples=costly_examples(ci=25, random=60), deadline=None)
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

    df = _constructed_units()
    df["name"] = [f"城东第{i}网点" for i in range(10)]
    f = funnel_table(df, "u", "r", "n", "poisson", target=100, per=10_000, overdispersion=None, label="name")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_funnel(f, title="投诉率漏斗图", xlabel="交易笔数", ylabel="投诉率")
        ax.figure.savefig(tmp_path / "funnel.png")
    texts = [t.get_text() for t in ax.texts]
    assert set(texts) == {"城东第9网点", "城东第0网点"}  # the two beyond 99.8%
    assert ax.get_title() == "投诉率漏斗图"
    _, ax2 = plt.subplots()
    assert plot_funnel(f, ax=ax2) is ax2
    plt.close("all")

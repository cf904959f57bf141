"""Erlang C and Erlang A: textbook values, independent restatements, the limit patience -> infinity."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.staffing import agents_needed, erlang_a_metrics, erlang_b, erlang_c, erlang_c_metrics, staffing_plan


def erlang_c_exact(n: int, a: Fraction) -> Fraction:
    """Erlang C straight from its textbook definition, in exact fractions."""
    top = a**n / math.factorial(n) * Fraction(n) / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


def test_erlang_b_by_hand():
    # B(1, 1) = (1/1!) / (1 + 1) = 1/2;  B(2, 1) = (1/2) / (1 + 1 + 1/2) = 1/5
    assert erlang_b(1, 1.0) == pytest.approx(0.5, abs=1e-15)
    assert erlang_b(2, 1.0) == pytest.approx(0.2, abs=1e-15)
    assert erlang_b(0, 3.0) == 1.0


def test_erlang_c_textbook_values():
    # M/M/1: P(wait) = rho.  M/M/2 with a = 1: 2 rho^2 / (1 + rho) = 1/3.
    assert erlang_c(1, 0.5) == pytest.approx(0.5, abs=1e-15)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, abs=1e-15)
    # The classic worked example: 100 calls in 30 minutes, 180 s handling -> 10 Erlangs;
    # 11 agents: P(wait) = 68.21%, service level (20 s) = 1 - 0.6821 e^{-(11-10) 20/180} = 38.96%,
    # average speed of answer 0.6821 * 180 / (11 - 10) = 122.8 s; 14 agents reach 80/20.
    m = erlang_c_metrics(11, 100 / 1800, 180, threshold=20)
    assert m.p_wait == pytest.approx(0.6821, abs=5e-5)
    assert m.p_wait == pytest.approx(float(erlang_c_exact(11, Fraction(10))), rel=1e-13)
    assert m.service_level == pytest.approx(1 - 0.682118 * math.exp(-20 / 180), abs=1e-6)
    assert m.mean_wait == pytest.approx(122.78, abs=0.01)
    assert agents_needed(100 / 1800, 180, service_level=0.80, answer_rate=0, threshold=20).agents == 14
    assert erlang_c(10, 10.0) == 1.0  # n <= a: everybody waits


@given(st.integers(1, 60), st.floats(0.01, 0.99))
@settings(max_examples=60, deadline=None)
def test_erlang_c_matches_its_definition(n, rho):
    a = Fraction(rho).limit_denominator(10_000) * n
    assert erlang_c(n, float(a)) == pytest.approx(float(erlang_c_exact(n, a)), rel=1e-11)


def birth_death(n: int, lam: float, mu: float, theta: float, size: int = 4000) -> np.ndarray:
    """State probabilities of M/M/n+M by direct recursion over a truncated chain (no formulas)."""
    p = np.zeros(size)
    p[0] = 1.0
    for j in range(1, size):
        p[j] = p[j - 1] * lam / (min(j, n) * mu + max(j - n, 0) * theta)
    return p / p.sum()


# 95599's targets in plan 1 (targets/campaign-2016.yaml): 90% answered, 60% within 20 s
PLAN_1 = {"answer_rate": 0.90, "service_level": 0.60, "threshold": 20}


@pytest.mark.parametrize(("n", "lam", "aht", "patience"), [(1, 1 / 200, 180, 60), (11, 0.05, 180, 120), (8, 100 / 1800, 180, 300), (3, 0.05, 100, 30)])
def test_erlang_a_matches_the_birth_death_chain(n, lam, aht, patience):
    mu, theta = 1 / aht, 1 / patience
    p = birth_death(n, lam, mu, theta)
    j = np.arange(len(p))
    p_wait = p[j >= n].sum()  # an arrival waits when all n agents are busy (PASTA)
    p_abandon = (np.maximum(j - n, 0) * theta * p).sum() / lam  # abandonment flow / arrival flow
    m = erlang_a_metrics(n, lam, aht, patience, 20)
    assert m.p_wait == pytest.approx(p_wait, rel=1e-10)
    assert m.p_abandon == pytest.approx(p_abandon, rel=1e-10)
    assert m.answer_rate == pytest.approx(1 - p_abandon, rel=1e-10)
    assert m.mean_wait == pytest.approx((np.maximum(j - n, 0) * p).sum() / lam, rel=1e-10)  # Little: E[queue] / lam


def test_erlang_a_service_level_against_the_closed_form_and_simulation():
    from scipy.special import gammainc

    n, lam, aht, patience, t = 11, 0.05, 180, 120, 20
    x, y = n / aht * patience, lam * patience
    m = erlang_a_metrics(n, lam, aht, patience, threshold=t)
    # closed form with incomplete gamma functions (P = regularised lower incomplete gamma):
    # P(answered within t) = 1 - P(W>0) + P(W>0) (x/y) [P(x+1, y) - P(x+1, y e^{-t/patience})] / P(x, y)
    closed = 1 - m.p_wait + m.p_wait * (x / y) * (gammainc(x + 1, y) - gammainc(x + 1, y * math.exp(-t / patience))) / gammainc(x, y)
    assert m.service_level == pytest.approx(closed, rel=1e-10)
    # simulation of the tagged caller: k ahead (drawn from the chain), waits for k+1 departures
    rng = np.random.default_rng(1)
    p = birth_death(n, lam, 1 / aht, 1 / patience)
    waiting = p[n:] / p[n:].sum()
    ks = rng.choice(len(waiting), size=100_000, p=waiting)
    # the j-th departure ahead of the caller (j = 0..k) takes an exponential time of rate n/aht + j/patience
    rates = n / aht + np.arange(ks.max() + 1) / patience
    steps = rng.exponential(size=(len(ks), len(rates))) / rates
    v = np.where(np.arange(len(rates)) <= ks[:, None], steps, 0.0).sum(axis=1)
    served_in_t = ((v <= rng.exponential(patience, len(v))) & (v <= t)).mean()
    assert (m.service_level - (1 - m.p_wait)) / m.p_wait == pytest.approx(served_in_t, abs=0.006)  # 3 sigma


@pytest.mark.parametrize(("n", "lam", "aht"), [(11, 100 / 1800, 180), (30, 0.15, 180), (2, 1 / 120, 180)])
def test_erlang_a_tends_to_erlang_c_as_patience_grows(n, lam, aht):
    c = erlang_c_metrics(n, lam, aht, 20)
    previous = None
    for patience in (1e2, 1e4, 1e6, 1e9):
        a = erlang_a_metrics(n, lam, aht, patience, 20)
        if previous is not None:  # more patience: more waiting, fewer hang-ups
            assert a.p_wait >= previous.p_wait and a.p_abandon <= previous.p_abandon
        previous = a
    assert a.p_wait == pytest.approx(c.p_wait, abs=1e-6)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-6)
    assert a.mean_wait == pytest.approx(c.mean_wait, rel=1e-5)
    assert a.p_abandon < 1e-6
    assert erlang_a_metrics(n, lam, aht, math.inf, 20) == c


def test_erlang_a_is_finite_when_overloaded():
    m = erlang_a_metrics(5, 100 / 1800, 180, 120, 20)  # 10 Erlangs on 5 agents: only patience saves it
    assert 0.5 < m.p_abandon < 1 and 0 < m.service_level < m.answer_rate
    assert erlang_c_metrics(5, 100 / 1800, 180, 20).mean_wait == math.inf


def test_agents_needed_is_the_first_to_meet_both_targets():
    lam, aht, patience = 300 / 1800, 200, 180
    m = agents_needed(lam, aht, patience, **PLAN_1)
    assert m.answer_rate >= 0.90 and m.service_level >= 0.60
    worse = erlang_a_metrics(m.agents - 1, lam, aht, patience, 20)
    assert worse.answer_rate < 0.90 or worse.service_level < 0.60
    c = agents_needed(lam, aht, **PLAN_1)  # Erlang C: nobody hangs up, so more agents for the same 60/20
    assert c.agents >= m.agents
    assert agents_needed(0, aht, patience, **PLAN_1).agents == 0


def test_staffing_plan_per_half_hour():
    volumes = pd.DataFrame({"slot": ["09:00", "09:30", "03:00"], "calls": [100, 200, 0]})
    plan = staffing_plan(volumes, aht=180, patience=120, **PLAN_1)
    assert plan["slot"].tolist() == ["09:00", "09:30", "03:00"]
    assert plan["offered_load"].tolist() == [10.0, 20.0, 0.0]
    assert plan["agents_a"].iloc[0] == agents_needed(100 / 1800, 180, 120, **PLAN_1).agents
    assert plan["agents_c"].iloc[0] == 12  # Erlang C, 60% in 20 s: 12 agents give 64.0% (11 give 39.0%)
    assert plan["agents_a"].iloc[2] == 0 == plan["agents_c"].iloc[2]
    assert plan["agents_a"].iloc[1] > plan["agents_a"].iloc[0]
    assert (plan["answer_rate_a"].iloc[:2] >= 0.9).all() and (plan["service_level_a"].iloc[:2] >= 0.6).all()
    with pytest.raises(ValueError, match="calls"):
        staffing_plan(pd.DataFrame({"calls": [-1]}), aht=180, patience=120, **PLAN_1)

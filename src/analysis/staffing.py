"""Call-centre staffing: Erlang C (infinite patience) and Erlang A (impatient callers), agents needed.

Model (per interval, e.g. half an hour, in steady state): calls arrive at rate ``lam`` (Poisson),
service times are exponential with mean ``aht`` (average handle time, seconds; mu = 1/aht), ``n``
agents. Erlang A (Palm's M/M/n+M) adds exponential patience with mean ``patience`` seconds
(theta = 1/patience): a caller still waiting when patience runs out hangs up. Erlang C is the
limit patience -> infinity (nobody abandons; it needs n > lam * aht).

Formulas (Garnett, Mandelbaum & Reiman 2002, "Designing a call center with impatient customers";
Mandelbaum & Zeltyn 2007, "Service engineering in action: the Palm/Erlang-A queue"), with
x = n mu / theta, y = lam / theta, E = Erlang B(n, lam/mu) and
A(x, y) = x e^y y^-x gamma(x, y) = sum_k y^k / ((x+1)(x+2)...(x+k)):

    P(wait > 0)          = A E / (1 + (A - 1) E)
    P(abandon)           = P(wait > 0) * sum_k w_k (k+1)/(x+k+1)       [= P(W>0) (1/(rho A) + 1 - 1/rho)]
    P(answered, wait<=t) = 1 - P(W>0) + P(W>0) * sum_k w_k x/(x+k+1) (1 - I_q(x+1, k+1)),  q = e^(-theta t)
    mean wait (all)      = P(abandon) / theta

where w_k = (y^k / ((x+1)...(x+k))) / A is the chance that an arrival who must wait finds k callers
ahead of it, and I is the regularised incomplete beta function. (Per k: the wait with k ahead is a
sum of exponentials with rates n mu + i theta; served within t integrates to the beta term.) The
sums are evaluated in log space, so the results stay finite for any patience, including the very
long ones whose closed form in incomplete gamma functions underflows; Erlang B uses its stable
recursion. Erlang C: P(wait) = n B / (n - a (1 - B)), service level = 1 - C e^{-(n mu - lam) t},
mean wait = C / (n mu - lam).

The targets (answer rate = answered / offered = 1 - P(abandon), and the service level = answered
within ``threshold`` seconds / offered) are arguments, never defaults: they come from the targets
file (for 95599: 90% and 60% within 20 s, ``targets/campaign-2016.yaml``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

MAX_AGENTS = 100_000


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state service figures for ``agents`` agents (rates as fractions of offered calls)."""

    agents: int
    offered_load: float  # Erlangs: lam * aht
    p_wait: float  # an arriving call has to wait
    p_abandon: float  # hangs up before being answered
    answer_rate: float  # 1 - p_abandon
    service_level: float  # answered within the threshold / offered
    mean_wait: float  # seconds, over all offered calls (time in queue)


# ----------------------------------------------------------------------------------------- Erlang B/C
def erlang_b(n: int, a: float) -> float:
    """Blocking probability of n servers with offered load a Erlangs (stable recursion)."""
    _check_n_a(n, a)
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(n: int, a: float) -> float:
    """Probability that a call waits (M/M/n); 1.0 when n <= a (the queue grows without bound)."""
    _check_n_a(n, a)
    if n <= a:
        return 1.0
    b = erlang_b(n, a)
    return n * b / (n - a * (1 - b))


def erlang_c_metrics(n: int, lam: float, aht: float, threshold: float) -> QueueMetrics:
    """Erlang C figures for n agents, arrival rate ``lam`` per second, mean handle time ``aht`` s."""
    _check_rates(lam, aht)
    a = lam * aht
    if lam == 0:
        return QueueMetrics(n, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0)
    if n <= a:
        return QueueMetrics(n, a, 1.0, 0.0, 1.0, 0.0, math.inf)
    c = erlang_c(n, a)
    gap = n / aht - lam  # n mu - lam
    return QueueMetrics(n, a, c, 0.0, 1.0, 1 - c * math.exp(-gap * threshold), c / gap)


# ------------------------------------------------------------------------------------------ Erlang A
def erlang_a_metrics(n: int, lam: float, aht: float, patience: float, threshold: float) -> QueueMetrics:
    """Erlang A figures (see the module docstring); ``patience`` = math.inf gives Erlang C."""
    _check_rates(lam, aht)
    if not patience > 0:
        raise ValueError(f"mean patience must be > 0 seconds, got {patience!r}")
    if math.isinf(patience):
        return erlang_c_metrics(n, lam, aht, threshold)
    a = lam * aht
    if lam == 0:
        return QueueMetrics(n, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0)
    theta = 1.0 / patience
    if n == 0:  # nobody answers: every caller waits and abandons
        return QueueMetrics(0, a, 1.0, 1.0, 0.0, 0.0, patience)
    x, y = n / aht / theta, lam / theta
    k, w, log_a = _queue_position_weights(x, y)
    e = erlang_b(n, a)
    # P(W>0) = A E / (1 + (A-1) E) = 1 / (1 + (1/E - 1) / A), in a form that survives a huge A
    p_wait = 1.0 / (1.0 + (1.0 / e - 1.0) * math.exp(-log_a)) if e > 0 else 0.0
    p_ab_given_wait = float(np.sum(w * (k + 1) / (x + k + 1)))
    q = math.exp(-theta * threshold)
    from scipy.special import betainc

    served_in_t = float(np.sum(w * x / (x + k + 1) * (1 - betainc(x + 1, k + 1, q))))
    p_abandon = p_wait * p_ab_given_wait
    return QueueMetrics(n, a, p_wait, p_abandon, 1 - p_abandon, 1 - p_wait + p_wait * served_in_t, p_abandon / theta)


def _queue_position_weights(x: float, y: float) -> tuple[np.ndarray, np.ndarray, float]:
    """k = 0..K, the normalised weights w_k of y^k / ((x+1)...(x+k)), and log A(x, y)."""
    peak = max(0.0, y - x)
    size = int(peak + 12 * math.sqrt(y + 1) + 200)
    while True:
        k = np.arange(size, dtype=float)
        log_terms = k * math.log(y) - np.concatenate(([0.0], np.cumsum(np.log(x + k[1:]))))
        top = log_terms.max()
        if log_terms[-1] < top - 745 or (log_terms[-1] < top - 40 and y / (x + size) < 0.5):
            break  # the rest of the series is below double precision
        size *= 2
    scaled = np.exp(log_terms - top)
    total = scaled.sum()
    return k, scaled / total, top + math.log(total)


# ------------------------------------------------------------------------------------ agents needed
def agents_needed(
    lam: float,
    aht: float,
    patience: float = math.inf,
    *,
    answer_rate: float,
    service_level: float,
    threshold: float,
) -> QueueMetrics:
    """The fewest agents meeting both targets, and the figures they give (Erlang A, or Erlang C when
    ``patience`` is infinite). Both figures increase with the number of agents, so the first
    number that meets them is the answer."""
    _check_rates(lam, aht)
    if lam == 0:
        return QueueMetrics(0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0)
    # Lower bounds: Erlang C needs n > a; with abandonment, answered calls cannot exceed what n agents
    # serve (n mu), so answer rate <= n / a and n >= answer_rate * a.
    a = lam * aht
    n = int(math.floor(a)) + 1 if math.isinf(patience) else max(1, int(math.floor(answer_rate * a)))
    while n <= MAX_AGENTS:
        m = erlang_a_metrics(n, lam, aht, patience, threshold)
        if m.answer_rate >= answer_rate - 1e-12 and m.service_level >= service_level - 1e-12:
            return m
        n += 1
    raise ValueError(f"targets not reachable with {MAX_AGENTS:,} agents (lam={lam}, aht={aht})")


def staffing_plan(
    volumes: pd.DataFrame,
    *,
    aht: float,
    patience: float,
    interval_seconds: float = 1800,
    answer_rate: float,
    service_level: float,
    threshold: float,
) -> pd.DataFrame:
    """Agents needed per interval under Erlang A and under Erlang C, for the volumes given.

    ``volumes`` has a ``calls`` column (calls arriving in each interval of ``interval_seconds``) and
    any label columns (kept). Returns per interval: calls, offered_load (Erlangs), agents_a and the
    answer rate / service level / abandonment they give under Erlang A, agents_c and the service
    level under Erlang C (nobody hangs up), and the figures Erlang C's staffing gives if callers do
    hang up (``answer_rate_a_at_c``): the two models side by side.
    """
    if "calls" not in volumes.columns:
        raise ValueError("volumes need a 'calls' column (calls arriving per interval)")
    if (volumes["calls"] < 0).any() or volumes["calls"].isna().any():
        raise ValueError("volumes: 'calls' must be a number >= 0 in every interval")
    rows = []
    for calls in volumes["calls"].to_numpy(dtype=float):
        lam = calls / interval_seconds
        a = agents_needed(lam, aht, patience, answer_rate=answer_rate, service_level=service_level, threshold=threshold)
        c = agents_needed(lam, aht, math.inf, answer_rate=answer_rate, service_level=service_level, threshold=threshold)
        at_c = erlang_a_metrics(c.agents, lam, aht, patience, threshold) if lam > 0 else a
        rows.append(
            {
                "calls": calls,
                "offered_load": lam * aht,
                "agents_a": a.agents,
                "answer_rate_a": a.answer_rate,
                "service_level_a": a.service_level,
                "abandon_a": a.p_abandon,
                "mean_wait_a": a.mean_wait,
                "agents_c": c.agents,
                "service_level_c": c.service_level,
                "answer_rate_a_at_c": at_c.answer_rate,
                "service_level_a_at_c": at_c.service_level,
            }
        )
    out = pd.DataFrame(rows, index=volumes.index)
    labels = volumes.drop(columns="calls")
    return pd.concat([labels, out], axis=1)


def metrics_frame(metrics: list[QueueMetrics]) -> pd.DataFrame:
    """A list of QueueMetrics as a table."""
    return pd.DataFrame([asdict(m) for m in metrics])


def _check_n_a(n: int, a: float) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"agents must be a whole number >= 0, got {n!r}")
    if not (a >= 0 and math.isfinite(a)):
        raise ValueError(f"offered load must be a finite number >= 0, got {a!r}")


def _check_rates(lam: float, aht: float) -> None:
    if not (lam >= 0 and math.isfinite(lam)):
        raise ValueError(f"arrival rate must be a finite number >= 0, got {lam!r}")
    if not (aht > 0 and math.isfinite(aht)):
        raise ValueError(f"mean handle time must be a finite number > 0 seconds, got {aht!r}")

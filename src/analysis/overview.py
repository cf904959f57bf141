"""The campaign overview: the data behind ``reports/index.html``'s first screen ("are we on track?").

    data = build(processed_dir, "2016-06")     # a plain dict (JSON-ready), no figures

For the chosen period: every campaign target of the whole bank with its status and the count per
status, a one-line verdict, the league table's top and bottom three (total, rank interval, award
eligibility), the biggest movers against the previous period, and every unit with the number of
its own targets at risk or missed (for the links to the unit pages). The bank-wide figures come from
:mod:`analysis.scorecard.shared` (computed once per run and cached), so the overview costs nothing
once the unit pages' figures exist.

The pieces are small functions on DataFrames (:func:`league_extremes`, :func:`biggest_movers`,
:func:`status_counts`, :func:`verdict`) so they can be checked by hand.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.periods import Period

STATUSES = ["met", "on track", "at risk", "missed", "n/a"]
STATUS_LABELS = {"met": "达标", "on track": "进度正常", "at risk": "有风险", "missed": "未达标", "n/a": "无数据"}


def status_reason(row) -> str:
    from analysis.targets import status_reason as reason

    return reason(row)
TOP_N = 3


def _num(x):
    """A JSON-friendly number: None for NaN / NA."""
    if x is None or x is pd.NA:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _int(x):
    f = _num(x)
    return None if f is None else int(round(f))


# ---------------------------------------------------------------------------------- the league
def league_extremes(league: pd.DataFrame, n: int = TOP_N) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first ``n`` and the last ``n`` rows of a league table (sorted by rank, then as given);
    with fewer than 2n units the bottom leaves out the units already in the top."""
    t = league.reset_index(drop=True)
    t = t.iloc[sorted(range(len(t)), key=lambda i: (t["rank"].iloc[i], i))].reset_index(drop=True)
    top = t.head(n)
    bottom = t.iloc[max(n, len(t) - n):]
    return top.reset_index(drop=True), bottom.reset_index(drop=True)


def biggest_movers(league: pd.DataFrame, n: int = TOP_N) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``n`` units that climbed most places since the previous period and the ``n`` that fell
    most (``rank_change`` = previous rank - rank; > 0 is a climb). Ties: the larger change in total
    first, then the better rank. Units without a previous rank, and those that did not move, are in
    neither list."""
    t = league[league["rank_change"].notna()]
    up = t[t["rank_change"] > 0].sort_values(["rank_change", "total_change", "rank"], ascending=[False, False, True], kind="stable")
    down = t[t["rank_change"] < 0].sort_values(["rank_change", "total_change", "rank"], ascending=[True, True, True], kind="stable")
    return up.head(n).reset_index(drop=True), down.head(n).reset_index(drop=True)


# --------------------------------------------------------------------------------- the targets
def status_counts(statuses: pd.Series | list[str]) -> dict[str, int]:
    """How many targets have each status, in the order met, on track, at risk, missed, n/a."""
    s = pd.Series(list(statuses), dtype=object)
    unknown = sorted(set(s) - set(STATUSES))
    if unknown:
        raise ValueError(f"unknown target status(es) {unknown}; known: {STATUSES}")
    return {k: int((s == k).sum()) for k in STATUSES}


def verdict(counts: dict[str, int], in_progress: bool = True) -> dict:
    """The one-line answer to "are we on track?": level ok / warn / bad and the words.

    bad: at least one target missed; warn: none missed, at least one at risk; ok: every judged
    target met or on track. Targets without data (n/a) are named but do not change the level."""
    judged = sum(counts[s] for s in STATUSES if s != "n/a")
    # at the deadline (no judged target still in progress) nothing can be "on track": met is the word
    ok_words = "达标或进度正常" if in_progress else "达标"
    if counts["missed"]:
        level, text = "bad", f"未达标 {counts['missed']} 项" + (f"、有风险 {counts['at risk']} 项" if counts["at risk"] else "")
    elif counts["at risk"]:
        level, text = "warn", f"有风险 {counts['at risk']} 项，其余 {judged - counts['at risk']} 项{ok_words}"
    elif judged:
        level, text = "ok", f"全部 {judged} 项可判断的目标{ok_words}"
    else:
        level, text = "na", "没有可判断的目标"
    en = {"bad": "Some targets missed", "warn": "On track, with targets at risk", "ok": "On track" if in_progress else "Targets met", "na": "Nothing to judge"}[level]
    if counts["n/a"]:
        text += f"；{counts['n/a']} 项无数据"
    return {"level": level, "text": text, "en": en}


def _target_rows(t: pd.DataFrame) -> list[dict]:
    return [
        {"target_id": r.target_id, "group": r.group_title, "title": r.title, "title_en": r.title_en, "scope": r.scope_label,
         "actual": r.actual_text, "target": r.target_text, "projection": r.projection_text, "deadline": r.deadline,
         "status": r.status, "status_label": STATUS_LABELS[r.status], "sentence": r.sentence,
         "reason": status_reason(r._asdict())}
        for r in t.sort_values("order", kind="stable").itertuples()
    ]


# ----------------------------------------------------------------------------------- the build
def rank_set_label(meta: dict) -> str:
    """The rank column's header: which kind of set it is, at which level (docs/METHODS.md section 1)."""
    mc = meta.get("monte_carlo") or {}
    return f"名次边际{mc.get('coverage', 0.9):.0%}置信集"


def _unit_rows(league: pd.DataFrame) -> list[dict]:
    return [
        {"unit_id": str(r.unit_id), "name": r.unit_name, "rank": _int(r.rank), "total": _num(r.total), "eligible": bool(r.award_eligible),
         "rank_lo": _int(r.rank_lo), "rank_hi": _int(r.rank_hi), "rank_change": _int(r.rank_change), "total_change": _num(r.total_change)}
        for r in league.itertuples()
    ]


def from_shared(shared) -> dict:
    """The overview from the shared figures (:class:`analysis.scorecard.shared.Shared`)."""
    from analysis.report.export import period_label
    from analysis.scorecard import fixes as F
    from analysis.targets import summary_sentence

    meta, league, targets = shared.meta, shared.league, shared.targets
    period = Period.parse(meta["period"])
    bank = targets[targets["unit_id"] == ""]
    counts = status_counts(bank["status"])
    top, bottom = league_extremes(league)
    up, down = biggest_movers(league)
    units = []
    for r in league.itertuples():
        own = targets[targets["unit_id"] == r.unit_id]
        c = status_counts(own["status"])
        first = F.fix_first(own, shared.funnels[shared.funnels["sub_branch_id"] == r.unit_id],
                            shared.indicators[shared.indicators["unit_id"] == r.unit_id], int(r.rank), n=1)
        units.append({
            "unit_id": str(r.unit_id), "name": r.unit_name, "area": r.area, "rank": _int(r.rank), "total": _num(r.total),
            "eligible": bool(r.award_eligible), "at_risk": c["at risk"], "missed": c["missed"],
            "first_fix": first["title"].iloc[0] if len(first) else "",
        })
    scheme = meta["scheme"]
    return {
        "period": str(period),
        "period_label": period_label(str(period)),
        "previous": meta.get("previous"),
        "previous_label": period_label(meta["previous"]) if meta.get("previous") else "",
        "targets_title": meta.get("targets_title", ""),
        "targets": _target_rows(bank),
        "counts": counts,
        "verdict": verdict(counts, bool((~bank.loc[bank["status"] != "n/a", "final"].astype(bool)).any())),
        "summary": summary_sentence(bank, period),
        "watch": [f"{r.title}（{STATUS_LABELS[r.status]}）" for r in bank.sort_values("order", kind="stable").itertuples() if r.status in ("missed", "at risk")],
        "league": {
            "scheme": scheme["title"], "unit": scheme["unit"], "n": int(len(league)), "headline": meta.get("headline", ""),
            "rank_set": rank_set_label(meta),
            "ineligible_at": scheme.get("ineligible_at"),
            "top": _unit_rows(top), "bottom": _unit_rows(bottom),
            "ineligible": [{"unit_id": str(r.unit_id), "name": r.unit_name, "rank": _int(r.rank)} for r in league[~league["award_eligible"]].itertuples()],
        },
        "movers": {"up": _unit_rows(up), "down": _unit_rows(down)} if meta.get("previous") else None,
        "units": units,
        "notes": list(meta.get("notes", [])) + list(meta.get("warnings", [])),
        "fingerprint": meta.get("fingerprint", ""),
        "computed_at": meta.get("computed_at", ""),
    }


def build(processed_dir: Path | str = config.PROCESSED_DIR, period: Period | str = config.DEFAULT_PERIOD, options=None) -> dict:
    """The overview for ``period`` (the shared figures are computed or read from their cache)."""
    from analysis.scorecard.shared import load

    return from_shared(load(processed_dir, period, options))

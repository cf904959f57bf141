"""Reading a league table: where each unit loses against the leader, which indicator would lift it
most, who moved since the previous period, and plain-language sentences for a sub-branch head.

Definitions (used in the reports):

* **Points lost against the leader** on an indicator = the rank-1 unit's points on it minus the unit's
  points (negative where the unit beats the leader). With a tie at the top, the leader is the first
  tied unit of the published table.
* **The indicator that would lift a unit most** is the one where matching the best points any unit
  earned on it (its *best-in-class* points, within the cap) adds the most to the unit's total; the
  *gain* is ``best points - unit points``. The *rank after* is the rank the unit would have with that
  gain, every other unit unchanged. It is a points-space reading: it ignores the small shift of the
  whole-bank references that the unit's own improvement would cause (a larger unit moves the
  reference more). Ties in the gain go to the indicator listed first in the scheme.
* **Movers**: rank and total now against the previous period, for the units scored in both;
  ``rank_change`` > 0 means the unit moved up.
"""

from __future__ import annotations

import pandas as pd

from analysis.scoring.engine import RANK_DECIMALS, ScoreResult


def points_long(result: ScoreResult) -> pd.DataFrame:
    """One row per unit x indicator: unit_id, unit_name, rank, indicator, name, group, weight, points."""
    t = result.table
    rows = []
    for ind in result.scheme.indicators:
        part = t[["unit_id", "unit_name", "rank"]].copy()
        part["indicator"] = ind.id
        part["name"] = ind.name
        part["group"] = ind.group
        part["weight"] = result.weights[ind.id]
        part["points"] = t[ind.id]
        rows.append(part)
    return pd.concat(rows, ignore_index=True)


def loss_vs_leader(result: ScoreResult) -> pd.DataFrame:
    """Points lost against the rank-1 unit, per unit (rows, rank order) and indicator (columns)."""
    pts = result.points
    leader = result.table["unit_id"].iloc[0]
    return (pts.loc[leader] - pts).loc[list(result.table["unit_id"])]


def biggest_losses(result: ScoreResult) -> pd.DataFrame:
    """Per unit: the indicator where it loses most against the leader and how many points."""
    loss = loss_vs_leader(result)
    names = {i.id: i.name for i in result.scheme.indicators}
    t = result.table.set_index("unit_id")
    ind = loss.idxmax(axis=1)
    out = pd.DataFrame(
        {
            "unit_id": loss.index,
            "unit_name": t.loc[loss.index, "unit_name"].to_numpy(),
            "rank": t.loc[loss.index, "rank"].to_numpy(),
            "gap_to_leader": (t["total"].iloc[0] - t.loc[loss.index, "total"]).to_numpy(),
            "indicator": ind.to_numpy(),
            "name": ind.map(names).to_numpy(),
            "points_lost": loss.max(axis=1).to_numpy(),
        }
    )
    out.loc[out["points_lost"] <= 0, ["indicator", "name"]] = pd.NA  # the leader itself, or ahead everywhere
    return out.reset_index(drop=True)


def lift(result: ScoreResult) -> pd.DataFrame:
    """Per unit: the indicator that would lift it most (see the module docstring), the gain, the rank after."""
    pts = result.points
    best = pts.max(axis=0)
    gains = best - pts
    t = result.table.set_index("unit_id")
    totals = t["total"]
    names = {i.id: i.name for i in result.scheme.indicators}
    rows = []
    for uid in result.table["unit_id"]:
        g = gains.loc[uid]
        if g.max() <= 0:
            rows.append((uid, t.at[uid, "unit_name"], int(t.at[uid, "rank"]), pd.NA, pd.NA, 0.0, float(totals[uid]), int(t.at[uid, "rank"])))
            continue
        k = g.idxmax()  # first maximal in scheme order
        new_total = totals[uid] + g[k]
        others = totals.drop(uid).round(RANK_DECIMALS)
        new_rank = int((others > round(new_total, RANK_DECIMALS)).sum() + 1)
        rows.append((uid, t.at[uid, "unit_name"], int(t.at[uid, "rank"]), k, names[k], float(g[k]), float(new_total), new_rank))
    return pd.DataFrame(rows, columns=["unit_id", "unit_name", "rank", "indicator", "name", "gain", "total_after", "rank_after"])


def gains(result: ScoreResult) -> pd.DataFrame:
    """Every unit x indicator gain from matching the best points on that indicator (rank order)."""
    pts = result.points
    return (pts.max(axis=0) - pts).loc[list(result.table["unit_id"])]


def movers(current: ScoreResult, previous: ScoreResult) -> pd.DataFrame:
    """Rank and total now against the previous period (units scored in both), biggest climbers first."""
    now = current.table.set_index("unit_id")[["unit_name", "rank", "total"]]
    before = previous.table.set_index("unit_id")[["rank", "total"]].rename(columns={"rank": "rank_prev", "total": "total_prev"})
    m = now.join(before, how="inner")
    m["rank_change"] = m["rank_prev"] - m["rank"]
    m["total_change"] = m["total"] - m["total_prev"]
    m = m.reset_index().sort_values(["rank_change", "rank"], ascending=[False, True], kind="stable")
    return m[["unit_id", "unit_name", "rank_prev", "rank", "rank_change", "total_prev", "total", "total_change"]].reset_index(drop=True)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def unit_sentences(result: ScoreResult, *, intervals: pd.DataFrame | None = None, tied_with: dict[str, list[str]] | None = None,
                   movers_table: pd.DataFrame | None = None, lang: str = "zh") -> pd.DataFrame:
    """One plain-language paragraph per unit, for its head: rank, total, where it loses most against
    the leader, what would lift it most, how sure the rank is, and how it moved."""
    if lang not in ("zh", "en"):
        raise ValueError("lang must be 'zh' or 'en'")
    t = result.table.set_index("unit_id")
    n = len(t)
    leader_id = result.table["unit_id"].iloc[0]
    leader = t.at[leader_id, "unit_name"]
    losses = biggest_losses(result).set_index("unit_id")
    lifts = lift(result).set_index("unit_id")
    iv = intervals.set_index("unit_id") if intervals is not None else None
    mv = movers_table.set_index("unit_id") if movers_table is not None else None
    ded = result.scheme.deductions[0].id if result.scheme.deductions else None
    rows = []
    for uid in result.table["unit_id"]:
        name, rank, total = t.at[uid, "unit_name"], int(t.at[uid, "rank"]), float(t.at[uid, "total"])
        tied = int((t["rank"] == rank).sum()) > 1
        parts: list[str] = []
        if lang == "zh":
            parts.append(f"{name}以{total:.1f}分{'并列' if tied else ''}排名第{rank}（共{n}家）")
            if uid != leader_id and pd.notna(losses.at[uid, "indicator"]):
                parts.append(f"比第一名{leader}少{t.at[leader_id, 'total'] - total:.1f}分，差距最大的是{losses.at[uid, 'name']}（少{losses.at[uid, 'points_lost']:.1f}分）")
            if pd.notna(lifts.at[uid, "indicator"]) and lifts.at[uid, "gain"] > 0.05:
                move = f"，升至第{lifts.at[uid, 'rank_after']}名" if lifts.at[uid, "rank_after"] < rank else ""
                parts.append(f"若{lifts.at[uid, 'name']}达到全行最好水平，可多得{lifts.at[uid, 'gain']:.1f}分{move}")
            if ded and t.at[uid, ded] > 0:
                parts.append(f"因重大有责投诉或负面报道扣{t.at[uid, ded]:g}分")
            if not t.at[uid, "award_eligible"]:
                parts.append("已取消评先资格（仍参加排名）")
            if iv is not None:
                lo, hi = int(iv.at[uid, "rank_lo"]), int(iv.at[uid, "rank_hi"])
                s = f"考虑神秘人检查和满意度调查的抽样误差，真实名次的边际置信集为第{lo}至{hi}名" if lo != hi else f"考虑神秘人检查和满意度调查的抽样误差，名次可确定为第{lo}名"
                if tied_with and tied_with.get(uid):
                    others = "、".join(t.at[o, "unit_name"] for o in tied_with[uid][:4])
                    s += f"，与{others}{'等' if len(tied_with[uid]) > 4 else ''}难以区分"
                parts.append(s)
            if mv is not None and uid in mv.index:
                ch = int(mv.at[uid, "rank_change"])
                parts.append(f"比上期{'上升' + str(ch) + '位' if ch > 0 else '下降' + str(-ch) + '位' if ch < 0 else '名次不变'}（上期第{int(mv.at[uid, 'rank_prev'])}名）")
            text = "；".join(parts) + "。"
        else:
            parts.append(f"{name} ranks {'joint ' if tied else ''}{_ordinal(rank)} of {n} with {total:.1f} points")
            if uid == leader_id:
                parts.append("it leads the table")
            elif pd.notna(losses.at[uid, "indicator"]):
                parts.append(f"it is {t.at[leader_id, 'total'] - total:.1f} points behind {leader} and loses most on {losses.at[uid, 'name']} ({losses.at[uid, 'points_lost']:.1f} points)")
            if pd.notna(lifts.at[uid, "indicator"]) and lifts.at[uid, "gain"] > 0.05:
                move = f", lifting it to {_ordinal(int(lifts.at[uid, 'rank_after']))}" if lifts.at[uid, "rank_after"] < rank else ""
                parts.append(f"matching the best {lifts.at[uid, 'name']} would add {lifts.at[uid, 'gain']:.1f} points{move}")
            if ded and t.at[uid, ded] > 0:
                parts.append(f"{t.at[uid, ded]:g} points were deducted for major complaints or media reports")
            if not t.at[uid, "award_eligible"]:
                parts.append("it is not eligible for awards (still ranked)")
            if iv is not None:
                lo, hi = int(iv.at[uid, "rank_lo"]), int(iv.at[uid, "rank_hi"])
                s = (f"allowing for the sampling error of the checks and surveys, the marginal confidence set for its true rank is {lo} to {hi}" if lo != hi
                     else f"allowing for the sampling error of the checks and surveys, its rank is {lo} with confidence")
                if tied_with and tied_with.get(uid):
                    s += ", and it cannot be told apart from " + ", ".join(t.at[o, "unit_name"] for o in tied_with[uid][:4])
                parts.append(s)
            if mv is not None and uid in mv.index:
                ch = int(mv.at[uid, "rank_change"])
                parts.append(f"{'up ' + str(ch) if ch > 0 else 'down ' + str(-ch) if ch < 0 else 'no change'} on the previous period ({_ordinal(int(mv.at[uid, 'rank_prev']))})")
            text = "; ".join(parts) + "."
        rows.append((uid, name, rank, text))
    return pd.DataFrame(rows, columns=["unit_id", "unit_name", "rank", "sentence"])


def headline(result: ScoreResult, lang: str = "zh") -> str:
    """One sentence on the whole table: the leader, the spread, ineligible units, warnings."""
    t = result.table
    top = t[t["rank"] == 1]["unit_name"].tolist()
    n = len(t)
    inel = t.loc[~t["award_eligible"], "unit_name"].tolist()
    spread = t["total"].max() - t["total"].min()
    if lang == "zh":
        s = f"{'、'.join(top)}以{t['total'].iloc[0]:.1f}分位居第一（共{n}家，最高与最低相差{spread:.1f}分）"
        if inel:
            limit = result.scheme.eligibility[0].ineligible_at if result.scheme.eligibility else ""
            s += f"；{'、'.join(inel)}因重大有责投诉或负面报道达{limit}件（次）及以上，取消评先资格（仍参加排名）"
        if result.warnings:
            s += f"；有{len(result.warnings)}条计分提示，见下文"
        return s + "。"
    s = f"{', '.join(top)} lead{'s' if len(top) == 1 else ''} with {t['total'].iloc[0]:.1f} points ({n} units, {spread:.1f} points from top to bottom)"
    if inel:
        s += f"; not eligible for awards: {', '.join(inel)}"
    return s + "."


def warnings_table(result: ScoreResult) -> pd.DataFrame:
    names = {i.id: i.name for i in result.scheme.indicators}
    return pd.DataFrame(
        [(w.indicator, names.get(w.indicator, w.indicator), w.component, w.period, w.message) for w in result.warnings],
        columns=["indicator", "name", "component", "period", "message"],
    )


__all__ = ["biggest_losses", "gains", "headline", "lift", "loss_vs_leader", "movers", "points_long", "unit_sentences", "warnings_table"]


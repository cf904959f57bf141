"""Adapter: the Technion "Anonymous Bank" call-centre records (1999) to canonical call records.

The format (one row per call entering the voice response unit, VRU)::

    vru+line,call_id,customer_id,priority,type,date,vru_entry,vru_exit,vru_time,q_start,q_exit,
    q_time,outcome,ser_start,ser_exit,ser_time,server

``date`` is the day of ``vru_entry``; the other times are times of day (``H:MM:SS``), so a call that
crosses midnight has later times smaller than ``vru_entry``. ``0:00:00`` in ``q_start``, ``q_exit``,
``ser_start``, ``ser_exit`` means "did not happen" (the data's own convention). ``outcome`` is AGENT
(served), HANG (hung up) or PHANTOM (a virtual call, to be ignored). ``call_id`` is not unique (ids
recycle) and can be corrupted, so the canonical ``call_id`` is built from the file and line.

Mapping (the data's README: a call asked for an agent when it was served or queued):

- PHANTOM                          -> excluded ("PHANTOM: a virtual call, not a customer")
- HANG without queueing            -> excluded (never asked for an agent: hung up in the VRU)
- queued (q_start set)             -> arrived_at = q_start
- AGENT without queueing           -> arrived_at = vru_exit (asked at the end of the VRU, served at once)
- AGENT                            -> answered_at = ser_start (rejected when ser_start is missing)
- HANG after queueing              -> abandoned_at = q_exit
- a time more than 12 h earlier than vru_entry is on the next day (calls crossing midnight).

Service often starts a second or two before the recorded queue exit (clocks of different systems):
the shared clock-skew rule handles that downstream (:mod:`analysis.events.callcentre`). Malformed rows
(a date or time that does not parse, an unknown outcome) are rejected here with the line and column.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.errors import InputValueError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

# pandas and numpy are imported inside the functions: `detect` runs on every `calls` command and
# must stay light.

COLUMNS = ["vru+line", "call_id", "customer_id", "priority", "type", "date", "vru_entry", "vru_exit", "vru_time",
           "q_start", "q_exit", "q_time", "outcome", "ser_start", "ser_exit", "ser_time", "server"]  # fmt: skip
SIGNATURE = {"vru+line", "vru_entry", "q_start", "outcome", "ser_start"}
CENTER = "anonymous_bank"
NOT_SET = 0  # 0:00:00 means "did not happen"
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2}):(\d{2})\s*$")

EXCLUDED_PHANTOM = "excluded: PHANTOM, a virtual call, not a customer"
EXCLUDED_NOT_OFFERED = "excluded: did not ask for an agent (hung up in the voice response unit without queueing)"


def detect(source: Path | str) -> bool:
    """Whether ``source`` (a CSV file or a folder whose first CSV file) is in this format."""
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.csv") if not p.name.startswith((".", "_")))
        if not files:
            return False
        path = files[0]
    if not path.is_file() or not path.name.lower().endswith(".csv"):
        return False
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline()
    return SIGNATURE <= {h.strip() for h in header.split(",")}


def load(source: Path | str, center: str = CENTER) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical call records and the records left out, each with ``source_file``/``source_line``.

    The second frame has a ``reason`` starting with ``excluded:`` (by definition not a call that
    asked for an agent) or ``rejected:`` (malformed).
    """
    import pandas as pd

    from analysis.io.read import SourceError

    path = Path(source)
    files = sorted(p for p in path.rglob("*.csv") if not p.name.startswith((".", "_"))) if path.is_dir() else [path]
    if not files:
        raise SourceError(path, "no .csv files in the folder")
    calls, left_out = zip(*(convert(_read(f), source_file=f.name, center=center) for f in files))
    return pd.concat(calls, ignore_index=True), pd.concat(left_out, ignore_index=True)


def _read(path: Path) -> pd.DataFrame:
    import pandas as pd

    from analysis.io.read import SourceError

    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.columns = [c.strip() for c in raw.columns]
    missing = [c for c in ("vru+line", "call_id", "date", "vru_entry", "vru_exit", "q_start", "q_exit", "outcome", "ser_start") if c not in raw.columns]
    if missing:
        raise SourceError(path, f"not an Anonymous Bank call file: missing column(s) {', '.join(missing)}", column=missing[0])
    return raw


def _seconds_of_day(values: pd.Series) -> pd.Series:
    """``H:MM:SS`` -> seconds since midnight (float, NaN when the text is not a time of day)."""
    parts = values.str.extract(_TIME).astype(float)
    h, m, s = parts[0], parts[1], parts[2]
    ok = (h < 24) & (m < 60) & (s < 60)
    return (h * 3600 + m * 60 + s).where(ok)


def convert(raw: pd.DataFrame, *, source_file: str = "<frame>", center: str = CENTER) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Convert one file's rows (all text, as read) -- see the module docstring for the rules."""
    import numpy as np
    import pandas as pd

    raw = raw.reset_index(drop=True)
    line = pd.Series(np.arange(len(raw)) + 2, index=raw.index)  # line 1 is the header
    outcome = raw["outcome"].str.strip().str.upper()
    day = pd.to_datetime(raw["date"].str.strip(), format="%Y-%m-%d", errors="coerce")
    sec = {c: _seconds_of_day(raw[c]) for c in ("vru_entry", "vru_exit", "q_start", "q_exit", "ser_start")}

    queued = sec["q_start"].notna() & (sec["q_start"] != NOT_SET)
    problems = pd.Series("", index=raw.index)

    def problem(mask, text):
        nonlocal problems
        mask = mask.fillna(False) & (problems == "")
        problems = problems.mask(mask, text)

    phantom = outcome == "PHANTOM"
    problem(day.isna(), "rejected: date is not a date (YYYY-MM-DD)")
    for col in ("vru_entry", "vru_exit", "q_start", "q_exit", "ser_start"):
        problem(sec[col].isna(), f"rejected: {col} is not a time of day (H:MM:SS)")
    problem(~outcome.isin(["AGENT", "HANG", "PHANTOM"]), "rejected: outcome is not AGENT, HANG or PHANTOM")
    problem(phantom, EXCLUDED_PHANTOM)
    problem((outcome == "HANG") & ~queued, EXCLUDED_NOT_OFFERED)
    problem((outcome == "AGENT") & (sec["ser_start"] == NOT_SET), "rejected: AGENT (served) but no service start time (ser_start 0:00:00)")
    problem((outcome == "HANG") & queued & (sec["q_exit"] == NOT_SET), "rejected: hung up in the queue but no queue exit time (q_exit 0:00:00)")

    def at(col: str) -> pd.Series:
        # The day of vru_entry, plus one when the time is more than 12 h before vru_entry (midnight crossed).
        rolled = (sec["vru_entry"] - sec[col]) > 12 * 3600
        return day + pd.to_timedelta(sec[col] + rolled * 86400, unit="s")

    ok = problems == ""
    arrived = at("q_start").where(queued, at("vru_exit"))
    calls = pd.DataFrame(
        {
            "call_id": source_file.rsplit(".", 1)[0] + ":" + line.astype(str),
            "center": center,
            "arrived_at": arrived,
            "answered_at": at("ser_start").where(outcome == "AGENT"),
            "abandoned_at": at("q_exit").where(outcome == "HANG"),
            "source_file": source_file,
            "source_line": line,
        }
    ).loc[ok]
    for col in ("arrived_at", "answered_at", "abandoned_at"):
        calls[col] = calls[col].astype("datetime64[us]")
    left_out = raw.loc[~ok].copy()
    left_out.insert(0, "reason", problems[~ok])
    left_out["source_file"] = source_file
    left_out["source_line"] = line[~ok]
    return calls.reset_index(drop=True), left_out.reset_index(drop=True)


# ------------------------------------------------------------------ what the staffing what-if needs
def service_parameters(source: Path | str) -> dict[str, float]:
    """Mean handle time, mean patience and the share of calls asking for an agent, from call records.

    - ``aht``: mean ``ser_time`` (seconds) of served calls (AGENT with a service start);
    - ``patience``: the maximum-likelihood estimate for exponential patience from censored waits
      (Mandelbaum & Zeltyn): total time callers spent queueing (``q_time`` of every queued call,
      served or not) divided by the number who hung up in the queue;
    - ``agent_share``: calls that asked for an agent (served or queued) / all calls that are not
      PHANTOM -- the 1999 volumes count every call entering the voice unit;
    - ``calls``: calls that are not PHANTOM.
    """
    import pandas as pd

    from analysis.io.read import SourceError

    path = Path(source)
    files = sorted(p for p in path.rglob("*.csv") if not p.name.startswith((".", "_"))) if path.is_dir() else [path]
    raw = pd.concat([_read(f) for f in files], ignore_index=True)
    outcome = raw["outcome"].str.strip().str.upper()
    real = outcome != "PHANTOM"
    queued = real & (_seconds_of_day(raw["q_start"]).fillna(NOT_SET) != NOT_SET)
    served = (outcome == "AGENT") & (_seconds_of_day(raw["ser_start"]).fillna(NOT_SET) != NOT_SET)
    ser_time = pd.to_numeric(raw["ser_time"], errors="coerce")
    q_time = pd.to_numeric(raw["q_time"], errors="coerce")
    hung_up_in_queue = int((queued & (outcome == "HANG")).sum())
    if not served.any() or hung_up_in_queue == 0:
        raise SourceError(path, "cannot estimate handle time and patience: no served calls or nobody hung up in the queue")
    return {
        "aht": float(ser_time[served].mean()),
        "patience": float(q_time[queued].sum() / hung_up_in_queue),
        "agent_share": float((served | queued).sum() / real.sum()),
        "calls": int(real.sum()),
    }


def volumes(path: Path | str, day: str, minutes: int = 30) -> pd.DataFrame:
    """Calls per ``minutes`` interval on ``day`` from the 1999 per-6-minute volumes
    (columns date, interval_start, calls): ``slot`` (HH:MM), ``calls``."""
    import pandas as pd

    from analysis.io.read import SourceError

    if minutes % 6 or not 6 <= minutes <= 1440:
        raise InputValueError(f"minutes must be a multiple of 6 (the data's interval), got {minutes}")
    v = pd.read_csv(path, dtype={"date": str, "interval_start": str})
    missing = {"date", "interval_start", "calls"} - set(v.columns)
    if missing:
        raise SourceError(path, f"missing column(s) {', '.join(sorted(missing))}", column=sorted(missing)[0])
    d = v[v["date"] == day]
    if d.empty:
        raise SourceError(path, f"no volumes for {day} (the file covers {v['date'].min()} to {v['date'].max()})", column="date")
    start = pd.to_timedelta(d["interval_start"] + ":00")
    slot = (start.dt.total_seconds() // (minutes * 60)).astype(int) * minutes
    out = d.groupby(slot.to_numpy())["calls"].sum()
    return pd.DataFrame({"slot": [f"{m // 60:02d}:{m % 60:02d}" for m in out.index], "calls": out.to_numpy(dtype=float)})

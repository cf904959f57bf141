"""The synthetic sample bank: raw exports of a fictional city branch (江城分行) for 2015 and 2016.

``python -m analysis generate --out DIR --seed N`` writes every raw source defined in ``sources/``
the way a bank's systems and its analysts would export them: workbooks and CSV files in GBK,
UTF-8 and UTF-8 with BOM, headers that change between years, full-width digits, thousands
separators, several date spellings, a title row above a header, a notes sheet, a total row,
a blank row, exact duplicates, a few impossible values and one export cut off mid-record.
Every planted defect is recorded (:class:`Planted`) so the tests can check that the cleaning step
rejects exactly those rows, and ``README.md`` in the output folder lists them.

The bank behind the files is a small model (:func:`build_bank`): 25 sub-branches (15 urban,
10 county) and about 150 outlets, each with a latent service quality that every source sees
through its own noise, so a few units are clearly strong and a few clearly weak across sources
without being perfectly correlated. 2016 is the campaign year: most things improve, some units
do not. Same seed, same bytes: every random stream is derived from ``(seed, stream name)`` and
workbooks carry a fixed creation date (XlsxWriter already fixes the zip member dates).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import config
from analysis.errors import InputValueError

YEARS = (2015, 2016)
BUSINESS_YEARS = (2014, 2015, 2016)
BANK_NAME = "江城分行"
BRANCH_ID = "3318"
SPRING_FESTIVAL = {2014: dt.date(2014, 1, 31), 2015: dt.date(2015, 2, 19), 2016: dt.date(2016, 2, 8)}
WORKBOOK_CREATED = dt.datetime(2017, 1, 16, 9, 30, 0)  # fixed: workbooks must not carry the run's time

URBAN_SUBS = [
    "城东支行", "城西支行", "城南支行", "城北支行", "江滨支行", "江北支行", "开发区支行", "高新区支行",
    "新华路支行", "解放路支行", "中山路支行", "人民路支行", "火车站支行", "港口支行", "大学城支行",
]
COUNTY_SUBS = [
    "临江县支行", "青山县支行", "白沙县支行", "石门县支行", "桃源县支行",
    "清河县支行", "龙泉县支行", "安平县支行", "永丰县支行", "云溪县支行",
]
URBAN_PLACES = [
    "光明路", "和平路", "建设路", "文化路", "胜利街", "东风路", "五一路", "青年路", "花园路", "滨江花园",
    "万达广场", "体育馆", "幸福里", "长江路", "黄河路", "金桥", "银湖", "桂花园", "白云路", "紫荆路",
    "钟楼", "鼓楼", "新村", "工业园", "科技园", "软件园", "汽车城", "朝阳路", "锦绣路", "南湖",
    "北湖", "东湖", "西苑", "南苑", "北苑", "华侨城", "沿江大道", "江汉路", "民主路", "友谊路",
    "团结路", "育才路", "书院街", "柳荫街", "梧桐路", "枫林路", "翠微路", "星光大道", "世纪广场", "会展中心",
    "保税区", "物流园", "码头", "客运站", "高铁站", "医学院", "师范路", "理工路", "学府路", "图书城",
    "天河路", "丽景湾", "金色家园", "阳光城", "绿洲路", "香樟路", "玉兰路", "芙蓉路", "荷花池", "凤凰路",
    "青龙街", "白虎巷", "双井", "三眼桥", "四季花城", "五里墩", "六合路", "七星路", "八一路", "九龙湾",
    "十里铺", "百花园", "千禧路", "万松园", "新华街", "兴业路", "富民路", "繁华里", "中心广场", "北京路",
    "上海路", "广州路", "长春街", "沈阳路", "重庆路", "成都路", "西安路", "南京路", "杭州路", "苏州路",
]
COUNTY_TOWNS = [
    "城关", "白马镇", "石桥镇", "新店镇", "柳林镇", "河口镇", "三江镇", "黄土岭镇", "双河镇", "杨柳镇",
    "马场镇", "龙潭镇", "清水镇", "高桥镇", "大坪乡", "长岭镇", "青石镇", "河西镇", "东坪镇", "花溪镇",
    "太平镇", "永安镇", "兴隆镇", "南门", "北门", "新区", "工业园区", "开发区", "车站", "老街",
    "铜锣镇", "金鸡镇", "凤凰镇", "桃花镇", "梅林镇", "竹园镇", "松柏镇", "枫树镇", "荷塘镇", "柏树镇",
    "望江镇", "临河镇", "观音镇", "罗汉镇", "板桥镇", "沙坪镇", "茶园镇", "盐井镇", "油坊镇", "米市镇",
    "七里镇", "九道镇", "十字镇", "百福镇", "丰收镇", "幸福乡", "红星乡", "向阳乡", "东方乡", "新民乡",
    "安乐镇", "太和镇", "永宁镇", "长乐镇", "宝塔镇", "文昌镇", "武胜镇", "平安镇", "顺河镇", "石门坎镇",
]
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_NAMES = [
    "建国", "秀英", "志强", "丽华", "伟", "芳", "敏", "静", "磊", "洋", "勇", "军", "杰", "娟", "涛", "明", "超",
    "秀兰", "霞", "平", "刚", "桂英", "玉兰", "海燕", "建华", "春梅", "国强", "小红", "文斌", "德明", "晓东", "红梅",
]
GRADE_LABELS = {
    "flagship": ("旗舰网点", "旗舰型"), "comprehensive": ("综合网点", "综合型"),
    "boutique": ("精品网点", "精品型"), "basic": ("基础网点", "基础型"),
}


# ------------------------------------------------------------------------------------ bookkeeping
@dataclass
class Planted:
    """A defect planted in a raw file that the cleaning step must reject (``kind`` "reject"), or an odd
    but valid record it must keep ("valid"), or a blank row it must skip ("blank")."""

    source: str
    file: str  # the clean report's label: file name, plus [sheet] for workbooks
    line: int  # 1-based line (CSV) or sheet row (xlsx)
    reason: str  # a fragment of the reason the engine gives
    what: str  # for people: what was planted
    kind: str = "reject"  # reject | valid | blank


@dataclass
class FileInfo:
    name: str
    source: str
    encoding: str
    rows: int
    notes: list[str] = field(default_factory=list)


@dataclass
class Sample:
    seed: int
    files: list[FileInfo] = field(default_factory=list)
    planted: list[Planted] = field(default_factory=list)

    def rejects(self, source: str | None = None) -> list[Planted]:
        return [p for p in self.planted if p.kind == "reject" and (source is None or p.source == source)]


def _rng(seed: int, stream: str) -> np.random.Generator:
    """One independent random stream per purpose, so changing one source leaves the others alone."""
    return np.random.default_rng([int(seed), zlib.crc32(stream.encode("utf-8"))])


# --------------------------------------------------------------------------------------- the bank
@dataclass
class Bank:
    seed: int
    subs: pd.DataFrame  # sub_branch_id, name, area, quality, improvement, role
    outlets: pd.DataFrame  # outlet_id, outlet_name, sub_branch_id, ..., quality, size, wait_2015/2016
    strong: list[str]  # sub-branch ids chosen to be clearly strong
    weak: list[str]  # ... clearly weak
    complaints_up: list[str]  # sub-branches whose complaints rise in 2016
    troubled: list[tuple[str, int]]  # (sub-branch, year) with >= 3 major-responsible complaints + media reports
    slow_deposits: str  # sub-branch whose 2016 deposit increment is negative
    slow_vip: str  # sub-branch whose 2016 VIP increment is about zero
    slow_echannel: str  # sub-branch whose e-channel share barely moves in 2016


def build_bank(seed: int = config.DEFAULT_SEED) -> Bank:
    """The latent structure every source is drawn from."""
    rng = _rng(seed, "bank")
    names = URBAN_SUBS + COUNTY_SUBS
    areas = ["urban"] * len(URBAN_SUBS) + ["county"] * len(COUNTY_SUBS)
    n = len(names)
    ids = [f"{BRANCH_ID}{i + 1:02d}" for i in range(n)]
    quality = rng.normal(0.0, 0.7, n)
    order = rng.permutation(n)
    strong, weak, up = order[:3], order[3:6], order[6:8]
    quality[strong] = rng.uniform(1.6, 2.2, 3)
    quality[weak] = rng.uniform(-2.2, -1.6, 3)
    improvement = rng.normal(1.0, 0.3, n).clip(0.35, 1.8)
    improvement[up] = rng.uniform(0.0, 0.25, 2)
    role = np.array([""] * n, dtype=object)
    role[strong], role[weak], role[up] = "strong", "weak", "complaints_up"
    subs = pd.DataFrame({"sub_branch_id": ids, "name": names, "area": areas, "quality": quality, "improvement": improvement, "role": role})

    towns = list(rng.permutation(COUNTY_TOWNS))
    places = list(rng.permutation(URBAN_PLACES))
    rows = []
    for s in subs.itertuples():
        urban = s.area == "urban"
        k = int(rng.choice([5, 6, 7, 8, 9], p=[0.22, 0.3, 0.26, 0.14, 0.08])) if urban else int(rng.choice([4, 5, 6, 7], p=[0.25, 0.3, 0.3, 0.15]))
        short = s.name.removesuffix("支行")
        for j in range(k):
            if j == 0:
                name = f"{s.name}营业室"
                grade = ("flagship" if rng.random() < 0.6 else "comprehensive") if urban else "comprehensive"
            else:
                if urban:
                    place = places.pop()
                    name = f"{s.name}{place}{rng.choice(['分理处', '分理处', '储蓄所', '社区支行'])}"
                else:
                    place = towns.pop()
                    name = f"{short}{place}{rng.choice(['分理处', '分理处', '营业所'])}"
                grade = rng.choice(["comprehensive", "boutique", "basic"], p=[0.22, 0.26, 0.52] if urban else [0.15, 0.2, 0.65])
            rows.append({
                "outlet_id": f"{s.sub_branch_id}{j + 1:02d}", "outlet_name": name, "sub_branch_id": s.sub_branch_id,
                "sub_branch_name": s.name, "area": s.area, "grade": str(grade), "sub_quality": s.quality,
                "improvement": s.improvement,
            })
    o = pd.DataFrame(rows)
    m = len(o)
    o["quality"] = 0.75 * o["sub_quality"] + 0.5 * rng.normal(0, 1, m)
    grade_w = o["grade"].map({"flagship": 2.2, "comprehensive": 1.5, "boutique": 1.0, "basic": 0.75})
    o["size"] = grade_w * np.where(o["area"] == "urban", 1.1, 0.9) * np.exp(rng.normal(0, 0.15, m))
    year0 = rng.integers(1985, 2013, m)
    o["opened_on"] = [dt.date(int(y), int(mo), int(d)) for y, mo, d in zip(year0, rng.integers(1, 13, m), rng.integers(1, 29, m))]
    # Mean waiting time (minutes): weak outlets wait longer; the campaign shortens waits by ~12%.
    w15 = 10.2 * np.exp(-0.2 * o["quality"] + 0.15 * rng.normal(0, 1, m))
    o["wait_2015"] = w15.clip(5.2, 15.0)
    o["wait_2016"] = (o["wait_2015"] * (0.88 - 0.08 * (o["improvement"] - 1) + 0.04 * rng.normal(0, 1, m))).clip(4.5, 15.0)
    rest = list(order[8:])
    sid = subs["sub_branch_id"].to_numpy()
    return Bank(
        seed=seed, subs=subs, outlets=o, strong=list(sid[strong]), weak=list(sid[weak]), complaints_up=list(sid[up]),
        troubled=[(sid[weak[0]], 2015), (sid[weak[1]], 2015), (sid[weak[0]], 2016), (sid[up[0]], 2016)],
        slow_deposits=sid[rest[0]], slow_vip=sid[rest[1]], slow_echannel=sid[rest[2]],
    )


# --------------------------------------------------------------------------------- time sampling
COUNTER_HOURS = np.zeros(24)
COUNTER_HOURS[9:17] = [0.15, 0.17, 0.15, 0.08, 0.07, 0.13, 0.14, 0.11]  # peaks 9-11 and 14-16
CALL_HOURS = np.array([0.5, 0.3, 0.2, 0.2, 0.2, 0.3, 0.8, 1.5, 3.5, 6.0, 6.8, 6.0, 4.0, 3.8, 5.5, 6.2, 5.8, 4.5, 3.5, 3.6, 3.4, 2.8, 1.8, 1.0])


def _day_weights(year: int, kind: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Relative volume per day: Monday busiest, January and month-ends busier, the Spring Festival
    week quiet and the weeks before it busy (cash, remittances), the National Day week quiet."""
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    counter = kind == "counter"
    weekday = np.array([1.35, 1.05, 1.0, 1.0, 1.1, 0.6, 0.45] if counter else [1.3, 1.1, 1.05, 1.0, 1.0, 0.8, 0.72])
    month = np.array([1.25, 1.05, 0.95, 0.95, 1.0, 1.0, 0.97, 0.97, 1.0, 0.95, 0.97, 1.1])
    w = weekday[days.day_of_week] * month[days.month - 1]
    month_end = days.day > days.days_in_month - 4
    w = w * np.where(month_end, 1.2 if counter else 1.1, 1.0)
    sf = pd.Timestamp(SPRING_FESTIVAL[year])
    before = (days >= sf - pd.Timedelta(days=21)) & (days < sf - pd.Timedelta(days=1))
    festival = (days >= sf - pd.Timedelta(days=1)) & (days <= sf + pd.Timedelta(days=5))
    w = w * np.where(before, 1.3 if counter else 1.15, 1.0) * np.where(festival, 0.2 if counter else 0.6, 1.0)
    national = (days.month == 10) & (days.day <= 7)
    w = w * np.where(national, 0.4 if counter else 0.8, 1.0)
    return days, w


def _sample_times(rng, n: int, year: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """``n`` timestamps (datetime64[s]) in ``year`` and each one's relative load (1 = average)."""
    days, w = _day_weights(year, kind)
    hours = COUNTER_HOURS if kind == "counter" else CALL_HOURS
    d = rng.choice(len(days), size=n, p=w / w.sum())
    h = rng.choice(24, size=n, p=hours / hours.sum())
    s = rng.integers(0, 3600, size=n)
    t = days.to_numpy().astype("datetime64[s]")[d] + (h * 3600 + s).astype("timedelta64[s]")
    hour_mean = (hours[hours > 0] * hours[hours > 0]).sum() / hours.sum()  # volume-weighted mean
    day_mean = (w * w).sum() / w.sum()
    load = (w[d] / day_mean) * (hours[h] / hour_mean)
    return t, load


def _parts(t) -> tuple[np.ndarray, ...]:
    ts = pd.DatetimeIndex(t)
    return ts.year.to_numpy(), ts.month.to_numpy(), ts.day.to_numpy(), ts.hour.to_numpy(), ts.minute.to_numpy(), ts.second.to_numpy()


def _fmt_times(t, style: str) -> list[str]:
    """Datetimes as the exporting system spells them; NaT becomes an empty cell."""
    t = np.asarray(t, dtype="datetime64[s]")
    nat = np.isnat(t)
    y, mo, d, h, mi, s = _parts(np.where(nat, np.datetime64("2000-01-01"), t))
    if style == "iso":
        out = [f"{a}-{b:02d}-{c:02d} {e:02d}:{f:02d}:{g:02d}" for a, b, c, e, f, g in zip(y, mo, d, h, mi, s)]
    elif style == "slash":  # Excel-style, no zero padding
        out = [f"{a}/{b}/{c} {e}:{f:02d}:{g:02d}" for a, b, c, e, f, g in zip(y, mo, d, h, mi, s)]
    elif style == "slash_min":
        out = [f"{a}/{b}/{c} {e}:{f:02d}" for a, b, c, e, f, g in zip(y, mo, d, h, mi, s)]
    elif style == "compact":
        out = [f"{a}{b:02d}{c:02d} {e:02d}{f:02d}{g:02d}" for a, b, c, e, f, g in zip(y, mo, d, h, mi, s)]
    else:
        raise ValueError(style)
    return ["" if n else v for v, n in zip(out, nat)]


def _fmt_date(d: dt.date, style: str) -> str:
    if style == "cn":
        return f"{d.year}年{d.month}月{d.day}日"
    if style == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    if style == "compact":
        return f"{d.year}{d.month:02d}{d.day:02d}"
    return d.isoformat()


def _fullwidth(text: str) -> str:
    """Digits as an IME in full-width mode types them (the decimal point stays ASCII, as it usually does)."""
    return text.translate(str.maketrans("0123456789", "０１２３４５６７８９"))


# ---------------------------------------------------------------------------------------- writers
def _csv_bytes(header: list[str], rows: list[list[str]], encoding: str, newline: str = "\r\n", preamble: list[list[str]] = ()) -> tuple[bytes, list[int]]:
    """The file's bytes and the line on which each record starts (a quoted newline spans lines)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=newline)
    line = 1
    for r in preamble:
        w.writerow(r)
        line += 1
    w.writerow(header)
    line += 1
    lines = []
    for r in rows:
        lines.append(line)
        w.writerow(r)
        line += 1 + sum(str(c).count("\n") for c in r)
    text = buf.getvalue()
    return text.encode(encoding), lines


def _write_csv(path: Path, header, rows, encoding, newline="\r\n", truncate_last: int = 0, preamble=()) -> list[int]:
    data, lines = _csv_bytes(header, rows, encoding, newline, preamble)
    if truncate_last:
        # An export cut off mid-field: no final newline and the last characters of the last record gone.
        text = data.decode(encoding)
        text = text[: len(text) - len(newline) - truncate_last]
        data = text.encode(encoding)
    path.write_bytes(data)
    return lines


class _Workbook:
    """XlsxWriter with fixed metadata (byte-identical output for identical content)."""

    def __init__(self, path: Path, title: str):
        import xlsxwriter

        self.wb = xlsxwriter.Workbook(
            str(path),
            # in_memory: zip members get XlsxWriter's fixed 1980-01-01 date (no temp files whose mtime depends on the time zone)
            {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False, "default_date_format": "yyyy-mm-dd"},
        )
        self.wb.set_properties({"title": title, "author": BANK_NAME, "company": BANK_NAME, "created": WORKBOOK_CREATED})
        self.bold = self.wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        self.title_fmt = self.wb.add_format({"bold": True, "font_size": 14})

    def sheet(self, name: str, header: list[str], rows: list[list], *, title: str | None = None, widths: dict[int, float] | None = None,
              blank_after: int | None = None, footer: list[list] = ()) -> list[int]:
        """Write one sheet; returns the sheet row (1-based) of every record, then of every footer row."""
        ws = self.wb.add_worksheet(name)
        r = 0
        if title:
            ws.write_string(r, 0, title, self.title_fmt)
            r += 1
        ws.write_row(r, 0, header, self.bold)
        ws.freeze_panes(r + 1, 0)
        r += 1
        lines = []
        for i, row in enumerate(rows):
            self._row(ws, r, row)
            lines.append(r + 1)
            r += 1
            if blank_after is not None and i == blank_after:
                r += 1  # a blank row in the middle of the table
        for row in footer:
            self._row(ws, r, row)
            lines.append(r + 1)
            r += 1
        for c, wdt in (widths or {}).items():
            ws.set_column(c, c, wdt)
        return lines

    def notes(self, name: str, lines: list[str]) -> None:
        ws = self.wb.add_worksheet(name)
        for i, text in enumerate(lines):
            ws.write_string(i, 0, text)
        ws.set_column(0, 0, 90)

    @staticmethod
    def _row(ws, r: int, row: list) -> None:
        for c, v in enumerate(row):
            if v is None or (isinstance(v, str) and v == "") or (isinstance(v, float) and v != v):
                continue
            if isinstance(v, (dt.date, dt.datetime)):
                ws.write_datetime(r, c, v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day))
            elif isinstance(v, str):
                ws.write_string(r, c, v)
            else:
                ws.write_number(r, c, float(v) if isinstance(v, (np.floating, float)) else int(v))

    def close(self) -> None:
        self.wb.close()


def _label(path: Path, sheet: str | None = None) -> str:
    return f"{path.name}[{sheet}]" if sheet else path.name


# ------------------------------------------------------------------------------------ master data
def write_outlets(bank: Bank, out: Path, sample: Sample) -> None:
    """机构信息.xlsx: one sheet under a title row; dates as Excel dates, a few as text; stray spaces
    in some sub-branch names (as typed by hand)."""
    rng = _rng(bank.seed, "outlets")
    o = bank.outlets
    path = out / "机构信息.xlsx"
    header = ["网点编号", "网点名称", "所属支行编号", "所属支行", "区域", "网点等级", "开业日期"]
    rows = []
    spaced = set(rng.choice(len(o), 3, replace=False))
    for i, r in enumerate(o.itertuples()):
        sub_name = r.sub_branch_name
        if i in spaced:  # "城东 支行 "
            sub_name = sub_name[:-2] + " " + sub_name[-2:] + " "
        grade = GRADE_LABELS[r.grade][0 if rng.random() < 0.9 else 1]
        opened = r.opened_on if rng.random() < 0.9 else _fmt_date(r.opened_on, "cn")
        rows.append([int(r.outlet_id), r.outlet_name, int(r.sub_branch_id), sub_name, "市区" if r.area == "urban" else "县域", grade, opened])
    wb = _Workbook(path, f"{BANK_NAME}网点机构信息")
    wb.sheet("网点清单", header, rows, title=f"{BANK_NAME}营业网点机构信息表（截至2016年12月31日）", widths={1: 30, 3: 14})
    wb.close()
    sample.files.append(FileInfo(path.name, "outlets", "xlsx", len(rows), [
        "title row above the header", "stray spaces in 3 sub-branch names", "grade labels in two spellings (基础网点/基础型)",
        "about 10% of opening dates typed as text (2003年5月1日)",
    ]))


# --------------------------------------------------------------------------------------- staffing
def _staffing_table(bank: Bank) -> pd.DataFrame:
    """Quarter-end staff per outlet, 2015Q1..2016Q4. 18% of outlets have no lobby staff in 2015;
    the campaign closes the gap to a few outlets by the end of 2016."""
    rng = _rng(bank.seed, "staffing")
    o = bank.outlets
    m = len(o)
    base = {"flagship": (9, 13), "comprehensive": (6, 10), "boutique": (4, 8), "basic": (3, 7)}
    tellers = np.array([rng.integers(*base[g]) for g in o["grade"]])
    # Who has no lobby staff in 2015: basic, county and weak outlets first.
    score = -o["quality"].to_numpy() + np.where(o["grade"] == "basic", 1.0, 0.0) + np.where(o["area"] == "county", 0.5, 0.0) + rng.normal(0, 0.8, m)
    score[o["grade"].isin(["flagship", "comprehensive"]).to_numpy()] = -99
    none_order = np.argsort(-score)
    n_none = int(round(0.18 * m))
    none_2015 = none_order[:n_none]
    remaining = {"2016-03-31": int(round(n_none * 0.75)), "2016-06-30": int(round(n_none * 0.5)), "2016-09-30": int(round(n_none * 0.25)), "2016-12-31": 3}
    managers = np.where(o["grade"] == "flagship", 2, 1)
    assistants = (rng.random(m) < np.where(o["grade"].isin(["flagship", "comprehensive"]), 0.8, 0.3)).astype(int)
    guides = (rng.random(m) < 0.3).astype(int)
    first = o["outlet_id"].str.endswith("01").to_numpy()
    sup15 = (first & (rng.random(m) < 0.6)).astype(int)
    sup16 = ((first & (rng.random(m) < 0.95)) | (rng.random(m) < 0.05)).astype(int)
    director_q = np.where(o["grade"].isin(["flagship", "comprehensive"]) & (rng.random(m) < 0.9), rng.integers(1, 5, m), 9)
    rows = []
    t = tellers.copy()
    was_none = set(int(i) for i in none_2015)
    for q, as_of in enumerate(["2015-03-31", "2015-06-30", "2015-09-30", "2015-12-31", "2016-03-31", "2016-06-30", "2016-09-30", "2016-12-31"]):
        step = rng.random(m)
        t = np.clip(t + np.where(step < 0.08, 1, 0) - np.where(step > (0.9 if q < 4 else 0.85), 1, 0), 3, 12)
        none = set(none_2015[: remaining.get(as_of, n_none)])
        for i in range(m):
            has = i not in none
            newly = i in was_none and has  # an outlet that just got its first lobby person: one manager or assistant
            rows.append({
                "outlet_id": o.outlet_id.iat[i], "outlet_name": o.outlet_name.iat[i], "as_of": as_of, "tellers": int(t[i]),
                "lobby_directors": int(q >= 4 and (q - 3) >= director_q[i] and has and not newly),
                "lobby_managers": int(managers[i]) if has and not newly else int(newly and i % 2 == 0),
                "lobby_assistants": int(assistants[i]) if has and not newly else int(newly and i % 2 == 1),
                "lobby_guides": int(guides[i]) if has and not newly else 0,
                "service_supervisors": int(sup15[i] if q < 4 else sup16[i]),
            })
    return pd.DataFrame(rows)


def write_staffing(bank: Bank, out: Path, sample: Sample) -> None:
    """人员配备_2015.csv / 人员配备_2016.csv, GBK, headers that differ by year."""
    rng = _rng(bank.seed, "staffing-files")
    st = _staffing_table(bank)
    cols = ["outlet_id", "outlet_name", "as_of", "tellers", "lobby_directors", "lobby_managers", "lobby_assistants", "lobby_guides", "service_supervisors"]
    headers = {
        2015: ["网点号", "网点名称", "统计日期", "柜员数", "大堂主任", "大堂经理", "大堂副理", "引导员", "督导员"],
        2016: ["网点编号", "机构名称", "统计时点", "柜员人数", "大堂主任人数", "大堂经理人数", "大堂副理人数", "大堂引导员", "服务督导员"],
    }
    for year in YEARS:
        path = out / f"人员配备_{year}.csv"
        part = st[st["as_of"].str.startswith(str(year))]
        rows = []
        for r in part[cols].itertuples(index=False):
            d = dt.date.fromisoformat(r.as_of)
            rows.append([r.outlet_id, r.outlet_name, _fmt_date(d, "compact" if year == 2015 else "iso"), *[str(v) for v in r[3:]]])
        notes = []
        if year == 2015:
            k = int(rng.integers(0, len(rows)))
            rows[k][3] = _fullwidth(rows[k][3])  # full-width digits, still valid
            notes.append("full-width digits in one teller count (valid)")
            dup_at = int(rng.integers(100, len(rows) - 100))
            rows.insert(dup_at + 1, list(rows[dup_at]))
        else:
            # A sub-branch reported a temporary outlet that is not (yet) in the master data.
            ghost = [f"{BRANCH_ID}0399", "城南支行临时营业点", "2016-12-31", "4", "0", "1", "0", "0", "0"]
            rows.append(ghost)
        lines = _write_csv(path, headers[year], rows, "gbk")
        if year == 2015:
            sample.planted.append(Planted("staffing", path.name, lines[dup_at + 1], f"duplicate of line {lines[dup_at]}", "an exact duplicate row"))
            notes.append("one exact duplicate row (rejected)")
        else:
            sample.planted.append(Planted("staffing", path.name, lines[-1], "is not in outlets.outlet_id", f"outlet {ghost[0]}, not in the master data"))
            notes.append(f"one row for outlet {ghost[0]}, which is not in the master data (rejected)")
        notes.insert(0, "dates as 20150331" if year == 2015 else "dates as 2016-03-31")
        sample.files.append(FileInfo(path.name, "staffing", "GBK", len(rows), notes))


# -------------------------------------------------------------------------------- mystery shopper
ROUND_NAMES = {1: "第一轮", 2: "第二轮", 3: "第三轮", 4: "第四轮"}
INSPECTORS = ["刘敏", "陈晓东", "王丽", "赵磊", "孙海燕", "周杰", "吴静", "郑伟"]


def mystery_scores(bank: Bank) -> pd.DataFrame:
    """Every outlet, year and round with its latent score (before any file quirk)."""
    rng = _rng(bank.seed, "mystery")
    o = bank.outlets
    m = len(o)
    base = np.where(o["area"] == "urban", 89.0, 85.6) + 2.6 * (o["quality"] + 0.45 * rng.normal(0, 1, m))
    rows = []
    for year in YEARS:
        lift = 0.0 if year == 2015 else 2.5 * o["improvement"].to_numpy() + rng.normal(0, 0.8, m)
        for rnd in range(1, 5):
            month = (3, 6, 9, 11)[rnd - 1]
            day0 = dt.date(year, month, 1)
            score = (base + lift + rng.normal(0, 2.3, m)).clip(72, 99.5)
            for i in range(m):
                d = day0 + dt.timedelta(days=int(rng.integers(0, 26)))
                while d.weekday() >= 5:
                    d += dt.timedelta(days=1)
                rows.append({"outlet_id": o.outlet_id.iat[i], "outlet_name": o.outlet_name.iat[i], "year": year, "round": rnd,
                             "checked_on": d, "score": round(float(score[i]) * 2) / 2, "inspector": INSPECTORS[int(rng.integers(0, 8))]})
    return pd.DataFrame(rows)


def write_mystery_shopper(bank: Bank, out: Path, sample: Sample) -> None:
    """神秘人检查_YYYY.xlsx: one sheet per round plus a 说明 notes sheet; 2016 sheets have a title row."""
    rng = _rng(bank.seed, "mystery-files")
    ms = mystery_scores(bank)
    # A few outlets missed a round (no row at all).
    drop = rng.choice(len(ms), 4, replace=False)
    ms = ms.drop(index=drop)
    headers = {
        2015: ["网点号", "被检查网点", "检查年度", "轮次", "检查日期", "得分", "检查员"],
        2016: ["网点编号", "网点名称", "年度", "检查轮次", "检查时间", "检查得分", "暗访员"],
    }
    for year in YEARS:
        path = out / f"神秘人检查_{year}.xlsx"
        wb = _Workbook(path, f"{year}年神秘人检查结果")
        notes = ["a 说明 sheet with notes and no table", "4 outlet-rounds missing in total (an outlet missed a check)"]
        nrows = 0
        for rnd in range(1, 5):
            part = ms[(ms["year"] == year) & (ms["round"] == rnd)]
            rows = []
            for r in part.itertuples():
                name = r.outlet_name
                checked = r.checked_on if year == 2015 else _fmt_date(r.checked_on, "cn")
                rows.append([int(r.outlet_id), name, year, rnd, checked, float(r.score), r.inspector])
            plant = None
            if year == 2016 and rnd == 1:
                k = int(rng.integers(5, len(rows) - 5))
                rows[k][4] = f"{year}年2月30日"  # no such day
                plant = (k, "checked_on (检查日期): not a date", "a date 2016年2月30日")
                j = (k + 7) % len(rows)
                rows[j][5] = _fullwidth(f"{rows[j][5]:.1f}")  # "９２.５": valid
                rows[(k + 11) % len(rows)][1] = rows[(k + 11) % len(rows)][1][:3] + " " + rows[(k + 11) % len(rows)][1][3:] + " "
            if year == 2015 and rnd == 3:
                k = int(rng.integers(5, len(rows) - 5))
                rows[k][5] = 105.0  # typed 105 for 100.5
                plant = (k, "score (检查得分): above the maximum", "a score of 105")
            lines = wb.sheet(ROUND_NAMES[rnd], headers[year], rows, title=f"{year}年{ROUND_NAMES[rnd]}神秘人检查结果" if year == 2016 else None,
                             widths={1: 30, 4: 14})
            if plant:
                sample.planted.append(Planted("mystery_shopper", _label(path, ROUND_NAMES[rnd]), lines[plant[0]], plant[1], plant[2]))
                notes.append(f"sheet {ROUND_NAMES[rnd]}: {plant[2]} (rejected)")
            nrows += len(rows)
        wb.notes("说明", [
            f"{year}年神秘人检查说明",
            "1. 本年度共开展四轮检查，每轮覆盖全部营业网点，由第三方机构派出暗访员实施。",
            "2. 检查满分100分，市区网点达标线90分，县域网点达标线85分。",
            "3. 检查结果已与各支行核对，如有异议请于通报后5个工作日内反馈。",
            f"4. 数据来源：{BANK_NAME}个人金融部服务管理团队。",
        ])
        wb.close()
        if year == 2016:
            notes += ["title row above the header in every round sheet", "dates typed as 2016年3月5日", "one score typed with full-width digits (valid)", "a stray space in one outlet name"]
        else:
            notes.append("dates as Excel dates")
        sample.files.append(FileInfo(path.name, "mystery_shopper", "xlsx", nrows, notes))


# ----------------------------------------------------------------------------------- satisfaction
def satisfaction_scores(bank: Bank) -> pd.DataFrame:
    rng = _rng(bank.seed, "satisfaction")
    s = bank.subs
    n = len(s)
    outlets_per_sub = bank.outlets.groupby("sub_branch_id").size().reindex(s["sub_branch_id"]).to_numpy()
    s15 = (86.5 + 2.4 * s["quality"].to_numpy() + rng.normal(0, 1.0, n)).clip(80.3, 94.5)
    s16 = (s15 + 2.0 * s["improvement"].to_numpy() + rng.normal(0, 0.6, n)).clip(80.5, 96.0)
    rows = []
    for year, sc in ((2015, s15), (2016, s16)):
        resp = (outlets_per_sub * 38 + rng.integers(-20, 40, n)).clip(150, 400)
        sd = (6 + (96 - sc) * 0.45 + rng.normal(0, 0.8, n)).clip(6, 14)
        share = (0.5 + (sc - 75) * 0.03 + rng.normal(0, 0.01, n)).clip(0.5, 0.99)  # respondents answering 满意 or better
        for i in range(n):
            rows.append({"sub_branch_id": s.sub_branch_id.iat[i], "sub_branch_name": s.name.iat[i], "year": year,
                         "respondents": int(resp[i]), "score": round(float(sc[i]), 2), "score_sd": round(float(sd[i]), 2),
                         "satisfied_share": round(float(share[i]), 3)})
    return pd.DataFrame(rows)


def write_satisfaction(bank: Bank, out: Path, sample: Sample) -> None:
    """客户满意度调查结果.xlsx, one sheet per year with different headers."""
    sat = satisfaction_scores(bank)
    path = out / "客户满意度调查结果.xlsx"
    wb = _Workbook(path, "客户满意度调查结果")
    headers = {2015: ["支行号", "支行", "调查年度", "样本量", "满意度", "标准差", "满意率"], 2016: ["支行编号", "支行名称", "年度", "有效样本量", "满意度得分", "得分标准差", "满意客户占比"]}
    for year in YEARS:
        part = sat[sat["year"] == year]
        # The satisfied share is a fraction in 2015 and a "85.3%" string in 2016, as exports differ.
        share = (lambda v: v) if year == 2015 else (lambda v: f"{v * 100:.1f}%")
        rows = [[r.sub_branch_id, r.sub_branch_name, year, r.respondents, r.score, r.score_sd, share(r.satisfied_share)] for r in part.itertuples()]
        if year == 2016:
            rows[4][4] = _fullwidth(f"{rows[4][4]:.2f}")  # typed in full-width mode: valid
        wb.sheet(f"{year}年度", headers[year], rows, widths={1: 14})
    wb.close()
    sample.files.append(FileInfo(path.name, "satisfaction", "xlsx", len(sat), [
        "one sheet per year, headers differ (支行号/满意度 in 2015, 支行编号/满意度得分 in 2016)",
        "ids written as text", "one 2016 score with full-width digits (valid)",
        "satisfied share as a fraction (0.853) in 2015 and as a percentage string (85.3%) in 2016",
    ]))


# ---------------------------------------------------------------------------------- teller ratings
RATING_LABELS = {5: "非常满意", 4: "满意", 3: "一般", 2: "不满意", 1: "非常不满意"}
TELLER_ROWS = {2015: 19_800, 2016: 19_200}


def teller_rating_events(bank: Bank, year: int) -> pd.DataFrame:
    """One counter transaction per row with the customer's rating (0 = not rated)."""
    rng = _rng(bank.seed, f"teller-{year}")
    o = bank.outlets
    m = len(o)
    n = TELLER_ROWS[year]
    q = o["quality"].to_numpy() + 0.5 * rng.normal(0, 1, m)
    imp = o["improvement"].to_numpy()
    rated = (0.71 + 0.05 * q + rng.normal(0, 0.04, m) + (0.04 * imp if year == 2016 else 0)).clip(0.58, 0.86)
    satisfied = (0.897 + 0.02 * q + rng.normal(0, 0.01, m) + (0.014 * imp if year == 2016 else 0)).clip(0.87, 0.975)
    staff = _staffing_table(bank)
    tellers = staff[staff["as_of"] == f"{year}-12-31"].set_index("outlet_id")["tellers"].reindex(o["outlet_id"]).to_numpy()
    w = o["size"].to_numpy()
    idx = rng.choice(m, size=n, p=w / w.sum())
    t, _ = _sample_times(rng, n, year, "counter")
    order = np.argsort(t, kind="stable")
    idx, t = idx[order], t[order]
    teller = (rng.random(n) * tellers[idx]).astype(int) + 1
    is_rated = rng.random(n) < rated[idx]
    u = rng.random(n)
    s = satisfied[idx]
    # Among rated: 5 with 70% of the satisfied share, 4 with the rest; 3/2/1 split the unsatisfied 60/30/10.
    rating = np.select([u < 0.7 * s, u < s, u < s + 0.6 * (1 - s), u < s + 0.9 * (1 - s)], [5, 4, 3, 2], 1)
    rating = np.where(is_rated, rating, 0)
    return pd.DataFrame({"outlet_id": o["outlet_id"].to_numpy()[idx], "teller": teller, "txn_at": t, "rating": rating})


def write_teller_ratings(bank: Bank, out: Path, sample: Sample) -> None:
    """柜员服务评价_YYYY.csv, UTF-8 with BOM. 2016's export was cut off in its last record."""
    rng = _rng(bank.seed, "teller-files")
    headers = {2015: ["流水号", "网点号", "柜员号", "交易时间", "评价"], 2016: ["交易流水号", "网点编号", "柜员编号", "评价时间", "评价结果"]}
    for year in YEARS:
        ev = teller_rating_events(bank, year)
        path = out / f"柜员服务评价_{year}.csv"
        times = _fmt_times(ev["txn_at"].to_numpy(), "iso" if year == 2016 else "slash")
        yy = year % 100
        rows = [[f"{yy}{i + 1:06d}", oid, f"G{oid[4:]}{tl:02d}", tm, RATING_LABELS.get(int(rt), "")]
                for i, (oid, tl, tm, rt) in enumerate(zip(ev["outlet_id"], ev["teller"], times, ev["rating"]))]
        notes = ["an empty rating means the customer did not rate"]
        planted = []
        if year == 2015:
            dup = int(rng.integers(1000, len(rows) - 1000))
            rows.insert(dup + 1, list(rows[dup]))
            planted.append((dup + 1, "duplicate of line", "an exact duplicate row"))
            k = int(rng.integers(1000, len(rows) - 1000))
            if abs(k - dup) <= 1:
                k += 3
            rows[k][4] = "好评"  # not a label of the device
            planted.append((k, "rating (评价结果): not a number", "a rating label that is not on the list (好评)"))
            lines = _write_csv(path, headers[year], rows, "utf-8-sig", newline="\n")
            notes.append("times as 2015/3/5 9:12:33")
        else:
            lines = _write_csv(path, headers[year], rows, "utf-8-sig", newline="\n", truncate_last=6)
            planted.append((len(rows) - 1, "looks cut off", "the last record cut off mid-field (a truncated export)"))
            notes.append("times as 2016-03-05 09:12:33")
        for k, reason, what in planted:
            sample.planted.append(Planted("teller_ratings", path.name, lines[k], reason, what))
            notes.append(what + " (rejected)")
        sample.files.append(FileInfo(path.name, "teller_ratings", "UTF-8 with BOM", len(rows), notes))


# ----------------------------------------------------------------------------------- queue tickets
QUEUE_ROWS = {2015: 20_400, 2016: 19_600}
QUEUE_TYPES = ["high_counter", "low_counter", "vip"]
QUEUE_LABELS = {2015: {"high_counter": "高柜", "low_counter": "低柜", "vip": "贵宾"},
                2016: {"high_counter": "高柜", "low_counter": "低柜", "vip": "VIP"}}


def queue_events(bank: Bank, year: int) -> pd.DataFrame:
    """Tickets with waiting times: lognormal around the outlet's mean, longer when busy, shorter for VIP;
    ~3% leave before being called (``called_at`` NaT)."""
    rng = _rng(bank.seed, f"queue-{year}")
    o = bank.outlets
    m = len(o)
    n = QUEUE_ROWS[year]
    w = o["size"].to_numpy()
    idx = rng.choice(m, size=n, p=w / w.sum())
    t, load = _sample_times(rng, n, year, "counter")
    order = np.argsort(t, kind="stable")
    idx, t, load = idx[order], t[order], load[order]
    kind = rng.choice(3, size=n, p=[0.5, 0.36, 0.14])
    type_factor = np.array([1.05, 1.15, 0.45])[kind] / 0.993  # mean of the mix is ~1
    sigma = 0.75
    mean = o[f"wait_{year}"].to_numpy()[idx] * type_factor * load**0.55 / np.mean(load**0.55)
    wait_min = mean * np.exp(rng.normal(-sigma**2 / 2, sigma, n))
    wait_s = np.maximum(np.round(wait_min * 60), 5).astype("int64")
    left = rng.random(n) < (0.012 + 0.02 * np.minimum(wait_min / 15, 2.0))
    called = t + wait_s.astype("timedelta64[s]")
    called = np.where(left, np.datetime64("NaT"), called)
    return pd.DataFrame({"outlet_id": o["outlet_id"].to_numpy()[idx], "business_type": np.array(QUEUE_TYPES)[kind], "issued_at": t, "called_at": called})


def write_queue_tickets(bank: Bank, out: Path, sample: Sample) -> None:
    """排队叫号_YYYY.csv, GBK. Quirks: clock skew (called 1-50 s before issued: valid), a few
    impossible calls minutes before issue, a duplicate, tickets from an outlet not in the master data."""
    rng = _rng(bank.seed, "queue-files")
    headers = {2015: ["流水号", "网点号", "业务类型", "取号时间", "叫号时间"], 2016: ["票号流水", "网点编号", "队列类型", "取号时刻", "叫号时刻"]}
    for year in YEARS:
        ev = queue_events(bank, year)
        n = len(ev)
        called = ev["called_at"].to_numpy().astype("datetime64[s]")
        issued = ev["issued_at"].to_numpy().astype("datetime64[s]")
        ok = ~np.isnat(called)
        picks = rng.choice(np.flatnonzero(ok), 12, replace=False)
        skew, impossible = picks[:8], picks[8:] if year == 2016 else picks[8:11]
        called[skew] = issued[skew] - rng.integers(1, 51, len(skew)).astype("timedelta64[s]")
        called[impossible] = issued[impossible] - (rng.integers(3, 40, len(impossible)) * 60).astype("timedelta64[s]")
        style = "slash" if year == 2015 else "compact"
        t_issued, t_called = _fmt_times(issued, style), _fmt_times(called, style)
        labels = QUEUE_LABELS[year]
        yy = year % 100
        rows = [[f"Q{yy}{i + 1:05d}", oid, labels[bt], a, b] for i, (oid, bt, a, b) in enumerate(zip(ev["outlet_id"], ev["business_type"], t_issued, t_called))]
        notes = [f"business types labelled {'/'.join(labels.values())}", "times as " + ("2015/3/5 9:12:33" if year == 2015 else "20160305 091233"),
                 f"{int((~ok).sum())} tickets left before being called (empty 叫号时间)", f"{len(skew)} calls 1-50 s before the ticket (clock skew, valid)"]
        planted_rows = [(int(k), "is before issued_at by more than 60 s", "a call minutes before the ticket was issued") for k in impossible]
        ghost_rows = []
        if year == 2016:
            # Tickets from an outlet that closed in 2015 and is no longer in the master data.
            ghost = f"{BRANCH_ID}1099"
            for k in rng.choice(n, 6, replace=False):
                rows[k][1] = ghost
                ghost_rows.append(int(k))
            notes.append(f"6 tickets from outlet {ghost}, which is not in the master data (rejected)")
            dup = int(rng.integers(1000, n - 1000))
            while dup in ghost_rows or dup in impossible or dup + 1 in ghost_rows:
                dup += 1
            rows.insert(dup + 1, list(rows[dup]))
            shift = lambda k, dup=dup: k + 1 if k > dup else k
            planted_rows = [(shift(k), r, w) for k, r, w in planted_rows] + [(dup + 1, "duplicate of line", "an exact duplicate row")]
            ghost_rows = [shift(k) for k in ghost_rows]
        lines = _write_csv(path := out / f"排队叫号_{year}.csv", headers[year], rows, "gbk")
        for k, reason, what in planted_rows:
            sample.planted.append(Planted("queue_tickets", path.name, lines[k], reason, what))
        for k in ghost_rows:
            sample.planted.append(Planted("queue_tickets", path.name, lines[k], "is not in outlets.outlet_id", f"a ticket from outlet {ghost}, not in the master data"))
        for k in skew:
            k2 = int(k) + 1 if year == 2016 and k > dup else int(k)
            sample.planted.append(Planted("queue_tickets", path.name, lines[k2], "", "called 1-50 s before issue (clock skew)", kind="valid"))
        notes.append(f"{len(impossible)} calls minutes before the ticket (rejected)")
        if year == 2016:
            notes.append("one exact duplicate row (rejected)")
        sample.files.append(FileInfo(path.name, "queue_tickets", "GBK", len(rows), notes))


# ------------------------------------------------------------------------------------------- calls
CALL_ROWS = {("95599", 2015): 13_200, ("95599", 2016): 13_600, ("credit_card", 2015): 6_300, ("credit_card", 2016): 6_700}
# Answer rate and 20-second service level the centre achieved (before noise): 95599 misses the 90% target
# in 2015 and meets it in 2016; the credit-card centre gains ~10 points answered and ~18 points at 20 s.
CALL_TARGETS = {("95599", 2015): (0.862, 0.55), ("95599", 2016): (0.912, 0.635),
                ("credit_card", 2015): (0.772, 0.385), ("credit_card", 2016): (0.874, 0.56)}
PATIENCE_S = {"95599": 110.0, "credit_card": 95.0}  # median seconds a caller waits before hanging up


def _call_draws(u, load, patience):
    """The random parts of each call: ring time when an agent is free, the delay per unit of median
    delay (lognormal, longer when the centre is busy), and the caller's patience (lognormal around
    ``patience`` seconds, with ~6% who hang up within seconds)."""
    u_free, u_delay, u_pat, u_ring = u
    from scipy.special import ndtri

    unit_delay = load**1.2 * np.exp(0.8 * ndtri(np.clip(u_delay, 1e-9, 1 - 1e-9)))
    wait = patience * np.exp(0.9 * ndtri(np.clip(u_pat, 1e-9, 1 - 1e-9)))
    quick = u_ring < 0.06
    wait = np.where(quick, 3 + 12 * (u_ring / 0.06), wait)
    return u_free, 1 + 5 * u_ring, unit_delay, wait


def _simulate_calls(draws, z, mean_delay):
    """Answered when the delay until an agent is free comes before the caller's patience runs out."""
    u_free, ring, unit_delay, wait = draws
    delay = np.where(u_free < z, ring, mean_delay * unit_delay)
    return delay, wait, delay <= wait


def _calibrate_calls(draws, ar, sl):
    """Find (z, mean delay) so that the simulated calls reach answer rate ``ar`` and service level ``sl``."""
    best = None
    for mean_delay in np.geomspace(5, 600, 60):
        lo, hi = 0.0, 1.0
        for _ in range(18):
            z = (lo + hi) / 2
            if _simulate_calls(draws, z, mean_delay)[2].mean() < ar:
                lo = z
            else:
                hi = z
        delay, _, ans = _simulate_calls(draws, z, mean_delay)
        err = abs((ans & (delay <= 20)).mean() - sl) + 5 * abs(ans.mean() - ar)
        if best is None or err < best[0]:
            best = (err, z, mean_delay)
    return best[1], best[2]


def call_events(bank: Bank, center: str, year: int) -> pd.DataFrame:
    rng = _rng(bank.seed, f"calls-{center}-{year}")
    n = CALL_ROWS[(center, year)]
    t, load = _sample_times(rng, n, year, "calls")
    order = np.argsort(t, kind="stable")
    t, load = t[order], load[order]
    ar, sl = CALL_TARGETS[(center, year)]
    ar, sl = ar + rng.normal(0, 0.005), sl + rng.normal(0, 0.008)
    draws = _call_draws(rng.random((4, n)), load, PATIENCE_S[center])
    z, mean_delay = _calibrate_calls(draws, ar, sl)
    delay, wait, answered = _simulate_calls(draws, z, mean_delay)
    d = np.round(delay).astype("int64").astype("timedelta64[s]")
    w = np.round(wait).astype("int64").astype("timedelta64[s]")
    nat = np.datetime64("NaT", "s")
    return pd.DataFrame({"arrived_at": t, "answered_at": np.where(answered, t + d, nat), "abandoned_at": np.where(answered, nat, t + w)})


def write_calls(bank: Bank, out: Path, sample: Sample) -> None:
    """呼叫记录_95599_YYYY.csv (UTF-8) and 呼叫记录_信用卡中心_2015-2016.csv (UTF-8): a handful of calls still
    queued when the log was cut, a few answered one second before they arrived (clock skew, valid)."""
    rng = _rng(bank.seed, "calls-files")
    for center in ("95599", "credit_card"):
        header = ["呼叫流水号", "服务中心", "转人工时间", "接通时间", "放弃时间"] if center == "95599" else ["流水号", "中心", "进线时间", "应答时间", "客户放弃时间"]
        label = "95599" if center == "95599" else "信用卡"
        frames = []
        for year in YEARS:
            ev = call_events(bank, center, year)
            ev["year"] = year
            frames.append(ev)
        parts = [(f"呼叫记录_95599_{y}.csv", [f]) for y, f in zip(YEARS, frames)] if center == "95599" else [("呼叫记录_信用卡中心_2015-2016.csv", frames)]
        for name, fs in parts:
            ev = pd.concat(fs, ignore_index=True)
            arr = ev["arrived_at"].to_numpy().astype("datetime64[s]")
            ans = ev["answered_at"].to_numpy().astype("datetime64[s]")
            abd = ev["abandoned_at"].to_numpy().astype("datetime64[s]")
            # The log was cut at the end of the year: the last few calls were still waiting.
            last = np.flatnonzero(ev["year"].to_numpy() == ev["year"].max())[-3:]
            ans[last] = np.datetime64("NaT")
            abd[last] = np.datetime64("NaT")
            skew = rng.choice(np.flatnonzero(~np.isnat(ans))[:-10], 3, replace=False)
            ans[skew] = arr[skew] - np.timedelta64(1, "s")
            style = "compact" if center == "credit_card" else "slash" if name.endswith("2015.csv") else "iso"
            prefix = "H" if center == "95599" else "C"
            rows = [[f"{prefix}{y % 100}{i + 1:06d}", label, a, b, c] for i, (y, a, b, c) in
                    enumerate(zip(ev["year"], _fmt_times(arr, style), _fmt_times(ans, style), _fmt_times(abd, style)))]
            path = out / name
            lines = _write_csv(path, header, rows, "utf-8", newline="\n")
            for k in skew:
                sample.planted.append(Planted("calls", path.name, lines[int(k)], "", "answered 1 s before arrival (clock skew)", kind="valid"))
            sample.files.append(FileInfo(path.name, "calls", "UTF-8", len(rows), [
                f"center labelled {label}", "times as " + {"iso": "2016-03-05 09:12:33", "slash": "2015/3/5 9:12:33", "compact": "20160305 091233"}[style], "3 calls neither answered nor abandoned (still queued when the log was cut)",
                "3 calls answered 1 s before arrival (clock skew, valid)",
            ]))


# ---------------------------------------------------------------------------- personal data (fake)
ID_AREAS = ["420102", "420103", "420106", "420111", "421002", "421003", "421023", "421081", "421087", "422801", "430102", "360102", "500101", "410102"]
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156", "157", "158", "159",
                   "176", "177", "178", "180", "181", "182", "183", "185", "186", "187", "188", "189"]


def id_check_digit(first17: str) -> str:
    """GB 11643-1999 check character of a resident identity number."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights)) % 11]


def luhn_check_digit(body: str) -> str:
    """The Luhn digit that makes ``body + digit`` pass the check (bank card numbers)."""
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def fake_id_number(rng, male: bool) -> str:
    area = ID_AREAS[int(rng.integers(0, len(ID_AREAS)))]
    birth = dt.date(1945, 1, 1) + dt.timedelta(days=int(rng.integers(0, 53 * 365)))
    seq = int(rng.integers(0, 500)) * 2 + (1 if male else 0)  # odd = male, even = female
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_digit(first17)


def fake_card(rng, credit: bool) -> str:
    if credit:
        body = rng.choice(["628268", "625996", "622836"]) + "".join(str(d) for d in rng.integers(0, 10, 9))
    else:
        body = rng.choice(["622848", "622845", "622827", "621282"]) + "".join(str(d) for d in rng.integers(0, 10, 12))
    card = body + luhn_check_digit(body)
    if rng.random() < 0.3:
        return " ".join(card[i:i + 4] for i in range(0, len(card), 4))
    return card


def fake_phone(rng) -> str:
    num = rng.choice(MOBILE_PREFIXES) + "".join(str(d) for d in rng.integers(0, 10, 8))
    u = rng.random()
    if u < 0.5:
        return num
    if u < 0.65:
        return f"{num[:3]} {num[3:7]} {num[7:]}"
    if u < 0.8:
        return f"{num[:3]}-{num[3:7]}-{num[7:]}"
    if u < 0.9:
        return f"+86 {num}"
    if u < 0.95:
        return f"+86-{num[:3]}-{num[3:7]}-{num[7:]}"
    return _fullwidth(num)


def fake_customer(rng) -> tuple[str, bool]:
    """A customer as complaint records name them: 王先生, 张女士, 客户李某, or a full name."""
    s = SURNAMES[int(rng.integers(0, len(SURNAMES)))]
    male = bool(rng.random() < 0.5)
    u = rng.random()
    if u < 0.45:
        return s + ("先生" if male else "女士"), male
    if u < 0.7:
        return f"客户{s}某", male
    given = GIVEN_NAMES[int(rng.integers(0, len(GIVEN_NAMES)))]
    return ("客户" if rng.random() < 0.5 else "") + s + given, male


# ------------------------------------------------------------------------------------- complaints
CAUSES = {  # internal cause label: (share, chance the outlet is responsible, categories it comes with)
    "服务态度": (0.19, 0.75, ["储蓄业务", "借记卡", "现金服务", "个人贷款", "理财产品", "信用卡"]),
    "排队等候时间长": (0.14, 0.6, ["储蓄业务", "借记卡", "现金服务"]),
    "业务流程繁琐": (0.18, 0.3, ["储蓄业务", "借记卡", "个人贷款", "支付结算", "信用卡", "个贷"]),
    "系统故障": (0.10, 0.4, ["借记卡", "电子银行", "网上银行", "支付结算"]),
    "收费问题": (0.10, 0.25, ["借记卡", "信用卡", "支付结算"]),
    "营销不当": (0.08, 0.6, ["理财产品", "代理保险", "信用卡"]),
    "信息泄露": (0.03, 0.4, ["个人信息"]),
    "其他": (0.10, 0.1, ["储蓄业务", "其他", "现金服务"]),
    "": (0.03, 0.2, ["储蓄业务", "借记卡", "信用卡"]),  # cause not filled in
    "ATM吞卡": (0.025, 0.35, ["借记卡"]),
    "催收方式": (0.01, 0.5, ["信用卡"]),
    "装修施工噪音": (0.005, 0.5, ["其他"]),
}
RARE_CATEGORIES = {"社保卡代发": 0.004, "ETC记账卡": 0.003, "待分类": 0.002}  # map to nothing obvious in JR/T 0169
BIZ = {"储蓄业务": ["定期存款支取", "活期存款", "存单挂失"], "借记卡": ["借记卡挂失补办", "借记卡开户", "借记卡密码重置"], "现金服务": ["大额取现", "零钞兑换", "残损币兑换"],
       "个人贷款": ["房贷提前还款", "个人经营贷款申请"], "个贷": ["房贷提前还款"], "理财产品": ["理财产品赎回", "理财产品购买"], "信用卡": ["信用卡激活", "信用卡额度调整"],
       "支付结算": ["跨行汇款", "代发工资"], "电子银行": ["手机银行开通", "网银U盾更换"], "网上银行": ["网银U盾更换"], "代理保险": ["保险退保"], "个人信息": ["账户信息查询"],
       "其他": ["业务咨询"], "社保卡代发": ["社保卡领取"], "ETC记账卡": ["ETC记账卡办理"], "待分类": ["业务咨询"]}
PRODUCTS = ["“金钥匙”理财", "安心得利理财", "手机银行", "分期业务", "ETC", "个人养老金"]

# (text, categories it fits or None for any, channels it fits or None for any)
TEMPLATES = {
    "服务态度": [
        ("{cust}反映{date}到{outlet}办理{biz}，柜员态度冷淡、说话生硬，客户询问{times}次均未得到答复，要求网点负责人道歉。联系电话：{phone}。", None, None),
        ("{cust}（手机{phone}）投诉{outlet}大堂经理服务态度差，{date}下午咨询{product}时被告知“自己去手机上看”，客户非常不满。", None, None),
        ("{cust}称{date}在{outlet}存入现金{amount}，柜员清点时当众抱怨零钞太多，客户感觉受到歧视，要求给说法。", ["储蓄业务", "现金服务", "借记卡"], None),
    ],
    "排队等候时间长": [
        ("{cust}反映{date}上午到{outlet}取号（{ticket}号），前面{count}人，只开了2个窗口，等了{minutes}分钟才办上业务，期间无人引导分流。客户电话{phone}。", None, None),
        ("{cust}投诉{outlet}排队时间过长，{date}办理{biz}等候约{minutes}分钟，贵宾窗口空闲却不为普通客户办理。", None, None),
        ("客户反映{outlet}每逢月底排长队，{date}取号{ticket}，等了{hours}个多小时，要求增开窗口。联系人{cust}，{phone}。", None, None),
    ],
    "业务流程繁琐": [
        ("{cust}（身份证号{id}）持存折到{outlet}支取定期存款{amount}，柜员要求本人到场并提供证明，客户年过七十行动不便，认为手续过于繁琐。", ["储蓄业务"], None),
        ("{cust}反映在{outlet}申请{biz}，资料于{date}提交，至今{days}天仍未办结，多次催问无明确答复。联系电话{phone}。", ["个人贷款", "个贷", "支付结算", "信用卡"], None),
        ("{cust}反映其{cardname}{card}密码遗忘，到{outlet}办理重置，被要求提供户口本等多项材料，往返{times}次仍未办成。", ["借记卡", "信用卡"], None),
        ("{cust}称其账户{card}被设置只收不付，网点要求出具单位证明才能解除，客户认为不合理。身份证{id}。", ["借记卡", "储蓄业务", "支付结算"], None),
    ],
    "系统故障": [
        ("{cust}反映其借记卡{card}于{date}在{outlet}自助取款机取款{amount}，机器未出钞但账户已扣款，至今未退回。联系方式{phone}。", ["借记卡"], None),
        ("{cust}反映{date}{echannel}转账{amount}提示失败，但短信显示已扣款，{days}天未到账。手机号{phone}，卡号{card}。", ["电子银行", "网上银行", "支付结算"], None),
        ("{cust}投诉{date}在{outlet}办理{biz}时系统故障，等候{minutes}分钟后被告知改日再来，客户白跑一趟。", None, None),
    ],
    "收费问题": [
        ("{cust}反映借记卡{card}被扣取小额账户管理费和短信服务费共{fee}元，开户时未被告知，要求退费。电话{phone}。", ["借记卡"], None),
        ("持卡人{cust}来电称信用卡{card}被收取年费{fee}元，开卡时营销人员承诺免年费，要求退还。", ["信用卡"], ["95599"]),
        ("{cust}反映在{outlet}跨行汇款{amount}被收取手续费{fee}元，认为收费标准未公示。", ["支付结算", "借记卡"], None),
    ],
    "营销不当": [
        ("{cust}投诉{date}在{outlet}购买理财产品{amount}，客户经理宣称“保本保收益”，到期实际年化收益{rate}%，低于宣传的{rate2}%，认为存在误导销售。客户证件号码{id}。", ["理财产品"], None),
        ("{cust}反映到{outlet}存款时被推荐购买保险，存入{amount}后才发现是分红型保险，{years}年内退保有损失，要求全额退还。电话{phone}。", ["代理保险"], None),
        ("{cust}反映信用卡分期业务营销人员未说明手续费，{times}期共扣费{fee}元。卡号{card}。", ["信用卡"], None),
    ],
    "信息泄露": [
        ("{cust}反映近期频繁接到推销贷款的电话，怀疑在我行办理业务时留存的手机号{phone}被泄露，要求查明原因。", None, None),
        ("{cust}（身份证{id}）反映本人从未申请，却收到我行信用卡{card}的账单短信，怀疑身份信息被冒用。", None, None),
    ],
    "其他": [
        ("{cust}反映{outlet}门前无障碍通道堆放杂物，轮椅无法通行，建议整改。", None, None),
        ("{cust}反映{outlet}自助区空调损坏，{date}下午室内闷热，无人处理。", None, None),
        ("{cust}来电表扬{outlet}柜员服务热情，系统误登记为投诉，经回访核实为表扬。联系电话{phone}。", None, ["95599"]),
    ],
    "": [
        ("{cust}反映{date}在{outlet}办理{biz}遇到问题，具体诉求待核实。回访电话{phone}。", None, None),
    ],
    "ATM吞卡": [
        ("{cust}反映{date}在{outlet}自助银行取款时借记卡{card}被吞，拨打机具上的电话无人接听，要求尽快退卡。手机{phone}。", None, None),
    ],
    "催收方式": [
        ("{cust}投诉我行信用卡中心催收人员频繁拨打其亲属电话，卡号{card}，欠款{amount}，要求停止骚扰。本人手机{phone}。", None, None),
    ],
    "装修施工噪音": [
        ("{cust}反映{outlet}装修施工噪音扰民，晚上10点后仍在施工，要求停止夜间施工。", None, None),
    ],
}
RARE_TEMPLATES = {
    "社保卡代发": "{cust}反映{date}到{outlet}领取社保卡，被告知卡片未到，已往返{times}次。联系电话{phone}。",
    "ETC记账卡": "{cust}反映在{outlet}办理ETC记账卡后高速通行被重复扣费{fee}元，卡号{card}。",
    "待分类": "{cust}来信反映多项问题，已转相关部门核实。",
}
CHANNEL_INTRO = {
    "95599": ["", "客户来电反映：", "95599来电："],
    "outlet": ["", "网点现场投诉：", "客户在网点现场提出："],
    "regulator": ["人民银行江城市中心支行转办：", "江城银监分局转办：", "监管部门转办件："],
    "letters": ["客户来信：", "来访登记："],
    "online": ["网友在本地论坛发帖：", "微博网友反映："],
}
CHANNEL_LABELS = {2015: {"95599": "95599", "outlet": "网点", "regulator": "监管转办", "letters": "来信来访", "online": "网络媒体"},
                  2016: {"95599": "95599客服热线", "outlet": "营业网点", "regulator": "监管机构转办", "letters": "信访", "online": "互联网"}}
COMPLAINT_TOTALS = {2015: 900}
EXPORTED_AT = {2015: dt.datetime(2016, 1, 8, 17, 0), 2016: dt.datetime(2016, 12, 31, 18, 0)}


def _amount(rng) -> str:
    """Money as clerks write it: 5,000元, 2.5万元, 12,345.00元, 300元 (not personal data: must stay readable)."""
    u = rng.random()
    if u < 0.4:
        return f"{int(rng.choice([5, 8, 10, 20, 30, 50, 100, 200])) * 1000:,}元"
    if u < 0.7:
        return f"{float(rng.choice([1, 2, 2.5, 3, 5, 10, 20, 50])):g}万元"
    if u < 0.9:
        return f"{int(rng.integers(1, 999)) * 100 + int(rng.integers(0, 100)):,}.00元"
    return f"{int(rng.integers(1, 10)) * 100}元"


def complaint_text(rng, cause: str, category: str, channel: str, outlet_name: str, received: dt.datetime) -> str:
    """A complaint as a call-centre agent or a clerk types it, with the personal data real ones carry."""
    if category in RARE_TEMPLATES:
        body = RARE_TEMPLATES[category]
    else:
        options = [t for t, cats, chans in TEMPLATES[cause] if (cats is None or category in cats) and (chans is None or channel in chans)]
        options = options or [t for t, cats, chans in TEMPLATES[cause] if cats is None and chans is None] or [TEMPLATES[""][0][0]]
        body = options[int(rng.integers(0, len(options)))]
    cust, male = fake_customer(rng)
    ago = int(rng.integers(8, 60)) if "{days}" in body and "未到账" not in body else int(rng.integers(2, 10)) if "{days}" in body else int(rng.integers(0, 8))
    earlier = received - dt.timedelta(days=ago)
    date = f"{earlier.month}月{earlier.day}日" if rng.random() < 0.7 or earlier.year == received.year and rng.random() < 0.5 else f"{earlier.year}年{earlier.month}月{earlier.day}日"
    credit = category == "信用卡" or cause == "催收方式"
    biz = BIZ.get(category, ["业务咨询"])
    slots = {
        "cust": cust, "phone": fake_phone(rng), "id": fake_id_number(rng, male), "card": fake_card(rng, credit), "cardname": "信用卡" if credit else "借记卡",
        "outlet": outlet_name or "我行网点", "date": date, "amount": _amount(rng), "fee": str(int(rng.choice([10, 12, 20, 36, 50, 60, 100, 200]))),
        "minutes": str(int(rng.integers(35, 160))), "hours": str(int(rng.integers(1, 4))), "ticket": f"{rng.choice(['A', 'B', 'V'])}{int(rng.integers(1, 300)):03d}",
        "count": str(int(rng.integers(8, 45))), "years": str(int(rng.integers(3, 11))), "times": str(int(rng.integers(2, 6))), "days": str(ago),
        "rate": f"{rng.uniform(1.5, 3.5):.2f}", "rate2": f"{rng.uniform(4.0, 6.0):.1f}", "product": PRODUCTS[int(rng.integers(0, len(PRODUCTS)))],
        "biz": biz[int(rng.integers(0, len(biz)))], "echannel": "网上银行" if category == "网上银行" else "手机银行",
    }
    intros = CHANNEL_INTRO[channel]
    text = intros[int(rng.integers(0, len(intros)))] + body.format(**slots)
    if rng.random() < 0.06:
        text += f"\n客户要求3个工作日内答复，回访电话：{fake_phone(rng)}"
    return text


def _media_plan(bank: Bank) -> pd.DataFrame:
    """Negative media reports: ~15 a year, more about weak sub-branches; the troubled units get city-level
    or higher reports; any other unit at most one city-level-or-above report a year."""
    rng = _rng(bank.seed, "media")
    subs = bank.subs
    weights = np.exp(-0.7 * subs["quality"].to_numpy())
    planted = {(bank.troubled[0]): ["city"], (bank.troubled[1]): ["city", "province"], (bank.troubled[2]): ["national"], (bank.troubled[3]): ["city"]}
    rows = []
    for year in YEARS:
        events = [(s, lv) for (s, y), lvls in planted.items() if y == year for lv in lvls]
        n = int(rng.integers(12, 19)) - len(events)
        high = {s for s, lv in events}
        for s in rng.choice(subs["sub_branch_id"].to_numpy(), n, p=weights / weights.sum()):
            lv = str(rng.choice(["county", "city", "province", "national"], p=[0.5, 0.35, 0.12, 0.03]))
            if lv != "county" and (s in high or (s, year) in planted):
                lv = "county"
            if lv != "county":
                high.add(s)
            events.append((str(s), lv))
        for k, (s, lv) in enumerate(events):
            day = dt.date(year, 1, 1) + dt.timedelta(days=int(rng.integers(5, 360)))
            rows.append({"year": year, "sub_branch_id": s, "level": lv, "reported_on": day, "k": k})
    df = pd.DataFrame(rows).sort_values(["year", "reported_on", "k"]).reset_index(drop=True)
    df["event_id"] = [f"YQ{y}{i:03d}" for y, i in zip(df["year"], df.groupby("year").cumcount() + 1)]
    return df.drop(columns="k")


MEDIA_TITLES = [
    "{sub}网点排长队 市民等候近两小时", "网友曝{sub}柜员态度恶劣", "老人取钱遭遇“证明难” {sub}回应", "{sub}自助取款机吞卡 储户维权难",
    "理财变保险？{sub}客户经理被指误导销售", "{sub}网点装修扰民 居民投诉", "储户称存款“被冻结” {sub}称系账户管控", "{sub}信用卡催收电话打到亲友处",
]
MEDIA_LEVEL_LABELS = {2015: {"county": "县级", "city": "市级", "province": "省级", "national": "国家级"},
                      2016: {"county": "区县级", "city": "地市级", "province": "省级", "national": "中央级"}}


def write_media_events(bank: Bank, out: Path, sample: Sample) -> pd.DataFrame:
    """负面舆情台账.xlsx, one sheet per year; level labels differ between years."""
    rng = _rng(bank.seed, "media-files")
    plan = _media_plan(bank)
    names = bank.subs.set_index("sub_branch_id")["name"]
    path = out / "负面舆情台账.xlsx"
    wb = _Workbook(path, "负面舆情台账")
    headers = {2015: ["序号", "日期", "涉及支行编号", "媒体级别", "报道标题"], 2016: ["舆情编号", "报道日期", "支行编号", "媒体层级", "舆情标题"]}
    for year in YEARS:
        part = plan[plan["year"] == year]
        rows = [[r.event_id, r.reported_on if year == 2015 else _fmt_date(r.reported_on, "slash"), int(r.sub_branch_id), MEDIA_LEVEL_LABELS[year][r.level],
                 MEDIA_TITLES[int(rng.integers(0, len(MEDIA_TITLES)))].format(sub=names[r.sub_branch_id])] for r in part.itertuples()]
        wb.sheet(f"{year}年", headers[year], rows, widths={4: 50})
    wb.close()
    sample.files.append(FileInfo(path.name, "media_events", "xlsx", len(plan), ["one sheet per year; levels 县级/市级/省级/国家级 in 2015, 区县级/地市级/省级/中央级 in 2016",
                                                                                "2016 dates typed as 2016/3/5"]))
    return plan


def complaint_records(bank: Bank, media: pd.DataFrame) -> pd.DataFrame:
    """All complaints of both years with their flags, before any file quirk."""
    rng = _rng(bank.seed, "complaints")
    o = bank.outlets
    m = len(o)
    base_w = o["size"].to_numpy() * np.exp(-0.45 * o["quality"].to_numpy()) * (o["wait_2015"].to_numpy() / 9) ** 0.5
    f = np.exp(-0.35 * o["improvement"].to_numpy())
    up = o["sub_branch_id"].isin(bank.complaints_up).to_numpy()
    f = np.where(up, 2.2 * np.average(f, weights=base_w), f)
    n15 = int(round(COMPLAINT_TOTALS[2015] + rng.normal(0, 15)))
    totals = {2015: n15, 2016: int(round(n15 * rng.uniform(0.82, 0.86)))}
    cause_names = list(CAUSES)
    cause_p = np.array([CAUSES[c][0] for c in cause_names])
    cause_p = cause_p / cause_p.sum()
    rows = []
    for year in YEARS:
        w = base_w if year == 2015 else base_w * f
        n = totals[year]
        channel_p = [0.62, 0.24, 0.09, 0.03, 0.02] if year == 2015 else [0.58, 0.27, 0.10, 0.03, 0.02]
        channels = rng.choice(["95599", "outlet", "regulator", "letters", "online"], size=n, p=channel_p)
        # 95599 and the internet at any hour the hotline is staffed; outlets and offices in opening hours.
        t_calls, _ = _sample_times(rng, n, year, "calls")
        t_office, _ = _sample_times(rng, n, year, "counter")
        t = np.where(np.isin(channels, ["95599", "online"]), t_calls, t_office)
        order = np.argsort(t, kind="stable")
        t, channels = t[order], channels[order]
        outlet_idx = rng.choice(m, size=n, p=w / w.sum())
        wait_rel = o[f"wait_{year}"].to_numpy() / o[f"wait_{year}"].mean()
        queue_cause = cause_names.index("排队等候时间长")
        for i in range(n):
            oi = int(outlet_idx[i])
            p = cause_p.copy()
            p[queue_cause] *= wait_rel[oi] ** 1.5  # long waits breed waiting complaints
            cause = cause_names[int(rng.choice(len(cause_names), p=p / p.sum()))]
            cats = CAUSES[cause][2]
            category = cats[int(rng.integers(0, len(cats)))]
            u = rng.random()
            for rare, pr in RARE_CATEGORIES.items():
                if u < pr:
                    category = rare
                    break
                u -= pr
            ch = str(channels[i])
            no_unit = ch != "outlet" and (category == "信用卡" and rng.random() < 0.6 or cause == "催收方式")
            received = pd.Timestamp(t[i]).to_pydatetime()
            responsible = bool(rng.random() < CAUSES[cause][1] * 0.95)
            escalated = bool(rng.random() < (0.45 if ch == "regulator" else 0.012))
            major = bool(rng.random() < (0.1 if escalated else 0.016))
            days = int(np.clip(np.round(np.exp(rng.normal(np.log(4.0), 0.9))), 0, 30))
            # Closed during office hours on that day (and after the complaint arrived).
            resolved = dt.datetime.combine((received + dt.timedelta(days=days)).date(), dt.time(9)) + dt.timedelta(seconds=int(rng.integers(0, 8.5 * 3600)))
            if resolved <= received:
                resolved = received + dt.timedelta(seconds=int(rng.integers(1800, 4 * 3600)))
            if rng.random() < 0.008 or resolved > EXPORTED_AT[year]:
                resolved = None  # still open when the year's file was exported
            rows.append({
                "year": year, "received_at": received, "outlet_idx": -1 if no_unit else oi, "channel": ch, "category": category, "cause": cause,
                "responsible": responsible, "major": major, "escalated": escalated, "resolved_at": resolved,
            })
    df = pd.DataFrame(rows)
    df["unit_id"] = [o.outlet_id.iat[i] if i >= 0 else "" for i in df["outlet_idx"]]
    df["sub_branch_id"] = [o.sub_branch_id.iat[i] if i >= 0 else "" for i in df["outlet_idx"]]
    # Deductions (major responsible complaints + city-level-or-above media reports) stay below 3 for every
    # unit except the troubled ones, which get exactly enough to lose award eligibility.
    high = media[media["level"] != "county"].groupby(["sub_branch_id", "year"]).size()
    mr = df["major"] & df["responsible"]
    for (s, year), grp in df[mr & (df["sub_branch_id"] != "")].groupby(["sub_branch_id", "year"]):
        if (s, year) in bank.troubled:
            continue
        allowed = max(0, 2 - int(high.get((s, year), 0)))
        extra = grp.index[allowed:]
        df.loc[extra, "major"] = False
    for s, year in bank.troubled:
        have = int((df["major"] & df["responsible"] & (df["sub_branch_id"] == s) & (df["year"] == year)).sum())
        need = 3 - int(high.get((s, year), 0)) - have
        cand = df.index[(df["sub_branch_id"] == s) & (df["year"] == year) & ~(df["major"] & df["responsible"])]
        for k in rng.choice(cand, max(need, 0), replace=False):
            df.loc[k, ["major", "responsible", "escalated"]] = [True, True, bool(rng.random() < 0.6)]
    texts = []
    for r in df.itertuples():
        name = o.outlet_name.iat[r.outlet_idx] if r.outlet_idx >= 0 else ""
        texts.append(complaint_text(rng, r.cause, r.category, r.channel, name, r.received_at))
    df["description"] = texts
    df["complaint_id"] = [f"TS{y}{i:05d}" for y, i in zip(df["year"], df.groupby("year").cumcount() + 1)]
    return df


def write_complaints(bank: Bank, media: pd.DataFrame, out: Path, sample: Sample) -> None:
    """投诉_YYYY.csv, GBK; descriptions with commas, quotes and the odd line break; category labels with
    stray spaces; one exact duplicate; one 2015 complaint exported again in the 2016 file."""
    rng = _rng(bank.seed, "complaints-files")
    cp = complaint_records(bank, media)
    headers = {
        2015: ["工单号", "受理日期", "网点号", "受理渠道", "业务类型", "原因分类", "投诉内容", "有责", "重大投诉", "越级投诉", "结案时间"],
        2016: ["投诉编号", "受理时间", "被投诉网点编号", "投诉渠道", "业务类别", "投诉原因", "投诉描述", "是否有责", "是否重大投诉", "是否越级", "办结时间"],
    }
    yes_no = {2015: ("是", "否"), 2016: ("Y", "N")}
    styles = {2015: "slash_min", 2016: "iso"}

    def fmt_rows(part: pd.DataFrame, year: int) -> list[list[str]]:
        y, n_ = yes_no[year]
        rec = _fmt_times(part["received_at"].to_numpy().astype("datetime64[s]"), styles[year])
        res = _fmt_times(part["resolved_at"].to_numpy().astype("datetime64[s]"), styles[year])
        spaced = rng.random(len(part)) < 0.01
        return [[r.complaint_id, a, r.unit_id, CHANNEL_LABELS[year][r.channel], r.category + (" " if sp else ""), r.cause, r.description,
                 y if r.responsible else n_, y if r.major else n_, y if r.escalated else n_, b]
                for r, a, b, sp in zip(part.itertuples(), rec, res, spaced)]

    carried_line = None
    for year in YEARS:
        part = cp[cp["year"] == year]
        rows = fmt_rows(part, year)
        path = out / f"投诉_{year}.csv"
        planted = []
        if year == 2015:
            carried_pos = len(rows) - 1 - int(rng.integers(0, 5))  # a late-December complaint, still open at year end
            carried = part.iloc[[carried_pos]]
            dup = int(rng.integers(100, len(rows) - 100))
            rows.insert(dup + 1, list(rows[dup]))
            planted.append((dup + 1, "duplicate of line", "an exact duplicate row"))
        else:
            rows.insert(0, fmt_rows(carried, year)[0])  # exported again with the next year's carried-over cases
        lines = _write_csv(path, headers[year], rows, "gbk")
        if year == 2015:
            carried_line = lines[carried_pos + 1]
        else:
            planted.append((0, f"repeats the key of 投诉_2015.csv line {carried_line}", "a 2015 complaint exported again in the 2016 file"))
        notes = [f"channels labelled {'/'.join(CHANNEL_LABELS[year].values())}",
                 "descriptions carry names, mobile numbers, ID and card numbers (all synthetic; checksums valid)",
                 "some descriptions span two lines (quoted)", "a few category labels with a trailing space",
                 f"yes/no as {'/'.join(yes_no[year])}", "times as " + ("2015/3/5 14:22" if year == 2015 else "2016-03-05 14:22:10")]
        for k, reason, what in planted:
            sample.planted.append(Planted("complaints", path.name, lines[k], reason, what))
            notes.append(what + " (rejected)")
        sample.files.append(FileInfo(path.name, "complaints", "GBK", len(rows), notes))


# --------------------------------------------------------------------------------------- business
BUSINESS_COLS = ["fin_txn", "e_txn", "counter_txn", "vip_customers", "vip_eligible", "vip_cards", "vip_deposits", "vip_funds", "vip_bonds",
                 "vip_wealth", "vip_loans", "personal_deposits", "personal_funds", "personal_bonds", "personal_wealth", "personal_loans"]


def business_table(bank: Bank) -> pd.DataFrame:
    """Outlet × month, 2014-01..2016-12. Stocks (万元, customers, cards) are month-end; transactions are
    the month's flow. Growth differs by sub-branch; one unit's 2016 deposits fall, one's VIP count stalls,
    one's e-channel share barely moves."""
    rng = _rng(bank.seed, "business")
    o = bank.outlets
    m = len(o)
    subs = bank.subs.set_index("sub_branch_id")
    sub_of = o["sub_branch_id"].to_numpy()
    imp = o["improvement"].to_numpy()
    grade_dep = {"flagship": (110_000, 150_000), "comprehensive": (70_000, 110_000), "boutique": (45_000, 80_000), "basic": (30_000, 60_000)}
    d0 = np.array([rng.uniform(*grade_dep[g]) for g in o["grade"]])
    # Yearly deposit growth by sub-branch (3-12%) plus an outlet wobble.
    sub_ids = list(subs.index)
    g_sub = {y: dict(zip(sub_ids, rng.uniform(0.03, 0.12, len(sub_ids)) + 0.01 * subs["quality"].to_numpy())) for y in BUSINESS_YEARS}
    g_sub[2016][bank.slow_deposits] = -0.03
    g_sub[2015][bank.weak[2]] = 0.006
    gv_sub = {y: dict(zip(sub_ids, rng.uniform(0.04, 0.12, len(sub_ids)) + 0.012 * subs["quality"].to_numpy())) for y in BUSINESS_YEARS}
    gv_sub[2016][bank.slow_vip] = -0.005
    ratios = {"funds": rng.uniform(0.03, 0.07, m), "bonds": rng.uniform(0.02, 0.05, m), "wealth": rng.uniform(0.10, 0.20, m), "loans": rng.uniform(0.15, 0.35, m)}
    vip_share0 = rng.uniform(0.55, 0.66, m) + 0.01 * o["quality"].to_numpy()
    vip_slope = {2014: rng.uniform(0.003, 0.012, m), 2015: rng.uniform(0.004, 0.015, m), 2016: rng.uniform(0.005, 0.012, m) + 0.01 * imp}
    v0 = np.clip(d0 / 38 * np.exp(rng.normal(0, 0.15, m)), 500, 3400)
    elig = rng.uniform(0.86, 0.95, m)
    card0 = rng.uniform(0.55, 0.78, m)
    card_slope = {2014: rng.uniform(0.01, 0.03, m), 2015: rng.uniform(0.015, 0.04, m), 2016: rng.uniform(0.02, 0.05, m) * (0.6 + 0.5 * imp)}
    fin0 = o["size"].to_numpy() * 52_000 * np.exp(rng.normal(0, 0.1, m))
    e0 = 0.75 + 0.025 * rng.normal(0, 1, m) - np.where(o["area"] == "county", 0.03, 0.0)
    e_slope = {2014: rng.uniform(0.015, 0.035, m), 2015: rng.uniform(0.02, 0.04, m), 2016: rng.uniform(0.015, 0.035, m) + 0.008 * imp}
    e_slope[2016][sub_of == bank.slow_echannel] = 0.002
    self0 = rng.uniform(0.08, 0.12, m)
    county = (o["area"] == "county").to_numpy()
    rows = []
    log_d = np.log(d0)
    log_v = np.log(v0)
    share, cards, e_share = vip_share0.copy(), card0.copy(), e0.copy()
    for year in BUSINESS_YEARS:
        g = np.array([g_sub[year][s] for s in sub_of]) + rng.normal(0, 0.012, m)
        gv = np.array([gv_sub[year][s] for s in sub_of]) + rng.normal(0, 0.015, m)
        sf_month = SPRING_FESTIVAL[year].month
        for month in range(1, 13):
            log_d = log_d + np.log1p(g) / 12
            log_v = log_v + np.log1p(gv) / 12
            share = np.minimum(share + vip_slope[year] / 12, 0.78)
            cards = np.minimum(cards + card_slope[year] / 12, 0.93)
            e_share = np.minimum(e_share + e_slope[year] / 12, 0.9)
            season = np.zeros(m)
            if month == sf_month:
                season += np.where(county, 0.05, -0.012)
            elif month == sf_month - 1 or (sf_month == 1 and month == 12):
                season += np.where(county, 0.02, 0.0)
            if month in (3, 6, 9, 12):
                season += 0.01  # quarter-end push
            dep = np.exp(log_d + season + rng.normal(0, 0.004, m))
            txn_season = 1.12 if month == 1 else 0.86 if month == sf_month else 1.08 if month == 12 else 1.0
            fin = np.round(fin0 * (1.03 ** (year - 2014)) * txn_season * np.exp(rng.normal(0, 0.03, m))).astype(np.int64)
            self_rate = np.maximum(self0 - 0.006 * (year - 2014), 0.05)
            e_txn = np.round(fin * np.clip(e_share + rng.normal(0, 0.004, m), 0.6, 0.95 - self_rate)).astype(np.int64)
            self_txn = np.round(fin * self_rate).astype(np.int64)
            counter = fin - e_txn - self_txn
            vip = np.round(np.exp(log_v + rng.normal(0, 0.003, m))).astype(np.int64)
            eligible = np.round(vip * elig).astype(np.int64)
            issued = np.round(eligible * cards).astype(np.int64)
            funds = dep * (ratios["funds"] + 0.003 * (year - 2014))
            bonds = dep * ratios["bonds"]
            wealth = dep * (ratios["wealth"] + 0.01 * (year - 2014))
            loans = dep * ratios["loans"]
            sh = share + rng.normal(0, 0.003, m)
            vip_vals = {"vip_deposits": dep * (sh - 0.02), "vip_funds": funds * np.minimum(sh + 0.15, 0.95), "vip_bonds": bonds * np.minimum(sh + 0.12, 0.95),
                        "vip_wealth": wealth * np.minimum(sh + 0.10, 0.95), "vip_loans": loans * (sh - 0.15)}
            for i in range(m):
                rows.append({
                    "outlet_id": o.outlet_id.iat[i], "outlet_name": o.outlet_name.iat[i], "month": f"{year}-{month:02d}",
                    "fin_txn": int(fin[i]), "e_txn": int(e_txn[i]), "counter_txn": int(counter[i]), "vip_customers": int(vip[i]),
                    "vip_eligible": int(eligible[i]), "vip_cards": int(issued[i]),
                    **{k: round(float(v[i]), 2) for k, v in vip_vals.items()},
                    "personal_deposits": round(float(dep[i]), 2), "personal_funds": round(float(funds[i]), 2), "personal_bonds": round(float(bonds[i]), 2),
                    "personal_wealth": round(float(wealth[i]), 2), "personal_loans": round(float(loans[i]), 2),
                })
    return pd.DataFrame(rows)


def write_business(bank: Bank, out: Path, sample: Sample) -> None:
    """业务数据_2014.xlsx (one long sheet, months as 201401), 业务数据_2015.xlsx (a sheet per month with a
    合计 row at the bottom), 业务数据_2016.xlsx (amounts as text with thousands separators)."""
    rng = _rng(bank.seed, "business-files")
    bt = business_table(bank)
    headers = {
        2014: ["网点号", "网点名称", "统计月份", "金融交易笔数", "离柜交易笔数", "柜台交易笔数", "贵宾客户数", "应发卡贵宾客户数", "贵宾卡发卡数",
               "贵宾储蓄存款", "贵宾基金", "贵宾国债", "贵宾理财", "贵宾个人贷款", "储蓄存款", "基金", "国债", "理财产品", "个人贷款余额"],
        2015: ["网点编号", "网点名称", "月份", "金融性交易笔数", "电子渠道金融性交易笔数", "柜面交易笔数", "个人贵宾客户数", "符合条件贵宾客户数", "已发贵宾卡客户数",
               "贵宾客户储蓄存款", "贵宾客户基金", "贵宾客户国债", "贵宾客户理财产品", "贵宾客户个人贷款", "个人储蓄存款", "个人基金", "个人国债", "个人理财产品", "个人贷款"],
        2016: ["机构号", "网点", "数据月份", "全部金融性交易笔数", "电子渠道交易笔数", "柜面业务量", "贵宾客户", "应发卡贵宾客户数", "发卡贵宾客户数",
               "贵宾储蓄存款", "贵宾基金", "贵宾国债", "贵宾理财", "贵宾个人贷款", "本外币储蓄存款", "个人基金", "个人国债", "个人理财产品", "个人贷款"],
    }
    amount_cols = BUSINESS_COLS[6:]
    for year in BUSINESS_YEARS:
        part = bt[bt["month"].str.startswith(str(year))]
        path = out / f"业务数据_{year}.xlsx"
        wb = _Workbook(path, f"{year}年网点业务经营数据")
        notes = ["amounts in 万元"]
        if year == 2014:
            rows = [[int(r.outlet_id), r.outlet_name, int(r.month.replace("-", "")), *[getattr(r, c) for c in BUSINESS_COLS]] for r in part.itertuples()]
            # A negative balance typed by hand (a sign slip), in a mid-year month so year-end figures are intact.
            cand = [i for i, r in enumerate(rows) if r[2] == 201407]
            k = int(rng.choice(cand))
            rows[k][11] = -rows[k][11]
            lines = wb.sheet("2014年", headers[year], rows, widths={1: 30})
            sample.planted.append(Planted("business", _label(path, "2014年"), lines[k], "vip_bonds (贵宾客户国债): below the minimum", "a negative balance"))
            notes += ["months as 201401 (numbers)", "one negative 贵宾国债 balance in 2014-07 (rejected)"]
            nrows = len(rows)
        elif year == 2015:
            nrows = 0
            for month in range(1, 13):
                mp = part[part["month"] == f"{year}-{month:02d}"]
                rows = [[int(r.outlet_id), r.outlet_name, f"{year}年{month}月", *[getattr(r, c) for c in BUSINESS_COLS]] for r in mp.itertuples()]
                total = ["", "合计", f"{year}年{month}月", *[round(float(mp[c].sum()), 2) if c in amount_cols else int(mp[c].sum()) for c in BUSINESS_COLS]]
                if month == 6:
                    j = int(rng.integers(10, len(rows) - 10))
                    rows[j][6] = _fullwidth(str(rows[j][6]))  # full-width digits: valid
                lines = wb.sheet(f"{month}月", headers[year], rows, footer=[total], blank_after=40 if month == 9 else None, widths={1: 30})
                sample.planted.append(Planted("business", _label(path, f"{month}月"), lines[-1], "summary row (合计)", "a 合计 (total) row"))
                if month == 9:
                    sample.planted.append(Planted("business", _label(path, "9月"), lines[40] + 1, "", "a blank row", kind="blank"))
                nrows += len(rows) + 1
            notes += ["one sheet per month (1月..12月)", "months as 2015年1月", "a 合计 (total) row at the bottom of every sheet (rejected)",
                      "a blank row in sheet 9月", "one customer count with full-width digits (valid)"]
        else:
            rows = [[r.outlet_id, r.outlet_name, r.month, *[f"{getattr(r, c):,}" if c not in amount_cols else f"{getattr(r, c):,.2f}" for c in BUSINESS_COLS]]
                    for r in part.itertuples()]
            wb.sheet("2016年", headers[year], rows, widths={1: 30})
            notes += ["every figure written as text with thousands separators (\"12,345.67\")", "months as 2016-01", "ids as text"]
            nrows = len(rows)
        wb.close()
        sample.files.append(FileInfo(path.name, "business", "xlsx", nrows, notes))


# --------------------------------------------------------------------------------------- campaign
def campaign_table(bank: Bank) -> pd.DataFrame:
    rng = _rng(bank.seed, "campaign")
    o = bank.outlets
    m = len(o)
    q = o["quality"].to_numpy()
    rows = []
    rank = np.argsort(-(q + 0.3 * rng.normal(0, 1, m)))
    awards = {2015: {"five_star": rank[:2], "four_star": rank[2:5]},
              2016: {"top100": rank[:1], "top1000": rank[1:3], "five_star": rank[3:6], "four_star": rank[6:10]}}
    imported_2015 = rng.random(m) < (0.5 + 0.1 * q).clip(0.2, 0.85)
    six_2015 = rng.random(m) < (0.4 + 0.1 * q).clip(0.1, 0.8)
    for year in YEARS:
        imported = imported_2015 if year == 2015 else imported_2015 | (rng.random(m) < 0.75)
        six = six_2015 if year == 2015 else six_2015 | (rng.random(m) < 0.7)
        acceptance = (84 + 3.5 * q + rng.normal(0, 4, m) + (2 if year == 2016 else 0)).clip(70, 98)
        supervision = (85 + 4 * q + rng.normal(0, 4, m) + (2 * o["improvement"].to_numpy() if year == 2016 else 0)).clip(70, 100)
        award = np.array([""] * m, dtype=object)
        for a, idx in awards[year].items():
            award[idx] = a
        for i in range(m):
            rows.append({"outlet_id": o.outlet_id.iat[i], "outlet_name": o.outlet_name.iat[i], "year": year, "skill_imported": bool(imported[i]),
                         "skill_acceptance": round(float(acceptance[i]), 1) if imported[i] else None, "six_s_passed": bool(six[i]),
                         "award": award[i], "supervision_score": round(float(supervision[i]), 1)})
    return pd.DataFrame(rows)


AWARD_LABELS = {2015: {"top100": "百佳", "top1000": "千佳", "five_star": "五星级", "four_star": "四星级"},
                2016: {"top100": "百佳示范网点", "top1000": "千佳示范网点", "five_star": "五星级网点", "four_star": "四星级网点"}}


def write_campaign(bank: Bank, out: Path, sample: Sample) -> None:
    """活动台账_2015-2016.xlsx: a hand-kept ledger, one sheet per year, yes/no spelled differently each year."""
    ct = campaign_table(bank)
    path = out / "活动台账_2015-2016.xlsx"
    wb = _Workbook(path, "服务提升活动台账")
    headers = {2015: ["网点编号", "网点名称", "年度", "营销技能导入", "验收得分", "6S验收", "获评称号", "监督检查得分"],
               2016: ["网点号", "网点", "年度", "是否完成导入", "营销技能导入验收得分", "6S管理达标", "创建称号", "分行服务监督检查得分"]}
    yes = {2015: ("是", "否"), 2016: ("已完成", "未完成")}
    passed = {2015: ("是", "否"), 2016: ("通过", "未通过")}
    for year in YEARS:
        part = ct[ct["year"] == year]
        rows = [[int(r.outlet_id), r.outlet_name, year, yes[year][0 if r.skill_imported else 1], r.skill_acceptance, passed[year][0 if r.six_s_passed else 1],
                 AWARD_LABELS[year].get(r.award, ""), r.supervision_score] for r in part.itertuples()]
        lines = wb.sheet(f"{year}年", headers[year], rows, blank_after=60 if year == 2016 else None, widths={1: 30})
        if year == 2016:
            sample.planted.append(Planted("campaign", _label(path, "2016年"), lines[60] + 1, "", "a blank row", kind="blank"))
    wb.close()
    sample.files.append(FileInfo(path.name, "campaign", "xlsx", len(ct), [
        "one sheet per year; yes/no as 是/否 (2015) and 已完成/未完成, 通过/未通过 (2016)", "acceptance score empty when not imported",
        "award labels 五星级/四星级 (2015) and 百佳示范网点/千佳示范网点/五星级网点/四星级网点 (2016)", "a blank row in sheet 2016年",
    ]))


# ------------------------------------------------------------------------------------------ driver
SOURCE_ENCODINGS = {"xlsx": "Excel workbook (.xlsx)"}


def _readme(sample: Sample, bank: Bank) -> str:
    names = bank.subs.set_index("sub_branch_id")["name"]
    lines = [
        "# The bundled sample bank (synthetic)",
        "",
        "Two files here are real public figures, not generated: `同业对标_2015.csv` and",
        "`cbirc_bank_complaint_bulletins_2020-2022_part.csv` (sources in `README-real-data.md`).",
        "",
        f"Every other file is **synthetic**: a fictional city branch ({BANK_NAME}) with {len(bank.subs)} sub-branches "
        f"and {len(bank.outlets)} outlets, written by `analysis.generate` with seed {sample.seed}. No real customer, outlet or",
        "figure is in it; names, mobile numbers, ID numbers and card numbers in complaint texts are random (with valid checksums,",
        "so the masking is exercised). Regenerate byte for byte with:",
        "",
        f"    PYTHONPATH=$PWD/src python -m analysis generate --out data/raw --seed {sample.seed}",
        "",
        "`tests/test_generate.py` fails if these files differ from a fresh generation. Do not edit them by hand.",
        "",
        "The events (teller ratings, queue tickets, calls) are a sample of a year's traffic (about 20,000 rows per source",
        "and year, to keep the folder small), enough for rates, hourly and weekday profiles and distributions;",
        "`python -m analysis generate --scale large` writes big call logs for benchmarks.",
        "",
        "## The bank behind the files",
        "",
        "- Clearly strong sub-branches: " + ", ".join(names[s] for s in bank.strong) + ".",
        "- Clearly weak sub-branches (lower mystery-shopper scores, longer waits, more complaints): " + ", ".join(names[s] for s in bank.weak) + ".",
        "- Complaints rise in 2016 (against the bank's fall): " + ", ".join(names[s] for s in bank.complaints_up) + ".",
        "- Three or more major responsible complaints and city-level-or-above media reports in a year (award ineligibility): "
        + ", ".join(f"{names[s]} {y}" for s, y in bank.troubled) + ".",
        f"- Deposits fall in 2016: {names[bank.slow_deposits]}; VIP customers stall in 2016: {names[bank.slow_vip]}; "
        f"e-channel share barely moves in 2016: {names[bank.slow_echannel]}; deposits almost flat in 2015: {names[bank.weak[2]]}.",
        "- 2016 is the campaign year: mystery shopper about +2.5 points, satisfaction about +2, waits about 12% shorter,",
        "  lobby staff gaps closed to 3 outlets, complaints down ~15%, 95599 answer rate ~86% → ~91%, credit-card centre",
        "  answer rate about +10 points and 20-second service level about +18 points.",
        "",
        "## Files",
        "",
        "| file | source | encoding | records | what it carries |",
        "| --- | --- | --- | ---: | --- |",
    ]
    for f in sample.files:
        lines.append(f"| {f.name} | {f.source} | {SOURCE_ENCODINGS.get(f.encoding, f.encoding)} | {f.rows:,} | {'; '.join(f.notes)} |")
    lines += [
        "",
        "## Planted defects",
        "",
        "Rows the cleaning step must reject (`python -m analysis clean` lists them in `data/processed/rejected/`):",
        "",
        "| file | line/row | defect | engine's reason contains |",
        "| --- | ---: | --- | --- |",
    ]
    planted = sorted(sample.planted, key=lambda p: ([f.name for f in sample.files].index(p.file.split("[")[0]), p.file, p.line))
    for p in planted:
        if p.kind == "reject":
            lines.append(f"| {p.file} | {p.line} | {p.what} | {p.reason} |")
    lines += ["", "Rows that look odd but are valid and must be kept:", "", "| file | line/row | what |", "| --- | ---: | --- |"]
    for p in planted:
        if p.kind != "reject":
            lines.append(f"| {p.file} | {p.line} | {p.what} |")
    lines.append("")
    return "\n".join(lines)


WRITERS = ("outlets", "staffing", "mystery_shopper", "satisfaction", "teller_ratings", "queue_tickets", "calls", "media_events", "complaints", "business", "campaign")


def write_sample(out: Path | str, seed: int = config.DEFAULT_SEED, *, only: tuple[str, ...] | None = None) -> Sample:
    """Write the sample bank's raw exports (and README.md) into ``out``; return what was written and planted.
    ``only`` limits the sources written (no README then)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    bank = build_bank(seed)
    sample = Sample(seed)
    todo = only or WRITERS
    for name in WRITERS:
        if name not in todo:
            continue
        if name == "complaints":
            write_complaints(bank, _media_plan(bank), out, sample)
        else:
            globals()[f"write_{name}"](bank, out, sample)
    if only is None:
        (out / "README.md").write_text(_readme(sample, bank), encoding="utf-8")
    return sample


def main(out: Path | str = config.RAW_DIR, seed: int = config.DEFAULT_SEED, scale: str = "sample", rows: int = 10_000_000) -> None:
    """``python -m analysis generate``: the bundled sample (``scale="sample"``) or a large call log for benchmarks."""
    if scale == "large":
        from analysis.events.synthetic import write_large_calls

        write_large_calls(out, seed=seed, rows=rows)
        return
    if scale != "sample":
        raise InputValueError(f"unknown scale {scale!r} (expected 'sample' or 'large')")
    sample = write_sample(out, seed)
    total = sum((Path(out) / f.name).stat().st_size for f in sample.files)
    print(f"wrote {len(sample.files)} files ({total / 1e6:.1f} MB) for seed {seed} to {out}")

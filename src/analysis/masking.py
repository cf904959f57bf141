"""Personal data out of free text: the suite's one masking function.

    mask_text("客户王小明（手机138 1234 5678）卡号6222021234567890") -> "客户王**（手机138 **** 5678）卡号6222********7890"
    mask_series(df["description"])  # the same, for a whole column; missing values stay missing

Every path that writes complaint text (cleaning, the complaints command, rejected rows, reports) calls
this module. What is masked, exactly:

Numbers. The text is scanned for runs of digit groups joined by single separators (a space, a dash,
up to three of them: ``138 1234 5678``, ``6222-0212-3456-7890``). Full-width digits, full-width
spaces and dashes count as their ASCII forms. Within a run, the longest span of whole groups that is
one of the following is masked, digit by digit (separators and letters stay, so the structure stays
readable); spans never cut a group, so a number inside a longer number is not a match:

- resident ID number (GB 11643-1999), 18 characters: a province code (11-82) first, a valid birth
  date (1900 onwards, not in the future) at characters 7-14, and the ISO 7064 MOD 11-2 check character
  (0-9 or X) last. Kept: the region code (6) and the last 4: ``110101********123X``.
- old 15-digit resident ID number (issued until 1999, no check digit): a province code first and a
  valid YYMMDD birth date at digits 7-12. Kept: first 6 and last 3: ``110101******123``.
- bank card number: 16 to 19 digits passing the Luhn check whose first digit is 3, 4, 5 or 6 (ISO/IEC
  7812 industry 3-6: UnionPay 62.., Visa 4.., Mastercard 5.., Amex/JCB 3..) or that start 2221-2720
  (Mastercard's 2-series). Kept: first 4 and last 4: ``6222 **** **** 1234``.
  Numbers starting with 0, 1, 7, 8, 9 or with a year (20..) are not cards: ticket and serial numbers
  built from dates stay.
- mainland mobile number: 11 digits ``1[3-9]x xxxx xxxx``, alone or after a country code ``86``/
  ``0086`` (``+86 138...``, ``008613812345678``). Kept: first 3 and last 4: ``138****5678``.

Amounts (``5,000元``, ``12 000.50``, the decimals of ``0.4032818618598956``), dates (``2016年3月5日``, ``2016-03-05``), counts, 6-digit codes,
ticket numbers and any number failing the check digit / Luhn test are left alone.

E-mail addresses: the local part keeps its first character: ``z***@example.com``.

Names. Chinese names cannot be recognised reliably without a dictionary of every name, so the rule
is precise and conservative; the surname list is data (``resources/surnames.txt``):

- A surname followed by an honorific or a title (先生, 女士, 小姐, 太太, 夫人, 老师, 师傅, 阿姨, 经理,
  主任, 行长, ...) is NOT personal data on its own (``王先生``, ``张女士``, ``李经理`` stay): it is how
  complaint records and regulators' bulletins refer to people.
- A full name before an honorific (``王小明先生``) keeps the surname and masks the given name: ``王**先生``.
- A full name after a label (姓名, 客户姓名, 户名, 联系人, 投诉人, 来电人, 来访人, 持卡人, 申请人,
  当事人, 借款人, 收款人, 代理人, 委托人, 本人), with or without a colon: ``联系人：张三`` -> ``联系人：张*``.
  The given name is one or two characters; two are taken unless the second starts a word that
  commonly follows a name (来电, 反映, 称, 电话, ...).
- A full name after 客户 (``客户王小明来电``) only when the name is followed by punctuation, the end
  of the text, a number, or a word that commonly follows a name (来电, 致电, 反映, 投诉, 称, 表示,
  要求, 电话, 手机, 在, 于, 到, 的, ...): ``客户高度不满`` is not a name.
- A bare full name opening a clause (at the start, or after punctuation or a space) and followed by a
  reporting verb or a bracket: ``王建国反映`` -> ``王**反映``, ``：张伟（手机...）`` -> ``：张*（手机...）``.
- Already anonymised forms (``李某``, ``王某某``, ``客户某某``) stay: the given name may not be 某.
- A given name never contains a function character (的, 了, 是, 在, 不, 称, 说, ...), so ``客户于是
  投诉`` stays. When the "surname" of a full name before an honorific is itself a preposition that is
  also a surname (于, 向) and the next character is a surname, the name starts at the next
  character (``向王先生`` stays, ``于张三先生`` becomes ``于张*先生``).

Masking is idempotent: masked text contains no digit run, name or address that matches again.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import pandas as pd

MASK = "*"

# ------------------------------------------------------------------------------------ the digit view
# A same-length copy of the text in which full-width digits, X, separators are ASCII, so positions
# found in the view are positions in the original.
_VIEW = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        "Ｘ": "X",
        "ｘ": "x",
        "＋": "+",
        "－": "-",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u3000": " ",
        "\xa0": " ",
        "\t": " ",
    }
)
_DIGITS_FULLWIDTH = "０１２３４５６７８９"

# A group: digits, optionally ending in X (the ID check character) when no letter follows.
# Stars belong to groups so that masked output (138****5678, 6222 **** **** 7894) is read back as
# masked tokens, never as a shorter number: a group with a star between digits, or only stars, is a
# barrier no span crosses (this makes masking idempotent).
_GROUP = r"[0-9*]*[0-9](?:[0-9*]*[0-9])?\**(?:[Xx](?![A-Za-z0-9]))?|\*+"
_SEP = r"[ \-]{1,3}"
# Not after "<digit>.": the decimals of a number (0.4032818618598956) are not a number of their own.
_RUN = re.compile(rf"(?<![0-9*])(?<![0-9]\.)(?:{_GROUP})(?:{_SEP}(?:{_GROUP}))*")
_GROUP_RE = re.compile(_GROUP)

PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_char(first17: str) -> str:
    """GB 11643-1999 (ISO 7064 MOD 11-2) check character of the first 17 digits."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def _valid_date(y: int, m: int, d: int) -> bool:
    import datetime as dt

    try:
        date = dt.date(y, m, d)
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= date <= dt.date.today()


def is_resident_id(s: str) -> bool:
    """An 18-character resident ID number: province, birth date and check character all valid."""
    if len(s) != 18 or not s[:17].isdigit() or not s[:17].isascii():
        return False
    if int(s[:2]) not in PROVINCES or not _valid_date(int(s[6:10]), int(s[10:12]), int(s[12:14])):
        return False
    return id_check_char(s[:17]) == s[17].upper()


def is_old_resident_id(s: str) -> bool:
    """A 15-digit resident ID number (pre-1999): province and YYMMDD birth date valid."""
    if len(s) != 15 or not s.isdigit() or not s.isascii():
        return False
    return int(s[:2]) in PROVINCES and _valid_date(1900 + int(s[6:8]), int(s[8:10]), int(s[10:12]))


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def is_card_number(s: str) -> bool:
    """16-19 digits, Luhn-valid, issuer prefix 3-6 or 2221-2720."""
    if not (16 <= len(s) <= 19) or not s.isdigit() or not s.isascii():
        return False
    if not (s[0] in "3456" or 2221 <= int(s[:4]) <= 2720):
        return False
    return luhn_ok(s)


_MOBILE = re.compile(r"(?:0086|86)?(1[3-9]\d{9})")


def _mobile_offset(s: str) -> int | None:
    """Where the 11-digit mobile number starts in ``s`` (after a country code), or None."""
    m = _MOBILE.fullmatch(s)
    if not m or not s.isascii():
        return None
    return m.start(1)


def _classify(digits: str) -> tuple[int, int] | None:
    """(keep_first, keep_last) digits for a personal number, or None for an ordinary number."""
    if len(digits) == 18 and is_resident_id(digits):
        return 6, 4
    if len(digits) == 15 and is_old_resident_id(digits):
        return 6, 3
    if "X" in digits.upper():
        return None
    if is_card_number(digits):
        return 4, 4
    off = _mobile_offset(digits)
    if off is not None:
        return off + 3, 4
    return None


_INNER_STAR = re.compile(r"[0-9]\*|^\*+$")


def _number_spans(view: str):
    """Personal numbers in the digit view: (positions of their digits, keep_first, keep_last)."""
    for run in _RUN.finditer(view):
        groups = []  # (positions of digits and X, text of them) or None for a barrier
        for m in _GROUP_RE.finditer(run.group()):
            g = m.group().strip("*")
            if not g or _INNER_STAR.search(g):
                groups.append(None)
                continue
            start = run.start() + m.start()
            pos = [start + k for k, c in enumerate(m.group()) if c != "*"]
            groups.append((pos, g, g != m.group()))  # starred at an edge: a number alone, never joined
        i = 0
        while i < len(groups):
            best = None
            total = ""
            for j in range(i, len(groups)):
                if groups[j] is None or (j > i and (groups[j][2] or groups[j - 1][2])):
                    break
                if j > i and groups[j - 1][1][-1:] in "Xx":
                    break  # an X ends an ID; nothing continues past it
                total += groups[j][1]
                if len(total) > 20:
                    break
                # A trailing X belongs to an ID; after anything else (a card, a phone) it is just a letter.
                for cand in (total, total[:-1]) if total[-1:] in "Xx" else (total,):
                    if 11 <= len(cand) <= 19 and (kept := _classify(cand)) is not None:
                        best = (j, kept, len(cand))
                        break
            if best is None:
                i += 1
                continue
            j, (first, last), n = best
            positions = [p for grp in groups[i : j + 1] for p in grp[0]][:n]
            yield positions, first, last
            i = j + 1


def _mask_numbers(text: str) -> str:
    # Repeat until nothing changes: the digits a masked number keeps (its last 4, say) could, with a
    # neighbouring group, read as another number; masking that too keeps mask_text idempotent.
    for _ in range(10):
        view = text.translate(_VIEW)
        if not any(c.isdigit() for c in view):
            return text
        out = None
        for positions, first, last in _number_spans(view):
            out = out or list(text)
            for p in positions[first : len(positions) - last]:
                out[p] = MASK
        if out is None:
            return text
        text = "".join(out)
    return text


# ------------------------------------------------------------------------------------------ e-mail
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+@*-])([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")


def _mask_emails(text: str) -> str:
    if "@" not in text:
        return text
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


# ------------------------------------------------------------------------------------------- names
HONORIFICS = ("先生", "女士", "小姐", "太太", "夫人", "老师", "师傅", "阿姨", "大爷", "大妈", "大姐", "大哥", "同志",
              "经理", "主任", "科长", "处长", "局长", "老板", "律师", "医生", "警官")
# (行长 and 总 are left out: 火车站支行长春路 and 车站总台 would read as names.)
LABELS = ("客户姓名", "姓名", "户名", "联系人", "投诉人", "来电人", "来访人", "持卡人", "申请人", "当事人", "借款人",
          "收款人", "代理人", "委托人", "本人", "柜员", "大堂经理", "客户经理", "理财经理", "工作人员")
# Two-character words that start with a surname character but are not names (客户高度不满, 客户方面表示).
NOT_NAMES = frozenset("方面 高度 余额 金额 关系 安全 明确 明显 成功 全部 全额 全程 申请 申诉 包括 严重 严格 文件 程序 "
                      "于是 向我 向其 向本 司法 司机 管理 管辖 车辆 花费 武汉 江苏 宁波 常州 温州 邢台 段时 孔明 景区 "
                      "曾经 曾多 解释 解决 查询 查看 查到 连续 谈话 单位 单据 房贷 房屋 房产 宋体 计算 任务 任何 华为 "
                      "容易 尚未 燕郊 左右 高兴 高速 卫生 龙岗 米兰 全国 全款 全部 储蓄 蓝色 柳州 韦氏 卓越 杜绝 简单 "
                      "应该 詹姆 邱县 宫颈 冷静 柴油 邵阳 易方 易购 郁闷 周末 周一 周二 周三 周四 周五 周六 周日 何时 何处 "
                      "董事 高管 高层 金卡 金融 金条 马上 黄金 白金 钱款 石油 林业 田地 江城 龙卡 万元 千元 百元".split())
# Words that commonly follow a name; a given name ends before them.
FOLLOWERS = ("来电", "致电", "来访", "来行", "到行", "前来", "反映", "反应", "投诉", "称", "表示", "认为", "要求", "希望",
             "电话", "手机", "联系", "身份证", "证件", "卡号", "账号", "名下", "本人", "持", "办理", "前往", "在", "于",
             "到", "的", "因", "对", "向", "说", "等", "与", "和", "及", "通过", "使用", "已", "未", "多次", "再次",
             "态度", "服务", "没有", "拒绝", "告知", "解释", "让", "给", "帮", "工作", "遭遇", "发现", "收到", "告知", "咨询", "申请", "之")
# Verbs that, right after a clause-opening name, make it a person: 王建国反映..., 张伟投诉...
CLAUSE_VERBS = ("反映", "反应", "投诉", "称", "来电", "致电", "来访", "来信", "表示", "要求", "认为", "持")
# Characters that never start or continue a given name (function words, 某 of anonymised forms).
STOP = "某的了是在不也就都对从向因被把已未又再还很要称说到去来将和与及等为让请由给跟同之其这那我你他她它们老该此并但而或即于以所着过会能可没无非每各本经理员行户电话号码卡支站"
AMBIGUOUS_SURNAMES = "于向"

_CJK = "\u4e00-\u9fff"


@cache
def surnames() -> tuple[str, ...]:
    """The surname list (resources/surnames.txt), longest first."""
    text = resources.files("analysis").joinpath("resources/surnames.txt").read_text(encoding="utf-8")
    names = {ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")}
    return tuple(sorted(names, key=lambda s: (-len(s), s)))


@cache
def _name_patterns() -> tuple[re.Pattern, ...]:
    sn = surnames()
    singles = "".join(s for s in sn if len(s) == 1)
    compounds = "|".join(s for s in sn if len(s) > 1)
    sur = f"(?:{compounds}|[{singles}])" if compounds else f"[{singles}]"
    g = rf"(?:(?![{STOP}])(?!(?:{'|'.join(HONORIFICS)}))[{_CJK}])"
    hon = "|".join(HONORIFICS)
    follow = "|".join(FOLLOWERS)
    end = rf"(?:[^{_CJK}]|$|{follow}|{hon})"
    labels = "|".join(LABELS)
    # Full name + honorific.
    honorific = re.compile(rf"(?P<sur>{sur})(?P<given>{g}{{1,2}}?)(?![{MASK}])(?=(?:{hon}))")
    # Label + name: first try a name that ends at a boundary, then a two-character given name.
    # (The name sits in a lookahead so that only the label is consumed: back-to-back labels all match.)
    labelled = re.compile(rf"(?:{labels})[:：]?\s?(?=(?P<sur>{sur})(?P<given>{g}{{1,2}}?)(?![{MASK}])(?={end}))")
    labelled_greedy = re.compile(rf"(?:{labels})[:：]?\s?(?=(?P<sur>{sur})(?P<given>{g}{{1,2}})(?![{MASK}]))")
    # 客户 + name followed by a boundary only.
    customer = re.compile(rf"客户[:：]?\s?(?=(?P<sur>{sur})(?P<given>{g}{{1,2}}?)(?![{MASK}])(?={end}))")
    # A bare name opening a clause, followed by a reporting verb or a bracket: 王建国反映, 张伟（手机...）.
    strong = "|".join(CLAUSE_VERBS)
    clause = re.compile(rf"(?:^|(?<=[，。：:；;！？、\s（(“\"]))(?P<sur>{sur})(?P<given>{g}{{1,2}}?)(?![{MASK}])(?=(?:{strong}|[（(]))")
    return honorific, labelled, labelled_greedy, customer, clause


def _is_word(m: re.Match) -> bool:
    """The would-be name is an ordinary word (客户高度不满)."""
    name = m.group("sur") + m.group("given")
    return name[:2] in NOT_NAMES or name in NOT_NAMES


def _mask_names(text: str) -> str:
    honorific, labelled, labelled_greedy, customer, clause = _name_patterns()
    spans: list[tuple[int, int]] = []
    for rx in (labelled, customer, clause):
        spans += [m.span("given") for m in rx.finditer(text) if not _is_word(m)]
    covered = {p for a, b in spans for p in range(a, b)}
    for m in labelled_greedy.finditer(text):
        if not _is_word(m) and not any(p in covered for p in range(m.start("sur"), m.end("given"))):
            spans.append(m.span("given"))
    sn = set(surnames())
    pos = 0
    while (m := honorific.search(text, pos)) is not None:
        pos = m.end()
        if _is_word(m):
            continue
        a, b = m.span("given")
        if m.group("sur") in AMBIGUOUS_SURNAMES and text[a] in sn:
            # 向王先生: preposition + surname + honorific (nothing to mask);
            # 于张三先生: preposition + full name (mask the given name only).
            a += 1
        if a < b:
            spans.append((a, b))
    if not spans:
        return text
    out = list(text)
    for a, b in spans:
        for p in range(a, b):
            out[p] = MASK
    return "".join(out)


# ------------------------------------------------------------------------------------------ public
def mask_text(text: str) -> str:
    """Mask resident ID, mobile and bank card numbers, e-mail addresses and full names in ``text``."""
    if not text:
        return text
    return _mask_names(_mask_emails(_mask_numbers(text)))


@cache
def _prefilter() -> str:
    """A lookaround-free pattern (pyarrow/RE2 can run it) that every text needing masking matches."""
    digit = "[0-9０-９]"
    sep = "[ \\-\u3000\xa0\t－\u2010-\u2015\u2212]"
    numbers = f"{digit}(?:{sep}{{0,3}}{digit}){{10,}}"
    words = "|".join(HONORIFICS + LABELS + ("客户",))
    return f"{numbers}|@|{words}"


def mask_series(s: pd.Series) -> pd.Series:
    """:func:`mask_text` over a column; missing values stay missing, index and name are kept.

    A vectorised pre-filter picks the texts that can hold personal data (a long digit run, an ``@``,
    an honorific, a label or 客户); only those go through :func:`mask_text`.
    """
    out = s.astype("string")
    if out.empty:
        return out
    candidate = out.str.contains(_prefilter(), regex=True, na=False)
    if candidate.any():
        out = out.copy()
        out[candidate] = out[candidate].map(mask_text).astype("string")
    return out


def find_personal_numbers(text: str) -> list[str]:
    """Personal numbers (ID, card, mobile) still present in ``text``: for checking outputs.

    The same scan :func:`mask_text` uses, returning the numbers instead of masking them.
    """
    view = text.translate(_VIEW)
    return ["".join(view[p] for p in positions) for positions, _, _ in _number_spans(view)]


def _texts_of(path) -> list[str]:
    """The text a file carries, for :func:`scan_outputs` (images in notebooks are skipped)."""
    import json
    from pathlib import Path

    from analysis.io.encoding import decode_bytes

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        df = pd.read_parquet(path)
        return [" | ".join(df[c].astype("string").fillna("")) for c in df.columns] + [" | ".join(map(str, df.columns))]
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        try:
            return [" | ".join("" if v is None else str(v) for row in ws.iter_rows(values_only=True) for v in row) for ws in wb.worksheets]
        finally:
            wb.close()
    text, _ = decode_bytes(path.read_bytes(), str(path))
    if suffix == ".ipynb":
        nb = json.loads(text)
        out = []
        for cell in nb.get("cells", []):
            out.append("".join(cell.get("source", "")))
            for o in cell.get("outputs", []):
                out.append("".join(o.get("text", "")))
                for mime, data in o.get("data", {}).items():
                    if not mime.startswith("image/"):
                        out.append(data if isinstance(data, str) else "".join(data))
        return out
    return [text]


def scan_outputs(paths) -> list[tuple[str, str]]:
    """Personal numbers (resident ID, mobile, bank card) found in files: ``[(file, number), ...]``.

    Reads Parquet (every column as text), Excel, notebooks (sources and text outputs) and any text
    file (CSV, HTML, JSON; UTF-8 or GB18030). An empty list means nothing personal survived.
    """
    found = []
    for p in paths:
        for text in _texts_of(p):
            found += [(str(p), n) for n in find_personal_numbers(text)]
    return found

"""Personal data out of free text: the suite's one masking module, the whole rule set.

    mask_text("客户王小明（手机138 1234 5678）卡号6222021234567894") -> "客户王**（手机138 **** 5678）卡号6222********7894"
    mask_series(df["description"])  # the same, for a whole column; missing values stay missing

Every path that writes free text (cleaning, the complaints command, rejected rows, the data-quality
page, notebooks, Excel, logs) calls this module. Each rule below has its examples as tests in
``tests/test_masking.py``.

One normalisation. Cleaning applies NFKC to text (``，`` becomes ``,``, ``：`` ``:``, ``１３８`` ``138``,
``＠`` ``@``), and raw exports reach the masker too (rejected rows, the complaints command). So the
masker normalises once itself: every character is mapped to its NFKC form (plus dashes and tabs to
``-`` and space), the rules run on that view, written for the normalised form only, and the
characters found are starred in the text as given. Hence ``nfkc(mask_text(t)) == mask_text(nfkc(t))``
for any text whose characters NFKC maps one to one (ASCII, CJK, full-width forms, the ideographic
space; a character NFKC expands, like ``⑩``, is starred whole when any part of it is masked).
Output has the input's length: one ``*`` per masked character.

Numbers. The text is scanned for runs of digit groups joined by single separators (a space, a dash,
up to three of them: ``138 1234 5678``, ``6222-0212-3456-7890``; dots too when at least three groups
of 3-6 digits are joined by dots: ``138.1234.5678``, never a decimal). Within a run, the longest span
of whole groups that is one of the following is masked digit by digit (separators and letters stay);
spans never cut a group, so a number inside a longer number is not a match, except mobiles (below):

- resident ID number (GB 11643-1999), 18 characters: a province code (11-82) first, a valid birth
  date (1900 onwards, not in the future) at characters 7-14, and the ISO 7064 MOD 11-2 check character
  (0-9 or X) last. Kept: the region code (6) and the last 4: ``110101********123X``.
- old 15-digit resident ID number (issued until 1999, no check digit): a province code first and a
  valid YYMMDD birth date at digits 7-12. Kept: first 6 and last 3: ``110101******123``.
- bank card number: 16 to 19 digits passing the Luhn check with a plausible issuer prefix: 4 (Visa),
  5 and 2221-2720 (Mastercard), 62 (UnionPay: 621, 622, 623, 625, 628 ...), 9558 (ICBC debit) and
  95599 (ABC debit); and 60 (BOC, RuPay), 64, 65 (Discover), 35 (JCB), 30, 36, 38, 39 (Diners)
  Kept: first 4 and last 4: ``6222 **** **** 1234``.
  The outlet code + date rule: an outlet code followed by a date, spaced or not (``33180101 20160305``,
  ``3318010120160305``), is not a card. Outlet codes start with a province code (11-82): two 8-digit
  groups whose second is a date never join into a card, and 16 unseparated digits that start with a
  province code and end in a date (YYYYMMDD, 1900-2099) are a code and a date whatever issuer range
  they fall in (41-46, 50-54 and 62 are also Visa, Mastercard and UnionPay prefixes). The price: a
  real 16-digit card of those ranges whose last 8 digits read as a date (about 7 in 10,000) is left
  unmasked; the issue's rule is that outlet-code + date strings stay intact. Numbers starting with
  0, 1, 7, 8, 20, 31-34, 37, 61, 63, 66-69 or any 9 other than 9558/95599 are not cards.
- mainland mobile number: 11 digits ``1[3-9]x xxxx xxxx``, alone or after ``0``, ``86`` or ``0086``
  (``+86 138...``, ``008613812345678``, ``013812345678``). Kept: first 3 and last 4:
  ``138****5678``. Inside a longer unseparated run that is no ID or card: two or more mobiles run
  together (``1381234567813912345678``), or a mobile that starts or ends the run
  (``1381234567801``, ``2016030513812345678``) is masked; a run of 16 digits ending in a date
  (an outlet code and a date) or starting with one (a date-first ticket number) is left alone.

Amounts (``5,000元``, ``12 000.50``, the decimals of ``0.4032818618598956``), dates (``2016年3月5日``,
``2016-03-05``), counts, 6-digit codes, ticket numbers and any number failing the check digit / Luhn
test are left alone.

E-mail addresses: the local part keeps its first character: ``z*******@example.com``.

WeChat and QQ ids after their labels (微信号, 微信, 微信账号, QQ, QQ号, qq号, 扣扣): a WeChat id (a
letter then 5-19 letters, digits, _ or -, or 6-20 digits) or a QQ number (5-12 digits) keeps its
first character: ``微信号w*********``, ``QQ:1********``. ``微信支付``, ``QQ群`` stay.

Addresses, to the street number: the house number after a road (``解放路***号``: 路, 街, 大道, 巷,
弄, 胡同, 里), and building, unit, floor and room numbers (``阳光小区*栋*单元***室``, ``*号楼``,
``花园***室``). Road, estate and district names stay (they do not identify a person).

Names. Chinese names cannot be recognised reliably without a dictionary of every name, so the rules
are best-effort, precise and conservative (the pages that show texts say so); the surname list is data
(``resources/surnames.txt``):

- A surname followed by an honorific or a title (先生, 女士, 小姐, 太太, 夫人, 老师, 师傅, 阿姨, 经理,
  主任, ...) is NOT personal data on its own (``王先生``, ``张女士``, ``李经理`` stay): it is how
  complaint records and regulators' bulletins refer to people.
- A full name before an honorific (``王小明先生``) keeps the surname and masks the given name: ``王**先生``.
- A full name after a label (姓名, 客户姓名, 户名, 户主, 联系人, 收件人, 投诉人, 来电人, 持卡人, 申请人,
  本人, 我叫, 名叫, 丈夫, 妻子, 爱人, 儿子, 女儿, 父亲, 母亲, ...), with or without a colon:
  ``户主：张三`` -> ``户主：张*``, ``其丈夫李建国来行`` -> ``其丈夫李**来行``. The given name is one or two
  characters; two are taken unless the second starts a word that commonly follows a name (来电, 反映,
  称, 电话, ...).
- A full name after 客户 (``客户王小明来电``) only when the name is followed by punctuation, the end
  of the text, a number, or a word that commonly follows a name (来电, 致电, 反映, 投诉, 称, 表示,
  要求, 电话, 手机, 在, 于, 到, 的, 某日, ...): ``客户高度不满`` is not a name.
- A bare full name opening a clause (at the start, or after any punctuation, full-width or ASCII, or a
  space) and followed by a reporting verb or a bracket: ``，郝俊强反映`` and ``,郝俊强反映`` ->
  ``,郝**反映``, ``：张伟（手机...）`` -> ``：张*（手机...）``.
- Names listed before a count of people: ``王伟、李娜两位客户`` -> ``王*、李*两位客户``.
- Already anonymised forms (``李某``, ``王某某``, ``客户王某``, ``客户某某``) stay: the given name may not
  be 某 (``客户王建国某日来电`` is a full name, masked).
- A given name never contains a function character (的, 了, 是, 在, 不, 称, 说, ...) nor one of 网, 柜,
  营, 款, 厅, 窗, 账, so ``客户于是投诉``, ``客户于网点办理业务``, ``客户于柜台``, ``客户向网点``,
  ``客户付款后`` stay; ordinary words that start with a surname (``客户全家来电``, ``客户高度不满``) are
  listed in NOT_NAMES. When the "surname" of a full name is itself a preposition that is also a
  surname (于, 向) and the next character is a surname, the name starts at the next character
  (``向王先生`` stays, ``于张三先生`` becomes ``于张*先生``).

Masking is idempotent: masked text contains no number, name, id or address that matches again.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

import pandas as pd

MASK = "*"

# Shown wherever masked texts are shown (the data-quality and complaints pages): names are a guess.
NAMES_BEST_EFFORT = (
    "姓名脱敏按规则识别，属尽力而为，个别姓名可能未被遮盖；证件号、手机号、银行卡号、邮箱均已遮盖。"
    "Masking of names is best-effort (rule-based; a name may be missed); ID, mobile, card numbers and e-mails are masked."
)

# --------------------------------------------------------------------------------- the one view
# What the rules see: each character's NFKC form, plus dashes and tabs that NFKC leaves alone.
_EXTRA = str.maketrans(
    {
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\t": " ",
    }
)


@cache
def _char_view(c: str) -> str:
    return unicodedata.normalize("NFKC", c).translate(_EXTRA)


def normalise(text: str) -> tuple[str, list[int] | None]:
    """The view the rules run on and, when it is not one to one, the index in ``text`` of each of its
    characters (None: position i of the view is position i of the text)."""
    if text.isascii():
        return text.translate(_EXTRA), None
    parts = [_char_view(c) for c in text]
    view = "".join(parts)
    if len(view) == len(text):  # NFKC never maps a character to nothing: equal length means one to one
        return view, None
    origin = [i for i, p in enumerate(parts) for _ in p]
    return view, origin


# ------------------------------------------------------------------------------------------ numbers
# A group: digits, optionally ending in X (the ID check character) when no letter follows.
# Stars belong to groups so that masked output (138****5678, 6222 **** **** 7894) is read back as
# masked tokens, never as a shorter number: a group with a star between digits, or only stars, is a
# barrier no span crosses (this makes masking idempotent).
_GROUP = r"[0-9*]*[0-9](?:[0-9*]*[0-9])?\**(?:[Xx](?![A-Za-z0-9]))?|\*+"
_SEP = r"[ \-]{1,3}"
# Not after "<digit>.": the decimals of a number (0.4032818618598956) are not a number of their own.
_RUN = re.compile(rf"(?<![0-9*])(?<![0-9]\.)(?:{_GROUP})(?:{_SEP}(?:{_GROUP}))*")
_GROUP_RE = re.compile(_GROUP)
# Digit groups joined by dots, three groups at least (138.1234.5678, 6222.0212.3456.7894): read with
# the dots as spaces. Two groups (a decimal) or short groups (an IP address, 2016.3.5) are not.
# (The last group of a card written in fours may be shorter: 6222.0212.3456.7894.1.)
_DOTTED = re.compile(
    r"(?<![0-9*.])[0-9*]{2,8}(?:(?:\.[0-9*]{3,6}){2,4}(?:\.[0-9*]{1,2})?|(?:\.[0-9*]{3,6}){1,3}\.[0-9*]{1,2})(?![0-9*]|\.[0-9])"
)

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


def _is_yyyymmdd(s: str) -> bool:
    """Eight digits that are a date 1900-01-01 .. 2099-12-31 (a date in a code, past or future)."""
    import datetime as dt

    if len(s) != 8 or not s.isdigit() or not ("1900" <= s[:4] <= "2099"):
        return False
    try:
        dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))
    except ValueError:
        return False
    return True


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


# Issuer prefixes (ISO/IEC 7812): Visa, Mastercard (and 2221-2720), UnionPay 62, the bank's own 95599
# and ICBC's 9558 debit cards; then the ones a mainland complaint rarely carries (BOC/RuPay 60,
# Discover 64/65, Diners 30/36/38/39, JCB 35).
CARD_PREFIXES = ("4", "5", "62", "9558", "95599")
MINOR_CARD_PREFIXES = ("60", "64", "65", "30", "35", "36", "38", "39")


def is_card_number(s: str) -> bool:
    """16-19 digits, Luhn-valid, with a plausible issuer prefix (CARD_PREFIXES, 2221-2720 or
    MINOR_CARD_PREFIXES), except 16 digits that start with a province code and end in a date (an
    outlet code followed by a date)."""
    if not (16 <= len(s) <= 19) or not s.isdigit() or not s.isascii():
        return False
    if len(s) == 16 and int(s[:2]) in PROVINCES and _is_yyyymmdd(s[8:]):
        return False  # an outlet code (a province code first) and a date, whatever the issuer range
    if not (s.startswith(CARD_PREFIXES) or s.startswith(MINOR_CARD_PREFIXES) or 2221 <= int(s[:4]) <= 2720):
        return False
    return luhn_ok(s)


_MOBILE = re.compile(r"(?:0086|86|0)?(1[3-9]\d{9})")
_MOBILE_AT = re.compile(r"1[3-9]\d{9}")


def _mobile_offset(s: str) -> int | None:
    """Where the 11-digit mobile number starts in ``s`` (after 0, 86 or 0086), or None."""
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


def _run_together(digits: str) -> list[int] | None:
    """Starts of the mobiles when ``digits`` is nothing but mobiles (each after 0/86/0086 or not)."""

    def walk(p: int) -> list[int] | None:
        if p == len(digits):
            return []
        for pre in ("", "0", "86", "0086"):
            q = p + len(pre)
            if digits.startswith(pre, p) and _MOBILE_AT.match(digits, q) and len(digits) - q >= 11:
                rest = walk(q + 11)
                if rest is not None:
                    return [q, *rest]
        return None

    return walk(0)


def _inner_mobiles(digits: str) -> list[int]:
    """Starts of the mobiles inside a longer unseparated run that is no ID or card (see the module doc)."""
    if len(digits) <= 11 or len(digits) > 40 or not digits.isdigit():
        return []
    together = _run_together(digits)
    if together:
        return together
    if len(digits) == 16 and (_is_yyyymmdd(digits[8:]) or _is_yyyymmdd(digits[:8])):
        return []  # an outlet code and a date, or a date-first ticket number
    starts = []
    if _MOBILE_AT.fullmatch(digits[:11]):
        starts.append(0)
    if _MOBILE_AT.fullmatch(digits[-11:]) and len(digits) - 11 >= (11 if starts else 0):
        starts.append(len(digits) - 11)
    return starts


_INNER_STAR = re.compile(r"[0-9]\*|^\*+$")


def _number_spans(view: str):
    """Personal numbers in the view: (positions of their digits, keep_first, keep_last)."""
    view = _DOTTED.sub(lambda m: m.group().replace(".", " "), view) if "." in view else view
    for run in _RUN.finditer(view):
        groups = []  # (positions of digits and X, text of them, starred at an edge) or None for a barrier
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
                    if not 11 <= len(cand) <= 19:
                        continue
                    kept = _classify(cand)
                    if kept == (4, 4) and j == i + 1 and len(groups[i][1]) == 8 and _is_yyyymmdd(groups[j][1]):
                        kept = None  # a code and a date (33180101 20160305), not a card
                    if kept is not None:
                        best = (j, kept, len(cand))
                        break
            if best is None:
                if groups[i] is not None and not groups[i][2]:
                    pos, g, _ = groups[i]
                    for s in _inner_mobiles(g):
                        yield pos[s : s + 11], 3, 4
                i += 1
                continue
            j, (first, last), n = best
            positions = [p for grp in groups[i : j + 1] for p in grp[0]][:n]
            yield positions, first, last
            i = j + 1


# Every personal number has 11 digits at least, with at most 3 separators between two of them.
_LONG_DIGITS = re.compile(r"[0-9](?:[ .\-]{0,3}[0-9]){10}")


def _mask_numbers(view: str) -> str:
    # Repeat until nothing changes: the digits a masked number keeps (its last 4, say) could, with a
    # neighbouring group, read as another number; masking that too keeps mask_text idempotent.
    for _ in range(10):
        if not _LONG_DIGITS.search(view):
            return view
        out = None
        for positions, first, last in _number_spans(view):
            out = out or list(view)
            for p in positions[first : len(positions) - last]:
                out[p] = MASK
        if out is None:
            return view
        view = "".join(out)
    return view


def _star(view: str, spans) -> str:
    """``view`` with every character in the (start, end) spans replaced by MASK."""
    out = None
    for a, b in spans:
        if a < b:
            out = out or list(view)
            out[a:b] = MASK * (b - a)
    return view if out is None else "".join(out)


# ------------------------------------------------------------------------------------------ e-mail
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+@*-])[A-Za-z0-9._%+-]([A-Za-z0-9._%+-]*)@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def _mask_emails(view: str) -> str:
    if "@" not in view:
        return view
    return _star(view, [m.span(1) for m in _EMAIL.finditer(view)])


# ------------------------------------------------------------------------------------ WeChat and QQ
_ASK = r"\s*(?:号码|账号|号)?\s*[:]?\s*(?:是|为)?\s*[:]?\s*"
_WECHAT = re.compile(
    rf"(?:微信|(?<![A-Za-z])(?:weixin|WeChat|wechat|wx|WX)(?=[\s:号]))(?:ID|id)?{_ASK}(?P<id>[A-Za-z][A-Za-z0-9_-]{{5,19}}|[0-9]{{6,20}})(?![A-Za-z0-9_*-])"
)
_QQ = re.compile(rf"(?:(?<![A-Za-z])[Qq][Qq]|扣扣){_ASK}(?P<id>[1-9][0-9]{{4,11}})(?![0-9*])")


def _mask_ids(view: str) -> str:
    spans = [(m.start("id") + 1, m.end("id")) for rx in (_WECHAT, _QQ) for m in rx.finditer(view)]
    return _star(view, spans)


# ---------------------------------------------------------------------------------------- addresses
_ROAD = re.compile(r"[\u4e00-\u9fff](?:路|街|大道|巷|弄|胡同|里)(?P<n>[0-9]+(?:-[0-9]+)?)(?:号|弄|栋|幢)")
_BUILDING = re.compile(
    r"(?<![0-9*])(?P<b>[0-9]+)(?:栋|幢|号楼|座)(?:(?P<u>[0-9]+)单元)?(?:(?P<f>[0-9]+)(?:层|楼))?(?:(?P<r>[0-9]+)(?:室|号|户))?"
)
_UNIT = re.compile(r"(?<![0-9*])(?P<u>[0-9]+)单元(?:(?P<f>[0-9]+)(?:层|楼))?(?:(?P<r>[0-9]+)(?:室|号|户)?)?")
_ESTATE = re.compile(r"(?:小区|花园|公寓|大厦|家园|新村|苑|社区|宿舍|新城)(?P<r>[0-9]+)(?:室|号|户|栋|幢)")


_ADDRESS_HINT = re.compile(r"[0-9](?:号|弄|栋|幢|座|单元|层|楼|室|户)")


def _mask_addresses(view: str) -> str:
    if not _ADDRESS_HINT.search(view):
        return view
    spans = []
    for rx in (_ROAD, _BUILDING, _UNIT, _ESTATE):
        for m in rx.finditer(view):
            spans += [(p, p + 1) for k in rx.groupindex if m.group(k) for p in range(*m.span(k)) if view[p].isdigit()]
    return _star(view, spans)


# ------------------------------------------------------------------------------------------- names
HONORIFICS = ("先生", "女士", "小姐", "太太", "夫人", "老师", "师傅", "阿姨", "大爷", "大妈", "大姐", "大哥", "同志",
              "经理", "主任", "科长", "处长", "局长", "老板", "律师", "医生", "警官")
# (行长 and 总 are left out: 火车站支行长春路 and 车站总台 would read as names.)
LABELS = ("客户姓名", "户主姓名", "姓名", "户名", "户主", "账户名", "联系人", "收件人", "收货人", "寄件人", "投诉人", "来电人",
          "来访人", "持卡人", "开户人", "申请人", "当事人", "借款人", "收款人", "代理人", "委托人", "本人", "我叫", "名叫", "叫做",
          "丈夫", "妻子", "爱人", "配偶", "老公", "老婆", "儿子", "女儿", "父亲", "母亲",
          "柜员", "大堂经理", "客户经理", "理财经理", "工作人员")
# Two-character words that start with a surname character but are not names (客户高度不满, 客户方面表示).
NOT_NAMES = frozenset("方面 高度 余额 金额 关系 安全 明确 明显 成功 全部 全额 全程 申请 申诉 包括 严重 严格 文件 程序 "
                      "于是 向我 向其 向本 司法 司机 管理 管辖 车辆 花费 武汉 江苏 宁波 常州 温州 邢台 段时 孔明 景区 "
                      "曾经 曾多 解释 解决 查询 查看 查到 连续 谈话 单位 单据 房贷 房屋 房产 宋体 计算 任务 任何 华为 "
                      "容易 尚未 燕郊 左右 高兴 高速 卫生 龙岗 米兰 全国 全款 全部 储蓄 蓝色 柳州 韦氏 卓越 杜绝 简单 "
                      "应该 詹姆 邱县 宫颈 冷静 柴油 邵阳 易方 易购 郁闷 周末 周一 周二 周三 周四 周五 周六 周日 何时 何处 "
                      "董事 高管 高层 金卡 金融 金条 马上 黄金 白金 钱款 石油 林业 田地 江城 龙卡 万元 千元 百元 "
                      "全家 全体 全天 付费 付息 付出 常年 常常 高考 毛病 晚上 余下 程度 时间 时候 凌晨 夏天 秋天 "
                      "冬天 春节 苏州 杭州 广州 黄山 万达 沈阳 贺卡 牛奶 年龄 年纪 包装 包裹 孙子 孙女 史上 全覆 全面 全力".split())
# Words that commonly follow a name; a given name ends before them.
FOLLOWERS = ("来电", "致电", "来访", "来行", "到行", "前来", "反映", "反应", "投诉", "称", "表示", "认为", "要求", "希望",
             "电话", "手机", "联系", "身份证", "证件", "卡号", "账号", "名下", "本人", "持", "办理", "前往", "在", "于",
             "到", "的", "因", "对", "向", "说", "等", "与", "和", "及", "通过", "使用", "已", "未", "多次", "再次",
             "态度", "服务", "没有", "拒绝", "告知", "解释", "让", "给", "帮", "工作", "遭遇", "发现", "收到", "咨询", "申请", "之",
             "某日", "某天", "某月", "某年", "某时", "两位", "二位")
# Verbs that, right after a clause-opening name, make it a person: 王建国反映..., 张伟投诉...
CLAUSE_VERBS = ("反映", "反应", "投诉", "称", "来电", "致电", "来访", "来信", "表示", "要求", "认为", "持")
# Characters that never start or continue a given name (function words, 某 of anonymised forms, and
# the places and things that follow 客户于/客户向/客户付: 网点, 柜台, 营业厅, 付款, 窗口, 账户).
STOP = ("某的了是在不也就都对从向因被把已未又再还很要称说到去来将和与及等为让请由给跟同之其这那我你他她它们老该此并但而或即于以所着过会能可没无非每各本经理员行户电话号码卡支站"
        "网柜营款厅窗账两位")
AMBIGUOUS_SURNAMES = "于向"
# Punctuation (full-width and ASCII, as written or after NFKC) and spaces that open a clause.
_OPENERS = r"，。：:；;！!？?,.、\s（(“”\"'‘’「」『』【】《》/\-—…"
_COUNT = r"(?:等)?[两二三四五六七八九十几多]?(?:位|名|个)(?:客户|顾客|储户|老人|用户|持卡人|家属)"

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
    labels = "|".join(sorted(LABELS, key=len, reverse=True))
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
    clause = re.compile(rf"(?:^|(?<=[{_OPENERS}]))(?P<sur>{sur})(?P<given>{g}{{1,2}}?)(?![{MASK}])(?=(?:{strong}|[（(]))")
    # Names listed before a count of people: 王伟、李娜两位客户.
    listed = re.compile(rf"(?:{sur}{g}{{1,2}}、){{1,6}}{sur}{g}{{1,2}}?(?={_COUNT})")
    one = re.compile(rf"(?P<sur>{sur})(?P<given>{g}{{1,2}})")
    # What each rule needs in the text (cheap to search for), so that a rule only runs where it can match.
    hints = {
        "honorific": re.compile(hon),
        "labelled": re.compile(labels),
        "customer": re.compile("客户"),
        "clause": re.compile(rf"{strong}|[（(]"),
        "listed": re.compile("、"),
    }
    return honorific, labelled, labelled_greedy, customer, clause, listed, one, hints


def _is_word(m: re.Match) -> bool:
    """The would-be name is an ordinary word (客户高度不满)."""
    name = m.group("sur") + m.group("given")
    return name[:2] in NOT_NAMES or name in NOT_NAMES


def _mask_names(text: str) -> str:
    honorific, labelled, labelled_greedy, customer, clause, listed, one, hints = _name_patterns()
    has = {k: rx.search(text) is not None for k, rx in hints.items()}
    spans: list[tuple[int, int]] = []
    for key, rx in (("labelled", labelled), ("customer", customer), ("clause", clause)):
        if has[key]:
            spans += [m.span("given") for m in rx.finditer(text) if not _is_word(m)]
    covered = {p for a, b in spans for p in range(a, b)}
    for m in labelled_greedy.finditer(text) if has["labelled"] else ():
        if not _is_word(m) and not any(p in covered for p in range(m.start("sur"), m.end("given"))):
            spans.append(m.span("given"))
    sn = set(surnames())
    for m in listed.finditer(text) if has["listed"] else ():
        start = m.start()
        for k, piece in enumerate(m.group().split("、")):
            if k == 0 and len(piece) == 3 and piece[0] in AMBIGUOUS_SURNAMES and piece[1] in sn:
                start, piece = start + 1, piece[1:]  # 向王伟、李娜两位客户: 向 is the preposition
            p = one.fullmatch(piece)
            if p is not None and not _is_word(p):
                spans.append((start + p.start("given"), start + p.end("given")))
            start += len(piece) + 1
    pos = 0 if has["honorific"] else len(text) + 1
    while pos <= len(text) and (m := honorific.search(text, pos)) is not None:
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
    return _star(text, spans)


# ------------------------------------------------------------------------------------------ public
def mask_view(view: str) -> str:
    """Every rule, in order, on text already in the normalised view (see :func:`normalise`)."""
    return _mask_names(_mask_addresses(_mask_ids(_mask_emails(_mask_numbers(view)))))


def mask_text(text: str) -> str:
    """Mask resident ID, mobile and bank card numbers, e-mail addresses, WeChat/QQ ids, street and
    room numbers and full names in ``text`` (the rules run on its NFKC view; see the module doc)."""
    if not text:
        return text
    view, origin = normalise(text)
    masked = mask_view(view)
    if masked == view:
        return text
    out = list(text)
    for i, (a, b) in enumerate(zip(view, masked)):
        if a != b:
            out[i if origin is None else origin[i]] = MASK
    return "".join(out)


@cache
def _prefilter() -> str:
    """A lookaround-free pattern (pyarrow/RE2 can run it) that every text needing masking matches,
    once NFKC-normalised: a long digit run, an @, a digit by an address word, or a word some name,
    id or address rule needs."""
    sep = "[ .\\-\t\u2010-\u2015\u2212]"
    numbers = f"[0-9](?:{sep}{{0,3}}[0-9]){{10,}}"
    address = "[0-9](?:号|弄|栋|幢|座|单元|层|楼|室|户)"
    words = "|".join(HONORIFICS + LABELS + CLAUSE_VERBS + ("客户", "位", "名", "个", "微信", "weixin", "WeChat", "wechat", "wx", "WX", "[Qq][Qq]", "扣扣"))
    return f"{numbers}|@|[(（]|{address}|{words}"


def mask_series(s: pd.Series) -> pd.Series:
    """:func:`mask_text` over a column; missing values stay missing, index and name are kept.

    A vectorised pre-filter picks the texts that can hold personal data (see :func:`_prefilter`);
    only those go through :func:`mask_text`.
    """
    out = s.astype("string")
    if out.empty:
        return out
    candidate = out.str.normalize("NFKC").str.contains(_prefilter(), regex=True, na=False)
    if candidate.any():
        out = out.copy()
        out[candidate] = out[candidate].map(mask_text).astype("string")
    return out


def find_personal_numbers(text: str) -> list[str]:
    """Personal numbers (ID, card, mobile) still present in ``text``: for checking outputs.

    The same scan :func:`mask_text` uses, returning the numbers instead of masking them.
    """
    view, _ = normalise(text)
    view = _DOTTED.sub(lambda m: m.group().replace(".", " "), view) if "." in view else view
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

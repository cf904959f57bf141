"""The rules of a source definition as one engine expression: parse every cell, check every row.

This is the only translation of ``sources/*.yaml`` into checks. It builds an Ibis expression over the
staged text cells (:mod:`analysis.clean.stage`), so the same rules run on DuckDB (embedded, spilling
to disk) and on Spark, for a 20-row workbook and for a hundred million queue tickets alike.

Parsing, per column type (text is first trimmed, whitespace runs collapsed, NFKC applied to cells
beyond ASCII by the staging step):

- ``id``: spaces removed, ``33180101.0`` (an Excel float) read as ``33180101``;
- ``name``: spaces between Chinese characters removed; ``text``: as is;
- ``number``: thousands separators (``1,234,567.5``), spaces, ``(1,234)`` as negative, exponents;
  a value that is not finite (``1e400``) is rejected;
- ``int``: a number that is whole, or one of the column's labels (``非常满意`` -> 5);
- ``percent``: ``90%`` -> 0.9; bare numbers are fractions unless a bare number in the file exceeds
  1.5, then the file's bare numbers are percentage points;
- ``bool``: 是/否, Y/N, true/false, 1/0, 有/无, √/×, 通过/未通过 ...;
- ``datetime``/``date``: ``2016-03-05 09:02:29``, ``2016/3/5 9:05``, ``2016年3月5日``, ``20160305 090229``,
  ``2016.3.5``, Excel day serials (20000-80000); a date before the column's ``earliest`` (1990 unless
  the YAML says otherwise) or after today is rejected;
- ``month``: ``2016-03``, ``2016/3``, ``2016年3月``, ``201603`` or a full date -> ``YYYY-MM``;
- ``category``: the column's labels -> codes; a label outside them is kept as ``unmapped`` with the
  label in ``<column>_label`` (counted and listed on the data-quality page), not rejected.

Checks: required cells, ``min``/``max``, references to master data, ``not_before`` with its
tolerance, 合计/总计/小计 rows, exact duplicates, repeated keys within a file and across files.
Every failed check is a rule with a *kind* (what the reports count, naming the column), a reason
code of the closed set (:class:`analysis.rejects.Reason`, what the collector counts) and a message
that names the column and the value.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.datatypes as dt_
import ibis.expr.types as ir

from analysis.clean.sources import Column, Rule, Source
from analysis.clean.stage import NORM
from analysis.errors import InvariantError
from analysis.io.parse import MISSING_TOKENS, nfkc
from analysis.rejects import Reason

SUMMARY_TOKENS = ("合计", "总计", "小计", "total")
UNMAPPED = "unmapped"

_TRUE = ("是", "y", "yes", "true", "t", "1", "有", "√", "✓", "对", "通过", "已完成", "完成")
_FALSE = ("否", "n", "no", "false", "f", "0", "无", "×", "✗", "错", "未通过", "未完成")
_CJK = "\u3400-\u9fff\uf900-\ufaff"
_NUMBER = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_THOUSANDS = r"^[+-]?[0-9]+(,[0-9]{3})+(\.[0-9]*)?$"
_DATE_RE = (
    r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?"
    r"(?:\s*[T ]?\s*([0-9]{1,2})\s*[:时]\s*([0-9]{1,2})\s*(?:[:分]\s*([0-9]{1,2}(?:\.[0-9]+)?)\s*秒?)?\s*分?)?$"
)
_COMPACT_RE = r"^([0-9]{4})([0-9]{2})([0-9]{2})(?:\s*([0-9]{2}):?([0-9]{2}):?([0-9]{2})?)?$"
_ISO_RE = r"^(19|20|21)[0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]$"
_MONTH_RE = r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*月?$"
_MONTH_COMPACT_RE = r"^([0-9]{4})([0-9]{2})$"
_EXCEL_EPOCH_S = -2209161600  # 1899-12-30 00:00:00 UTC, day 0 of Excel's serials
DEFAULT_EARLIEST = dt.date(1990, 1, 1)
# The fast date forms by text length, in each engine's format language.
_FAST_FORMS = {19: "%Y-%m-%d %H:%M:%S", 15: "%Y%m%d %H%M%S", 14: "%Y%m%d%H%M%S", 8: "%Y%m%d"}
_FAST_FORMS_SPARK = {19: "yyyy-MM-dd HH:mm:ss", 15: "yyyyMMdd HHmmss", 14: "yyyyMMddHHmmss", 8: "yyyyMMdd"}


@ibis.udf.scalar.builtin(name="try_strptime", signature=((dt_.string, dt_.string), dt_.timestamp))
def _try_strptime(x, fmt): ...  # DuckDB


@ibis.udf.scalar.builtin(name="try_to_timestamp", signature=((dt_.string, dt_.string), dt_.timestamp))
def _try_to_timestamp(x, fmt): ...  # Spark


def _lit(s: str) -> ir.StringValue:
    return ibis.literal(s, type="string")


def _q(x: ir.StringValue) -> ir.StringValue:
    return _lit("'") + x + _lit("'")


def _g(x: ir.StringValue, pattern: str, i: int) -> ir.StringValue:
    """Group ``i`` of ``pattern`` in ``x``, null when it did not take part in the match."""
    v = x.re_extract(pattern, i)
    return ibis.ifelse(v == "", ibis.null("string"), v)


class Translation:
    """The expression for one source over a staged table; see :meth:`classified`.

    The expression is built in layers, each a view of the one before (``view``, given by the
    engine), so that a cell's text, its parsed value and its checks are each computed once and
    the generated SQL stays small: 1. the text of every cell, 2. parsed values, 3. the checks
    on them, 4. references, summary rows, duplicates and repeated keys.
    """

    def __init__(self, src: Source, backend: str, today: dt.date | None = None, view=None):
        self.src = src
        self.backend = backend
        self.today = today or dt.date.today()
        self.view = view or (lambda expr, keep=False: expr)
        self.rules: list[Rule] = []

    def _sub_groups(self, x, pattern: str, groups: str):
        """``regexp_replace`` with back-references (``\\1`` on DuckDB, ``$1`` on Spark)."""
        repl = groups if self.backend == "duckdb" else groups.replace("\\", "$")
        return x.re_replace(pattern, repl)

    def _join_cjk(self, x):
        y = x
        for _ in range(2):  # "中 国 人": each pass joins every other pair
            y = self._sub_groups(y, f"([{_CJK}]) ([{_CJK}])", r"\1\2")
        return ibis.ifelse(x.contains(" "), y, x)

    @staticmethod
    def text(t, c: str) -> ir.StringValue:
        """A cell as text: NFKC form where it has one, trimmed, whitespace runs collapsed, '' -> null."""
        x = t[c + NORM].coalesce(t[c]) if (c + NORM) in t.columns else t[c]
        # guarded: a regular expression or a trim on every cell costs more than the checks for the
        # rare cell that needs one
        odd = x.contains("  ") | x.contains("\t") | x.contains("\n") | x.contains("\r") | x.contains("\x0b") | x.contains("\x0c")
        x = ibis.ifelse(odd, x.re_replace(r"\s+", " "), x)
        x = ibis.ifelse(x.startswith(" ") | x.endswith(" "), x.re_replace("^ +| +$", ""), x)
        return x.nullif("")

    @staticmethod
    def present(x: ir.StringValue) -> ir.StringValue:
        """Null for the tokens exports write for an empty cell (-, n/a, 无数据 ...)."""
        longest = max(len(t) for t in MISSING_TOKENS)
        return ibis.ifelse((x.length() <= longest) & x.lower().isin(sorted(MISSING_TOKENS)), ibis.null("string"), x)

    @staticmethod
    def _number(x):
        plain = x.re_search(_NUMBER)
        return ibis.ifelse(plain, x.try_cast("float64"), Translation._number_slow(x))

    @staticmethod
    def _number_slow(x):
        t = x.replace(" ", "")
        t = ibis.ifelse(t.re_search(r"^\(.*\)$"), _lit("-") + t.re_extract(r"^\((.*)\)$", 1), t)
        t = ibis.ifelse(t.re_search(_THOUSANDS), t.replace(",", ""), t)  # after the brackets: (1,234)
        return ibis.ifelse(t.re_search(_NUMBER), t.try_cast("float64"), ibis.null("float64"))

    def _date_fast(self, x):
        """The timestamp of a date/time in the forms event logs use (``2016-03-05 09:02:29``,
        ``20160305 090229``, ``20160305090229``, ``20160305``), by the engine's own parser (one call,
        picked by the text's length); null for every other form (then the general rules apply)."""
        parse = _try_strptime if self.backend == "duckdb" else _try_to_timestamp
        forms = _FAST_FORMS if self.backend == "duckdb" else _FAST_FORMS_SPARK
        n = x.length()
        out = ibis.null("timestamp")
        for length, fmt in reversed(list(forms.items())):
            out = ibis.ifelse(n == length, parse(x, fmt), out)
        return out

    @staticmethod
    def _stamp(x, fast):
        """The timestamp of a date/time text: the fast form's (``fast``) where there is one, else
        from the pieces of the long and compact forms (year ... second), else an Excel day serial.
        The pieces are only computed for the rows the fast form did not parse (the engines evaluate
        a ``coalesce`` argument only where the ones before it are null)."""
        slow = fast.isnull() & x.notnull()
        long = x.re_search(_DATE_RE)
        y, m, d, hh, mi, ss = [ibis.ifelse(slow, ibis.ifelse(long, _g(x, _DATE_RE, i), _g(x, _COMPACT_RE, i)), ibis.null("string")) for i in range(1, 7)]
        ss = ss.fill_null("0")
        ss = ibis.ifelse(ss.re_search(r"^[0-9](\.|$)"), _lit("0") + ss, ss)
        built = y + "-" + m.lpad(2, "0") + "-" + d.lpad(2, "0") + " " + hh.fill_null("0").lpad(2, "0") + ":" + mi.fill_null("0").lpad(2, "0") + ":" + ss
        built = ibis.ifelse(y.cast("int64").between(1900, 2199), built, ibis.null("string"))
        num = ibis.ifelse(slow & x.re_search(r"^[0-9]+(\.[0-9]+)?$"), x.try_cast("float64"), ibis.null("float64"))
        serial = ibis.ifelse(num.between(20000, 80000), (ibis.literal(_EXCEL_EPOCH_S) + (num * 86400).round()).cast("int64").as_timestamp("s"), ibis.null("timestamp"))
        return ibis.coalesce(fast, built.try_cast("timestamp"), serial)

    # ------------------------------------------------------------------------ layer 2: parsing
    def _parsed(self, t, name: str, col: Column) -> dict:
        """Parsed values of one column from its text ``_x_<name>`` / ``_p_<name>`` (layer 2)."""
        x, p = t[f"_x_{name}"], t[f"_p_{name}"] if f"_p_{name}" in t.columns else None
        typ = col.type
        if typ == "id":
            v = ibis.ifelse(x.contains(" "), x.replace(" ", ""), x)
            return {f"_v_{name}": ibis.ifelse(v.contains(".") & v.re_search(r"^[0-9]+\.0+$"), v.re_extract(r"^([0-9]+)\.0+$", 1), v)}
        if typ == "name":
            return {f"_v_{name}": self._join_cjk(x)}
        if typ == "text":
            return {f"_v_{name}": x}
        if typ in ("number", "int"):
            out = {f"_n_{name}": self._number(p)}
            if typ == "int" and col.values:
                lookup = {nfkc(str(k)).lower(): int(v) for k, v in col.values.items()}
                out[f"_l_{name}"] = p.lower().substitute(lookup, else_=ibis.null("int64"))
            return out
        if typ == "percent":
            has_pct = p.endswith("%")
            stripped = self.present(ibis.ifelse(has_pct, p.re_replace(r"%+$", "").strip().nullif(""), p))
            return {f"_n_{name}": self._number(stripped), f"_h_{name}": has_pct.fill_null(False), f"_e_{name}": has_pct & stripped.isnull()}
        if typ == "bool":
            low = p.lower()
            return {f"_v_{name}": ibis.ifelse(low.isin(list(_TRUE)), True, ibis.ifelse(low.isin(list(_FALSE)), False, ibis.null("boolean")))}
        if typ in ("datetime", "date"):
            return {f"_t_{name}": self._stamp(p, t[f"_dt_{name}"])}
        if typ == "month":
            short = p.re_search(_MONTH_RE)
            y = ibis.ifelse(short, _g(p, _MONTH_RE, 1), _g(p, _MONTH_COMPACT_RE, 1))
            m = ibis.ifelse(short, _g(p, _MONTH_RE, 2), _g(p, _MONTH_COMPACT_RE, 2))
            return {f"_my_{name}": y, f"_mm_{name}": m, f"_t_{name}": self._stamp(ibis.ifelse(y.isnull(), p, ibis.null("string")), t[f"_dt_{name}"])}
        if typ == "category":
            key = self.present(self._join_cjk(x))
            lookup = {nfkc(str(k)).lower(): str(v) for k, v in col.values.items()}
            return {f"_k_{name}": key, f"_c_{name}": key.lower().substitute(lookup, else_=ibis.null("string"))}
        raise InvariantError(f"unknown column type {typ!r} (sources.py validates the types)")

    # ------------------------------------------------------------------------- layer 3: checks
    def _checked(self, t, name: str, col: Column, flags: dict) -> dict:
        """The column's final value (invalid values emptied) and its parse rules (layer 3)."""
        label = f"{name} ({col.title})"
        p = t[f"_p_{name}"] if f"_p_{name}" in t.columns else None
        typ = col.type

        def rule(key: str, reason: Reason, kind: str, flag, message: tuple) -> None:
            self.rules.append(Rule(f"{name}__{key}", kind, reason.code))
            flags[f"{name}__{key}"] = flag.fill_null(False)
            self._specs[f"{name}__{key}"] = (name, *message)

        if typ in ("id", "name", "text"):
            return {name: t[f"_v_{name}"]}
        if typ in ("number", "int", "percent"):
            num = t[f"_n_{name}"]
            lab = t[f"_l_{name}"] if f"_l_{name}" in t.columns else ibis.null("int64")
            finite = num.notnull() & ~num.isinf() & ~num.isnan()
            if typ == "percent":
                rule("nan", Reason.NOT_A_PERCENTAGE, f"{label}: not a percentage", (p.notnull() & num.isnull()) | t[f"_e_{name}"], (f"{label}: not a percentage: ", "text"))
            else:
                rule("nan", Reason.NOT_A_NUMBER, f"{label}: not a number", p.notnull() & lab.isnull() & num.isnull(), (f"{label}: not a number: ", "text"))
            rule("inf", Reason.NOT_FINITE, f"{label}: not a finite number", lab.isnull() & num.notnull() & ~finite, (f"{label}: not a finite number: ", "text"))
            ok = ibis.ifelse(finite, num, ibis.null("float64"))
            if typ == "number":
                return {name: ok}
            if typ == "percent":
                bare = ok.notnull() & ~t[f"_h_{name}"]
                points = ibis.ifelse(bare, ok.abs(), ibis.null("float64")).max().over(group_by="_file") > 1.5
                scale = t[f"_h_{name}"] | (bare & points.fill_null(False))
                return {name: ibis.ifelse(scale, ok / 100.0, ok)}
            whole = ok.notnull() & (ok == ok.round())
            as_int = ibis.ifelse(whole & (ok.abs() < 9.2e18), ok.cast("int64"), ibis.null("int64"))
            rule("frac", Reason.NOT_WHOLE, f"{label}: not a whole number", lab.isnull() & ok.notnull() & ~whole, (f"{label}: not a whole number: ", "text"))
            rule("big", Reason.NOT_FINITE, f"{label}: not a finite number", lab.isnull() & whole & as_int.isnull(), (f"{label}: too large: ", "text"))
            return {name: lab.coalesce(as_int)}
        if typ == "bool":
            rule("nan", Reason.NOT_YES_NO, f"{label}: not yes/no", p.notnull() & t[f"_v_{name}"].isnull(), (f"{label}: not yes/no: ", "text"))
            return {name: t[f"_v_{name}"]}
        if typ in ("datetime", "date"):
            ts = t[f"_t_{name}"]
            rule("nan", Reason.NOT_A_DATE, f"{label}: not a date", p.notnull() & ts.isnull(), (f"{label}: not a date: ", "text"))
            timed = ibis.literal(False)
            if typ == "date":
                timed = ts.notnull() & (ts != ts.truncate("D"))
                rule("time", Reason.DATE_WITH_TIME, f"{label}: expected a date without a time", timed, (f"{label}: expected a date without a time: ", "text"))
            earliest = col.earliest or DEFAULT_EARLIEST
            early = ts.notnull() & (ts < ibis.timestamp(dt.datetime.combine(earliest, dt.time())))
            late = ts.notnull() & (ts >= ibis.timestamp(dt.datetime.combine(self.today + dt.timedelta(days=1), dt.time())))
            rule("early", Reason.TOO_EARLY, f"{label}: before {earliest:%Y-%m-%d}", early & ~timed, (f"{label}: before {earliest:%Y-%m-%d}, not plausible: ", "text"))
            rule("late", Reason.IN_FUTURE, f"{label}: in the future", late & ~timed, (f"{label}: after today ({self.today:%Y-%m-%d}), in the future: ", "text"))
            return {name: ibis.ifelse(early | late | timed, ibis.null("timestamp"), ts)}
        if typ == "month":
            ts = t[f"_t_{name}"]
            y = t[f"_my_{name}"].coalesce(ts.year().cast("string"))
            m = t[f"_mm_{name}"].coalesce(ts.month().cast("string"))
            ok = y.notnull() & m.cast("int64").between(1, 12)
            rule("nan", Reason.NOT_A_MONTH, f"{label}: not a month", p.notnull() & ~ok.fill_null(False), (f"{label}: not a month: ", "text"))
            return {name: ibis.ifelse(ok, y + "-" + m.lpad(2, "0"), ibis.null("string"))}
        if typ == "category":
            key, code = t[f"_k_{name}"], t[f"_c_{name}"]
            unmapped = key.notnull() & code.isnull()
            return {name: ibis.ifelse(unmapped, _lit(UNMAPPED), code), f"{name}_label": ibis.ifelse(unmapped, key, ibis.null("string"))}
        raise InvariantError(f"unknown column type {typ!r} (sources.py validates the types)")

    # ---------------------------------------------------------------------------------- the table
    def classified(self, t, known: dict[str, ir.Table], labels: ir.Table):
        """Every staged row with its typed columns, one boolean per rule, ``_ok`` and ``_reason``.

        ``t`` has ``_file`` (the staged table's number), ``_line``, ``_absent`` (``,a,b,``: the
        columns the file lacks) and the staged text columns;
        ``known`` maps ``source.column`` to a one-column table ``value`` of the values that exist
        there (references to sources not in ``known`` are not checked); ``labels`` (``_label_file``,
        ``_label``) names each file for the messages that point at another file.
        """
        src = self.src
        staged, raw_cols = t, list(src.columns)
        self.rules = []
        # 1. text
        layer = {}
        for name in src.columns:
            layer[f"_x_{name}"] = self.text(t, name)
        # the original cells stay in the staged table: only duplicate candidates and rejected rows
        # need them, and they are joined back by (_file, _line)
        # On DuckDB layers 1-3 are views: its optimizer computes a value used several times once, and
        # a table per layer cost more than it saved (1 M tickets: 12.8 s of CPU with tables, 10.9 s
        # without). Spark inlines a view's expressions at every use (its plans for the bundled bank
        # then ran the driver out of memory), so there each layer is computed once (cached).
        spark = self.backend == "spark"
        t = self.view(t.select("_file", "_line", "_absent", **layer), keep=spark)
        dated = [n for n, c in src.columns.items() if c.type in ("datetime", "date", "month")]
        t = self.view(t.mutate(**{f"_p_{n}": self.present(t[f"_x_{n}"]) for n, c in src.columns.items() if c.type not in ("id", "name", "text", "category")}, **{f"_dt_{n}": self._date_fast(t[f"_x_{n}"]) for n in dated}), keep=spark)
        # 2. parsed values
        layer = {}
        for name, col in src.columns.items():
            layer.update(self._parsed(t, name, col))
        t = self.view(t.mutate(**layer), keep=spark)
        # 3. checks on the values
        flags, values = {}, {}
        self._specs = {}
        for name, col in src.columns.items():
            values.update(self._checked(t, name, col, flags))
        t = self.view(t.select("_file", "_line", "_absent", *[f"_x_{n}" for n in src.columns], **values, **{f"_f_{k}": v for k, v in flags.items()}))
        flags = {}
        parse_failed = {n: ibis.or_(*[t[f"_f_{r.name}"] for r in self.rules if r.name.startswith(n + "__")]) if any(r.name.startswith(n + "__") for r in self.rules) else ibis.literal(False) for n in src.columns}
        for name, col in src.columns.items():
            label = f"{name} ({col.title})"
            v = t[name]
            if not col.nullable:  # a column the file lacks (an optional one) is not an empty cell
                flags[f"{name}__required"] = v.isnull() & ~parse_failed[name] & ~t._absent.contains(f",{name},")
                self._specs[f"{name}__required"] = (name, f"{label}: empty, but required", None)
                self.rules.append(Rule(f"{name}__required", f"{label}: empty, but required", Reason.MISSING.code))
            if col.min is not None:
                flags[f"{name}__min"] = (v < col.min).fill_null(False)
                self._specs[f"{name}__min"] = (name, f"{label}: below the minimum {col.min:g}: ", "value")
                self.rules.append(Rule(f"{name}__min", f"{label}: below the minimum {col.min:g}", Reason.BELOW_MINIMUM.code))
            if col.max is not None:
                flags[f"{name}__max"] = (v > col.max).fill_null(False)
                self._specs[f"{name}__max"] = (name, f"{label}: above the maximum {col.max:g}: ", "value")
                self.rules.append(Rule(f"{name}__max", f"{label}: above the maximum {col.max:g}", Reason.ABOVE_MAXIMUM.code))
        for k, chk in enumerate(src.checks):
            a, b = t[chk.column], t[chk.reference]
            msg = f"{chk.column} ({src.columns[chk.column].title}) is before {chk.reference} by more than {chk.tolerance_seconds:g} s: impossible"
            flags[f"check{k}"] = ((b.epoch_seconds() - a.epoch_seconds()) > chk.tolerance_seconds).fill_null(False)
            self._specs[f"check{k}"] = (None, msg, None)
            self.rules.append(Rule(f"check{k}", msg, Reason.TIME_ORDER.code))
        t = t.mutate(**{f"_f_{k}": v for k, v in flags.items()})
        # 4. references to master data
        for name, target in src.references().items():
            if target not in known:
                continue
            ref = known[target].select(_ref=known[target].value).distinct()
            t = t.left_join(ref, t[name] == ref._ref)
            col = src.columns[name]
            rname = f"{name}__ref"
            self.rules.append(Rule(rname, f"{name} ({col.title}): not in {target}", Reason.NOT_IN_REFERENCE.code))
            flag = (t[name].notnull() & t._ref.isnull()).fill_null(False)
            t = t.mutate(**{f"_f_{rname}": flag}).drop("_ref")
            self._specs[rname] = (name, f"{name} ({col.title}): ", "qvalue", f" is not in {target} (unknown unit)")
        # summary rows (合计) replace every other reason
        words = [c for c, d in src.columns.items() if d.type in ("id", "name")]
        summary = ibis.or_(*[ibis.or_(*[(t[c].lower() if tok.isascii() else t[c]).contains(tok) for tok in SUMMARY_TOKENS]).fill_null(False) for c in words]) if words else ibis.literal(False)
        any_flag = ibis.or_(*[t[f"_f_{r.name}"] for r in self.rules]) if self.rules else ibis.literal(False)
        # Exact duplicates (every original cell equal, within a file) and repeated keys (within a
        # file, then across files); the first occurrence stays. Only rows whose key (without a key:
        # whose every cell) occurs more than once can be either, and they are few: the windows run on
        # those candidates alone, not on every row.
        # without a key the candidates are grouped by the cells' text (equal cells have equal text,
        # so no exact duplicate is missed); the windows below compare the original cells
        group = src.key or [f"_x_{c}" for c in raw_cols]
        gkeys = {f"_g{i}": t[k].cast("string").fill_null("\x00") for i, k in enumerate(group)}
        # a table: the duplicate candidates and the final step both read it
        t = self.view(t.mutate(_summary=summary, _bad0=any_flag | summary, **gkeys), keep=True)
        gnames = list(gkeys) if src.key else ["_file", *gkeys]
        ok0 = t.filter(~t._bad0)
        groups = ok0.group_by(gnames).aggregate(_n=ok0._line.count())
        groups = groups.filter(groups._n > 1).drop("_n")
        cand = ok0.semi_join(groups, gnames).select("_file", "_line", *gkeys)
        cand = self.view(cand.join(staged.select("_file", "_line", *raw_cols), ["_file", "_line"]))
        w = ibis.window(group_by=[cand._file, *[cand[c].fill_null("\x00") for c in raw_cols]], order_by=cand._line)
        cand = self.view(cand.mutate(_dup_rn=ibis.row_number().over(w), _dup_of=cand._line.min().over(w)))
        cand = cand.mutate(_f_dup=cand._dup_rn > 0, _m_dup=_lit("duplicate of line ") + cand._dup_of.cast("string"))
        self.rules.append(Rule("dup", Reason.DUPLICATE_ROW.en(), Reason.DUPLICATE_ROW.code))
        found = ["_f_dup", "_m_dup"]
        if src.key:
            kv = [cand[g] for g in gkeys]
            w = ibis.window(group_by=[cand._f_dup, cand._file, *kv], order_by=cand._line)
            cand = self.view(cand.mutate(_key_rn=ibis.row_number().over(w), _key_of=cand._line.min().over(w)))
            keytxt = _lit(", ").join([_lit(f"{k}=") + cand[g].replace("\x00", "") for k, g in zip(src.key, gkeys)])
            cand = cand.mutate(_f_key=(~cand._f_dup) & (cand._key_rn > 0), _m_key=_lit("repeats the key (") + keytxt + _lit(") of line ") + cand._key_of.cast("string") + _lit(" with different values"))
            self.rules.append(Rule("key", Reason.REPEATED_KEY.en(), Reason.REPEATED_KEY.code))
            taken = cand._f_dup | cand._f_key
            w = ibis.window(group_by=[taken, *[cand[g] for g in gkeys]], order_by=[cand._file, cand._line])
            cand = self.view(cand.mutate(_xrn=ibis.row_number().over(w), _xfile=cand._file.first().over(w), _xline=cand._line.first().over(w)))
            cand = cand.left_join(labels, cand._xfile == labels._label_file).drop("_label_file")
            cand = cand.mutate(_f_xkey=~(cand._f_dup | cand._f_key) & (cand._xrn > 0), _m_xkey=_lit("repeats the key of ") + cand._label.fill_null("?") + _lit(" line ") + cand._xline.cast("string"))
            self.rules.append(Rule("xkey", Reason.KEY_IN_ANOTHER_FILE.en(), Reason.KEY_IN_ANOTHER_FILE.code))
            found += ["_f_key", "_m_key", "_f_xkey", "_m_xkey"]
        cand = self.view(cand.select("_file", "_line", *found))
        t = t.left_join(cand, ["_file", "_line"])
        t = t.mutate(**{f: t[f].fill_null(False) for f in found if f.startswith("_f_")})
        bad = t._bad0
        for f in found:
            if f.startswith("_f_"):
                bad = bad | t[f]
        t = self.view(t.mutate(_bad=bad))
        reason = ibis.ifelse(
            t._summary,
            _lit("summary row (合计), not a record"),
            _lit("; ").join([ibis.ifelse(t[f"_f_{r.name}"], self._message(t, r.name), ibis.null("string")) for r in self.rules]),
        )
        counted = {f"_f_{r.name}": ibis.ifelse(t._summary, False, t[f"_f_{r.name}"]) for r in self.rules}
        self.rules.append(Rule("summary", Reason.SUMMARY_ROW.en(), Reason.SUMMARY_ROW.code))
        counted["_f_summary"] = t._summary
        out = {
            "_file": t._file,
            "_line": t._line,
            "_ok": ~t._bad,
            "_reason": ibis.ifelse(t._bad, reason, ibis.null("string")),
            **{n: t[n] for n in self.output_columns()},
            **counted,
        }
        return t.select(**out)

    def _message(self, t, rule: str):
        """The message of ``rule`` for a row (built only for the rows that are rejected)."""
        if rule not in self._specs:  # duplicates and keys: computed on the candidates
            return t[f"_m_{rule}"]
        column, prefix, what, *suffix = self._specs[rule]
        msg = _lit(prefix)
        if what == "text":
            msg = msg + _q(self.present(t[f"_x_{column}"]))
        elif what == "value":
            msg = msg + t[column].cast("string")
        elif what == "qvalue":
            msg = msg + _q(t[column].cast("string"))
        return msg + _lit(suffix[0]) if suffix else msg

    def output_columns(self) -> list[str]:
        """The clean table's columns besides ``source_file``/``source_line``."""
        cols = list(self.src.columns)
        cols += [f"{n}_label" for n, c in self.src.columns.items() if c.type == "category"]
        return cols

"""The reader keeps physical records apart: stray quotes, huge fields, bad bytes, misleading
semicolons, merged cells, formulas without values and a lying sheet dimension, each on a small
hand-made file whose accounting is asserted (records = clean cells + malformed)."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from analysis.io.read import SourceError, read_tables

from conftest import FIXTURES_DIR

FIX = FIXTURES_DIR / "cfpb"
SNAKE = FIX / "owain-nortal_demo-data_consumer_complaints.csv"
CLASSIC = FIX / "nobieyi00_CUNY_MSDA_R_consumer_complaints.csv"

HEADER = "投诉编号,受理时间,投诉渠道,业务类别,投诉内容"


def _read(tmp_path, text: str | bytes, name="投诉_x.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    (t,) = read_tables(path)
    return t


def _rows(t) -> dict[int, list[str]]:
    return {line: list(r) for line, r in zip(t.lines, t.cells.itertuples(index=False, name=None))}


def _physical_lines(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") else 1)


# ------------------------------------------------------------------------------------------- quotes
def test_a_field_starting_with_a_quote_that_is_not_quoted_stays_in_its_line(tmp_path):
    text = (
        HEADER + "\n"  # 1
        'TS1,2016-03-05,网点,理财产品,"金钥匙"理财收益与宣传不符\n'  # 2: quote, text, quote, more text
        "TS2,2016-03-06,95599,信用卡,年费\n"  # 3
        "TS3,2016-03-07,网点,借记卡,吞卡\n"  # 4
    )
    t = _read(tmp_path, text)
    rows = _rows(t)
    assert t.malformed == []
    assert list(rows) == [2, 3, 4]
    assert rows[2][4] == '"金钥匙"理财收益与宣传不符'  # read as written: the quotes are text
    assert rows[3] == ["TS2", "2016-03-06", "95599", "信用卡", "年费"]


def test_an_unterminated_quote_ends_with_its_line_and_the_quote_is_kept(tmp_path):
    text = (
        HEADER + "\n"
        'TS1,2016-03-05,"95599,信用卡,年费\n'  # 2: the quote never closes
        "TS2,2016-03-06,95599,信用卡,年费\n"
        "TS3,2016-03-07,网点,借记卡,吞卡\n"
    )
    t = _read(tmp_path, text)
    rows = _rows(t)
    assert list(rows) == [2, 3, 4] and t.malformed == []
    # Not silently a call centre: the value is what the file says, an unknown channel label.
    assert rows[2][2] == '"95599'
    assert rows[4] == ["TS3", "2016-03-07", "网点", "借记卡", "吞卡"]


def test_a_stray_quote_with_the_wrong_field_count_is_one_malformed_line(tmp_path):
    text = HEADER + "\n" + 'TS1,2016-03-05,"95599,信用卡\n' + "TS2,2016-03-06,95599,信用卡,年费\n"
    t = _read(tmp_path, text)
    assert [m.line for m in t.malformed] == [2]
    assert "record has 4 fields, the header has 5" in t.malformed[0].reason
    assert t.malformed[0].text == 'TS1,2016-03-05,"95599,信用卡'
    assert t.lines == [3]
    assert len(t.cells) + len(t.malformed) == _physical_lines(text) - 1


def test_a_properly_quoted_field_still_spans_lines(tmp_path):
    text = (
        HEADER + "\n"
        'TS1,2016-03-05,网点,理财产品,"第一行\n第二行, 含逗号\n""引号""结束"\n'  # 2-4: one record
        "TS2,2016-03-06,95599,信用卡,年费\n"  # 5
    )
    t = _read(tmp_path, text)
    rows = _rows(t)
    assert list(rows) == [2, 5] and t.malformed == []
    assert rows[2][4] == '第一行\n第二行, 含逗号\n"引号"结束'


def test_a_stray_quote_before_a_multi_line_record_does_not_swallow_it(tmp_path):
    text = (
        HEADER + "\n"
        'TS1,2016-03-05,"95599,信用卡,年费\n'  # 2: unterminated
        'TS2,2016-03-06,网点,理财产品,"说明\n跨行"\n'  # 3-4: a proper multi-line record
        "TS3,2016-03-07,网点,借记卡,吞卡\n"  # 5
    )
    t = _read(tmp_path, text)
    rows = _rows(t)
    assert list(rows) == [2, 3, 5] and t.malformed == []
    assert rows[3][4] == "说明\n跨行"


def test_the_real_cfpb_narratives_read_as_the_csv_module_reads_them():
    # A valid file (embedded newlines, doubled quotes): the same records as Python's csv module.
    with open(SNAKE, newline="", encoding="utf-8") as fh:
        expected = list(csv.reader(fh))
    (t,) = read_tables(SNAKE)
    assert t.header == expected[0] and t.malformed == []
    assert [list(r) for r in t.cells.itertuples(index=False, name=None)] == expected[1:]
    assert t.delimiter == ","


def test_a_quote_open_at_the_end_of_the_file_is_cut_off(tmp_path):
    text = HEADER + "\n" + "TS1,2016-03-05,网点,借记卡,吞卡\n" + 'TS2,2016-03-06,网点,理财产品,"说明\n第二行'
    t = _read(tmp_path, text)
    assert t.lines == [2]
    assert [m.line for m in t.malformed] == [3]
    assert "cut off" in t.malformed[0].reason
    assert t.malformed[0].text == 'TS2,2016-03-06,网点,理财产品,"说明\n第二行'


# ------------------------------------------------------------------------------------- long fields
def test_a_field_longer_than_the_csv_module_limit(tmp_path):
    assert csv.field_size_limit() <= 131072
    chat = "客户：" + "你好，我要投诉。" * 40_000  # 320,003 characters
    text = HEADER + "\n" + f"TS1,2016-03-05,网点,借记卡,{chat}\n" + f'TS2,2016-03-06,网点,借记卡,"{chat}"\n' + "TS3,2016-03-07,网点,借记卡,吞卡\n"
    t = _read(tmp_path, text)
    rows = _rows(t)
    assert list(rows) == [2, 3, 4] and t.malformed == []
    assert rows[2][4] == chat and rows[3][4] == chat


# ---------------------------------------------------------------------------------------- bad bytes
def test_a_bad_byte_in_a_gbk_file_rejects_its_line_only(tmp_path):
    lines = [HEADER, "TS1,2016-03-05,网点,借记卡,排队时间长", "TS2,2016-03-06,网点,借记卡,吞卡", "TS3,2016-03-07,95599,信用卡,年费"]
    data = [ln.encode("gb18030") for ln in lines]
    data[2] = data[2].replace("吞卡".encode("gb18030"), b"\xff\xfe")  # no GB18030 character starts with FF
    t = _read(tmp_path, b"\r\n".join(data) + b"\r\n")
    assert t.encoding == "gb18030"
    assert t.lines == [2, 4]
    assert [m.line for m in t.malformed] == [3]
    # "TS2,2016-03-06," 15 bytes + 网点 4 + "," + 借记卡 6 + "," = 27 bytes before it
    assert "line 3: byte FF at byte 28 of the line cannot be read as GB18030" in t.malformed[0].reason
    assert _rows(t)[4] == ["TS3", "2016-03-07", "95599", "信用卡", "年费"]


def test_a_bad_byte_in_a_utf8_file_rejects_its_line_only(tmp_path):
    lines = [HEADER] + [f"TS{i},2016-03-0{i},网点,借记卡,排队时间长" for i in range(1, 6)]
    data = [ln.encode("utf-8") for ln in lines]
    data[4] = data[4][:-3] + b"\xe9\x95"  # a UTF-8 character cut short (and valid GB18030 bytes: not a GBK file)
    t = _read(tmp_path, b"\n".join(data) + b"\n")
    assert t.encoding == "utf-8"
    assert t.lines == [2, 3, 4, 6]
    assert [m.line for m in t.malformed] == [5]
    assert "cannot be read as UTF-8" in t.malformed[0].reason


def test_a_file_in_no_known_encoding_is_still_refused_naming_the_file(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xff\xfe\x00")  # a UTF-16 BOM followed by an odd byte
    with pytest.raises(SourceError, match=r"x\.csv"):
        read_tables(path)


# ---------------------------------------------------------------------------------------- delimiter
def test_many_semicolons_in_a_description_do_not_make_the_delimiter(tmp_path):
    text = (
        HEADER + "\n"
        "TS1,2016-03-05,网点,借记卡,原因;一;二;三;四;五;六;七;八;九;十\n"
        "TS2,2016-03-06,95599,信用卡,年费\n"
    )
    t = _read(tmp_path, text)
    assert t.delimiter == ","
    assert _rows(t)[2][4] == "原因;一;二;三;四;五;六;七;八;九;十"


def test_semicolon_files_are_still_read(tmp_path):
    t = _read(tmp_path, HEADER.replace(",", ";") + "\nTS1;2016-03-05;网点;借记卡;\"a,b\"\n")
    assert t.delimiter == ";" and _rows(t)[2][4] == "a,b"


# --------------------------------------------------------------------------------- property tests
SAFE = st.text(alphabet="城东支行网点投诉客户满意度排队abcXYZ0123456789 ;|-", min_size=0, max_size=12)
QUOTED = st.text(alphabet='城东支行abc ,"\n', min_size=0, max_size=12)


def _valid_file(rows: list[list[str]], quoted_cells: set[tuple[int, int]]) -> str:
    out = ["a,b,c,d"]
    for r, row in enumerate(rows):
        cells = []
        for c, v in enumerate(row):
            cells.append('"' + v.replace('"', '""') + '"' if (r, c) in quoted_cells else v)
        out.append(",".join(cells))
    return "\n".join(out) + "\n"


@st.composite
def valid_tables(draw, cell=SAFE):
    n = draw(st.integers(2, 12))
    rows = [[draw(cell) for _ in range(4)] for _ in range(n)]
    for r in rows:
        r[0] = r[0] if r[0].strip() else "x"  # no blank records: a record of blank cells ("  ,,,") is an empty line, skipped
    return rows


def _records_by_line(t) -> dict[int, list[str]]:
    return _rows(t) | {m.line: None for m in t.malformed}


@pytest.mark.parametrize("kind", ["quote", "long", "byte"])
def test_the_accounting_of_each_damage_on_a_fixed_file(tmp_path, kind):
    rows = [["x1", "a", "b", "c"], ["x2", "d", "e", "f"], ["x3", "g", "h", "i"]]
    lines = _valid_file(rows, set()).splitlines()
    lines[2] = {"quote": 'x2,"d,e,f', "long": "x2," + "长" * 200_000 + ",e,f", "byte": "x2,d,e,f"}[kind]
    data = "\n".join(lines).encode("utf-8") + b"\n"
    if kind == "byte":
        data = data.replace(b"x2,d", b"x2,\xffd")
    t = _read(tmp_path, data, name="t.csv")
    assert len(t.cells) + len(t.malformed) == 3
    assert _rows(t)[2] == ["x1", "a", "b", "c"] and _rows(t)[4] == ["x3", "g", "h", "i"]
    if kind == "byte":
        assert [m.line for m in t.malformed] == [3]


@given(valid_tables(), st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_property_damage_to_one_line_never_changes_the_other_records(tmp_path, rows, data):
    # A valid file of one-line records; one line gets a stray quote, a field over 131,072 characters
    # or a byte that neither UTF-8 nor GB18030 can read. Every OTHER record reads exactly as before,
    # and the file still has one record per line. (Damage inside a multi-line quoted field can
    # re-split that record; the property is stated for one-line records, where it always holds.)
    text = _valid_file(rows, set())
    lines = text.splitlines()
    k = data.draw(st.integers(1, len(lines) - 1), label="damaged line")
    kind = data.draw(st.sampled_from(["quote", "long", "byte"]), label="kind")
    at = data.draw(st.integers(0, len(lines[k])), label="position")
    encoding = data.draw(st.sampled_from(["utf-8", "gb18030"]), label="encoding")
    raw = [ln.encode(encoding) for ln in lines]
    if encoding == "gb18030":
        # The file must read as GB18030 at all (see TRAPS: short GB18030 texts can be valid UTF-8).
        non_ascii = [r for r in raw if not r.isascii()]
        assume(sum(_utf8_ok(r) for r in non_ascii) * 2 < len(non_ascii) - 1)
    prefix, suffix = lines[k][:at].encode(encoding), lines[k][at:].encode(encoding)
    insert = {"quote": b'"', "long": ("长" * 70_000).encode(encoding), "byte": b"\xff"}[kind]
    raw[k] = prefix + insert + suffix
    path = tmp_path / "p.csv"
    path.write_bytes(b"\n".join(raw) + b"\n")
    (t,) = read_tables(path)
    got = _records_by_line(t)
    expected = {i + 1: row for i, row in enumerate(rows, start=1)}
    assert sorted(got) == sorted(expected)  # one record per line, none lost, none merged
    for line, row in expected.items():
        if line != k + 1:
            assert got[line] == row, line


def _utf8_ok(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


@given(valid_tables(cell=QUOTED), st.sets(st.tuples(st.integers(0, 11), st.integers(0, 3))))
@settings(max_examples=150, deadline=None)
def test_property_valid_files_read_as_the_csv_module_reads_them(rows, quoted):
    # Quoted fields with delimiters, doubled quotes and newlines: the same records as csv. Stated
    # for records with at most one field spanning two lines: then the line a quoted field continues
    # on is never a well-formed record on its own (an odd number of quotes, see _fields_one_line).
    # With three or more lines in one field, a middle line such as ``"",b,c,d`` can be a record on its
    # own, and a file can be read two ways; the reader then keeps the lines apart.
    for row in rows:
        seen = False
        for c, v in enumerate(row):
            if "\n" in v and (seen or v.count("\n") > 1):
                row[c] = v.replace("\n", " ")
            seen = seen or "\n" in row[c]
    quoted |= {(r, c) for r, row in enumerate(rows) for c, v in enumerate(row) if any(ch in v for ch in ',"\n')}
    text = _valid_file(rows, quoted)
    expected = list(csv.reader(io.StringIO(text, newline="")))
    from analysis.io.read import read_csv_text

    t = read_csv_text("p.csv", data=text.encode("utf-8"))
    assert t.malformed == []
    assert [list(r) for r in t.cells.itertuples(index=False, name=None)] == expected[1:]


# -------------------------------------------------------------------------------------------- Excel
def test_merged_cells_take_their_range_value_and_say_so(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["网点编号", "月份", "投诉量"])  # 1
    ws.append(["33180101", "2016-01", 3])  # 2
    ws.append([None, "2016-02", 4])  # 3  (merged A2:A4)
    ws.append([None, "2016-03", 5])  # 4
    ws.append(["33180102", "2016-01", 1])  # 5
    ws.merge_cells("A2:A4")
    path = tmp_path / "m.xlsx"
    wb.save(path)
    (t,) = read_tables(path)
    assert _rows(t) == {2: ["33180101", "2016-01", "3"], 3: ["33180101", "2016-02", "4"], 4: ["33180101", "2016-03", "5"], 5: ["33180102", "2016-01", "1"]}
    assert t.notes == ["merged cells filled: 2 cell(s) in 1 merged range(s) took their range's value"]


def test_a_formula_without_a_cached_value_is_rejected_with_its_cell(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["网点编号", "存款", "贷款"])
    ws.append(["33180101", 10, 20])
    ws.append(["33180102", "=B2*2", 30])  # openpyxl writes no cached value: as if never opened in Excel
    ws.append(["33180103", 5, 6])
    path = tmp_path / "f.xlsx"
    wb.save(path)
    (t,) = read_tables(path)
    assert t.lines == [2, 4]
    assert [m.line for m in t.malformed] == [3]
    assert t.malformed[0].reason.startswith("formula without a value in B3")
    assert len(t.cells) + len(t.malformed) == 3


def _far_cell_xlsx(path: Path, with_table: bool) -> None:
    """A workbook whose sheet declares A1:XFD1048576 and holds a cell there (7 KB on disk)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    if with_table:
        ws.append(["网点编号", "投诉量"])
        ws.append(["33180101", 3])
    ws["XFD1048576"] = "x"
    tmp = path.with_suffix(".tmp.xlsx")
    wb.save(tmp)
    # Declare the whole sheet, as the hostile 7 KB file does (openpyxl would write the used range).
    with zipfile.ZipFile(tmp) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data)
                assert b'<dimension ref="A1:XFD1048576"' in data
            dst.writestr(item, data)
    tmp.unlink()


@pytest.mark.slow  # a child Python process under a memory limit, per case (about 2 s of CPU each)
@pytest.mark.parametrize("with_table", [False, True])
def test_a_cell_at_xfd1048576_does_not_allocate_the_declared_sheet(tmp_path, with_table):
    path = tmp_path / "far.xlsx"
    _far_cell_xlsx(path, with_table)
    assert path.stat().st_size < 10_000
    # In a child process limited to 1 GiB of address space beyond what it has at start: a reader
    # that allocates the declared 17 billion cells dies with MemoryError.
    script = textwrap.dedent(
        f"""
        import resource, sys, time
        from analysis.io.read import read_tables
        import openpyxl, pandas
        soft = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        import os
        vm = int(open('/proc/self/statm').read().split()[0]) * os.sysconf('SC_PAGE_SIZE')
        resource.setrlimit(resource.RLIMIT_AS, (vm + 1024**3, resource.RLIM_INFINITY))
        t0 = time.time()
        (t,) = read_tables({str(path)!r})
        print(len(t.cells), len(t.malformed), [m.line for m in t.malformed], round(time.time() - t0, 1))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    cells, malformed, lines, seconds = out.stdout.split(maxsplit=3)
    if with_table:
        # The stray cell is a record with 16,384 fields: rejected with its row, the table is read.
        assert (cells, malformed, lines) == ("1", "1", "[1048576]")
    else:
        assert (cells, malformed) == ("0", "0")  # the lone cell is the header row; no records


def test_the_data_quality_page_lists_what_the_reader_repaired(tmp_path):
    import json

    from analysis import config, quality

    report = {"outlets": {"title": "网点", "rows_in": 3, "clean": 3, "rejected": 0, "reasons": {}, "files": [
        {"file": "网点.xlsx[Sheet]", "sheet": "Sheet", "encoding": None, "header_line": 1, "rows_in": 3, "clean": 3, "rejected": 0,
         "blank_rows": 0, "ignored_columns": [], "sha256": "x", "reasons": {},
         "notes": ["merged cells filled: 2 cell(s) in 1 merged range(s) took their range's value"]},
        {"file": "网点.csv", "sheet": None, "encoding": "utf-8", "header_line": 1, "rows_in": 1, "clean": 1, "rejected": 0,
         "blank_rows": 0, "ignored_columns": [], "sha256": "y", "reasons": {}},  # a report written before notes existed
    ]}}
    path = config.clean_report_path(tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    fa = quality.file_accounting(tmp_path)
    assert fa["notes"].tolist() == ["merged cells filled: 2 cell(s) in 1 merged range(s) took their range's value", ""]


def test_a_text_formula_with_an_empty_cached_value_is_a_value(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["网点编号", "备注"])
    ws.append(["33180101", '=IF(1,"","x")'])
    tmp = tmp_path / "t.xlsx"
    wb.save(tmp)
    path = tmp_path / "s.xlsx"
    with zipfile.ZipFile(tmp) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                # As Excel writes it once calculated: a text formula whose cached value is "".
                data, n = re.subn(rb'<c r="B2"><f>(.*?)</f><v\s*/></c>', rb'<c r="B2" t="str"><f>\1</f><v></v></c>', data)
                assert n == 1
            dst.writestr(item, data)
    (t,) = read_tables(path)
    assert t.malformed == [] and _rows(t) == {2: ["33180101", ""]}

"""Exit codes: 2 only for bad input (an InputError naming file, line and column), 1 for anything else
(a bug), with the traceback written to a log file whose path is printed."""

from __future__ import annotations

import pickle

import pytest

from analysis import cli
from analysis.errors import InputError, InputValueError, InvariantError, check_rows
from analysis.io.encoding import EncodingError
from analysis.io.read import SourceError
from analysis.scoring.inputs import ScoringInputError
from analysis.yamlio import ConfigError


def test_every_input_error_class_has_the_one_root():
    for cls in (SourceError, ConfigError, ScoringInputError, EncodingError, cli.InputError, InputValueError):
        assert issubclass(cls, InputError), cls
    # Those that callers caught as ValueError still are.
    for cls in (ConfigError, ScoringInputError, EncodingError, InputValueError):
        assert issubclass(cls, ValueError), cls
    assert not issubclass(InvariantError, InputError)


def test_input_error_names_file_line_and_column_and_pickles():
    err = InputError("not a number: 'abc'", path="x.csv", line=7, column="score")
    assert str(err) == "x.csv, line 7, column 'score': not a number: 'abc'"
    back = pickle.loads(pickle.dumps(err))
    assert (type(back), str(back), back.line, back.column) == (InputError, str(err), 7, "score")


def test_row_invariant_raises_a_named_error_not_an_assert():
    check_rows(5, 3, 2, "f.csv")
    with pytest.raises(InvariantError, match=r"f\.csv: rows in 5 != clean 3 \+ rejected 1"):
        check_rows(5, 3, 1, "f.csv")


def test_bad_input_exits_2_naming_file_line_and_column(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ANALYSIS_LOG_DIR", str(tmp_path / "logs"))
    bad = tmp_path / "bad.csv"
    bad.write_text("entity,period,metric,value\nA,2015,x,1\nB,15年,x,2\n", encoding="utf-8")
    code = cli.main(["peers", "--input", str(bad), "--focus", "A", "--out", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {bad}, line 3, column 'period': ")
    assert not (tmp_path / "logs").exists()  # bad input is not a bug: no traceback log


def test_a_bug_exits_1_and_writes_the_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ANALYSIS_LOG_DIR", str(tmp_path / "logs"))
    import analysis.complaints.load as load

    def broken(*a, **k):
        raise ValueError("an internal slip: not the analyst's input")  # a ValueError is no longer "bad input"

    monkeypatch.setattr(load, "load_complaints", broken)
    src = tmp_path / "c.csv"
    src.write_text("受理时间,业务类别\n2016-03-05,信用卡\n", encoding="utf-8")
    code = cli.main(["complaints", "--input", str(src), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert "error:" not in err and "internal error" in err and "an internal slip" in err
    (log,) = (tmp_path / "logs").iterdir()
    assert str(log) in err
    text = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "in broken" in text and "an internal slip" in text

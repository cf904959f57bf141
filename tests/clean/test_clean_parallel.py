"""clean_all on an executor (what `python -m analysis run` does) gives exactly what it gives serially."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from analysis import config
from analysis.clean.engine import _in_dependency_order, clean_all
from analysis.clean.sources import load_sources

SOURCES = ["staffing", "satisfaction", "media_events", "campaign"]


def test_sources_refer_only_to_master_data_cleaned_first():
    sources = load_sources()
    order = _in_dependency_order(SOURCES, sources)
    assert order[0] == "outlets" and sorted(order[1:]) == sorted(SOURCES)
    for i, name in enumerate(order):
        for target in sources[name].references().values():
            assert target.split(".")[0] in order[:i], f"{name} refers to {target}, cleaned later"


@pytest.mark.slow  # two spawned worker processes, each importing the engine: about 11 s of CPU
def test_parallel_clean_equals_serial(tmp_path):
    if not config.RAW_DIR.is_dir() or not any(config.RAW_DIR.glob("*.csv")):
        pytest.skip(f"no bundled sample data in {config.RAW_DIR}")
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    lines_serial, lines_parallel = [], []
    clean_all(config.RAW_DIR, serial, only=SOURCES, echo=lines_serial.append)
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        clean_all(config.RAW_DIR, parallel, only=SOURCES, echo=lines_parallel.append, executor=pool)
    assert sorted(lines_serial) == sorted(lines_parallel)
    files = sorted(p.relative_to(serial) for p in serial.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(parallel) for p in parallel.rglob("*") if p.is_file())
    for rel in files:
        assert (serial / rel).read_bytes() == (parallel / rel).read_bytes(), rel


def test_source_errors_survive_pickling():
    import pickle

    from analysis.io.read import SourceError

    err = pickle.loads(pickle.dumps(SourceError("排队叫号_2016.csv", "required column missing", column="ticket_id", line=2)))
    assert type(err) is SourceError and (err.path, err.column, err.line, err.message) == ("排队叫号_2016.csv", "ticket_id", 2, "required column missing")
    assert str(err) == "排队叫号_2016.csv, line 2, column 'ticket_id': required column missing"


@pytest.mark.slow  # python -m analysis run with two spawned worker processes (10-17 s of wall time)
def test_clean_error_in_a_worker_is_bad_input_on_the_command_line(tmp_path, capsys):
    from conftest import FIXTURE_NOTEBOOKS, run_cli

    raw = tmp_path / "raw"
    raw.mkdir()
    rc, _ = run_cli(["run", "--raw", str(raw), "--processed", str(tmp_path / "p"), "--out", str(tmp_path / "r"), "--notebooks", str(FIXTURE_NOTEBOOKS), "--jobs", "2"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "no file for source" in err and str(raw) in err
    assert not (tmp_path / "r" / "index.html").exists()  # nothing published from a failed clean

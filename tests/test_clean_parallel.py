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

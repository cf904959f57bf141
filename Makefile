# Two commands do everything:  make report  ·  make test
# Each sets itself up on first use: .venv, pinned packages (constraints.txt), the Jupyter kernel.
# make report installs what the reports need; make test adds the test tools and the Spark engine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BASE   := $(VENV)/.installed-base
FULL   := $(VENV)/.installed-test
JOBS   ?= 2

.PHONY: report test lab setup clean-reports bench help

help:
	@echo "make report   clean the bundled data, run every notebook and every unit page, publish reports/index.html (the campaign overview)"
	@echo "make test     run every test (unit, property, notebooks, command line, Spark, browser)"
	@echo "make lab      open JupyterLab on notebooks/ with the project kernel"
	@echo "make bench    time the suite against the naive papermill+nbconvert way"

setup: $(BASE)

$(BASE): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name analysis --display-name "Python (analysis)" >/dev/null
	@touch $(BASE)

$(FULL): $(BASE)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,spark]"
	@touch $(FULL)

report: $(BASE)
	$(BIN)/python -m analysis run --jobs $(JOBS) --per-unit

test: $(FULL)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup

lab: $(BASE)
	$(BIN)/jupyter lab --notebook-dir=notebooks

bench: $(BASE)
	$(BIN)/python benchmarks/bench_suite.py

clean-reports:
	rm -rf reports/* data/processed/*
	@touch reports/.gitkeep data/processed/.gitkeep

# Two commands do everything:  make report  ·  make test
# Each sets itself up on first use: .venv, pinned packages, the Jupyter kernel.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS ?= test,spark
JOBS   ?= 2

.PHONY: report test lab setup clean-reports bench help

help:
	@echo "make report   clean the bundled data, run every notebook and every unit page, publish reports/index.html (the campaign overview)"
	@echo "make test     run every test (unit, property, notebooks, command line, browser)"
	@echo "make lab      open JupyterLab on notebooks/ with the project kernel"
	@echo "make bench    time the suite against the naive papermill+nbconvert way"

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23.2"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	$(BIN)/python -m ipykernel install --sys-prefix --name analysis --display-name "Python (analysis)" >/dev/null
	@touch $(STAMP)

report: $(STAMP)
	$(BIN)/python -m analysis run --jobs $(JOBS) --per-unit

test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_suite.py

clean-reports:
	rm -rf reports/* data/processed/*
	@touch reports/.gitkeep data/processed/.gitkeep
